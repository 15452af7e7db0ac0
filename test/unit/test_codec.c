/*
 * test_codec.c - the model format, for each algorithm (explicit ALS,
 * implicit ALS, BPR, NCF): exact round trip of the header, the training
 * parameters and every section, and rejection of every truncated, extended,
 * misaligned, bit-flipped or inconsistent buffer - sections an algorithm
 * does not use, or lacks, included - and of an NCF network of a shape the
 * engine cannot score.  Models of format version 1 (16 header slots) decode
 * to the same arrays and answers; the item-model sections (neighbours, item
 * matrix) are checked on hand-made sections, as no algorithm stores them yet.
 */
#include "core/crc32c.h"
#include "core/kind.h"
#include "core/model.h"
#include "core/ncf.h"
#include "core/random.h"
#include "core/scoring.h"

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
static const float seen_values[9] = {4.5f, -1.0f, 0.0f, 3.25f, 1e-3f, 5.0f, 2.0f, 0.5f, 1e6f};

static const char info[] = "{\"factors\": 3, \"loss\": [0.75, 0.5]}";

static float user_factors[N_USERS * FACTORS];
static float item_factors[N_ITEMS * FACTORS];
static float user_bias[N_USERS];
static float item_bias[N_ITEMS];
static float item_gram[FACTORS * FACTORS];
static float item_popularity[N_ITEMS];

/*
 * NCF's network: tower embeddings of NCF_E per user and item, one hidden
 * layer, the output; its weights then h_G (FACTORS) and the embeddings.
 */
#define NCF_E 2
static const int32_t ncf_sizes[3] = {2 * NCF_E, 3, 1};

#define NCF_TOWER (3 * (2 * NCF_E + 1) + 1 * (3 + 1))
#define NCF_WEIGHTS (NCF_TOWER + FACTORS + (N_USERS + N_ITEMS) * NCF_E)
static float ncf_weights[NCF_WEIGHTS];

static const rs_algorithm algorithms[] = {
	RS_ALGO_ALS_EXPLICIT, RS_ALGO_ALS_IMPLICIT, RS_ALGO_BPR, RS_ALGO_NCF
};

#define N_ALGORITHMS (sizeof(algorithms) / sizeof(algorithms[0]))
#define BIT(s) (1u << (s))

/* The sections model.h gives each algorithm, written out independently. */
static uint32_t
sections_of(rs_algorithm algorithm)
{
	uint32_t	common = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
		BIT(RS_SEC_USER_FACTORS) | BIT(RS_SEC_ITEM_FACTORS) | BIT(RS_SEC_SEEN_PTR) |
		BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) | BIT(RS_SEC_ITEM_POPULARITY) |
		BIT(RS_SEC_INFO);

	switch (algorithm)
	{
		case RS_ALGO_ALS_EXPLICIT:
			return common | BIT(RS_SEC_USER_BIAS) | BIT(RS_SEC_ITEM_BIAS);
		case RS_ALGO_ALS_IMPLICIT:
			return common | BIT(RS_SEC_ITEM_GRAM);
		case RS_ALGO_BPR:
			return common | BIT(RS_SEC_ITEM_BIAS);
		case RS_ALGO_NCF:
			return common | BIT(RS_SEC_MLP_SIZES) | BIT(RS_SEC_MLP_WEIGHTS);
		default:
			return 0;
	}
}

static bool
uses(rs_algorithm algorithm, rs_section s)
{
	return (sections_of(algorithm) & BIT(s)) != 0;
}

/* Floats of an NCF model's weights section, by ncf.h's layout. */
static size_t
ncf_weight_floats(const rs_model *m)
{
	size_t		count = (size_t) m->factors;

	for (int l = 0; l < m->mlp_layers; l++)
		count += (size_t) m->mlp_sizes[l + 1] * (m->mlp_sizes[l] + 1);
	return count + ((size_t) m->n_users + m->n_items) * (m->mlp_sizes[0] / 2);
}

/*
 * A hand-built model of the algorithm: every array it uses filled from a
 * seeded generator, each it does not use NULL, and every field of the
 * parameters non-zero so that a field lost on the way shows - but for NCF's
 * activation and loss, which it stores there and must be ReLU and 0.
 */
static rs_model
make_model(rs_algorithm algorithm)
{
	rs_random	rng = {20240611 + (uint64_t) algorithm};
	rs_model	m;

	memset(&m, 0, sizeof(m));
	m.algorithm = algorithm;
	for (int k = 0; k < RS_MODEL_ID_BYTES; k++)
		m.model_id[k] = (uint8_t) rs_random_next(&rng);
	m.n_users = N_USERS;
	m.n_items = N_ITEMS;
	m.n_interactions = seen_ptr[N_USERS];
	m.factors = FACTORS;
	m.global_mean = algorithm == RS_ALGO_ALS_EXPLICIT ? 3.5721 : 0.0;
	m.new_user_bias = algorithm == RS_ALGO_ALS_EXPLICIT ? -0.125 : 0.0;
	m.new_item_bias = algorithm == RS_ALGO_ALS_EXPLICIT ? 0.0625 : 0.0;
	m.params.regularization = 0.05f * (float) algorithm;
	m.params.prior_count = 100.0f;
	m.params.bias_regularization = 2.5f;
	m.params.alpha = 40.0f;
	m.params.learning_rate = 0.01f;
	m.params.reserved = algorithm == RS_ALGO_NCF ? 0 : 0xC0FFEEu;
	for (int k = 0; k < N_USERS * FACTORS; k++)
		user_factors[k] = (float) rs_random_normal(&rng);
	for (int k = 0; k < N_ITEMS * FACTORS; k++)
		item_factors[k] = (float) rs_random_normal(&rng);
	for (int k = 0; k < N_USERS; k++)
		user_bias[k] = (float) rs_random_normal(&rng);
	for (int k = 0; k < N_ITEMS; k++)
		item_bias[k] = (float) rs_random_normal(&rng);
	for (int k = 0; k < FACTORS * FACTORS; k++)
		item_gram[k] = (float) rs_random_normal(&rng);
	for (int k = 0; k < NCF_WEIGHTS; k++)
		ncf_weights[k] = (float) rs_random_normal(&rng);
	memset(item_popularity, 0, sizeof(item_popularity));
	for (int k = 0; k < 9; k++)
		item_popularity[seen_items[k]] += 1.0f;
	m.user_ids = user_ids;
	m.item_ids = item_ids;
	m.user_factors = user_factors;
	m.item_factors = item_factors;
	m.user_bias = uses(algorithm, RS_SEC_USER_BIAS) ? user_bias : NULL;
	m.item_bias = uses(algorithm, RS_SEC_ITEM_BIAS) ? item_bias : NULL;
	m.item_gram = uses(algorithm, RS_SEC_ITEM_GRAM) ? item_gram : NULL;
	m.seen_ptr = seen_ptr;
	m.seen_items = seen_items;
	m.seen_values = seen_values;
	m.item_popularity = item_popularity;
	m.info = info;
	m.info_size = strlen(info);
	if (algorithm == RS_ALGO_NCF)
	{
		m.mlp_layers = 2;
		m.mlp_sizes = ncf_sizes;
		m.mlp_weights = ncf_weights;
		m.activation = RS_ACTIVATION_RELU;
		rs_ncf_locate(&m);
	}
	return m;
}

/* The model without users, items or info. */
static rs_model
empty_model(const rs_model *m)
{
	static const uint64_t none[1] = {0};
	rs_model	e = *m;

	e.n_users = 0;
	e.n_items = 0;
	e.n_interactions = 0;
	e.user_ids = e.item_ids = NULL;
	e.user_factors = e.item_factors = e.user_bias = e.item_bias = NULL;
	e.item_popularity = e.seen_values = NULL;
	e.seen_ptr = none;
	e.seen_items = NULL;
	e.info = NULL;
	e.info_size = 0;
	return e;
}

/* An 8-byte-aligned copy of len bytes (malloc aligns to at least 8). */
static unsigned char *
aligned_copy(const void *src, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);

	memcpy(p, src, len);
	return p;
}

/* Within the payload: past the header, of the size the buffer's header gives. */
static bool
inside(const void *p, size_t size, const unsigned char *buf, size_t len)
{
	const unsigned char *q = p;
	uint32_t	header_size;

	memcpy(&header_size, buf + offsetof(rs_model_header, header_size), sizeof(header_size));
	return size == 0 || (q >= buf + header_size && q + size <= buf + len);
}

