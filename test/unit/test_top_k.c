/*
 * test_top_k.c - rs_top_k against a full sort: best score first, the lower
 * index first among equal scores, NaN never chosen, skipped indices left out.
 */
#include "core/random.h"
#include "core/top_k.h"

#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define MAX_N 300

static int
by_rank(const void *a, const void *b)
{
	const rs_scored *x = a,
			   *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* The expected answer: every eligible entry, fully sorted, cut at k. */
static size_t
reference(const float *scores, int32_t n, const int32_t *skip, size_t n_skip,
		  size_t k, rs_scored *out)
{
	static rs_scored all[MAX_N];
	size_t		count = 0,
				s = 0;

	for (int32_t i = 0; i < n; i++)
	{
		while (s < n_skip && skip[s] < i)
			s++;
		if ((s < n_skip && skip[s] == i) || isnan(scores[i]))
			continue;
		all[count].score = scores[i];
		all[count].index = i;
		count++;
	}
	qsort(all, count, sizeof(rs_scored), by_rank);
	if (count > k)
		count = k;
	memcpy(out, all, count * sizeof(rs_scored));
	return count;
}

enum
{
	TIES = 1,					/* few distinct values */
	NANS = 2,
	SKIPS = 4,
	INFINITIES = 8,
	FLAVOURS = 16
};

static long compared;

static void
one_case(rs_random *rng, int32_t n, int flavour)
{
	float		scores[MAX_N];
	int32_t		skip[MAX_N];
	size_t		n_skip = 0;
	rs_scored	got[MAX_N + 8],
				want[MAX_N + 8];
	size_t		ks[] = {1, 2, 5, 10, (size_t) n - 1, (size_t) n, (size_t) n + 5};
	double		skip_rate = rs_random_uniform(rng);

	for (int32_t i = 0; i < n; i++)
	{
		double		x = rs_random_normal(rng);

		if (flavour & TIES)
			x = (double) (int) (x * 2.0) / 2.0;	/* about seven distinct values */
		scores[i] = (float) x;
		if ((flavour & NANS) && rs_random_uniform(rng) < 0.2)
			scores[i] = NAN;
		if ((flavour & INFINITIES) && rs_random_uniform(rng) < 0.1)
			scores[i] = rs_random_uniform(rng) < 0.5 ? INFINITY : -INFINITY;
		if ((flavour & SKIPS) && rs_random_uniform(rng) < skip_rate)
			skip[n_skip++] = i;
	}

	for (size_t c = 0; c < sizeof(ks) / sizeof(ks[0]); c++)
	{
		size_t		k = ks[c];
		size_t		n_got,
					n_want;
		bool		same = true;
		size_t		at = 0;

		if (k > (size_t) n + 5)
			continue;			/* n - 1 for n = 0 */
		memset(got, 0x7F, sizeof(got));
		n_got = rs_top_k(scores, n, skip, n_skip, k, got);
		n_want = reference(scores, n, skip, n_skip, k, want);
		if (!CHECK(n_got == n_want, "n=%d k=%zu flavour=%d: %zu entries, want %zu",
				   n, k, flavour, n_got, n_want))
			continue;
		for (size_t r = 0; r < n_got && same; r++)
			if (got[r].index != want[r].index ||
				memcmp(&got[r].score, &want[r].score, sizeof(float)) != 0)
			{
				same = false;
				at = r;
			}
		compared++;
		CHECK(same, "n=%d k=%zu flavour=%d: rank %zu is (%d, %g), want (%d, %g)",
			  n, k, flavour, at, got[at].index, got[at].score,
			  want[at].index, want[at].score);
	}
}

static void
test_random(void)
{
	rs_random	rng = {1234567};
	int32_t		sizes[] = {0, 1, 2, 3, 7, 10, 11, 64, 100, 299, MAX_N};

	for (int round = 0; round < 40; round++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (int flavour = 0; flavour < FLAVOURS; flavour++)
				one_case(&rng, sizes[s], flavour);
	CHECK(compared > 40000, "only %ld comparisons ran", compared);
}

static void
test_edges(void)
{
	float		scores[6] = {1.0f, 2.0f, 2.0f, NAN, 2.0f, 0.5f};
	float		nans[3] = {NAN, NAN, NAN};
	int32_t		skip_all[6] = {0, 1, 2, 3, 4, 5};
	int32_t		skip_some[2] = {1, 4};
	int32_t		skip_far[2] = {100, 200};
	rs_scored	out[8];
	size_t		got;

	CHECK(rs_top_k(scores, 6, NULL, 0, 0, out) == 0, "k = 0 gives nothing");
	CHECK(rs_top_k(nans, 3, NULL, 0, 3, out) == 0, "all NaN gives nothing");
	CHECK(rs_top_k(scores, 6, skip_all, 6, 3, out) == 0, "all skipped gives nothing");

	/* three-way tie at the top: indices ascending */
	got = rs_top_k(scores, 6, NULL, 0, 3, out);
	CHECK(got == 3 && out[0].index == 1 && out[1].index == 2 && out[2].index == 4,
		  "tie order: %d %d %d", out[0].index, out[1].index, out[2].index);

	/* the tie cut by k keeps the lowest index */
	got = rs_top_k(scores, 6, NULL, 0, 1, out);
	CHECK(got == 1 && out[0].index == 1 && out[0].score == 2.0f, "k=1 in a tie: %d",
		  out[0].index);

	got = rs_top_k(scores, 6, skip_some, 2, 8, out);
	CHECK(got == 3 && out[0].index == 2 && out[1].index == 0 && out[2].index == 5,
		  "skip 1 and 4: %zu entries, %d %d %d", got, out[0].index, out[1].index,
		  out[2].index);

	/* skip entries past n are harmless */
	got = rs_top_k(scores, 6, skip_far, 2, 8, out);
	CHECK(got == 5, "skip beyond n: %zu entries", got);
}

int
main(void)
{
	test_random();
	test_edges();
	return unit_done();
}
