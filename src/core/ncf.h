/*
 * ncf.h - neural collaborative filtering: NeuMF (He, Liao, Zhang, Nie, Hu,
 * Chua 2017, "Neural collaborative filtering", WWW), trained on implicit
 * interactions with sampled negatives.
 */
#ifndef RECSYS_NCF_H
#define RECSYS_NCF_H

#include "neural_layers.h"
#include "interactions.h"
#include "model.h"
#include "options.h"

#define RS_NCF_MAX_LAYERS 8		/* entries of the layers list */
#define RS_NCF_MAX_WIDTH 1024	/* units per layer, the concatenated embeddings included */
#define RS_NCF_MAX_BATCH 65536

/* Positions in rs_ncf_option_specs and in the values array fit() takes. */
typedef enum rs_ncf_option
{
	RS_NCF_FACTORS,				/* GMF embedding size, default 16 */
	RS_NCF_NEGATIVES,			/* sampled per positive, default 4 */
	RS_NCF_EPOCHS,
	RS_NCF_LEARNING_RATE,		/* Adam, default 0.001 */
	RS_NCF_BATCH_SIZE,			/* samples (positives and negatives), default 256 */
	RS_NCF_L2,					/* on the layers' weights and the embeddings, per step */
	RS_NCF_SEED,
	RS_NCF_THREADS,
	RS_NCF_VERBOSE,
	RS_NCF_OPTION_COUNT
} rs_ncf_option;

extern const rs_option_spec rs_ncf_option_specs[RS_NCF_OPTION_COUNT];

/*
 * A trained NeuMF.  The network's parameters other than the GMF embeddings
 * are one block (the model's MLP_WEIGHTS section):
 *
 *   the tower and output layer as a dense network of sizes
 *     [2e, layers[1], ..., layers[n-1], 1] (neural_layers.h layout), whose output
 *     layer's weights h_M apply to the tower's last activations;
 *   h_G (factors): the output layer's weights on the GMF product;
 *   the users' tower embeddings (n_users x e), then the items' (n_items x e),
 *
 * with e = layers[0] / 2.  The score is sigmoid(z),
 * z = h_G . (p_u * q_i) + h_M . tower([m_u; n_i]) + b.
 */
typedef struct rs_ncf_result
{
	int			factors;
	int			n_sizes;		/* layers + 1 */
	int32_t    *sizes;
	float	   *user_factors;	/* GMF, n_users x factors */
	float	   *item_factors;	/* GMF, n_items x factors */
	float	   *weights;		/* see above */
	float	   *item_popularity;	/* training users per item */
	double	   *loss;			/* mean binary cross-entropy per epoch */
	double		base_rate_loss; /* of a constant prediction, the share of positives */
	int			epochs;			/* completed */
} rs_ncf_result;

/*
 * Trains on data (every interaction a positive; values unused).  layers
 * lists the tower's widths, the first being the concatenated embeddings'
 * (even).
 */
rs_status	rs_ncf_fit(const rs_interactions *data, const int *layers, int n_layers,
					   const double *options, const rs_runtime *rt, rs_ncf_result *out);
void		rs_ncf_result_free(rs_ncf_result *result, const rs_allocator *a);

/* A model viewing the result and the data (training interactions as "seen"). */
void		rs_ncf_model(const rs_interactions *data, const rs_ncf_result *result,
						 rs_model *model);

/* Floats in the MLP_WEIGHTS section of an NCF model of this shape. */
uint64_t	rs_ncf_weight_count(int n_sizes, const int32_t *sizes, int factors,
								int32_t n_users, int32_t n_items);

/* Points model's NCF fields into its MLP_WEIGHTS block (after decode). */
void		rs_ncf_locate(rs_model *model);

/* The probability the model gives (user, item); NaN if either is unknown. */
double		rs_ncf_predict(const rs_model *model, int32_t user, int32_t item);

/* Every item's probability for a known user, in batches through sgemm. */
rs_status	rs_ncf_score_items(const rs_model *model, int32_t user, const rs_allocator *a,
							   float *scores);

/* The same for a user given by a GMF row (factors) and a tower row. */
rs_status	rs_ncf_score_row(const rs_model *model, const float *gmf, const float *tower,
							 const rs_allocator *a, float *scores);

/*
 * A user not in the model, from the ascending, distinct items of their
 * history: row gets factors + ncf_embedding floats (GMF, then tower).
 */
rs_status	rs_ncf_fold_in(const rs_model *model, const int32_t *items, size_t n,
						   const rs_allocator *a, float *row);

#endif
