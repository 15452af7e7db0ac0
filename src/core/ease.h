/*
 * ease.h - EASE, an item-item model in closed form (Steck 2019,
 * "Embarrassingly shallow autoencoders for sparse data", WWW).
 *
 * With X the binary user-item matrix (every training interaction a 1,
 * values ignored) and lambda > 0,
 *
 *   G = X'X + lambda I,   P = G^-1,   B_ij = -P_ij / P_jj (i != j),  B_jj = 0
 *
 * and a user's score of item j is sum over their items i of B_ij: the
 * least-squares reconstruction of the user's row of X from the other items.
 * B is dense, n_items x n_items: max_items keeps only the most popular
 * items, and prune keeps only each item's largest weights, for catalogues
 * whose dense B would not fit a model.
 */
#ifndef RECSYS_EASE_H
#define RECSYS_EASE_H

#include "interactions.h"
#include "model.h"
#include "options.h"

/* Positions in rs_ease_option_specs and in the values array fit() takes. */
typedef enum rs_ease_option
{
	RS_EASE_LAMBDA,				/* added to the diagonal of X'X, default 500 */
	RS_EASE_MAX_ITEMS,			/* 0: every item; else the most popular ones */
	RS_EASE_PRUNE,				/* 0: dense B; else the top k |B_ij| per item j */
	RS_EASE_THREADS,
	RS_EASE_VERBOSE,
	RS_EASE_OPTION_COUNT
} rs_ease_option;

extern const rs_option_spec rs_ease_option_specs[RS_EASE_OPTION_COUNT];

/*
 * What a model may take (a bytea holds 1 GB, less room for the rest), and
 * what training may: the m x m float matrix is built whether or not it is
 * pruned afterwards.
 */
#define RS_EASE_MAX_MODEL_BYTES ((uint64_t) 1073741824 - 1048576)
#define RS_EASE_MAX_TRAINING_BYTES ((uint64_t) 8589934592)

typedef struct rs_ease_result
{
	int32_t		n_items;		/* m, the modelled items */
	int32_t    *items;			/* m: their indices in the data, ascending */
	/* dense B, m x m row-major (B[i * m + j] = B_ij); NULL when pruned */
	float	   *matrix;
	/*
	 * pruned B: row j lists the sources i of target j, ascending, with
	 * weights B_ij (the nonzero ones among the top prune by |B_ij|); NULL
	 * when dense
	 */
	uint64_t   *neighbor_ptr;	/* m + 1 */
	int32_t    *neighbor_items;
	float	   *neighbor_weights;
	float	   *item_popularity;	/* m: training users per modelled item */
	/* the model's items and training interactions, restricted to them */
	int64_t    *item_ids;		/* m */
	uint64_t   *seen_ptr;		/* n_users + 1 */
	int32_t    *seen_items;		/* modelled indices, ascending per user */
	float	   *seen_values;
	double		lambda;
	int			prune;			/* the option: 0 dense, else sources kept per item */
} rs_ease_result;

/*
 * Fits B.  RS_TOO_LARGE, before any allocation, when the m x m matrix would
 * not fit a model (dense) or training (8 GB), or a pruned neighbour list
 * would not fit a model; RS_NUMERICAL_FAILURE if the factorisation fails
 * (it cannot for lambda > 0 and finite data).  Polls for a cancel while it
 * builds X'X and B; the Cholesky factorisation and the inversion are one
 * LAPACK call each and cannot be interrupted (about 11 s on one core at
 * 10,000 items).
 * The result is the same on any number of threads.
 */
rs_status	rs_ease_fit(const rs_interactions *data, const double *options,
						const rs_runtime *rt, rs_ease_result *out);
void		rs_ease_result_free(rs_ease_result *result, const rs_allocator *a);

/*
 * A model viewing the result (its modelled items, and the training
 * interactions restricted to them as "seen") and the data's users.
 */
void		rs_ease_model(const rs_interactions *data, const rs_ease_result *result,
						  rs_model *model);

/*
 * Every function below sums B_ij over the history items i in ascending
 * order, in float, as the scores are stored: they agree to the bit.
 */

/* sum over the user's seen items i of B_i,item; NaN for an unknown id. */
double		rs_ease_predict(const rs_model *model, int32_t user, int32_t item);

/*
 * Every item's score (n_items entries) for a history of ascending, distinct
 * item indices (items out of range are passed over).  A dense model needs
 * no memory; a pruned one a marker of n_items bytes (RS_NO_MEMORY).
 */
rs_status	rs_ease_score_items(const rs_model *model, const int32_t *items, size_t n,
								const rs_allocator *a, float *scores);

/*
 * contributions[k] = B_{items[k], item}: the part of item's score owed to
 * history item k (0 for an item out of range, or every k if item is).
 * There is no baseline: they add up to the score (to rounding).
 */
rs_status	rs_ease_explain(const rs_model *model, const int32_t *items, size_t n,
							int32_t item, double *contributions);

/*
 * The weights from item to every item (n_items): scores[k] = B_item,k, what
 * having item adds to k's score; 0 for item itself.  A pruned model gives
 * the weights it kept (item among the sources of k), 0 for the others.
 */
void		rs_ease_similar(const rs_model *model, int32_t item, float *scores);

#endif
