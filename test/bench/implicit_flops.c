/*
 * implicit_flops.c - training time of implicit ALS on synthetic sets of
 * MovieLens shape, long-tailed (Zipf-like) popularity on both sides:
 *
 *   ml1m   6,040 users x 3,706 items, 1,000,000 interactions, 15 iterations
 *   ml20m  138,493 users x 26,744 items, 20,000,000 interactions, 3 iterations
 *
 * Default options otherwise (factors 64, conjugate gradient with 3 steps,
 * the last user half-step exact), one worker per core unless told.
 * Deterministic data: the same shape gives the same set.
 *
 *   gcc -std=gnu11 -O2 -Isrc -o implicit_flops test/bench/implicit_flops.c
 *       src/core/[a-z]*.c -lopenblas -lpthread -lm
 *   ./implicit_flops ml1m|ml20m [threads] [iterations]
 *
 * Prints `key value` lines: train_seconds (the whole fit, and
 * train_cpu_seconds: the CPU time of all its threads), the seconds of
 * each iteration as the runtime's progress callback reports them,
 * seconds_per_iteration (the mean over the conjugate-gradient iterations,
 * that is all but the last, whose user half-step is exact; the last one's
 * when there is only one) and an operation count that follows
 * src/core/implicit_als.c: per row with n interactions, the right-hand side
 * and the first residual take two products with the gathered rows (4 n f)
 * and one with the Gram matrix (2 f^2), and each of the cg_steps steps one
 * more application of the system (2 f^2 + 4 n f); each half-step one Gram
 * matrix (f^2 rows).  The last user half-step is exact instead: ssyrk
 * (n f^2), the right-hand side (2 n f), Cholesky (f^3 / 3), two triangular
 * solves (2 f^2).  The loss, after every user's solve: 2 f^2 + 2 n f per user.
 */
#include "core/implicit_als.h"
#include "core/kind.h"
#include "core/interactions.h"
#include "core/random.h"
#include "core/runtime.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct shape
{
	const char *name;
	int			users;
	int			items;
	long		interactions;
	int			min_per_user;
	int			iterations;
	uint64_t	seed;
} shape;

static const shape shapes[] = {
	{"ml1m", 6040, 3706, 1000000, 20, 15, 1000209},
	{"ml20m", 138493, 26744, 20000000, 20, 3, 20000263},
};

/* Cumulative Zipf-like weights (rank^-exponent) for sampling by binary search. */
static double *
zipf_cdf(int n, double exponent)
{
	double	   *cdf = malloc(sizeof(double) * n);
	double		total = 0.0;

	for (int k = 0; k < n; k++)
		cdf[k] = (total += pow(k + 1, -exponent));
	for (int k = 0; k < n; k++)
		cdf[k] /= total;
	return cdf;
}

static int
sample(const double *cdf, int n, rs_random *rng)
{
	double		u = rs_random_uniform(rng);
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Each user's activity follows the user Zipf law (at least min_per_user, at
 * most half the items), scaled so that the counts add up to the total; their
 * items are distinct draws from the item Zipf law.
 */
static void
generate(const shape *s, rs_interaction_buffer *buf)
{
	double	   *user_cdf = zipf_cdf(s->users, 0.7);
	double	   *item_cdf = zipf_cdf(s->items, 0.9);
	int		   *counts = malloc(sizeof(int) * s->users);
	int		   *taken = malloc(sizeof(int) * s->items);	/* user + 1 who drew it */
	rs_random	rng = {s->seed};
	double		lo = 0.0,
				hi = 10.0 * s->interactions;
	int			most = s->items / 2;
	long		total = 0;

	for (int round = 0; round < 100; round++)
	{
		double		scale = (lo + hi) / 2;

		total = 0;
		for (int u = 0; u < s->users; u++)
		{
			double		share = user_cdf[u] - (u ? user_cdf[u - 1] : 0.0);
			long		count = lround(share * scale);

			counts[u] = (int) (count < s->min_per_user ? s->min_per_user :
							   count > most ? most : count);
			total += counts[u];
		}
		if (total < s->interactions)
			lo = scale;
		else
			hi = scale;
	}
	for (int u = 0; total > s->interactions; u = (u + 1) % s->users)
		if (counts[u] > s->min_per_user)
		{
			counts[u]--;
			total--;
		}
	for (int u = 0; total < s->interactions; u = (u + 1) % s->users)
		if (counts[u] < most)
		{
			counts[u]++;
			total++;
		}
	if (!rs_buffer_reserve(buf, &rs_malloc_allocator, (size_t) s->interactions))
		exit(1);
	memset(taken, 0, sizeof(int) * s->items);
	for (int u = 0; u < s->users; u++)
		for (int drawn = 0; drawn < counts[u];)
		{
			int			item = sample(item_cdf, s->items, &rng);

			if (taken[item] == u + 1)
				continue;
			taken[item] = u + 1;
			rs_buffer_append(buf, &rs_malloc_allocator, u, item, 1.0f);
			drawn++;
		}
	free(counts);
	free(taken);
	free(user_cdf);
	free(item_cdf);
}

/* CPU seconds of all the process's threads: what other load on the machine does not inflate */
static double
cpu_seconds(void)
{
	struct rusage use;

	getrusage(RUSAGE_SELF, &use);
	return use.ru_utime.tv_sec + use.ru_stime.tv_sec +
		1e-6 * (use.ru_utime.tv_usec + use.ru_stime.tv_usec);
}

