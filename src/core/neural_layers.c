/*
 * neural_layers.c - a neural network's fully connected (dense) layers on
 * mini-batches, and their optimisers.
 *
 * Every product is one sgemm on the batch.  Back-propagation carries the
 * error of a layer's output, delta_l, down: grad W_l = delta_l' A_{l-1},
 * grad b_l = column sums of delta_l, and delta_{l-1} = (delta_l W_l) *
 * f'(A_{l-1}).  f' is written in terms of the activation's output
 * (relu: a > 0, tanh: 1 - a^2, sigmoid: a (1 - a)).
 */
#include "neural_layers.h"

#include <cblas.h>
#include <string.h>

#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPSILON 1e-7

void
rs_dense_init(rs_dense *net, int layers, const int32_t *sizes, int activation)
{
	size_t		at = 0;

	net->layers = layers;
	net->sizes = sizes;
	net->max_width = sizes[0];
	for (int l = 0; l < layers; l++)
	{
		net->offset[l] = at;
		at += (size_t) sizes[l + 1] * ((size_t) sizes[l] + 1);
		if (sizes[l + 1] > net->max_width)
			net->max_width = sizes[l + 1];
	}
	net->n_weights = at;
	net->activation = activation;
}

bool
rs_dense_workspace_init(rs_dense_workspace *w, const rs_dense *net, int rows,
						const rs_allocator *a)
{
	size_t		total = 2 * (size_t) rows * net->max_width + (size_t) rows;
	float	   *p;

	for (int l = 0; l <= net->layers; l++)
		total += (size_t) rows * net->sizes[l];
	memset(w, 0, sizeof(*w));
	w->block = rs_alloc(a, sizeof(float) * total);
	if (!w->block)
		return false;
	w->rows = rows;
	p = w->block;
	for (int l = 0; l <= net->layers; l++)
	{
		w->act[l] = p;
		p += (size_t) rows * net->sizes[l];
	}
	w->delta = p;
	p += (size_t) rows * net->max_width;
	w->delta_below = p;
	p += (size_t) rows * net->max_width;
	w->labels = p;
	return true;
}

void
rs_dense_glorot(const rs_dense *net, float *weights, rs_random *rng)
{
	for (int l = 0; l < net->layers; l++)
	{
		int			in = net->sizes[l],
					out = net->sizes[l + 1];
		double		limit = sqrt(6.0 / (double) (in + out));
		float	   *W = weights + net->offset[l];

		for (size_t k = 0; k < (size_t) out * in; k++)
			W[k] = (float) (limit * (2.0 * rs_random_uniform(rng) - 1.0));
		memset(W + (size_t) out * in, 0, sizeof(float) * out);
	}
}

void
rs_dense_activate(float *x, size_t count, int activation)
{
	/* plain loops over a contiguous block: the compiler vectorises relu */
	switch (activation)
	{
		case RS_ACTIVATION_RELU:
			for (size_t k = 0; k < count; k++)
				x[k] = x[k] > 0.0f ? x[k] : 0.0f;
			break;
		case RS_ACTIVATION_TANH:
			for (size_t k = 0; k < count; k++)
				x[k] = tanhf(x[k]);
			break;
		default:
			for (size_t k = 0; k < count; k++)
				x[k] = (float) rs_sigmoid(x[k]);
			break;
	}
}

/* delta *= f'(a), with a the activation's output. */
static void
times_derivative(float *delta, const float *a, size_t count, int activation)
{
	switch (activation)
	{
		case RS_ACTIVATION_RELU:
			for (size_t k = 0; k < count; k++)
				delta[k] = a[k] > 0.0f ? delta[k] : 0.0f;
			break;
		case RS_ACTIVATION_TANH:
			for (size_t k = 0; k < count; k++)
				delta[k] *= 1.0f - a[k] * a[k];
			break;
		default:
			for (size_t k = 0; k < count; k++)
				delta[k] *= a[k] * (1.0f - a[k]);
			break;
	}
}

void
rs_dense_forward(const rs_dense *net, const float *weights, rs_dense_workspace *w, int rows)
{
	rs_dense_forward_from(net, 0, weights, w, rows);
}

void
rs_dense_forward_from(const rs_dense *net, int first, const float *weights,
					  rs_dense_workspace *w, int rows)
{
	for (int l = first; l < net->layers; l++)
	{
		int			in = net->sizes[l],
					out = net->sizes[l + 1];
		const float *W = weights + net->offset[l];
		const float *b = W + (size_t) out * in;
		float	   *z = w->act[l + 1];

		/* Z = A W' + b: the bias is broadcast first, then sgemm adds to it */
		for (int r = 0; r < rows; r++)
			memcpy(z + (size_t) r * out, b, sizeof(float) * out);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in,
					1.0f, w->act[l], in, W, in, 1.0f, z, out);
		if (l + 1 < net->layers)
			rs_dense_activate(z, (size_t) rows * out, net->activation);
	}
}

