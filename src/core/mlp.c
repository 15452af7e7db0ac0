/*
 * mlp.c - a multi-layer perceptron on dense feature vectors.
 *
 * Layer l maps a batch A_{l-1} (rows x in) to A_l = f(A_{l-1} W_l' + b_l),
 * with f the hidden activation, and the last layer's single output z either
 * through a sigmoid with binary cross-entropy or as is with squared error:
 *
 *   cross_entropy:  loss = max(z, 0) - z y + log1p(exp(-|z|)),  dloss/dz = s(z) - y
 *   mse:            loss = (z - y)^2,                          dloss/dz = 2 (z - y)
 *
 * The objective of one step is the mean loss over its rows plus
 * (l2 / 2) |W|^2 over the weights (not the biases), so the penalty adds
 * l2 W to the gradient.  The layers, back-propagation through them and the
 * optimisers are neural_layers.c's.
 *
 * Weights start Glorot-uniform, biases at 0.  Features are standardised
 * with the training rows' mean and standard deviation, which the model
 * keeps.
 *
 * Training runs on the calling thread: a mini-batch of 32 rows is too small
 * to split between threads, so rt->threads is not used.
 */
#include "mlp.h"

#include "neural_layers.h"
#include "fp_mode.h"
#include "kind.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const activation_choices[] = {"relu", "tanh", "sigmoid", NULL};
static const char *const loss_choices[] = {"cross_entropy", "mse", NULL};
static const char *const optimizer_choices[] = {"adam", "sgd", "gd", NULL};

const rs_option_spec rs_mlp_option_specs[RS_MLP_OPTION_COUNT] = {
	[RS_MLP_ACTIVATION] = {"activation", RS_OPT_CHOICE, RS_ACTIVATION_RELU, 0, 0, false, activation_choices},
	[RS_MLP_LOSS] = {"loss", RS_OPT_CHOICE, RS_LOSS_CROSS_ENTROPY, 0, 0, false, loss_choices},
	[RS_MLP_OPTIMIZER] = {"optimizer", RS_OPT_CHOICE, RS_OPTIMIZER_ADAM, 0, 0, false, optimizer_choices},
	[RS_MLP_LEARNING_RATE] = {"learning_rate", RS_OPT_REAL, 0.001, 0, 1e6, true, NULL},
	[RS_MLP_MOMENTUM] = {"momentum", RS_OPT_REAL, 0.9, 0, 1, false, NULL},
	[RS_MLP_EPOCHS] = {"epochs", RS_OPT_INT, 10, 1, 10000, false, NULL},
	[RS_MLP_BATCH_SIZE] = {"batch_size", RS_OPT_INT, 32, 1, 1e6, false, NULL},
	[RS_MLP_L2] = {"l2", RS_OPT_REAL, 0, 0, 1e6, false, NULL},
	[RS_MLP_STANDARDIZE] = {"standardize", RS_OPT_BOOL, 1, 0, 1, false, NULL},
	[RS_MLP_VALIDATION_FRACTION] = {"validation_fraction", RS_OPT_REAL, 0, 0, 0.9, false, NULL},
	[RS_MLP_PATIENCE] = {"patience", RS_OPT_INT, 3, 1, 1000, false, NULL},
	[RS_MLP_SEED] = {"seed", RS_OPT_INT, 42, 0, 2147483647, false, NULL},
	[RS_MLP_VERBOSE] = {"verbose", RS_OPT_BOOL, 0, 0, 1, false, NULL},
};

#define CHUNK_ROWS 256			/* rows forwarded at a time; a step may span chunks */

/* The loss of one output z for label y, and dloss/dz. */
static inline double
row_loss(int loss, double z, double y, double *dz)
{
	if (loss == RS_LOSS_CROSS_ENTROPY)
		return rs_logistic_loss(z, y, dz);
	*dz = 2.0 * (z - y);
	return (z - y) * (z - y);
}

/*
 * Forwards and back-propagates the rows in w (inputs in act[0], labels in
 * labels), adding scale times the gradient of their summed loss to
 * gradient.  Returns the summed loss.
 */
