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

/*
 * The fit in steps, for a regularisation path that goes on from one
 * setting's factors with the next (als_regularization.c): begin starts a
 * result as the fit does (freed by rs_als_result_free after end), iterate
 * improves it by one iteration with the regularisation of options
 * (recording up to max_iterations losses; last solves the users exactly, as
 * the fit's last iteration does), end frees the rest.
 */
typedef struct rs_implicit_als_solver rs_implicit_als_solver;

rs_status	rs_implicit_als_solver_begin(const rs_interactions *data, const double *options,
										 int max_iterations, const rs_runtime *rt,
										 rs_als_result *result, rs_implicit_als_solver **solver);
rs_status	rs_implicit_als_solver_iterate(rs_implicit_als_solver *solver, const double *options,
										   bool last, const rs_runtime *rt);
void		rs_implicit_als_solver_end(rs_implicit_als_solver *solver, const rs_allocator *a);

/*
 * The regularisation the defaults' rule gives data at this alpha (the
 * measured weight is a multiple of it, als_regularization.c).
 */
double		rs_implicit_als_rule_regularization(const rs_interactions *data, double alpha);

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
