/*
 * test_scoring.c - what a trained model answers, on small planted data
 * trained here: explicit ALS and implicit ALS (conjugate gradient and
 * Cholesky).
 *
 *   fold-in      a known user's training history folded in gives back the
 *                stored factors (and bias): the users' half-step is the last
 *                one, and fold-in repeats it with the model's params
 *   explain      contributions plus baseline add up to rs_predict
 *   ranking      on four planted classes, every user's top unseen items, a
 *                folded-in newcomer's best items and an item's most similar
 *                items are of the right class
 *   unknown ids  NaN from ranking models, popularity for an unknown user
 *   format       the decoded model scores exactly as the trained one
 *   training     implicit loss falls, bits do not depend on the thread
 *                count, a cancel or a failed allocation at any point leaks
 *                nothing
 */
#include "core/implicit_als.h"
#include "core/random.h"
#include "core/scoring.h"
#include "core/top_k.h"

#include "unit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static rs_status
fit(const rs_interactions *d, const double *opt, int threads, host *h, counter *c,
	rs_als_result *r)
{
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, threads);

	return rs_als_fit_feedback(d, opt, &rt, r);
}

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_ALS_OPTION_COUNT; k++)
		opt[k] = rs_als_option_specs[k].default_value;
}

static void
build(rs_interaction_buffer *buf, rs_interactions *d)
{
	if (rs_interactions_build(buf, &rs_malloc_allocator, d) != RS_OK)
	{
		fprintf(stderr, "cannot build the planted data\n");
		exit(2);
	}
	rs_buffer_free(buf, &rs_malloc_allocator);
}

/* |x - y| over |y| (2-norms), with a floor on |y| for near-zero vectors. */
static double
relative_difference(const float *x, const float *y, int n)
{
	double		diff = 0.0,
				norm = 0.0;

	for (int k = 0; k < n; k++)
	{
		diff += ((double) x[k] - y[k]) * ((double) x[k] - y[k]);
		norm += (double) y[k] * y[k];
	}
	return sqrt(diff) / fmax(sqrt(norm), 1e-6);
}

/* The encoded model, decoded: buf must outlive the decoded view. */
static bool
round_trip(const rs_model *m, uint64_t **buf, rs_model *decoded)
{
	size_t		len = rs_model_encoded_size(m);
	const char *reason;

	*buf = malloc(len);
	rs_model_encode(m, *buf);
	reason = unit_decode(*buf, len, decoded);
	return CHECK(reason == NULL, "%s: decoding a trained model: %s",
				 rs_algorithm_name(m->algorithm), reason);
}

/*
 * Every user's training history folded in gives back the stored factors
 * (and bias), through both the algorithm's own fold-in and rs_fold_in.
 */
static void
check_fold_in_reproduces(const rs_model *m, const rs_interactions *d, const char *what)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	int			f = m->factors;
	float	   *x = malloc(sizeof(float) * f);
	float	   *y = malloc(sizeof(float) * f);
	float		bias_sink;
	double		worst = 0.0,
				worst_bias = 0.0;
	int			identical = 0,
				failures = 0;
	bool		same_path = true;

	for (int32_t u = 0; u < d->n_users; u++)
	{
		const int32_t *items = d->user_items + d->user_ptr[u];
		const float *values = d->user_values + d->user_ptr[u];
		size_t		n = d->user_ptr[u + 1] - d->user_ptr[u];
		const float *stored = m->user_factors + (size_t) u * f;
		float		bias = NAN,
					bias2 = NAN;
		rs_status	s1,
					s2;

		if (m->algorithm == RS_ALGO_ALS_EXPLICIT)
			s1 = rs_als_fold_in(m, items, values, n, &a, x, &bias);
		else
			s1 = rs_implicit_als_fold_in(m, items, values, n, &a, x);
		s2 = rs_fold_in(m, items, values, n, &a, y, &bias2);
		failures += s1 != RS_OK || s2 != RS_OK;
		if (s1 != RS_OK || s2 != RS_OK)
			continue;
		worst = fmax(worst, relative_difference(x, stored, f));
		identical += memcmp(x, stored, sizeof(float) * f) == 0;
		same_path &= memcmp(x, y, sizeof(float) * f) == 0;
		if (m->algorithm == RS_ALGO_ALS_EXPLICIT)
		{
			worst_bias = fmax(worst_bias, fabs((double) bias - m->user_bias[u]) /
							  fmax(fabs(m->user_bias[u]), 1e-2));
			same_path &= memcmp(&bias, &bias2, sizeof(float)) == 0;
		}
		else
			same_path &= bias2 == 0.0f;
	}
	printf("%s: fold-in of %d training histories: worst relative difference %.2e "
		   "(bias %.2e), %d bit-identical\n", what, d->n_users, worst, worst_bias, identical);
	CHECK(failures == 0, "%s: %d fold-ins failed", what, failures);
	/* fold-in is training's last user half-step again: the same bits, not nearly */
	CHECK(identical == d->n_users, "%s: %d of %d folded-in histories differ from the stored "
		  "factors, by up to %.3g", what, d->n_users - identical, d->n_users, worst);
	CHECK(worst_bias == 0.0, "%s: a folded-in bias differs from the stored bias by %.3g",
		  what, worst_bias);
	CHECK(same_path, "%s: rs_fold_in differs from the algorithm's fold-in", what);
	CHECK(c.outstanding == 0, "%s: fold-in leaks %ld allocations", what, c.outstanding);

	/* its single allocation failing */
	c.calls = 0;
	c.fail_at = 0;
	CHECK(rs_fold_in(m, d->user_items, d->user_values, d->user_ptr[1], &a, x, &bias_sink) ==
		  RS_NO_MEMORY, "%s: fold-in without memory", what);
	CHECK(c.outstanding == 0, "%s: fold-in without memory leaks", what);
	free(x);
	free(y);
}

