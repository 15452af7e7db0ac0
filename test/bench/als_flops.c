/*
 * als_flops.c - speed of the ALS engine (src/core) in floating-point
 * operations per second, on MovieTweetings 100K, on a larger synthetic
 * long-tailed data set, and on a synthetic set of MovieLens-1M shape.
 *
 * The engine is linked directly: no PostgreSQL.  Training uses the default
 * options with one worker thread per core and BLAS single-threaded inside
 * them, as in a backend.  The operation count per iteration follows
 * src/core/als.c row by row (see count_side), so GFLOP/s is the useful
 * arithmetic the algorithm does, comparable to the sgemm peak; it is taken
 * from the fastest iteration (every iteration does the same work).
 *
 *   gcc -O2 -Isrc test/bench/als_flops.c src/core/[a-z]*.c -lopenblas -lpthread -lm
 *   ./a.out RATINGS_DAT [real_iterations [synthetic_iterations [ml1m_iterations]]]
 *   ./a.out --ml1m [ml1m_iterations]        (the MovieLens-1M-shaped set only)
 *
 * Prints `key value` lines; keys start with `mt.`, `synth.` or `ml1m.`.
 */
#include "core/implicit_als.h"
#include "core/interactions.h"
#include "core/random.h"
#include "core/runtime.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* must match als.c: rows at most this long may take the dual path */
#define ALS_BLOCK 512

/* synthetic data: users and items drawn from Zipf-like popularity */
typedef struct synth_shape
{
	int			users;
	int			items;
	int			ratings;		/* distinct (user, item) pairs */
	double		user_exponent;
	double		item_exponent;
	int			max_rating;		/* ratings are 1..max_rating */
	double		center;			/* rating of an average user and item */
	double		spread;			/* scale of the offsets and the noise */
	uint64_t	seed;
} synth_shape;

/* a larger long-tailed set, rated 1..10 */
static const synth_shape synth_large = {50000, 20000, 2000000, 0.8, 0.8, 10, 6.5, 1.0, 20240601};

/* MovieLens-1M's shape: 6,040 users x 3,706 items, 1M ratings 1..5 */
static const synth_shape synth_ml1m = {6040, 3706, 1000000, 0.8, 0.8, 5, 3.6, 0.5, 19970101};

static void
fail(const char *what)
{
	fprintf(stderr, "als_flops: %s\n", what);
	exit(1);
}

static void
append(rs_interaction_buffer *buf, int64_t user, int64_t item, float value)
{
	if (!rs_buffer_append(buf, &rs_malloc_allocator, user, item, value))
		fail("out of memory");
}

