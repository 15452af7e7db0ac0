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

/*
 * The distinct ids of a column, by open addressing with linear probing: each
 * id gets the next index the first time it is seen, and its slot counts its
 * rows.  Capacity is a power of two, at most three quarters full.
 */
typedef struct id_slot
{
	int64_t		id;
	size_t		rows;
	int32_t		index;			/* -1: empty */
} id_slot;

typedef struct id_table
{
	id_slot    *slots;
	size_t		mask;			/* capacity - 1 */
	size_t		count;			/* distinct ids */
} id_table;

#define ID_TABLE_FIRST_CAPACITY 1024

/* How far ahead of a pass over the rows their slots are fetched. */
#define PREFETCH_ROWS 16

/* splitmix64's finaliser: consecutive ids land far apart. */
static inline size_t
id_hash(int64_t id)
{
	uint64_t	x = (uint64_t) id;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (size_t) (x ^ (x >> 31));
}

static bool
id_table_init(id_table *t, size_t capacity, const rs_allocator *a)
{
	t->slots = rs_alloc(a, capacity * sizeof(id_slot));
	t->mask = capacity - 1;
	t->count = 0;
	if (!t->slots)
		return false;
	for (size_t k = 0; k < capacity; k++)
		t->slots[k].index = -1;
	return true;
}

static void
id_table_free(id_table *t, const rs_allocator *a)
{
	rs_free(a, t->slots);
	t->slots = NULL;
}

/* The slot holding id, or the empty one where it belongs. */
static inline id_slot *
id_table_slot(const id_table *t, int64_t id)
{
	size_t		k = id_hash(id) & t->mask;

	while (t->slots[k].index >= 0 && t->slots[k].id != id)
		k = (k + 1) & t->mask;
	return &t->slots[k];
}

/* Brings id's slot towards the cache, a few rows before it is needed. */
static inline void
id_table_prefetch(const id_table *t, int64_t id)
{
	__builtin_prefetch(&t->slots[id_hash(id) & t->mask]);
}

/* Doubles the capacity; on failure the table is unchanged. */
static bool
id_table_grow(id_table *t, const rs_allocator *a)
{
	id_table	grown;

	if (!id_table_init(&grown, 2 * (t->mask + 1), a))
		return false;
	for (size_t k = 0; k <= t->mask; k++)
		if (t->slots[k].index >= 0)
			*id_table_slot(&grown, t->slots[k].id) = t->slots[k];
	grown.count = t->count;
	id_table_free(t, a);
	*t = grown;
	return true;
}

/*
 * The slot of id, added if new, with this row counted; NULL and *status set
 * without memory or with more distinct ids than dense indices.
 */
static inline id_slot *
id_table_add(id_table *t, int64_t id, const rs_allocator *a, rs_status *status)
{
	id_slot    *slot = id_table_slot(t, id);

	if (slot->index >= 0)
	{
		slot->rows++;
		return slot;
	}
	if (t->count >= RS_MAX_DENSE_IDS)
	{
		*status = RS_TOO_LARGE;
		return NULL;
	}
	if (4 * (t->count + 1) > 3 * (t->mask + 1))
	{
		if (!id_table_grow(t, a))
		{
			*status = RS_NO_MEMORY;
			return NULL;
		}
		slot = id_table_slot(t, id);
	}
	slot->id = id;
	slot->rows = 1;
	slot->index = (int32_t) t->count++;
	return slot;
}

/*
 * ids[0..n) sorted ascending by an LSD radix sort, a byte at a time, with
 * tmp as scratch; passes where every id has the same byte are skipped.
 */
static void
sort_ids(int64_t *ids, int64_t *tmp, size_t n)
{
	uint64_t   *from = (uint64_t *) ids,
			   *to = (uint64_t *) tmp;

	/* flipping the sign bit orders signed ids as unsigned ones */
	for (size_t k = 0; k < n; k++)
		from[k] ^= UINT64_C(1) << 63;
	for (int shift = 0; shift < 64; shift += 8)
	{
		size_t		start[256] = {0};
		size_t		sum = 0;

		for (size_t k = 0; k < n; k++)
			start[(from[k] >> shift) & 0xff]++;
		if (n == 0 || start[(from[0] >> shift) & 0xff] == n)
			continue;
		for (int b = 0; b < 256; b++)
		{
			size_t		c = start[b];

			start[b] = sum;
			sum += c;
		}
		for (size_t k = 0; k < n; k++)
			to[start[(from[k] >> shift) & 0xff]++] = from[k];
		{
			uint64_t   *swap = from;

			from = to;
			to = swap;
		}
	}
	for (size_t k = 0; k < n; k++)
		ids[k] = (int64_t) (from[k] ^ (UINT64_C(1) << 63));
}

