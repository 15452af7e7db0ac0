/*
 * implicit_ml1m.c - training time of implicit ALS on a synthetic set of
 * MovieLens-1M shape: 6,040 users, 3,706 items, 1,000,000 interactions,
 * long-tailed (Zipf-like) popularity on both sides.  Default options
 * (factors 64, 15 iterations, conjugate gradient with 3 steps), one worker
 * per core.  Deterministic data: the same seed gives the same set.
 *
 *   gcc -O2 -Isrc test/bench/implicit_ml1m.c src/core/[a-z]*.c -lopenblas -lpthread -lm
 *   ./a.out [threads]
 *
 * Prints `key value` lines, among them an operation count per iteration
 * that follows src/core/implicit_als.c: per row with n interactions, each of
 * the cg_steps + 1 applications of the system costs a symmetric
 * matrix-vector product (2 f^2) and two products with the gathered rows
 * (4 n f), the right-hand side 2 n f; each half-step one Gram matrix
 * (f^2 rows); the loss pass 2 f^2 + 4 n f per user.  The last user
 * half-step is exact instead: ssyrk (n f^2), Cholesky (f^3 / 3), two
 * triangular solves (2 f^2).
 */
#include "core/als.h"
#include "core/interactions.h"
#include "core/random.h"
#include "core/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define USERS 6040
#define ITEMS 3706
#define INTERACTIONS 1000000
#define SEED 1000209

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

int
main(int argc, char **argv)
{
	int			threads = argc > 1 ? atoi(argv[1]) : (int) sysconf(_SC_NPROCESSORS_ONLN);
	double	   *user_cdf = zipf_cdf(USERS, 0.7);
	double	   *item_cdf = zipf_cdf(ITEMS, 0.9);
	rs_random	rng = {SEED};
	rs_interaction_buffer buf = {0};
	rs_interactions data;
	rs_als_result result;
	double		options[RS_ALS_OPTION_COUNT];
	rs_runtime	rt = {0};
	double		started;

	rs_blas_single_threaded();

	/*
	 * Each user's activity follows the user Zipf law (at least 20, as in
	 * ML-1M, at most half the items), scaled so that the counts add up to the
	 * total; their items are distinct draws from the item Zipf law.
	 */
	{
		int		   *counts = malloc(sizeof(int) * USERS);
		unsigned char *taken = malloc(ITEMS);
		double		lo = 0.0,
					hi = 10.0 * INTERACTIONS;
		long		total = 0;

		for (int round = 0; round < 100; round++)
		{
			double		scale = (lo + hi) / 2;

			total = 0;
			for (int u = 0; u < USERS; u++)
			{
				double		share = user_cdf[u] - (u ? user_cdf[u - 1] : 0.0);
				long		count = lround(share * scale);

				counts[u] = (int) (count < 20 ? 20 : count > ITEMS / 2 ? ITEMS / 2 : count);
				total += counts[u];
			}
			if (total < INTERACTIONS)
				lo = scale;
			else
				hi = scale;
		}
		for (int u = 0; total > INTERACTIONS; u = (u + 1) % USERS)
			if (counts[u] > 20)
			{
				counts[u]--;
				total--;
			}
		for (int u = 0; total < INTERACTIONS; u = (u + 1) % USERS)
			if (counts[u] < ITEMS / 2)
			{
				counts[u]++;
				total++;
			}
		for (int u = 0; u < USERS; u++)
		{
			for (int k = 0; k < ITEMS; k++)
				taken[k] = 0;
			for (int drawn = 0; drawn < counts[u];)
			{
				int			item = sample(item_cdf, ITEMS, &rng);

				if (taken[item])
					continue;
				taken[item] = 1;
				rs_buffer_append(&buf, &rs_malloc_allocator, u, item, 1.0f);
				drawn++;
			}
		}
		free(counts);
		free(taken);
	}
	started = rs_now();
	if (rs_interactions_build(&buf, &rs_malloc_allocator, &data) != RS_OK)
		return 1;
	printf("build_seconds %.3f\n", rs_now() - started);
	printf("users %d\nitems %d\ndistinct_pairs %zu\n", data.n_users, data.n_items, data.nnz);

	for (int k = 0; k < RS_ALS_OPTION_COUNT; k++)
		options[k] = rs_als_option_specs[k].default_value;
	options[RS_ALS_FEEDBACK] = RS_FEEDBACK_IMPLICIT;
	options[RS_ALS_REGULARIZATION] = RS_IMPLICIT_ALS_DEFAULT_REGULARIZATION;
	rt.alloc = rs_malloc_allocator;
	rt.threads = threads;
	started = rs_now();
	if (rs_als_fit(&data, options, &rt, &result) != RS_OK)
		return 1;
	printf("threads %d\nfactors %d\niterations %d\n", threads, result.factors, result.iterations);
	{
		double		seconds = rs_now() - started;
		double		f = result.factors;
		double		steps = options[RS_ALS_CG_STEPS] + 1;
		double		rows = (double) data.n_users + data.n_items;
		double		nnz = (double) data.nnz;
		double		cg_iteration = steps * (2 * f * f * rows + 4 * f * 2 * nnz) + 2 * f * 2 * nnz +
			f * f * rows + 2 * f * f * data.n_users + 4 * f * nnz;
		double		exact_users = nnz * f * f + data.n_users * (f * f * f / 3 + 2 * f * f);
		double		total = 15 * cg_iteration - steps * (2 * f * f * data.n_users + 4 * f * nnz) +
			exact_users;

		printf("train_seconds %.3f\n", seconds);
		printf("gflop %.2f\ngflops %.2f\n", total / 1e9, total / 1e9 / seconds);
	}
	rs_als_result_free(&result, &rs_malloc_allocator);
	rs_interactions_free(&data, &rs_malloc_allocator);
	rs_buffer_free(&buf, &rs_malloc_allocator);
	free(user_cdf);
	free(item_cdf);
	return 0;
}
