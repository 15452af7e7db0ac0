/*
 * test_als.c - explicit ALS: the option table, recovery of a planted
 * low-rank matrix, the model a server uses, the optimality of every row of
 * the last (user) half-step, determinism across thread counts, the host
 * callbacks, cancellation and running out of memory without leaks; and the
 * regularisation measured on held-out ratings when none is given.
 */
#include "core/implicit_als.h"
#include "core/kind.h"
#include "core/random.h"
#include "core/scoring.h"
#include "core/tuning.h"

#include "unit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The host: counts should_stop polls and records progress reports. */

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_ALS_OPTION_COUNT; k++)
		opt[k] = rs_als_option_specs[k].default_value;
}

/*
 * Planted data: ratings 3 + b_u + b_i + p_u . q_i + noise over a rank-3
 * truth; ~30% of the matrix for training, another ~10% held out.
 */
#define USERS 300
#define ITEMS 200
#define RANK 3
#define NOISE 0.1

typedef struct planted
{
	rs_interactions train;
	size_t		n_test;
	int64_t		test_user[USERS * ITEMS];
	int64_t		test_item[USERS * ITEMS];
	float		test_value[USERS * ITEMS];
} planted;

static planted P;

static int64_t
user_id(int u)
{
	return 1000 + 3 * (int64_t) u;
}

static int64_t
item_id(int i)
{
	return -500 + 7 * (int64_t) i;
}

static void
make_planted(void)
{
	rs_random	rng = {31337};
	static double pu[USERS][RANK],
				qi[ITEMS][RANK],
				bu[USERS],
				bi[ITEMS];
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < USERS; u++)
	{
		for (int k = 0; k < RANK; k++)
			pu[u][k] = rs_random_normal(&rng);
		bu[u] = 0.5 * rs_random_normal(&rng);
	}
	for (int i = 0; i < ITEMS; i++)
	{
		for (int k = 0; k < RANK; k++)
			qi[i][k] = rs_random_normal(&rng);
		bi[i] = 0.5 * rs_random_normal(&rng);
	}
	for (int u = 0; u < USERS; u++)
		for (int i = 0; i < ITEMS; i++)
		{
			double		x = rs_random_uniform(&rng);
			double		r = 3.0 + bu[u] + bi[i] + NOISE * rs_random_normal(&rng);

			for (int k = 0; k < RANK; k++)
				r += pu[u][k] * qi[i][k];
			if (x < 0.3)
				rs_buffer_append(&buf, &rs_malloc_allocator, user_id(u), item_id(i), (float) r);
			else if (x < 0.4)
			{
				P.test_user[P.n_test] = user_id(u);
				P.test_item[P.n_test] = item_id(i);
				P.test_value[P.n_test] = (float) r;
				P.n_test++;
			}
		}
	if (rs_interactions_build(&buf, &rs_malloc_allocator, &P.train) != RS_OK)
	{
		fprintf(stderr, "cannot build the planted data\n");
		exit(2);
	}
	rs_buffer_free(&buf, &rs_malloc_allocator);
}

static rs_status
fit(const rs_interactions *d, const double *opt, int threads, host *h, counter *c,
	rs_als_result *r)
{
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, threads);

	return rs_als_fit_feedback(d, opt, &rt, r);
}

static void
planted_options(double *opt)
{
	default_options(opt);
	opt[RS_ALS_FACTORS] = 8;
	opt[RS_ALS_REGULARIZATION] = 0.01;
	opt[RS_ALS_PRIOR_COUNT] = 0;
}

/* A fit on the planted data with options opt (ctx), freed if it succeeds. */
static rs_status
fit_and_free(void *ctx, int threads, host *h, counter *c)
{
	rs_als_result r;
	rs_status	status = fit(&P.train, ctx, threads, h, c, &r);

	if (status == RS_OK)
		rs_als_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, c, NULL});
	return status;
}

static bool
same_result(const rs_als_result *x, const rs_als_result *y, int32_t users, int32_t items)
{
	size_t		f = (size_t) x->factors;

	return x->factors == y->factors && x->iterations == y->iterations &&
		memcmp(&x->global_mean, &y->global_mean, sizeof(double)) == 0 &&
		memcmp(&x->new_user_bias, &y->new_user_bias, sizeof(double)) == 0 &&
		memcmp(&x->user_bias_slope, &y->user_bias_slope, sizeof(double)) == 0 &&
		memcmp(&x->new_item_bias, &y->new_item_bias, sizeof(double)) == 0 &&
		memcmp(x->user_factors, y->user_factors, sizeof(float) * f * users) == 0 &&
		memcmp(x->item_factors, y->item_factors, sizeof(float) * f * items) == 0 &&
		memcmp(x->user_bias, y->user_bias, sizeof(float) * users) == 0 &&
		memcmp(x->item_bias, y->item_bias, sizeof(float) * items) == 0 &&
		memcmp(x->loss, y->loss, sizeof(double) * x->iterations) == 0;
}

