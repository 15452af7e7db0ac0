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
#include "runtime.h"

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

/*
 * Operations of the kinds scoring as BPR does (x_u . y_i + b_i), shared
 * with the hybrid model: fold-in of a history by BPR's SGD on the user's
 * row alone, from prior (NULL: 0) and regularised towards it; and explain.
 */
void		rs_bpr_fold_in_from(const rs_model *model, const int32_t *items, size_t n,
								float rate, float lambda, const float *prior, float *row);
rs_status	rs_bpr_fold_in(const rs_model *model, const int32_t *items, const float *values,
						   size_t n, const rs_allocator *a, float *row, float *bias);
rs_status	rs_bpr_explain(const rs_model *model, int32_t user, int32_t item,
						   const rs_allocator *a, double *contributions, double *baseline);

#endif
