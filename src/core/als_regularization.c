/*
 * als_regularization.c - explicit ALS's regularisation, chosen on the data.
 *
 * The right ridge weight follows the ratio of noise to signal in the
 * ratings, which no constant knows: clean low-rank ratings want a fiftieth
 * of what noisy, sparse film ratings want, and either one's weight costs
 * the other a large share of its accuracy.  So when the user gives none it
 * is measured.  A tenth of the ratings of users with three or more is held
 * out (the split "tune" uses, tuning.h) and a path of weights is fitted on
 * the rest, from light to heavy by doubling, in units of the ratings'
 * standard deviation (the factors' products are on the ratings' scale, so
 * the weight that balances them is too).  Each weight goes on from the
 * previous one's factors for a few iterations - a warm start, as in the
 * regularisation paths of glmnet (Friedman, Hastie and Tibshirani 2010);
 * going up rather than down keeps the factors from collapsing to 0 under
 * a heavy first weight, from where light ones grow back slowly.  The path
 * stops two steps after the held-out RMSE last improved, the best weight
 * is refined between its neighbours, and the fit trains on all ratings
 * with it.
 */
#include "als.h"

#include "fp_mode.h"
#include "tuning.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PATH_START (1.0 / 256)	/* first weight, in standard deviations */
#define PATH_STEPS 12			/* up to PATH_START * 2^11 */
#define FIRST_ITERATIONS 8		/* iterations of the first weight, from random */
#define STEP_ITERATIONS 3		/* iterations of each next weight */
#define PATIENCE 2				/* steps without improvement before stopping */

static double
rating_deviation(const rs_interactions *d)
{
	double		sum = 0.0,
				squares = 0.0;

	for (size_t k = 0; k < d->nnz; k++)
	{
		sum += d->user_values[k];
		squares += (double) d->user_values[k] * d->user_values[k];
	}
	if (d->nnz < 2)
		return 1.0;
	squares = (squares - sum * sum / (double) d->nnz) / (double) (d->nnz - 1);
	return squares > 1e-12 ? sqrt(squares) : 1.0;
}

/*
 * The minimum of the parabola through the held-out RMSEs of the best step
 * and its neighbours, in steps from the best (within half a step either
 * way): the path's halving steps are coarse where the RMSE is steep.
 */
static double
vertex_offset(double before, double best, double after)
{
	double		curvature = before - 2.0 * best + after;
	double		offset;

	if (!isfinite(before) || !isfinite(after) || curvature <= 0.0)
		return 0.0;
	offset = 0.5 * (before - after) / curvature;
	return offset < -0.5 ? -0.5 : offset > 0.5 ? 0.5 : offset;
}

/* Walks the path on train, scoring on held; the best weight into *best. */
static rs_status
walk_path(const rs_interactions *train, const rs_interaction_buffer *held, double *opt,
		  double unit, const rs_runtime *rt, double *best, double *best_rmse, int *steps)
{
	rs_als_result r;
	rs_als_solver *solver;
	rs_status	status = rs_als_solver_begin(train, opt,
											 FIRST_ITERATIONS + PATH_STEPS * STEP_ITERATIONS,
											 rt, &r, &solver);
	double		rmse[PATH_STEPS + 1];
	int			chosen = 0;

	*steps = 0;
	for (int step = 0; status == RS_OK && step < PATH_STEPS && step - chosen <= PATIENCE; step++)
	{
		rs_model	m;
		double		score;

		opt[RS_ALS_REGULARIZATION] = ldexp(PATH_START * unit, step);
		for (int it = 0; status == RS_OK && it < (step ? STEP_ITERATIONS : FIRST_ITERATIONS); it++)
			status = rs_als_solver_iterate(solver, opt, rt);
		if (status != RS_OK)
			break;
		rs_als_model(train, &r, opt, &m);
		if ((status = rs_holdout_score(&m, held, true, &rt->alloc, &score)) != RS_OK)
			break;
		rmse[step] = -score;
		*steps = step + 1;
		if (rmse[step] < rmse[chosen])
			chosen = step;
	}
	rs_als_solver_end(solver, &rt->alloc);
	rs_als_result_free(&r, &rt->alloc);
	if (status != RS_OK || *steps == 0)
		return status;
	*best_rmse = rmse[chosen];
	*best = PATH_START * unit *
		exp2(chosen + (chosen > 0 && chosen + 1 < *steps ?
					   vertex_offset(rmse[chosen - 1], rmse[chosen], rmse[chosen + 1]) : 0.0));
	return RS_OK;
}

rs_status
rs_als_choose_regularization(double *opt, const bool *given, const rs_interactions *d,
							 const rs_runtime *rt, rs_report *note)
{
	const rs_allocator *a = &rt->alloc;
	rs_interaction_buffer rows = {0},
				held = {0};
	rs_interactions train = {0};
	rs_runtime	quiet = *rt;
	rs_fp_scope scope;
	double		best = opt[RS_ALS_REGULARIZATION],
				best_rmse = NAN,
				started = rs_now();
	int			steps = 0;
	size_t		held_out = 0;
	rs_status	status;

	if (given[RS_ALS_REGULARIZATION] || opt[RS_ALS_FEEDBACK] != RS_FEEDBACK_EXPLICIT)
		return RS_OK;
	quiet.progress = NULL;		/* the path's iterations are not the fit's */
	status = rs_holdout_split(d, true, (uint64_t) opt[RS_ALS_SEED], a, &rows, &held);
	if (status == RS_OK)
		status = rs_interactions_build(&rows, a, &train);
	rs_buffer_free(&rows, a);
	/* too few ratings to hold any out: keep the option's default */
	if (status == RS_OK && held.count > 0 && train.nnz > 0)
	{
		double		unit = rating_deviation(&train);
		double		path_opt[RS_ALS_OPTION_COUNT];

		memcpy(path_opt, opt, sizeof(path_opt));
		status = walk_path(&train, &held, path_opt, unit, rs_fp_scope_begin(&scope, &quiet),
						   &best, &best_rmse, &steps);
		rs_fp_scope_end(&scope);
	}
	held_out = held.count;
	rs_interactions_free(&train, a);
	rs_buffer_free(&held, a);
	if (status != RS_OK)
		return status;
	opt[RS_ALS_REGULARIZATION] = best;
	if (steps > 0)
		snprintf(note->message, sizeof(note->message),
				 "regularization %.4g chosen by the held-out RMSE %.4f of %zu ratings, %d weights tried in %.3f s",
				 best, best_rmse, held_out, steps, rs_now() - started);
	return RS_OK;
}
