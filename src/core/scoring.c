/*
 * scoring.c - scores, similar items, fold-in and explanations for the
 * factor models:
 *
 *   explicit ALS   mu + b_u + b_i + p_u . q_i
 *   implicit ALS   x_u . y_i
 *   BPR            x_u . y_i + b_i
 *
 * and dispatch to ncf.c for NeuMF's scores.  Every entry point computes
 * with subnormals flushed (fp_mode.h).
 */
#include "scoring.h"

#include "als.h"
#include "ease.h"
#include "fp_mode.h"
#include "interactions.h"
#include "knn.h"
#include "lapack.h"
#include "ncf.h"
#include "random.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define BPR_FOLD_IN_EPOCHS 100	/* passes over the history when folding in */
#define BPR_NEGATIVE_TRIES 16

bool
rs_model_predicts_unknown(const rs_model *m)
{
	return m->algorithm == RS_ALGO_ALS_EXPLICIT ||
		(m->algorithm == RS_ALGO_KNN && rs_knn_explicit(m));
}

bool
rs_explain_has_baseline(const rs_model *m)
{
	return m->algorithm != RS_ALGO_ALS_IMPLICIT && m->algorithm != RS_ALGO_EASE &&
		!(m->algorithm == RS_ALGO_KNN && !rs_knn_explicit(m));
}

static const float *
user_row(const rs_model *m, int32_t user)
{
	return m->user_factors + (size_t) user * m->factors;
}

static const float *
item_row(const rs_model *m, int32_t item)
{
	return m->item_factors + (size_t) item * m->factors;
}

static double
predict(const rs_model *m, int32_t user, int32_t item)
{
	double		score;

	if (m->algorithm == RS_ALGO_NCF)
		return rs_ncf_predict(m, user, item);
	if (m->algorithm == RS_ALGO_KNN)
		return rs_knn_predict(m, user, item);
	if (m->algorithm == RS_ALGO_EASE)
		return rs_ease_predict(m, user, item);
	if (m->algorithm == RS_ALGO_ALS_EXPLICIT)
	{
		/* An unseen id has no factors; its bias is a newcomer's. */
		score = m->global_mean;
		score += user >= 0 ? m->user_bias[user] : m->new_user_bias;
		score += item >= 0 ? m->item_bias[item] : m->new_item_bias;
		if (user >= 0 && item >= 0)
			score += cblas_sdot(m->factors, user_row(m, user), 1, item_row(m, item), 1);
		return score;
	}
	if (user < 0 || item < 0)
		return NAN;
	score = cblas_sdot(m->factors, user_row(m, user), 1, item_row(m, item), 1);
	if (m->item_bias)
		score += m->item_bias[item];
	return score;
}

double
rs_predict(const rs_model *m, int32_t user, int32_t item)
{
	rs_fp_mode	host = rs_fp_flush_subnormals();
	double		score = predict(m, user, item);

	rs_fp_restore(host);
	return score;
}

int
rs_user_row_length(const rs_model *m)
{
	return m->algorithm == RS_ALGO_NCF ? m->factors + m->ncf_embedding : m->factors;
}

static rs_status
score_items_for(const rs_model *m, const float *x, float user_bias, const rs_allocator *a,
		  float *scores)
{
	float		base = 0.0f;

	if (m->algorithm == RS_ALGO_NCF)
		return rs_ncf_score_row(m, x, x + m->factors, a, scores);

	if (m->algorithm == RS_ALGO_ALS_EXPLICIT)
		base = (float) m->global_mean + user_bias;
	for (int32_t i = 0; i < m->n_items; i++)
		scores[i] = base + (m->item_bias ? m->item_bias[i] : 0.0f);
	if (m->n_items > 0)
		/* scores += Y x: one matrix-vector product over all items */
		cblas_sgemv(CblasRowMajor, CblasNoTrans, m->n_items, m->factors, 1.0f,
					m->item_factors, m->factors, x, 1, 1.0f, scores, 1);
	return RS_OK;
}

rs_status
rs_score_items_for(const rs_model *m, const float *x, float user_bias, const rs_allocator *a,
				   float *scores)
{
	rs_fp_scope scope;
	rs_status	status = score_items_for(m, x, user_bias, rs_fp_scope_begin_alloc(&scope, a), scores);

	rs_fp_scope_end(&scope);
	return status;
}

