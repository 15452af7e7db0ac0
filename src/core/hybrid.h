/*
 * hybrid.h - a model of behaviour and features together, after LightFM
 * (Kula 2015, "Metadata Embeddings for User and Item Cold-start
 * Recommendations"): every user and item is the sum of the vectors of its
 * features, so an item that arrives with tags and no interactions lands
 * near the items that share its tags.
 *
 * An entity's features are its identity (option "identity") and its tags
 * (tags.h).  Its vector and bias are the sums of theirs,
 *
 *   identity's row + the sum of its tags' rows,
 *
 * as LightFM's are: an entity the model never saw is the sum of its known
 * tags', and the more tags of common kinds an item has, the more it can
 * score (on MovieTweetings, ranking new items by the summed popularity of
 * their tags finds the watched ones 60 times as often as by the mean).
 * The model scores x_u . y_i + b_i, as BPR does, and stores every known
 * entity's sum so that serving a known id costs what BPR's does; the tag
 * rows are kept beside them for entities given by their tags.
 *
 * Training is a ranking loss on sampled (user, positive, negative) triples
 * with Adagrad steps: WARP (Weston, Bengio, Usunier 2011) by default, or
 * BPR.  With "loss": "squared" the values are ratings, and the model (a
 * kind of its own, hybrid_ratings) predicts mu + b_u + b_i + x_u . y_i,
 * users' biases summed from their features as items' are.
 */
#ifndef RECSYS_HYBRID_H
#define RECSYS_HYBRID_H

#include "interactions.h"
#include "model.h"
#include "options.h"
#include "runtime.h"
#include "tags.h"

typedef enum rs_hybrid_option
{
	RS_HYBRID_FACTORS,
	RS_HYBRID_EPOCHS,
	RS_HYBRID_LOSS,				/* "warp", "bpr" or "squared" (ratings) */
	RS_HYBRID_LEARNING_RATE,
	RS_HYBRID_REGULARIZATION,
	RS_HYBRID_MAX_SAMPLED,		/* WARP: negatives drawn per positive at most */
	RS_HYBRID_NEGATIVES,		/* "uniform" or "popularity", as BPR's (bpr.h) */
	RS_HYBRID_IDENTITY,			/* "both", "users", "items" or "none" */
	RS_HYBRID_IDENTITY_DROPOUT, /* share of samples an item is its tags alone */
	RS_HYBRID_SEED,
	RS_HYBRID_THREADS,
	RS_HYBRID_VERBOSE,
	RS_HYBRID_USERS,
	RS_HYBRID_OPTION_COUNT
} rs_hybrid_option;

enum
{
	RS_HYBRID_LOSS_WARP,
	RS_HYBRID_LOSS_BPR,
	RS_HYBRID_LOSS_SQUARED
};

enum
{
	RS_IDENTITY_BOTH,
	RS_IDENTITY_USERS,
	RS_IDENTITY_ITEMS,
	RS_IDENTITY_NONE
};

extern const rs_option_spec rs_hybrid_option_specs[RS_HYBRID_OPTION_COUNT];

/*
 * A user or item the model has not seen, from the numbers of its tags in
 * the model's dictionary (rs_tag_find): its vector (factors floats) and
 * bias.  Returns how many distinct tags counted; with none the vector and
 * bias are zero.
 */
int			rs_hybrid_row_of_tags(const rs_model *model, bool of_user, const int32_t *tags,
								  int n, float *row, float *bias);

/*
 * A newcomer given by tags and a history (items ascending, their values):
 * the history fitted from the tags' row and bias and held towards them, so
 * that it moves the user only as far as it has evidence to.  A ranking
 * model repeats BPR's fold-in from the row (the bias stays 0); a model of
 * ratings solves least squares with a ridge towards them.
 */
rs_status	rs_hybrid_fold_in_from(const rs_model *model, const float *prior, float prior_bias,
								   const int32_t *items, const float *values, size_t n,
								   const rs_allocator *a, float *row, float *bias);

/*
 * How the features of an item make up a known user's score for it:
 * contributions[k] for the item's k-th tag (rs_hybrid_item_tags), the
 * user's vector dotted with the tag's plus its bias; and *identity for the
 * rest, the item's own row.  They sum to the score.
 */
void		rs_hybrid_explain_features(const rs_model *model, int32_t user, int32_t item,
									   double *contributions, double *identity);

/* The tags of a known item: their numbers, and how many. */
const int32_t *rs_hybrid_item_tags(const rs_model *model, int32_t item, int *n);

#endif
