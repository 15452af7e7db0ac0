/*
 * als_regularization.c - ALS's regularisation, chosen on the data.
 *
 * The right ridge weight follows the ratio of noise to signal in the data,
 * which no constant or rule knows: clean low-rank ratings want a fiftieth
 * of what noisy, sparse film ratings want, and implicit ALS's held-out
 * ranking falls off a cliff a factor of two past its best weight, on the
 * heavy side of which the factors collapse to popularity - and where that
 * cliff stands moved by a factor of four between data sets of the same
 * density.  So when the user gives none it is measured.  Part of the data
 * is held out (the split "tune" uses, tuning.h: a tenth of the ratings, or
 * one interaction of each of up to 2000 users) and a path of weights is
 * fitted on the rest, from light to heavy, scored by the held-out RMSE or
 * NDCG@10.  Each weight goes on from the previous one's factors for a few
 * iterations - a warm start, as in the regularisation paths of glmnet
 * (Friedman, Hastie and Tibshirani 2010); going up rather than down keeps
 * the factors from collapsing to 0 under a heavy first weight, from where
 * light ones grow back slowly.  The path stops a few steps after the score
 * last improved, or once a ranking score has collapsed, the best weight is
 * refined between its neighbours, and the fit trains on all the data with
 * it.
 *
 * Ratings' weights double from a 256th of the ratings' standard deviation
 * (the factors' products are on the ratings' scale, so the weight that
 * balances them is too); each weight after the first, which starts from
 * random factors for 8 iterations, has 3, and the path stops two steps
 * after the best.  Implicit weights go up by a factor of sqrt(2), finer for
 * the cliff, from a quarter of the data-scaled rule of implicit_als.c to 16
 * times it, 5 iterations for the first and 2 for each next (a small step
 * from a close start), and the path stops two doublings after the best, as
 * the held-out NDCG can be flat below it to within its noise; the multiple
 * of the rule that wins is applied to the rule on all the data.  Data
 * larger than MEASURED_INTERACTIONS is measured on a sample of its users,
 * so that the path costs seconds whatever the size.
 */
#include "als.h"

#include "fp_mode.h"
#include "implicit_als.h"
#include "random.h"
#include "tuning.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_STEPS 13
#define COLLAPSED 0.7			/* of the best NDCG: past the cliff, stop */
#define MEASURED_INTERACTIONS ((size_t) 1 << 22)	/* a sample's, about */

/* The weights a path tries: first * 2^(step * octaves) for steps 0 .. steps - 1. */
typedef struct path_plan
{
	bool		ratings;		/* scored by RMSE, else by NDCG@10 */
	double		first;
	double		octaves;		/* per step */
	int			steps;
	int			patience;		/* steps without improvement before stopping */
	int			first_iterations;	/* of the first weight, from random */
	int			step_iterations;	/* of each next weight */
} path_plan;

/* Either feedback's fit in steps. */
typedef struct path_solver
{
	rs_als_solver *explicit_fit;
	rs_implicit_als_solver *implicit_fit;
} path_solver;

static rs_status
solver_begin(const rs_interactions *d, const double *opt, int max_iterations,
			 const rs_runtime *rt, rs_als_result *r, path_solver *s)
{
	memset(s, 0, sizeof(*s));
	if (opt[RS_ALS_FEEDBACK] == RS_FEEDBACK_IMPLICIT)
		return rs_implicit_als_solver_begin(d, opt, max_iterations, rt, r, &s->implicit_fit);
	return rs_als_solver_begin(d, opt, max_iterations, rt, r, &s->explicit_fit);
}

static rs_status
solver_iterate(path_solver *s, const double *opt, const rs_runtime *rt)
{
	if (s->implicit_fit)
		return rs_implicit_als_solver_iterate(s->implicit_fit, opt, false, rt);
	return rs_als_solver_iterate(s->explicit_fit, opt, rt);
}

static void
solver_end(path_solver *s, const rs_allocator *a)
{
	rs_implicit_als_solver_end(s->implicit_fit, a);
	rs_als_solver_end(s->explicit_fit, a);
}

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
 * The maximum of the parabola through the held-out scores of the best step
 * and its neighbours, in steps from the best (within half a step either
 * way): the path's steps are coarse where the score is steep.
 */
static double
vertex_offset(double before, double best, double after)
{
	double		curvature = 2.0 * best - before - after;
	double		offset;

	if (!isfinite(before) || !isfinite(after) || curvature <= 0.0)
		return 0.0;
	offset = 0.5 * (after - before) / curvature;
	return offset < -0.5 ? -0.5 : offset > 0.5 ? 0.5 : offset;
}

/* Walks the path on train, scoring on held; the best weight into *best. */
static rs_status
walk_path(const rs_interactions *train, const rs_interaction_buffer *held, double *opt,
		  const path_plan *plan, const rs_runtime *rt, double *best, double *best_score,
		  int *steps)
{
	rs_als_result r;
	path_solver solver;
	rs_status	status = solver_begin(train, opt,
									  plan->first_iterations + plan->steps * plan->step_iterations,
									  rt, &r, &solver);
	double		score[MAX_STEPS];
	int			chosen = 0;

	*steps = 0;
	for (int step = 0; status == RS_OK && step < plan->steps && step - chosen <= plan->patience;
		 step++)
	{
		rs_model	m;

		opt[RS_ALS_REGULARIZATION] = plan->first * exp2(step * plan->octaves);
		for (int it = 0; status == RS_OK && it < (step ? plan->step_iterations : plan->first_iterations);
			 it++)
			status = solver_iterate(&solver, opt, rt);
		if (status != RS_OK)
			break;
		rs_als_model(train, &r, opt, &m);
		if ((status = rs_holdout_score(&m, held, plan->ratings, &rt->alloc, &score[step])) != RS_OK)
			break;
		*steps = step + 1;
		if (score[step] > score[chosen])
			chosen = step;
		if (!plan->ratings && score[step] < COLLAPSED * score[chosen])
			break;
	}
	solver_end(&solver, &rt->alloc);
	rs_als_result_free(&r, &rt->alloc);
	if (status != RS_OK || *steps == 0)
		return status;
	*best_score = score[chosen];
	*best = plan->first *
		exp2(plan->octaves * (chosen + (chosen > 0 && chosen + 1 < *steps ?
										vertex_offset(score[chosen - 1], score[chosen],
													  score[chosen + 1]) : 0.0)));
	return RS_OK;
}

