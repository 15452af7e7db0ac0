/*
 * subnormal_scoring.c - what scoring a network with subnormal weights costs,
 * as a ratio against the same network with ordinary weights.
 *
 * Weight decay leaves weights that stop learning below FLT_MIN (a NeuMF
 * trained with l2 0.01 on MovieTweetings kept 1,524 of its 2,753 tower
 * weights there before the engine flushed them).  On Intel cores every
 * operation on such a number takes a microcode assist; AMD's handle most in
 * hardware.  The engine scores with FTZ and DAZ set (src/core/fp_mode.h), so
 * its ratio should be about 1 on every CPU; the same scoring called below
 * the engine's entry point, in the caller's mode, shows what the CPU
 * charges without that.
 *
 * A NeuMF of the default shape ([64, 32, 16, 8], 16 factors) over 20,000
 * items with random weights; the "tiny" copy has every other tower weight
 * multiplied by 1e-39.
 *
 *   gcc -O2 -Isrc test/bench/subnormal_scoring.c src/core/[a-z]*.c -lopenblas -lpthread -lm
 *   ./a.out [users]
 *
 * Prints `key value` lines: milliseconds per user's scores over every item
 * for each model and mode, and the ratios tiny / normal.
 */
#include "core/ncf.h"
#include "core/random.h"
#include "core/runtime.h"
#include "core/scoring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS 1000
#define ITEMS 20000
#define FACTORS 16

static const int32_t sizes[] = {64, 32, 16, 8, 1};

typedef rs_status (*score_fn) (const rs_model *m, int32_t user, const rs_allocator *a,
							   float *scores);

/* Best of three passes over `users` users, in ms per user. */
static double
ms_per_user(const rs_model *m, score_fn score, int users, float *scores)
{
	double		best = 1e30;

	for (int pass = 0; pass < 3; pass++)
	{
		double		started = rs_now(),
					ms;

		for (int32_t u = 0; u < users; u++)
			score(m, u % USERS, &rs_malloc_allocator, scores);
		ms = (rs_now() - started) * 1000.0 / users;
		if (ms < best)
			best = ms;
	}
	return best;
}

int
main(int argc, char **argv)
{
	int			users = argc > 1 ? atoi(argv[1]) : 200;
	const rs_allocator *a = &rs_malloc_allocator;
	rs_interaction_buffer buf = {0};
	rs_interactions d;
	rs_ncf_result r = {0};
	rs_model	normal,
				tiny;
	rs_random	rng = {20261203};
	size_t		n_weights,
				tower;
	float	   *tiny_weights,
			   *scores = malloc(sizeof(float) * ITEMS);
	double		engine_normal,
				engine_tiny,
				raw_normal,
				raw_tiny;

	rs_blas_single_threaded();
	/* every user and every item once, so that both sides have their sizes */
	for (int k = 0; k < ITEMS; k++)
		rs_buffer_append(&buf, a, k % USERS, k, 1.0f);
	if (rs_interactions_build(&buf, a, &d) != RS_OK)
		return 1;

	r.factors = FACTORS;
	r.n_sizes = (int) (sizeof(sizes) / sizeof(sizes[0]));
	r.sizes = (int32_t *) sizes;
	n_weights = rs_ncf_weight_count(r.n_sizes, sizes, FACTORS, d.n_users, d.n_items);
	r.weights = malloc(sizeof(float) * n_weights);
	r.user_factors = malloc(sizeof(float) * USERS * FACTORS);
	r.item_factors = malloc(sizeof(float) * ITEMS * FACTORS);
	r.item_popularity = calloc(ITEMS, sizeof(float));
	for (size_t k = 0; k < n_weights; k++)
		r.weights[k] = (float) (0.1 * rs_random_normal(&rng));
	for (size_t k = 0; k < (size_t) USERS * FACTORS; k++)
		r.user_factors[k] = (float) (0.1 * rs_random_normal(&rng));
	for (size_t k = 0; k < (size_t) ITEMS * FACTORS; k++)
		r.item_factors[k] = (float) (0.1 * rs_random_normal(&rng));
	rs_ncf_model(&d, &r, &normal);

	/* the tower and output layer come first in the block (ncf.h) */
	tower = (size_t) (normal.ncf_output_gmf - normal.mlp_weights);
	tiny_weights = malloc(sizeof(float) * n_weights);
	memcpy(tiny_weights, r.weights, sizeof(float) * n_weights);
	for (size_t k = 0; k < tower; k += 2)
		tiny_weights[k] *= 1e-39f;
	r.weights = tiny_weights;
	rs_ncf_model(&d, &r, &tiny);

	engine_normal = ms_per_user(&normal, rs_score_items, users, scores);
	engine_tiny = ms_per_user(&tiny, rs_score_items, users, scores);
	raw_normal = ms_per_user(&normal, rs_ncf_score_items, users, scores);
	raw_tiny = ms_per_user(&tiny, rs_ncf_score_items, users, scores);

	printf("items %d\n", ITEMS);
	printf("tower_weights %zu\n", tower);
	printf("engine_normal_ms %.3f\n", engine_normal);
	printf("engine_tiny_ms %.3f\n", engine_tiny);
	printf("engine_ratio %.2f\n", engine_tiny / engine_normal);
	printf("unflushed_normal_ms %.3f\n", raw_normal);
	printf("unflushed_tiny_ms %.3f\n", raw_tiny);
	printf("unflushed_ratio %.2f\n", raw_tiny / raw_normal);
	return 0;
}
