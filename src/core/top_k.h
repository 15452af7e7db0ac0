/*
 * top_k.h - the k best of n scores by a bounded heap, O(n log k).
 */
#ifndef RECSYS_TOP_K_H
#define RECSYS_TOP_K_H

#include "runtime.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rs_scored
{
	float		score;
	int32_t		index;
} rs_scored;

/*
 * Writes up to k best entries of scores[0..n) to out, best first; equal
 * scores rank the lower index first, NaN scores are never chosen.  Indices
 * in skip (ascending, n_skip of them) are left out.  Returns how many were
 * written: min(k, eligible entries).
 */
size_t		rs_top_k(const float *scores, int32_t n, const int32_t *skip, size_t n_skip,
					 size_t k, rs_scored *out);

/*
 * The same selection fed one candidate at a time: rs_top_k_offer keeps the
 * best k of what it has been offered in heap (k entries of room; *size
 * starts at 0), in heap order, worst first; rs_top_k_sort then orders them
 * best first.
 */
void		rs_top_k_offer(rs_scored *heap, size_t *size, size_t k, rs_scored candidate);
void		rs_top_k_sort(rs_scored *heap, size_t size);

/* Orders kept entries by ascending index, as neighbour lists are stored. */
void		rs_top_k_sort_by_index(rs_scored *entries, size_t size);

/*
 * n rows of kept entries packed into CSR, in row order: row j's length[j]
 * entries stand in items and weights from slot_ptr[j] on, or without
 * slot_ptr from j * stride on.  Fills ptr[0..n] and allocates
 * *packed_items and *packed_weights (ptr[n] entries each) through a, both
 * tried; RS_NO_MEMORY if either failed, the other then left for the
 * caller to free.
 */
rs_status	rs_top_k_pack(int32_t n, const size_t *slot_ptr, size_t stride,
						  const int32_t *length, const int32_t *items, const float *weights,
						  const rs_allocator *a, uint64_t *ptr, int32_t **packed_items,
						  float **packed_weights);

#endif
