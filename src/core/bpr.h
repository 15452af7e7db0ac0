/*
 * bpr.h - Bayesian personalised ranking (Rendle et al. 2009): matrix
 * factorisation with item bias, learned by SGD on sampled
 * (user, positive item, negative item) triples.
 */
#ifndef RECSYS_BPR_H
#define RECSYS_BPR_H

#include "interactions.h"
#include "model.h"
#include "options.h"

/* Positions in rs_bpr_option_specs and in the values array fit() takes. */
typedef enum rs_bpr_option
{
	RS_BPR_FACTORS,
	RS_BPR_EPOCHS,
	RS_BPR_LEARNING_RATE,
	RS_BPR_REGULARIZATION,
	RS_BPR_BIAS_REGULARIZATION,
	RS_BPR_NEGATIVES,			/* "uniform" or "popularity" */
	RS_BPR_SEED,
	RS_BPR_THREADS,
	RS_BPR_VERBOSE,
	RS_BPR_USERS,
	RS_BPR_OPTION_COUNT
} rs_bpr_option;

enum
{
	RS_NEGATIVES_UNIFORM,
	RS_NEGATIVES_POPULARITY
};

extern const rs_option_spec rs_bpr_option_specs[RS_BPR_OPTION_COUNT];

typedef struct rs_bpr_result
{
	float	   *user_factors;	/* n_users x factors, row-major */
	float	   *item_factors;	/* n_items x factors */
	float	   *item_bias;
	float	   *item_popularity;	/* training users per item */
	int			factors;
	int			epochs;			/* completed */
	double	   *loss;			/* mean -ln sigmoid(x_uij) per epoch */
} rs_bpr_result;

rs_status	rs_bpr_fit(const rs_interactions *data, const double *options,
					   const rs_runtime *rt, rs_bpr_result *out);
void		rs_bpr_result_free(rs_bpr_result *result, const rs_allocator *a);

/* A model viewing the result and the data (training interactions as "seen"). */
void		rs_bpr_model(const rs_interactions *data, const rs_bpr_result *result,
						 const rs_model_params *params, rs_model *model);

#endif
