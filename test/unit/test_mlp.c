/*
 * test_mlp.c - the dense network: back-propagation against finite
 * differences, a non-linear classification problem logistic regression
 * cannot solve, regression, every optimiser, early stopping, the model
 * format, cancellation and running out of memory without leaks, and
 * determinism.
 */
#include "core/mlp.h"
#include "core/scoring.h"
#include "core/random.h"

#include "unit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_MLP_OPTION_COUNT; k++)
		opt[k] = rs_mlp_option_specs[k].default_value;
}

static rs_status
fit(const float *x, const float *y, size_t n, int d, const int *hidden, int n_hidden,
	const double *opt, host *h, counter *c, rs_mlp_result *r)
{
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, 1);

	return rs_mlp_fit(x, y, n, d, hidden, n_hidden, opt, &rt, r);
}

/* A data set: n rows of d features uniform in [-1, 1] and a label. */
typedef struct data
{
	size_t		n;
	int			d;
	float	   *x;
	float	   *y;
} data;

typedef double (*target_fn) (const float *x, rs_random *rng);

static data
make_data(size_t n, int d, target_fn target, uint64_t seed)
{
	rs_random	rng = {seed};
	data		s = {n, d, malloc(sizeof(float) * n * d), malloc(sizeof(float) * n)};

	for (size_t r = 0; r < n; r++)
	{
		for (int j = 0; j < d; j++)
			s.x[r * d + j] = (float) (2.0 * rs_random_uniform(&rng) - 1.0);
		s.y[r] = (float) target(s.x + r * d, &rng);
	}
	return s;
}

static void
free_data(data *s)
{
	free(s->x);
	free(s->y);
}

static double
saddle(const float *x, rs_random *rng)
{
	(void) rng;
	return x[0] * x[1] + x[2] * x[2] - 1.0 / 3.0 > 0 ? 1.0 : 0.0;
}

static double
smooth(const float *x, rs_random *rng)
{
	(void) rng;
	return sin(2.0 * x[0]) + x[1] * x[1];
}

static double
separable(const float *x, rs_random *rng)
{
	(void) rng;
	return 2.0 * x[0] - x[1] + 0.5 * x[2] > 0.1 ? 1.0 : 0.0;
}

/* The sign of a linear function, flipped for 30% of rows. */
static double
noisy(const float *x, rs_random *rng)
{
	double		label = x[0] + x[1] > 0 ? 1.0 : 0.0;

	return rs_random_uniform(rng) < 0.3 ? 1.0 - label : label;
}

static rs_model
model_of(const rs_mlp_result *r)
{
	rs_model	m;

	rs_mlp_model(r, &m);
	return m;
}

static double
accuracy(const rs_model *m, const data *s)
{
	float	   *scratch = malloc(sizeof(float) * rs_feature_scratch_floats(m));
	size_t		right = 0;

	for (size_t r = 0; r < s->n; r++)
		right += (rs_mlp_predict(m, s->x + r * s->d, scratch) > 0.5) == (s->y[r] > 0.5f);
	free(scratch);
	return (double) right / (double) s->n;
}

static double
rmse(const rs_model *m, const data *s)
{
	float	   *scratch = malloc(sizeof(float) * rs_feature_scratch_floats(m));
	double		sum = 0.0;

	for (size_t r = 0; r < s->n; r++)
	{
		double		e = rs_mlp_predict(m, s->x + r * s->d, scratch) - s->y[r];

		sum += e * e;
	}
	free(scratch);
	return sqrt(sum / (double) s->n);
}

static double
label_std(const data *s)
{
	double		sum = 0.0,
				squares = 0.0;

	for (size_t r = 0; r < s->n; r++)
		sum += s->y[r];
	for (size_t r = 0; r < s->n; r++)
		squares += (s->y[r] - sum / s->n) * (s->y[r] - sum / s->n);
	return sqrt(squares / s->n);
}