/*
 * The data the path measures: d itself, or all the interactions of a
 * sample of its users when it has more than MEASURED_INTERACTIONS.
 */
static rs_status
measured_data(const rs_interactions *d, uint64_t seed, const rs_allocator *a,
			  rs_interactions *out, const rs_interactions **measured)
{
	rs_interaction_buffer rows = {0};
	rs_random	rng = {seed * 0x9E3779B97F4A7C15ull + 2};
	double		share = (double) MEASURED_INTERACTIONS / (double) d->nnz;
	rs_status	status = RS_OK;

	*measured = d;
	if (d->nnz <= MEASURED_INTERACTIONS)
		return RS_OK;
	if (!rs_buffer_reserve(&rows, a, MEASURED_INTERACTIONS + MEASURED_INTERACTIONS / 8))
		return RS_NO_MEMORY;
	for (int32_t u = 0; u < d->n_users && status == RS_OK; u++)
	{
		if (rs_random_uniform(&rng) >= share)
			continue;
		for (size_t k = d->user_ptr[u]; k < d->user_ptr[u + 1] && status == RS_OK; k++)
			if (!rs_buffer_append(&rows, a, d->user_ids[u], d->item_ids[d->user_items[k]],
								  d->user_values[k]))
				status = RS_NO_MEMORY;
	}
	if (status == RS_OK && (status = rs_interactions_build(&rows, a, out)) == RS_OK)
		*measured = out;
	rs_buffer_free(&rows, a);
	return status;
}

rs_status
rs_als_choose_regularization(double *opt, const bool *given, const rs_interactions *d,
							 const rs_runtime *rt, rs_report *note)
{
	const rs_allocator *a = &rt->alloc;
	bool		implicit = opt[RS_ALS_FEEDBACK] == RS_FEEDBACK_IMPLICIT;
	const rs_interactions *measured = d;
	rs_interaction_buffer rows = {0},
				held = {0};
	rs_interactions sample = {0},
				train = {0};
	rs_runtime	quiet = *rt;
	rs_fp_scope scope;
	double		best = opt[RS_ALS_REGULARIZATION],
				best_score = NAN,
				unit = 1.0,
				started = rs_now();
	int			steps = 0;
	size_t		held_out = 0,
				sampled = 0;
	rs_status	status;

	if (given[RS_ALS_REGULARIZATION] || d->nnz == 0)
		return RS_OK;
	quiet.progress = NULL;		/* the path's iterations are not the fit's */
	status = measured_data(d, (uint64_t) opt[RS_ALS_SEED], a, &sample, &measured);
	if (status == RS_OK)
		status = rs_holdout_split(measured, !implicit, (uint64_t) opt[RS_ALS_SEED], a, &rows,
								  &held);
	if (status == RS_OK)
		status = rs_interactions_build(&rows, a, &train);
	if (measured != d)
		sampled = measured->nnz;
	rs_buffer_free(&rows, a);
	rs_interactions_free(&sample, a);
	/* too little data to hold any out: keep the option's default */
	if (status == RS_OK && held.count > 0 && train.nnz > 0)
	{
		double		path_opt[RS_ALS_OPTION_COUNT];
		path_plan	plan = {true, 1.0 / 256, 1.0, 12, 2, 8, 3};

		if (implicit)
		{
			unit = rs_implicit_als_rule_regularization(&train, opt[RS_ALS_ALPHA]);
			plan = (path_plan) {false, unit / 4, 0.5, MAX_STEPS, 4, 5, 2};
		}
		else
			plan.first *= rating_deviation(&train);
		memcpy(path_opt, opt, sizeof(path_opt));
		status = walk_path(&train, &held, path_opt, &plan, rs_fp_scope_begin(&scope, &quiet),
						   &best, &best_score, &steps);
		rs_fp_scope_end(&scope);
	}
	held_out = held.count;
	rs_interactions_free(&train, a);
	rs_buffer_free(&held, a);
	if (status != RS_OK || steps == 0)
		return status;
	if (implicit)
	{
		/* the multiple of the rule that won, applied to the rule on all the data */
		opt[RS_ALS_REGULARIZATION] *= best / unit;
		snprintf(note->message, sizeof(note->message),
				 "regularization %.4g (%.2f times the data's rule) chosen by the held-out NDCG@10 %.4f of %zu users, %d weights tried in %.3f s",
				 opt[RS_ALS_REGULARIZATION], best / unit, best_score, held_out, steps,
				 rs_now() - started);
	}
	else
	{
		opt[RS_ALS_REGULARIZATION] = best;
		snprintf(note->message, sizeof(note->message),
				 "regularization %.4g chosen by the held-out RMSE %.4f of %zu ratings, %d weights tried in %.3f s",
				 best, -best_score, held_out, steps, rs_now() - started);
	}
	if (sampled > 0)
	{
		size_t		length = strlen(note->message);

		snprintf(note->message + length, sizeof(note->message) - length,
				 " (on a sample of %zu of the %zu interactions)", sampled, d->nnz);
	}
	return RS_OK;
}