static double
forward_backward(const rs_dense *net, int loss, const float *weights, rs_dense_workspace *w,
				 int rows, float scale, float *gradient)
{
	double		sum = 0.0;

	rs_dense_forward(net, weights, w, rows);
	for (int r = 0; r < rows; r++)
	{
		double		dz;

		sum += row_loss(loss, w->act[net->layers][r], w->labels[r], &dz);
		w->delta[r] = (float) (dz * scale);
	}
	rs_dense_backward(net, weights, w, rows, gradient, NULL);
	return sum;
}

/* Copies rows index[0..count) of x and y into the workspace. */
static void
gather(const float *x, const float *y, int d, const size_t *index, int count,
	   rs_dense_workspace *w)
{
	for (int r = 0; r < count; r++)
	{
		memcpy(w->act[0] + (size_t) r * d, x + index[r] * d, sizeof(float) * d);
		w->labels[r] = y[index[r]];
	}
}

rs_status
rs_mlp_loss_and_gradient(int layers, const int32_t *sizes, const float *weights,
						 int activation, int loss, double l2, const float *x,
						 const float *y, int rows, const rs_allocator *a,
						 double *objective, float *gradient)
{
	rs_dense	net;
	rs_dense_workspace w;
	double		sum;

	rs_dense_init(&net, layers, sizes, activation);
	if (!rs_dense_workspace_init(&w, &net, rows, a))
		return RS_NO_MEMORY;
	memcpy(w.act[0], x, sizeof(float) * (size_t) rows * sizes[0]);
	memcpy(w.labels, y, sizeof(float) * (size_t) rows);
	memset(gradient, 0, sizeof(float) * net.n_weights);
	sum = forward_backward(&net, loss, weights, &w, rows, 1.0f / (float) rows, gradient);
	*objective = sum / rows + rs_dense_penalty(&net, weights, (float) l2, gradient);
	rs_free(a, w.block);
	return RS_OK;
}

/* Mean loss over the rows index[0..count), by forwarding only. */
static double
mean_loss(const rs_dense *net, int loss, const float *weights, const float *x,
		  const float *y, const size_t *index, size_t count, rs_dense_workspace *w)
{
	double		sum = 0.0;

	for (size_t at = 0; at < count; at += (size_t) w->rows)
	{
		int			rows = count - at < (size_t) w->rows ? (int) (count - at) : w->rows;
		double		dz;

		gather(x, y, net->sizes[0], index + at, rows, w);
		rs_dense_forward(net, weights, w, rows);
		for (int r = 0; r < rows; r++)
			sum += row_loss(loss, w->act[net->layers][r], w->labels[r], &dz);
	}
	return count ? sum / (double) count : 0.0;
}

static void
shuffle(size_t *index, size_t count, rs_random *rng)
{
	for (size_t k = count; k > 1; k--)
	{
		size_t		j = (size_t) (rs_random_uniform(rng) * (double) k);
		size_t		t = index[k - 1];

		index[k - 1] = index[j];
		index[j] = t;
	}
}

/* Mean and standard deviation of each feature over the training rows. */
static void
standardize(const float *features, const size_t *train, size_t n_train, int d,
			bool wanted, float *mean, float *scale)
{
	for (int j = 0; j < d; j++)
	{
		double		sum = 0.0,
					squares = 0.0,
					mu,
					sd;

		mean[j] = 0.0f;
		scale[j] = 1.0f;
		if (!wanted || n_train == 0)
			continue;
		for (size_t r = 0; r < n_train; r++)
			sum += features[train[r] * d + j];
		mu = sum / (double) n_train;
		for (size_t r = 0; r < n_train; r++)
		{
			double		dev = features[train[r] * d + j] - mu;

			squares += dev * dev;
		}
		sd = sqrt(squares / (double) n_train);
		mean[j] = (float) mu;
		/* a constant feature is left unscaled */
		if (isfinite(sd) && (float) sd > 0.0f)
			scale[j] = (float) sd;
	}
}