/*
 * Every (user, item) explained, the unknown item too for a rating model:
 * contributions (one per training item) plus baseline equal rs_predict.
 */
static void
check_explain(const rs_model *m, const char *what)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	bool		rating = rs_model_predicts_unknown(m);
	double	   *contributions = malloc(sizeof(double) * (m->n_items + 1));
	double		worst = 0.0,
				baseline;
	int			failures = 0,
				wrong_baselines = 0,
				explained = 0;

	for (int32_t u = 0; u < m->n_users; u++)
	{
		size_t		n;

		rs_seen_items(m, u, &n);
		for (int32_t i = rating ? -1 : 0; i < m->n_items; i++)
		{
			double		sum,
						want,
						predicted = rs_predict(m, u, i);

			contributions[n] = 12345.0;	/* one past the last: must stay */
			if (rs_explain(m, u, i, &a, contributions, &baseline) != RS_OK ||
				contributions[n] != 12345.0)
			{
				failures++;
				continue;
			}
			sum = baseline;
			for (size_t k = 0; k < n; k++)
				sum += contributions[k];
			worst = fmax(worst, fabs(sum - predicted) / fmax(1.0, fabs(predicted)));
			/* the user bias prior of a history of n ratings (als.c) */
			want = rating ? m->global_mean + m->new_user_bias +
				(n > 1 ? m->params.activity_slope * logf((float) n) : 0.0f) +
				(i >= 0 ? m->item_bias[i] : m->new_item_bias) : 0.0;
			wrong_baselines += fabs(baseline - want) > 1e-6;
			explained++;
		}
	}
	printf("%s: %d explanations, worst |contributions + baseline - predict| %.2e\n", what,
		   explained, worst);
	CHECK(failures == 0, "%s: %d explanations failed or wrote past the history", what,
		  failures);
	/*
	 * Rounding alone: at most 1.52e-5 for explicit ALS (ratings, biases) and
	 * 6.3e-7 for implicit under every kernel; about 7 and 16 times that.
	 */
	CHECK(worst <= (rating ? 1e-4 : 1e-5),
		  "%s: contributions and baseline miss the prediction by %.3g", what, worst);
	CHECK(wrong_baselines == 0, "%s: %d baselines are not %s", what, wrong_baselines,
		  rating ? "mean + item bias + the user bias prior of their activity" : "0");
	CHECK(c.outstanding == 0, "%s: explanations leak %ld allocations", what, c.outstanding);

	/* each of its allocations failing in turn */
	c.calls = 0;
	rs_explain(m, 0, 0, &a, contributions, &baseline);
	for (long k = 0, calls = c.calls; k < calls; k++)
	{
		c.calls = 0;
		c.fail_at = k;
		CHECK(rs_explain(m, 0, 0, &a, contributions, &baseline) == RS_NO_MEMORY,
			  "%s: explain with allocation %ld of %ld failing", what, k, calls);
		CHECK(c.outstanding == 0, "%s: explain with allocation %ld failing leaks", what, k);
	}
	free(contributions);
}