static void
test_planted(void)
{
	double		opt[RS_ALS_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	host		h;
	rs_als_result r,
				again;
	rs_model	m;
	rs_status	status;
	double		sse = 0.0,
				sse_bias = 0.0,
				started;
	int			iterations;
	bool		increasing = true,
				matching = true;

	planted_options(opt);
	iterations = (int) opt[RS_ALS_ITERATIONS];
	memset(&h, 0, sizeof(h));
	h.self = pthread_self();

	started = rs_now();
	status = fit(&P.train, opt, 2, &h, &c, &r);
	printf("planted %dx%d, %zu ratings, %d iterations: fit in %.3f s\n", USERS, ITEMS,
		   P.train.nnz, iterations, rs_now() - started);
	if (!CHECK(status == RS_OK, "fit: status %d", (int) status))
		return;
	CHECK(P.train.n_users == USERS && P.train.n_items == ITEMS, "every user and item rated");
	CHECK(r.factors == 8 && r.iterations == iterations, "factors %d, iterations %d",
		  r.factors, r.iterations);

	/* held-out error through the model a server would use */
	rs_als_model(&P.train, &r, opt, &m);
	m.info = "{}";
	m.info_size = 2;
	CHECK(m.algorithm == RS_ALGO_ALS_EXPLICIT, "algorithm %d", (int) m.algorithm);
	CHECK(m.params.regularization == (float) opt[RS_ALS_REGULARIZATION] &&
		  m.params.prior_count == (float) opt[RS_ALS_PRIOR_COUNT] &&
		  m.params.bias_regularization == (float) opt[RS_ALS_BIAS_REGULARIZATION],
		  "the model's params are not the training options");
	CHECK(m.new_user_bias == r.new_user_bias && m.new_item_bias == r.new_item_bias,
		  "the model's newcomer biases");
	CHECK(m.seen_values == P.train.user_values && m.seen_ptr != NULL &&
		  m.seen_ptr[USERS] == P.train.nnz, "the model's seen values are the training values");
	CHECK(m.item_gram == NULL, "explicit ALS has no item Gram matrix");
	if (CHECK(m.item_popularity != NULL, "explicit ALS has item popularity"))
	{
		bool		counts = true;

		for (int32_t i = 0; i < ITEMS; i++)
			counts &= m.item_popularity[i] ==
				(float) (P.train.item_ptr[i + 1] - P.train.item_ptr[i]);
		CHECK(counts, "item popularity is not the training users per item");
	}
	for (size_t k = 0; k < P.n_test; k++)
	{
		int32_t		u = rs_model_user_index(&m, P.test_user[k]);
		int32_t		i = rs_model_item_index(&m, P.test_item[k]);
		double		err,
					err_bias;

		if (!CHECK(u >= 0 && i >= 0, "held-out pair %zu not in the model", k))
			break;
		err = rs_predict(&m, u, i) - P.test_value[k];
		err_bias = m.global_mean + m.user_bias[u] + m.item_bias[i] - P.test_value[k];
		sse += err * err;
		sse_bias += err_bias * err_bias;
	}
	{
		double		rmse = sqrt(sse / (double) P.n_test);
		double		rmse_bias = sqrt(sse_bias / (double) P.n_test);

		printf("held-out RMSE %.4f on %zu ratings (noise %.2f; biases alone %.4f); "
			   "training loss %.4f -> %.4f\n", rmse, P.n_test, NOISE, rmse_bias,
			   r.loss[0], r.loss[r.iterations - 1]);
		CHECK(rmse < 0.2, "held-out RMSE %.4f, want < 0.2", rmse);
		CHECK(rmse_bias > 1.0, "biases alone explain the data: RMSE %.4f", rmse_bias);
	}
	CHECK(r.loss[iterations - 1] < r.loss[0], "loss %.4f -> %.4f did not decrease",
		  r.loss[0], r.loss[iterations - 1]);
	CHECK(r.loss[iterations - 1] < 2 * NOISE, "final training loss %.4f",
		  r.loss[iterations - 1]);

	/* one progress report per iteration, in order, on the calling thread */
	CHECK(h.reports == iterations, "%d progress reports for %d iterations", h.reports,
		  iterations);
	for (int k = 0; k < h.reports && k < UNIT_MAX_PROGRESS; k++)
	{
		increasing &= h.iteration[k] == k + 1;
		matching &= h.loss[k] == r.loss[k] && h.seconds[k] >= 0.0;
	}
	CHECK(increasing, "progress iterations are not 1, 2, 3...");
	CHECK(matching, "progress losses differ from the result's");
	CHECK(h.polls > 0, "should_stop never polled");
	CHECK(!h.wrong_thread && !c.wrong_thread, "a host callback ran on a worker thread");

	/* scoring: every item for a user equals the single prediction */
	{
		static float scores[ITEMS];
		int32_t		users[] = {-1, 0, 17, USERS - 1};
		bool		close = true;

		for (size_t k = 0; k < sizeof(users) / sizeof(users[0]); k++)
		{
			rs_score_items(&m, users[k], &rs_malloc_allocator, scores);
			for (int32_t i = 0; i < ITEMS; i++)
				close &= fabs(scores[i] - rs_predict(&m, users[k], i)) <=
					1e-5 * (1.0 + fabs(scores[i]));
		}
		CHECK(close, "rs_score_items differs from rs_predict");
		CHECK(rs_predict(&m, -1, -1) == m.global_mean + m.new_user_bias + m.new_item_bias,
			  "prediction for an unknown user and item");
		CHECK(rs_predict(&m, 5, -1) == m.global_mean + m.user_bias[5] + m.new_item_bias,
			  "prediction for an unknown item");
		CHECK(rs_predict(&m, -1, 9) == m.global_mean + m.new_user_bias + m.item_bias[9],
			  "prediction for an unknown user");
	}
	{
		size_t		count;
		const int32_t *seen = rs_seen_items(&m, 7, &count);

		CHECK(count == P.train.user_ptr[8] - P.train.user_ptr[7] &&
			  memcmp(seen, P.train.user_items + P.train.user_ptr[7], count * sizeof(int32_t)) == 0,
			  "seen items of user 7");
		rs_seen_items(&m, -1, &count);
		CHECK(count == 0, "an unknown user has seen nothing");
	}

	/* the encoded model predicts exactly the same */
	{
		size_t		len = rs_model_encoded_size(&m);
		uint64_t   *buf = malloc(len);
		rs_model	d;
		const char *reason;
		bool		same = true;

		rs_model_encode(&m, buf);
		reason = unit_decode(buf, len, &d);
		if (CHECK(reason == NULL, "decoding a trained model: %s", reason))
		{
			for (size_t k = 0; k < P.n_test; k += 7)
			{
				int32_t		u = rs_model_user_index(&d, P.test_user[k]);
				int32_t		i = rs_model_item_index(&d, P.test_item[k]);

				same &= rs_predict(&d, u, i) == rs_predict(&m, u, i);
			}
			CHECK(same, "the decoded model predicts differently");
			CHECK(d.info_size == 2 && memcmp(d.info, "{}", 2) == 0, "info");
		}
		free(buf);
	}

	/* the same bits on any number of threads */
	for (int threads = 1; threads <= 3; threads += 2)
	{
		status = fit(&P.train, opt, threads, NULL, &c, &again);
		if (CHECK(status == RS_OK, "fit on %d threads: status %d", threads, (int) status))
		{
			CHECK(same_result(&r, &again, USERS, ITEMS),
				  "the fit on %d threads differs from the one on 2", threads);
			rs_als_result_free(&again, &a);
		}
	}
	/* and the same again on the same thread count */
	status = fit(&P.train, opt, 2, NULL, &c, &again);
	if (CHECK(status == RS_OK, "second fit: status %d", (int) status))
	{
		CHECK(same_result(&r, &again, USERS, ITEMS), "two fits on 2 threads differ");
		rs_als_result_free(&again, &a);
	}

	rs_als_result_free(&r, &a);
	CHECK(c.outstanding == 0, "%ld allocations outstanding after freeing the results",
		  c.outstanding);
}

/*
 * Every row solved in the last half-step (the users) is the exact minimiser
 * of its regularised least-squares problem given the final item side:
 *
 *   sum_i e_i q_i = lambda (n + n0) p_u,   sum_i e_i = lambda_b (b_u - prior)
 *
 * with e_i = r_ui - mu - b_u - b_i - p_u . q_i and the prior of a user of n
 * ratings new_user_bias + user_bias_slope ln n (what fold-in shrinks a
 * history's bias towards).
 * The data mix rows of 1..8 ratings (the dual solve), ordinary rows, and a
 * row longer than one gathered block (the primal solve in several blocks).
 */
static void
test_optimality(void)
{
	rs_random	rng = {4242};
	rs_interaction_buffer buf;
	rs_interactions d;
	rs_als_result r;
	double		opt[RS_ALS_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	const int	users = 60,
				items = 700;
	double		worst = 0.0,
				prior_lo = INFINITY,
				prior_hi = -INFINITY;
	int			dual_rows = 0,
				long_rows = 0,
				dual_items = 0;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < users; u++)
		for (int i = 0; i < items; i++)
		{
			bool		rated;

			if (u == 0)
				rated = true;	/* longer than one block */
			else if (u <= 8)
				rated = i < u;	/* u ratings: shorter than the unknowns */
			else
				rated = rs_random_uniform(&rng) < 0.12;
			if (rated)
				rs_buffer_append(&buf, &rs_malloc_allocator, u, i,
								 (float) (3.0 + 0.02 * (i % 50) - 0.03 * (u % 20) +
										  0.8 * rs_random_normal(&rng)));
		}
	if (!CHECK(rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK, "build"))
		return;
	rs_buffer_free(&buf, &rs_malloc_allocator);

	default_options(opt);
	opt[RS_ALS_FACTORS] = 8;
	opt[RS_ALS_ITERATIONS] = 4;
	opt[RS_ALS_PRIOR_COUNT] = 2;
	if (!CHECK(fit(&d, opt, 2, NULL, &c, &r) == RS_OK, "fit"))
		return;
	for (int32_t i = 0; i < d.n_items; i++)
		dual_items += d.item_ptr[i + 1] - d.item_ptr[i] < (size_t) r.factors + 1;
	CHECK(dual_items > 0 && dual_items < d.n_items, "%d of %d items have few ratings",
		  dual_items, d.n_items);

	for (int32_t u = 0; u < d.n_users; u++)
	{
		int			f = r.factors;
		size_t		n = d.user_ptr[u + 1] - d.user_ptr[u];
		const float *p = r.user_factors + (size_t) u * f;
		double		grad[RS_MODEL_MAX_FACTORS],
					scale = 0.0,
					sum_e = 0.0,
					lambda_n = opt[RS_ALS_REGULARIZATION] * ((double) n + opt[RS_ALS_PRIOR_COUNT]),
					p_norm = 0.0;

		dual_rows += n < (size_t) f + 1;
		long_rows += n > 512;
		for (int k = 0; k < f; k++)
		{
			grad[k] = lambda_n * p[k];
			p_norm += (double) p[k] * p[k];
		}
		scale = lambda_n * sqrt(p_norm);
		for (size_t k = d.user_ptr[u]; k < d.user_ptr[u + 1]; k++)
		{
			int32_t		i = d.user_items[k];
			const float *q = r.item_factors + (size_t) i * f;
			double		e = d.user_values[k] - r.global_mean - r.user_bias[u] - r.item_bias[i];
			double		q_norm = 0.0;

			for (int j = 0; j < f; j++)
			{
				e -= (double) p[j] * q[j];
				q_norm += (double) q[j] * q[j];
			}
			for (int j = 0; j < f; j++)
				grad[j] -= e * q[j];
			sum_e += e;
			scale += fabs(e) * sqrt(q_norm);
		}
		for (int k = 0; k < f; k++)
		{
			double		rel = fabs(grad[k]) / (scale + 1e-3);

			if (rel > worst)
				worst = rel;
		}
		{
			/* the implied prior less the model's for n ratings */
			double		prior = r.user_bias[u] - sum_e / opt[RS_ALS_BIAS_REGULARIZATION] -
				(r.new_user_bias + r.user_bias_slope * log((double) n));

			prior_lo = fmin(prior_lo, prior);
			prior_hi = fmax(prior_hi, prior);
		}
	}
	printf("optimality of the user rows: worst relative gradient %.2e, "
		   "implied bias priors within %.2e of the model's %.6f %+.6f ln n\n", worst,
		   fmax(fabs(prior_hi), fabs(prior_lo)), r.new_user_bias, r.user_bias_slope);
	CHECK(dual_rows == 8 && long_rows == 1, "%d dual rows, %d long rows", dual_rows, long_rows);
	CHECK(worst < 1e-4, "a user row is not a minimiser: relative gradient %.3g", worst);
	CHECK(fabs(prior_lo) < 1e-3 && fabs(prior_hi) < 1e-3,
		  "user biases shrink towards %.6g .. %.6g from the model's prior for their ratings",
		  prior_lo, prior_hi);
	rs_als_result_free(&r, &a);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
	rs_interactions_free(&d, &rs_malloc_allocator);
}

/*
 * The prior of the user biases follows activity when the data say so.
 * Users rate 1 to 60 items; a user's true bias is slope ln n plus noise.
 * Newcomers - users of one rating the fit never saw - must get their
 * group's level from new_user_bias, where the mean of the users' biases
 * misses it; with no such relation (slope 0), or with every user rating as
 * much, the slope is 0 or within its noise; and on few users with no
 * relation, the shrinkage sets most fitted slopes to exactly 0.
 */
enum
{
	ACTIVITY_ITEMS = 400, NEWCOMERS = 2000
};

/* A fit of `users` planted users; the slope it found, newcomers' residuals. */
static double
activity_fit(double true_slope, bool equal_counts, int users, rs_random *rng,
			 double *newcomer_residual, double *mean_bias_residual)
{
	enum
	{
		items = ACTIVITY_ITEMS, newcomers = NEWCOMERS
	};
	rs_interactions data;
	rs_interactions *d = &data;
	double		slope = NAN;
	rs_interaction_buffer buf;
	float		item_bias[items];
	rs_als_result r;
	double		opt[RS_ALS_OPTION_COUNT];
	counter		c = new_counter();
	double		sum_new = 0.0,
				mean_user_bias = 0.0;

	memset(&buf, 0, sizeof(buf));
	for (int i = 0; i < items; i++)
		item_bias[i] = (float) (0.5 * rs_random_normal(rng));
	for (int u = 0; u < users + newcomers; u++)
	{
		double		w = rs_random_uniform(rng);
		int			n = u >= users ? 1 : equal_counts ? 20 : 1 + (int) (60 * w * w);
		double		bias = true_slope * log((double) n) + 0.3 * rs_random_normal(rng);
		int			first = (int) (rs_random_uniform(rng) * items);

		for (int k = 0; k < n; k++)
		{
			int			i = (first + 7 * k) % items;
			float		value = (float) (3.0 + bias + item_bias[i] + 0.5 * rs_random_normal(rng));

			if (u < users)
				rs_buffer_append(&buf, &rs_malloc_allocator, u, i, value);
			else
				sum_new += value;	/* a newcomer's one rating, of item i */
			if (u >= users)
				sum_new -= item_bias[i];
		}
	}
	CHECK(rs_interactions_build(&buf, &rs_malloc_allocator, d) == RS_OK, "build");
	rs_buffer_free(&buf, &rs_malloc_allocator);
	default_options(opt);
	opt[RS_ALS_FACTORS] = 4;
	opt[RS_ALS_ITERATIONS] = 5;
	opt[RS_ALS_REGULARIZATION] = 0.1;
	if (!CHECK(fit(d, opt, 2, NULL, &c, &r) == RS_OK, "fit"))
		return NAN;
	/*
	 * Item biases are relative to mu, the planted ones to 3: both sides
	 * compare mu + b_i + prior with 3 + planted b_i + the rating's bias,
	 * so the planted shift of the item biases is estimated from them.
	 */
	{
		double		shift = 0.0;

		for (int32_t i = 0; i < d->n_items; i++)
			shift += r.global_mean + r.item_bias[i] - 3.0 - item_bias[d->item_ids[i]];
		shift /= d->n_items;
		for (int32_t u = 0; u < d->n_users; u++)
			mean_user_bias += r.user_bias[u];
		mean_user_bias /= d->n_users;
		*newcomer_residual = sum_new / newcomers - 3.0 - shift - r.new_user_bias;
		*mean_bias_residual = sum_new / newcomers - 3.0 - shift - mean_user_bias;
	}
	slope = r.user_bias_slope;
	rs_als_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	rs_interactions_free(d, &rs_malloc_allocator);
	return slope;
}

static void
test_activity_prior(void)
{
	rs_random	rng = {9090};
	double		newcomer,
				mean_bias,
				slope;
	int			zero = 0;

	slope = activity_fit(-0.25, false, 3000, &rng, &newcomer, &mean_bias);
	printf("activity prior: slope %.3f, newcomers' mean residual %.3f "
		   "(%.3f from the mean user bias)\n", slope, newcomer, mean_bias);
	CHECK(fabs(slope + 0.25) < 0.05, "slope %.4f, planted -0.25", slope);
	CHECK(fabs(newcomer) < 0.08, "newcomers are off their prior by %.3f", newcomer);
	CHECK(fabs(mean_bias) > 0.25, "the fixture has no power: the mean bias is off by %.3f only",
		  mean_bias);

	slope = activity_fit(0.0, false, 3000, &rng, &newcomer, &mean_bias);
	CHECK(fabs(slope) < 0.02, "no relation planted, yet slope %.4f", slope);
	CHECK(fabs(newcomer) < 0.08, "no relation: newcomers are off their prior by %.3f", newcomer);

	slope = activity_fit(0.0, true, 3000, &rng, &newcomer, &mean_bias);
	CHECK(slope == 0.0, "every user rates 20 items, yet slope %.4g", slope);
	CHECK(fabs(newcomer) < 0.08, "equal counts: newcomers are off their prior by %.3f", newcomer);

	/*
	 * Under no relation a slope's t^2 is below 1 about 68 % of the time,
	 * and then shrinks to exactly 0; unshrunk it never is.
	 */
	for (int trial = 0; trial < 20; trial++)
		zero += activity_fit(0.0, false, 200, &rng, &newcomer, &mean_bias) == 0.0;
	printf("activity prior: %d of 20 slopes on 200 unrelated users shrunk to 0\n", zero);
	CHECK(zero >= 6, "only %d of 20 slopes within their noise shrunk to 0", zero);
}

static void
test_cancel(void)
{
	double		opt[RS_ALS_OPTION_COUNT];
	counter		c = new_counter();
	host		h;
	rs_als_result r;
	rs_status	status;
	double		started,
				seconds;

	/* a long fit stopped at the fourth poll ends within the first iterations */
	planted_options(opt);
	opt[RS_ALS_ITERATIONS] = 1000;
	memset(&h, 0, sizeof(h));
	h.self = pthread_self();
	h.stop_at = 4;
	started = rs_now();
	status = fit(&P.train, opt, 2, &h, &c, &r);
	seconds = rs_now() - started;
	printf("a 1000-iteration fit stopped at poll 4: %.3f s, %d iterations reported\n",
		   seconds, h.reports);
	CHECK(status == RS_CANCELLED, "status %d, want RS_CANCELLED", (int) status);
	CHECK(h.reports <= 1, "%d iterations ran after the stop", h.reports);
	CHECK(h.polls == 4, "polled %d times after saying stop at 4", h.polls);
	CHECK(c.outstanding == 0, "%ld allocations outstanding after a cancel", c.outstanding);
	CHECK(!h.wrong_thread && !c.wrong_thread, "a host callback ran on a worker thread");

	/* a cancel at every poll of a 2-iteration fit, and with workers at every fifth */
	opt[RS_ALS_ITERATIONS] = 2;
	unit_cancel_at_every_poll("ALS", fit_and_free, NULL, opt, 2 * 3, 2, 5);
}

static void
test_out_of_memory(void)
{
	double		opt[RS_ALS_OPTION_COUNT];

	planted_options(opt);
	opt[RS_ALS_ITERATIONS] = 1;
	unit_fail_each_allocation("ALS", fit_and_free, opt, 2, 4);
}

/* The planted data with every training rating moved by noise of deviation sd. */
static void
noisy_copy(double sd, rs_interactions *out)
{
	rs_random	rng = {99};
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int32_t u = 0; u < P.train.n_users; u++)
		for (size_t k = P.train.user_ptr[u]; k < P.train.user_ptr[u + 1]; k++)
			rs_buffer_append(&buf, &rs_malloc_allocator, P.train.user_ids[u],
							 P.train.item_ids[P.train.user_items[k]],
							 (float) (P.train.user_values[k] + sd * rs_random_normal(&rng)));
	if (rs_interactions_build(&buf, &rs_malloc_allocator, out) != RS_OK)
	{
		fprintf(stderr, "cannot build the noisy data\n");
		exit(2);
	}
	rs_buffer_free(&buf, &rs_malloc_allocator);
}

