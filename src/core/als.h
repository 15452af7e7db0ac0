/*
 * als.h - matrix factorisation of explicit ratings by alternating least squares.
 */
#ifndef RECSYS_ALS_H
#define RECSYS_ALS_H

#include "interactions.h"
#include "model.h"
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
	RS_ALS_SEED,
	RS_ALS_THREADS,
	RS_ALS_VERBOSE,
	RS_ALS_OPTION_COUNT
} rs_als_option;

enum
{
	RS_FEEDBACK_EXPLICIT,
	RS_FEEDBACK_IMPLICIT
};

extern const rs_option_spec rs_als_option_specs[RS_ALS_OPTION_COUNT];

typedef struct rs_als_result
{
	float	   *user_factors;	/* n_users x factors, row-major */
	float	   *item_factors;	/* n_items x factors */
	float	   *user_bias;
	float	   *item_bias;
	double		global_mean;
	double		new_user_bias;	/* mean user bias: the prior of the user biases */
	double		new_item_bias;
	int			factors;
	int			iterations;		/* completed */
	double	   *loss;			/* training RMSE after each iteration */
} rs_als_result;

rs_status	rs_als_fit(const rs_interactions *data, const double *options,
					   const rs_runtime *rt, rs_als_result *out);
void		rs_als_result_free(rs_als_result *result, const rs_allocator *a);

/* A model viewing the result and the data (training interactions as "seen"). */
void		rs_als_model(const rs_interactions *data, const rs_als_result *result,
						 rs_model *model);

#endif
