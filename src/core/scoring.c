/*
 * scoring.c - every serving entry point (scoring.h), through the model's
 * kind (kind.h), each computing with subnormals flushed (fp_mode.h).  What
 * a kind does not support gives NaN, RS_UNSUPPORTED or no scores.
 */
#include "scoring.h"

#include "fp_mode.h"
#include "kind.h"

#include <math.h>
#include <string.h>

bool
rs_model_predicts_unknown(const rs_model *m)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);

	return kind->predicts_unknown && kind->predicts_unknown(m);
}

bool
rs_explain_has_baseline(const rs_model *m)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);

	return kind->explain_has_baseline && kind->explain_has_baseline(m);
}

bool
rs_model_takes_strengths(const rs_model *m)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);

	return kind->takes_strengths && kind->takes_strengths(m);
}

double
rs_predict(const rs_model *m, int32_t user, int32_t item)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	rs_fp_mode	host;
	double		score;

	if (!kind->predict)
		return NAN;
	host = rs_fp_flush_subnormals();
	score = kind->predict(m, user, item);
	rs_fp_restore(host);
	return score;
}

int
rs_user_row_length(const rs_model *m)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);

	return kind->row_length ? kind->row_length(m) : m->factors;
}

rs_status
rs_score_items_for(const rs_model *m, const float *x, float user_bias, const rs_allocator *a,
				   float *scores)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	rs_fp_scope scope;
	rs_status	status;

	if (!kind->score_row)
		return RS_UNSUPPORTED;
	status = kind->score_row(m, x, user_bias, rs_fp_scope_begin_alloc(&scope, a), scores);
	rs_fp_scope_end(&scope);
	return status;
}

rs_status
rs_score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	rs_fp_scope scope;
	rs_status	status;

	if (!kind->score_items)
		return RS_UNSUPPORTED;
	status = kind->score_items(m, user, rs_fp_scope_begin_alloc(&scope, a), scores);
	rs_fp_scope_end(&scope);
	return status;
}

rs_status
rs_score_items_each(const rs_model *m, const int32_t *users, size_t n, const rs_allocator *a,
					float *scores)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);

	for (size_t r = 0; r < n; r++)
	{
		rs_status	status = kind->score_items(m, users[r], a,
											   scores + r * (size_t) m->n_items);

		if (status != RS_OK)
			return status;
	}
	return RS_OK;
}

rs_status
rs_score_items_batch(const rs_model *m, const int32_t *users, size_t n, const rs_allocator *a,
					 float *scores)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	rs_fp_scope scope;
	rs_status	status;

	if (!kind->score_items_batch)
		return RS_UNSUPPORTED;
	status = kind->score_items_batch(m, users, n, rs_fp_scope_begin_alloc(&scope, a), scores);
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

const float *
rs_seen_values(const rs_model *m, int32_t user)
{
	return user >= 0 && m->seen_ptr ? m->seen_values + m->seen_ptr[user] : NULL;
}

size_t
rs_similar_items(const rs_model *m, int32_t item, float *scores)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	rs_fp_mode	host;
	size_t		answers;

	if (!kind->similar)
		return 0;
	host = rs_fp_flush_subnormals();
	answers = kind->similar(m, item, scores);
	rs_fp_restore(host);
	return answers;
}

rs_status
rs_fold_in(const rs_model *m, const int32_t *items, const float *values, size_t n,
		   const rs_allocator *a, float *factors, float *bias)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	rs_fp_scope scope;
	rs_status	status;

	*bias = 0.0f;
	if (!kind->fold_in)
		return RS_UNSUPPORTED;
	status = kind->fold_in(m, items, values, n, rs_fp_scope_begin_alloc(&scope, a), factors,
						   bias);
	rs_fp_scope_end(&scope);
	return status;
}

rs_status
rs_explain(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
		   double *contributions, double *baseline)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	rs_fp_scope scope;
	rs_status	status;

	if (!kind->explain)
		return RS_UNSUPPORTED;
	status = kind->explain(m, user, item, rs_fp_scope_begin_alloc(&scope, a), contributions,
						   baseline);
	rs_fp_scope_end(&scope);
	return status;
}

double
rs_predict_features(const rs_model *m, const float *features, float *scratch)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);

	return kind->predict_features ? kind->predict_features(m, features, scratch) : NAN;
}

/* A feature model's network (mlp_sizes) starts with its features. */
int
rs_feature_count(const rs_model *m)
{
	return m->mlp_sizes ? m->mlp_sizes[0] : 0;
}

/* The features, then the two widest layers' activations. */
size_t
rs_feature_scratch_floats(const rs_model *m)
{
	size_t		widest = 0;

	for (int l = 1; l <= m->mlp_layers; l++)
		if ((size_t) m->mlp_sizes[l] > widest)
			widest = (size_t) m->mlp_sizes[l];
	return (size_t) rs_feature_count(m) + 2 * widest;
}

rs_status
rs_score_history_by_fold_in(const rs_model *m, const int32_t *items, const float *values,
							size_t n, const rs_allocator *a, float *scores)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	float	   *row = rs_alloc(a, sizeof(float) * (size_t) rs_user_row_length(m));
	float		bias = 0.0f;
	rs_status	status;

	if (!row)
		return RS_NO_MEMORY;
	status = kind->fold_in(m, items, values, n, a, row, &bias);
	if (status == RS_OK)
		status = kind->score_row(m, row, bias, a, scores);
	rs_free(a, row);
	return status;
}

rs_status
rs_score_history(const rs_model *m, const int32_t *items, const float *values, size_t n,
				 const rs_allocator *a, float *scores)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	rs_fp_scope scope;
	const rs_allocator *scoped;
	rs_status	status;

	if (!kind->score_history || !kind->score_items)
		return RS_UNSUPPORTED;
	scoped = rs_fp_scope_begin_alloc(&scope, a);
	/* an empty history scores as an unknown user */
	if (n == 0)
		status = kind->score_items(m, -1, scoped, scores);
	else
		status = kind->score_history(m, items, values, n, scoped, scores);
	rs_fp_scope_end(&scope);
	return status;
}