static rs_status
choose(const rs_interactions *d, double *opt, int threads, host *h, counter *c, rs_report *note)
{
	bool		given[RS_ALS_OPTION_COUNT] = {0};
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, threads);

	return rs_als_choose_regularization(opt, given, d, &rt, note);
}

/* Choosing on the planted data with options opt (ctx). */
static rs_status
choose_on_planted(void *ctx, int threads, host *h, counter *c)
{
	double		opt[RS_ALS_OPTION_COUNT];
	rs_report	note;

	memcpy(opt, ctx, sizeof(opt));
	return choose(&P.train, opt, threads, h, c, &note);
}

/* Held-out RMSE of a fit on d with opt. */
static double
test_rmse(const rs_interactions *d, const double *opt)
{
	counter		c = new_counter();
	host		h = new_host(0);
	rs_als_result r;
	rs_model	m;
	double		sse = 0.0;

	if (fit(d, opt, 2, &h, &c, &r) != RS_OK)
		return INFINITY;
	rs_als_model(d, &r, opt, &m);
	for (size_t t = 0; t < P.n_test; t++)
	{
		double		e = rs_predict(&m, rs_model_user_index(&m, P.test_user[t]),
								   rs_model_item_index(&m, P.test_item[t])) - P.test_value[t];

		sse += e * e;
	}
	rs_als_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	return sqrt(sse / (double) P.n_test);
}

