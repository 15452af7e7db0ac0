/*
 * test_bpr.c - BPR: ranking on planted clustered data, the falling loss,
 * bit-identical fits on one thread, the model view and its encoding, the
 * host callbacks, degenerate data, divergence, cancellation and running out
 * of memory without leaks.
 */
#include "core/bpr.h"
#include "core/random.h"
#include "core/scoring.h"

#include "unit.h"
#include "planted.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The host: counts should_stop polls and records progress reports. */

static rs_status
fit(const rs_interactions *d, const double *opt, int threads, host *h, counter *c,
	rs_bpr_result *r)
{
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, threads);

	return rs_bpr_fit(d, opt, &rt, r);
}

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_BPR_OPTION_COUNT; k++)
		opt[k] = rs_bpr_option_specs[k].default_value;
}

static void
planted_options(double *opt)
{
	default_options(opt);
	opt[RS_BPR_FACTORS] = 8;
	opt[RS_BPR_EPOCHS] = 30;
	opt[RS_BPR_LEARNING_RATE] = 0.05;
	opt[RS_BPR_REGULARIZATION] = 0.01;
}

/* BPR's score by hand, as a double for planted_auc (a float converts exactly). */
static double
score(const rs_model *m, int32_t u, int32_t i)
{
	float		s = m->item_bias[i];

	for (int k = 0; k < m->factors; k++)
		s += m->user_factors[(size_t) u * m->factors + k] *
			m->item_factors[(size_t) i * m->factors + k];
	return s;
}

static bool
same_result(const rs_bpr_result *x, const rs_bpr_result *y, const rs_interactions *d)
{
	size_t		f = (size_t) x->factors;

	return x->factors == y->factors && x->epochs == y->epochs &&
		memcmp(x->user_factors, y->user_factors, sizeof(float) * f * d->n_users) == 0 &&
		memcmp(x->item_factors, y->item_factors, sizeof(float) * f * d->n_items) == 0 &&
		memcmp(x->item_bias, y->item_bias, sizeof(float) * d->n_items) == 0 &&
		memcmp(x->item_popularity, y->item_popularity, sizeof(float) * d->n_items) == 0 &&
		memcmp(x->loss, y->loss, sizeof(double) * x->epochs) == 0;
}

