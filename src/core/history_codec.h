/*
 * history_codec.h - a model's training history, stored compactly.
 *
 * Models that serve known users keep each user's training items (ascending
 * indices) and values, for exclude_seen, fold-in and explanations.  Stored
 * as 4-byte indices and 4-byte values that history was most of a large
 * model: from format version 3 on each user's indices are stored as the
 * gaps between them, one LEB128 varint each (a user of 100 items among
 * 100,000 takes about 2 bytes an item), and values that are all equal (as
 * clicks are) once.  Decoding expands them to the plain arrays serving uses.
 */
#ifndef RECSYS_HISTORY_CODEC_H
#define RECSYS_HISTORY_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bytes the two history sections take in a model of the current format. */
typedef struct rs_history_size
{
	uint64_t	items;			/* the varint gaps */
	uint64_t	values;			/* 4 per interaction, or 4 if all are equal */
} rs_history_size;

/* ptr[n_users + 1] is the CSR of the history: user u's are [ptr[u], ptr[u + 1]). */
rs_history_size rs_history_measure(const uint64_t *ptr, const int32_t *items,
								   const float *values, int32_t n_users);

/* Whether the n values are all the same bits (n > 0). */
bool		rs_history_values_constant(const float *values, uint64_t n);

/* Writes the gaps of every user's ascending items (rs_history_measure's bytes). */
void		rs_history_encode(const uint64_t *ptr, const int32_t *items, int32_t n_users,
							  uint8_t *out);

/*
 * Validates size coded bytes against ptr (already checked ascending from 0):
 * every varint minimal and complete, each user's count as ptr says, items
 * strictly ascending below n_items, no byte left over.  NULL or a reason.
 */
const char *rs_history_check(const uint64_t *ptr, int32_t n_users, int32_t n_items,
							 const uint8_t *coded, uint64_t size);

/* Expands checked bytes into items[ptr[n_users]]. */
void		rs_history_decode(const uint64_t *ptr, int32_t n_users, const uint8_t *coded,
							  int32_t *items);

#endif