void
rs_mlp_result_free(rs_mlp_result *r, const rs_allocator *a)
{
	rs_free(a, r->sizes);
	rs_free(a, r->weights);
	rs_free(a, r->feature_mean);
	rs_free(a, r->feature_scale);
	rs_free(a, r->train_loss);
	rs_free(a, r->validation_loss);
	memset(r, 0, sizeof(*r));
}

static bool
shape_supported(int d, const int *hidden, int n_hidden)
{
	if (d < 1 || d > RS_MLP_MAX_FEATURES || n_hidden < 0 || n_hidden > RS_MLP_MAX_HIDDEN)
		return false;
	for (int l = 0; l < n_hidden; l++)
		if (hidden[l] < 1 || hidden[l] > RS_MLP_MAX_WIDTH)
			return false;
	return true;
}

static rs_status
mlp_fit(const float *features, const float *labels, size_t n, int d,
		const int *hidden, int n_hidden, const double *opt,
		const rs_runtime *rt, rs_mlp_result *r)
{
	const rs_allocator *a = &rt->alloc;
	int			epochs = (int) opt[RS_MLP_EPOCHS];
	int			patience = (int) opt[RS_MLP_PATIENCE];
	float		l2 = (float) opt[RS_MLP_L2];
	rs_random	rng = {(uint64_t) opt[RS_MLP_SEED]};
	size_t		n_valid = (size_t) (opt[RS_MLP_VALIDATION_FRACTION] * (double) n);
	size_t		n_train = n - n_valid;
	size_t		batch;
	rs_dense	net;
	rs_dense_workspace w = {0};
	rs_optimizer o = {0};
	float	   *moment1 = NULL,
			   *moment2 = NULL;
	size_t	   *index = NULL;
	float	   *x = NULL,
			   *gradient = NULL,
			   *best = NULL;
	double		best_loss = INFINITY;
	int			since_best = 0;
	rs_status	status = RS_OK;

	memset(r, 0, sizeof(*r));
	if (!shape_supported(d, hidden, n_hidden))
		return RS_TOO_LARGE;
	if (n_valid > 0 && n_train == 0)
		n_valid = 0, n_train = n;
	o.kind = (int) opt[RS_MLP_OPTIMIZER];
	o.rate = (float) opt[RS_MLP_LEARNING_RATE];
	o.momentum = (float) opt[RS_MLP_MOMENTUM];
	batch = o.kind == RS_OPTIMIZER_GD ? n_train : (size_t) opt[RS_MLP_BATCH_SIZE];
	if (batch < 1)
		batch = 1;

	r->n_layers = n_hidden + 1;
	r->activation = (int) opt[RS_MLP_ACTIVATION];
	r->loss = (int) opt[RS_MLP_LOSS];
	r->sizes = rs_alloc(a, sizeof(int32_t) * (size_t) (n_hidden + 2));
	if (!r->sizes)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	r->sizes[0] = d;
	for (int l = 0; l < n_hidden; l++)
		r->sizes[l + 1] = hidden[l];
	r->sizes[n_hidden + 1] = 1;
	rs_dense_init(&net, r->n_layers, r->sizes, r->activation);

	r->weights = rs_alloc(a, sizeof(float) * net.n_weights);
	r->feature_mean = rs_alloc(a, sizeof(float) * (size_t) d);
	r->feature_scale = rs_alloc(a, sizeof(float) * (size_t) d);
	r->train_loss = rs_alloc(a, sizeof(double) * (size_t) epochs);
	if (n_valid > 0)
		r->validation_loss = rs_alloc(a, sizeof(double) * (size_t) epochs);
	index = rs_alloc(a, sizeof(size_t) * n);
	x = rs_alloc(a, sizeof(float) * n * (size_t) d);
	gradient = rs_alloc(a, sizeof(float) * net.n_weights);
	moment1 = o.kind != RS_OPTIMIZER_GD ? rs_alloc(a, sizeof(float) * net.n_weights) : NULL;
	moment2 = o.kind == RS_OPTIMIZER_ADAM ? rs_alloc(a, sizeof(float) * net.n_weights) : NULL;
	best = n_valid > 0 ? rs_alloc(a, sizeof(float) * net.n_weights) : NULL;
	if (!r->weights || !r->feature_mean || !r->feature_scale || !r->train_loss ||
		(n_valid > 0 && (!r->validation_loss || !best)) || !index || !x || !gradient ||
		(o.kind != RS_OPTIMIZER_GD && !moment1) || (o.kind == RS_OPTIMIZER_ADAM && !moment2) ||
		!rs_dense_workspace_init(&w, &net, batch < CHUNK_ROWS ? (int) batch : CHUNK_ROWS, a))
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	if (moment1)
		memset(moment1, 0, sizeof(float) * net.n_weights);
	if (moment2)
		memset(moment2, 0, sizeof(float) * net.n_weights);

	/* the last n_valid rows of a shuffle are held out */
	for (size_t k = 0; k < n; k++)
		index[k] = k;
	shuffle(index, n, &rng);
	standardize(features, index, n_train, d, opt[RS_MLP_STANDARDIZE] != 0,
				r->feature_mean, r->feature_scale);
	for (size_t k = 0; k < n; k++)
		for (int j = 0; j < d; j++)
			x[k * d + j] = (features[k * d + j] - r->feature_mean[j]) / r->feature_scale[j];

	rs_dense_glorot(&net, r->weights, &rng);

	for (int e = 0; e < epochs; e++)
	{
		double		started = rs_now(),
					sum = 0.0;

		shuffle(index, n_train, &rng);
		for (size_t begin = 0; begin < n_train; begin += batch)
		{
			size_t		end = n_train - begin < batch ? n_train : begin + batch;
			float		scale = 1.0f / (float) (end - begin);

			memset(gradient, 0, sizeof(float) * net.n_weights);
			for (size_t at = begin; at < end; at += (size_t) w.rows)
			{
				int			rows = end - at < (size_t) w.rows ? (int) (end - at) : w.rows;

				if (rt->should_stop && rt->should_stop(rt->arg))
				{
					status = RS_CANCELLED;
					goto done;
				}
				gather(x, labels, d, index + at, rows, &w);
				sum += forward_backward(&net, r->loss, r->weights, &w, rows, scale, gradient);
			}
			rs_dense_penalty(&net, r->weights, l2, gradient);
			rs_optimizer_begin_step(&o);
			rs_optimizer_update(&o, r->weights, moment1, moment2, gradient, net.n_weights);
		}
		r->train_loss[e] = n_train ? sum / (double) n_train : 0.0;
		r->epochs = e + 1;
		/* a learning rate too large for the data sends the weights to infinity */
		if (!isfinite(r->train_loss[e]))
		{
			status = RS_NUMERICAL_FAILURE;
			goto done;
		}
		if (rt->progress)
			rt->progress(rt->arg, e + 1, r->train_loss[e], rs_now() - started);
		if (n_valid > 0)
		{
			double		v = mean_loss(&net, r->loss, r->weights, x, labels, index + n_train,
									  n_valid, &w);

			r->validation_loss[e] = v;
			if (v < best_loss)
			{
				best_loss = v;
				since_best = 0;
				memcpy(best, r->weights, sizeof(float) * net.n_weights);
			}
			else if (++since_best >= patience)
				break;
		}
	}
	/* early stopping keeps the weights of the best validation loss */
	if (n_valid > 0 && isfinite(best_loss))
		memcpy(r->weights, best, sizeof(float) * net.n_weights);

done:
	rs_free(a, w.block);
	rs_free(a, index);
	rs_free(a, x);
	rs_free(a, gradient);
	rs_free(a, moment1);
	rs_free(a, moment2);
	rs_free(a, best);
	if (status != RS_OK)
		rs_mlp_result_free(r, a);
	return status;
}