/*
 * Without a given regularization the weight is measured: clean ratings get
 * a far weaker one than the same ratings with noise, each near the best of
 * a grid; the same data give the same weight; a given weight is left
 * alone; cancelling and running out of memory leak nothing.
 */
static void
test_chosen_regularization(void)
{
	double		clean[RS_ALS_OPTION_COUNT],
				noisy[RS_ALS_OPTION_COUNT],
				again[RS_ALS_OPTION_COUNT],
				best = INFINITY;
	bool		given[RS_ALS_OPTION_COUNT] = {0};
	counter		c = new_counter();
	host		h = new_host(0);
	rs_report	note = {{0}};
	rs_interactions noisy_data;
	rs_status	status;

	default_options(clean);
	clean[RS_ALS_FACTORS] = 8;
	memcpy(noisy, clean, sizeof(clean));
	memcpy(again, clean, sizeof(clean));
	noisy_copy(1.5, &noisy_data);
	status = choose(&P.train, clean, 2, &h, &c, &note);
	CHECK(status == RS_OK && c.outstanding == 0, "choose: status %d, %ld outstanding",
		  (int) status, c.outstanding);
	printf("clean: %s\n", note.message);
	CHECK(strstr(note.message, "regularization") != NULL, "the note says what was chosen");
	status = choose(&noisy_data, noisy, 1, &h, &c, &note);
	printf("noisy: %s\n", note.message);
	CHECK(status == RS_OK, "choose on noisy data: status %d", (int) status);
	CHECK(clean[RS_ALS_REGULARIZATION] * 4 < noisy[RS_ALS_REGULARIZATION],
		  "clean data chose %g, noisy %g", clean[RS_ALS_REGULARIZATION],
		  noisy[RS_ALS_REGULARIZATION]);
	choose(&P.train, again, 1, &h, &c, &note);
	CHECK(again[RS_ALS_REGULARIZATION] == clean[RS_ALS_REGULARIZATION],
		  "the same data chose %g, then %g", clean[RS_ALS_REGULARIZATION],
		  again[RS_ALS_REGULARIZATION]);

	/* within 15% of the best held-out RMSE of a grid of weights */
	for (double l = 0.001; l < 3; l *= 2)
	{
		double		opt[RS_ALS_OPTION_COUNT];

		memcpy(opt, clean, sizeof(opt));
		opt[RS_ALS_REGULARIZATION] = l;
		best = fmin(best, test_rmse(&P.train, opt));
	}
	printf("held-out RMSE with the chosen weight %.4f, best of the grid %.4f\n",
		   test_rmse(&P.train, clean), best);
	CHECK(test_rmse(&P.train, clean) < 1.15 * best, "chosen %.4f, best %.4f",
		  test_rmse(&P.train, clean), best);

	/* given: nothing to measure */
	given[RS_ALS_REGULARIZATION] = true;
	again[RS_ALS_REGULARIZATION] = 0.5;
	note.message[0] = '\0';
	status = rs_als_choose_regularization(again, given, &P.train,
										  &(rs_runtime) {.alloc = rs_malloc_allocator, .threads = 1},
										  &note);
	CHECK(status == RS_OK && again[RS_ALS_REGULARIZATION] == 0.5 && note.message[0] == '\0',
		  "a given weight was changed to %g", again[RS_ALS_REGULARIZATION]);
	unit_cancel_at_every_poll("ALS regularization", choose_on_planted, NULL, clean, 4, 2, 7);
	unit_fail_each_allocation("ALS regularization", choose_on_planted, clean, 2, 4);
	rs_interactions_free(&noisy_data, &rs_malloc_allocator);
}

