/*
 * factor_model.h - the arithmetic the factor models share: a score is a dot
 * product of a user row and an item row, plus the biases a model has.
 * Ratings add the global mean and a user bias, and a newcomer scores as the
 * mean plus the biases; otherwise an unknown user gets the item bias where
 * there is one, else the item's popularity.
 */
#ifndef RECSYS_FACTOR_MODEL_H
#define RECSYS_FACTOR_MODEL_H

#include "model.h"
#include "runtime.h"

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
 * Operations of rs_kind (kind.h) for factor models; those that score ask
 * the kind whether the model's scores are ratings (rs_model_predicts_unknown).
 */

/* x_u . y_i plus the item bias if the model has one; NaN for an unknown id. */
double		rs_factor_predict(const rs_model *model, int32_t user, int32_t item);

/* mu + b_u + b_i + x_u . y_i, a newcomer's bias for an unknown id. */
double		rs_factor_rating_predict(const rs_model *model, int32_t user, int32_t item);

/* Every item's score for a user row x (and bias, for ratings): one sgemv. */
rs_status	rs_factor_score_row(const rs_model *model, const float *x, float user_bias,
								const rs_allocator *a, float *scores);

/* Every item's score for a known user, or an unknown one's baseline (user -1). */
rs_status	rs_factor_score_items(const rs_model *model, int32_t user, const rs_allocator *a,
								  float *scores);

/* The same for n users at once, known ones by one matrix product. */
rs_status	rs_factor_score_batch(const rs_model *model, const int32_t *users, size_t n,
								  const rs_allocator *a, float *scores);

/* The cosine of item's factors with every item's; returns n_items. */
size_t		rs_factor_similar(const rs_model *model, int32_t item, float *scores);

const float *rs_factor_user_vector(const rs_model *model, int32_t user, int *length);
const float *rs_factor_item_vector(const rs_model *model, int32_t item, int *length);

#endif
