/*
 * mlp.h - a dense neural network on feature vectors (multi-layer
 * perceptron): ReLU/tanh/sigmoid hidden layers, a sigmoid output with binary
 * cross-entropy or a linear output with squared error, trained on
 * mini-batches by Adam, SGD with momentum, or full-batch gradient descent.
 */
#ifndef RECSYS_MLP_H
#define RECSYS_MLP_H

#include "neural_layers.h"
#include "model.h"
#include "options.h"
#include "runtime.h"

#define RS_MLP_MAX_HIDDEN (RS_DENSE_MAX_SIZES - 2)	/* hidden layers */
#define RS_MLP_MAX_WIDTH 65536	/* units per layer */
#define RS_MLP_MAX_FEATURES RS_MODEL_MAX_FEATURES

/* Positions in rs_mlp_option_specs and in the values array fit() takes. */
typedef enum rs_mlp_option
{
	RS_MLP_ACTIVATION,			/* "relu", "tanh", "sigmoid" */
	RS_MLP_LOSS,				/* "cross_entropy", "mse" */
	RS_MLP_OPTIMIZER,			/* "adam", "sgd", "gd" */
	RS_MLP_LEARNING_RATE,		/* default 0.001 */
	RS_MLP_MOMENTUM,			/* sgd only, default 0.9 */
	RS_MLP_EPOCHS,				/* default 10 */
	RS_MLP_BATCH_SIZE,			/* default 32; ignored by gd */
	RS_MLP_L2,					/* default 0 */
	RS_MLP_STANDARDIZE,			/* default true */
	RS_MLP_VALIDATION_FRACTION, /* default 0: no validation, no early stop */
	RS_MLP_PATIENCE,			/* epochs without validation improvement, default 3 */
	RS_MLP_SEED,
	RS_MLP_VERBOSE,
	RS_MLP_OPTION_COUNT
} rs_mlp_option;

enum
{
	RS_LOSS_CROSS_ENTROPY,
	RS_LOSS_MSE
};

extern const rs_option_spec rs_mlp_option_specs[RS_MLP_OPTION_COUNT];

typedef struct rs_mlp_result
{
	int			n_layers;		/* weight layers: hidden layers + 1 */
	int32_t    *sizes;			/* n_layers + 1: features, hidden..., 1 */
	float	   *weights;		/* per layer: W (out x in, row-major), then b (out) */
	float	   *feature_mean;	/* features entries; 0 without standardize */
	float	   *feature_scale;	/* features entries; 1 without standardize */
	double	   *train_loss;		/* per epoch run */
	double	   *validation_loss;	/* per epoch run, NULL without validation */
	int			epochs;			/* run (early stopping may end sooner) */
	int			activation;
	int			loss;
} rs_mlp_result;

/*
 * Trains on n rows of d features (row-major) with labels (0/1 for
 * cross-entropy).  hidden lists the widths of the hidden layers.
 */
rs_status	rs_mlp_fit(const float *features, const float *labels, size_t n, int d,
					   const int *hidden, int n_hidden, const double *options,
					   const rs_runtime *rt, rs_mlp_result *out);
void		rs_mlp_result_free(rs_mlp_result *result, const rs_allocator *a);

/* A model viewing the result (algorithm RS_ALGO_MLP). */
void		rs_mlp_model(const rs_mlp_result *result, rs_model *model);

/*
 * The network's output for one feature vector of model->mlp_sizes[0]
 * entries: a probability for cross-entropy, a value for mse.  scratch has
 * rs_feature_scratch_floats(model) floats (scoring.h).
 */
double		rs_mlp_predict(const rs_model *model, const float *features, float *scratch);

/*
 * Floats in the weights of a network of `layers` weight layers with the
 * given sizes: every layer's W (out x in) and b (out).  The sizes must be
 * within RS_MLP_MAX_WIDTH, so this cannot overflow.
 */
uint64_t	rs_mlp_weight_count(int32_t layers, const int32_t *sizes);

/*
 * For tests: the objective of one training step on `rows` rows of x
 * (already standardised) - the mean loss of the network's output (before
 * the sigmoid, for cross-entropy) plus (l2 / 2) times the squared weights,
 * biases excepted - and its gradient, laid out like weights, by the same
 * back-propagation training uses.
 */
rs_status	rs_mlp_loss_and_gradient(int layers, const int32_t *sizes, const float *weights,
									 int activation, int loss, double l2, const float *x,
									 const float *y, int rows, const rs_allocator *a,
									 double *objective, float *gradient);

#endif