/*
 * Clicks of users on items in classes: a user clicks each item of their
 * class with probability in_class, any other with off_class, more popular
 * items (lower numbers) more often.
 */
static void
clicks_in_classes(int users, int items, int classes, double in_class, double off_class,
				  uint64_t seed, rs_interactions *out)
{
	rs_random	rng = {seed};
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < users; u++)
		for (int i = 0; i < items; i++)
		{
			double		p = (u % classes == i % classes ? in_class : off_class) *
				2.0 * (1.0 - (double) i / items);

			if (rs_random_uniform(&rng) < p)
				rs_buffer_append(&buf, &rs_malloc_allocator, 100 + u, 5000 - i, 1.0f);
		}
	if (rs_interactions_build(&buf, &rs_malloc_allocator, out) != RS_OK)
	{
		fprintf(stderr, "cannot build the clicks\n");
		exit(2);
	}
	rs_buffer_free(&buf, &rs_malloc_allocator);
}

/* The validation NDCG@10 of a fit from scratch on the measurement's split. */
static double
validation_ndcg(const rs_interactions *d, const double *opt)
{
	rs_interaction_buffer rows = {0},
				held = {0};
	rs_interactions train;
	rs_als_result r;
	rs_model	m;
	counter		c = new_counter();
	host		h = new_host(0);
	double		score = NAN;

	if (rs_holdout_split(d, false, (uint64_t) opt[RS_ALS_SEED], &rs_malloc_allocator, &rows,
						 &held) != RS_OK ||
		rs_interactions_build(&rows, &rs_malloc_allocator, &train) != RS_OK)
	{
		fprintf(stderr, "cannot split the clicks\n");
		exit(2);
	}
	if (fit(&train, opt, 2, &h, &c, &r) == RS_OK)
	{
		rs_als_model(&train, &r, opt, &m);
		rs_holdout_score(&m, &held, false, &rs_malloc_allocator, &score);
		rs_als_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	}
	rs_interactions_free(&train, &rs_malloc_allocator);
	rs_buffer_free(&rows, &rs_malloc_allocator);
	rs_buffer_free(&held, &rs_malloc_allocator);
	return score;
}

