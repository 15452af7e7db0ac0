/*
 * factor_model.h - the arithmetic the factor models share (explicit and
 * implicit ALS, BPR): a score is a dot product of a user row and an item
 * row, plus the biases a model has.  `rating` says whether scores are
 * ratings: the global mean and a user bias join them, and a newcomer scores
 * as the mean plus the biases (explicit ALS); otherwise an unknown user gets
 * the item bias (BPR) or the item's popularity (implicit ALS).
 */
#ifndef RECSYS_FACTOR_MODEL_H
#define RECSYS_FACTOR_MODEL_H

#include "model.h"
#include "runtime.h"

#include <stdbool.h>

static inline const float *
rs_factor_user_row(const rs_model *m, int32_t user)
{
	return m->user_factors + (size_t) user * m->factors;
}

static inline const float *
rs_factor_item_row(const rs_model *m, int32_t item)
{
	return m->item_factors + (size_t) item * m->factors;
}

/*
 * The operations of rs_kind for factor models, rating or ranking ones
 * (factor_model.c); the kinds name them in their entries.
 */
double		rs_factor_rating_predict(const rs_model *model, int32_t user, int32_t item);
rs_status	rs_factor_rating_score_items(const rs_model *model, int32_t user,
										 const rs_allocator *a, float *scores);
rs_status	rs_factor_rating_score_batch(const rs_model *model, const int32_t *users,
										 size_t n, const rs_allocator *a, float *scores);
rs_status	rs_factor_rating_score_row(const rs_model *model, const float *x, float user_bias,
									   const rs_allocator *a, float *scores);
rs_status	rs_factor_ranking_score_items(const rs_model *model, int32_t user,
										  const rs_allocator *a, float *scores);
rs_status	rs_factor_ranking_score_batch(const rs_model *model, const int32_t *users,
										  size_t n, const rs_allocator *a, float *scores);
rs_status	rs_factor_ranking_score_row(const rs_model *model, const float *x, float user_bias,
										const rs_allocator *a, float *scores);

/* x_u . y_i plus the item bias if the model has one; NaN for an unknown id. */
double		rs_factor_predict(const rs_model *model, int32_t user, int32_t item);

/* Every item's score for a user row x (and bias, for ratings): one sgemv. */
rs_status	rs_factor_score_row(const rs_model *model, const float *x, float user_bias,
								bool rating, float *scores);

/* Every item's score for a known user, or an unknown one's baseline (user -1). */
rs_status	rs_factor_score_items(const rs_model *model, int32_t user, bool rating,
								  float *scores);

/* The same for n users at once, known ones by one matrix product. */
rs_status	rs_factor_score_items_batch(const rs_model *model, const int32_t *users, size_t n,
										bool rating, const rs_allocator *a, float *scores);

/* The cosine of item's factors with every item's; returns n_items. */
size_t		rs_factor_similar(const rs_model *model, int32_t item, float *scores);

const float *rs_factor_user_vector(const rs_model *model, int32_t user, int *length);
const float *rs_factor_item_vector(const rs_model *model, int32_t item, int *length);

#endif
