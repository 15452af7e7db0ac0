/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum over a model's payload.
 */
#ifndef RECSYS_CRC32C_H
#define RECSYS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t	rs_crc32c(const void *data, size_t len);

/* The CRC-32C of two pieces, as if they were one. */
uint32_t	rs_crc32c_two(const void *first, size_t first_len,
						  const void *second, size_t second_len);

#endif