/* Choosing implicit ALS's weight on clicks (ctx: the options). */
static rs_status
choose_on_clicks(void *ctx, int threads, host *h, counter *c)
{
	static rs_interactions clicks;
	double		opt[RS_ALS_OPTION_COUNT];
	rs_report	note;

	if (clicks.nnz == 0)
		clicks_in_classes(200, 120, 4, 0.3, 0.02, 5, &clicks);
	memcpy(opt, ctx, sizeof(opt));
	return choose(&clicks, opt, threads, h, c, &note);
}

/*
 * Implicit feedback's weight is a measured multiple of the data's rule: on
 * clicks in few classes and in many, the chosen weight's validation NDCG is
 * within 0.02 of the best multiple's (fits from scratch, where the path goes
 * on from the lighter weight's factors) and well above a weight 8 times the
 * rule's, where the factors collapse; the same data choose the same; a
 * given weight is left alone; cancelling and running out of memory leak
 * nothing.
 */
static void
test_chosen_implicit_regularization(void)
{
	rs_interactions sets[2];
	counter		c = new_counter();
	host		h = new_host(0);

	clicks_in_classes(600, 300, 5, 0.25, 0.02, 11, &sets[0]);
	clicks_in_classes(600, 300, 30, 0.5, 0.01, 12, &sets[1]);
	for (int s = 0; s < 2; s++)
	{
		double		opt[RS_ALS_OPTION_COUNT],
					again[RS_ALS_OPTION_COUNT],
					rule,
					chosen,
					heavy,
					best = -1.0;
		bool		given[RS_ALS_OPTION_COUNT] = {0};
		rs_report	note = {{0}};
		rs_status	status;

		default_options(opt);
		opt[RS_ALS_FEEDBACK] = RS_FEEDBACK_IMPLICIT;
		opt[RS_ALS_FACTORS] = 16;
		rs_kind_of(RS_ALGO_ALS_IMPLICIT)->adapt_options(opt, given, &sets[s]);
		rule = opt[RS_ALS_REGULARIZATION];
		memcpy(again, opt, sizeof(opt));
		status = choose(&sets[s], opt, 2, &h, &c, &note);
		CHECK(status == RS_OK && c.outstanding == 0, "choose: status %d, %ld outstanding",
			  (int) status, c.outstanding);
		printf("clicks %d: %s\n", s, note.message);
		CHECK(strstr(note.message, "NDCG@10") != NULL, "the note says what was chosen");
		chosen = validation_ndcg(&sets[s], opt);
		for (double multiple = 0.125; multiple <= 8; multiple *= 2)
		{
			double		grid[RS_ALS_OPTION_COUNT];

			memcpy(grid, opt, sizeof(grid));
			grid[RS_ALS_REGULARIZATION] = rule * multiple;
			heavy = validation_ndcg(&sets[s], grid);	/* the last: 8 times */
			best = fmax(best, heavy);
		}
		printf("clicks %d: validation NDCG@10 of the chosen weight %.4f, best multiple %.4f, 8 times the rule %.4f\n",
			   s, chosen, best, heavy);
		CHECK(chosen > best - 0.02 && chosen > heavy + 0.05,
			  "chosen %.4f, best %.4f, heavy %.4f", chosen, best, heavy);
		choose(&sets[s], again, 1, &h, &c, &note);
		CHECK(again[RS_ALS_REGULARIZATION] == opt[RS_ALS_REGULARIZATION],
			  "the same data chose %g, then %g", opt[RS_ALS_REGULARIZATION],
			  again[RS_ALS_REGULARIZATION]);
		given[RS_ALS_REGULARIZATION] = true;
		again[RS_ALS_REGULARIZATION] = 3.0;
		CHECK(rs_als_choose_regularization(again, given, &sets[s],
										   &(rs_runtime) {.alloc = rs_malloc_allocator, .threads = 1},
										   &note) == RS_OK && again[RS_ALS_REGULARIZATION] == 3.0,
			  "a given weight was changed to %g", again[RS_ALS_REGULARIZATION]);
		rs_interactions_free(&sets[s], &rs_malloc_allocator);
	}
	{
		double		opt[RS_ALS_OPTION_COUNT];

		default_options(opt);
		opt[RS_ALS_FEEDBACK] = RS_FEEDBACK_IMPLICIT;
		opt[RS_ALS_FACTORS] = 8;
		opt[RS_ALS_REGULARIZATION] = 10;
		unit_cancel_at_every_poll("implicit ALS regularization", choose_on_clicks, NULL, opt, 4, 2, 7);
		unit_fail_each_allocation("implicit ALS regularization", choose_on_clicks, opt, 2, 4);
	}
}

