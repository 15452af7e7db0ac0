/*
 * history_codec.c - training histories as varint gaps (history_codec.h).
 *
 * A user's first item is stored as its index, each next one as its
 * distance from the previous minus one, so dense histories take a byte an
 * item; seven bits a byte, the high bit set on every byte but a varint's
 * last.  A varint is at most five bytes (indices are below 2^31) and never
 * ends in a zero byte after the first, so every history has one encoding.
 */
#include "history_codec.h"

#include <string.h>

#define VARINT_MAX_BYTES 5

static uint64_t
varint_size(uint32_t v)
{
	uint64_t	n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

bool
rs_history_values_constant(const float *values, uint64_t n)
{
	for (uint64_t k = 1; k < n; k++)
		if (memcmp(&values[k], &values[0], sizeof(float)) != 0)
			return false;
	return n > 0;
}

rs_history_size
rs_history_measure(const uint64_t *ptr, const int32_t *items, const float *values,
				   int32_t n_users)
{
	rs_history_size size = {0, 0};
	uint64_t	n = ptr[n_users];

	for (int32_t u = 0; u < n_users; u++)
		for (uint64_t r = ptr[u]; r < ptr[u + 1]; r++)
			size.items += varint_size((uint32_t) (items[r] - (r > ptr[u] ? items[r - 1] + 1 : 0)));
	size.values = rs_history_values_constant(values, n) ? sizeof(float) : n * sizeof(float);
	return size;
}

void
rs_history_encode(const uint64_t *ptr, const int32_t *items, int32_t n_users, uint8_t *out)
{
	for (int32_t u = 0; u < n_users; u++)
		for (uint64_t r = ptr[u]; r < ptr[u + 1]; r++)
		{
			uint32_t	gap = (uint32_t) (items[r] - (r > ptr[u] ? items[r - 1] + 1 : 0));

			while (gap >= 0x80)
			{
				*out++ = (uint8_t) (gap | 0x80);
				gap >>= 7;
			}
			*out++ = (uint8_t) gap;
		}
}

/* Reads one varint at *at, below end; false if it is cut, too long or not minimal. */
static bool
read_varint(const uint8_t **at, const uint8_t *end, uint64_t *value)
{
	const uint8_t *p = *at;
	uint64_t	v = 0;

	for (int shift = 0; shift < 7 * VARINT_MAX_BYTES; shift += 7)
	{
		uint8_t		byte;

		if (p == end)
			return false;
		byte = *p++;
		v |= (uint64_t) (byte & 0x7F) << shift;
		if (!(byte & 0x80))
		{
			if (byte == 0 && shift > 0)
				return false;
			*at = p;
			*value = v;
			return true;
		}
	}
	return false;
}

const char *
rs_history_check(const uint64_t *ptr, int32_t n_users, int32_t n_items,
				 const uint8_t *coded, uint64_t size)
{
	const uint8_t *at = coded,
			   *end = size ? coded + size : coded;	/* an empty section is NULL */

	for (int32_t u = 0; u < n_users; u++)
	{
		uint64_t	next = 0;	/* the lowest index the next item may have */

		for (uint64_t r = ptr[u]; r < ptr[u + 1]; r++)
		{
			uint64_t	gap;

			if (!read_varint(&at, end, &gap))
				return "its training interactions are not well coded";
			next += gap;
			if (next >= (uint64_t) n_items)
				return "its training interactions refer to items it does not have";
			next++;
		}
	}
	if (at != end)
		return "its training interactions are not well coded";
	return NULL;
}

void
rs_history_decode(const uint64_t *ptr, int32_t n_users, const uint8_t *coded, int32_t *items)
{
	const uint8_t *at = coded;

	for (int32_t u = 0; u < n_users; u++)
	{
		uint64_t	next = 0;

		for (uint64_t r = ptr[u]; r < ptr[u + 1]; r++)
		{
			uint32_t	gap = 0;

			for (int shift = 0;; shift += 7)
			{
				uint8_t		byte = *at++;

				gap |= (uint32_t) (byte & 0x7F) << shift;
				if (!(byte & 0x80))
					break;
			}
			next += gap;
			items[r] = (int32_t) next++;
		}
	}
}