static rs_status
score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	if (user >= 0 && m->algorithm == RS_ALGO_NCF)
		return rs_ncf_score_items(m, user, a, scores);
	if (user >= 0 && m->algorithm == RS_ALGO_EASE)
	{
		size_t		n;
		const int32_t *items = rs_seen_items(m, user, &n);

		return rs_ease_score_items(m, items, n, a, scores);
	}
	/* explicit item-kNN's baseline for an unknown user is its empty history's score */
	if (m->algorithm == RS_ALGO_KNN && (user >= 0 || rs_knn_explicit(m)))
	{
		size_t		n;
		const int32_t *items = rs_seen_items(m, user, &n);

		return rs_knn_score_items(m, items, user >= 0 ? m->seen_values + m->seen_ptr[user] : NULL,
								  n, a, scores);
	}
	if (user >= 0)
	{
		return rs_score_items_for(m, user_row(m, user),
								  m->user_bias ? m->user_bias[user] : 0.0f, a, scores);
	}
	for (int32_t i = 0; i < m->n_items; i++)
	{
		if (m->algorithm == RS_ALGO_ALS_EXPLICIT)
			scores[i] = (float) (m->global_mean + m->new_user_bias) + m->item_bias[i];
		else if (m->item_bias)
			scores[i] = m->item_bias[i];
		else
			scores[i] = m->item_popularity[i];
	}
	return RS_OK;
}

rs_status
rs_score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	rs_fp_scope scope;
	rs_status	status = score_items(m, user, rs_fp_scope_begin_alloc(&scope, a), scores);

	rs_fp_scope_end(&scope);
	return status;
}

static rs_status
score_items_batch(const rs_model *m, const int32_t *users, size_t n, const rs_allocator *a,
			 float *scores)
{
	size_t		n_items = (size_t) m->n_items;
	int			f = m->factors;
	bool		factor_model = m->algorithm != RS_ALGO_NCF && m->algorithm != RS_ALGO_EASE &&
		m->algorithm != RS_ALGO_KNN;
	float	   *x;

	if (!factor_model || n < 2 || n_items == 0 || f == 0)
	{
		for (size_t r = 0; r < n; r++)
		{
			rs_status	status = rs_score_items(m, users[r], a, scores + r * n_items);

			if (status != RS_OK)
				return status;
		}
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
		memcpy(x + r * (size_t) f, user_row(m, user), sizeof(float) * (size_t) f);
		if (m->algorithm == RS_ALGO_ALS_EXPLICIT)
			base = (float) m->global_mean + (m->user_bias ? m->user_bias[user] : 0.0f);
		for (size_t i = 0; i < n_items; i++)
			row[i] = base + (m->item_bias ? m->item_bias[i] : 0.0f);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) n, (int) n_items, f, 1.0f,
				x, f, m->item_factors, f, 1.0f, scores, (int) n_items);
	rs_free(a, x);
	for (size_t r = 0; r < n; r++)
		if (users[r] < 0)
		{
			rs_status	status = rs_score_items(m, users[r], a, scores + r * n_items);

			if (status != RS_OK)
				return status;
		}
	return RS_OK;
}

