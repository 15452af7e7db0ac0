/*
 * test_spd_inverse.c - the blocked, interruptible inverse of a symmetric
 * positive definite matrix: it agrees with LAPACK's spotrf + spotri, is the
 * same on any number of threads, refuses a matrix that is not positive
 * definite, and stops at every poll.
 */
#include "unit.h"

#include "core/lapack.h"
#include "core/random.h"
#include "core/spd_inverse.h"

/*
 * X'X / rows + 0.1 I for rows = 2n + 8 standard normal rows of X,
 * column-major and full: well conditioned, so single precision keeps about
 * six digits of the inverse.
 */
static float *
random_spd(int n, uint64_t seed)
{
	int			rows = 2 * n + 8;
	float	   *x = malloc(sizeof(float) * (size_t) rows * n);
	float	   *a = calloc((size_t) n * n, sizeof(float));
	rs_random	rng = {seed};

	for (size_t k = 0; k < (size_t) rows * n; k++)
		x[k] = (float) rs_random_normal(&rng);
	for (int j = 0; j < n; j++)
		for (int i = 0; i <= j; i++)
		{
			double		sum = 0.0;

			for (int r = 0; r < rows; r++)
				sum += (double) x[(size_t) i * rows + r] * x[(size_t) j * rows + r];
			a[(size_t) j * n + i] = a[(size_t) i * n + j] =
				(float) (sum / rows + (i == j ? 0.1 : 0.0));
		}
	free(x);
	return a;
}

static rs_status
invert(float *a, int n, int threads, host *h)
{
	rs_runtime	rt = unit_runtime(rs_malloc_allocator, h, threads);
	rs_pool    *pool = rs_pool_create(threads, &rs_malloc_allocator);
	rs_status	status;

	if (!pool)
		return RS_NO_MEMORY;
	status = rs_spd_invert(a, n, pool, &rt);
	rs_pool_destroy(pool, &rs_malloc_allocator);
	return status;
}

/* The upper triangle against LAPACK's, relative to the largest entry. */
static void
test_against_lapack(void)
{
	static const int sizes[] = {1, 2, 5, 255, 256, 257, 600};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
	{
		int			n = sizes[s];
		float	   *a = random_spd(n, 17 + n);
		float	   *lapack = malloc(sizeof(float) * (size_t) n * n);
		int			info = 0;
		double		largest = 0.0,
					worst = 0.0;

		memcpy(lapack, a, sizeof(float) * (size_t) n * n);
		spotrf_("U", &n, lapack, &n, &info, 1);
		spotri_("U", &n, lapack, &n, &info, 1);
		CHECK(info == 0, "n %d: LAPACK failed (%d)", n, info);
		if (!CHECK(invert(a, n, 2, NULL) == RS_OK, "n %d: not inverted", n))
			continue;
		for (int j = 0; j < n; j++)
			for (int i = 0; i <= j; i++)
				largest = fmax(largest, fabs(lapack[(size_t) j * n + i]));
		for (int j = 0; j < n; j++)
			for (int i = 0; i <= j; i++)
				worst = fmax(worst, fabs(a[(size_t) j * n + i] - lapack[(size_t) j * n + i]));
		printf("n %d: largest |inverse - LAPACK's| %.2e of entries up to %.2e\n", n, worst,
			   largest);
		/* measured below 5e-7 relative with OpenBLAS's Haswell, SkylakeX and Prescott kernels */
		CHECK(worst <= 1e-5 * largest, "n %d: differs from LAPACK's by %.3g (largest %.3g)",
			  n, worst, largest);
		free(a);
		free(lapack);
	}
}

