/*
 * interactions.c - collecting interaction rows and laying them out as CSR.
 */
#include "interactions.h"

#include <stdlib.h>
#include <string.h>

#define RS_MAX_DENSE_IDS INT32_MAX

/* *array (count elements of width bytes) grown to capacity elements. */
static bool
grow_array(void **array, size_t count, size_t capacity, size_t width, const rs_allocator *a)
{
	void	   *grown = rs_realloc(a, *array, count * width, capacity * width);

	if (!grown)
		return false;
	*array = grown;
	return true;
}

/*
 * Grows the three arrays in place where the allocator can (no copy, and no
 * second copy of the rows in memory); on failure the buffer stays valid.
 */
bool
rs_buffer_reserve(rs_interaction_buffer *buf, const rs_allocator *a, size_t capacity)
{
	if (capacity <= buf->capacity)
		return true;
	if (!grow_array((void **) &buf->users, buf->count, capacity, sizeof(int64_t), a) ||
		!grow_array((void **) &buf->items, buf->count, capacity, sizeof(int64_t), a) ||
		!grow_array((void **) &buf->values, buf->count, capacity, sizeof(float), a))
		return false;
	buf->capacity = capacity;
	return true;
}

static bool
ensure_room(rs_interaction_buffer *buf, const rs_allocator *a, size_t extra)
{
	size_t		want = buf->count + extra;
	size_t		capacity = buf->capacity ? buf->capacity : 1024;

	if (want <= buf->capacity)
		return true;
	while (capacity < want)
		capacity *= 2;			/* doubling keeps appends amortised O(1) */
	return rs_buffer_reserve(buf, a, capacity);
}

bool
rs_buffer_append(rs_interaction_buffer *buf, const rs_allocator *a,
				 int64_t user, int64_t item, float value)
{
	if (buf->count == buf->capacity && !ensure_room(buf, a, 1))
		return false;
	buf->users[buf->count] = user;
	buf->items[buf->count] = item;
	buf->values[buf->count] = value;
	buf->count++;
	return true;
}

bool
rs_buffer_append_buffer(rs_interaction_buffer *dst, const rs_allocator *a,
						const rs_interaction_buffer *src)
{
	/* src's arrays may never have been allocated when it is empty */
	if (src->count > 0 && !ensure_room(dst, a, src->count))
		return false;
	dst->skipped += src->skipped;
	if (src->count == 0)
		return true;
	memcpy(dst->users + dst->count, src->users, src->count * sizeof(int64_t));
	memcpy(dst->items + dst->count, src->items, src->count * sizeof(int64_t));
	memcpy(dst->values + dst->count, src->values, src->count * sizeof(float));
	dst->count += src->count;
	return true;
}

void
rs_buffer_free(rs_interaction_buffer *buf, const rs_allocator *a)
{
	rs_free(a, buf->users);
	rs_free(a, buf->items);
	rs_free(a, buf->values);
	memset(buf, 0, sizeof(*buf));
}

static int
compare_int64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* Sorted distinct copy of ids; *n_out receives its length. */
static int64_t *
distinct_sorted(const int64_t *ids, size_t count, const rs_allocator *a, size_t *n_out)
{
	int64_t    *out = rs_alloc(a, count * sizeof(int64_t));
	size_t		n = 0;

	if (!out)
		return NULL;
	if (count > 0)
		memcpy(out, ids, count * sizeof(int64_t));
	qsort(out, count, sizeof(int64_t), compare_int64);
	for (size_t r = 0; r < count; r++)
		if (n == 0 || out[n - 1] != out[r])
			out[n++] = out[r];
	*n_out = n;
	return out;
}

int32_t
rs_find_id(const int64_t *ids, int32_t n, int64_t id)
{
	int32_t		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else if (ids[mid] > id)
			hi = mid - 1;
		else
			return mid;
	}
	return -1;
}

typedef struct item_value
{
	int32_t		item;
	float		value;
} item_value;

static int
compare_item_value(const void *a, const void *b)
{
	int32_t		x = ((const item_value *) a)->item;
	int32_t		y = ((const item_value *) b)->item;

	return (x > y) - (x < y);
}

void
rs_interactions_free(rs_interactions *d, const rs_allocator *a)
{
	rs_free(a, d->user_ids);
	rs_free(a, d->item_ids);
	rs_free(a, d->user_ptr);
	rs_free(a, d->user_items);
	rs_free(a, d->user_values);
	rs_free(a, d->item_ptr);
	rs_free(a, d->item_users);
	rs_free(a, d->item_values);
	memset(d, 0, sizeof(*d));
}