#define SAME_ARRAY(field, bytes) \
	CHECK(d.field != NULL && memcmp(d.field, m->field, (bytes)) == 0 && \
		  inside(d.field, (bytes), buf, len), \
		  "%s: %s does not round-trip", rs_algorithm_name(m->algorithm), #field)

/* A section the algorithm uses round-trips; one it does not decodes as NULL. */
#define SECTION_ARRAY(s, field, bytes) \
	do { \
		if (!uses(m->algorithm, s)) \
			CHECK(d.field == NULL, "%s: unused %s decodes as %p", \
				  rs_algorithm_name(m->algorithm), #field, (const void *) d.field); \
		else if ((bytes) > 0) \
			SAME_ARRAY(field, bytes); \
	} while (0)

/* The varint gaps of the history, counted here independently of the codec. */
static size_t
coded_bytes(const rs_model *m)
{
	size_t		bytes = 0;

	for (int32_t u = 0; u < m->n_users; u++)
		for (uint64_t r = m->seen_ptr[u]; r < m->seen_ptr[u + 1]; r++)
		{
			uint32_t	gap = (uint32_t) (m->seen_items[r] - (r > m->seen_ptr[u] ?
															  m->seen_items[r - 1] + 1 : 0));

			bytes += gap < (1u << 7) ? 1 : gap < (1u << 14) ? 2 : gap < (1u << 21) ? 3 :
				gap < (1u << 28) ? 4 : 5;
		}
	return bytes;
}

static bool
all_equal(const float *values, size_t n)
{
	for (size_t k = 1; k < n; k++)
		if (values[k] != values[0])
			return false;
	return n > 1;
}

/* buf, of the given format version, decodes to m. */
static void
check_round_trip(const rs_model *m, const unsigned char *buf, size_t len, int version)
{
	rs_model	d;
	const char *reason;
	size_t		u = (size_t) m->n_users,
				i = (size_t) m->n_items,
				f = (size_t) m->factors,
				seen = m->seen_ptr[u];

	memset(&d, 0xA5, sizeof(d));
	reason = unit_decode(buf, len, &d);
	if (!CHECK(reason == NULL, "%s: decoding a fresh encoding failed: %s",
			   rs_algorithm_name(m->algorithm), reason))
		return;
	CHECK(d.format_version == version, "%s: format_version %d, want %d",
		  rs_algorithm_name(m->algorithm), d.format_version, version);
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
	CHECK(memcmp(&d.params, &m->params, sizeof(rs_model_params)) == 0,
		  "%s: params do not round-trip (regularization %g, prior_count %g, "
		  "bias_regularization %g, alpha %g, learning_rate %g, reserved 0x%X)",
		  rs_algorithm_name(m->algorithm), d.params.regularization, d.params.prior_count,
		  d.params.bias_regularization, d.params.alpha, d.params.learning_rate,
		  (unsigned) d.params.reserved);
	if (u > 0)
		SAME_ARRAY(user_ids, u * sizeof(int64_t));
	if (i > 0)
		SAME_ARRAY(item_ids, i * sizeof(int64_t));
	if (u * f > 0)
		SAME_ARRAY(user_factors, u * f * sizeof(float));
	if (i * f > 0)
		SAME_ARRAY(item_factors, i * f * sizeof(float));
	SECTION_ARRAY(RS_SEC_USER_BIAS, user_bias, u * sizeof(float));
	SECTION_ARRAY(RS_SEC_ITEM_BIAS, item_bias, i * sizeof(float));
	SECTION_ARRAY(RS_SEC_ITEM_GRAM, item_gram, f * f * sizeof(float));
	SECTION_ARRAY(RS_SEC_ITEM_POPULARITY, item_popularity, i * sizeof(float));
	SECTION_ARRAY(RS_SEC_MLP_SIZES, mlp_sizes, (m->mlp_layers + 1) * sizeof(int32_t));
	SECTION_ARRAY(RS_SEC_MLP_WEIGHTS, mlp_weights, ncf_weight_floats(m) * sizeof(float));
	/* no algorithm stores the item-model sections yet */
	SECTION_ARRAY(RS_SEC_NEIGHBOR_PTR, neighbor_ptr, (i + 1) * sizeof(uint64_t));
	SECTION_ARRAY(RS_SEC_NEIGHBOR_ITEMS, neighbor_items,
				  m->neighbor_ptr ? m->neighbor_ptr[i] * sizeof(int32_t) : 0);
	SECTION_ARRAY(RS_SEC_NEIGHBOR_WEIGHTS, neighbor_weights,
				  m->neighbor_ptr ? m->neighbor_ptr[i] * sizeof(float) : 0);
	SECTION_ARRAY(RS_SEC_ITEM_MATRIX, item_matrix, i * i * sizeof(float));
	if (m->algorithm == RS_ALGO_NCF)
		CHECK(d.mlp_layers == m->mlp_layers && d.activation == RS_ACTIVATION_RELU &&
			  d.ncf_embedding == m->mlp_sizes[0] / 2 &&
			  d.ncf_output_gmf == d.mlp_weights + NCF_TOWER &&
			  d.ncf_user_embeddings == d.ncf_output_gmf + f &&
			  d.ncf_item_embeddings == d.ncf_user_embeddings + u * d.ncf_embedding,
			  "ncf: the decoded network and its parts are not where ncf.h puts them");
	else
		CHECK(d.mlp_layers == 0 && d.ncf_output_gmf == NULL, "%s: a network decoded",
			  rs_algorithm_name(m->algorithm));
	SAME_ARRAY(seen_ptr, (u + 1) * sizeof(uint64_t));
	if (seen > 0 && version < 3)
	{
		SAME_ARRAY(seen_items, seen * sizeof(int32_t));
		SAME_ARRAY(seen_values, seen * sizeof(float));
	}
	else if (seen > 0)
	{
		/* compact in the buffer, expanded beside it */
		CHECK(inside(d.seen_coded, d.seen_coded_size, buf, len) &&
			  d.seen_coded_size == coded_bytes(m), "%s: the coded history is not in place",
			  rs_algorithm_name(m->algorithm));
		CHECK(d.seen_items && memcmp(d.seen_items, m->seen_items, seen * sizeof(int32_t)) == 0,
			  "%s: seen_items do not round-trip", rs_algorithm_name(m->algorithm));
		CHECK(d.seen_values && memcmp(d.seen_values, m->seen_values, seen * sizeof(float)) == 0,
			  "%s: seen_values do not round-trip", rs_algorithm_name(m->algorithm));
	}
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

/* Header plus each used section rounded up to 8 bytes, computed by hand. */
static size_t
expected_encoded_size(const rs_model *m, int version)
{
	size_t		u = (size_t) m->n_users,
				i = (size_t) m->n_items,
				f = (size_t) m->factors,
				seen = m->seen_ptr[u];
	size_t		sizes[RS_SEC_COUNT] = {0};
	size_t		total = sizeof(rs_model_header);

	sizes[RS_SEC_USER_IDS] = 8 * u;
	sizes[RS_SEC_ITEM_IDS] = 8 * i;
	sizes[RS_SEC_USER_FACTORS] = 4 * u * f;
	sizes[RS_SEC_ITEM_FACTORS] = 4 * i * f;
	sizes[RS_SEC_USER_BIAS] = 4 * u;
	sizes[RS_SEC_ITEM_BIAS] = 4 * i;
	sizes[RS_SEC_SEEN_PTR] = 8 * (u + 1);
	sizes[RS_SEC_SEEN_ITEMS] = version < 3 ? 4 * seen : coded_bytes(m);
	sizes[RS_SEC_INFO] = m->info_size;
	sizes[RS_SEC_SEEN_VALUES] = version < 3 || !all_equal(m->seen_values, seen) ? 4 * seen : 4;
	sizes[RS_SEC_ITEM_GRAM] = 4 * f * f;
	sizes[RS_SEC_ITEM_POPULARITY] = 4 * i;
	if (m->algorithm == RS_ALGO_NCF)
	{
		sizes[RS_SEC_MLP_SIZES] = 4 * ((size_t) m->mlp_layers + 1);
		sizes[RS_SEC_MLP_WEIGHTS] = 4 * ncf_weight_floats(m);
	}
	for (int s = 0; s < RS_SEC_COUNT; s++)
		if (uses(m->algorithm, s))
			total += (sizes[s] + 7) / 8 * 8;
	return total;
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
encode_as(const rs_model *m, size_t *len, int version)
{
	size_t		size = rs_model_encoded_size_as(m, version);
	unsigned char *buf;

	*len = size;
	CHECK(size >= sizeof(rs_model_header) && size % 8 == 0,
		  "encoded size %zu is not a whole number of 8-byte words past the header", size);
	buf = malloc(size);
	memset(buf, 0xEE, size);	/* padding must not keep this */
	rs_model_encode_as(m, buf, version);
	return buf;
}

static unsigned char *
encode(const rs_model *m, size_t *len)
{
	return encode_as(m, len, RS_MODEL_FORMAT_VERSION);
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

/*
 * Id lookups against a plain binary search, for id lists of every shape:
 * dense (where the first probe hits), dense with gaps, sparse, negative and
 * at the ends of int64; each id, its neighbours and ids beyond both ends.
 */
static void
test_id_lookup(void)
{
	enum
	{
		N = 1000
	};
	static int64_t ids[N];
	rs_random	rng = {5};
	int			checked = 0;

	for (int shape = 0; shape < 6; shape++)
	{
		int32_t		n = shape == 5 ? 3 : N;
		rs_model	m;

		for (int32_t k = 0; k < n; k++)
			switch (shape)
			{
				case 0:			/* serial keys */
					ids[k] = k + 1;
					break;
				case 1:			/* serial from a negative start */
					ids[k] = k - 500;
					break;
				case 2:			/* dense with a gap every 7 */
					ids[k] = k + k / 7;
					break;
				case 3:			/* sparse, random steps */
					ids[k] = (k ? ids[k - 1] : -((int64_t) 1 << 40)) + 1 +
						(int64_t) (rs_random_next(&rng) % 1000000);
					break;
				case 4:			/* spread over all of int64 */
					ids[k] = (int64_t) ((uint64_t) INT64_MIN + (uint64_t) k * (UINT64_MAX / (N - 1)));
					break;
				case 5:			/* the extremes only */
					ids[k] = k == 0 ? INT64_MIN : k == 1 ? 0 : INT64_MAX;
					break;
			}
		memset(&m, 0, sizeof(m));
		m.user_ids = ids;
		m.n_users = n;
		m.item_ids = ids;
		m.n_items = n;
		for (int32_t k = 0; k < n; k++)
		{
			CHECK(rs_model_user_index(&m, ids[k]) == k, "shape %d: id %lld at %d",
				  shape, (long long) ids[k], k);
			for (int delta = -1; delta <= 1; delta += 2)
			{
				int64_t		near;

				if (__builtin_add_overflow(ids[k], (int64_t) delta, &near))
					continue;
				CHECK(rs_model_item_index(&m, near) == rs_find_id(ids, n, near),
					  "shape %d: neighbour %lld", shape, (long long) near);
				checked++;
			}
		}
		CHECK(rs_model_user_index(&m, INT64_MIN) == rs_find_id(ids, n, INT64_MIN) &&
			  rs_model_user_index(&m, INT64_MAX) == rs_find_id(ids, n, INT64_MAX),
			  "shape %d: the ends of int64", shape);
		m.n_users = 0;
		CHECK(rs_model_user_index(&m, ids[0]) == -1, "shape %d: no users", shape);
		m.n_users = 1;
		CHECK(rs_model_user_index(&m, ids[0]) == 0 && rs_model_user_index(&m, ids[1]) == -1,
			  "shape %d: one user", shape);
	}
	CHECK(checked > 5000, "%d neighbours checked", checked);
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
	/* two pieces give the CRC of their concatenation, wherever the cut */
	for (size_t cut = 0; cut <= sizeof(data); cut += (cut < 20 ? 1 : 17))
		CHECK(rs_crc32c_two(data, cut, data + cut, sizeof(data) - cut) ==
			  rs_crc32c(data, sizeof(data)), "CRC-32C of two pieces cut at %zu", cut);
}

static void
round_trip(rs_algorithm algorithm)
{
	rs_model	m = make_model(algorithm);
	const char *name = rs_algorithm_name(algorithm);
	size_t		len,
				len2;
	unsigned char *buf = encode(&m, &len);
	unsigned char *again;
	unsigned char *odd = malloc(len + 8);

	CHECK(len == expected_encoded_size(&m, RS_MODEL_FORMAT_VERSION),
		  "%s: encoded size %zu, want %zu", name, len,
		  expected_encoded_size(&m, RS_MODEL_FORMAT_VERSION));
	check_round_trip(&m, buf, len, RS_MODEL_FORMAT_VERSION);
	unit_check_rebase(buf, len, name);

	/* as version 2 wrote it: the history plain, in place */
	again = encode_as(&m, &len2, 2);
	CHECK(len2 == expected_encoded_size(&m, 2), "%s: version 2 size %zu, want %zu", name, len2,
		  expected_encoded_size(&m, 2));
	check_round_trip(&m, again, len2, 2);
	free(again);

	/* deterministic bytes: padding is written, not left over */
	again = malloc(len);
	memset(again, 0x11, len);
	rs_model_encode(&m, again);
	CHECK(memcmp(buf, again, len) == 0, "%s: two encodings of one model differ", name);
	free(again);

	/* encode accepts any destination alignment */
	for (size_t shift = 1; shift < 8; shift++)
	{
		memset(odd, 0x5A, len + 8);
		rs_model_encode(&m, odd + shift);
		CHECK(memcmp(odd + shift, buf, len) == 0, "%s: encoding at offset %zu differs", name,
			  shift);
	}
	free(odd);

	/* header fields as written */
	{
		rs_model_header h;

		memcpy(&h, buf, sizeof(h));
		CHECK(h.magic == RS_MODEL_MAGIC, "magic");
		CHECK(memcmp(buf, "RSSM", 4) == 0, "signature bytes");
		CHECK(h.format_version == RS_MODEL_FORMAT_VERSION && h.format_version == 3,
			  "format_version %d", h.format_version);
		CHECK(h.algorithm == (uint16_t) algorithm, "%s: algorithm %d", name, h.algorithm);
		CHECK(h.total_size == len, "total_size");
		CHECK(h.header_size == sizeof(rs_model_header) && h.header_size == 112 + 16 * 32,
			  "header_size %u", (unsigned) h.header_size);
		CHECK(h.payload_crc == stored_checksum(buf, len), "payload_crc");
		CHECK(memcmp(&h.params, &m.params, sizeof(h.params)) == 0, "%s: params as written",
			  name);
		for (int s = 0; s < RS_SEC_COUNT; s++)
		{
			CHECK(h.sections[s].offset % 8 == 0 &&
				  h.sections[s].offset + h.sections[s].size <= len,
				  "section %d at %llu+%llu", s, (unsigned long long) h.sections[s].offset,
				  (unsigned long long) h.sections[s].size);
			CHECK(uses(algorithm, s) ? h.sections[s].offset >= sizeof(h) :
				  h.sections[s].offset == 0 && h.sections[s].size == 0,
				  "%s: section %d at %llu+%llu", name, s,
				  (unsigned long long) h.sections[s].offset,
				  (unsigned long long) h.sections[s].size);
		}
	}

	/* arrays an algorithm does not use are not written, whatever points at them */
	{
		rs_model	extra = m;
		unsigned char *ebuf;

		extra.user_bias = user_bias;
		extra.item_bias = item_bias;
		extra.item_gram = item_gram;
		if (algorithm != RS_ALGO_NCF)
		{
			extra.mlp_layers = 2;
			extra.mlp_sizes = ncf_sizes;
			extra.mlp_weights = ncf_weights;
		}
		ebuf = encode(&extra, &len2);
		CHECK(len2 == len && memcmp(ebuf, buf, len) == 0,
			  "%s: pointers to unused arrays change the encoding", name);
		free(ebuf);
	}

	/* a model without users or items */
	{
		rs_model	e = empty_model(&m);
		unsigned char *ebuf;

		ebuf = encode(&e, &len2);
		CHECK(len2 == expected_encoded_size(&e, RS_MODEL_FORMAT_VERSION), "%s: empty model of %zu bytes, want %zu",
			  name, len2, expected_encoded_size(&e, RS_MODEL_FORMAT_VERSION));
		check_round_trip(&e, ebuf, len2, RS_MODEL_FORMAT_VERSION);
		free(ebuf);
	}
	free(buf);
}

static void
test_round_trip(void)
{
	for (size_t a = 0; a < N_ALGORITHMS; a++)
		round_trip(algorithms[a]);
	CHECK(strcmp(rs_algorithm_name(RS_ALGO_ALS_EXPLICIT), "als") == 0 &&
		  strcmp(rs_algorithm_name(RS_ALGO_ALS_IMPLICIT), "implicit_als") == 0 &&
		  strcmp(rs_algorithm_name(RS_ALGO_BPR), "bpr") == 0 &&
		  strcmp(rs_algorithm_name(RS_ALGO_NCF), "ncf") == 0 &&
		  strcmp(rs_algorithm_name(RS_ALGO_COUNT), "unknown") == 0, "algorithm names");
}

static void
identity(rs_algorithm algorithm)
{
	rs_model	m = make_model(algorithm);
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
		CHECK(h.algorithm == (uint16_t) algorithm, "identity algorithm %d, want %d",
			  h.algorithm, (int) algorithm);
		CHECK(h.total_size == len, "identity total_size");
		CHECK(h.payload_crc == stored_checksum(buf, len), "identity crc");
	}
	for (size_t n = 0; n < RS_MODEL_IDENTITY_SIZE; n++)
		CHECK(rs_model_read_identity(slice, n, &h) != NULL,
			  "identity accepted from %zu bytes", n);
	/* a newer build's model is told apart, so the user can be told to
	 * update or retrain; version 0 is merely invalid */
	{
		uint16_t	version = RS_MODEL_FORMAT_VERSION + 1;

		memcpy(slice + offsetof(rs_model_header, format_version), &version, sizeof(version));
		CHECK(rs_model_read_identity(slice, RS_MODEL_IDENTITY_SIZE, &h) == rs_model_newer_format,
			  "identity of a newer format version");
		version = 0;
		memcpy(slice + offsetof(rs_model_header, format_version), &version, sizeof(version));
		reason = rs_model_read_identity(slice, RS_MODEL_IDENTITY_SIZE, &h);
		CHECK(reason != NULL && reason != rs_model_newer_format, "identity of format version 0");
		version = RS_MODEL_FORMAT_VERSION;
		memcpy(slice + offsetof(rs_model_header, format_version), &version, sizeof(version));
	}
	slice[0] ^= 0x20;
	CHECK(rs_model_read_identity(slice, RS_MODEL_IDENTITY_SIZE, &h) != NULL,
		  "identity with a wrong signature");
	free(slice);
	free(buf);
}

static void
test_identity(void)
{
	for (size_t a = 0; a < N_ALGORITHMS; a++)
		identity(algorithms[a]);
}

static void
lengths_and_alignment(rs_algorithm algorithm)
{
	rs_model	m = make_model(algorithm);
	const char *name = rs_algorithm_name(algorithm);
	size_t		len;
	unsigned char *buf = encode(&m, &len);
	unsigned char *longer = malloc(len + 8);
	unsigned char *shifted = malloc(len + 8);
	rs_model	d;

	/* every truncation, each copied so that nothing past it is readable */
	for (size_t n = 0; n < len; n++)
	{
		unsigned char *cut = aligned_copy(buf, n);

		CHECK(unit_decode(cut, n, &d) != NULL, "%s: truncation to %zu of %zu bytes accepted",
			  name, n, len);
		free(cut);
	}

	/* trailing bytes */
	memcpy(longer, buf, len);
	memset(longer + len, 0, 8);
	for (size_t extra = 1; extra <= 8; extra++)
		CHECK(unit_decode(longer, len + extra, &d) != NULL,
			  "%s: %zu trailing bytes accepted", name, extra);

	/* misaligned copies */
	for (size_t shift = 1; shift < 8; shift++)
	{
		memcpy(shifted + shift, buf, len);
		CHECK(unit_decode(shifted + shift, len, &d) != NULL,
			  "%s: a copy at address offset %zu accepted", name, shift);
	}
	free(shifted);
	free(longer);
	free(buf);
}

static void
test_lengths_and_alignment(void)
{
	for (size_t a = 0; a < N_ALGORITHMS; a++)
		lengths_and_alignment(algorithms[a]);
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
	{"params.regularization", offsetof(rs_model_header, params.regularization), 4},
	{"params.prior_count", offsetof(rs_model_header, params.prior_count), 4},
	{"params.bias_regularization", offsetof(rs_model_header, params.bias_regularization), 4},
	{"params.alpha", offsetof(rs_model_header, params.alpha), 4},
	{"params.learning_rate", offsetof(rs_model_header, params.learning_rate), 4},
	{"params.reserved", offsetof(rs_model_header, params.reserved), 4},
	{"sections", offsetof(rs_model_header, sections), sizeof(rs_section_ref) * RS_SEC_COUNT},
};

static const unsigned char flips[] = {0x01, 0x08, 0x80, 0xFF};

/*
 * Every byte of the header, model id included, and of the payload is under
 * the checksum: no single-byte change of a valid model is accepted.
 */
static void
byte_flips(rs_algorithm algorithm)
{
	rs_model	m = make_model(algorithm);
	const char *name = rs_algorithm_name(algorithm);
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
				if (unit_decode(copy, len, &d) == NULL && accepted++ == 0)
				{
					first = off;
					first_flip = flips[p];
				}
			}
		CHECK(accepted == 0,
			  "%s: header field %s: %d of %d single-byte flips accepted (first: byte %zu ^ 0x%02X)",
			  name, fl->name, accepted, tried, first, first_flip);
	}
	CHECK(covered == sizeof(rs_model_header), "the field table covers %zu of %zu header bytes",
		  covered, sizeof(rs_model_header));

	/* every byte of the payload (padding included): the checksum covers it */
	for (size_t off = sizeof(rs_model_header); off < len; off++)
		for (size_t p = 0; p < sizeof(flips); p++)
		{
			memcpy(copy, buf, len);
			copy[off] ^= flips[p];
			CHECK(unit_decode(copy, len, &d) != NULL,
				  "%s: payload byte %zu ^ 0x%02X accepted", name, off, flips[p]);
		}
	free(copy);
	free(buf);
}

static void
test_byte_flips(void)
{
	/* the table of header fields tiles the header: no gap, no overlap */
	size_t		next = 0;

	for (size_t fi = 0; fi < sizeof(header_fields) / sizeof(header_fields[0]); fi++)
	{
		CHECK(header_fields[fi].offset == next, "header field %s at %zu, want %zu",
			  header_fields[fi].name, header_fields[fi].offset, next);
		next = header_fields[fi].offset + header_fields[fi].size;
	}
	CHECK(next == sizeof(rs_model_header), "the field table ends at %zu of %zu", next,
		  sizeof(rs_model_header));
	for (size_t a = 0; a < N_ALGORITHMS; a++)
		byte_flips(algorithms[a]);
}

/*
 * Inconsistent content under a valid checksum: what a bug in an encoder, not
 * storage corruption, would produce.  Each case edits a fresh copy and
 * recomputes the checksum, so only validation can reject it.
 */
static unsigned char *model_buf;
static size_t model_len;
static const char *model_name;

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
	CHECK(unit_decode(copy, model_len, &d) != NULL, "%s: accepted %s", model_name, what);
	free(copy);
}

static unsigned char *
fresh(void)
{
	return aligned_copy(model_buf, model_len);
}

static rs_section_ref
section_ref(const unsigned char *buf, int s)
{
	rs_section_ref ref;

	memcpy(&ref, buf + offsetof(rs_model_header, sections) + sizeof(ref) * s, sizeof(ref));
	return ref;
}

static void
set_section(unsigned char *buf, int s, uint64_t offset, uint64_t size)
{
	rs_section_ref ref = {offset, size};

	memcpy(buf + offsetof(rs_model_header, sections) + sizeof(ref) * s, &ref, sizeof(ref));
}

/*
 * The section table against the algorithm: every slot it does not use must
 * be empty, every section it uses present and of its exact size, and a model
 * relabelled as another algorithm does not pass as one.
 */
static void
section_table(rs_algorithm algorithm)
{
	rs_section_ref info_ref = section_ref(model_buf, RS_SEC_INFO);
	char		what[160];
	unsigned char *c;

	for (int s = 0; s < RS_SEC_COUNT; s++)
	{
		rs_section_ref ref = section_ref(model_buf, s);

		if (!uses(algorithm, s))
		{
			/* a well-formed section, but one the algorithm has no use for */
			c = fresh();
			set_section(c, s, info_ref.offset, 8);
			snprintf(what, sizeof(what), "unused section %d holding 8 bytes inside the model", s);
			expect_rejected(c, what);
			c = fresh();
			set_section(c, s, info_ref.offset, 0);
			snprintf(what, sizeof(what), "unused section %d with an offset and no bytes", s);
			expect_rejected(c, what);
			c = fresh();
			set_section(c, s, 0, 4);
			snprintf(what, sizeof(what), "unused section %d with a size and no offset", s);
			expect_rejected(c, what);
			continue;
		}
		c = fresh();
		set_section(c, s, 0, 0);
		snprintf(what, sizeof(what), "required section %d missing", s);
		expect_rejected(c, what);
		if (s == RS_SEC_INFO)
			continue;			/* any size: the info may be any text */
		c = fresh();
		set_section(c, s, ref.offset, ref.size - 4);
		snprintf(what, sizeof(what), "section %d four bytes short", s);
		expect_rejected(c, what);
		c = fresh();
		set_section(c, s, ref.offset, ref.size + 4);
		snprintf(what, sizeof(what), "section %d four bytes long", s);
		expect_rejected(c, what);
	}

	/* the same bytes labelled as another algorithm */
	for (size_t a = 0; a < N_ALGORITHMS; a++)
	{
		uint16_t	other = (uint16_t) algorithms[a];

		if (algorithms[a] == algorithm)
			continue;
		c = fresh();
		memcpy(c + offsetof(rs_model_header, algorithm), &other, sizeof(other));
		snprintf(what, sizeof(what), "its sections labelled as %s",
				 rs_algorithm_name(algorithms[a]));
		expect_rejected(c, what);
	}
}

static void
validation(rs_algorithm algorithm)
{
	rs_model	m = make_model(algorithm);
	unsigned char *c;
	rs_model	d;

	model_name = rs_algorithm_name(algorithm);
	model_buf = encode(&m, &model_len);

	c = fresh();
	reseal(c, model_len);
	CHECK(unit_decode(c, model_len, &d) == NULL, "%s: resealing alone breaks the model",
		  model_name);
	free(c);

	c = fresh();
	((int64_t *) section_at(c, RS_SEC_USER_IDS))[1] = 100;	/* then 0 follows */
	expect_rejected(c, "unsorted user ids");

	c = fresh();
	((int64_t *) section_at(c, RS_SEC_ITEM_IDS))[3] = 7;
	expect_rejected(c, "a repeated item id");

	/* the compact history's gaps: 1 2 | | 0 2 2 | 2 | 1 3 0 */
	c = fresh();
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[0] = N_ITEMS;
	expect_rejected(c, "a seen item past the last item");

	c = fresh();
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[8] = 0x80;
	expect_rejected(c, "a varint cut at the end of the history");

	c = fresh();
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[2] = 0x80;
	expect_rejected(c, "a varint running into the next user's items");

	c = fresh();
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[1] = 0x82;
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[2] = 0x00;
	expect_rejected(c, "a varint of more bytes than its value needs");

	c = fresh();
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[3] = 0xFF;
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[4] = 0xFF;
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[5] = 0xFF;
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[6] = 0xFF;
	((uint8_t *) section_at(c, RS_SEC_SEEN_ITEMS))[7] = 0xFF;
	expect_rejected(c, "a varint of six bytes");

	/* the plain history of format version 2 */
	{
		unsigned char *current = model_buf;
		size_t		current_len = model_len;

		model_buf = encode_as(&m, &model_len, 2);
		c = fresh();
		((int32_t *) section_at(c, RS_SEC_SEEN_ITEMS))[3] = N_ITEMS;
		expect_rejected(c, "a seen item past the last item (version 2)");

		c = fresh();
		((int32_t *) section_at(c, RS_SEC_SEEN_ITEMS))[0] = -1;
		expect_rejected(c, "a negative seen item");

		c = fresh();
		((int32_t *) section_at(c, RS_SEC_SEEN_ITEMS))[4] = 3;
		expect_rejected(c, "a user's seen items repeating an item");

		c = fresh();
		((int32_t *) section_at(c, RS_SEC_SEEN_ITEMS))[0] = 5;
		expect_rejected(c, "a user's seen items out of order");
		free(model_buf);
		model_buf = current;
		model_len = current_len;
	}

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

	if (algorithm == RS_ALGO_NCF)
	{
		c = fresh();
		((int32_t *) section_at(c, RS_SEC_MLP_SIZES))[1] = -3;
		expect_rejected(c, "a hidden layer of -3 units");
		c = fresh();
		((int32_t *) section_at(c, RS_SEC_MLP_SIZES))[1] = 4;
		expect_rejected(c, "a hidden layer wider than its weights");
		c = fresh();
		((int32_t *) section_at(c, RS_SEC_MLP_SIZES))[0] = 5;
		expect_rejected(c, "odd embeddings in place");
		c = fresh();
		((int32_t *) section_at(c, RS_SEC_MLP_SIZES))[2] = 2;
		expect_rejected(c, "two outputs in place");
	}

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
			{offsetof(rs_model_header, format_version), 0, 2, "format version 0"},
			{offsetof(rs_model_header, format_version), 1, 2,
			"format version 1 on a header of 32 slots"},
			{offsetof(rs_model_header, header_size), sizeof(rs_model_header) + 8, 4,
			"a different header size"},
			{offsetof(rs_model_header, sections[RS_SEC_COUNT - 1].size), 8, 8,
			"a section the algorithm does not use"},
			{offsetof(rs_model_header, sections[RS_SEC_NEIGHBOR_PTR].size), 8, 8,
			"neighbours the algorithm does not use"},
			{offsetof(rs_model_header, sections[RS_SEC_ITEM_MATRIX].offset), 8, 8,
			"an item matrix the algorithm does not use"},
			{offsetof(rs_model_header, sections[RS_SEC_INFO].offset), 0, 8,
			"info at offset 0"},
			{offsetof(rs_model_header, sections[RS_SEC_INFO].size), 4096, 8,
			"info running past the end"},
			{offsetof(rs_model_header, sections[RS_SEC_SEEN_ITEMS].size), 38, 8,
			"seen items of a size that is no whole number of items"},
			{offsetof(rs_model_header, sections[RS_SEC_ITEM_FACTORS].offset), 8, 8,
			"a section inside the header"},
			{offsetof(rs_model_header, sections[RS_SEC_ITEM_FACTORS].offset),
			RS_MODEL_V1_HEADER_SIZE, 8, "a section over the slots version 1 lacks"},
			{offsetof(rs_model_header, sections[RS_SEC_SEEN_VALUES].size), 32, 8,
			"seen values one short of the seen items"},
			{offsetof(rs_model_header, sections[RS_SEC_SEEN_VALUES].size), 40, 8,
			"seen values one more than the seen items"},
			{offsetof(rs_model_header, sections[RS_SEC_SEEN_VALUES].size), 38, 8,
			"seen values of a size that is no whole number of values"},
			{offsetof(rs_model_header, sections[RS_SEC_SEEN_ITEMS].size), 32, 8,
			"seen items one short of seen_ptr's end"},
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
	section_table(algorithm);
	free(model_buf);
}

static void
test_validation(void)
{
	for (size_t a = 0; a < N_ALGORITHMS; a++)
		validation(algorithms[a]);
}

/*
 * Decodes an NCF model of the given network, encoded by the engine: every
 * section of the size its shape implies and the checksum right, so that
 * only the check of the shape itself can reject it.
 */
static const char *
decode_ncf_shape(const int32_t *sizes, int n_sizes, int factors, int activation, int loss)
{
	rs_model	m = make_model(RS_ALGO_NCF);
	rs_model	d;
	float	   *users,
			   *items,
			   *weights;
	unsigned char *buf;
	size_t		len;
	const char *reason;

	m.factors = factors;
	m.mlp_layers = n_sizes - 1;
	m.mlp_sizes = sizes;
	m.activation = activation;
	m.loss = loss;
	users = calloc((size_t) N_USERS * factors + 1, sizeof(float));
	items = calloc((size_t) N_ITEMS * factors + 1, sizeof(float));
	weights = calloc(ncf_weight_floats(&m) + 1, sizeof(float));
	m.user_factors = users;
	m.item_factors = items;
	m.mlp_weights = weights;
	buf = encode(&m, &len);
	reason = unit_decode(buf, len, &d);
	if (reason == NULL)
		CHECK(d.mlp_layers == n_sizes - 1 && d.ncf_embedding == sizes[0] / 2 &&
			  d.ncf_item_embeddings + (size_t) N_ITEMS * d.ncf_embedding ==
			  d.mlp_weights + ncf_weight_floats(&m), "ncf: decoded parts of a network");
	free(buf);
	free(users);
	free(items);
	free(weights);
	return reason;
}

/*
 * The networks NCF can score, and those it cannot: embeddings of an even
 * width, every width within RS_NCF_MAX_WIDTH, at most RS_NCF_MAX_LAYERS
 * weight layers, one output, factors, ReLU and no loss code.  The accepted
 * shapes show that the rejected ones fail for their shape alone.
 */
static void
test_ncf_shapes(void)
{
	static const int32_t standard[] = {4, 3, 1},
				single[] = {2, 1},
				widest[] = {RS_NCF_MAX_WIDTH, RS_NCF_MAX_WIDTH, 1},
				deepest[RS_NCF_MAX_LAYERS + 1] = {4, 3, 3, 3, 3, 3, 3, 3, 1},
				odd[] = {5, 3, 1},
				no_embeddings[] = {0, 3, 1},
				wide_embeddings[] = {RS_NCF_MAX_WIDTH + 2, 3, 1},
				wide_hidden[] = {4, RS_NCF_MAX_WIDTH + 1, 1},
				two_outputs[] = {4, 3, 2},
				empty_hidden[] = {4, 0, 1},
				no_layer[] = {4},
				too_deep[RS_NCF_MAX_LAYERS + 2] = {4, 3, 3, 3, 3, 3, 3, 3, 3, 1};
	static const struct
	{
		const int32_t *sizes;
		int			n_sizes;
		int			factors;
		int			activation;
		int			loss;
		bool		valid;
		const char *what;
	}			shapes[] = {
		{standard, 3, FACTORS, RS_ACTIVATION_RELU, 0, true, "the standard network"},
		{single, 2, 1, RS_ACTIVATION_RELU, 0, true, "no hidden layer, one factor"},
		{widest, 3, RS_NCF_MAX_WIDTH, RS_ACTIVATION_RELU, 0, true, "the widest network"},
		{deepest, RS_NCF_MAX_LAYERS + 1, FACTORS, RS_ACTIVATION_RELU, 0, true,
		"the deepest network"},
		{odd, 3, FACTORS, RS_ACTIVATION_RELU, 0, false, "odd embeddings"},
		{no_embeddings, 3, FACTORS, RS_ACTIVATION_RELU, 0, false, "no embeddings"},
		{wide_embeddings, 3, FACTORS, RS_ACTIVATION_RELU, 0, false, "embeddings too wide"},
		{wide_hidden, 3, FACTORS, RS_ACTIVATION_RELU, 0, false, "a hidden layer too wide"},
		{two_outputs, 3, FACTORS, RS_ACTIVATION_RELU, 0, false, "two outputs"},
		{empty_hidden, 3, FACTORS, RS_ACTIVATION_RELU, 0, false, "an empty hidden layer"},
		{no_layer, 1, FACTORS, RS_ACTIVATION_RELU, 0, false, "no weight layer"},
		{too_deep, RS_NCF_MAX_LAYERS + 2, FACTORS, RS_ACTIVATION_RELU, 0, false,
		"too many layers"},
		{standard, 3, 0, RS_ACTIVATION_RELU, 0, false, "no factors"},
		{standard, 3, FACTORS, RS_ACTIVATION_TANH, 0, false, "tanh"},
		{standard, 3, FACTORS, RS_ACTIVATION_RELU, 1, false, "a loss code"},
	};

	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
	{
		const char *reason = decode_ncf_shape(shapes[k].sizes, shapes[k].n_sizes,
											  shapes[k].factors, shapes[k].activation,
											  shapes[k].loss);

		if (shapes[k].valid)
			CHECK(reason == NULL, "ncf: %s rejected: %s", shapes[k].what, reason);
		else
			CHECK(reason != NULL, "ncf: %s accepted", shapes[k].what);
	}
}

/*
 * Format version 1, as recsys 0.1 to 0.3 wrote it: the same header with 16
 * section slots (RS_MODEL_V1_HEADER_SIZE bytes), the payload right after.
 */
#define V1_SHIFT (sizeof(rs_model_header) - RS_MODEL_V1_HEADER_SIZE)

/*
 * The version 1 form of a version 2 encoding that uses no later slot: the
 * payload moved 256 bytes earlier, offsets and total size to match, the
 * checksum recomputed.  Sections stay 8-byte aligned, so the padding is the
 * old encoder's.
 */
static unsigned char *
to_v1(const unsigned char *buf, size_t len, size_t *v1_len)
{
	rs_model_header h;
	unsigned char *v1;

	memcpy(&h, buf, sizeof(h));
	for (int s = RS_MODEL_V1_SECTIONS; s < RS_SEC_COUNT; s++)
		CHECK(h.sections[s].offset == 0 && h.sections[s].size == 0,
			  "slot %d used: no version 1 form", s);
	for (int s = 0; s < RS_MODEL_V1_SECTIONS; s++)
		if (h.sections[s].offset != 0)
			h.sections[s].offset -= V1_SHIFT;
	*v1_len = len - V1_SHIFT;
	h.format_version = 1;
	h.header_size = RS_MODEL_V1_HEADER_SIZE;
	h.total_size = *v1_len;
	v1 = malloc(*v1_len);
	memcpy(v1, &h, RS_MODEL_V1_HEADER_SIZE);
	memcpy(v1 + RS_MODEL_V1_HEADER_SIZE, buf + sizeof(rs_model_header),
		   len - sizeof(rs_model_header));
	reseal(v1, *v1_len);
	return v1;
}

/* Two decodings give bit-identical scores for every pair, unknown ids too. */
static void
same_answers(const rs_model *a, const rs_model *b, const char *what)
{
	int			differ = 0;

	for (int32_t u = -1; u < a->n_users; u++)
		for (int32_t i = -1; i < a->n_items; i++)
		{
			double		x = rs_predict(a, u, i),
						y = rs_predict(b, u, i);

			differ += memcmp(&x, &y, sizeof(x)) != 0;
		}
	CHECK(differ == 0, "%s: %d scores differ between versions", what, differ);
}

/* Decodes an exact-size copy, so that nothing past len is readable. */
static const char *
decode_exact(const unsigned char *buf, size_t len, rs_model *d)
{
	unsigned char *copy = aligned_copy(buf, len);
	const char *reason = unit_decode(copy, len, d);

	free(copy);
	return reason;
}

static int	v1_shorter_than_v2_header;

static void
version_1(const rs_model *m, const char *what)
{
	size_t		len,
				v1_len;
	unsigned char *buf = encode_as(m, &len, 2);
	unsigned char *v1 = to_v1(buf, len, &v1_len);
	unsigned char *c;
	rs_model	d1,
				d2;
	rs_model_header h;
	const char *reason;
	int			accepted;

	check_round_trip(m, v1, v1_len, 1);
	reason = unit_decode(v1, v1_len, &d1);
	if (CHECK(reason == NULL, "%s: version 1 rejected: %s", what, reason) &&
		CHECK(unit_decode(buf, len, &d2) == NULL, "%s: version 2 rejected", what))
	{
		/* the same fields, and every array 256 bytes earlier */
		CHECK(d1.algorithm == d2.algorithm &&
			  memcmp(d1.model_id, d2.model_id, RS_MODEL_ID_BYTES) == 0 &&
			  d1.n_users == d2.n_users && d1.n_items == d2.n_items &&
			  d1.n_interactions == d2.n_interactions && d1.factors == d2.factors &&
			  memcmp(&d1.global_mean, &d2.global_mean, sizeof(double)) == 0 &&
			  memcmp(&d1.new_user_bias, &d2.new_user_bias, sizeof(double)) == 0 &&
			  memcmp(&d1.new_item_bias, &d2.new_item_bias, sizeof(double)) == 0 &&
			  memcmp(&d1.params, &d2.params, sizeof(rs_model_params)) == 0 &&
			  d1.info_size == d2.info_size && d1.mlp_layers == d2.mlp_layers &&
			  d1.activation == d2.activation && d1.loss == d2.loss &&
			  d1.ncf_embedding == d2.ncf_embedding,
			  "%s: versions 1 and 2 decode to different fields", what);
#define SAME_PLACE(field) \
		CHECK(d1.field == NULL ? d2.field == NULL : \
			  d2.field != NULL && (const unsigned char *) d1.field - v1 + (ptrdiff_t) V1_SHIFT == \
			  (const unsigned char *) d2.field - buf, \
			  "%s: version 1 %s is not 256 bytes before version 2's", what, #field)
		SAME_PLACE(user_ids);
		SAME_PLACE(item_ids);
		SAME_PLACE(user_factors);
		SAME_PLACE(item_factors);
		SAME_PLACE(user_bias);
		SAME_PLACE(item_bias);
		SAME_PLACE(seen_ptr);
		SAME_PLACE(seen_items);
		SAME_PLACE(seen_values);
		SAME_PLACE(item_gram);
		SAME_PLACE(item_popularity);
		SAME_PLACE(info);
		SAME_PLACE(mlp_sizes);
		SAME_PLACE(mlp_weights);
		SAME_PLACE(feature_mean);
		SAME_PLACE(feature_scale);
		SAME_PLACE(ncf_output_gmf);
		SAME_PLACE(ncf_user_embeddings);
		SAME_PLACE(ncf_item_embeddings);
		SAME_PLACE(neighbor_ptr);
		SAME_PLACE(neighbor_items);
		SAME_PLACE(neighbor_weights);
		SAME_PLACE(item_matrix);
#undef SAME_PLACE
		same_answers(&d1, &d2, what);
	}

	/* an exact-size buffer, which may be shorter than a version 2 header */
	CHECK(decode_exact(v1, v1_len, &d1) == NULL, "%s: exact-size version 1 (%zu bytes) rejected",
		  what, v1_len);
	v1_shorter_than_v2_header += v1_len < sizeof(rs_model_header);

	reason = rs_model_read_identity(v1, RS_MODEL_IDENTITY_SIZE, &h);
	CHECK(reason == NULL && h.format_version == 1 && h.total_size == v1_len &&
		  h.payload_crc == stored_checksum(v1, v1_len),
		  "%s: identity of version 1: %s", what, reason ? reason : "wrong fields");

	/* every truncation, and every single-byte change of the 16-slot header */
	accepted = 0;
	for (size_t n = 0; n < v1_len; n++)
		accepted += decode_exact(v1, n, &d1) == NULL;
	CHECK(accepted == 0, "%s: %d truncations of version 1 accepted", what, accepted);
	accepted = 0;
	c = malloc(v1_len);
	for (size_t off = 0; off < RS_MODEL_V1_HEADER_SIZE; off++)
		for (size_t p = 0; p < sizeof(flips); p++)
		{
			memcpy(c, v1, v1_len);
			c[off] ^= flips[p];
			accepted += unit_decode(c, v1_len, &d1) == NULL;
		}
	CHECK(accepted == 0, "%s: %d byte flips of the version 1 header accepted", what, accepted);

	/* version 1 with the header size of version 2, or of neither */
	{
		static const uint32_t sizes[] = {
			sizeof(rs_model_header), RS_MODEL_V1_HEADER_SIZE - 16, RS_MODEL_V1_HEADER_SIZE + 16
		};

		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		{
			memcpy(c, v1, v1_len);
			memcpy(c + offsetof(rs_model_header, header_size), &sizes[k], 4);
			reseal(c, v1_len);
			CHECK(unit_decode(c, v1_len, &d1) != NULL,
				  "%s: version 1 with a header of %u bytes accepted", what, (unsigned) sizes[k]);
		}
	}
	free(c);
	free(v1);
	free(buf);
}

/*
 * Version 1 has no slot for the item-model sections: in a version 1 model
 * whose payload starts where version 2's does, the bytes of the later slots
 * are payload, unread, however much they look like a section.
 */
static void
no_v1_slot(rs_algorithm algorithm)
{
	rs_model	m = make_model(algorithm);
	const char *name = rs_algorithm_name(algorithm);
	size_t		len;
	unsigned char *buf = encode_as(&m, &len, 2);
	rs_section_ref factors = section_ref(buf, RS_SEC_ITEM_FACTORS);
	uint64_t	matrix = (uint64_t) N_ITEMS * N_ITEMS * 4;
	uint16_t	version = 1;
	uint32_t	header_size = RS_MODEL_V1_HEADER_SIZE;
	rs_model	d;
	const char *reason;

	if (!CHECK(factors.offset + matrix <= len, "%s: no room for the matrix", name))
		return;
	set_section(buf, RS_SEC_ITEM_MATRIX, factors.offset, matrix);
	reseal(buf, len);
	CHECK(unit_decode(buf, len, &d) != NULL,
		  "%s: version 2 with an item matrix it does not use accepted", name);

	memcpy(buf + offsetof(rs_model_header, format_version), &version, sizeof(version));
	memcpy(buf + offsetof(rs_model_header, header_size), &header_size, sizeof(header_size));
	reseal(buf, len);
	reason = unit_decode(buf, len, &d);
	if (CHECK(reason == NULL, "%s: version 1 with bytes past its header rejected: %s", name,
			  reason))
		CHECK(d.format_version == 1 && d.item_matrix == NULL && d.neighbor_ptr == NULL,
			  "%s: version 1 read a slot past its 16th", name);
	free(buf);
}

static void
test_version_1(void)
{
	for (size_t a = 0; a < N_ALGORITHMS; a++)
	{
		rs_model	m = make_model(algorithms[a]);
		rs_model	e = empty_model(&m);
		char		what[64];

		version_1(&m, rs_algorithm_name(algorithms[a]));
		snprintf(what, sizeof(what), "%s without users or items",
				 rs_algorithm_name(algorithms[a]));
		version_1(&e, what);
		no_v1_slot(algorithms[a]);
	}
	CHECK(v1_shorter_than_v2_header > 0, "no version 1 model shorter than a version 2 header");
	/* the identity of any other version is refused */
	for (int v = 0; v < 8; v++)
	{
		unsigned char head[RS_MODEL_IDENTITY_SIZE] = {
			'R', 'S', 'S', 'M', (unsigned char) v, 0, RS_ALGO_BPR, 0
		};
		rs_model_header h;
		bool		known = v >= 1 && v <= 3;

		CHECK((rs_model_read_identity(head, sizeof(head), &h) == NULL) == known,
			  "identity of format version %d %s", v, known ? "refused" : "accepted");
	}
}

/*
 * The item-model sections, laid out by hand after an otherwise empty header
 * and checked by rs_model_check_neighbors, which decoding calls: a CSR of
 * each item's neighbours (ascending, never the item itself) with weights,
 * and a dense item-item matrix.
 */
#define NB_ITEMS 6
#define NB_COUNT 9
#define ABSENT UINT64_MAX

typedef struct neighbor_case
{
	int32_t		n_items;
	uint64_t	ptr[NB_ITEMS + 2];	/* room for one entry too many */
	int32_t		items[NB_COUNT + 2];
	float		weights[NB_COUNT + 2];
	float		matrix[NB_ITEMS * NB_ITEMS + 2];
	uint64_t	size[4];		/* bytes per section from RS_SEC_NEIGHBOR_PTR, or ABSENT */
} neighbor_case;

/* item 1 has no neighbours; a row may start below the previous one's end */
static neighbor_case
valid_neighbors(void)
{
	static const uint64_t ptr[NB_ITEMS + 1] = {0, 2, 2, 5, 6, 8, 9};
	static const int32_t items[NB_COUNT] = {1, 5, 0, 1, 4, 2, 0, 5, 4};
	static const float weights[NB_COUNT] = {
		0.5f, -0.25f, 1.0f, 0.0f, 3.0f, -1e-30f, 1e30f, 0.125f, 2.0f
	};
	neighbor_case c;

	memset(&c, 0, sizeof(c));
	c.n_items = NB_ITEMS;
	memcpy(c.ptr, ptr, sizeof(ptr));
	memcpy(c.items, items, sizeof(items));
	memcpy(c.weights, weights, sizeof(weights));
	for (int k = 0; k < NB_ITEMS * NB_ITEMS; k++)
		c.matrix[k] = (float) (k % 7) - 2.5f;
	c.size[0] = sizeof(ptr);
	c.size[1] = sizeof(items);
	c.size[2] = sizeof(weights);
	c.size[3] = NB_ITEMS * NB_ITEMS * sizeof(float);
	return c;
}

/*
 * Lays the case out in *buf (header, then the sections present), of just
 * the size needed, and checks it.
 */
static const char *
check_neighbor_case(const neighbor_case *c, rs_model *d, unsigned char **buf,
					rs_model_header *h)
{
	const void *src[4] = {c->ptr, c->items, c->weights, c->matrix};
	size_t		pos = sizeof(rs_model_header);

	for (int k = 0; k < 4; k++)
		if (c->size[k] != ABSENT)
			pos += (c->size[k] + 7) / 8 * 8;
	*buf = calloc(pos, 1);
	pos = sizeof(rs_model_header);
	memset(h, 0, sizeof(*h));
	h->magic = RS_MODEL_MAGIC;
	h->format_version = RS_MODEL_FORMAT_VERSION;
	h->header_size = sizeof(rs_model_header);
	h->n_items = c->n_items;
	for (int k = 0; k < 4; k++)
	{
		if (c->size[k] == ABSENT)
			continue;
		h->sections[RS_SEC_NEIGHBOR_PTR + k].offset = pos;
		h->sections[RS_SEC_NEIGHBOR_PTR + k].size = c->size[k];
		memcpy(*buf + pos, src[k], c->size[k]);
		pos = (pos + c->size[k] + 7) / 8 * 8;
	}
	h->total_size = pos;
	memcpy(*buf, h, sizeof(*h));
	memset(d, 0xA5, sizeof(*d));
	return rs_model_check_neighbors(h, *buf, d);
}

static void
expect_neighbors(const neighbor_case *c, bool valid, const char *what)
{
	unsigned char *buf;
	rs_model_header h;
	rs_model	d;
	const char *reason = check_neighbor_case(c, &d, &buf, &h);

	if (valid)
		CHECK(reason == NULL, "neighbours: %s rejected: %s", what, reason);
	else
		CHECK(reason != NULL, "neighbours: %s accepted", what);
	free(buf);
}

static void
test_neighbors(void)
{
	neighbor_case c = valid_neighbors();
	unsigned char *buf;
	rs_model_header h;
	rs_model	d;
	const char *reason;

	/* the sections round-trip: each decodes to its bytes, where they lie */
	reason = check_neighbor_case(&c, &d, &buf, &h);
	if (CHECK(reason == NULL, "neighbours: the valid case rejected: %s", reason))
	{
		const void *got[4] = {d.neighbor_ptr, d.neighbor_items, d.neighbor_weights,
		d.item_matrix};
		const void *want[4] = {c.ptr, c.items, c.weights, c.matrix};

		for (int k = 0; k < 4; k++)
		{
			rs_section_ref ref = h.sections[RS_SEC_NEIGHBOR_PTR + k];

			CHECK(got[k] == (const void *) (buf + ref.offset) &&
				  memcmp(got[k], want[k], c.size[k]) == 0,
				  "neighbours: section %d does not round-trip", RS_SEC_NEIGHBOR_PTR + k);
		}
	}
	free(buf);

	/* a model without them: every pointer NULL */
	{
		neighbor_case none = c;

		for (int k = 0; k < 4; k++)
			none.size[k] = ABSENT;
		reason = check_neighbor_case(&none, &d, &buf, &h);
		CHECK(reason == NULL && d.neighbor_ptr == NULL && d.neighbor_items == NULL &&
			  d.neighbor_weights == NULL && d.item_matrix == NULL,
			  "neighbours: a model without them: %s", reason ? reason : "pointers set");
		free(buf);
	}

	/* what may stand alone, and what may be empty */
	{
		neighbor_case k = valid_neighbors();

		k.size[3] = ABSENT;
		expect_neighbors(&k, true, "neighbours without a matrix");
		k = valid_neighbors();
		k.size[0] = k.size[1] = k.size[2] = ABSENT;
		expect_neighbors(&k, true, "a matrix without neighbours");
		k = valid_neighbors();
		memset(k.ptr, 0, sizeof(k.ptr));
		k.size[1] = k.size[2] = 0;
		reason = check_neighbor_case(&k, &d, &buf, &h);
		CHECK(reason == NULL && d.neighbor_ptr != NULL && d.neighbor_items == NULL,
			  "neighbours: no item with a neighbour: %s", reason ? reason : "pointers");
		free(buf);
		k = valid_neighbors();
		k.n_items = 0;
		k.size[0] = 8;
		k.size[1] = k.size[2] = k.size[3] = 0;
		k.ptr[0] = 0;
		expect_neighbors(&k, true, "no items");
	}

	/* each rule broken on its own */
	{
		static const struct
		{
			int			section;	/* 0..3 from RS_SEC_NEIGHBOR_PTR; -1 none */
			int64_t		size_change;
			int			ptr_at;
			uint64_t	ptr_value;
			int			item_at;
			int32_t		item_value;
			int			weight_at;
			float		weight_value;
			const char *what;
		}			broken[] = {
			{0, -8, -1, 0, -1, 0, -1, 0, "neighbor_ptr one entry short"},
			{0, 8, -1, 0, -1, 0, -1, 0, "neighbor_ptr one entry long"},
			{0, -4, -1, 0, -1, 0, -1, 0, "neighbor_ptr of half an entry short"},
			{-1, 0, 0, 1, -1, 0, -1, 0, "neighbor_ptr not starting at 0"},
			{-1, 0, 2, 1, -1, 0, -1, 0, "neighbor_ptr going backwards"},
			{-1, 0, 3, 1000, -1, 0, -1, 0, "neighbor_ptr pointing past the neighbours"},
			{-1, 0, 3, UINT64_MAX, -1, 0, -1, 0, "neighbor_ptr of 2^64 - 1"},
			{-1, 0, NB_ITEMS, NB_COUNT - 1, -1, 0, -1, 0, "neighbor_ptr ending one short"},
			{-1, 0, NB_ITEMS, NB_COUNT + 1, -1, 0, -1, 0, "neighbor_ptr ending one past"},
			{1, -4, -1, 0, -1, 0, -1, 0, "neighbour items one short of neighbor_ptr"},
			{1, 4, -1, 0, -1, 0, -1, 0, "neighbour items one more than neighbor_ptr"},
			{1, -2, -1, 0, -1, 0, -1, 0, "neighbour items of no whole number of items"},
			{2, -4, -1, 0, -1, 0, -1, 0, "neighbour weights one short of neighbor_ptr"},
			{2, 4, -1, 0, -1, 0, -1, 0, "neighbour weights one more than neighbor_ptr"},
			{2, 2, -1, 0, -1, 0, -1, 0, "neighbour weights of no whole number of weights"},
			{-1, 0, -1, 0, 0, -1, -1, 0, "a negative neighbour"},
			{-1, 0, -1, 0, 8, NB_ITEMS, -1, 0, "a neighbour past the last item"},
			{-1, 0, -1, 0, 1, INT32_MAX, -1, 0, "a neighbour of INT32_MAX"},
			{-1, 0, -1, 0, 0, 0, -1, 0, "item 0 its own neighbour"},
			{-1, 0, -1, 0, 8, 5, -1, 0, "the last item its own neighbour"},
			{-1, 0, -1, 0, 3, 0, -1, 0, "a neighbour repeated"},
			{-1, 0, -1, 0, 2, 3, -1, 0, "neighbours out of order"},
			{-1, 0, -1, 0, -1, 0, 0, NAN, "a NaN weight"},
			{-1, 0, -1, 0, -1, 0, 4, INFINITY, "an infinite weight"},
			{-1, 0, -1, 0, -1, 0, NB_COUNT - 1, -INFINITY, "the last weight -infinity"},
			{3, -4, -1, 0, -1, 0, -1, 0, "an item matrix one float short"},
			{3, 4, -1, 0, -1, 0, -1, 0, "an item matrix one float long"},
			{3, -(int64_t) (NB_ITEMS * NB_ITEMS * 4), -1, 0, -1, 0, -1, 0,
			"an empty item matrix"},
		};

		for (size_t k = 0; k < sizeof(broken) / sizeof(broken[0]); k++)
		{
			neighbor_case b = valid_neighbors();

			if (broken[k].section >= 0)
				b.size[broken[k].section] += broken[k].size_change;
			if (broken[k].ptr_at >= 0)
				b.ptr[broken[k].ptr_at] = broken[k].ptr_value;
			if (broken[k].item_at >= 0)
				b.items[broken[k].item_at] = broken[k].item_value;
			if (broken[k].weight_at >= 0)
				b.weights[broken[k].weight_at] = broken[k].weight_value;
			expect_neighbors(&b, false, broken[k].what);
		}
	}

	/*
	 * neighbor_ptr going backwards over rows that are each, as read, sorted
	 * sets of other items: rows 0 and 2 share item 3, row 1 runs from 2 to 1
	 */
	{
		neighbor_case b;

		memset(&b, 0, sizeof(b));
		b.n_items = 5;
		b.ptr[0] = 0;
		b.ptr[1] = 2;
		b.ptr[2] = 1;
		b.ptr[3] = b.ptr[4] = b.ptr[5] = 3;
		b.items[0] = 1;
		b.items[1] = 3;
		b.items[2] = 4;
		b.size[0] = 6 * 8;
		b.size[1] = b.size[2] = 3 * 4;
		b.size[3] = ABSENT;
		expect_neighbors(&b, false, "neighbor_ptr going backwards alone");
		b.ptr[2] = 2;
		b.items[1] = 2;
		b.items[2] = 3;
		expect_neighbors(&b, true, "that index put right");
	}

	/* the three neighbour sections come together, even with no neighbour */
	for (int k = 0; k < 3; k++)
		for (int empty = 0; empty < 2; empty++)
		{
			neighbor_case b = valid_neighbors();
			char		what[80];

			if (empty)
			{
				memset(b.ptr, 0, sizeof(b.ptr));
				b.size[1] = b.size[2] = 0;
			}
			b.size[k] = ABSENT;
			snprintf(what, sizeof(what), "%sneighbours without section %d",
					 empty ? "empty " : "", RS_SEC_NEIGHBOR_PTR + k);
			expect_neighbors(&b, false, what);
		}

	/*
	 * The matrix size for 2^31 - 1 items, in 64 bits: the check compares
	 * sizes only, so a header may claim it without the bytes behind it.
	 */
	{
		rs_model_header big;

		memset(&big, 0, sizeof(big));
		big.n_items = INT32_MAX;
		big.sections[RS_SEC_ITEM_MATRIX].offset = sizeof(big);
		big.sections[RS_SEC_ITEM_MATRIX].size = (uint64_t) INT32_MAX * INT32_MAX * 4;
		CHECK(rs_model_check_neighbors(&big, &big, &d) == NULL,
			  "neighbours: the matrix size of INT32_MAX items");
		big.sections[RS_SEC_ITEM_MATRIX].size = ((uint64_t) INT32_MAX * INT32_MAX * 4) & UINT32_MAX;
		CHECK(rs_model_check_neighbors(&big, &big, &d) != NULL,
			  "neighbours: the matrix size of INT32_MAX items, cut to 32 bits");
	}
}

/*
 * The size known before training is a true lower bound, and for ALS models
 * (whose only free section is the description) all of it but that.
 */
static void
test_size_at_least(void)
{
	for (size_t a = 0; a < N_ALGORITHMS; a++)
	{
		rs_model	m = make_model(algorithms[a]);
		const rs_kind *k = rs_kind_of(algorithms[a]);
		rs_history_size none = {0, 0},
					history = m.seen_ptr ? rs_history_measure(m.seen_ptr, m.seen_items, m.seen_values,
															  m.n_users) : none;
		uint64_t	len = rs_model_encoded_size(&m),
					bound = rs_model_size_at_least(k, (uint64_t) m.n_users, (uint64_t) m.n_items,
												   history, (uint64_t) m.factors);

		CHECK(bound <= len, "%s: %llu bytes at least, %llu encoded", k->name,
			  (unsigned long long) bound, (unsigned long long) len);
		if (algorithms[a] == RS_ALGO_ALS_EXPLICIT || algorithms[a] == RS_ALGO_ALS_IMPLICIT)
			CHECK(len - bound <= m.info_size + 8, "%s: %llu bytes at least, %llu encoded",
				  k->name, (unsigned long long) bound, (unsigned long long) len);
	}
	/* a billion users of 1,024 factors: far beyond any limit, without overflow */
	CHECK(rs_model_size_at_least(rs_kind_of(RS_ALGO_ALS_IMPLICIT), 1u << 30, 1u << 30,
								 (rs_history_size) {UINT64_MAX / 4, UINT64_MAX / 4}, 1024) == UINT64_MAX,
		  "overflow");
	CHECK(rs_model_size_at_least(rs_kind_of(RS_ALGO_BPR), 1000000, 100000,
								 (rs_history_size) {0, 0}, 64) >
		  (uint64_t) 1100000 * 64 * 4, "a million users of 64 factors");
}

/*
 * The compact history (format version 3) on histories of every shape: gaps
 * of every varint length, empty users, values all equal (stored once) or
 * not; it expands to the plain arrays, and takes the bytes it should.
 */
static void
test_compact_history(void)
{
	enum
	{
		USERS = 40, ITEMS = 300000000
	};
	uint64_t	ptr[USERS + 1];
	int32_t    *items = malloc(sizeof(int32_t) * USERS * 12);
	float	   *values = malloc(sizeof(float) * USERS * 12);
	rs_random	rng = {11};
	size_t		n = 0;

	ptr[0] = 0;
	for (int u = 0; u < USERS; u++)
	{
		int64_t		item = -1;

		for (int k = 0; k < u % 12; k++)
		{
			/* gaps of 1 to 30 bits: varints of 1 to 5 bytes */
			uint64_t	gap = rs_random_next(&rng) >> (64 - 1 - (k * 7 + u) % 30);

			if (item + 1 + (int64_t) gap >= ITEMS)
				break;
			item += 1 + (int64_t) gap;
			items[n++] = (int32_t) item;
		}
		ptr[u + 1] = n;
	}
	for (int constant = 0; constant < 2; constant++)
	{
		rs_model	m = {0};
		unsigned char *buf;
		rs_history_size size;
		const char *reason;

		for (size_t k = 0; k < n; k++)
			values[k] = constant ? 1.0f : (float) (k % 5);
		m.n_users = USERS;
		m.seen_ptr = ptr;
		m.seen_items = items;
		m.seen_values = values;
		size = rs_history_measure(ptr, items, values, USERS);
		CHECK(size.items == coded_bytes(&m), "compact history: %llu coded bytes, want %zu",
			  (unsigned long long) size.items, coded_bytes(&m));
		CHECK(size.values == (constant ? 4 : 4 * n), "compact history: %llu value bytes",
			  (unsigned long long) size.values);
		buf = malloc(size.items);
		rs_history_encode(ptr, items, USERS, buf);
		reason = rs_history_check(ptr, USERS, ITEMS, buf, size.items);
		CHECK(reason == NULL, "compact history rejected: %s", reason);
		CHECK(rs_history_check(ptr, USERS, items[n - 1], buf, size.items) != NULL,
			  "compact history: an item past the catalogue accepted");
		CHECK(rs_history_check(ptr, USERS, ITEMS, buf, size.items - 1) != NULL,
			  "compact history: a byte short accepted");
		{
			int32_t    *back = malloc(sizeof(int32_t) * n);

			rs_history_decode(ptr, USERS, buf, back);
			CHECK(memcmp(back, items, sizeof(int32_t) * n) == 0,
				  "compact history: decoding gives other items");
			free(back);
		}
		free(buf);
	}
	/* a model whose values are all equal stores one, and decodes them all */
	{
		rs_model	m = make_model(RS_ALGO_ALS_IMPLICIT),
					d;
		float		ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
		size_t		len;
		unsigned char *buf;

		m.seen_values = ones;
		buf = encode(&m, &len);
		CHECK(section_ref(buf, RS_SEC_SEEN_VALUES).size == 4,
			  "equal values: %llu bytes stored, want 4",
			  (unsigned long long) section_ref(buf, RS_SEC_SEEN_VALUES).size);
		CHECK(len == expected_encoded_size(&m, RS_MODEL_FORMAT_VERSION),
			  "equal values: %zu bytes, want %zu", len,
			  expected_encoded_size(&m, RS_MODEL_FORMAT_VERSION));
		check_round_trip(&m, buf, len, RS_MODEL_FORMAT_VERSION);
		CHECK(unit_decode(buf, len, &d) == NULL && rs_model_history_expansion(&d) == 0 &&
			  d.seen_constant != NULL && *d.seen_constant == 1.0f,
			  "equal values: not decoded as one value");
		free(buf);
	}
	free(items);
	free(values);
}

int
main(void)
{
	test_id_lookup();
	test_crc32c();
	test_round_trip();
	test_identity();
	test_lengths_and_alignment();
	test_byte_flips();
	test_validation();
	test_ncf_shapes();
	test_version_1();
	test_neighbors();
	test_size_at_least();
	test_compact_history();
	return unit_done();
}