/* The fit with subnormals flushed (fp_mode.h). */
rs_status
rs_mlp_fit(const float *features, const float *labels, size_t n, int d,
		   const int *hidden, int n_hidden, const double *opt,
		   const rs_runtime *rt, rs_mlp_result *r)
{
	rs_fp_scope scope;
	rs_status	status = mlp_fit(features, labels, n, d, hidden, n_hidden, opt,
							 rs_fp_scope_begin(&scope, rt), r);

	rs_fp_scope_end(&scope);
	return status;
}

void
rs_mlp_model(const rs_mlp_result *r, rs_model *m)
{
	memset(m, 0, sizeof(*m));
	m->algorithm = RS_ALGO_MLP;
	m->mlp_layers = r->n_layers;
	m->mlp_sizes = r->sizes;
	m->mlp_weights = r->weights;
	m->feature_mean = r->feature_mean;
	m->feature_scale = r->feature_scale;
	m->activation = r->activation;
	m->loss = r->loss;
	m->params.activation = (uint16_t) r->activation;
	m->params.loss = (uint16_t) r->loss;
}

static double
mlp_predict(const rs_model *m, const float *features, float *scratch)
{
	rs_dense	net;
	int			d = m->mlp_sizes[0];
	const float *out;

	rs_dense_init(&net, m->mlp_layers, m->mlp_sizes, m->activation);
	for (int j = 0; j < d; j++)
		scratch[j] = (features[j] - m->feature_mean[j]) / m->feature_scale[j];
	out = rs_dense_forward_one(&net, m->mlp_weights, scratch, scratch + d);
	return m->loss == RS_LOSS_CROSS_ENTROPY ? rs_sigmoid(out[0]) : (double) out[0];
}