static void
test_planted(void)
{
	double		opt[RS_BPR_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	host		h = new_host(0);
	rs_bpr_result r,
				again;
	rs_model	m;
	rs_model_params params = {.regularization = 0.25f, .learning_rate = 0.5f};
	rs_status	status;
	double		started,
				held_auc,
				class_auc;
	int			epochs;
	bool		in_order = true,
				matching = true,
				popularity = true;

	planted_options(opt);
	epochs = (int) opt[RS_BPR_EPOCHS];
	started = rs_now();
	status = fit(&P.train, opt, 1, &h, &c, &r);
	printf("planted %d classes, %dx%d, %zu interactions, %d epochs: fit in %.3f s\n",
		   CLASSES, USERS, ITEMS, P.train.nnz, epochs, rs_now() - started);
	if (!CHECK(status == RS_OK, "fit: status %d", (int) status))
		return;
	CHECK(P.train.n_users == USERS && P.train.n_items == ITEMS, "every user and item trains");
	CHECK(r.factors == 8 && r.epochs == epochs, "factors %d, epochs %d", r.factors, r.epochs);

	rs_bpr_model(&P.train, &r, &params, &m);
	CHECK(m.algorithm == RS_ALGO_BPR && m.n_users == USERS && m.n_items == ITEMS &&
		  m.n_interactions == P.train.nnz && m.factors == 8, "model shape");
	CHECK(m.user_ids == P.train.user_ids && m.item_ids == P.train.item_ids &&
		  m.user_factors == r.user_factors && m.item_factors == r.item_factors &&
		  m.item_bias == r.item_bias && m.item_popularity == r.item_popularity &&
		  m.seen_ptr == (const uint64_t *) P.train.user_ptr &&
		  m.seen_items == P.train.user_items && m.seen_values == P.train.user_values,
		  "the model views the result and the data");
	CHECK(m.user_bias == NULL && m.item_gram == NULL && m.info == NULL &&
		  m.global_mean == 0.0 && m.params.regularization == 0.25f &&
		  m.params.learning_rate == 0.5f, "model extras");
	for (int32_t i = 0; i < P.train.n_items; i++)
		popularity &= r.item_popularity[i] ==
			(float) (P.train.item_ptr[i + 1] - P.train.item_ptr[i]);
	CHECK(popularity, "item popularity is not the number of training users");

	planted_auc(&m, score, &held_auc, &class_auc);
	printf("AUC of held-out positives %.4f, of unseen same-class items %.4f; "
		   "loss %.4f -> %.4f\n", held_auc, class_auc, r.loss[0], r.loss[epochs - 1]);
	CHECK(held_auc > 0.9, "held-out AUC %.4f, want > 0.9", held_auc);
	CHECK(class_auc > 0.9, "same-class AUC %.4f, want > 0.9", class_auc);
	CHECK(r.loss[epochs - 1] < r.loss[0], "loss %.4f -> %.4f did not decrease",
		  r.loss[0], r.loss[epochs - 1]);
	CHECK(fabs(r.loss[0] - log(2.0)) < 0.05, "first loss %.4f, want near ln 2",
		  r.loss[0]);

	/* one progress report per epoch, in order, on the calling thread */
	CHECK(h.reports == epochs, "%d progress reports for %d epochs", h.reports, epochs);
	for (int k = 0; k < h.reports && k < UNIT_MAX_PROGRESS; k++)
	{
		in_order &= h.iteration[k] == k + 1;
		matching &= h.loss[k] == r.loss[k] && h.seconds[k] >= 0.0;
	}
	CHECK(in_order, "progress epochs are not 1, 2, 3...");
	CHECK(matching, "progress losses differ from the result's");
	CHECK(h.polls >= epochs, "should_stop polled %d times in %d epochs", h.polls, epochs);
	CHECK(!h.wrong_thread && !c.wrong_thread, "a host callback ran on a worker thread");

	/* the encoded model decodes to the same scores */
	{
		size_t		len;
		uint64_t   *buf;
		rs_model	d;
		const char *reason;
		bool		same = true;

		m.info = "{}";
		m.info_size = 2;
		len = rs_model_encoded_size(&m);
		buf = malloc(len);
		rs_model_encode(&m, buf);
		reason = unit_decode(buf, len, &d);
		if (CHECK(reason == NULL, "decoding a trained model: %s", reason))
		{
			for (int32_t u = 0; u < USERS; u += 7)
				for (int32_t i = 0; i < ITEMS; i += 3)
					same &= score(&d, u, i) == score(&m, u, i);
			CHECK(same, "the decoded model scores differently");
			CHECK(d.algorithm == RS_ALGO_BPR && d.params.regularization == 0.25f &&
				  memcmp(d.item_popularity, r.item_popularity, sizeof(float) * ITEMS) == 0 &&
				  memcmp(d.seen_values, P.train.user_values,
						 sizeof(float) * P.train.nnz) == 0, "decoded sections");
		}
		free(buf);
	}

	/* one thread: the same seed gives the same bits */
	status = fit(&P.train, opt, 1, NULL, &c, &again);
	if (CHECK(status == RS_OK, "second fit: status %d", (int) status))
	{
		CHECK(same_result(&r, &again, &P.train), "two fits on one thread differ");
		rs_bpr_result_free(&again, &a);
	}
	/* another seed gives another model */
	opt[RS_BPR_SEED] = 7;
	status = fit(&P.train, opt, 1, NULL, &c, &again);
	if (CHECK(status == RS_OK, "fit with seed 7: status %d", (int) status))
	{
		CHECK(!same_result(&r, &again, &P.train), "seeds 42 and 7 give the same model");
		rs_bpr_result_free(&again, &a);
	}
	opt[RS_BPR_SEED] = 42;

	/* several threads: the same quality, if not the same bits */
	h = new_host(0);
	status = fit(&P.train, opt, 3, &h, &c, &again);
	if (CHECK(status == RS_OK, "fit on 3 threads: status %d", (int) status))
	{
		rs_model	m3;

		rs_bpr_model(&P.train, &again, &params, &m3);
		planted_auc(&m3, score, &held_auc, &class_auc);
		printf("on 3 threads: AUC %.4f and %.4f, final loss %.4f\n", held_auc, class_auc,
			   again.loss[epochs - 1]);
		CHECK(held_auc > 0.9 && class_auc > 0.9, "AUC on 3 threads %.4f, %.4f",
			  held_auc, class_auc);
		CHECK(fabs(again.loss[epochs - 1] - r.loss[epochs - 1]) < 0.1 * r.loss[epochs - 1],
			  "final loss on 3 threads %.4f, on 1 %.4f", again.loss[epochs - 1],
			  r.loss[epochs - 1]);
		CHECK(h.reports == epochs && !h.wrong_thread && !c.wrong_thread,
			  "callbacks on 3 threads");
		rs_bpr_result_free(&again, &a);
	}

	/* negatives drawn by popularity still separate the classes */
	opt[RS_BPR_NEGATIVES] = RS_NEGATIVES_POPULARITY;
	status = fit(&P.train, opt, 1, NULL, &c, &again);
	if (CHECK(status == RS_OK, "fit with popularity negatives: status %d", (int) status))
	{
		rs_model	mp;

		rs_bpr_model(&P.train, &again, NULL, &mp);
		planted_auc(&mp, score, &held_auc, &class_auc);
		printf("popularity negatives: AUC %.4f and %.4f, loss %.4f -> %.4f\n", held_auc,
			   class_auc, again.loss[0], again.loss[epochs - 1]);
		CHECK(held_auc > 0.9 && class_auc > 0.9, "AUC with popularity negatives %.4f, %.4f",
			  held_auc, class_auc);
		CHECK(!same_result(&r, &again, &P.train), "popularity negatives change nothing");
		rs_bpr_result_free(&again, &a);
	}

	rs_bpr_result_free(&r, &a);
	CHECK(c.outstanding == 0, "%ld allocations outstanding after freeing the results",
		  c.outstanding);
}

/*
 * Users of every item have no negatives: their triples are skipped.  With a
 * single item nobody has one, and every epoch's loss is 0.  A learning rate
 * far too large sends the factors to infinity, which the fit reports.
 */
static void
test_degenerate(void)
{
	rs_interaction_buffer buf;
	rs_interactions d;
	rs_bpr_result r;
	double		opt[RS_BPR_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_status	status;

	/* user 0 has every item, the others two each */
	memset(&buf, 0, sizeof(buf));
	for (int i = 0; i < 20; i++)
		rs_buffer_append(&buf, &rs_malloc_allocator, 0, i, 1.0f);
	for (int u = 1; u < 30; u++)
	{
		rs_buffer_append(&buf, &rs_malloc_allocator, u, u % 20, 1.0f);
		rs_buffer_append(&buf, &rs_malloc_allocator, u, (u * 7 + 3) % 20, 1.0f);
	}
	if (!CHECK(rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK, "build"))
		return;
	rs_buffer_free(&buf, &rs_malloc_allocator);
	default_options(opt);
	opt[RS_BPR_FACTORS] = 4;
	opt[RS_BPR_EPOCHS] = 5;
	status = fit(&d, opt, 2, NULL, &c, &r);
	if (CHECK(status == RS_OK, "a user of every item: status %d", (int) status))
	{
		bool		finite = true;

		for (int k = 0; k < 4; k++)
			finite &= isfinite(r.user_factors[k]);
		CHECK(finite && r.loss[4] > 0.0 && isfinite(r.loss[4]),
			  "a user of every item: loss %g", r.loss[4]);
		rs_bpr_result_free(&r, &a);
	}

	/* divergence */
	opt[RS_BPR_LEARNING_RATE] = 1e6;
	opt[RS_BPR_EPOCHS] = 50;
	status = fit(&d, opt, 1, NULL, &c, &r);
	CHECK(status == RS_NUMERICAL_FAILURE, "learning rate 1e6: status %d", (int) status);
	if (status == RS_OK)
		rs_bpr_result_free(&r, &a);
	CHECK(c.outstanding == 0, "%ld allocations outstanding after divergence", c.outstanding);
	rs_interactions_free(&d, &rs_malloc_allocator);

	/* one item, so no negatives at all */
	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < 10; u++)
		rs_buffer_append(&buf, &rs_malloc_allocator, u, 5, 1.0f);
	if (!CHECK(rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK, "build"))
		return;
	rs_buffer_free(&buf, &rs_malloc_allocator);
	default_options(opt);
	opt[RS_BPR_EPOCHS] = 3;
	status = fit(&d, opt, 2, NULL, &c, &r);
	if (CHECK(status == RS_OK, "a single item: status %d", (int) status))
	{
		CHECK(r.epochs == 3 && r.loss[0] == 0.0 && r.loss[2] == 0.0 && r.item_bias[0] == 0.0f,
			  "a single item: epochs %d, loss %g, bias %g", r.epochs, r.loss[0],
			  r.item_bias[0]);
		CHECK(r.item_popularity[0] == 10.0f, "popularity %g", r.item_popularity[0]);
		rs_bpr_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* A fit on the planted data with options opt (ctx), freed if it succeeds. */
static rs_status
fit_and_free(void *ctx, int threads, host *h, counter *c)
{
	rs_bpr_result r;
	rs_status	status = fit(&P.train, ctx, threads, h, c, &r);

	if (status == RS_OK)
		rs_bpr_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, c, NULL});
	return status;
}

static void
test_cancel(void)
{
	double		opt[RS_BPR_OPTION_COUNT];
	counter		c = new_counter();
	host		h;
	rs_bpr_result r;
	rs_status	status;

	/* a long fit stopped at the fourth poll ends within the first epoch */
	planted_options(opt);
	opt[RS_BPR_EPOCHS] = 10000;
	h = new_host(4);
	status = fit(&P.train, opt, 2, &h, &c, &r);
	CHECK(status == RS_CANCELLED, "status %d, want RS_CANCELLED", (int) status);
	CHECK(h.reports <= 1, "%d epochs ran after the stop", h.reports);
	CHECK(h.polls == 4, "polled %d times after saying stop at 4", h.polls);
	CHECK(c.outstanding == 0, "%ld allocations outstanding after a cancel", c.outstanding);
	CHECK(!h.wrong_thread && !c.wrong_thread, "a host callback ran on a worker thread");

	/* a cancel at every poll of a 3-epoch fit, and with workers at every other */
	opt[RS_BPR_EPOCHS] = 3;
	unit_cancel_at_every_poll("BPR", fit_and_free, unit_stops_within_3_epochs, opt, 3 * 2, 3, 2);
}

static void
test_out_of_memory(void)
{
	double		opt[RS_BPR_OPTION_COUNT];

	planted_options(opt);
	opt[RS_BPR_EPOCHS] = 1;
	unit_fail_each_allocation("BPR", fit_and_free, opt, 2, 6);
}

/* The option table: names in enum order, and the documented ranges. */
static void
test_options(void)
{
	static const char *const names[RS_BPR_OPTION_COUNT] = {
		"factors", "epochs", "learning_rate", "regularization", "bias_regularization",
		"negatives", "seed", "threads", "verbose", "users"
	};
	const rs_option_spec *s = rs_bpr_option_specs;
	bool		named = true;

	for (int k = 0; k < RS_BPR_OPTION_COUNT; k++)
		named &= s[k].name && strcmp(s[k].name, names[k]) == 0;
	CHECK(named, "option names are not in enum order");
	CHECK(s[RS_BPR_FACTORS].default_value == 64 && s[RS_BPR_FACTORS].max == RS_MODEL_MAX_FACTORS,
		  "factors");
	CHECK(s[RS_BPR_LEARNING_RATE].min == 0 && s[RS_BPR_LEARNING_RATE].min_exclusive,
		  "learning_rate must be > 0");
	CHECK(s[RS_BPR_REGULARIZATION].min == 0 && !s[RS_BPR_REGULARIZATION].min_exclusive,
		  "regularization may be 0");
	CHECK(s[RS_BPR_NEGATIVES].type == RS_OPT_CHOICE &&
		  strcmp(s[RS_BPR_NEGATIVES].choices[RS_NEGATIVES_UNIFORM], "uniform") == 0 &&
		  strcmp(s[RS_BPR_NEGATIVES].choices[RS_NEGATIVES_POPULARITY], "popularity") == 0 &&
		  s[RS_BPR_NEGATIVES].choices[2] == NULL, "negatives choices");
	CHECK(s[RS_BPR_SEED].default_value == 42 && s[RS_BPR_SEED].max == 2147483647, "seed");
	CHECK(s[RS_BPR_THREADS].default_value == 0 && s[RS_BPR_VERBOSE].type == RS_OPT_BOOL,
		  "threads, verbose");
}

/* An allocator that remembers the largest block it was asked for. */
static void *
largest_alloc(void *ctx, size_t size)
{
	size_t	   *largest = ctx;

	if (size > *largest)
		*largest = size;
	return malloc(size);
}

static void
plain_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

/*
 * Explanations add up to the score, for a short history and for a user of
 * many more items than factors, whose explanation must take memory in
 * proportion to the history, not its square (a Gram matrix of 3000 x 3000
 * floats would be 36 MB).
 */
static void
test_explain(void)
{
	enum
	{
		F = 8, N = 3000
	};
	static int64_t user_ids[2] = {10, 20},
				item_ids[N];
	static float user_factors[2 * F],
				item_factors[N * F],
				item_bias[N],
				values[N + 3];
	static uint64_t seen_ptr[3] = {0, 3, N + 3};
	static int32_t seen_items[N + 3];
	static double contributions[N + 1];
	rs_random	rng = {77};
	rs_model	m;
	size_t		largest = 0;
	rs_allocator a = {largest_alloc, plain_free, &largest, NULL};
	double		worst = 0.0;

	for (int k = 0; k < 2 * F; k++)
		user_factors[k] = (float) rs_random_uniform(&rng) - 0.5f;
	for (int i = 0; i < N; i++)
	{
		item_ids[i] = 5 * (int64_t) i;
		item_bias[i] = (float) rs_random_uniform(&rng) * 0.1f;
		for (int k = 0; k < F; k++)
			item_factors[i * F + k] = (float) rs_random_uniform(&rng) - 0.5f;
		seen_items[3 + i] = i;
		values[3 + i] = 1.0f;
	}
	seen_items[0] = 2;
	seen_items[1] = 40;
	seen_items[2] = 41;
	values[0] = values[1] = values[2] = 1.0f;
	memset(&m, 0, sizeof(m));
	m.algorithm = RS_ALGO_BPR;
	m.n_users = 2;
	m.n_items = N;
	m.factors = F;
	m.user_ids = user_ids;
	m.item_ids = item_ids;
	m.user_factors = user_factors;
	m.item_factors = item_factors;
	m.item_bias = item_bias;
	m.seen_ptr = seen_ptr;
	m.seen_items = seen_items;
	m.seen_values = values;

	for (int32_t u = 0; u < 2; u++)
		for (int32_t i = 0; i < N; i += 97)
		{
			size_t		n;
			double		sum;

			rs_seen_items(&m, u, &n);
			if (!CHECK(rs_explain(&m, u, i, &a, contributions, &sum) == RS_OK,
					   "explain user %d item %d", u, i))
				return;
			for (size_t k = 0; k < n; k++)
				sum += contributions[k];
			worst = fmax(worst, fabs(sum - rs_predict(&m, u, i)));
		}
	printf("BPR explanations: worst |contributions + baseline - predict| %.2e, "
		   "largest allocation %zu bytes\n", worst, largest);
	/* at most 1.7e-7 under every kernel */
	CHECK(worst <= 1e-6, "BPR contributions and baseline miss the prediction by %.3g", worst);
	CHECK(largest <= sizeof(float) * F * N,
		  "a BPR explanation of %d items allocates %zu bytes at once", N, largest);
}

int
main(void)
{
	make_planted();
	test_options();
	test_planted();
	test_degenerate();
	test_cancel();
	test_out_of_memory();
	test_explain();
	rs_interactions_free(&P.train, &rs_malloc_allocator);
	return unit_done();
}
