/*
 * neural_layers.h - a neural network's fully connected (dense) layers on
 * mini-batches, and the optimisers that train them: what every kind built
 * on a neural network shares.
 *
 * A network of `layers` weight layers maps rows of sizes[0] inputs to rows
 * of sizes[layers] outputs; layer l computes A_l = f(A_{l-1} W_l' + b_l),
 * with f the activation on every layer but the last, whose output z is left
 * as is for the caller's loss.  Weights are one block: per layer W (out x in,
 * row-major), then b (out).
 */
#ifndef RECSYS_NEURAL_LAYERS_H
#define RECSYS_NEURAL_LAYERS_H

#include <math.h>

#include "random.h"
#include "runtime.h"

#define RS_DENSE_MAX_SIZES 18	/* layer sizes, input and output included */

enum
{
	RS_ACTIVATION_RELU,
	RS_ACTIVATION_TANH,
	RS_ACTIVATION_SIGMOID
};

enum
{
	RS_OPTIMIZER_ADAM,
	RS_OPTIMIZER_SGD,
	RS_OPTIMIZER_GD
};

/* The shape of a network and where each layer's weights start. */
typedef struct rs_dense
{
	int			layers;
	const int32_t *sizes;		/* layers + 1 entries */
	size_t		offset[RS_DENSE_MAX_SIZES]; /* of layer l's W; b follows it */
	size_t		n_weights;
	int			max_width;		/* over every size, the input included */
	int			activation;
} rs_dense;

/* Buffers for forwarding and back-propagating up to `rows` rows. */
typedef struct rs_dense_workspace
{
	int			rows;
	float	   *act[RS_DENSE_MAX_SIZES];	/* act[0] the input, act[l] layer l's output */
	float	   *delta;			/* rows x max_width: the caller puts dloss/dz here */
	float	   *delta_below;
	float	   *labels;			/* rows */
	float	   *block;			/* the one allocation all of the above live in */
} rs_dense_workspace;

void		rs_dense_init(rs_dense *net, int layers, const int32_t *sizes, int activation);
bool		rs_dense_workspace_init(rs_dense_workspace *w, const rs_dense *net, int rows,
									const rs_allocator *a);

/* Glorot-uniform weights (Glorot and Bengio 2010), zero biases. */
void		rs_dense_glorot(const rs_dense *net, float *weights, rs_random *rng);

/* x = f(x) elementwise, f the activation. */
void		rs_dense_activate(float *x, size_t count, int activation);

/* Forwards w->act[0] (rows x sizes[0]); the output is in w->act[layers]. */
void		rs_dense_forward(const rs_dense *net, const float *weights, rs_dense_workspace *w,
							 int rows);

/* The same from layer `first` on, with its input already in w->act[first]. */
void		rs_dense_forward_from(const rs_dense *net, int first, const float *weights,
								  rs_dense_workspace *w, int rows);

/*
 * Forwards one row by sgemv: returns the output (inside scratch), which has
 * 2 x the widest of sizes[1..layers] floats.
 */
const float *rs_dense_forward_one(const rs_dense *net, const float *weights,
								  const float *input, float *scratch);

/*
 * Back-propagates the last forward: with w->delta holding dloss/dz of the
 * output (rows x sizes[layers]), adds the gradient of the weights to
 * gradient.  If input_delta is not NULL, *input_delta is set to dloss/dA_0
 * (rows x sizes[0], inside the workspace, valid until its next use).
 */
void		rs_dense_backward(const rs_dense *net, const float *weights, rs_dense_workspace *w,
							  int rows, float *gradient, const float **input_delta);

/* gradient += l2 W for every layer's W (not b); returns (l2 / 2) |W|^2. */
double		rs_dense_penalty(const rs_dense *net, const float *weights, float l2,
							 float *gradient);

/* Stable logistic function. */
static inline double
rs_sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	else
	{
		double		e = exp(z);

		return e / (1.0 + e);
	}
}

/* Binary cross-entropy of logit z for label y, stable for any z; *dz = s(z) - y. */
static inline double
rs_logistic_loss(double z, double y, double *dz)
{
	*dz = rs_sigmoid(z) - y;
	return (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
}

/*
 * Adam (Kingma and Ba 2015, with bias correction), SGD with momentum
 * (v = mu v - rate g, w += v) or plain gradient descent.  Every step starts
 * with rs_optimizer_begin_step; rs_optimizer_update then applies it to any
 * number of parameter ranges, each with its own moments (m: Adam's first
 * moment or SGD's velocity, v: Adam's second), so a range left out of a step
 * is simply not updated (lazy Adam, for embedding rows).
 */
typedef struct rs_optimizer
{
	int			kind;
	float		rate;
	float		momentum;
	long		steps;
	float		step_size;		/* Adam: rate / (1 - beta1^t) */
	float		root_correction;	/* Adam: sqrt(1 - beta2^t) */
} rs_optimizer;

void		rs_optimizer_begin_step(rs_optimizer *o);
void		rs_optimizer_update(const rs_optimizer *o, float *weights, float *m, float *v,
								const float *g, size_t count);

#endif
