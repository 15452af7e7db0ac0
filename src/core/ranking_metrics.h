/*
 * ranking_metrics.h - how well a ranked list of recommended items matches a
 * set of relevant ones (binary relevance), cut at position k.
 *
 * With hits@i the number of relevant items among the first i positions:
 *
 *   precision@k  = hits@k / k
 *   recall@k     = hits@k / |relevant|
 *   hit rate@k   = 1 if hits@k > 0, else 0
 *   AP@k         = sum over relevant positions i <= k of (hits@i / i),
 *                  divided by min(k, |relevant|)
 *   NDCG@k       = DCG@k / IDCG@k, where
 *                  DCG@k  = sum over relevant positions i <= k of 1 / log2(i + 1)
 *                  IDCG@k = sum over i = 1 .. min(k, |relevant|) of 1 / log2(i + 1)
 *
 * Rules, the same for every metric:
 * - An item repeated in the recommended list counts once, at its first
 *   position.  A later repeat is never a hit, but it still takes up its
 *   position, so it pushes the items after it down the list.
 * - Repeats in the relevant set count once: it is a set.
 * - A list shorter than k is padded with misses: precision still divides by
 *   k, and positions past the end of the list add nothing.
 * - With no relevant items every metric is undefined (NaN here; NULL in SQL).
 *
 * Each value lies in [0, 1]; a perfect ranking has NDCG and AP exactly 1.
 * Cost: O(m log m) to sort the m relevant ids once, then O(log m) for each of
 * the first k recommended items.
 */
#ifndef RECSYS_RANKING_METRICS_H
#define RECSYS_RANKING_METRICS_H

#include "runtime.h"

typedef struct rs_ranking_metrics
{
	double		ndcg;
	double		precision;
	double		recall;
	double		hit_rate;
	double		average_precision;
	size_t		hits;			/* distinct relevant items among the first k */
} rs_ranking_metrics;

/*
 * Sorts ids ascending and drops repeats, in place.  Returns how many distinct
 * ids remain at the front of the array.
 */
size_t		rs_sort_unique_ids(int64_t *ids, size_t n);

/*
 * All five metrics of recommended[0 .. n_recommended) at k, against relevant,
 * which must be sorted ascending without repeats (see rs_sort_unique_ids).
 * Needs n_relevant bytes of scratch memory from the allocator; returns
 * RS_NO_MEMORY if it cannot have them.  With k < 1 or no relevant items every
 * metric is NaN and hits is 0.
 */
rs_status	rs_ranking_metrics_compute(const int64_t *recommended, size_t n_recommended,
									   const int64_t *relevant, size_t n_relevant,
									   int32_t k, const rs_allocator *a,
									   rs_ranking_metrics *out);

#endif
