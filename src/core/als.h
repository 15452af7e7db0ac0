/*
 * als.h - matrix factorisation of explicit ratings by alternating least squares.
 */
#ifndef RECSYS_ALS_H
#define RECSYS_ALS_H

#include "interactions.h"
#include "model.h"
#include "kind.h"
#include "options.h"

/* Positions in rs_als_option_specs and in the values array fit() takes. */
typedef enum rs_als_option
{
	RS_ALS_FEEDBACK,
	RS_ALS_FACTORS,
	RS_ALS_ITERATIONS,
	RS_ALS_REGULARIZATION,
	RS_ALS_PRIOR_COUNT,
	RS_ALS_BIAS_REGULARIZATION,
	RS_ALS_ALPHA,
	RS_ALS_CG_STEPS,
	RS_ALS_SOLVER,
	RS_ALS_SEED,
	RS_ALS_THREADS,
	RS_ALS_VERBOSE,
	RS_ALS_USERS,
	RS_ALS_OPTION_COUNT
} rs_als_option;

enum
{
	RS_FEEDBACK_EXPLICIT,
	RS_FEEDBACK_IMPLICIT
};

enum
{
	RS_SOLVER_CG,
	RS_SOLVER_CHOLESKY
};

extern const rs_option_spec rs_als_option_specs[RS_ALS_OPTION_COUNT];

typedef struct rs_als_result
{
	float	   *user_factors;	/* n_users x factors, row-major */
	float	   *item_factors;	/* n_items x factors */
	float	   *user_bias;
	float	   *item_bias;
	float	   *item_popularity;	/* training users per item */
	float	   *item_gram;		/* implicit: Y'Y of the final item factors */
	double		global_mean;
	double		new_user_bias;	/* the prior of the user biases at one rating */
	double		user_bias_slope;	/* and its slope per ln(ratings) */
	double		new_item_bias;
	int			factors;
	int			iterations;		/* completed */
	double	   *loss;			/* training loss after each iteration */
} rs_als_result;

/* Explicit feedback: ratings.  Implicit feedback is implicit_als.h's. */
rs_status	rs_als_fit(const rs_interactions *data, const double *options,
					   const rs_runtime *rt, rs_als_result *out);
void		rs_als_result_free(rs_als_result *result, const rs_allocator *a);

/*
 * The explicit fit in steps, for a regularisation path that goes on from
 * one setting's factors with the next: begin starts a result as the fit
 * does (freed by rs_als_result_free after end), iterate improves it by one
 * iteration with the regularisation of options (recording up to
 * max_iterations losses), end frees the rest.
 */
typedef struct rs_als_solver rs_als_solver;

rs_status	rs_als_solver_begin(const rs_interactions *data, const double *options,
								int max_iterations, const rs_runtime *rt,
								rs_als_result *result, rs_als_solver **solver);
rs_status	rs_als_solver_iterate(rs_als_solver *solver, const double *options,
								  const rs_runtime *rt);
void		rs_als_solver_end(rs_als_solver *solver, const rs_allocator *a);

/*
 * Either solver's bookkeeping after an iteration begun at started: the
 * loss into r->loss while it has room (loss_room entries), and progress.
 */
void		rs_als_record_iteration(rs_als_result *r, int loss_room, double loss, double started,
									const rs_runtime *rt);

/*
 * Without a given "regularization": chooses it by the held-out RMSE
 * (explicit) or NDCG@10 (implicit) of a regularisation path
 * (als_regularization.c) and sets options[RS_ALS_REGULARIZATION]; *note
 * says what was chosen.
 */
rs_status	rs_als_choose_regularization(double *options, const bool *given,
										 const rs_interactions *data, const rs_runtime *rt,
										 rs_report *note);

/* A fit of either feedback as the kinds' table returns it (kind.h). */
void		rs_als_fit_done(const rs_fit_input *in, const rs_als_result *r, rs_fit *out);

/* A model viewing the result and the data (training interactions as "seen"). */
void		rs_als_model(const rs_interactions *data, const rs_als_result *result,
						 const double *options, rs_model *model);

/*
 * A user's factors (and bias, explicit only) solved from a history of
 * (dense item index, value) pairs against the model's fixed items, exactly as
 * training's last user half-step did: folding in a known user's training
 * history gives back their factors.  factors has model->factors entries.
 */
rs_status	rs_als_fold_in(const rs_model *model, const int32_t *items, const float *values,
						   size_t n, const rs_allocator *a, float *factors, float *bias);

/*
 * Why the model scores (user, item) as it does (rs_explain), for explicit
 * and implicit ALS alike: both solve a user by least squares.
 */
rs_status	rs_als_explain(const rs_model *model, int32_t user, int32_t item,
						   const rs_allocator *a, double *contributions, double *baseline);

#endif
