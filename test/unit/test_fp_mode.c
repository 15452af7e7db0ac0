/*
 * test_fp_mode.c - the engine computes with subnormals flushed and never
 * lets the host see it: the caller's floating-point mode, whatever it is,
 * is the one every host callback runs in and the one left behind by every
 * fit and scorer; a network trained with a strong penalty keeps no
 * subnormal weight.  What flushing saves in time is measured by make bench
 * (test/bench/subnormal_scoring.c), not here.
 */
#include "core/implicit_als.h"
#include "core/fp_mode.h"
#include "core/ncf.h"
#include "core/scoring.h"
#include "core/thread_pool.h"

#include "unit.h"
#include "planted.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xmmintrin.h>

/* The control bits of MXCSR: its low six bits are sticky exception flags. */
#define MODE() (_mm_getcsr() & ~0x3fu)

/* A caller's mode unlike the engine's: no flushing, rounding towards zero. */
#define CALLER_MODE ((MODE() & ~0x8040u & ~_MM_ROUND_MASK) | _MM_ROUND_TOWARD_ZERO)

/* Host callbacks that note any call made in another mode than the caller's. */
typedef struct mode_host
{
	unsigned int caller;
	int			calls;
	int			wrong_mode;
} mode_host;

static void
note(mode_host *h)
{
	h->calls++;
	h->wrong_mode += MODE() != h->caller;
}

static void *
noting_alloc(void *ctx, size_t size)
{
	note(ctx);
	return malloc(size);
}

static void
noting_free(void *ctx, void *ptr)
{
	note(ctx);
	free(ptr);
}

static void *
noting_realloc(void *ctx, void *ptr, size_t size)
{
	note(ctx);
	return realloc(ptr, size);
}

static bool
noting_should_stop(void *arg)
{
	note(arg);
	return false;
}

static void
noting_progress(void *arg, int iteration, double loss, double seconds)
{
	(void) iteration;
	(void) loss;
	(void) seconds;
	note(arg);
}

static rs_runtime
noting_runtime(mode_host *h, int threads)
{
	rs_runtime	rt = {{noting_alloc, noting_free, h, noting_realloc},
					  noting_should_stop, noting_progress, h, threads};

	return rt;
}

static size_t
count_subnormal(const float *x, size_t n)
{
	size_t		count = 0;

	for (size_t k = 0; k < n; k++)
		count += x[k] != 0.0f && fabsf(x[k]) < FLT_MIN;
	return count;
}

/* The switch itself: a product below FLT_MIN is zero inside, kept outside. */
static void
test_switch(void)
{
	volatile float tiny = FLT_MIN / 8,
				half = 0.5f;
	unsigned int before = MODE();
	rs_fp_mode	host = rs_fp_flush_subnormals();
	float		inside = tiny * half;
	bool		flushing = rs_fp_flushing();

	rs_fp_restore(host);
	CHECK(flushing && inside == 0.0f, "flushing %d, FLT_MIN/16 is %g", flushing, inside);
	{
		float		outside = tiny * half;

		CHECK(!rs_fp_flushing() && outside > 0.0f && MODE() == before,
			  "after restoring: FLT_MIN/16 is %g, the mode %#x, was %#x", outside,
			  MODE(), before);
	}
}

static atomic_int workers_flushing;

static void
note_worker(void *arg, int worker, size_t first, size_t last)
{
	volatile double spin = 0;

	(void) arg;
	(void) first;
	(void) last;
	/* long enough that the workers wake before the caller took every chunk */
	for (int k = 0; k < 100000; k++)
		spin += k;
	if (worker > 0 && rs_fp_flushing())
		atomic_fetch_add(&workers_flushing, 1);
}

/* Worker threads flush for their whole life. */
static void
test_pool(void)
{
	rs_pool    *pool = rs_pool_create(3, &rs_malloc_allocator);
	rs_runtime	rt = {rs_malloc_allocator, NULL, NULL, NULL, 3};

	if (!CHECK(pool != NULL, "a pool of 3"))
		return;
	/* chunks that spin long enough for every worker to take some */
	for (int round = 0; round < 50 && atomic_load(&workers_flushing) == 0; round++)
		rs_pool_run(pool, &rt, 64, 1, note_worker, NULL);
	CHECK(atomic_load(&workers_flushing) > 0, "no worker chunk ran with subnormals flushed");
	rs_pool_destroy(pool, &rs_malloc_allocator);
}

/*
 * Every fit and scorer: callbacks in the caller's mode, the caller's mode
 * after.  NeuMF with l2 0.01 drives its idle tower weights below FLT_MIN
 * when nothing flushes them (a thousand of them on MovieTweetings).
 */