/* The strict lower triangle is not touched: it holds A's copy on entry. */
static void
test_lower_untouched(void)
{
	int			n = 300;
	float	   *a = random_spd(n, 5);
	float	   *before = malloc(sizeof(float) * (size_t) n * n);
	bool		same = true;

	memcpy(before, a, sizeof(float) * (size_t) n * n);
	CHECK(invert(a, n, 3, NULL) == RS_OK, "inverted");
	for (int j = 0; j < n; j++)
		for (int i = j + 1; i < n; i++)
			same &= a[(size_t) j * n + i] == before[(size_t) j * n + i];
	CHECK(same, "the strict lower triangle changed");
	free(a);
	free(before);
}

/* Panels are fixed by n: the same bits on 1, 2 and 3 threads. */
static void
test_threads(void)
{
	int			n = 400;
	float	   *one = random_spd(n, 3);
	size_t		bytes = sizeof(float) * (size_t) n * n;

	CHECK(invert(one, n, 1, NULL) == RS_OK, "1 thread");
	for (int threads = 2; threads <= 3; threads++)
	{
		float	   *more = random_spd(n, 3);

		CHECK(invert(more, n, threads, NULL) == RS_OK, "%d threads", threads);
		CHECK(memcmp(one, more, bytes) == 0, "%d threads differ from 1", threads);
		free(more);
	}
	free(one);
}

/* Not positive definite, or a NaN: a numerical failure, never garbage. */
static void
test_not_positive_definite(void)
{
	int			n = 600;
	float	   *a = random_spd(n, 9);

	/* a negative eigenvalue: subtract 10 I */
	for (int i = 0; i < n; i++)
		a[(size_t) i * n + i] -= 10.0f;
	CHECK(invert(a, n, 2, NULL) == RS_NUMERICAL_FAILURE, "indefinite matrix accepted");
	free(a);

	/* the failure in a late block column, after panels ran */
	a = random_spd(n, 9);
	a[(size_t) 590 * n + 590] = -1.0f;
	CHECK(invert(a, n, 2, NULL) == RS_NUMERICAL_FAILURE, "late negative pivot accepted");
	free(a);

	a = random_spd(n, 9);
	a[(size_t) 150 * n + 3] = NAN;
	CHECK(invert(a, n, 2, NULL) == RS_NUMERICAL_FAILURE, "a NaN accepted");
	free(a);
}

/*
 * A stop at any poll cancels, and polls no more; with workers, a stop at
 * the first poll cancels too, and no poll runs on a worker.
 */
static void
test_cancel(void)
{
	int			n = 600;
	float	   *a = random_spd(n, 11);
	float	   *b = malloc(sizeof(float) * (size_t) n * n);
	host		full = new_host(0);
	int			cancelled = 0;

	memcpy(b, a, sizeof(float) * (size_t) n * n);
	CHECK(invert(b, n, 1, &full) == RS_OK, "uncancelled");
	/* three passes over 3 block columns, every step but the first polling */
	CHECK(full.polls >= 3 * 2, "only %d polls", full.polls);
	for (int stop_at = 1; stop_at <= full.polls; stop_at++)
	{
		host		h = new_host(stop_at);
		rs_status	status;

		memcpy(b, a, sizeof(float) * (size_t) n * n);
		status = invert(b, n, 1, &h);

		cancelled += CHECK(status == RS_CANCELLED && h.polls == stop_at,
						   "stop at poll %d of %d: status %d after %d polls", stop_at,
						   full.polls, (int) status, h.polls);
		CHECK(!h.wrong_thread, "stop at poll %d: a poll on a worker thread", stop_at);
	}
	printf("cancel: a stop at each of %d polls cancels (%d)\n", full.polls, cancelled);
	for (int threads = 2; threads <= 3; threads++)
	{
		host		h = new_host(1);

		CHECK(invert(a, n, threads, &h) == RS_CANCELLED && h.polls == 1 && !h.wrong_thread,
			  "%d threads: a stop at the first poll: %d polls", threads, h.polls);
	}
	free(a);
	free(b);
}

int
main(void)
{
	test_against_lapack();
	test_lower_untouched();
	test_threads();
	test_not_positive_definite();
	test_cancel();
	return unit_done();
}