rs_status
rs_interactions_build(const rs_interaction_buffer *buf, const rs_allocator *a,
					  rs_interactions *d)
{
	size_t		n = buf->count;
	size_t		n_users = 0,
				n_items = 0;
	item_value *rows = NULL;
	size_t	   *fill = NULL;
	size_t		nnz = 0;

	memset(d, 0, sizeof(*d));
	d->user_ids = distinct_sorted(buf->users, n, a, &n_users);
	d->item_ids = distinct_sorted(buf->items, n, a, &n_items);
	if (!d->user_ids || !d->item_ids)
		goto no_memory;
	if (n_users > RS_MAX_DENSE_IDS || n_items > RS_MAX_DENSE_IDS)
	{
		rs_interactions_free(d, a);
		return RS_TOO_LARGE;
	}
	d->n_users = (int32_t) n_users;
	d->n_items = (int32_t) n_items;

	/* Counting sort of the rows by dense user index. */
	d->user_ptr = rs_alloc(a, (n_users + 1) * sizeof(size_t));
	fill = rs_alloc(a, (n_users + 1) * sizeof(size_t));
	rows = rs_alloc(a, n * sizeof(item_value));
	if (!d->user_ptr || !fill || !rows)
		goto no_memory;
	memset(d->user_ptr, 0, (n_users + 1) * sizeof(size_t));
	for (size_t r = 0; r < n; r++)
		d->user_ptr[rs_find_id(d->user_ids, d->n_users, buf->users[r]) + 1]++;
	for (size_t u = 0; u < n_users; u++)
		d->user_ptr[u + 1] += d->user_ptr[u];
	memcpy(fill, d->user_ptr, (n_users + 1) * sizeof(size_t));
	for (size_t r = 0; r < n; r++)
	{
		int32_t		u = rs_find_id(d->user_ids, d->n_users, buf->users[r]);
		item_value *row = &rows[fill[u]++];

		row->item = rs_find_id(d->item_ids, d->n_items, buf->items[r]);
		row->value = buf->values[r];
	}

	/* Sort each user's items and average repeated pairs, compacting in place. */
	for (size_t u = 0; u < n_users; u++)
	{
		size_t		begin = d->user_ptr[u],
					end = d->user_ptr[u + 1];

		qsort(rows + begin, end - begin, sizeof(item_value), compare_item_value);
		d->user_ptr[u] = nnz;
		for (size_t r = begin; r < end;)
		{
			size_t		same = r + 1;
			double		sum = rows[r].value;

			while (same < end && rows[same].item == rows[r].item)
				sum += rows[same++].value;
			rows[nnz].item = rows[r].item;
			rows[nnz].value = (float) (sum / (double) (same - r));
			nnz++;
			r = same;
		}
	}
	d->user_ptr[n_users] = nnz;
	d->nnz = nnz;
	d->duplicates = n - nnz;

	d->user_items = rs_alloc(a, nnz * sizeof(int32_t));
	d->user_values = rs_alloc(a, nnz * sizeof(float));
	d->item_ptr = rs_alloc(a, (n_items + 1) * sizeof(size_t));
	d->item_users = rs_alloc(a, nnz * sizeof(int32_t));
	d->item_values = rs_alloc(a, nnz * sizeof(float));
	if (!d->user_items || !d->user_values || !d->item_ptr || !d->item_users || !d->item_values)
		goto no_memory;
	for (size_t r = 0; r < nnz; r++)
	{
		d->user_items[r] = rows[r].item;
		d->user_values[r] = rows[r].value;
	}

	/* Transpose; walking users in order leaves each item's users ascending. */
	memset(d->item_ptr, 0, (n_items + 1) * sizeof(size_t));
	for (size_t r = 0; r < nnz; r++)
		d->item_ptr[d->user_items[r] + 1]++;
	for (size_t i = 0; i < n_items; i++)
		d->item_ptr[i + 1] += d->item_ptr[i];
	rs_free(a, fill);
	fill = rs_alloc(a, (n_items + 1) * sizeof(size_t));
	if (!fill)
		goto no_memory;
	memcpy(fill, d->item_ptr, (n_items + 1) * sizeof(size_t));
	for (size_t u = 0; u < n_users; u++)
		for (size_t r = d->user_ptr[u]; r < d->user_ptr[u + 1]; r++)
		{
			size_t		slot = fill[d->user_items[r]]++;

			d->item_users[slot] = (int32_t) u;
			d->item_values[slot] = d->user_values[r];
		}

	rs_free(a, fill);
	rs_free(a, rows);
	return RS_OK;

no_memory:
	rs_free(a, fill);
	rs_free(a, rows);
	rs_interactions_free(d, a);
	return RS_NO_MEMORY;
}

float *
rs_item_popularity(const rs_interactions *d, const rs_allocator *a)
{
	float	   *popularity = rs_alloc(a, sizeof(float) * (size_t) d->n_items);

	if (popularity)
		for (int32_t i = 0; i < d->n_items; i++)
			popularity[i] = (float) (d->item_ptr[i + 1] - d->item_ptr[i]);
	return popularity;
}