const float *
rs_dense_forward_one(const rs_dense *net, const float *weights, const float *input,
					 float *scratch)
{
	int			widest = 0;
	const float *in = input;
	float	   *out = scratch;

	for (int l = 1; l <= net->layers; l++)
		if (net->sizes[l] > widest)
			widest = net->sizes[l];
	for (int l = 0; l < net->layers; l++)
	{
		int			cols = net->sizes[l],
					rows = net->sizes[l + 1];
		const float *W = weights + net->offset[l];

		memcpy(out, W + (size_t) rows * cols, sizeof(float) * rows);
		cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, W, cols, in, 1,
					1.0f, out, 1);
		if (l + 1 < net->layers)
			rs_dense_activate(out, (size_t) rows, net->activation);
		/* ping-pong between the two halves of scratch */
		in = out;
		out = (out == scratch) ? scratch + widest : scratch;
	}
	return in;
}

void
rs_dense_backward(const rs_dense *net, const float *weights, rs_dense_workspace *w,
				  int rows, float *gradient, const float **input_delta)
{
	float	   *delta = w->delta,
			   *below = w->delta_below;

	for (int l = net->layers - 1; l >= 0; l--)
	{
		int			in = net->sizes[l],
					out = net->sizes[l + 1];
		const float *W = weights + net->offset[l];
		float	   *gW = gradient + net->offset[l];
		float	   *gb = gW + (size_t) out * in;
		float	   *swap;

		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows,
					1.0f, delta, out, w->act[l], in, 1.0f, gW, in);
		for (int r = 0; r < rows; r++)
			for (int j = 0; j < out; j++)
				gb[j] += delta[(size_t) r * out + j];
		if (l == 0 && !input_delta)
			break;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out,
					1.0f, delta, out, W, in, 0.0f, below, in);
		if (l == 0)
		{
			/* the input has no activation */
			*input_delta = below;
			break;
		}
		times_derivative(below, w->act[l], (size_t) rows * in, net->activation);
		swap = delta;
		delta = below;
		below = swap;
	}
}

double
rs_dense_penalty(const rs_dense *net, const float *weights, float l2, float *gradient)
{
	double		sum = 0.0;

	if (l2 == 0.0f)
		return 0.0;
	for (int l = 0; l < net->layers; l++)
	{
		size_t		count = (size_t) net->sizes[l + 1] * net->sizes[l];
		const float *W = weights + net->offset[l];
		float	   *gW = gradient + net->offset[l];

		for (size_t k = 0; k < count; k++)
		{
			sum += (double) W[k] * W[k];
			gW[k] += l2 * W[k];
		}
	}
	return 0.5 * l2 * sum;
}

void
rs_optimizer_begin_step(rs_optimizer *o)
{
	o->steps++;
	if (o->kind == RS_OPTIMIZER_ADAM)
	{
		o->step_size = (float) (o->rate / (1.0 - pow(ADAM_BETA1, (double) o->steps)));
		o->root_correction = (float) sqrt(1.0 - pow(ADAM_BETA2, (double) o->steps));
	}
}

void
rs_optimizer_update(const rs_optimizer *o, float *weights, float *m, float *v,
					const float *g, size_t count)
{
	if (o->kind == RS_OPTIMIZER_ADAM)
	{
		float		step = o->step_size,
					root_c2 = o->root_correction;

		/* w -= rate m_hat / (sqrt(v_hat) + eps), with m_hat = m / c1, v_hat = v / c2 */
		for (size_t k = 0; k < count; k++)
		{
			m[k] = (float) ADAM_BETA1 * m[k] + (float) (1.0 - ADAM_BETA1) * g[k];
			v[k] = (float) ADAM_BETA2 * v[k] + (float) (1.0 - ADAM_BETA2) * g[k] * g[k];
			weights[k] -= step * m[k] / (sqrtf(v[k]) / root_c2 + (float) ADAM_EPSILON);
		}
	}
	else if (o->kind == RS_OPTIMIZER_SGD)
	{
		for (size_t k = 0; k < count; k++)
		{
			m[k] = o->momentum * m[k] - o->rate * g[k];
			weights[k] += m[k];
		}
	}
	else
	{
		for (size_t k = 0; k < count; k++)
			weights[k] -= o->rate * g[k];
	}
}
