/*
 * factor_model.c - scores, baselines, batches and similarities of the
 * factor models (factor_model.h).
 */
#include "factor_model.h"

#include "scoring.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Rating models are those that answer for unknown ids (scoring.h). */
static bool
rating(const rs_model *m)
{
	return rs_model_predicts_unknown(m);
}

double
rs_factor_predict(const rs_model *m, int32_t user, int32_t item)
{
	double		score;

	if (user < 0 || item < 0)
		return NAN;
	score = cblas_sdot(m->factors, rs_factor_user_row(m, user), 1,
					   rs_factor_item_row(m, item), 1);
	if (m->item_bias)
		score += m->item_bias[item];
	return score;
}

rs_status
rs_factor_score_row(const rs_model *m, const float *x, float user_bias, const rs_allocator *a,
					float *scores)
{
	float		base = rating(m) ? (float) m->global_mean + user_bias : 0.0f;

	for (int32_t i = 0; i < m->n_items; i++)
		scores[i] = base + (m->item_bias ? m->item_bias[i] : 0.0f);
	if (m->n_items > 0)
		/* scores += Y x: one matrix-vector product over all items */
		cblas_sgemv(CblasRowMajor, CblasNoTrans, m->n_items, m->factors, 1.0f,
					m->item_factors, m->factors, x, 1, 1.0f, scores, 1);
	return RS_OK;
}

rs_status
rs_factor_score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	bool		ratings = rating(m);

	if (user >= 0)
		return rs_factor_score_row(m, rs_factor_user_row(m, user),
								   m->user_bias ? m->user_bias[user] : 0.0f, a, scores);
	for (int32_t i = 0; i < m->n_items; i++)
	{
		if (ratings)
			scores[i] = (float) (m->global_mean + m->new_user_bias) + m->item_bias[i];
		else if (m->item_bias)
			scores[i] = m->item_bias[i];
		else
			scores[i] = m->item_popularity[i];
	}
	return RS_OK;
}

rs_status
rs_factor_score_batch(const rs_model *m, const int32_t *users, size_t n, const rs_allocator *a,
					  float *scores)
{
	size_t		n_items = (size_t) m->n_items;
	int			f = m->factors;
	bool		ratings = rating(m);
	float	   *x;

	if (n < 2 || n_items == 0 || f == 0)
	{
		for (size_t r = 0; r < n; r++)
			rs_factor_score_items(m, users[r], a, scores + r * n_items);
		return RS_OK;
	}

	/* each known user's row starts at its baseline, then scores += X Yᵀ */
	x = rs_alloc(a, sizeof(float) * n * (size_t) f);
	if (!x)
		return RS_NO_MEMORY;
	for (size_t r = 0; r < n; r++)
	{
		float	   *row = scores + r * n_items;
		int32_t		user = users[r];
		float		base = 0.0f;

		if (user < 0)
		{
			/* a zero row here; its baseline is written after the product */
			memset(x + r * (size_t) f, 0, sizeof(float) * (size_t) f);
			memset(row, 0, sizeof(float) * n_items);
			continue;
		}
		memcpy(x + r * (size_t) f, rs_factor_user_row(m, user), sizeof(float) * (size_t) f);
		if (ratings)
			base = (float) m->global_mean + (m->user_bias ? m->user_bias[user] : 0.0f);
		for (size_t i = 0; i < n_items; i++)
			row[i] = base + (m->item_bias ? m->item_bias[i] : 0.0f);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) n, (int) n_items, f, 1.0f,
				x, f, m->item_factors, f, 1.0f, scores, (int) n_items);
	rs_free(a, x);
	for (size_t r = 0; r < n; r++)
		if (users[r] < 0)
			rs_factor_score_items(m, -1, a, scores + r * n_items);
	return RS_OK;
}

size_t
rs_factor_similar(const rs_model *m, int32_t item, float *scores)
{
	int			f = m->factors;
	float		norm = cblas_snrm2(f, rs_factor_item_row(m, item), 1);

	cblas_sgemv(CblasRowMajor, CblasNoTrans, m->n_items, f, 1.0f, m->item_factors, f,
				rs_factor_item_row(m, item), 1, 0.0f, scores, 1);
	for (int32_t j = 0; j < m->n_items; j++)
	{
		float		denominator = norm * cblas_snrm2(f, rs_factor_item_row(m, j), 1);

		scores[j] = denominator > 0.0f ? scores[j] / denominator : 0.0f;
	}
	return (size_t) m->n_items;
}

const float *
rs_factor_user_vector(const rs_model *m, int32_t user, int *length)
{
	*length = m->factors;
	return rs_factor_user_row(m, user);
}

const float *
rs_factor_item_vector(const rs_model *m, int32_t item, int *length)
{
	*length = m->factors;
	return rs_factor_item_row(m, item);
}

/*
 * Ratings: mu + b_u + b_i + p_u . q_i.  An unseen id has no factors; its
 * bias is a newcomer's.
 */
double
rs_factor_rating_predict(const rs_model *m, int32_t user, int32_t item)
{
	double		score = m->global_mean;

	score += user >= 0 ? m->user_bias[user] : m->new_user_bias;
	score += item >= 0 ? m->item_bias[item] : m->new_item_bias;
	if (user >= 0 && item >= 0)
		score += cblas_sdot(m->factors, rs_factor_user_row(m, user), 1,
							rs_factor_item_row(m, item), 1);
	return score;
}
