/*
 * sequences.h - each user's events in the order they happened: what a
 * sequence model trains on, next to the (user, item) pairs every kind has.
 *
 * Events are ordered by the time (or any bigint order) the row gave, ties
 * by item id, so the order depends neither on the order of the rows nor on
 * how parallel workers split them.  Repeated events stay: watching a film
 * twice is two events of a sequence.
 */
#ifndef RECSYS_SEQUENCES_H
#define RECSYS_SEQUENCES_H

#include "interactions.h"

typedef struct rs_sequences
{
	int32_t		n_users;		/* rows, in the dense user order of the interactions */
	size_t	   *ptr;			/* n_users + 1 */
	int32_t    *items;			/* dense item indices, oldest first */
} rs_sequences;

/*
 * Orders count rows (users[r], items[r], at[r]) per user; data was built
 * from the same rows (rs_interactions_build), so every id has its dense index.
 */
rs_status	rs_sequences_build(const int64_t *users, const int64_t *items, const int64_t *at,
							   size_t count, const rs_interactions *data,
							   const rs_allocator *a, rs_sequences *out);
void		rs_sequences_free(rs_sequences *s, const rs_allocator *a);

#endif