/* The prediction with subnormals flushed (fp_mode.h). */
double
rs_mlp_predict(const rs_model *m, const float *features, float *scratch)
{
	rs_fp_mode	host = rs_fp_flush_subnormals();
	double		score = mlp_predict(m, features, scratch);

	rs_fp_restore(host);
	return score;
}

uint64_t
rs_mlp_weight_count(int32_t layers, const int32_t *sizes)
{
	uint64_t	count = 0;

	for (int32_t l = 0; l < layers; l++)
		count += (uint64_t) sizes[l + 1] * ((uint64_t) sizes[l] + 1);
	return count;
}

static uint64_t
network_floats(const rs_model *m)
{
	return rs_mlp_weight_count(m->mlp_layers, m->mlp_sizes);
}

/* The network's shape, against the section sizes; then its scales. */
static const char *
check_sections(const rs_model_header *h, const unsigned char *bytes, rs_model *m)
{
	uint64_t	sizes_bytes = h->sections[RS_SEC_MLP_SIZES].size;
	int32_t		n_sizes;
	const int32_t *sizes;
	const float *scale;

	if (h->params.activation > RS_ACTIVATION_SIGMOID || h->params.loss > RS_LOSS_MSE)
		return "its dimensions are out of range";
	if (sizes_bytes % 4 != 0 || sizes_bytes / 4 < 2 || sizes_bytes / 4 > RS_MLP_MAX_HIDDEN + 2)
		return "its network has an unsupported number of layers";
	n_sizes = (int32_t) (sizes_bytes / 4);
	sizes = (const int32_t *) (bytes + h->sections[RS_SEC_MLP_SIZES].offset);
	if (sizes[0] < 1 || sizes[0] > RS_MLP_MAX_FEATURES || sizes[n_sizes - 1] != 1)
		return "its network's layer sizes are out of range";
	for (int32_t l = 1; l < n_sizes; l++)
		if (sizes[l] < 1 || sizes[l] > RS_MLP_MAX_WIDTH)
			return "its network's layer sizes are out of range";
	if (h->sections[RS_SEC_MLP_WEIGHTS].size != rs_mlp_weight_count(n_sizes - 1, sizes) * 4 ||
		h->sections[RS_SEC_FEATURE_MEAN].size != (uint64_t) sizes[0] * 4 ||
		h->sections[RS_SEC_FEATURE_SCALE].size != (uint64_t) sizes[0] * 4)
		return "a section's size does not match the model's dimensions";
	scale = (const float *) (bytes + h->sections[RS_SEC_FEATURE_SCALE].offset);
	for (int32_t k = 0; k < sizes[0]; k++)
		if (!isfinite(scale[k]) || !(scale[k] > 0.0f))
			return "its feature scales are not positive";

	m->mlp_layers = n_sizes - 1;
	m->mlp_sizes = sizes;
	m->mlp_weights = (const float *) (bytes + h->sections[RS_SEC_MLP_WEIGHTS].offset);
	m->feature_mean = (const float *) (bytes + h->sections[RS_SEC_FEATURE_MEAN].offset);
	m->feature_scale = scale;
	m->activation = h->params.activation;
	m->loss = h->params.loss;
	return NULL;
}