/* (a) back-propagation against central differences, in double where it helps */
static void
test_gradient(void)
{
	static const char *const names[] = {"relu", "tanh", "sigmoid"};
	const int32_t sizes[] = {4, 5, 3, 1};
	enum
	{
		ROWS = 6, WEIGHTS = 5 * 4 + 5 + 3 * 5 + 3 + 1 * 3 + 1
	};
	rs_random	rng = {7};
	float		x[ROWS * 4],
				y[ROWS],
				w[WEIGHTS],
				g[WEIGHTS],
				scratch[WEIGHTS];

	for (int k = 0; k < ROWS * 4; k++)
		x[k] = (float) (0.5 * rs_random_normal(&rng));
	for (int activation = 0; activation < 3; activation++)
		for (int loss = 0; loss < 2; loss++)
		{
			double		objective,
						worst = 0.0;
			int			worst_at = -1;
			counter		c = new_counter();
			rs_allocator a = {counting_alloc, counting_free, &c, NULL};

			for (int k = 0; k < ROWS; k++)
				y[k] = loss == RS_LOSS_CROSS_ENTROPY ? (float) (k % 2) :
					(float) (0.5 * rs_random_normal(&rng));
			for (int k = 0; k < WEIGHTS; k++)
				w[k] = (float) (0.5 * rs_random_normal(&rng));
			if (!CHECK(rs_mlp_loss_and_gradient(3, sizes, w, activation, loss, 0.3, x, y,
												ROWS, &a, &objective, g) == RS_OK,
					   "gradient"))
				continue;
			for (int k = 0; k < WEIGHTS; k++)
			{
				const float h = 1e-3f;	/* small: a larger step crosses relu's kinks */
				float		saved = w[k];
				double		plus,
							minus,
							numeric,
							error;

				w[k] = saved + h;
				rs_mlp_loss_and_gradient(3, sizes, w, activation, loss, 0.3, x, y, ROWS,
										 &a, &plus, scratch);
				w[k] = saved - h;
				rs_mlp_loss_and_gradient(3, sizes, w, activation, loss, 0.3, x, y, ROWS,
										 &a, &minus, scratch);
				w[k] = saved;
				/* the step in float is not exactly h */
				numeric = (plus - minus) / ((double) (saved + h) - (double) (saved - h));
				error = fabs(numeric - g[k]) / fmax(fmax(fabs(numeric), fabs(g[k])), 1e-2);
				if (error > worst)
					worst = error, worst_at = k;
			}
			CHECK(worst < 1e-2, "%s, %s: gradient %d (%g) is off by %.3g relative",
				  names[activation], loss ? "mse" : "cross_entropy", worst_at, worst_at >= 0 ? g[worst_at] : 0.0, worst);
			CHECK(c.outstanding == 0, "gradient leaks");
		}
}