/*
 * Scoring users in a batch (every user, unknown ones and repeats among
 * them, in an order of their own) gives each user's single scores, to float
 * rounding; a failing allocation fails it cleanly.
 */
static void
check_batch_matches_single(const rs_model *m, const char *what)
{
	size_t		n = (size_t) m->n_users + 3;
	size_t		n_items = (size_t) m->n_items;
	int32_t    *users = malloc(sizeof(int32_t) * n);
	float	   *batch = malloc(sizeof(float) * n * n_items + 1);
	float	   *single = malloc(sizeof(float) * n_items + 1);
	double		worst = 0.0;
	counter		c = new_counter();
	rs_allocator failing = {counting_alloc, counting_free, &c, NULL};

	for (size_t r = 0; r < n; r++)
		users[r] = r < (size_t) m->n_users ? (int32_t) ((r * 7) % (size_t) m->n_users) : -1;
	users[n - 1] = 0;			/* a repeat */
	if (!CHECK(rs_score_items_batch(m, users, n, &rs_malloc_allocator, batch) == RS_OK,
			   "%s: batch scoring", what))
		goto done;
	for (size_t r = 0; r < n; r++)
	{
		rs_score_items(m, users[r], &rs_malloc_allocator, single);
		for (size_t i = 0; i < n_items; i++)
			worst = fmax(worst, fabs(batch[r * n_items + i] - single[i]) / (1.0 + fabs(single[i])));
	}
	CHECK(worst <= 1e-5, "%s: batch scores differ from single ones by %.3g", what, worst);

	/* ALS scores a batch by one product, over the users' rows copied into memory it asks for */
	c.fail_at = 0;
	CHECK(rs_score_items_batch(m, users, n, &failing, batch) == RS_NO_MEMORY && c.calls == 1,
		  "%s: batch scoring with its first allocation failing (%ld calls)", what, c.calls);
	CHECK(c.outstanding == 0, "%s: batch scoring leaks on failure", what);
done:
	free(users);
	free(batch);
	free(single);
}

/* Every item's score for a user equals the single prediction. */
static void
check_scores_match_predict(const rs_model *m, const char *what)
{
	float	   *scores = malloc(sizeof(float) * m->n_items);
	double		worst = 0.0;

	for (int32_t u = rs_model_predicts_unknown(m) ? -1 : 0; u < m->n_users; u++)
	{
		rs_score_items(m, u, &rs_malloc_allocator, scores);
		for (int32_t i = 0; i < m->n_items; i++)
		{
			double		p = rs_predict(m, u, i);

			worst = fmax(worst, fabs(scores[i] - p) / (1.0 + fabs(p)));
		}
	}
	CHECK(worst <= 1e-5, "%s: rs_score_items differs from rs_predict by %.3g", what, worst);
	free(scores);
	check_batch_matches_single(m, what);
}

/*
 * The decoded model answers exactly as the trained one: every user's scores,
 * every item's neighbours, fold-in and explanations, bit for bit.
 */
static void
check_decoded_same(const rs_model *m, const rs_interactions *d, const char *what)
{
	uint64_t   *buf;
	rs_model	e;
	int			n = m->n_items,
				f = m->factors;
	float	   *x = malloc(sizeof(float) * n),
			   *y = malloc(sizeof(float) * n);
	double	   *cx = malloc(sizeof(double) * n),
			   *cy = malloc(sizeof(double) * n);
	bool		scores = true,
				similar = true,
				fold = true,
				explain = true;

	if (!round_trip(m, &buf, &e))
		goto out;
	for (int32_t u = -1; u < m->n_users; u++)
	{
		rs_score_items(m, u, &rs_malloc_allocator, x);
		rs_score_items(&e, u, &rs_malloc_allocator, y);
		scores &= memcmp(x, y, sizeof(float) * n) == 0;
	}
	for (int32_t i = 0; i < n; i++)
	{
		rs_similar_items(m, i, x);
		rs_similar_items(&e, i, y);
		similar &= memcmp(x, y, sizeof(float) * n) == 0;
	}
	for (int32_t u = 0; u < m->n_users; u += 7)
	{
		size_t		len = d->user_ptr[u + 1] - d->user_ptr[u];
		float		bx,
					by;
		double		baseline_x,
					baseline_y;
		size_t		seen;

		rs_fold_in(m, d->user_items + d->user_ptr[u], d->user_values + d->user_ptr[u], len,
				   &rs_malloc_allocator, x, &bx);
		rs_fold_in(&e, d->user_items + d->user_ptr[u], d->user_values + d->user_ptr[u], len,
				   &rs_malloc_allocator, y, &by);
		fold &= memcmp(x, y, sizeof(float) * f) == 0 && memcmp(&bx, &by, sizeof(float)) == 0;

		rs_seen_items(&e, u, &seen);
		rs_explain(m, u, u % n, &rs_malloc_allocator, cx, &baseline_x);
		rs_explain(&e, u, u % n, &rs_malloc_allocator, cy, &baseline_y);
		explain &= memcmp(cx, cy, sizeof(double) * seen) == 0 && baseline_x == baseline_y;
	}
	CHECK(scores, "%s: the decoded model scores differently", what);
	CHECK(similar, "%s: the decoded model finds other similar items", what);
	CHECK(fold, "%s: the decoded model folds in differently", what);
	CHECK(explain, "%s: the decoded model explains differently", what);
	CHECK(e.algorithm == m->algorithm &&
		  memcmp(&e.params, &m->params, sizeof(rs_model_params)) == 0,
		  "%s: the decoded model's algorithm or params", what);
out:
	free(buf);
	free(x);
	free(y);
	free(cx);
	free(cy);
}

