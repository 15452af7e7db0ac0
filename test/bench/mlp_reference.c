/*
 * mlp_reference.c - training time of the reference network (10 features,
 * one hidden layer of 128 ReLU units, sigmoid output, binary cross-entropy,
 * Adam, 10 epochs, batches of 32: train_mlp's defaults) on 1,000,000 rows,
 * and its held-out accuracy and AUC on 100,000 more.  Features are uniform
 * in [-1, 1]; the label is a non-linear rule of the first three.
 *
 *   gcc -O2 -Isrc test/bench/mlp_reference.c src/core/[a-z]*.c -lopenblas -lpthread -lm
 *   ./a.out [rows]
 *
 * Prints `key value` lines, among them the arithmetic of training: per row
 * and epoch, forward 2 (d h + h), backward twice that (the gradients of the
 * weights and of the hidden layer), the output layer's few operations left
 * out.
 */
#include "core/mlp.h"
#include "core/random.h"
#include "core/runtime.h"

#include <stdio.h>
#include <stdlib.h>

#define FEATURES 10
#define HELD_OUT 100000

static float
rule(const float *x)
{
	return x[0] * x[1] + x[2] * x[2] - 1.0f / 3 > 0 ? 1.0f : 0.0f;
}

static int
by_score(const void *a, const void *b)
{
	double		x = ((const double *) a)[0],
				y = ((const double *) b)[0];

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	size_t		rows = argc > 1 ? (size_t) atol(argv[1]) : 1000000;
	size_t		total = rows + HELD_OUT;
	float	   *x = malloc(sizeof(float) * total * FEATURES);
	float	   *y = malloc(sizeof(float) * total);
	double	   *scored = malloc(sizeof(double) * 2 * HELD_OUT);
	double		options[RS_MLP_OPTION_COUNT];
	int			hidden[1] = {128};
	rs_random	rng = {20171};
	rs_runtime	rt = {0};
	rs_mlp_result result;
	rs_model	model;
	float		scratch[1024];
	double		started,
				correct = 0,
				rank_sum = 0,
				positives = 0;

	rs_blas_single_threaded();
	for (size_t r = 0; r < total; r++)
	{
		for (int k = 0; k < FEATURES; k++)
			x[r * FEATURES + k] = (float) (2 * rs_random_uniform(&rng) - 1);
		y[r] = rule(x + r * FEATURES);
	}
	for (int k = 0; k < RS_MLP_OPTION_COUNT; k++)
		options[k] = rs_mlp_option_specs[k].default_value;
	rt.alloc = rs_malloc_allocator;
	rt.threads = 1;
	started = rs_now();
	if (rs_mlp_fit(x, y, rows, FEATURES, hidden, 1, options, &rt, &result) != RS_OK)
		return 1;
	{
		double		seconds = rs_now() - started;
		double		flop = 3.0 * 2 * (FEATURES * 128 + 128) * (double) rows * options[RS_MLP_EPOCHS];

		printf("rows %zu\ntrain_seconds %.3f\ngflops %.2f\n", rows, seconds, flop / 1e9 / seconds);
	}

	/* accuracy, and AUC by the rank-sum formula */
	rs_mlp_model(&result, &model);
	for (size_t r = 0; r < HELD_OUT; r++)
	{
		double		p = rs_mlp_predict(&model, x + (rows + r) * FEATURES, scratch);

		correct += (p > 0.5) == (y[rows + r] > 0.5);
		scored[2 * r] = p;
		scored[2 * r + 1] = y[rows + r];
	}
	qsort(scored, HELD_OUT, 2 * sizeof(double), by_score);
	for (size_t r = 0; r < HELD_OUT; r++)
		if (scored[2 * r + 1] > 0.5)
		{
			rank_sum += (double) r + 1;
			positives++;
		}
	printf("accuracy %.4f\nauc %.4f\n", correct / HELD_OUT,
		   (rank_sum - positives * (positives + 1) / 2) / (positives * (HELD_OUT - positives)));
	rs_mlp_result_free(&result, &rs_malloc_allocator);
	free(x);
	free(y);
	free(scored);
	return 0;
}