/* (b) the reference network on x1 x2 + x3^2 - 1/3 > 0; logistic regression cannot */
static void
test_reference(void)
{
	data		train = make_data(4000, 3, saddle, 11),
				test = make_data(2000, 3, saddle, 12);
	double		opt[RS_MLP_OPTION_COUNT];
	int			hidden[] = {128};
	rs_mlp_result r,
				logistic;
	counter		c = new_counter();
	host		h = new_host(0);

	default_options(opt);
	if (CHECK(fit(train.x, train.y, train.n, 3, hidden, 1, opt, &h, &c, &r) == RS_OK,
			  "reference fit"))
	{
		rs_model	m = model_of(&r);
		double		acc = accuracy(&m, &test);

		CHECK(acc >= 0.9, "reference network: held-out accuracy %.3f", acc);
		CHECK(r.epochs == 10 && h.reports == 10 && h.iteration[h.reports - 1] == 10 &&
			  r.validation_loss == NULL, "epochs %d, reports %d", r.epochs, h.reports);
		CHECK(r.train_loss[9] < r.train_loss[0], "loss falls: %g -> %g",
			  r.train_loss[0], r.train_loss[9]);
		CHECK(m.algorithm == RS_ALGO_MLP && m.mlp_layers == 2 && m.mlp_sizes[0] == 3 &&
			  m.mlp_sizes[1] == 128 && m.mlp_sizes[2] == 1 && m.n_users == 0 &&
			  m.activation == RS_ACTIVATION_RELU && m.loss == RS_LOSS_CROSS_ENTROPY,
			  "model view");
		rs_mlp_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	}
	if (CHECK(fit(train.x, train.y, train.n, 3, hidden, 0, opt, NULL, &c, &logistic) == RS_OK,
			  "logistic fit"))
	{
		rs_model	m = model_of(&logistic);
		double		acc = accuracy(&m, &test);

		CHECK(acc < 0.7, "logistic regression should not solve it: %.3f", acc);
		rs_mlp_result_free(&logistic, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	}
	CHECK(c.outstanding == 0 && !c.wrong_thread, "reference leaks %ld", c.outstanding);
	free_data(&train);
	free_data(&test);
}

/* (c) regression of a smooth target */
static void
test_regression(void)
{
	data		train = make_data(4000, 3, smooth, 21),
				test = make_data(1000, 3, smooth, 22);
	double		opt[RS_MLP_OPTION_COUNT];
	int			hidden[] = {64, 32};
	rs_mlp_result r;
	counter		c = new_counter();

	default_options(opt);
	opt[RS_MLP_LOSS] = RS_LOSS_MSE;
	opt[RS_MLP_ACTIVATION] = RS_ACTIVATION_TANH;
	opt[RS_MLP_LEARNING_RATE] = 0.003;
	if (CHECK(fit(train.x, train.y, train.n, 3, hidden, 2, opt, NULL, &c, &r) == RS_OK,
			  "regression fit"))
	{
		rs_model	m = model_of(&r);
		double		e = rmse(&m, &test),
					sd = label_std(&test);

		CHECK(e < 0.25 * sd, "regression: held-out rmse %.4f, target std %.4f", e, sd);
		rs_mlp_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	}
	CHECK(c.outstanding == 0, "regression leaks");
	free_data(&train);
	free_data(&test);
}

/* (d) sgd with momentum and full-batch gd on an easy separable problem */
static void
test_optimizers(void)
{
	data		train = make_data(2000, 3, separable, 31),
				test = make_data(1000, 3, separable, 32);
	int			hidden[] = {16};

	for (int kind = RS_OPTIMIZER_ADAM; kind <= RS_OPTIMIZER_GD; kind++)
	{
		double		opt[RS_MLP_OPTION_COUNT];
		rs_mlp_result r;
		counter		c = new_counter();

		default_options(opt);
		opt[RS_MLP_OPTIMIZER] = kind;
		opt[RS_MLP_LEARNING_RATE] = kind == RS_OPTIMIZER_ADAM ? 0.01 :
			kind == RS_OPTIMIZER_SGD ? 0.05 : 1.0;
		opt[RS_MLP_EPOCHS] = kind == RS_OPTIMIZER_GD ? 300 : 10;
		opt[RS_MLP_ACTIVATION] = RS_ACTIVATION_TANH;
		if (CHECK(fit(train.x, train.y, train.n, 3, hidden, 1, opt, NULL, &c, &r) == RS_OK,
				  "optimizer %d fit", kind))
		{
			rs_model	m = model_of(&r);
			double		acc = accuracy(&m, &test);

			CHECK(acc > 0.95, "optimizer %d: held-out accuracy %.3f", kind, acc);
			rs_mlp_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
		}
		CHECK(c.outstanding == 0, "optimizer %d leaks", kind);
	}
	free_data(&train);
	free_data(&test);
}

/* (e) early stopping on noisy labels with a network that can overfit */
static void
test_early_stopping(void)
{
	data		train = make_data(300, 3, noisy, 41);
	double		opt[RS_MLP_OPTION_COUNT];
	int			hidden[] = {64, 64};
	rs_mlp_result r;
	counter		c = new_counter();
	host		h = new_host(0);

	default_options(opt);
	opt[RS_MLP_EPOCHS] = 500;
	opt[RS_MLP_LEARNING_RATE] = 0.003;
	opt[RS_MLP_VALIDATION_FRACTION] = 0.2;
	opt[RS_MLP_PATIENCE] = 5;
	if (CHECK(fit(train.x, train.y, train.n, 3, hidden, 2, opt, &h, &c, &r) == RS_OK,
			  "early stopping fit"))
	{
		int			best = 0;
		bool		finite = true;

		/* it improves for a few epochs, then overfits the noise */
		CHECK(r.epochs < 500 && r.epochs > 6 && h.reports == r.epochs,
			  "early stopping ran %d epochs", r.epochs);
		CHECK(r.validation_loss != NULL, "no validation losses");
		if (r.validation_loss)
		{
			for (int e = 0; e < r.epochs; e++)
			{
				finite = finite && isfinite(r.validation_loss[e]) && r.validation_loss[e] > 0;
				if (r.validation_loss[e] < r.validation_loss[best])
					best = e;
			}
			CHECK(finite, "validation losses are not positive numbers");
			/* it stopped exactly `patience` epochs after the best one */
			CHECK(best == r.epochs - 1 - 5, "best epoch %d of %d", best + 1, r.epochs);
		}
		rs_mlp_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	}
	CHECK(c.outstanding == 0, "early stopping leaks");
	free_data(&train);
}

/* (f) the model format: predictions survive a round trip; damage is rejected */
static void
test_codec(void)
{
	data		train = make_data(500, 3, saddle, 51);
	double		opt[RS_MLP_OPTION_COUNT];
	int			hidden[] = {8, 4};
	rs_mlp_result r;
	counter		c = new_counter();

	default_options(opt);
	opt[RS_MLP_ACTIVATION] = RS_ACTIVATION_SIGMOID;
	opt[RS_MLP_LOSS] = RS_LOSS_MSE;
	opt[RS_MLP_EPOCHS] = 2;
	if (!CHECK(fit(train.x, train.y, train.n, 3, hidden, 2, opt, NULL, &c, &r) == RS_OK,
			   "codec fit"))
		return;
	{
		rs_model	m = model_of(&r),
					d;
		const char *info = "{\"algorithm\":\"mlp\"}";
		size_t		size;
		uint64_t   *buf;
		float		scratch[64];
		bool		same = true;
		const char *reason;

		m.info = info;
		m.info_size = strlen(info);
		size = rs_model_encoded_size(&m);
		buf = calloc(size / 8 + 1, 8);
		rs_model_encode(&m, buf);
		unit_check_rebase(buf, size, "mlp");
		reason = unit_decode(buf, size, &d);
		if (CHECK(reason == NULL, "decode: %s", reason ? reason : ""))
		{
			CHECK(d.algorithm == RS_ALGO_MLP && d.mlp_layers == 3 &&
				  d.activation == RS_ACTIVATION_SIGMOID && d.loss == RS_LOSS_MSE &&
				  d.info_size == strlen(info) && rs_feature_scratch_floats(&d) <= 64,
				  "decoded fields");
			for (size_t k = 0; k < 100; k++)
			{
				float		s2[64];

				same = same && rs_mlp_predict(&m, train.x + 3 * k, scratch) ==
					rs_mlp_predict(&d, train.x + 3 * k, s2);
			}
			CHECK(same, "predictions differ after a round trip");
			CHECK(strcmp(rs_algorithm_name(RS_ALGO_MLP), "mlp") == 0, "name");
		}
		for (size_t len = 0; len < size; len += 8)
			CHECK(unit_decode(buf, len, &d) != NULL, "truncated to %zu accepted", len);

		/*
		 * Shape damage, re-checksummed so validation is what rejects it: an
		 * output wider than 1, a negative scale, an unknown activation.
		 */
		{
			rs_model	bad = m;
			int32_t		sizes[4];
			float		scale[3];
			uint64_t   *other = calloc(size / 8 + 1, 8);

			/* sizes 3, 8, 4: consistent sections, but an output of width 4 */
			memcpy(sizes, m.mlp_sizes, sizeof(sizes));
			bad.mlp_sizes = sizes;
			bad.mlp_layers = 2;
			rs_model_encode(&bad, other);
			CHECK(unit_decode(other, rs_model_encoded_size(&bad), &d) != NULL,
				  "an output of width 4 accepted");
			bad = m;
			memcpy(scale, m.feature_scale, sizeof(scale));
			scale[1] = -1.0f;
			bad.feature_scale = scale;
			rs_model_encode(&bad, other);
			CHECK(unit_decode(other, size, &d) != NULL, "a negative scale accepted");
			bad = m;
			bad.activation = 3;
			rs_model_encode(&bad, other);
			CHECK(unit_decode(other, size, &d) != NULL, "activation 3 accepted");
			/*
			 * Users or items in the header of a model that has no id lists:
			 * rejected before anything reads the (absent) lists.
			 */
			bad = m;
			bad.n_users = INT32_MAX;
			rs_model_encode(&bad, other);
			CHECK(unit_decode(other, size, &d) != NULL, "2^31 - 1 users accepted");
			bad = m;
			bad.n_users = 4;
			rs_model_encode(&bad, other);
			CHECK(unit_decode(other, size, &d) != NULL, "4 users without ids accepted");
			bad = m;
			bad.n_items = 4;
			rs_model_encode(&bad, other);
			CHECK(unit_decode(other, size, &d) != NULL, "4 items without ids accepted");
			free(other);
		}
		free(buf);
	}
	rs_mlp_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	CHECK(c.outstanding == 0, "codec leaks");
	free_data(&train);
}

/* (g) cancellation and each allocation failing */
static void
test_failures(void)
{
	data		train = make_data(200, 3, saddle, 61);
	double		opt[RS_MLP_OPTION_COUNT];
	int			hidden[] = {8};
	rs_mlp_result r;
	long		calls;

	default_options(opt);
	opt[RS_MLP_EPOCHS] = 3;
	opt[RS_MLP_VALIDATION_FRACTION] = 0.25;
	{
		counter		c = new_counter();
		host		h = new_host(5);

		CHECK(fit(train.x, train.y, train.n, 3, hidden, 1, opt, &h, &c, &r) == RS_CANCELLED,
			  "cancel");
		CHECK(c.outstanding == 0 && h.polls == 5 && r.weights == NULL, "cancel leaks");
	}
	{
		counter		c = new_counter();

		CHECK(fit(train.x, train.y, train.n, 3, hidden, 1, opt, NULL, &c, &r) == RS_OK, "fit");
		calls = c.calls;
		rs_mlp_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	}
	for (int kind = RS_OPTIMIZER_ADAM; kind <= RS_OPTIMIZER_GD; kind++)
	{
		opt[RS_MLP_OPTIMIZER] = kind;
		for (long k = 0; k < calls; k++)
		{
			counter		c = new_counter();
			rs_status	s;

			c.fail_at = k;
			s = fit(train.x, train.y, train.n, 3, hidden, 1, opt, NULL, &c, &r);
			if (s == RS_OK)
				rs_mlp_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
			CHECK(s == RS_NO_MEMORY || (s == RS_OK && c.calls <= k),
				  "optimizer %d, allocation %ld failing: status %d", kind, k, s);
			CHECK(c.outstanding == 0, "optimizer %d, allocation %ld failing leaks", kind, k);
		}
	}
	free_data(&train);
}

/* (h) the same seed gives the same network; another seed another */
static void
test_determinism(void)
{
	data		train = make_data(500, 3, saddle, 71);
	double		opt[RS_MLP_OPTION_COUNT];
	int			hidden[] = {16, 8};
	rs_mlp_result r1,
				r2,
				r3;
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};

	default_options(opt);
	opt[RS_MLP_EPOCHS] = 3;
	opt[RS_MLP_VALIDATION_FRACTION] = 0.1;
	fit(train.x, train.y, train.n, 3, hidden, 2, opt, NULL, &c, &r1);
	fit(train.x, train.y, train.n, 3, hidden, 2, opt, NULL, &c, &r2);
	opt[RS_MLP_SEED] = 43;
	fit(train.x, train.y, train.n, 3, hidden, 2, opt, NULL, &c, &r3);
	if (CHECK(r1.weights && r2.weights && r3.weights, "determinism fits"))
	{
		size_t		count = (3 * 16 + 16) + (16 * 8 + 8) + (8 + 1);

		CHECK(memcmp(r1.weights, r2.weights, sizeof(float) * count) == 0 &&
			  memcmp(r1.train_loss, r2.train_loss, sizeof(double) * 3) == 0 &&
			  memcmp(r1.feature_mean, r2.feature_mean, sizeof(float) * 3) == 0,
			  "one seed, two networks");
		CHECK(memcmp(r1.weights, r3.weights, sizeof(float) * count) != 0,
			  "two seeds, one network");
	}
	rs_mlp_result_free(&r1, &a);
	rs_mlp_result_free(&r2, &a);
	rs_mlp_result_free(&r3, &a);
	CHECK(c.outstanding == 0, "determinism leaks");
	free_data(&train);
}

/* the option table: every choice option has choices, defaults in range */
static void
test_options(void)
{
	for (int k = 0; k < RS_MLP_OPTION_COUNT; k++)
	{
		const rs_option_spec *s = &rs_mlp_option_specs[k];

		CHECK(s->name != NULL, "option %d has no name", k);
		if (s->type == RS_OPT_CHOICE)
			CHECK(s->choices != NULL, "%s has no choices", s->name);
		else
			CHECK(s->default_value >= s->min && s->default_value <= s->max &&
				  !(s->min_exclusive && s->default_value == s->min),
				  "%s default out of range", s->name);
	}
}

int
main(void)
{
	test_options();
	test_gradient();
	test_reference();
	test_regression();
	test_optimizers();
	test_early_stopping();
	test_codec();
	test_failures();
	test_determinism();
	return unit_done();
}