rs_status
rs_score_items_batch(const rs_model *m, const int32_t *users, size_t n, const rs_allocator *a,
					 float *scores)
{
	rs_fp_scope scope;
	rs_status	status = score_items_batch(m, users, n, rs_fp_scope_begin_alloc(&scope, a), scores);

	rs_fp_scope_end(&scope);
	return status;
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

static void
similar_items(const rs_model *m, int32_t item, float *scores)
{
	int			f = m->factors;
	float		norm;

	if (m->algorithm == RS_ALGO_KNN)
	{
		rs_knn_similar(m, item, scores);
		return;
	}
	if (m->algorithm == RS_ALGO_EASE)
	{
		rs_ease_similar(m, item, scores);
		return;
	}
	norm = cblas_snrm2(f, item_row(m, item), 1);
	cblas_sgemv(CblasRowMajor, CblasNoTrans, m->n_items, f, 1.0f, m->item_factors, f,
				item_row(m, item), 1, 0.0f, scores, 1);
	for (int32_t j = 0; j < m->n_items; j++)
	{
		float		denominator = norm * cblas_snrm2(f, item_row(m, j), 1);

		scores[j] = denominator > 0.0f ? scores[j] / denominator : 0.0f;
	}
}

void
rs_similar_items(const rs_model *m, int32_t item, float *scores)
{
	rs_fp_mode	host = rs_fp_flush_subnormals();

	similar_items(m, item, scores);
	rs_fp_restore(host);
}

/*
 * BPR has no closed-form user step: run its SGD on the user's factors alone,
 * items fixed, over the history's (positive, sampled negative) pairs.  The
 * generator is seeded from nothing but the history, so the same history
 * always gives the same factors.
 */
static void
bpr_fold_in(const rs_model *m, const int32_t *items, size_t n, float *x)
{
	int			f = m->factors;
	float		rate = m->params.learning_rate;
	float		lambda = m->params.regularization;
	rs_random	rng = {0x5eed ^ (uint64_t) n};

	memset(x, 0, sizeof(float) * f);
	if (n == 0 || (size_t) m->n_items <= n)
		return;
	for (size_t k = 0; k < n; k++)
		rng.state = rng.state * 31 + (uint64_t) items[k];
	for (int epoch = 0; epoch < BPR_FOLD_IN_EPOCHS; epoch++)
		for (size_t k = 0; k < n; k++)
		{
			int32_t		i = items[rs_random_next(&rng) % n];
			int32_t		j = -1;
			float		diff,
						g;

			for (int t = 0; t < BPR_NEGATIVE_TRIES && j < 0; t++)
			{
				int32_t		candidate = (int32_t) (rs_random_next(&rng) % (uint64_t) m->n_items);

				if (!rs_sorted_contains(items, n, candidate))
					j = candidate;
			}
			if (j < 0)
				continue;
			diff = cblas_sdot(f, x, 1, item_row(m, i), 1) + m->item_bias[i]
				- cblas_sdot(f, x, 1, item_row(m, j), 1) - m->item_bias[j];
			g = 1.0f / (1.0f + expf(diff));
			for (int c = 0; c < f; c++)
				x[c] += rate * (g * (item_row(m, i)[c] - item_row(m, j)[c]) - lambda * x[c]);
		}
}

static rs_status
fold_in(const rs_model *m, const int32_t *items, const float *values, size_t n,
		const rs_allocator *a, float *factors, float *bias)
{
	*bias = 0.0f;
	switch (m->algorithm)
	{
		case RS_ALGO_ALS_EXPLICIT:
			return rs_als_fold_in(m, items, values, n, a, factors, bias);
		case RS_ALGO_ALS_IMPLICIT:
			return rs_implicit_als_fold_in(m, items, values, n, a, factors);
		case RS_ALGO_BPR:
			bpr_fold_in(m, items, n, factors);
			return RS_OK;
		case RS_ALGO_NCF:
			return rs_ncf_fold_in(m, items, n, a, factors);
		default:
			return RS_NUMERICAL_FAILURE;
	}
}

rs_status
rs_fold_in(const rs_model *m, const int32_t *items, const float *values, size_t n,
		   const rs_allocator *a, float *factors, float *bias)
{
	rs_fp_scope scope;
	rs_status	status = fold_in(m, items, values, n, rs_fp_scope_begin_alloc(&scope, a), factors, bias);

	rs_fp_scope_end(&scope);
	return status;
}

/*
 * Explicit ALS: the user's solve is x = A^-1 Z' t with rows z_j = [q_j; 1],
 * targets t_j = r_j - mu - b_j - prior and A = Z'Z + D.  So
 * [q_i; 1] . x = sum_j (z_j . w) t_j with w = A^-1 [q_i; 1]: item j
 * contributes (z_j . w) t_j, and mu + b_i + prior is the baseline.
 *
 * Implicit ALS (Hu et al. 2008, section 5): x_u = W Y' C p with
 * W = (Y'Y + lambda I + Y'(C - I)Y)^-1, so y_i . x_u = sum_j c_j p_j (y_i' W y_j).
 */
static rs_status
explain_least_squares(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
					  double *contributions, double *baseline)
{
	bool		rating = m->algorithm == RS_ALGO_ALS_EXPLICIT;
	int			f = m->factors;
	int			dim = rating ? f + 1 : f;
	size_t		n;
	const int32_t *items = rs_seen_items(m, user, &n);
	const float *values = m->seen_values + m->seen_ptr[user];
	float	   *z = rs_alloc(a, sizeof(float) * (size_t) dim * (n ? n : 1));
	float	   *system = rs_alloc(a, sizeof(float) * (size_t) dim * dim);
	float	   *w = rs_alloc(a, sizeof(float) * (size_t) dim);
	rs_status	status = RS_OK;

	if (!z || !system || !w)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	for (size_t j = 0; j < n; j++)
	{
		const float *y = item_row(m, items[j]);
		float	   *col = z + j * dim;
		float		scale = rating ? 1.0f : sqrtf(m->params.alpha * values[j]);

		for (int k = 0; k < f; k++)
			col[k] = scale * y[k];
		if (rating)
			col[f] = 1.0f;
	}
	cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, dim, (int) n, 1.0f, z, dim,
				0.0f, system, dim);
	if (rating)
	{
		for (int k = 0; k < f; k++)
			system[(size_t) k * dim + k] += m->params.regularization *
				((float) n + m->params.prior_count);
		system[(size_t) f * dim + f] += m->params.bias_regularization;
	}
	else
		for (int col = 0; col < f; col++)
			for (int row = 0; row <= col; row++)
				system[(size_t) col * f + row] += m->item_gram[(size_t) col * f + row] +
					(row == col ? m->params.regularization : 0.0f);

	if (item >= 0)
		memcpy(w, item_row(m, item), sizeof(float) * f);
	else
		memset(w, 0, sizeof(float) * f);
	if (rating)
		w[f] = 1.0f;
	if (!rs_cholesky_solve(system, dim, w))
	{
		status = RS_NUMERICAL_FAILURE;
		goto done;
	}

	for (size_t j = 0; j < n; j++)
	{
		const float *y = item_row(m, items[j]);
		double		along = cblas_sdot(f, y, 1, w, 1);

		if (rating)
			contributions[j] = (along + w[f]) *
				(values[j] - m->global_mean - m->item_bias[items[j]] - m->new_user_bias);
		else
			contributions[j] = values[j] > 0 ?
				(1.0 + m->params.alpha * values[j]) * along : 0.0;
	}
	*baseline = rating ?
		m->global_mean + (item >= 0 ? m->item_bias[item] : m->new_item_bias) + m->new_user_bias :
		0.0;

done:
	rs_free(a, z);
	rs_free(a, system);
	rs_free(a, w);
	return status;
}