/*
 * Explicit ALS on planted ratings mu + b_u + b_i + p_u . q_i + noise.  Users
 * 0..9 rate only their first u + 1 items (short histories: the dual solve),
 * the others about a quarter of the items (the primal solve).
 */
#define E_USERS 150
#define E_ITEMS 100
#define E_RANK 3

static void
test_explicit(void)
{
	rs_random	rng = {8675309};
	rs_interaction_buffer buf;
	rs_interactions d;
	double		opt[RS_ALS_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_als_result r;
	rs_model	m;
	static double pu[E_USERS][E_RANK],
				qi[E_ITEMS][E_RANK],
				bu[E_USERS],
				bi[E_ITEMS];

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < E_USERS; u++)
	{
		for (int k = 0; k < E_RANK; k++)
			pu[u][k] = rs_random_normal(&rng);
		bu[u] = 0.5 * rs_random_normal(&rng);
	}
	for (int i = 0; i < E_ITEMS; i++)
	{
		for (int k = 0; k < E_RANK; k++)
			qi[i][k] = rs_random_normal(&rng);
		bi[i] = 0.5 * rs_random_normal(&rng);
	}
	for (int u = 0; u < E_USERS; u++)
		for (int i = 0; i < E_ITEMS; i++)
		{
			double		value = 3.0 + bu[u] + bi[i] + 0.1 * rs_random_normal(&rng);

			for (int k = 0; k < E_RANK; k++)
				value += pu[u][k] * qi[i][k];
			if (u < 10 ? i <= u : rs_random_uniform(&rng) < 0.25)
				rs_buffer_append(&buf, &rs_malloc_allocator, 7 * (int64_t) u, 100 + (int64_t) i,
								 (float) value);
		}
	build(&buf, &d);

	/* few iterations, light regularisation: far from a fixed point, so only a
	 * fold-in that repeats the very last half-step gives the stored factors */
	default_options(opt);
	opt[RS_ALS_FACTORS] = 8;
	opt[RS_ALS_ITERATIONS] = 3;
	opt[RS_ALS_REGULARIZATION] = 0.02;
	opt[RS_ALS_PRIOR_COUNT] = 2;
	if (!CHECK(fit(&d, opt, 2, NULL, &c, &r) == RS_OK, "explicit fit"))
		return;
	CHECK(d.n_users == E_USERS && d.n_items == E_ITEMS, "explicit: every user and item rated");
	rs_als_model(&d, &r, opt, &m);
	m.info = "{}";
	m.info_size = 2;

	CHECK(rs_model_predicts_unknown(&m), "explicit ALS predicts for unknown ids");
	check_fold_in_reproduces(&m, &d, "explicit ALS");
	check_explain(&m, "explicit ALS");
	check_scores_match_predict(&m, "explicit ALS");
	check_decoded_same(&m, &d, "explicit ALS");

	/* an empty history: no factors, the newcomer's bias, the unknown user's scores */
	{
		float		x[8],
					bias = NAN;
		float		folded[E_ITEMS],
					unknown[E_ITEMS];
		bool		zero = true,
					close = true;

		if (CHECK(rs_fold_in(&m, NULL, NULL, 0, &a, x, &bias) == RS_OK, "empty fold-in"))
		{
			for (int k = 0; k < 8; k++)
				zero &= x[k] == 0.0f;
			CHECK(zero, "an empty history has non-zero factors");
			CHECK(bias == (float) m.new_user_bias, "an empty history's bias %g, want %g",
				  bias, m.new_user_bias);
			rs_score_items_for(&m, x, bias, &rs_malloc_allocator, folded);
			rs_score_items(&m, -1, &rs_malloc_allocator, unknown);
			for (int32_t i = 0; i < E_ITEMS; i++)
				close &= fabs(folded[i] - unknown[i]) <= 1e-5 * (1.0 + fabs(unknown[i]));
			CHECK(close, "an empty history does not score as an unknown user");
		}
	}
	CHECK(rs_predict(&m, -1, 3) == m.global_mean + m.new_user_bias + m.item_bias[3],
		  "explicit: an unknown user's prediction");
	CHECK(rs_predict(&m, 3, -1) == m.global_mean + m.user_bias[3] + m.new_item_bias,
		  "explicit: an unknown item's prediction");

	rs_als_result_free(&r, &a);
	CHECK(c.outstanding == 0 && !c.wrong_thread, "explicit: %ld outstanding", c.outstanding);
	rs_interactions_free(&d, &rs_malloc_allocator);
}

