/*
 * interactions.h - interaction rows as collected, and as trainers read them.
 *
 * Collection appends (user, item, value) to three growable typed arrays: no
 * per-row allocation and no hashing.  Building sorts the distinct ids into
 * dense indices and lays the rows out twice in CSR form, by user and by item.
 */
#ifndef RECSYS_INTERACTIONS_H
#define RECSYS_INTERACTIONS_H

#include "model.h"
#include "runtime.h"

typedef struct rs_interaction_buffer
{
	int64_t    *users;
	int64_t    *items;
	float	   *values;
	size_t		count;
	size_t		capacity;
	int64_t		skipped;		/* rows left out because of a NULL */
} rs_interaction_buffer;

/* Both return false when memory runs out; the buffer is unchanged then. */
bool		rs_buffer_append(rs_interaction_buffer *buf, const rs_allocator *a,
							 int64_t user, int64_t item, float value);
bool		rs_buffer_append_buffer(rs_interaction_buffer *dst, const rs_allocator *a,
									const rs_interaction_buffer *src);
bool		rs_buffer_reserve(rs_interaction_buffer *buf, const rs_allocator *a,
							  size_t capacity);
void		rs_buffer_free(rs_interaction_buffer *buf, const rs_allocator *a);

typedef struct rs_interactions
{
	int32_t		n_users;
	int32_t		n_items;
	size_t		nnz;			/* distinct (user, item) pairs */
	size_t		duplicates;		/* rows merged into an earlier pair */
	int64_t    *user_ids;		/* sorted ascending: dense index -> id */
	int64_t    *item_ids;
	/* by user: items of user u are user_items[user_ptr[u] .. user_ptr[u+1]) */
	size_t	   *user_ptr;
	int32_t    *user_items;		/* ascending within a user */
	float	   *user_values;
	/* by item: users of item i are item_users[item_ptr[i] .. item_ptr[i+1]) */
	size_t	   *item_ptr;
	int32_t    *item_users;		/* ascending within an item */
	float	   *item_values;
} rs_interactions;

/*
 * Builds dense indices and both CSR layouts.  Repeated (user, item) pairs
 * become one whose value is the mean of the repeats.
 */
rs_status	rs_interactions_build(const rs_interaction_buffer *buf,
								  const rs_allocator *a, rs_interactions *out);
void		rs_interactions_free(rs_interactions *data, const rs_allocator *a);

/*
 * A model of the given algorithm over the data: its users, items and
 * training interactions (the "seen" sections), every other field zero, for
 * a kind to add its own sections to.
 */
void		rs_model_of_interactions(const rs_interactions *data, rs_algorithm algorithm,
									 rs_model *model);

/* Training users per item, as floats (allocated; NULL without memory). */
float	   *rs_item_popularity(const rs_interactions *data, const rs_allocator *a);

/* The first position in sorted[lo..hi), which are ascending, holding x or more. */
static inline size_t
rs_lower_bound(const int32_t *sorted, size_t lo, size_t hi, int32_t x)
{
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (sorted[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether x is among sorted[0..n), which are ascending. */
static inline bool
rs_sorted_contains(const int32_t *sorted, size_t n, int32_t x)
{
	size_t		at = rs_lower_bound(sorted, 0, n, x);

	return at < n && sorted[at] == x;
}

/* The row of a CSR whose entries hold position k < ptr[n_rows]. */
static inline int32_t
rs_row_of_position(const size_t *ptr, int32_t n_rows, size_t k)
{
	int32_t		lo = 0,
				hi = n_rows;	/* ptr[lo] <= k < ptr[hi] */

	while (hi - lo > 1)
	{
		int32_t		mid = lo + (hi - lo) / 2;

		if (ptr[mid] <= k)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Dense index of id in a sorted id array, or -1. */
int32_t		rs_find_id(const int64_t *ids, int32_t n, int64_t id);

#endif
