/*
 * top_k.h - the k best of n scores by a bounded heap, O(n log k).
 */
#ifndef RECSYS_TOP_K_H
#define RECSYS_TOP_K_H

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

#endif