/*
 * Implicit feedback in four planted classes: user u and item i belong to
 * class u % 4 and i % 4 (ids ascend with u and i, so dense indices are the
 * planted ones).  Each user interacts with PER_USER items of their class,
 * values 1..5 (counts), and a quarter of the users once with an item of
 * another class.
 */
#define CLASSES 4
#define I_USERS 80
#define I_ITEMS 60
#define PER_USER 6
#define I_FACTORS 8
#define TOP 5

static rs_interactions I;		/* the implicit data */

static void
make_classes(void)
{
	rs_random	rng = {2718281828};
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < I_USERS; u++)
	{
		int			picked = 0;
		bool		chosen[I_ITEMS / CLASSES] = {false};

		while (picked < PER_USER)
		{
			int			k = (int) (rs_random_next(&rng) % (I_ITEMS / CLASSES));

			if (chosen[k])
				continue;
			chosen[k] = true;
			picked++;
			rs_buffer_append(&buf, &rs_malloc_allocator, 10 + 2 * (int64_t) u,
							 -100 + 3 * (int64_t) (k * CLASSES + u % CLASSES),
							 (float) (1 + rs_random_next(&rng) % 5));
		}
		if (rs_random_uniform(&rng) < 0.25)
		{
			int			other = (u % CLASSES + 1 + (int) (rs_random_next(&rng) % 3)) % CLASSES;
			int			k = (int) (rs_random_next(&rng) % (I_ITEMS / CLASSES));

			rs_buffer_append(&buf, &rs_malloc_allocator, 10 + 2 * (int64_t) u,
							 -100 + 3 * (int64_t) (k * CLASSES + other), 1.0f);
		}
	}
	build(&buf, &I);
	if (I.n_users != I_USERS || I.n_items != I_ITEMS)
	{
		fprintf(stderr, "the planted classes miss a user or an item\n");
		exit(2);
	}
}

static void
implicit_options(double *opt, int solver, int cg_steps, double lambda)
{
	default_options(opt);
	opt[RS_ALS_FEEDBACK] = RS_FEEDBACK_IMPLICIT;
	opt[RS_ALS_FACTORS] = I_FACTORS;
	opt[RS_ALS_ALPHA] = 40;
	opt[RS_ALS_REGULARIZATION] = lambda;
	opt[RS_ALS_SOLVER] = solver;
	opt[RS_ALS_CG_STEPS] = cg_steps;
}

/* Whether every item of class `cls` but `except` outscores every other item. */
static bool
class_on_top(const float *scores, int cls, int32_t except)
{
	float		lowest_in = INFINITY,
				highest_out = -INFINITY;

	for (int32_t i = 0; i < I_ITEMS; i++)
	{
		if (i == except)
			continue;
		if (i % CLASSES == cls)
			lowest_in = fminf(lowest_in, scores[i]);
		else
			highest_out = fmaxf(highest_out, scores[i]);
	}
	return lowest_in > highest_out;
}

