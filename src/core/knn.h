/*
 * knn.h - item-based collaborative filtering: each item keeps its most
 * similar items.  Preferences (implicit feedback) score an item by the sum
 * of the similarities of its neighbours the user has (Sarwar, Karypis,
 * Konstan, Riedl 2001); ratings (explicit feedback) by a baseline of shrunk
 * biases plus the user's deviations from it on those neighbours, their
 * similarity-weighted mean shrunk towards 0 as the biases are (Koren 2008,
 * "Factorization meets the neighborhood", section 2.2, with weight_shrinkage
 * added to the sum of the similarities that divides).
 */
#ifndef RECSYS_KNN_H
#define RECSYS_KNN_H

#include "interactions.h"
#include "kind.h"
#include "model.h"
#include "options.h"

/* Positions in rs_knn_option_specs and in the values array fit() takes. */
typedef enum rs_knn_option
{
	RS_KNN_SIMILARITY,			/* "cosine", "adjusted_cosine" or "jaccard" */
	RS_KNN_FEEDBACK,			/* "implicit" or "explicit" */
	RS_KNN_NEIGHBORS,			/* kept per item, default 50 */
	RS_KNN_SHRINKAGE,			/* s * n / (n + shrinkage), n common users */
	RS_KNN_MIN_SUPPORT,			/* pairs with fewer common users are dropped */
	RS_KNN_BIAS_SHRINKAGE,		/* explicit: lambda of the biases, default 3 */
	RS_KNN_WEIGHT_SHRINKAGE,	/* explicit: lambda_w added to sum s, default 1 */
	RS_KNN_THREADS,
	RS_KNN_VERBOSE,
	RS_KNN_OPTION_COUNT
} rs_knn_option;

enum
{
	RS_KNN_COSINE,
	RS_KNN_ADJUSTED_COSINE,
	RS_KNN_JACCARD
};

enum
{
	RS_KNN_FEEDBACK_IMPLICIT,
	RS_KNN_FEEDBACK_EXPLICIT
};

extern const rs_option_spec rs_knn_option_specs[RS_KNN_OPTION_COUNT];

typedef struct rs_knn_result
{
	/* each item's neighbours: CSR, ascending items, never the item itself */
	uint64_t   *neighbor_ptr;	/* n_items + 1 */
	int32_t    *neighbor_items;
	float	   *neighbor_weights;	/* shrunk similarities, all > 0 */
	float	   *item_bias;		/* explicit: b_i per item; implicit: NULL */
	float	   *user_bias;		/* explicit: b_u per user; implicit: NULL */
	float	   *item_popularity;	/* training users per item */
	double		global_mean;	/* of every training value: mu */
	float		bias_shrinkage; /* explicit: the lambda b_i and b_u were shrunk by */
	float		weight_shrinkage;	/* explicit: lambda_w of the deviation term */
	int			similarity;		/* RS_KNN_COSINE... */
	int			feedback;		/* RS_KNN_FEEDBACK_... */
} rs_knn_result;

/*
 * Computes every item's neighbours (values are ratings for explicit
 * feedback, strengths such as counts for implicit; jaccard ignores them).
 * The result is the same on any number of threads.
 */
rs_status	rs_knn_fit(const rs_interactions *data, const double *options,
					   const rs_runtime *rt, rs_knn_result *out);
void		rs_knn_result_free(rs_knn_result *result, const rs_allocator *a);

/*
 * A model viewing the result and the data (training interactions as
 * "seen").  For explicit feedback item_bias and user_bias hold b_i and b_u,
 * global_mean mu, params.bias_regularization lambda, which a newcomer's
 * b_u needs, and params.regularization lambda_w, which every explicit score
 * divides by (so a decoded model scores as the one in memory); an implicit
 * model has no biases (and both lambdas 0), and that is how the scoring
 * functions below tell the two apart (rs_knn_explicit), in memory and after
 * decoding.
 */
void		rs_knn_model(const rs_interactions *data, const rs_knn_result *result,
						 rs_model *model);

/* Whether a kNN model scores ratings (explicit feedback) or preferences. */
static inline bool
rs_knn_explicit(const rs_model *model)
{
	return model->item_bias != NULL;
}

/*
 * The score of (user, item), from the neighbours j of item the user has:
 * implicit, the sum of their similarities s_ij; explicit, the baseline
 * b_ui = mu + b_u + b_i plus sum s_ij (r_uj - b_uj) / (sum s_ij + lambda_w),
 * the user's similarity-weighted deviation from the baseline on them shrunk
 * towards 0 by lambda_w = params.regularization (b_ui alone when the user
 * has none of them, whatever lambda_w).  Unknown user: NaN (implicit) or
 * mu + b_i; unknown item: NaN or mu + b_u; both: NaN or mu.
 */
double		rs_knn_predict(const rs_model *model, int32_t user, int32_t item);

/*
 * Every item's score (n_items entries) for a user given by a history of
 * ascending, distinct item indices and their values (values may be NULL for
 * an implicit model): a known user's training items, or a newcomer's.  An
 * explicit model computes the history's b_u as training did (0 for an empty
 * history), so each score equals rs_knn_predict, to the bit, for a known
 * user and its training history.  Fails only for want of memory (n_items
 * ints of scratch).
 */
rs_status	rs_knn_score_items(const rs_model *model, const int32_t *items,
							   const float *values, size_t n, const rs_allocator *a,
							   float *scores);

/*
 * Why item scores as it does for the history: contributions[k] is the part
 * owed to history item k, *baseline the rest (0 implicit; explicit
 * mu + b_u + b_i, b_u the history's as rs_knn_score_items computes it, and
 * mu + b_u for an unknown item).  Explicit, a neighbour j's part is
 * s_ij (r_uj - b_uj) / (sum s + lambda_w).  They add up to the score (to
 * rounding).
 */
rs_status	rs_knn_explain(const rs_model *model, const int32_t *items,
						   const float *values, size_t n, int32_t item,
						   double *contributions, double *baseline);

/*
 * The "neighbors" option when the user gives none: the count of those
 * tried whose model ranks (or rates) held-out interactions best
 * (knn_neighbors.c); *note says what was chosen.
 */
rs_status	rs_knn_choose_neighbors(double *options, const bool *given,
									const rs_interactions *data, const rs_runtime *rt,
									rs_report *note);

/* The item's stored neighbour weights over all items (n_items), 0 elsewhere. */
void		rs_knn_similar(const rs_model *model, int32_t item, float *scores);

#endif