/* Cross-entropy learns probabilities: its labels are 0 or 1. */
static bool
check_rows(const rs_training_rows *rows, const double *options, rs_report *why)
{
	if (options[RS_MLP_LOSS] != RS_LOSS_CROSS_ENTROPY)
		return true;
	for (size_t r = 0; r < rows->count; r++)
		if (rows->labels[r] != 0 && rows->labels[r] != 1)
		{
			snprintf(why->message, sizeof(why->message),
					 "labels must be 0 or 1 for cross-entropy loss");
			snprintf(why->detail, sizeof(why->detail), "Row %zu has label %g.", r + 1,
					 rows->labels[r]);
			snprintf(why->hint, sizeof(why->hint), "Use \"loss\": \"mse\" to fit other values.");
			return false;
		}
	return true;
}

/* The fit, with the layer sizes and any validation loss for the description. */
static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	rs_mlp_result r;
	double	   *sizes;
	rs_status	status = rs_mlp_fit(in->features, in->labels, in->rows, in->dims, in->widths,
									in->n_widths, in->options, rt, &r);

	if (status != RS_OK)
		return status;
	sizes = rs_alloc(&rt->alloc, sizeof(double) * (size_t) (r.n_layers + 1));
	if (!sizes)
	{
		rs_mlp_result_free(&r, &rt->alloc);
		return RS_NO_MEMORY;
	}
	for (int k = 0; k <= r.n_layers; k++)
		sizes[k] = r.sizes[k];
	rs_mlp_model(&r, &out->model);
	out->loss = r.train_loss;
	out->iterations = r.epochs;
	out->series[0] = (rs_fit_series) {"layers", sizes, r.n_layers + 1};
	out->validation_loss = NAN;
	if (r.validation_loss)
	{
		out->series[1] = (rs_fit_series) {"validation_loss", r.validation_loss, r.epochs};
		for (int e = 0; e < r.epochs; e++)
			if (isfinite(r.validation_loss[e]) && !(r.validation_loss[e] >= out->validation_loss))
			{
				out->validation_loss = r.validation_loss[e];
				out->validation_iteration = e + 1;
			}
	}
	return RS_OK;
}

static const rs_widths_spec hidden_widths = {
	.name = "hidden",
	.min_count = 0,
	.max_count = RS_MLP_MAX_HIDDEN,
	.max_width = RS_MLP_MAX_WIDTH,
	.defaults = {128},
	.n_defaults = 1,
	.hint = "For example [128], or [64, 32] for two hidden layers.",
};

#define BIT RS_SECTION_BIT

const rs_kind rs_mlp_kind = {
	.algorithm = RS_ALGO_MLP,
	.name = "mlp",
	.trainer = "train_mlp",
	.training = "MLP training",
	.input = RS_INPUT_FEATURES,
	.options = rs_mlp_option_specs,
	.n_options = RS_MLP_OPTION_COUNT,
	.threads_option = -1,
	.factors_option = -1,
	.users_option = -1,
	.verbose_option = RS_MLP_VERBOSE,
	.iterations_option = RS_MLP_EPOCHS,
	.widths = &hidden_widths,
	.chosen_by = {-1, 0},
	.validation_option = RS_MLP_VALIDATION_FRACTION,
	.search = {{RS_MLP_LEARNING_RATE, 0.0001, 0.01}, {RS_MLP_L2, 1e-6, 0.01}},
	.n_search = 2,
	.required_sections = BIT(RS_SEC_MLP_SIZES) | BIT(RS_SEC_MLP_WEIGHTS) |
	BIT(RS_SEC_FEATURE_MEAN) | BIT(RS_SEC_FEATURE_SCALE) | BIT(RS_SEC_INFO),
	.check_rows = check_rows,
	.fit = fit,
	.check_sections = check_sections,
	.network_floats = network_floats,
	.predict_features = rs_mlp_predict,
};