static void
test_implicit(int solver, int cg_steps, double lambda)
{
	double		opt[RS_ALS_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	host		h = new_host(0);
	rs_als_result r;
	rs_model	m;
	char		what[96];
	float		scores[I_ITEMS];
	int			f = I_FACTORS;
	size_t		want = lambda < 400 ?
		I_ITEMS / CLASSES - 3 : TOP;

	if (solver == RS_SOLVER_CHOLESKY)
		snprintf(what, sizeof(what), "implicit ALS (cholesky, regularization %g)", lambda);
	else
		snprintf(what, sizeof(what), "implicit ALS (cg, %d steps, regularization %g)",
				 cg_steps, lambda);
	implicit_options(opt, solver, cg_steps, lambda);
	if (!CHECK(fit(&I, opt, 2, &h, &c, &r) == RS_OK, "%s: fit", what))
		return;
	rs_als_model(&I, &r, opt, &m);
	m.info = "{}";
	m.info_size = 2;

	printf("%s: loss %.5f -> %.5f over %d iterations\n", what, r.loss[0],
		   r.loss[r.iterations - 1], r.iterations);
	CHECK(r.iterations == (int) opt[RS_ALS_ITERATIONS] && h.reports == r.iterations,
		  "%s: %d iterations, %d reports", what, r.iterations, h.reports);
	CHECK(r.loss[r.iterations - 1] < r.loss[0], "%s: loss %.6g -> %.6g did not decrease",
		  what, r.loss[0], r.loss[r.iterations - 1]);
	CHECK(!h.wrong_thread && !c.wrong_thread, "%s: a host callback ran on a worker", what);

	/*
	 * The last loss is the confidence-weighted squared error over every
	 * (user, item) pair, per unit of confidence, computed here the slow way.
	 */
	{
		double		error = 0.0,
					weight = 0.0;

		for (int32_t u = 0; u < I_USERS; u++)
		{
			size_t		k = I.user_ptr[u];

			for (int32_t i = 0; i < I_ITEMS; i++)
			{
				double		score = 0.0,
							p = 0.0,
							conf = 1.0;

				for (int j = 0; j < f; j++)
					score += (double) r.user_factors[u * f + j] * r.item_factors[i * f + j];
				if (k < I.user_ptr[u + 1] && I.user_items[k] == i)
				{
					p = I.user_values[k] > 0 ? 1.0 : 0.0;
					conf = 1.0 + opt[RS_ALS_ALPHA] * I.user_values[k];
					k++;
				}
				error += conf * (p - score) * (p - score);
				weight += conf;
			}
		}
		/* off by at most 1.4e-7 relative under every kernel */
		CHECK(fabs(r.loss[r.iterations - 1] - error / weight) <= 1e-6 * (error / weight),
			  "%s: final loss %.9g, want the weighted squared error %.9g", what,
			  r.loss[r.iterations - 1], error / weight);
	}

	/* the model: no biases, Y'Y of the final items, the training params */
	CHECK(m.algorithm == RS_ALGO_ALS_IMPLICIT, "%s: algorithm %d", what, (int) m.algorithm);
	CHECK(m.user_bias == NULL && m.item_bias == NULL, "%s: an implicit model has biases", what);
	CHECK(m.params.alpha == 40.0f && m.params.regularization == (float) lambda,
		  "%s: params alpha %g, regularization %g", what, m.params.alpha,
		  m.params.regularization);
	CHECK(!rs_model_predicts_unknown(&m), "%s: predicts for unknown ids", what);
	if (CHECK(m.item_gram != NULL, "%s: no item Gram matrix", what))
	{
		double		worst = 0.0;
		bool		symmetric = true;

		for (int p = 0; p < f; p++)
			for (int q = 0; q < f; q++)
			{
				double		sum = 0.0,
							scale = 0.0;

				for (int32_t i = 0; i < I_ITEMS; i++)
				{
					sum += (double) m.item_factors[i * f + p] * m.item_factors[i * f + q];
					scale += fabs((double) m.item_factors[i * f + p] * m.item_factors[i * f + q]);
				}
				worst = fmax(worst, fabs(m.item_gram[p * f + q] - sum) / fmax(scale, 1e-12));
				symmetric &= m.item_gram[p * f + q] == m.item_gram[q * f + p];
			}
		CHECK(worst < 1e-5, "%s: item_gram is not Y'Y: relative error %.3g", what, worst);
		CHECK(symmetric, "%s: item_gram is not stored symmetric", what);
	}

	/* every user's best unseen items are of their class */
	{
		int			wrong_users = 0,
					first_wrong = -1;

		for (int32_t u = 0; u < I_USERS; u++)
		{
			size_t		n_seen,
						got;
			const int32_t *seen = rs_seen_items(&m, u, &n_seen);
			rs_scored	top[TOP];
			bool		right = true;

			rs_score_items(&m, u, &rs_malloc_allocator, scores);
			got = rs_top_k(scores, I_ITEMS, seen, n_seen, TOP, top);
			right = got == TOP;
			for (size_t k = 0; k < got; k++)
			{
				right &= top[k].index % CLASSES == u % CLASSES;
				for (size_t s = 0; s < n_seen; s++)
					right &= top[k].index != seen[s];
			}
			if (!right && wrong_users++ == 0)
				first_wrong = u;
		}
		CHECK(wrong_users == 0, "%s: %d users' top %d unseen items leave their class "
			  "(first: user %d)", what, wrong_users, TOP, first_wrong);
	}

	check_scores_match_predict(&m, what);
	check_fold_in_reproduces(&m, &I, what);
	check_explain(&m, what);

	/* a history entry of value 0 has confidence 1 and preference 0: no effect */
	{
		int32_t		items[3] = {0, 4, 8};
		float		values[3] = {2.0f, 3.0f, 0.0f};
		float		with[I_FACTORS],
					without[I_FACTORS],
					bias;

		rs_fold_in(&m, items, values, 3, &a, with, &bias);
		rs_fold_in(&m, items, values, 2, &a, without, &bias);
		CHECK(relative_difference(with, without, f) <= 1e-6,
			  "%s: a zero value changes the folded-in user by %.3g", what,
			  relative_difference(with, without, f));
	}

	/*
	 * A newcomer with three items of a class prefers the rest of that class:
	 * all of it, or on the heavily regularised default its first TOP.
	 */
	for (int cls = 0; cls < CLASSES; cls++)
	{
		int32_t		items[3] = {cls, cls + CLASSES, cls + 2 * CLASSES};
		float		values[3] = {1.0f, 2.0f, 1.0f};
		float		x[I_FACTORS],
					bias = NAN;

		if (!CHECK(rs_fold_in(&m, items, values, 3, &a, x, &bias) == RS_OK,
				   "%s: fold-in of class %d", what, cls))
			continue;
		CHECK(bias == 0.0f, "%s: an implicit fold-in has bias %g", what, bias);
		rs_score_items_for(&m, x, 0.0f, &rs_malloc_allocator, scores);
		{
			rs_scored	top[I_ITEMS];
			size_t		got = rs_top_k(scores, I_ITEMS, items, 3, I_ITEMS, top),
						in_class = 0;

			while (in_class < got && top[in_class].index % CLASSES == cls)
				in_class++;
			CHECK(in_class >= want,
				  "%s: a newcomer with three items of class %d: an item of another class "
				  "ranks %zu, want the class's first %zu", what, cls, in_class + 1, want);
		}
	}

	/* unknown ids: no prediction; an unknown user's scores are popularity */
	CHECK(isnan(rs_predict(&m, -1, 0)) && isnan(rs_predict(&m, 0, -1)) &&
		  isnan(rs_predict(&m, -1, -1)), "%s: a prediction for an unknown id is not NaN", what);
	rs_score_items(&m, -1, &rs_malloc_allocator, scores);
	{
		bool		popular = true;

		for (int32_t i = 0; i < I_ITEMS; i++)
			popular &= scores[i] == m.item_popularity[i] &&
				m.item_popularity[i] == (float) (I.item_ptr[i + 1] - I.item_ptr[i]);
		CHECK(popular, "%s: an unknown user's scores are not the items' training users", what);
	}

	/* similar items: cosines, the item itself at 1, its class nearest */
	{
		double		worst_self = 0.0;
		bool		bounded = true;
		int			wrong_items = 0;

		for (int32_t i = 0; i < I_ITEMS; i++)
		{
			rs_similar_items(&m, i, scores);
			for (int32_t j = 0; j < I_ITEMS; j++)
				bounded &= scores[j] >= -1.0f - 1e-5f && scores[j] <= 1.0f + 1e-5f;
			worst_self = fmax(worst_self, fabs(scores[i] - 1.0));
			wrong_items += !class_on_top(scores, i % CLASSES, i);
		}
		CHECK(bounded, "%s: a similarity outside [-1, 1]", what);
		CHECK(worst_self <= 1e-5, "%s: an item's similarity to itself is off 1 by %.3g", what,
			  worst_self);
		CHECK(wrong_items == 0, "%s: %d items have a nearer item outside their class", what,
			  wrong_items);
	}

	check_decoded_same(&m, &I, what);
	rs_als_result_free(&r, &a);
	CHECK(c.outstanding == 0, "%s: %ld outstanding", what, c.outstanding);
}

static bool
same_result(const rs_als_result *x, const rs_als_result *y)
{
	size_t		f = (size_t) x->factors;

	return x->factors == y->factors && x->iterations == y->iterations &&
		memcmp(x->user_factors, y->user_factors, sizeof(float) * f * I_USERS) == 0 &&
		memcmp(x->item_factors, y->item_factors, sizeof(float) * f * I_ITEMS) == 0 &&
		memcmp(x->item_gram, y->item_gram, sizeof(float) * f * f) == 0 &&
		memcmp(x->item_popularity, y->item_popularity, sizeof(float) * I_ITEMS) == 0 &&
		memcmp(x->loss, y->loss, sizeof(double) * x->iterations) == 0;
}

/* The same bits on 1, 2 and 3 threads, and twice on one count. */
static void
test_implicit_determinism(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};

	for (int solver = RS_SOLVER_CG; solver <= RS_SOLVER_CHOLESKY; solver++)
	{
		double		opt[RS_ALS_OPTION_COUNT];
		rs_als_result one,
					other;

		implicit_options(opt, solver, 3, 1.0);
		if (!CHECK(fit(&I, opt, 1, NULL, &c, &one) == RS_OK, "implicit fit on 1 thread"))
			continue;
		for (int threads = 1; threads <= 3; threads++)
		{
			if (!CHECK(fit(&I, opt, threads, NULL, &c, &other) == RS_OK,
					   "implicit fit on %d threads", threads))
				continue;
			CHECK(same_result(&one, &other), "implicit (solver %d): the fit on %d threads "
				  "differs from the one on 1", solver, threads);
			rs_als_result_free(&other, &a);
		}
		rs_als_result_free(&one, &a);
	}
	CHECK(c.outstanding == 0, "%ld outstanding", c.outstanding);
}

