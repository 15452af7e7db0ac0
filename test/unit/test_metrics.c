/*
 * test_metrics.c - the ranking metrics against values worked out by hand
 * (repeats, short lists, k beyond both lists, duplicates in the relevant
 * set), then against a slow, literal reading of the definitions on random
 * lists, and running out of memory.
 */
#include "core/ranking_metrics.h"
#include "core/random.h"

#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define TOL 1e-12
#define MAX_LEN 40

/* 1 / log2(i + 1), the discount at 1-based position i */
static double
g(int i)
{
	return 1.0 / log2(i + 1.0);
}

typedef struct expected
{
	double		ndcg;
	double		precision;
	double		recall;
	double		hit_rate;
	double		average_precision;
} expected;

/* Computes the metrics of one case (relevant taken as given: any order, repeats). */
static bool
compute(const int64_t *rec, size_t n_rec, const int64_t *rel, size_t n_rel, int32_t k,
		rs_ranking_metrics *out)
{
	int64_t		sorted[MAX_LEN + 1];
	size_t		n_unique;

	memcpy(sorted, rel, n_rel * sizeof(int64_t));
	n_unique = rs_sort_unique_ids(sorted, n_rel);
	return rs_ranking_metrics_compute(rec, n_rec, sorted, n_unique, k,
									  &rs_malloc_allocator, out) == RS_OK;
}

