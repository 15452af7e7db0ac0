/*
 * sequences.c - each user's events in order: a counting sort by user, then
 * a sort of each user's events by (at, item).
 */
#include "sequences.h"

#include <stdlib.h>
#include <string.h>

typedef struct event
{
	int64_t		at;
	int32_t		item;			/* dense: ascending dense indices are ascending ids */
} event;

static int
compare_events(const void *x, const void *y)
{
	const event *a = x;
	const event *b = y;

	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return (a->item > b->item) - (a->item < b->item);
}

rs_status
rs_sequences_build(const int64_t *users, const int64_t *items, const int64_t *at, size_t count,
				   const rs_interactions *data, const rs_allocator *a, rs_sequences *out)
{
	int32_t    *row_user = rs_alloc(a, sizeof(int32_t) * (count + 1));
	size_t	   *next = rs_alloc(a, sizeof(size_t) * ((size_t) data->n_users + 1));
	event	   *events = rs_alloc(a, sizeof(event) * (count + 1));

	memset(out, 0, sizeof(*out));
	out->ptr = rs_alloc(a, sizeof(size_t) * ((size_t) data->n_users + 1));
	out->items = rs_alloc(a, sizeof(int32_t) * (count + 1));
	if (!row_user || !next || !events || !out->ptr || !out->items)
	{
		rs_free(a, row_user);
		rs_free(a, next);
		rs_free(a, events);
		rs_sequences_free(out, a);
		return RS_NO_MEMORY;
	}
	out->n_users = data->n_users;
	memset(out->ptr, 0, sizeof(size_t) * ((size_t) data->n_users + 1));
	for (size_t r = 0; r < count; r++)
	{
		row_user[r] = rs_find_id(data->user_ids, data->n_users, users[r]);
		out->ptr[row_user[r] + 1]++;
	}
	for (int32_t u = 0; u < data->n_users; u++)
		out->ptr[u + 1] += out->ptr[u];
	memcpy(next, out->ptr, sizeof(size_t) * (size_t) data->n_users);
	for (size_t r = 0; r < count; r++)
	{
		event	   *e = &events[next[row_user[r]]++];

		e->at = at[r];
		e->item = rs_find_id(data->item_ids, data->n_items, items[r]);
	}
	for (int32_t u = 0; u < data->n_users; u++)
	{
		size_t		begin = out->ptr[u],
					n = out->ptr[u + 1] - begin;

		qsort(events + begin, n, sizeof(event), compare_events);
		for (size_t k = 0; k < n; k++)
			out->items[begin + k] = events[begin + k].item;
	}
	rs_free(a, row_user);
	rs_free(a, next);
	rs_free(a, events);
	return RS_OK;
}

void
rs_sequences_free(rs_sequences *s, const rs_allocator *a)
{
	rs_free(a, s->ptr);
	rs_free(a, s->items);
	s->ptr = NULL;
	s->items = NULL;
}
