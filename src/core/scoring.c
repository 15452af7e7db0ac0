/*
 * scoring.c - scores from a factor model: mu + b_u + b_i + p_u . q_i.
 *
 * An id the model has not seen has no factors; its bias is the one the
 * model expects of a newcomer (the mean bias of its users or items).
 */
#include "scoring.h"

#include <cblas.h>

double
rs_predict(const rs_model *m, int32_t user, int32_t item)
{
	double		score = m->global_mean;

	score += user >= 0 ? m->user_bias[user] : m->new_user_bias;
	score += item >= 0 ? m->item_bias[item] : m->new_item_bias;
	if (user >= 0 && item >= 0)
		score += cblas_sdot(m->factors, m->user_factors + (size_t) user * m->factors, 1,
							m->item_factors + (size_t) item * m->factors, 1);
	return score;
}

void
rs_score_items(const rs_model *m, int32_t user, float *scores)
{
	float		base = (float) (m->global_mean +
									(user >= 0 ? m->user_bias[user] : m->new_user_bias));

	for (int32_t i = 0; i < m->n_items; i++)
		scores[i] = base + m->item_bias[i];
	if (user >= 0 && m->n_items > 0)
		/* scores += Q p_u: one matrix-vector product over all items */
		cblas_sgemv(CblasRowMajor, CblasNoTrans, m->n_items, m->factors, 1.0f,
					m->item_factors, m->factors,
					m->user_factors + (size_t) user * m->factors, 1, 1.0f, scores, 1);
}

const int32_t *
rs_seen_items(const rs_model *m, int32_t user, size_t *count)
{
	if (user < 0 || !m->seen_ptr)
	{
		*count = 0;
		return NULL;
	}
	*count = m->seen_ptr[user + 1] - m->seen_ptr[user];
	return m->seen_items + m->seen_ptr[user];
}