static void
check_case(const char *name, const int64_t *rec, size_t n_rec,
		   const int64_t *rel, size_t n_rel, int32_t k, expected want)
{
	rs_ranking_metrics m;

	if (!CHECK(compute(rec, n_rec, rel, n_rel, k, &m), "%s: computed", name))
		return;
	if (!CHECK_NEAR(m.ndcg, want.ndcg, TOL))
		fprintf(stderr, "  in %s (ndcg)\n", name);
	if (!CHECK_NEAR(m.precision, want.precision, TOL))
		fprintf(stderr, "  in %s (precision)\n", name);
	if (!CHECK_NEAR(m.recall, want.recall, TOL))
		fprintf(stderr, "  in %s (recall)\n", name);
	if (!CHECK_NEAR(m.hit_rate, want.hit_rate, TOL))
		fprintf(stderr, "  in %s (hit rate)\n", name);
	if (!CHECK_NEAR(m.average_precision, want.average_precision, TOL))
		fprintf(stderr, "  in %s (average precision)\n", name);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_by_hand(void)
{
	/* one hit at position 2 of 3 */
	{
		int64_t		rec[] = {5, 2, 7},
					rel[] = {2};

		check_case("hit at 2", rec, N(rec), rel, N(rel), 3,
				   (expected) {g(2), 1.0 / 3, 1.0, 1.0, 0.5});
		/* the same in decimals, to catch a wrong discount base */
		check_case("hit at 2, decimals", rec, N(rec), rel, N(rel), 3,
				   (expected) {0.63092975357145743710, 0.33333333333333333, 1.0, 1.0, 0.5});
		/* cut before the hit */
		check_case("hit at 2, k = 1", rec, N(rec), rel, N(rel), 1,
				   (expected) {0.0, 0.0, 0.0, 0.0, 0.0});
	}

	/* a perfect ranking, relevant given in another order */
	{
		int64_t		rec[] = {1, 2, 3},
					rel[] = {3, 1, 2};

		check_case("perfect", rec, N(rec), rel, N(rel), 3,
				   (expected) {1.0, 1.0, 1.0, 1.0, 1.0});
		/* k = 2: only two of three can be found, but the ranking is still ideal */
		check_case("perfect, k = 2", rec, N(rec), rel, N(rel), 2,
				   (expected) {1.0, 1.0, 2.0 / 3, 1.0, 1.0});
	}

	/* hits at 1, 3 and 5 of 5, four relevant (one never recommended) */
	{
		int64_t		rec[] = {1, 2, 3, 4, 5},
					rel[] = {1, 3, 5, 7};

		check_case("hits at 1, 3, 5", rec, N(rec), rel, N(rel), 5,
				   (expected) {(g(1) + g(3) + g(5)) / (g(1) + g(2) + g(3) + g(4)),
					   3.0 / 5, 3.0 / 4, 1.0,
				   (1.0 + 2.0 / 3 + 3.0 / 5) / 4});
		check_case("hits at 1, 3, 5, decimals", rec, N(rec), rel, N(rel), 5,
				   (expected) {0.73658969321595780, 0.6, 0.75, 1.0,
				   0.56666666666666667});
	}

	/* a repeated hit counts once, at its first position, and still takes a place */
	{
		int64_t		rec[] = {2, 2, 5},
					rel[] = {2, 5};

		check_case("repeat then hit", rec, N(rec), rel, N(rel), 3,
				   (expected) {(g(1) + g(3)) / (g(1) + g(2)), 2.0 / 3, 1.0, 1.0,
				   (1.0 + 2.0 / 3) / 2});
		/* the repeat pushed 5 out of the first two */
		check_case("repeat then hit, k = 2", rec, N(rec), rel, N(rel), 2,
				   (expected) {g(1) / (g(1) + g(2)), 0.5, 0.5, 1.0, 0.5});
	}

	/* a repeat of a miss is just another miss */
	{
		int64_t		rec[] = {9, 9, 4},
					rel[] = {4};

		check_case("repeated miss", rec, N(rec), rel, N(rel), 3,
				   (expected) {g(3), 1.0 / 3, 1.0, 1.0, 1.0 / 3});
	}

	/* duplicates in relevant count once */
	{
		int64_t		rec[] = {1, 2, 3, 4},
					rel[] = {4, 3, 4, 3, 3};

		check_case("duplicate relevant", rec, N(rec), rel, N(rel), 3,
				   (expected) {g(3) / (g(1) + g(2)), 1.0 / 3, 0.5, 1.0, (1.0 / 3) / 2});
		check_case("duplicate relevant, k = 4", rec, N(rec), rel, N(rel), 4,
				   (expected) {(g(3) + g(4)) / (g(1) + g(2)), 0.5, 1.0, 1.0,
				   (1.0 / 3 + 2.0 / 4) / 2});
	}

	/* a list shorter than k: the missing positions are misses */
	{
		int64_t		rec[] = {4},
					rel[] = {4, 9};

		check_case("short list", rec, N(rec), rel, N(rel), 5,
				   (expected) {g(1) / (g(1) + g(2)), 1.0 / 5, 0.5, 1.0, 1.0 / 2});
	}

	/* k beyond both lists */
	{
		int64_t		rec[] = {1, 2},
					rel[] = {2};

		check_case("k beyond both", rec, N(rec), rel, N(rel), 10,
				   (expected) {g(2), 0.1, 1.0, 1.0, 0.5});
		check_case("k = INT32_MAX", rec, N(rec), rel, N(rel), INT32_MAX,
				   (expected) {g(2), 1.0 / INT32_MAX, 1.0, 1.0, 0.5});
	}

	/* no hits, and nothing recommended */
	{
		int64_t		rec[] = {1, 2, 3},
					rel[] = {9};

		check_case("no hits", rec, N(rec), rel, N(rel), 3,
				   (expected) {0.0, 0.0, 0.0, 0.0, 0.0});
		check_case("empty list", NULL, 0, rel, N(rel), 3,
				   (expected) {0.0, 0.0, 0.0, 0.0, 0.0});
	}

	/* extreme and negative ids sort and match like any others */
	{
		int64_t		rec[] = {INT64_MIN, -1, 0, INT64_MAX},
					rel[] = {INT64_MAX, 0, INT64_MIN, INT64_MAX};

		check_case("extreme ids", rec, N(rec), rel, N(rel), 4,
				   (expected) {(g(1) + g(3) + g(4)) / (g(1) + g(2) + g(3)), 0.75, 1.0, 1.0,
				   (1.0 + 2.0 / 3 + 3.0 / 4) / 3});
	}
}

/* Undefined cases: every metric NaN. */
static void
test_undefined(void)
{
	int64_t		rec[] = {1, 2},
				rel[] = {1};
	rs_ranking_metrics m;

	CHECK(rs_ranking_metrics_compute(rec, 2, NULL, 0, 3, &rs_malloc_allocator, &m) == RS_OK,
		  "no relevant items: status");
	CHECK(isnan(m.ndcg) && isnan(m.precision) && isnan(m.recall) &&
		  isnan(m.hit_rate) && isnan(m.average_precision) && m.hits == 0,
		  "no relevant items: NaN");
	CHECK(rs_ranking_metrics_compute(rec, 2, rel, 1, 0, &rs_malloc_allocator, &m) == RS_OK,
		  "k = 0: status");
	CHECK(isnan(m.ndcg) && isnan(m.precision) && isnan(m.average_precision),
		  "k = 0: NaN");
	CHECK(rs_ranking_metrics_compute(rec, 2, rel, 1, -5, &rs_malloc_allocator, &m) == RS_OK &&
		  isnan(m.recall) && isnan(m.hit_rate), "k < 0: NaN");
}

static void
test_sort_unique(void)
{
	int64_t		ids[] = {5, -3, 5, INT64_MAX, 0, -3, INT64_MIN, 5, 0};
	int64_t		want[] = {INT64_MIN, -3, 0, 5, INT64_MAX};
	int64_t		one[] = {7};
	size_t		n = rs_sort_unique_ids(ids, N(ids));

	CHECK(n == N(want) && memcmp(ids, want, sizeof(want)) == 0,
		  "sort unique: %zu ids", n);
	CHECK(rs_sort_unique_ids(one, 1) == 1 && one[0] == 7, "one id");
	CHECK(rs_sort_unique_ids(NULL, 0) == 0, "no ids");
}

/*
 * The definitions read literally: a position is a hit when its item is in
 * relevant and did not occur earlier in the list.
 */
static void
reference(const int64_t *rec, size_t n_rec, const int64_t *rel, size_t n_rel,
		  int32_t k, expected *out)
{
	size_t		n_unique = 0,
				hits = 0,
				ideal;
	double		dcg = 0,
				idcg = 0,
				precisions = 0;

	for (size_t j = 0; j < n_rel; j++)
	{
		bool		earlier = false;

		for (size_t e = 0; e < j; e++)
			earlier |= rel[e] == rel[j];
		n_unique += !earlier;
	}
	for (int32_t i = 1; i <= k; i++)
	{
		bool		relevant = false,
					earlier = false;

		if ((size_t) i > n_rec)
			break;				/* padding: misses */
		for (size_t j = 0; j < n_rel; j++)
			relevant |= rel[j] == rec[i - 1];
		for (int32_t e = 1; e < i; e++)
			earlier |= rec[e - 1] == rec[i - 1];
		if (relevant && !earlier)
		{
			hits++;
			dcg += g(i);
			precisions += (double) hits / i;
		}
	}
	ideal = n_unique < (size_t) k ? n_unique : (size_t) k;
	for (size_t i = 1; i <= ideal; i++)
		idcg += g((int) i);
	out->ndcg = dcg / idcg;
	out->precision = (double) hits / k;
	out->recall = (double) hits / n_unique;
	out->hit_rate = hits > 0;
	out->average_precision = precisions / ideal;
}

static void
test_random(void)
{
	rs_random	rng = {20240601};
	long		cases = 0;

	for (int round = 0; round < 20000; round++)
	{
		int64_t		rec[MAX_LEN],
					rel[MAX_LEN];
		size_t		n_rec = rs_random_next(&rng) % MAX_LEN,
					n_rel = 1 + rs_random_next(&rng) % (MAX_LEN - 1);
		/* a small id range makes repeats and hits common */
		int64_t		range = 1 + (int64_t) (rs_random_next(&rng) % 60);
		int32_t		k = 1 + (int32_t) (rs_random_next(&rng) % (MAX_LEN + 10));
		rs_ranking_metrics m;
		expected	want;
		char		name[64];

		for (size_t i = 0; i < n_rec; i++)
			rec[i] = (int64_t) (rs_random_next(&rng) % (uint64_t) range) - range / 2;
		for (size_t j = 0; j < n_rel; j++)
			rel[j] = (int64_t) (rs_random_next(&rng) % (uint64_t) range) - range / 2;
		reference(rec, n_rec, rel, n_rel, k, &want);
		snprintf(name, sizeof(name), "random case %d", round);
		check_case(name, rec, n_rec, rel, n_rel, k, want);
		if (!compute(rec, n_rec, rel, n_rel, k, &m))
			continue;
		CHECK(m.ndcg >= 0 && m.ndcg <= 1 && m.average_precision >= 0 &&
			  m.average_precision <= 1 && m.recall <= 1 && m.precision <= 1,
			  "%s: a metric outside [0, 1]", name);
		cases++;
	}
	CHECK(cases == 20000, "only %ld random cases ran", cases);
}

/* An allocator that always fails. */
static void *
failing_alloc(void *ctx, size_t size)
{
	(void) ctx;
	(void) size;
	return NULL;
}

static void
never_free(void *ctx, void *ptr)
{
	(void) ctx;
	(void) ptr;
}

static void
test_no_memory(void)
{
	const rs_allocator failing = {failing_alloc, never_free, NULL, NULL};
	int64_t		rec[] = {1},
				rel[] = {1};
	rs_ranking_metrics m;

	CHECK(rs_ranking_metrics_compute(rec, 1, rel, 1, 1, &failing, &m) == RS_NO_MEMORY,
		  "a failed allocation is reported");
}

int
main(void)
{
	test_by_hand();
	test_undefined();
	test_sort_unique();
	test_random();
	test_no_memory();
	return unit_done();
}
