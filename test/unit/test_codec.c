/*
 * test_codec.c - the model format: exact round trip, and rejection of every
 * truncated, extended, misaligned, bit-flipped or inconsistent buffer.
 */
#include "core/crc32c.h"
#include "core/model.h"
#include "core/random.h"

#include "unit.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define N_USERS 5
#define N_ITEMS 7
#define FACTORS 3				/* odd, so float sections need padding */

static const int64_t user_ids[N_USERS] = {
	INT64_MIN + 1, -3, 0, 42, INT64_MAX
};
static const int64_t item_ids[N_ITEMS] = {
	INT64_MIN, -1, 7, 8, 1000, (int64_t) 1 << 40, INT64_MAX - 1
};

/* user 1 saw nothing; users are ascending each on their own, not overall */
static const uint64_t seen_ptr[N_USERS + 1] = {0, 2, 2, 5, 6, 9};
static const int32_t seen_items[9] = {1, 4, 0, 3, 6, 2, 1, 5, 6};

static const char info[] = "{\"factors\": 3, \"loss\": [0.75, 0.5]}";

static float user_factors[N_USERS * FACTORS];
static float item_factors[N_ITEMS * FACTORS];
static float user_bias[N_USERS];
static float item_bias[N_ITEMS];

static rs_model
make_model(void)
{
	rs_random	rng = {20240611};
	rs_model	m;

	memset(&m, 0, sizeof(m));
	m.algorithm = RS_ALGO_ALS_EXPLICIT;
	for (int k = 0; k < RS_MODEL_ID_BYTES; k++)
		m.model_id[k] = (uint8_t) rs_random_next(&rng);
	m.n_users = N_USERS;
	m.n_items = N_ITEMS;
	m.n_interactions = seen_ptr[N_USERS];
	m.factors = FACTORS;
	m.global_mean = 3.5721;
	m.new_user_bias = -0.125;
	m.new_item_bias = 0.0625;
	for (int k = 0; k < N_USERS * FACTORS; k++)
		user_factors[k] = (float) rs_random_normal(&rng);
	for (int k = 0; k < N_ITEMS * FACTORS; k++)
		item_factors[k] = (float) rs_random_normal(&rng);
	for (int k = 0; k < N_USERS; k++)
		user_bias[k] = (float) rs_random_normal(&rng);
	for (int k = 0; k < N_ITEMS; k++)
		item_bias[k] = (float) rs_random_normal(&rng);
	m.user_ids = user_ids;
	m.item_ids = item_ids;
	m.user_factors = user_factors;
	m.item_factors = item_factors;
	m.user_bias = user_bias;
	m.item_bias = item_bias;
	m.seen_ptr = seen_ptr;
	m.seen_items = seen_items;
	m.info = info;
	m.info_size = strlen(info);
	return m;
}

/* An 8-byte-aligned copy of len bytes (malloc aligns to at least 8). */
static unsigned char *
aligned_copy(const void *src, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);

	memcpy(p, src, len);
	return p;
}

static bool
inside(const void *p, size_t size, const unsigned char *buf, size_t len)
{
	const unsigned char *q = p;

	return size == 0 || (q >= buf + sizeof(rs_model_header) && q + size <= buf + len);
}