/* An implicit fit with options opt (ctx), freed if it succeeds. */
static rs_status
implicit_fit_and_free(void *ctx, int threads, host *h, counter *c)
{
	rs_als_result r;
	rs_status	status = fit(&I, ctx, threads, h, c, &r);

	if (status == RS_OK)
		rs_als_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, c, NULL});
	return status;
}

/* The iterations whose last poll came before the stop still report. */
static void
completed_report(void *ctx, const char *what, const host *full, const host *h, int stop_at,
				 rs_status status)
{
	int			completed = 0;

	(void) ctx;
	(void) status;
	for (int k = 0; k < full->reports; k++)
		completed += full->polls_at_report[k] < stop_at;
	CHECK(h->reports == completed, "%s: stop at poll %d: %d iterations reported, want %d",
		  what, stop_at, h->reports, completed);
}

/*
 * Alone, the calling thread polls a fixed number of times: a stop at any of
 * them cancels and frees everything; one past the last, the fit ends.  With
 * workers, at every few polls.
 */
static void
test_implicit_cancel(void)
{
	double		opt[RS_ALS_OPTION_COUNT];

	implicit_options(opt, RS_SOLVER_CG, 3, 1.0);
	opt[RS_ALS_ITERATIONS] = 2;
	unit_cancel_at_every_poll("implicit", implicit_fit_and_free, completed_report, opt, 2 * 3,
							  2, 3);
}