/*
 * The distinct ids of t, sorted, into *ids (allocated), where their positions
 * become the table's indices; unless rank is NULL, (*rank)[first index]
 * (allocated) receives the id's position too.
 * ptr[k + 1] (n + 1 allocated by the caller) receives the rows of id k.
 */
static bool
rank_ids(id_table *t, int64_t **ids, int32_t **rank, size_t *ptr, const rs_allocator *a)
{
	size_t		n = t->count;
	int64_t    *tmp = rs_alloc(a, n * sizeof(int64_t));

	*ids = rs_alloc(a, n * sizeof(int64_t));
	if (rank)
		*rank = rs_alloc(a, n * sizeof(int32_t));
	if (!tmp || !*ids || (rank && !*rank))
	{
		rs_free(a, tmp);
		return false;
	}
	for (size_t k = 0; k <= t->mask; k++)
		if (t->slots[k].index >= 0)
			(*ids)[t->slots[k].index] = t->slots[k].id;
	sort_ids(*ids, tmp, n);
	rs_free(a, tmp);
	for (size_t k = 0; k < n; k++)
	{
		id_slot    *slot = id_table_slot(t, (*ids)[k]);

		if (rank)
			(*rank)[slot->index] = (int32_t) k;
		slot->index = (int32_t) k;
		ptr[k + 1] = slot->rows;
	}
	return true;
}

/* *array of n elements of width bytes shrunk to keep; false without memory. */
static bool
shrink_array(void **array, size_t n, size_t keep, size_t width, const rs_allocator *a)
{
	void	   *shrunk;

	if (keep == n)
		return true;
	shrunk = rs_realloc(a, *array, n * width, keep * width);
	if (!shrunk)
		return false;
	*array = shrunk;
	return true;
}

/*
 * Dense indices come from two hash tables (one pass over the rows), and only
 * the distinct ids are sorted.  The layouts come from two stable counting
 * sorts, by item and then by user, which leave every user's items ascending
 * and the repeats of a pair adjacent in the order they arrived; merging them
 * and transposing gives the item layout, users ascending within an item.
 * The sorts run in the result's own arrays, allocated for every row and
 * shrunk to the distinct pairs at the end, so besides the result the build
 * holds only the tables and per-id arrays.
 */