/*
 * BPR: write the user vector as a combination of their items' vectors,
 * x_u ~ sum_j alpha_j y_j (least squares, lightly regularised), so item j
 * contributes alpha_j (y_j . y_i); the item bias and the part of x_u outside
 * that span form the baseline.
 *
 * With Y the f x n matrix of the history's vectors, alpha = (Y'Y + eps I)^-1 Y'x
 * = Y' (YY' + eps I)^-1 x: the second form solves f x f instead of n x n,
 * which a long history needs (its n x n system would take n^2 floats and n^3
 * time).  Both forms have the same trace, so the same eps.
 */
static rs_status
explain_bpr(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
			double *contributions, double *baseline)
{
	int			f = m->factors;
	size_t		n;
	const int32_t *items = rs_seen_items(m, user, &n);
	const float *x = user_row(m, user);
	bool		by_items = n <= (size_t) f;	/* the smaller system */
	size_t		dim = by_items ? n : (size_t) f;
	float	   *y = rs_alloc(a, sizeof(float) * (size_t) f * (n ? n : 1));
	float	   *gram = rs_alloc(a, sizeof(float) * (dim ? dim * dim : 1));
	float	   *coef = rs_alloc(a, sizeof(float) * (n ? n : 1));
	float	   *rest = rs_alloc(a, sizeof(float) * (size_t) f);
	float		trace = 0.0f;
	rs_status	status = RS_OK;

	if (!y || !gram || !coef || !rest)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	for (size_t j = 0; j < n; j++)
		memcpy(y + j * f, item_row(m, items[j]), sizeof(float) * f);
	memcpy(rest, x, sizeof(float) * f);
	if (n > 0)
	{
		/* Y'Y (n x n) or YY' (f x f), Y column-major with leading dimension f */
		cblas_ssyrk(CblasColMajor, CblasUpper, by_items ? CblasTrans : CblasNoTrans,
					(int) dim, by_items ? f : (int) n, 1.0f, y, f, 0.0f, gram, (int) dim);
		for (size_t j = 0; j < dim; j++)
			trace += gram[j * dim + j];
		for (size_t j = 0; j < dim; j++)
			gram[j * dim + j] += 1e-4f * trace / (float) n + 1e-12f;
		if (by_items)
		{
			cblas_sgemv(CblasColMajor, CblasTrans, f, (int) n, 1.0f, y, f, x, 1, 0.0f, coef, 1);
			if (!rs_cholesky_solve(gram, (int) n, coef))
			{
				status = RS_NUMERICAL_FAILURE;
				goto done;
			}
		}
		else
		{
			/* v = (YY' + eps I)^-1 x in rest, then alpha = Y'v */
			if (!rs_cholesky_solve(gram, f, rest))
			{
				status = RS_NUMERICAL_FAILURE;
				goto done;
			}
			cblas_sgemv(CblasColMajor, CblasTrans, f, (int) n, 1.0f, y, f, rest, 1, 0.0f,
						coef, 1);
			memcpy(rest, x, sizeof(float) * f);
		}
		cblas_sgemv(CblasColMajor, CblasNoTrans, f, (int) n, -1.0f, y, f, coef, 1, 1.0f, rest, 1);
	}
	for (size_t j = 0; j < n; j++)
		contributions[j] = (double) coef[j] *
			cblas_sdot(f, y + j * f, 1, item_row(m, item), 1);
	*baseline = m->item_bias[item] + cblas_sdot(f, rest, 1, item_row(m, item), 1);

done:
	rs_free(a, y);
	rs_free(a, gram);
	rs_free(a, coef);
	rs_free(a, rest);
	return status;
}