/* Every allocation of an implicit fit failing in turn: RS_NO_MEMORY, no leak. */
static void
test_implicit_out_of_memory(void)
{
	for (int solver = RS_SOLVER_CG; solver <= RS_SOLVER_CHOLESKY; solver++)
	{
		double		opt[RS_ALS_OPTION_COUNT];
		char		what[64];

		implicit_options(opt, solver, 3, 1.0);
		opt[RS_ALS_ITERATIONS] = 1;
		snprintf(what, sizeof(what), "implicit (solver %d)", solver);
		unit_fail_each_allocation(what, implicit_fit_and_free, opt, 2, 6);
	}
}

int
main(void)
{
	double		started = rs_now();

	rs_blas_single_threaded();
	test_explicit();
	make_classes();
	test_implicit(RS_SOLVER_CG, 3, 400);
	test_implicit(RS_SOLVER_CHOLESKY, 3, 400);
	test_implicit(RS_SOLVER_CG, 1, 100);
	test_implicit(RS_SOLVER_CHOLESKY, 3, 100);
	test_implicit_determinism();
	test_implicit_cancel();
	test_implicit_out_of_memory();
	rs_interactions_free(&I, &rs_malloc_allocator);
	printf("%.2f s\n", rs_now() - started);
	return unit_done();
}