/*
 * Data larger than the measurement's budget (4M interactions) is measured
 * on a sample of its users, and the multiple of the rule chosen there is
 * applied to the rule of all the data.
 */
static void
test_implicit_regularization_on_a_sample(void)
{
	rs_interactions big;
	double		opt[RS_ALS_OPTION_COUNT],
				multiple = NAN;
	bool		given[RS_ALS_OPTION_COUNT] = {0};
	counter		c = new_counter();
	host		h = new_host(0);
	rs_report	note = {{0}};
	size_t		sampled = 0,
				all = 0;
	const char *sample;

	clicks_in_classes(12500, 1000, 2, 0.9, 0.01, 21, &big);
	default_options(opt);
	opt[RS_ALS_FEEDBACK] = RS_FEEDBACK_IMPLICIT;
	opt[RS_ALS_FACTORS] = 4;
	rs_kind_of(RS_ALGO_ALS_IMPLICIT)->adapt_options(opt, given, &big);
	CHECK(choose(&big, opt, 2, &h, &c, &note) == RS_OK && c.outstanding == 0,
		  "choose on %zu interactions: %ld outstanding", big.nnz, c.outstanding);
	printf("%zu interactions: %s\n", big.nnz, note.message);
	sample = strstr(note.message, "(on a sample of ");
	CHECK(big.nnz > ((size_t) 1 << 22) && sample != NULL &&
		  sscanf(sample, "(on a sample of %zu of the %zu interactions)", &sampled, &all) == 2 &&
		  all == big.nnz && sampled > ((size_t) 7 << 19) && sampled < ((size_t) 9 << 19),
		  "%zu of %zu interactions measured", sampled, all);
	CHECK(sscanf(note.message, "regularization %*g (%lf times", &multiple) == 1 &&
		  fabs(opt[RS_ALS_REGULARIZATION] /
			   rs_implicit_als_rule_regularization(&big, opt[RS_ALS_ALPHA]) - multiple) < 0.006,
		  "weight %g, %g times the rule of all the data, the note %g", opt[RS_ALS_REGULARIZATION],
		  opt[RS_ALS_REGULARIZATION] / rs_implicit_als_rule_regularization(&big, opt[RS_ALS_ALPHA]),
		  multiple);
	rs_interactions_free(&big, &rs_malloc_allocator);
}

