/*
 * sgemm_peak.c - what this machine's BLAS reaches on a large single-precision
 * matrix product: the yardstick the ALS benchmark is measured against.
 *
 * Multiplies two n x n float matrices (n = 1024 unless given), once with
 * BLAS on one thread and once on every core, and prints the best GFLOP/s
 * of a few timed runs of each as `key value` lines.
 *
 *   gcc -O2 -Isrc test/bench/sgemm_peak.c -lopenblas -lpthread -lm
 *   ./a.out [n]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TRIALS 10
#define MIN_TRIAL_SECONDS 0.1

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static void
multiply(int n, const float *a, const float *b, float *c)
{
	cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n,
				1.0f, a, n, b, n, 0.0f, c, n);
}

/* Best GFLOP/s over TRIALS runs, each long enough to time reliably. */
static double
peak(int threads, int n, const float *a, const float *b, float *c)
{
	double		flops = 2.0 * n * n * (double) n;
	double		best = 0.0;
	int			reps = 1;
	double		started,
				elapsed;

	openblas_set_num_threads(threads);
	/* warm up, and find how many products make a trial */
	started = now();
	multiply(n, a, b, c);
	elapsed = now() - started;
	if (elapsed < MIN_TRIAL_SECONDS)
		reps = (int) (MIN_TRIAL_SECONDS / (elapsed > 1e-6 ? elapsed : 1e-6)) + 1;

	for (int trial = 0; trial < TRIALS; trial++)
	{
		double		rate;

		started = now();
		for (int r = 0; r < reps; r++)
			multiply(n, a, b, c);
		elapsed = now() - started;
		rate = flops * reps / elapsed * 1e-9;
		if (rate > best)
			best = rate;
	}
	return best;
}

int
main(int argc, char **argv)
{
	int			n = argc > 1 ? atoi(argv[1]) : 1024;
	int			cores = (int) sysconf(_SC_NPROCESSORS_ONLN);
	size_t		size = (size_t) n * n;
	float	   *a,
			   *b,
			   *c;
	double		single,
				all;

	if (n < 16 || n > 16384)
	{
		fprintf(stderr, "usage: %s [n]   (16 <= n <= 16384)\n", argv[0]);
		return 2;
	}
	if (cores < 1)
		cores = 1;
	a = malloc(sizeof(float) * size);
	b = malloc(sizeof(float) * size);
	c = malloc(sizeof(float) * size);
	if (!a || !b || !c)
	{
		fprintf(stderr, "sgemm_peak: out of memory\n");
		return 1;
	}
	/* values of moderate size, so nothing overflows or goes denormal */
	for (size_t k = 0; k < size; k++)
	{
		a[k] = (float) ((k * 7 + 3) % 17) / 17.0f - 0.5f;
		b[k] = (float) ((k * 5 + 1) % 13) / 13.0f - 0.5f;
	}

	single = peak(1, n, a, b, c);
	all = peak(cores, n, a, b, c);

	printf("sgemm.n %d\n", n);
	printf("sgemm.cores %d\n", cores);
	printf("sgemm.blas_core %s\n", openblas_get_corename());
	printf("sgemm.gflops_1thread %.2f\n", single);
	printf("sgemm.gflops_all %.2f\n", all);
	free(a);
	free(b);
	free(c);
	return 0;
}