rs_status
rs_interactions_build(const rs_interaction_buffer *buf, const rs_allocator *a,
					  rs_interactions *d)
{
	size_t		n = buf->count;
	id_table	users = {0},
				items = {0};
	int32_t    *user_rank = NULL;
	size_t	   *fill = NULL;
	int32_t    *row_user;		/* each row's user, by first appearance */
	size_t		n_users,
				n_items,
				nnz = 0;
	rs_status	status = RS_NO_MEMORY;

	memset(d, 0, sizeof(*d));
	d->user_items = rs_alloc(a, n * sizeof(int32_t));
	if (!d->user_items || !id_table_init(&users, ID_TABLE_FIRST_CAPACITY, a) ||
		!id_table_init(&items, ID_TABLE_FIRST_CAPACITY, a))
		goto fail;

	/* Distinct ids and their rows; user_items holds each row's user meanwhile. */
	row_user = d->user_items;
	{
		id_slot    *user = NULL;

		for (size_t r = 0; r < n; r++)
		{
			if (r + PREFETCH_ROWS < n)
			{
				id_table_prefetch(&users, buf->users[r + PREFETCH_ROWS]);
				id_table_prefetch(&items, buf->items[r + PREFETCH_ROWS]);
			}
			/* rows often arrive grouped by user */
			if (user && user->id == buf->users[r])
				user->rows++;
			else if (!(user = id_table_add(&users, buf->users[r], a, &status)))
				goto fail;
			if (!id_table_add(&items, buf->items[r], a, &status))
				goto fail;
			row_user[r] = user->index;
		}
	}
	n_users = users.count;
	n_items = items.count;
	d->n_users = (int32_t) n_users;
	d->n_items = (int32_t) n_items;

	/* Sorted ids, and row pointers from their counts of rows. */
	d->user_ptr = rs_alloc(a, (n_users + 1) * sizeof(size_t));
	d->item_ptr = rs_alloc(a, (n_items + 1) * sizeof(size_t));
	if (!d->user_ptr || !d->item_ptr ||
		!rank_ids(&users, &d->user_ids, &user_rank, d->user_ptr, a) ||
		!rank_ids(&items, &d->item_ids, NULL, d->item_ptr, a))
		goto fail;
	id_table_free(&users, a);
	d->user_ptr[0] = 0;
	for (size_t u = 0; u < n_users; u++)
		d->user_ptr[u + 1] += d->user_ptr[u];
	d->item_ptr[0] = 0;
	for (size_t i = 0; i < n_items; i++)
		d->item_ptr[i + 1] += d->item_ptr[i];

	d->user_values = rs_alloc(a, n * sizeof(float));
	d->item_users = rs_alloc(a, n * sizeof(int32_t));
	d->item_values = rs_alloc(a, n * sizeof(float));
	fill = rs_alloc(a, (n_users > n_items ? n_users : n_items) * sizeof(size_t));
	if (!d->user_values || !d->item_users || !d->item_values || !fill)
		goto fail;

	/* Stable counting sort of the rows by item, into the item layout. */
	memcpy(fill, d->item_ptr, n_items * sizeof(size_t));
	for (size_t r = 0; r < n; r++)
	{
		size_t		slot;

		if (r + PREFETCH_ROWS < n)
		{
			id_table_prefetch(&items, buf->items[r + PREFETCH_ROWS]);
			__builtin_prefetch(&user_rank[row_user[r + PREFETCH_ROWS]]);
		}
		slot = fill[id_table_slot(&items, buf->items[r])->index]++;
		d->item_users[slot] = user_rank[row_user[r]];
		d->item_values[slot] = buf->values[r];
	}
	id_table_free(&items, a);
	rs_free(a, user_rank);
	user_rank = NULL;

	/* Stable counting sort of those by user: items ascending within a user. */
	memcpy(fill, d->user_ptr, n_users * sizeof(size_t));
	for (size_t i = 0; i < n_items; i++)
		for (size_t k = d->item_ptr[i]; k < d->item_ptr[i + 1]; k++)
		{
			size_t		slot = fill[d->item_users[k]]++;

			d->user_items[slot] = (int32_t) i;
			d->user_values[slot] = d->item_values[k];
		}

	/* Repeats of a pair are adjacent: merge them into their mean. */
	for (size_t u = 0; u < n_users; u++)
	{
		size_t		begin = d->user_ptr[u],
					end = d->user_ptr[u + 1];

		d->user_ptr[u] = nnz;
		for (size_t r = begin; r < end;)
		{
			size_t		same = r + 1;
			double		sum = d->user_values[r];

			while (same < end && d->user_items[same] == d->user_items[r])
				sum += d->user_values[same++];
			d->user_items[nnz] = d->user_items[r];
			d->user_values[nnz] = (float) (sum / (double) (same - r));
			nnz++;
			r = same;
		}
	}
	d->user_ptr[n_users] = nnz;
	d->nnz = nnz;
	d->duplicates = n - nnz;

	/* Transpose; walking users in order leaves each item's users ascending. */
	memset(d->item_ptr, 0, (n_items + 1) * sizeof(size_t));
	for (size_t r = 0; r < nnz; r++)
		d->item_ptr[d->user_items[r] + 1]++;
	for (size_t i = 0; i < n_items; i++)
		d->item_ptr[i + 1] += d->item_ptr[i];
	memcpy(fill, d->item_ptr, n_items * sizeof(size_t));
	for (size_t u = 0; u < n_users; u++)
		for (size_t r = d->user_ptr[u]; r < d->user_ptr[u + 1]; r++)
		{
			size_t		slot = fill[d->user_items[r]]++;

			d->item_users[slot] = (int32_t) u;
			d->item_values[slot] = d->user_values[r];
		}
	rs_free(a, fill);
	fill = NULL;

	if (!shrink_array((void **) &d->user_items, n, nnz, sizeof(int32_t), a) ||
		!shrink_array((void **) &d->user_values, n, nnz, sizeof(float), a) ||
		!shrink_array((void **) &d->item_users, n, nnz, sizeof(int32_t), a) ||
		!shrink_array((void **) &d->item_values, n, nnz, sizeof(float), a))
		goto fail;
	return RS_OK;

fail:
	id_table_free(&users, a);
	id_table_free(&items, a);
	rs_free(a, user_rank);
	rs_free(a, fill);
	rs_interactions_free(d, a);
	return status;
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

void
rs_model_of_interactions(const rs_interactions *d, rs_algorithm algorithm, rs_model *m)
{
	memset(m, 0, sizeof(*m));
	m->algorithm = algorithm;
	m->n_users = d->n_users;
	m->n_items = d->n_items;
	m->n_interactions = d->nnz;
	m->user_ids = d->user_ids;
	m->item_ids = d->item_ids;
	m->seen_ptr = (const uint64_t *) d->user_ptr;
	m->seen_items = d->user_items;
	m->seen_values = d->user_values;
}
