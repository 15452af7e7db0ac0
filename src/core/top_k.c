/*
 * top_k.c - bounded min-heap selection.
 *
 * The heap holds the best k seen so far with the worst at the root, so each
 * further score costs one comparison unless it beats the current k-th.
 */
#include "top_k.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* a ranks below b: lower score, or equal score and higher index */
static inline bool
worse(rs_scored a, rs_scored b)
{
	return a.score < b.score || (a.score == b.score && a.index > b.index);
}

static void
sift_down(rs_scored *heap, size_t size, size_t pos)
{
	for (;;)
	{
		size_t		child = 2 * pos + 1;
		rs_scored	tmp;

		if (child >= size)
			return;
		if (child + 1 < size && worse(heap[child + 1], heap[child]))
			child++;
		if (!worse(heap[child], heap[pos]))
			return;
		tmp = heap[pos];
		heap[pos] = heap[child];
		heap[child] = tmp;
		pos = child;
	}
}

static void
sift_up(rs_scored *heap, size_t pos)
{
	while (pos > 0)
	{
		size_t		parent = (pos - 1) / 2;
		rs_scored	tmp;

		if (!worse(heap[pos], heap[parent]))
			return;
		tmp = heap[pos];
		heap[pos] = heap[parent];
		heap[parent] = tmp;
		pos = parent;
	}
}

void
rs_top_k_offer(rs_scored *heap, size_t *size, size_t k, rs_scored cand)
{
	if (*size < k)
	{
		heap[*size] = cand;
		sift_up(heap, (*size)++);
	}
	else if (k > 0 && worse(heap[0], cand))
	{
		heap[0] = cand;
		sift_down(heap, *size, 0);
	}
}

/* Heap sort in place: repeatedly move the worst to the end. */
void
rs_top_k_sort(rs_scored *heap, size_t size)
{
	for (size_t end = size; end > 1; end--)
	{
		rs_scored	tmp = heap[0];

		heap[0] = heap[end - 1];
		heap[end - 1] = tmp;
		sift_down(heap, end - 1, 0);
	}
}

static int
by_index(const void *x, const void *y)
{
	int32_t		a = ((const rs_scored *) x)->index,
				b = ((const rs_scored *) y)->index;

	return (a > b) - (a < b);
}

void
rs_top_k_sort_by_index(rs_scored *entries, size_t size)
{
	qsort(entries, size, sizeof(rs_scored), by_index);
}

/*
 * One pass over every item's score: the bulk of them fall below the k-th
 * best so far, so the loop compares each with that floor alone and offers
 * the heap only the few that may enter.  Skipped items split the scores into
 * runs, so the inner loop checks nothing else.
 */
size_t
rs_top_k(const float *scores, int32_t n, const int32_t *skip, size_t n_skip,
		 size_t k, rs_scored *out)
{
	size_t		size = 0;
	size_t		next_skip = 0;
	/* a score below it cannot enter: -inf until the heap is full */
	float		floor = -INFINITY;

	if (k == 0)
		return 0;
	for (int32_t i = 0; i < n;)
	{
		int32_t		end = n;

		while (next_skip < n_skip && skip[next_skip] < i)
			next_skip++;
		if (next_skip < n_skip && skip[next_skip] < n)
			end = skip[next_skip];
		for (; i < end; i++)
		{
			/* false for NaN too: an item without a score is never recommended */
			if (!(scores[i] >= floor))
				continue;
			rs_top_k_offer(out, &size, k, (rs_scored) {scores[i], i});
			if (size == k)
				floor = out[0].score;
		}
		if (i < n && next_skip < n_skip && skip[next_skip] == i)
			i++;				/* the skipped item itself */
	}
	rs_top_k_sort(out, size);
	return size;
}

rs_status
rs_top_k_pack(int32_t n, const size_t *slot_ptr, size_t stride, const int32_t *length,
			  const int32_t *items, const float *weights, const rs_allocator *a, uint64_t *ptr,
			  int32_t **packed_items, float **packed_weights)
{
	ptr[0] = 0;
	for (int32_t j = 0; j < n; j++)
		ptr[j + 1] = ptr[j] + (uint64_t) length[j];
	*packed_items = rs_alloc(a, sizeof(int32_t) * ptr[n]);
	*packed_weights = rs_alloc(a, sizeof(float) * ptr[n]);
	if (!*packed_items || !*packed_weights)
		return RS_NO_MEMORY;
	for (int32_t j = 0; j < n; j++)
	{
		size_t		from = slot_ptr ? slot_ptr[j] : (size_t) j * stride;

		memcpy(*packed_items + ptr[j], items + from, sizeof(int32_t) * (size_t) length[j]);
		memcpy(*packed_weights + ptr[j], weights + from, sizeof(float) * (size_t) length[j]);
	}
	return RS_OK;
}