#define SAME_ARRAY(field, bytes) \
	CHECK(d.field != NULL && memcmp(d.field, m->field, (bytes)) == 0 && \
		  inside(d.field, (bytes), buf, len), \
		  "%s does not round-trip", #field)

static void
check_round_trip(const rs_model *m, const unsigned char *buf, size_t len)
{
	rs_model	d;
	const char *reason;
	size_t		u = (size_t) m->n_users,
				i = (size_t) m->n_items,
				f = (size_t) m->factors;

	memset(&d, 0xA5, sizeof(d));
	reason = rs_model_decode(buf, len, &d);
	if (!CHECK(reason == NULL, "decoding a fresh encoding failed: %s", reason))
		return;
	CHECK(d.algorithm == m->algorithm, "algorithm %d", (int) d.algorithm);
	CHECK(memcmp(d.model_id, m->model_id, RS_MODEL_ID_BYTES) == 0, "model_id");
	CHECK(d.n_users == m->n_users, "n_users %d", d.n_users);
	CHECK(d.n_items == m->n_items, "n_items %d", d.n_items);
	CHECK(d.n_interactions == m->n_interactions, "n_interactions %llu",
		  (unsigned long long) d.n_interactions);
	CHECK(d.factors == m->factors, "factors %d", d.factors);
	CHECK(memcmp(&d.global_mean, &m->global_mean, sizeof(double)) == 0, "global_mean %g",
		  d.global_mean);
	CHECK(memcmp(&d.new_user_bias, &m->new_user_bias, sizeof(double)) == 0,
		  "new_user_bias %g", d.new_user_bias);
	CHECK(memcmp(&d.new_item_bias, &m->new_item_bias, sizeof(double)) == 0,
		  "new_item_bias %g", d.new_item_bias);
	if (u > 0)
	{
		SAME_ARRAY(user_ids, u * sizeof(int64_t));
		SAME_ARRAY(user_bias, u * sizeof(float));
	}
	if (i > 0)
	{
		SAME_ARRAY(item_ids, i * sizeof(int64_t));
		SAME_ARRAY(item_bias, i * sizeof(float));
	}
	if (u * f > 0)
		SAME_ARRAY(user_factors, u * f * sizeof(float));
	if (i * f > 0)
		SAME_ARRAY(item_factors, i * f * sizeof(float));
	SAME_ARRAY(seen_ptr, (u + 1) * sizeof(uint64_t));
	if (m->seen_ptr[u] > 0)
		SAME_ARRAY(seen_items, m->seen_ptr[u] * sizeof(int32_t));
	CHECK(d.info_size == m->info_size, "info_size %zu, want %zu", d.info_size, m->info_size);
	if (m->info_size > 0)
		SAME_ARRAY(info, m->info_size);
	else
		CHECK(d.info == NULL, "an empty info decodes as NULL");

	/* id lookups on the decoded model */
	for (size_t k = 0; k < u; k++)
		CHECK(rs_model_user_index(&d, m->user_ids[k]) == (int32_t) k, "user index %zu", k);
	for (size_t k = 0; k < i; k++)
		CHECK(rs_model_item_index(&d, m->item_ids[k]) == (int32_t) k, "item index %zu", k);
	CHECK(rs_model_user_index(&d, 41) == -1, "unknown user id");
	CHECK(rs_model_item_index(&d, 9) == -1, "unknown item id");
}

/* The checksum the format stores: CRC-32C of every byte but its own four. */
static uint32_t
stored_checksum(const unsigned char *buf, size_t len)
{
	size_t		at = offsetof(rs_model_header, payload_crc);
	unsigned char *rest = malloc(len);
	uint32_t	crc;

	memcpy(rest, buf, at);
	memcpy(rest + at, buf + at + 4, len - at - 4);
	crc = rs_crc32c(rest, len - 4);
	free(rest);
	return crc;
}

static unsigned char *
encode(const rs_model *m, size_t *len)
{
	size_t		size = rs_model_encoded_size(m);
	unsigned char *buf;

	*len = size;
	CHECK(size >= sizeof(rs_model_header) && size % 8 == 0,
		  "encoded size %zu is not a whole number of 8-byte words past the header", size);
	buf = malloc(size);
	memset(buf, 0xEE, size);	/* padding must not keep this */
	rs_model_encode(m, buf);
	return buf;
}

/* Reference CRC-32C, one bit at a time. */
static uint32_t
crc32c_bitwise(const unsigned char *p, size_t len)
{
	uint32_t	crc = 0xFFFFFFFFu;

	for (size_t k = 0; k < len; k++)
	{
		crc ^= p[k];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void
test_crc32c(void)
{
	unsigned char data[300];
	rs_random	rng = {7};

	CHECK(rs_crc32c("123456789", 9) == 0xE3069283u, "check value: got 0x%08X",
		  (unsigned) rs_crc32c("123456789", 9));
	CHECK(rs_crc32c("", 0) == 0, "CRC of nothing");
	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (unsigned char) rs_random_next(&rng);
	/* every length and start alignment, through both the word loop and the tail */
	for (size_t start = 0; start < 8; start++)
		for (size_t len = 0; start + len <= sizeof(data); len += (len < 40 ? 1 : 13))
			CHECK(rs_crc32c(data + start, len) == crc32c_bitwise(data + start, len),
				  "CRC-32C of %zu bytes at offset %zu", len, start);
}

static void
test_round_trip(void)
{
	rs_model	m = make_model();
	size_t		len,
				len2;
	unsigned char *buf = encode(&m, &len);
	unsigned char *again;
	unsigned char *odd = malloc(len + 8);

	check_round_trip(&m, buf, len);

	/* deterministic bytes: padding is written, not left over */
	again = malloc(len);
	memset(again, 0x11, len);
	rs_model_encode(&m, again);
	CHECK(memcmp(buf, again, len) == 0, "two encodings of one model differ");
	free(again);

	/* encode accepts any destination alignment */
	for (size_t shift = 1; shift < 8; shift++)
	{
		memset(odd, 0x5A, len + 8);
		rs_model_encode(&m, odd + shift);
		CHECK(memcmp(odd + shift, buf, len) == 0, "encoding at offset %zu differs", shift);
	}
	free(odd);

	/* header fields as written */
	{
		rs_model_header h;

		memcpy(&h, buf, sizeof(h));
		CHECK(h.magic == RS_MODEL_MAGIC, "magic");
		CHECK(memcmp(buf, "RSSM", 4) == 0, "signature bytes");
		CHECK(h.format_version == RS_MODEL_FORMAT_VERSION, "format_version");
		CHECK(h.total_size == len, "total_size");
		CHECK(h.header_size == sizeof(rs_model_header), "header_size");
		CHECK(h.payload_crc == stored_checksum(buf, len), "payload_crc");
		for (int s = 0; s < RS_SEC_COUNT; s++)
			CHECK(h.sections[s].offset % 8 == 0 &&
				  h.sections[s].offset + h.sections[s].size <= len,
				  "section %d at %llu+%llu", s, (unsigned long long) h.sections[s].offset,
				  (unsigned long long) h.sections[s].size);
	}

	/* a model without users or items */
	{
		static const uint64_t none[1] = {0};
		rs_model	e = m;
		unsigned char *ebuf;

		e.n_users = 0;
		e.n_items = 0;
		e.n_interactions = 0;
		e.user_ids = e.item_ids = NULL;
		e.user_factors = e.item_factors = e.user_bias = e.item_bias = NULL;
		e.seen_ptr = none;
		e.seen_items = NULL;
		e.info = NULL;
		e.info_size = 0;
		ebuf = encode(&e, &len2);
		check_round_trip(&e, ebuf, len2);
		free(ebuf);
	}
	free(buf);
}

static void
test_identity(void)
{
	rs_model	m = make_model();
	size_t		len;
	unsigned char *buf = encode(&m, &len);
	unsigned char *slice = aligned_copy(buf, RS_MODEL_IDENTITY_SIZE);
	rs_model_header h;
	const char *reason;

	reason = rs_model_read_identity(slice, RS_MODEL_IDENTITY_SIZE, &h);
	if (CHECK(reason == NULL, "identity of a valid model: %s", reason))
	{
		CHECK(memcmp(h.model_id, m.model_id, RS_MODEL_ID_BYTES) == 0, "identity model_id");
		CHECK(h.magic == RS_MODEL_MAGIC, "identity magic");
		CHECK(h.format_version == RS_MODEL_FORMAT_VERSION, "identity version");
		CHECK(h.algorithm == RS_ALGO_ALS_EXPLICIT, "identity algorithm");
		CHECK(h.total_size == len, "identity total_size");
		CHECK(h.payload_crc == stored_checksum(buf, len), "identity crc");
	}
	for (size_t n = 0; n < RS_MODEL_IDENTITY_SIZE; n++)
		CHECK(rs_model_read_identity(slice, n, &h) != NULL,
			  "identity accepted from %zu bytes", n);
	slice[0] ^= 0x20;
	CHECK(rs_model_read_identity(slice, RS_MODEL_IDENTITY_SIZE, &h) != NULL,
		  "identity with a wrong signature");
	free(slice);
	free(buf);
}

static void
test_lengths_and_alignment(void)
{
	rs_model	m = make_model();
	size_t		len;
	unsigned char *buf = encode(&m, &len);
	unsigned char *longer = malloc(len + 8);
	unsigned char *shifted = malloc(len + 8);
	rs_model	d;

	/* every truncation, each copied so that nothing past it is readable */
	for (size_t n = 0; n < len; n++)
	{
		unsigned char *cut = aligned_copy(buf, n);

		CHECK(rs_model_decode(cut, n, &d) != NULL, "truncation to %zu of %zu bytes accepted",
			  n, len);
		free(cut);
	}

	/* trailing bytes */
	memcpy(longer, buf, len);
	memset(longer + len, 0, 8);
	for (size_t extra = 1; extra <= 8; extra++)
		CHECK(rs_model_decode(longer, len + extra, &d) != NULL,
			  "%zu trailing bytes accepted", extra);

	/* misaligned copies */
	for (size_t shift = 1; shift < 8; shift++)
	{
		memcpy(shifted + shift, buf, len);
		CHECK(rs_model_decode(shifted + shift, len, &d) != NULL,
			  "a copy at address offset %zu accepted", shift);
	}
	free(shifted);
	free(longer);
	free(buf);
}

/* The header field holding byte `off`, for messages. */
typedef struct field
{
	const char *name;
	size_t		offset;
	size_t		size;
} field;

static const field header_fields[] = {
	{"magic", offsetof(rs_model_header, magic), 4},
	{"format_version", offsetof(rs_model_header, format_version), 2},
	{"algorithm", offsetof(rs_model_header, algorithm), 2},
	{"model_id", offsetof(rs_model_header, model_id), RS_MODEL_ID_BYTES},
	{"total_size", offsetof(rs_model_header, total_size), 8},
	{"payload_crc", offsetof(rs_model_header, payload_crc), 4},
	{"header_size", offsetof(rs_model_header, header_size), 4},
	{"n_users", offsetof(rs_model_header, n_users), 4},
	{"n_items", offsetof(rs_model_header, n_items), 4},
	{"n_interactions", offsetof(rs_model_header, n_interactions), 8},
	{"factors", offsetof(rs_model_header, factors), 4},
	{"reserved", offsetof(rs_model_header, reserved), 4},
	{"global_mean", offsetof(rs_model_header, global_mean), 8},
	{"new_user_bias", offsetof(rs_model_header, new_user_bias), 8},
	{"new_item_bias", offsetof(rs_model_header, new_item_bias), 8},
	{"sections", offsetof(rs_model_header, sections), sizeof(rs_section_ref) * RS_SEC_COUNT},
};

static const unsigned char flips[] = {0x01, 0x08, 0x80, 0xFF};

static void
test_byte_flips(void)
{
	rs_model	m = make_model();
	size_t		len;
	unsigned char *buf = encode(&m, &len);
	unsigned char *copy = malloc(len);
	rs_model	d;
	size_t		covered = 0;

	/* Every byte of the header, field by field, with several patterns each. */
	for (size_t fi = 0; fi < sizeof(header_fields) / sizeof(header_fields[0]); fi++)
	{
		const field *fl = &header_fields[fi];
		int			accepted = 0,
					tried = 0;
		size_t		first = 0;
		unsigned	first_flip = 0;

		covered += fl->size;
		for (size_t off = fl->offset; off < fl->offset + fl->size; off++)
			for (size_t p = 0; p < sizeof(flips); p++)
			{
				memcpy(copy, buf, len);
				copy[off] ^= flips[p];
				tried++;
				if (rs_model_decode(copy, len, &d) == NULL && accepted++ == 0)
				{
					first = off;
					first_flip = flips[p];
				}
			}
		CHECK(accepted == 0,
			  "header field %s: %d of %d single-byte flips accepted (first: byte %zu ^ 0x%02X)",
			  fl->name, accepted, tried, first, first_flip);
	}
	CHECK(covered == sizeof(rs_model_header), "the field table covers %zu of %zu header bytes",
		  covered, sizeof(rs_model_header));

	/* every byte of the payload (padding included): the checksum covers it */
	for (size_t off = sizeof(rs_model_header); off < len; off++)
		for (size_t p = 0; p < sizeof(flips); p++)
		{
			memcpy(copy, buf, len);
			copy[off] ^= flips[p];
			CHECK(rs_model_decode(copy, len, &d) != NULL,
				  "payload byte %zu ^ 0x%02X accepted", off, flips[p]);
		}
	free(copy);
	free(buf);
}

/*
 * Inconsistent content under a valid checksum: what a bug in an encoder, not
 * storage corruption, would produce.  Each case edits a fresh copy and
 * recomputes the checksum, so only validation can reject it.
 */
static unsigned char *model_buf;
static size_t model_len;

static void *
section_at(unsigned char *buf, rs_section s)
{
	rs_model_header h;

	memcpy(&h, buf, sizeof(h));
	return buf + h.sections[s].offset;
}

static void
reseal(unsigned char *buf, size_t len)
{
	uint32_t	crc = stored_checksum(buf, len);

	memcpy(buf + offsetof(rs_model_header, payload_crc), &crc, sizeof(crc));
}

static void
expect_rejected(unsigned char *copy, const char *what)
{
	rs_model	d;

	reseal(copy, model_len);
	CHECK(rs_model_decode(copy, model_len, &d) != NULL, "accepted %s", what);
	free(copy);
}

static unsigned char *
fresh(void)
{
	return aligned_copy(model_buf, model_len);
}

static void
test_validation(void)
{
	rs_model	m = make_model();
	unsigned char *c;
	rs_model	d;

	model_buf = encode(&m, &model_len);

	c = fresh();
	reseal(c, model_len);
	CHECK(rs_model_decode(c, model_len, &d) == NULL, "resealing alone breaks the model");
	free(c);

	c = fresh();
	((int64_t *) section_at(c, RS_SEC_USER_IDS))[1] = 100;	/* then 0 follows */
	expect_rejected(c, "unsorted user ids");

	c = fresh();
	((int64_t *) section_at(c, RS_SEC_ITEM_IDS))[3] = 7;
	expect_rejected(c, "a repeated item id");

	c = fresh();
	((int32_t *) section_at(c, RS_SEC_SEEN_ITEMS))[3] = N_ITEMS;
	expect_rejected(c, "a seen item past the last item");

	c = fresh();
	((int32_t *) section_at(c, RS_SEC_SEEN_ITEMS))[0] = -1;
	expect_rejected(c, "a negative seen item");

	c = fresh();
	((int32_t *) section_at(c, RS_SEC_SEEN_ITEMS))[4] = 3;
	expect_rejected(c, "a user's seen items repeating an item");

	c = fresh();
	((int32_t *) section_at(c, RS_SEC_SEEN_ITEMS))[0] = 5;
	expect_rejected(c, "a user's seen items out of order");

	c = fresh();
	((uint64_t *) section_at(c, RS_SEC_SEEN_PTR))[0] = 1;
	expect_rejected(c, "seen_ptr not starting at 0");

	c = fresh();
	((uint64_t *) section_at(c, RS_SEC_SEEN_PTR))[2] = 1;
	expect_rejected(c, "seen_ptr going backwards");

	c = fresh();
	((uint64_t *) section_at(c, RS_SEC_SEEN_PTR))[N_USERS] = 8;
	expect_rejected(c, "seen_ptr ending short of the seen items");

	c = fresh();
	((uint64_t *) section_at(c, RS_SEC_SEEN_PTR))[3] = 1000;
	expect_rejected(c, "seen_ptr pointing past the seen items");

	c = fresh();
	((char *) section_at(c, RS_SEC_INFO))[3] = '\0';
	expect_rejected(c, "a NUL inside info");

	/* header fields, resealed so that only validation can reject them */
	{
		static const struct
		{
			size_t		offset;
			int64_t		value;
			int			bytes;
			const char *what;
		}			edits[] = {
			{offsetof(rs_model_header, factors), RS_MODEL_MAX_FACTORS + 1, 4, "too many factors"},
			{offsetof(rs_model_header, factors), -1, 4, "negative factors"},
			{offsetof(rs_model_header, n_users), -1, 4, "negative n_users"},
			{offsetof(rs_model_header, n_users), N_USERS - 1, 4, "n_users one short"},
			{offsetof(rs_model_header, n_items), N_ITEMS + 1, 4, "n_items one more"},
			{offsetof(rs_model_header, algorithm), 0, 2, "algorithm 0"},
			{offsetof(rs_model_header, algorithm), RS_ALGO_COUNT, 2, "an unknown algorithm"},
			{offsetof(rs_model_header, format_version), RS_MODEL_FORMAT_VERSION + 1, 2,
			"a newer format version"},
			{offsetof(rs_model_header, header_size), sizeof(rs_model_header) + 8, 4,
			"a different header size"},
			{offsetof(rs_model_header, sections[RS_SEC_COUNT - 1].size), 8, 8,
			"a section the algorithm does not use"},
			{offsetof(rs_model_header, sections[RS_SEC_INFO].offset), 0, 8,
			"info at offset 0"},
			{offsetof(rs_model_header, sections[RS_SEC_INFO].size), 4096, 8,
			"info running past the end"},
			{offsetof(rs_model_header, sections[RS_SEC_SEEN_ITEMS].size), 38, 8,
			"seen items of a size that is no whole number of items"},
			{offsetof(rs_model_header, sections[RS_SEC_USER_BIAS].offset), 8, 8,
			"a section inside the header"},
		};

		for (size_t k = 0; k < sizeof(edits) / sizeof(edits[0]); k++)
		{
			c = fresh();
			if (edits[k].bytes == 2)
			{
				uint16_t	v = (uint16_t) edits[k].value;

				memcpy(c + edits[k].offset, &v, 2);
			}
			else if (edits[k].bytes == 4)
			{
				int32_t		v = (int32_t) edits[k].value;

				memcpy(c + edits[k].offset, &v, 4);
			}
			else
				memcpy(c + edits[k].offset, &edits[k].value, 8);
			expect_rejected(c, edits[k].what);
		}
	}
	free(model_buf);
}

int
main(void)
{
	test_crc32c();
	test_round_trip();
	test_identity();
	test_lengths_and_alignment();
	test_byte_flips();
	test_validation();
	return unit_done();
}
