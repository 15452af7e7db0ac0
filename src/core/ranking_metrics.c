/*
 * ranking_metrics.c - ranking metrics of one recommended list against a relevant set.
 *
 * One pass over the first k recommended items finds each in the sorted
 * relevant ids by binary search and marks it, so a repeat is seen as one;
 * every metric is then a different reading of the same hits.
 */
#include "ranking_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
compare_ids(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

size_t
rs_sort_unique_ids(int64_t *ids, size_t n)
{
	size_t		kept = 0;

	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(int64_t), compare_ids);
	for (size_t i = 1; i < n; i++)
		if (ids[i] != ids[kept])
			ids[++kept] = ids[i];
	return kept + 1;
}

/* Index of id in the ascending ids[0 .. n), or n when it is not there. */
static size_t
find_sorted(const int64_t *ids, size_t n, int64_t id)
{
	size_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < n && ids[lo] == id) ? lo : n;
}

/* The discount of a hit at 1-based position i; DCG and IDCG share it. */
static inline double
gain_at(size_t position)
{
	return 1.0 / log2((double) position + 1.0);
}

rs_status
rs_ranking_metrics_compute(const int64_t *recommended, size_t n_recommended,
						   const int64_t *relevant, size_t n_relevant,
						   int32_t k, const rs_allocator *a,
						   rs_ranking_metrics *out)
{
	size_t		depth;			/* recommended positions that count */
	size_t		ideal;			/* hits a perfect list would have */
	size_t		hits = 0;
	double		dcg = 0.0,
				idcg = 0.0,
				precision_sum = 0.0;
	unsigned char *found;

	if (k < 1 || n_relevant == 0)
	{
		out->ndcg = out->precision = out->recall = NAN;
		out->hit_rate = out->average_precision = NAN;
		out->hits = 0;
		return RS_OK;
	}

	depth = n_recommended < (size_t) k ? n_recommended : (size_t) k;
	ideal = n_relevant < (size_t) k ? n_relevant : (size_t) k;

	found = rs_alloc(a, n_relevant);
	if (found == NULL)
		return RS_NO_MEMORY;
	memset(found, 0, n_relevant);

	for (size_t i = 0; i < depth; i++)
	{
		size_t		at = find_sorted(relevant, n_relevant, recommended[i]);

		if (at == n_relevant || found[at])
			continue;			/* not relevant, or a repeat of an earlier hit */
		found[at] = 1;
		hits++;
		dcg += gain_at(i + 1);
		precision_sum += (double) hits / (double) (i + 1);
	}
	rs_free(a, found);

	for (size_t i = 0; i < ideal; i++)
		idcg += gain_at(i + 1);

	out->hits = hits;
	out->ndcg = dcg / idcg;
	out->precision = (double) hits / (double) k;
	out->recall = (double) hits / (double) n_relevant;
	out->hit_rate = hits > 0 ? 1.0 : 0.0;
	out->average_precision = precision_sum / (double) ideal;
	return RS_OK;
}
