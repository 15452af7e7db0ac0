/*
 * tags.c - finding, ordering and validating the tags of a hybrid model.
 */
#include "tags.h"

#include "interactions.h"

#include <string.h>

int
rs_tag_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t		common = a_len < b_len ? a_len : b_len;
	int			c = common > 0 ? memcmp(a, b, common) : 0;

	if (c != 0)
		return c;
	return (a_len > b_len) - (a_len < b_len);
}

int32_t
rs_tag_find(const rs_tag_table *table, const char *name, size_t len)
{
	int32_t		lo = 0,
				hi = table->n_tags - 1;

	while (lo <= hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;
		uint64_t	from = table->name_offsets[mid];
		int			c = rs_tag_compare(table->names + from,
									   (size_t) (table->name_offsets[mid + 1] - from),
									   name, len);

		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid - 1;
		else
			return mid;
	}
	return -1;
}

/*
 * The caller vouches only for the arrays' lengths: name_offsets holds
 * n_tags + 1 entries, names names_size bytes, ptr n_rows + 1 entries and
 * tags ptr[n_rows] entries.  Every value is checked before it is used as an
 * offset, so nothing outside those lengths is read.
 */
const char *
rs_tag_table_check(const rs_tag_table *table, uint64_t names_size)
{
	const uint64_t *off = table->name_offsets;
	const uint64_t *ptr = table->ptr;

	if (table->n_tags < 0 || table->n_rows < 0)
		return "its tag counts are negative";
	if (off == NULL || ptr == NULL || (names_size > 0 && table->names == NULL))
		return "its tag sections are missing";

	if (off[0] != 0)
		return "its tag names are not laid out back to back";
	for (int64_t t = 0; t < table->n_tags; t++)
	{
		uint64_t	from = off[t],
					to = off[t + 1];
		const char *name = table->names + from;

		/* off[t] <= names_size holds from the step before */
		if (to > names_size || to <= from || to - from > RS_MAX_TAG_BYTES)
			return "its tag names are not laid out back to back";
		if (memchr(name, '\0', (size_t) (to - from)) != NULL)
			return "its tag names contain a NUL byte";
		if (t > 0 && rs_tag_compare(table->names + off[t - 1], (size_t) (from - off[t - 1]),
									name, (size_t) (to - from)) >= 0)
			return "its tag names are not sorted without repeats";
	}
	if (off[table->n_tags] != names_size)
		return "its tag names are not laid out back to back";

	if (ptr[0] != 0)
		return "its tag index is inconsistent";
	for (int64_t r = 0; r < table->n_rows; r++)
	{
		/* strictly ascending tags below n_tags are at most n_tags a row */
		if (ptr[r + 1] < ptr[r] || ptr[r + 1] - ptr[r] > (uint64_t) table->n_tags)
			return "its tag index is inconsistent";
	}
	if (ptr[table->n_rows] > 0 && table->tags == NULL)
		return "its tag sections are missing";
	for (int64_t r = 0; r < table->n_rows; r++)
	{
		for (uint64_t k = ptr[r]; k < ptr[r + 1]; k++)
		{
			int32_t		tag = table->tags[k];

			if (tag < 0 || tag >= table->n_tags)
				return "its rows refer to tags it does not have";
			if (k > ptr[r] && tag <= table->tags[k - 1])
				return "its rows' tags are not ascending without repeats";
		}
	}
	return NULL;
}

rs_status
rs_tag_table_subset(const rs_tag_table *from, const int64_t *from_ids, const int64_t *to_ids,
					int32_t to_n, const rs_allocator *a, rs_tag_table *out)
{
	uint64_t   *ptr = rs_alloc(a, sizeof(uint64_t) * ((size_t) to_n + 1));
	int32_t    *tags;
	uint64_t	total = 0;

	*out = *from;
	out->n_rows = to_n;
	out->ptr = NULL;
	out->tags = NULL;
	if (!ptr)
		return RS_NO_MEMORY;
	/* sizes first, then the tags: both walks find each row the same way */
	ptr[0] = 0;
	for (int32_t r = 0; r < to_n; r++)
	{
		int32_t		f = rs_find_id(from_ids, from->n_rows, to_ids[r]);

		total += f < 0 ? 0 : from->ptr[f + 1] - from->ptr[f];
		ptr[r + 1] = total;
	}
	tags = rs_alloc(a, sizeof(int32_t) * (total ? total : 1));
	if (!tags)
	{
		rs_free(a, ptr);
		return RS_NO_MEMORY;
	}
	for (int32_t r = 0; r < to_n; r++)
	{
		int32_t		f = rs_find_id(from_ids, from->n_rows, to_ids[r]);

		if (f >= 0)
			memcpy(tags + ptr[r], from->tags + from->ptr[f],
				   sizeof(int32_t) * (size_t) (ptr[r + 1] - ptr[r]));
	}
	out->ptr = ptr;
	out->tags = tags;
	return RS_OK;
}

void
rs_tag_table_free_rows(rs_tag_table *table, const rs_allocator *a)
{
	rs_free(a, (void *) table->ptr);
	rs_free(a, (void *) table->tags);
	table->ptr = NULL;
	table->tags = NULL;
}
