/*
 * crc32c.c - CRC-32C with the SSE4.2 instruction where the CPU has it, and a
 * table-driven fallback that gives the same result everywhere else.
 */
#include "crc32c.h"

#include <string.h>

static uint32_t table[256];
static int	table_ready;

static void
build_table(void)
{
	for (uint32_t n = 0; n < 256; n++)
	{
		uint32_t	c = n;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
		table[n] = c;
	}
	table_ready = 1;
}

static uint32_t
crc32c_table(uint32_t crc, const unsigned char *p, size_t len)
{
	if (!table_ready)
		build_table();			/* idempotent, so a race only repeats work */
	while (len--)
		crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t
crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t	c = crc;

	for (; len >= 8; p += 8, len -= 8)
	{
		uint64_t	word;

		memcpy(&word, p, 8);
		c = _mm_crc32_u64(c, word);
	}
	crc = (uint32_t) c;
	for (; len > 0; p++, len--)
		crc = _mm_crc32_u8(crc, *p);
	return crc;
}
#endif

static uint32_t
crc32c_update(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_sse42(crc, data, len);
#endif
	return crc32c_table(crc, data, len);
}

uint32_t
rs_crc32c(const void *data, size_t len)
{
	return crc32c_update(0xFFFFFFFFu, data, len) ^ 0xFFFFFFFFu;
}

uint32_t
rs_crc32c_two(const void *first, size_t first_len, const void *second, size_t second_len)
{
	uint32_t	crc = crc32c_update(0xFFFFFFFFu, first, first_len);

	return crc32c_update(crc, second, second_len) ^ 0xFFFFFFFFu;
}