/* MovieTweetings ratings.dat: user::item::rating::timestamp per line. */
static void
load_ratings(const char *path, rs_interaction_buffer *buf)
{
	FILE	   *f = fopen(path, "r");
	char		line[256];
	size_t		lineno = 0;

	if (!f)
	{
		fprintf(stderr, "als_flops: cannot open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while (fgets(line, sizeof(line), f))
	{
		char	   *p = line,
				   *end;
		long long	user,
					item;
		double		rating;

		lineno++;
		user = strtoll(p, &end, 10);
		if (end == p || strncmp(end, "::", 2) != 0)
			goto bad;
		p = end + 2;
		item = strtoll(p, &end, 10);
		if (end == p || strncmp(end, "::", 2) != 0)
			goto bad;
		p = end + 2;
		rating = strtod(p, &end);
		if (end == p)
			goto bad;
		append(buf, user, item, (float) rating);
		continue;
bad:
		fprintf(stderr, "als_flops: %s:%zu: not user::item::rating::timestamp\n", path, lineno);
		exit(1);
	}
	fclose(f);
}

/* Cumulative weights 1/(rank+1)^s, for drawing ranks by binary search. */
static double *
zipf_cdf(int n, double s)
{
	double	   *cdf = malloc(sizeof(double) * n);
	double		total = 0.0;

	if (!cdf)
		fail("out of memory");
	for (int k = 0; k < n; k++)
	{
		total += pow(k + 1, -s);
		cdf[k] = total;
	}
	for (int k = 0; k < n; k++)
		cdf[k] /= total;
	return cdf;
}

static int
zipf_draw(const double *cdf, int n, rs_random *rng)
{
	double		u = rs_random_uniform(rng);
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A random permutation, so popularity is not in id order. */
static int64_t *
shuffled_ids(int n, rs_random *rng)
{
	int64_t    *ids = malloc(sizeof(int64_t) * n);

	if (!ids)
		fail("out of memory");
	for (int k = 0; k < n; k++)
		ids[k] = k + 1;
	for (int k = n - 1; k > 0; k--)
	{
		int			j = (int) (rs_random_next(rng) % (uint64_t) (k + 1));
		int64_t		t = ids[k];

		ids[k] = ids[j];
		ids[j] = t;
	}
	return ids;
}

/* A set of (user, item) pairs by open addressing, to draw distinct pairs. */
#define PAIR_SLOTS (1u << 22)	/* a power of two, at least twice any shape's ratings */

static bool
pair_insert(uint64_t *slots, uint64_t key)
{
	uint64_t	h = (key + 1) * 0x9E3779B97F4A7C15ull;

	for (uint32_t k = (uint32_t) (h >> 42) & (PAIR_SLOTS - 1);; k = (k + 1) & (PAIR_SLOTS - 1))
	{
		if (slots[k] == key + 1)
			return false;
		if (slots[k] == 0)
		{
			slots[k] = key + 1;
			return true;
		}
	}
}

/*
 * shape->ratings distinct (user, item) pairs drawn with long-tailed
 * popularity on both sides (a pair drawn again is drawn anew), rated
 * 1..max_rating from a user offset, an item offset and noise around the
 * centre.
 */
static void
synthesize(const synth_shape *shape, rs_interaction_buffer *buf)
{
	rs_random	rng = {shape->seed};
	double	   *user_cdf = zipf_cdf(shape->users, shape->user_exponent);
	double	   *item_cdf = zipf_cdf(shape->items, shape->item_exponent);
	int64_t    *user_ids = shuffled_ids(shape->users, &rng);
	int64_t    *item_ids = shuffled_ids(shape->items, &rng);
	float	   *user_offset = malloc(sizeof(float) * shape->users);
	float	   *item_offset = malloc(sizeof(float) * shape->items);
	double		top = shape->max_rating;
	uint64_t   *pairs = calloc(PAIR_SLOTS, sizeof(uint64_t));

	if (!user_offset || !item_offset || !pairs)
		fail("out of memory");
	if ((size_t) shape->ratings * 2 > PAIR_SLOTS)
		fail("too many ratings for the pair set");
	for (int u = 0; u < shape->users; u++)
		user_offset[u] = (float) rs_random_normal(&rng);
	for (int i = 0; i < shape->items; i++)
		item_offset[i] = (float) rs_random_normal(&rng);
	if (!rs_buffer_reserve(buf, &rs_malloc_allocator, shape->ratings))
		fail("out of memory");
	while (buf->count < (size_t) shape->ratings)
	{
		int			u = zipf_draw(user_cdf, shape->users, &rng);
		int			i = zipf_draw(item_cdf, shape->items, &rng);
		double		value;

		if (!pair_insert(pairs, (uint64_t) u * shape->items + (uint64_t) i))
			continue;
		value = shape->center + shape->spread * user_offset[u] + shape->spread * item_offset[i] +
			shape->spread * 1.5 * rs_random_normal(&rng);
		value = value < 1 ? 1 : value > top ? top : value;
		append(buf, user_ids[u], item_ids[i], (float) (int) (value + 0.5));
	}
	free(user_cdf);
	free(item_cdf);
	free(user_ids);
	free(item_ids);
	free(user_offset);
	free(item_offset);
	free(pairs);
}

/*
 * Floating-point operations of one half-step of als.c over one side: for a
 * row with n interactions and m = factors + 1 unknowns,
 *   dual (n < m):  ssyrk of the n x n kernel over m, n(n+1)m; spotrf n^3/3;
 *                  spotrs 2n^2; sgemv back to the unknowns 2nm
 *   primal:        the m x m Gram matrix's triangle over n, m(m+1)n; the
 *                  right-hand side 2nm (als.c computes both in one
 *                  bordered update); Cholesky m^3/3; the two triangular
 *                  solves 2m^2
 * Gathering the rows and adding the regularisation are not counted, nor is
 * the padding the kernels compute to work in whole vectors.
 */
static double
count_side(const size_t *ptr, int32_t rows, int factors, int32_t *dual_rows)
{
	double		m = factors + 1;
	double		flops = 0.0;

	*dual_rows = 0;
	for (int32_t row = 0; row < rows; row++)
	{
		double		n = (double) (ptr[row + 1] - ptr[row]);

		if (n == 0)
			continue;
		if (n < m && n <= ALS_BLOCK)
		{
			flops += n * (n + 1) * m + n * n * n / 3.0 + 2.0 * n * n + 2.0 * n * m;
			(*dual_rows)++;
		}
		else
			flops += m * (m + 1) * n + 2.0 * n * m + m * m * m / 3.0 + 2.0 * m * m;
	}
	return flops;
}

typedef struct timing
{
	double		total;
	double		best;
	int			count;
} timing;

static void
on_iteration(void *arg, int iteration, double loss, double seconds)
{
	timing	   *t = arg;

	(void) iteration;
	(void) loss;
	t->total += seconds;
	if (t->count == 0 || seconds < t->best)
		t->best = seconds;
	t->count++;
}

static void
run(const char *name, rs_interaction_buffer *buf, int iterations, int threads)
{
	double		options[RS_ALS_OPTION_COUNT];
	rs_interactions data;
	rs_als_result result;
	timing		t = {0, 0, 0};
	rs_runtime	rt = {rs_malloc_allocator, NULL, on_iteration, &t, threads};
	double		started,
				build_seconds,
				fit_seconds,
				flops;
	int32_t		dual_users,
				dual_items;
	int			factors;
	rs_status	status;

	for (int k = 0; k < RS_ALS_OPTION_COUNT; k++)
		options[k] = rs_als_option_specs[k].default_value;
	options[RS_ALS_ITERATIONS] = iterations;
	options[RS_ALS_THREADS] = threads;
	factors = (int) options[RS_ALS_FACTORS];

	started = rs_now();
	if (rs_interactions_build(buf, &rs_malloc_allocator, &data) != RS_OK)
		fail("building the interactions failed");
	build_seconds = rs_now() - started;

	started = rs_now();
	status = rs_als_fit_feedback(&data, options, &rt, &result);
	fit_seconds = rs_now() - started;
	if (status != RS_OK)
	{
		fprintf(stderr, "als_flops: %s: training failed with status %d\n", name, (int) status);
		exit(1);
	}

	flops = count_side(data.user_ptr, data.n_users, factors, &dual_users) +
		count_side(data.item_ptr, data.n_items, factors, &dual_items) +
		2.0 * (double) data.nnz * factors;

	printf("%s.users %d\n", name, data.n_users);
	printf("%s.items %d\n", name, data.n_items);
	printf("%s.nnz %zu\n", name, data.nnz);
	printf("%s.dual_users %d\n", name, dual_users);
	printf("%s.dual_items %d\n", name, dual_items);
	printf("%s.factors %d\n", name, factors);
	printf("%s.threads %d\n", name, threads);
	printf("%s.iterations %d\n", name, result.iterations);
	printf("%s.final_rmse %.4f\n", name, result.loss[result.iterations - 1]);
	printf("%s.build_seconds %.4f\n", name, build_seconds);
	printf("%s.fit_seconds %.4f\n", name, fit_seconds);
	printf("%s.mean_seconds_per_iteration %.4f\n", name, t.total / t.count);
	printf("%s.best_seconds_per_iteration %.4f\n", name, t.best);
	printf("%s.gflop_per_iteration %.3f\n", name, flops * 1e-9);
	/* from the fastest iteration, as the sgemm peak is the fastest run */
	printf("%s.gflops %.2f\n", name, flops * 1e-9 / t.best);
	fflush(stdout);

	rs_als_result_free(&result, &rs_malloc_allocator);
	rs_interactions_free(&data, &rs_malloc_allocator);
}

static void
run_synthetic(const char *name, const synth_shape *shape, int iterations, int threads)
{
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	synthesize(shape, &buf);
	run(name, &buf, iterations, threads);
	rs_buffer_free(&buf, &rs_malloc_allocator);
}

int
main(int argc, char **argv)
{
	bool		ml1m_only = argc > 1 && strcmp(argv[1], "--ml1m") == 0;
	int			real_iterations = !ml1m_only && argc > 2 ? atoi(argv[2]) : 5;
	int			synth_iterations = !ml1m_only && argc > 3 ? atoi(argv[3]) : 3;
	int			ml1m_iterations = ml1m_only ? (argc > 2 ? atoi(argv[2]) : 5) :
		(argc > 4 ? atoi(argv[4]) : 5);
	int			threads = (int) sysconf(_SC_NPROCESSORS_ONLN);
	rs_interaction_buffer buf;

	if (argc < 2 || real_iterations < 1 || synth_iterations < 1 || ml1m_iterations < 1)
	{
		fprintf(stderr, "usage: %s RATINGS_DAT [real_iterations [synthetic_iterations [ml1m_iterations]]]\n"
				"       %s --ml1m [ml1m_iterations]\n", argv[0], argv[0]);
		return 2;
	}
	if (threads < 1)
		threads = 1;
	/* the engine parallelises over rows; BLAS inside each row stays serial */
	rs_blas_single_threaded();

	if (!ml1m_only)
	{
		memset(&buf, 0, sizeof(buf));
		load_ratings(argv[1], &buf);
		run("mt", &buf, real_iterations, threads);
		rs_buffer_free(&buf, &rs_malloc_allocator);

		run_synthetic("synth", &synth_large, synth_iterations, threads);
	}
	run_synthetic("ml1m", &synth_ml1m, ml1m_iterations, threads);
	return 0;
}