/* The option table: names, defaults inside their ranges, the two choices. */
static void
test_option_table(void)
{
	const rs_option_spec *o = rs_als_option_specs;

	for (int k = 0; k < RS_ALS_OPTION_COUNT; k++)
	{
		CHECK(o[k].name != NULL, "option %d has no name", k);
		if (o[k].name == NULL)
			continue;
		for (int j = 0; j < k; j++)
			CHECK(o[j].name == NULL || strcmp(o[j].name, o[k].name) != 0,
				  "option %s twice", o[k].name);
		if (o[k].type == RS_OPT_CHOICE)
		{
			int			n = 0;

			while (o[k].choices && o[k].choices[n])
				n++;
			CHECK(n >= 2 && o[k].default_value >= 0 && o[k].default_value < n,
				  "choice %s: %d choices, default %g", o[k].name, n, o[k].default_value);
		}
		else
			CHECK((o[k].min_exclusive ? o[k].default_value > o[k].min :
				   o[k].default_value >= o[k].min) && o[k].default_value <= o[k].max,
				  "option %s: default %g outside [%g, %g]", o[k].name, o[k].default_value,
				  o[k].min, o[k].max);
	}
	CHECK(strcmp(o[RS_ALS_FEEDBACK].choices[RS_FEEDBACK_EXPLICIT], "explicit") == 0 &&
		  strcmp(o[RS_ALS_FEEDBACK].choices[RS_FEEDBACK_IMPLICIT], "implicit") == 0 &&
		  o[RS_ALS_FEEDBACK].default_value == RS_FEEDBACK_EXPLICIT, "feedback choices");
	CHECK(strcmp(o[RS_ALS_SOLVER].choices[RS_SOLVER_CG], "cg") == 0 &&
		  strcmp(o[RS_ALS_SOLVER].choices[RS_SOLVER_CHOLESKY], "cholesky") == 0,
		  "solver choices");
	CHECK(strcmp(o[RS_ALS_ALPHA].name, "alpha") == 0 &&
		  strcmp(o[RS_ALS_CG_STEPS].name, "cg_steps") == 0 &&
		  strcmp(o[RS_ALS_SOLVER].name, "solver") == 0, "the implicit options' names");
}

int
main(void)
{
	rs_blas_single_threaded();
	test_option_table();
	make_planted();
	test_planted();
	test_optimality();
	test_activity_prior();
	test_cancel();
	test_out_of_memory();
	test_chosen_regularization();
	test_chosen_implicit_regularization();
	test_implicit_regularization_on_a_sample();
	rs_interactions_free(&P.train, &rs_malloc_allocator);
	return unit_done();
}
