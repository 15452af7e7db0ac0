/*
 * implicit_als.h - matrix factorisation of implicit feedback by alternating
 * least squares (implicit_als.c).  It shares train_als's options and result
 * with explicit ALS (als.h).
 */
#ifndef RECSYS_IMPLICIT_ALS_H
#define RECSYS_IMPLICIT_ALS_H

#include "als.h"

/*
 * Implicit feedback values must not be negative (confidence 1 + alpha *
 * value is at least 1); the host checks them.
 */
rs_status	rs_implicit_als_fit(const rs_interactions *data, const double *options,
								const rs_runtime *rt, rs_als_result *out);

/* A user's factors from a history, as training's last user half-step solved them. */
rs_status	rs_implicit_als_fold_in(const rs_model *model, const int32_t *items,
									const float *values, size_t n, const rs_allocator *a,
									float *factors);

/* Either fit, as options[RS_ALS_FEEDBACK] says (train_als's options). */
static inline rs_status
rs_als_fit_feedback(const rs_interactions *data, const double *options, const rs_runtime *rt,
					rs_als_result *out)
{
	if (options[RS_ALS_FEEDBACK] == RS_FEEDBACK_IMPLICIT)
		return rs_implicit_als_fit(data, options, rt, out);
	return rs_als_fit(data, options, rt, out);
}

#endif