static void
test_ncf(void)
{
	static const int layers[] = {32, 16, 8};
	double		opt[RS_NCF_OPTION_COUNT];
	mode_host	h = {0};
	rs_runtime	rt;
	rs_ncf_result r;
	rs_model	m;
	rs_status	status;
	float	   *scores = malloc(sizeof(float) * ITEMS),
			   *row = malloc(sizeof(float) * 64);
	size_t		n_weights;
	unsigned int caller = CALLER_MODE;
	int32_t		users[3] = {0, 5, 9};
	float	   *batch = malloc(sizeof(float) * ITEMS * 3);
	int32_t		history[3] = {1, 2, 3};
	float		ones[3] = {1, 1, 1};
	float		bias;
	size_t		subnormal;

	for (int k = 0; k < RS_NCF_OPTION_COUNT; k++)
		opt[k] = rs_ncf_option_specs[k].default_value;
	opt[RS_NCF_FACTORS] = 8;
	opt[RS_NCF_EPOCHS] = 10;
	opt[RS_NCF_L2] = 0.01;

	_mm_setcsr(caller);
	h.caller = caller;
	rt = noting_runtime(&h, 2);
	status = rs_ncf_fit(&P.train, layers, 3, opt, &rt, &r);
	CHECK(MODE() == caller, "after fit: %#x, caller %#x", MODE(), caller);
	if (!CHECK(status == RS_OK, "fit: status %d", (int) status))
	{
		_mm_setcsr(caller & ~_MM_ROUND_MASK);
		return;
	}
	rs_ncf_model(&P.train, &r, &m);
	n_weights = rs_ncf_weight_count(r.n_sizes, r.sizes, r.factors, m.n_users, m.n_items);
	subnormal = count_subnormal(r.weights, n_weights) +
		count_subnormal(r.user_factors, (size_t) m.n_users * r.factors) +
		count_subnormal(r.item_factors, (size_t) m.n_items * r.factors);
	CHECK(subnormal == 0, "%zu subnormal parameters after training with l2 0.01", subnormal);

	/* every scorer, in the caller's mode and with a noting allocator */
	CHECK(isfinite(rs_predict(&m, 0, 1)), "predict");
	CHECK(rs_score_items(&m, 0, &rt.alloc, scores) == RS_OK, "score items");
	CHECK(rs_score_items_batch(&m, users, 3, &rt.alloc, batch) == RS_OK, "score a batch");
	CHECK(rs_score_history(&m, history, ones, 3, &rt.alloc, scores) == RS_OK, "score a history");
	CHECK(rs_fold_in(&m, history, ones, 3, &rt.alloc, row, &bias) == RS_OK, "fold in");
	CHECK(rs_score_items_for(&m, row, bias, &rt.alloc, scores) == RS_OK, "score a row");
	CHECK(MODE() == caller, "after scoring: %#x, caller %#x", MODE(), caller);
	CHECK(h.calls > 0 && h.wrong_mode == 0, "%d of %d host calls in the engine's mode",
		  h.wrong_mode, h.calls);

	_mm_setcsr(caller & ~_MM_ROUND_MASK);
	rs_ncf_result_free(&r, &rs_malloc_allocator);
	free(scores);
	free(row);
	free(batch);
}

/* Implicit ALS (the vector kernels, CG) and explain, the same way. */
static void
test_als(void)
{
	double		opt[RS_ALS_OPTION_COUNT];
	mode_host	h = {0};
	rs_runtime	rt;
	rs_als_result r;
	rs_model	m;
	rs_status	status;
	double		contributions[ITEMS];
	double		baseline;
	float	   *scores = malloc(sizeof(float) * ITEMS);
	unsigned int caller = CALLER_MODE;

	for (int k = 0; k < RS_ALS_OPTION_COUNT; k++)
		opt[k] = rs_als_option_specs[k].default_value;
	opt[RS_ALS_FACTORS] = 16;
	opt[RS_ALS_ITERATIONS] = 3;

	for (int feedback = RS_FEEDBACK_EXPLICIT; feedback <= RS_FEEDBACK_IMPLICIT; feedback++)
	{
		opt[RS_ALS_FEEDBACK] = feedback;
		_mm_setcsr(caller);
		h = (mode_host) {caller, 0, 0};
		rt = noting_runtime(&h, 2);
		status = rs_als_fit_feedback(&P.train, opt, &rt, &r);
		if (CHECK(status == RS_OK, "ALS %d: status %d", feedback, (int) status))
		{
			rs_als_model(&P.train, &r, opt, &m);
			CHECK(rs_explain(&m, 0, 1, &rt.alloc, contributions, &baseline) == RS_OK,
				  "explain");
			rs_similar_items(&m, 1, scores);
			rs_als_result_free(&r, &rs_malloc_allocator);
		}
		CHECK(MODE() == caller, "ALS %d after: %#x, caller %#x", feedback,
			  MODE(), caller);
		CHECK(h.calls > 0 && h.wrong_mode == 0, "ALS %d: %d of %d host calls in the engine's mode",
			  feedback, h.wrong_mode, h.calls);
		_mm_setcsr(caller & ~_MM_ROUND_MASK);
	}
	free(scores);
}

int
main(void)
{
	make_planted();
	test_switch();
	test_pool();
	test_ncf();
	test_als();
	rs_interactions_free(&P.train, &rs_malloc_allocator);
	return unit_done();
}