typedef struct timings
{
	double	   *seconds;
	double	   *loss;
} timings;

static void
record(void *arg, int iteration, double loss, double seconds)
{
	timings    *t = arg;

	t->seconds[iteration - 1] = seconds;
	t->loss[iteration - 1] = loss;
}

int
main(int argc, char **argv)
{
	const shape *s = NULL;
	int			threads,
				iterations;
	rs_interaction_buffer buf = {0};
	rs_interactions data;
	rs_als_result result;
	double		options[RS_ALS_OPTION_COUNT];
	bool		given[RS_ALS_OPTION_COUNT] = {0};
	rs_runtime	rt = {0};
	timings		t;
	double		started,
				cpu_started;

	for (size_t k = 0; argc > 1 && k < sizeof(shapes) / sizeof(shapes[0]); k++)
		if (strcmp(argv[1], shapes[k].name) == 0)
			s = &shapes[k];
	if (!s)
	{
		fprintf(stderr, "usage: %s ml1m|ml20m [threads] [iterations]\n", argv[0]);
		return 2;
	}
	threads = argc > 2 ? atoi(argv[2]) : (int) sysconf(_SC_NPROCESSORS_ONLN);
	iterations = argc > 3 ? atoi(argv[3]) : s->iterations;
	if (threads < 1 || iterations < 1)
	{
		fprintf(stderr, "threads and iterations must be at least 1\n");
		return 2;
	}
	rs_blas_single_threaded();

	started = rs_now();
	generate(s, &buf);
	printf("shape %s\ngenerate_seconds %.3f\n", s->name, rs_now() - started);
	started = rs_now();
	if (rs_interactions_build(&buf, &rs_malloc_allocator, &data) != RS_OK)
		return 1;
	rs_buffer_free(&buf, &rs_malloc_allocator);
	printf("build_seconds %.3f\n", rs_now() - started);
	printf("users %d\nitems %d\ndistinct_pairs %zu\n", data.n_users, data.n_items, data.nnz);

	for (int k = 0; k < RS_ALS_OPTION_COUNT; k++)
		options[k] = rs_als_option_specs[k].default_value;
	options[RS_ALS_FEEDBACK] = RS_FEEDBACK_IMPLICIT;
	/* the defaults a training would take for these rows */
	rs_kind_of(RS_ALGO_ALS_IMPLICIT)->adapt_options(options, given, &data);
	options[RS_ALS_ITERATIONS] = iterations;
	t.seconds = calloc(iterations, sizeof(double));
	t.loss = calloc(iterations, sizeof(double));
	rt.alloc = rs_malloc_allocator;
	rt.threads = threads;
	rt.progress = record;
	rt.arg = &t;
	started = rs_now();
	cpu_started = cpu_seconds();
	if (rs_als_fit_feedback(&data, options, &rt, &result) != RS_OK)
		return 1;
	printf("threads %d\nfactors %d\niterations %d\n", threads, result.factors, result.iterations);
	{
		double		seconds = rs_now() - started;
		double		f = result.factors;
		double		cg_steps = options[RS_ALS_CG_STEPS];
		double		rows = (double) data.n_users + data.n_items;
		double		nnz = (double) data.nnz;
		double		grams = f * f * rows;
		double		loss = 2 * f * f * data.n_users + 2 * f * nnz;
		double		cg_half = (cg_steps + 1) * 2 * f * f + (cg_steps + 2) * 4 * f * nnz;
		double		cg_rows_users = (cg_steps + 1) * 2 * f * f * data.n_users +
			(cg_steps + 2) * 4 * f * nnz;
		double		exact_users = nnz * f * f + 2 * f * nnz +
			data.n_users * (f * f * f / 3 + 2 * f * f);
		double		cg_iteration = (cg_steps + 1) * 2 * f * f * rows +
			2 * (cg_steps + 2) * 4 * f * nnz + grams + loss;
		double		last_iteration = cg_iteration - cg_rows_users + exact_users;
		double		total = (iterations - 1) * cg_iteration + last_iteration;
		double		cg_seconds = 0.0;

		(void) cg_half;
		for (int k = 0; k < iterations; k++)
			printf("iteration_%d_seconds %.3f\niteration_%d_loss %.6f\n", k + 1, t.seconds[k],
				   k + 1, t.loss[k]);
		for (int k = 0; k < iterations - 1; k++)
			cg_seconds += t.seconds[k];
		printf("train_seconds %.3f\n", seconds);
		printf("train_cpu_seconds %.3f\n", cpu_seconds() - cpu_started);
		printf("seconds_per_iteration %.3f\n",
			   iterations > 1 ? cg_seconds / (iterations - 1) : t.seconds[0]);
		printf("last_iteration_seconds %.3f\n", t.seconds[iterations - 1]);
		printf("gflop_per_iteration %.2f\n", cg_iteration / 1e9);
		printf("gflop %.2f\ngflops %.2f\n", total / 1e9, total / 1e9 / seconds);
	}
	rs_als_result_free(&result, &rs_malloc_allocator);
	rs_interactions_free(&data, &rs_malloc_allocator);
	free(t.seconds);
	free(t.loss);
	return 0;
}
