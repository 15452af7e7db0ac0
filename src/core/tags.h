/*
 * tags.h - the features of one side (users or items) of a hybrid model:
 * a dictionary of tag names and, for each dense user or item, the tags it
 * carries.  A tag is an opaque string such as 'genre:Comedy'; every tag
 * weighs the same (hybrid.h says how they are combined).
 *
 * The dictionary is sorted bytewise (memcmp, a shorter name before its
 * extensions), without repeats, so a name is found by binary search and
 * the same tags always get the same numbers.
 */
#ifndef RECSYS_TAGS_H
#define RECSYS_TAGS_H

#include "runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RS_MAX_TAG_BYTES 1024	/* a tag name's length, and no NUL in it */

typedef struct rs_tag_table
{
	int32_t		n_tags;
	const uint64_t *name_offsets;	/* n_tags + 1: name t is names[off[t] .. off[t+1]) */
	const char *names;			/* the names, back to back, not NUL-terminated */
	int32_t		n_rows;			/* users or items, dense */
	const uint64_t *ptr;		/* n_rows + 1 */
	const int32_t *tags;		/* ptr[n_rows]: ascending within a row, < n_tags */
} rs_tag_table;

/* The dictionary's number for a name, or -1. */
int32_t		rs_tag_find(const rs_tag_table *table, const char *name, size_t len);

/* Bytewise order of two names: < 0, 0 or > 0. */
int			rs_tag_compare(const char *a, size_t a_len, const char *b, size_t b_len);

/*
 * Whether a table read from untrusted bytes is well formed: offsets
 * ascending within names_size, names strictly ascending and at most
 * RS_MAX_TAG_BYTES without a NUL, rows' tags strictly ascending and in
 * range.  Returns NULL, or what is wrong.
 *
 * Only the arrays' lengths are taken on trust: name_offsets holds n_tags + 1
 * entries, names names_size bytes, ptr n_rows + 1 entries and tags
 * ptr[n_rows] entries (a decoder compares ptr[n_rows] with the length of
 * its tags section before calling this).
 */
const char *rs_tag_table_check(const rs_tag_table *table, uint64_t names_size);

/*
 * The table of a subset of the rows (the training part of a validation
 * split): row r of out is the row of from whose id (from_ids, ascending)
 * is to_ids[r]; a to id that from lacks gets no tags.  out shares from's
 * dictionary; its ptr and tags are allocated (rs_tag_table_free_rows).
 */
rs_status	rs_tag_table_subset(const rs_tag_table *from, const int64_t *from_ids,
								const int64_t *to_ids, int32_t to_n, const rs_allocator *a,
								rs_tag_table *out);
void		rs_tag_table_free_rows(rs_tag_table *table, const rs_allocator *a);

#endif