static rs_status
explain(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
		double *contributions, double *baseline)
{
	if (m->algorithm == RS_ALGO_BPR)
		return explain_bpr(m, user, item, a, contributions, baseline);
	if (m->algorithm == RS_ALGO_KNN)
	{
		size_t		n;
		const int32_t *items = rs_seen_items(m, user, &n);

		return rs_knn_explain(m, items, m->seen_values + m->seen_ptr[user], n, item,
							  contributions, baseline);
	}
	if (m->algorithm == RS_ALGO_EASE)
	{
		size_t		n;
		const int32_t *items = rs_seen_items(m, user, &n);

		*baseline = 0.0;
		return rs_ease_explain(m, items, n, item, contributions);
	}
	return explain_least_squares(m, user, item, a, contributions, baseline);
}

rs_status
rs_explain(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
		   double *contributions, double *baseline)
{
	rs_fp_scope scope;
	rs_status	status = explain(m, user, item, rs_fp_scope_begin_alloc(&scope, a), contributions, baseline);

	rs_fp_scope_end(&scope);
	return status;
}

static rs_status
score_history(const rs_model *m, const int32_t *items, const float *values, size_t n,
				 const rs_allocator *a, float *scores)
{
	float	   *row;
	float		bias;
	rs_status	status;

	if (n == 0)
		return rs_score_items(m, -1, a, scores);
	/* item models score a history as it is; the others first solve for the user */
	if (m->algorithm == RS_ALGO_KNN)
		return rs_knn_score_items(m, items, values, n, a, scores);
	if (m->algorithm == RS_ALGO_EASE)
		return rs_ease_score_items(m, items, n, a, scores);
	row = rs_alloc(a, sizeof(float) * (size_t) rs_user_row_length(m));
	if (!row)
		return RS_NO_MEMORY;
	status = rs_fold_in(m, items, values, n, a, row, &bias);
	if (status == RS_OK)
		status = rs_score_items_for(m, row, bias, a, scores);
	rs_free(a, row);
	return status;
}

rs_status
rs_score_history(const rs_model *m, const int32_t *items, const float *values, size_t n,
				 const rs_allocator *a, float *scores)
{
	rs_fp_scope scope;
	rs_status	status = score_history(m, items, values, n, rs_fp_scope_begin_alloc(&scope, a), scores);

	rs_fp_scope_end(&scope);
	return status;
}
