/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum over a model's payload.
 */
#ifndef RECSYS_CRC32C_H
#define RECSYS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t	rs_crc32c(const void *data, size_t len);

#endif
