/*
 * model_codec.c - encoding, validation and decoding of the model format:
 * the generic part, every kind's sections as its entry lists them
 * (kind.h); a kind checks its own sections' contents.
 */
#include "model.h"

#include "crc32c.h"
#include "history_codec.h"
#include "interactions.h"
#include "kind.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

_Static_assert(sizeof(rs_model_header) == 112 + 16 * RS_SEC_COUNT, "header layout");
_Static_assert(RS_MODEL_IDENTITY_SIZE == __builtin_offsetof(rs_model_header, header_size),
			   "identity size");
_Static_assert(RS_MODEL_V1_HEADER_SIZE ==
			   __builtin_offsetof(rs_model_header, sections) +
			   sizeof(rs_section_ref) * RS_MODEL_V1_SECTIONS, "version 1 header layout");
_Static_assert(RS_SEC_SEQUENCE_ITEMS < RS_SEC_COUNT && RS_SEC_COUNT <= 32,
			   "sections fit the header and a uint32_t mask");

#define ALIGN8(x) (((x) + 7) & ~(uint64_t) 7)
#define BIT RS_SECTION_BIT

const char *
rs_algorithm_name(rs_algorithm algorithm)
{
	const rs_kind *kind = rs_kind_of(algorithm);

	return kind ? kind->name : "unknown";
}

static const void *
section_source(const rs_model *m, rs_section s)
{
	switch (s)
	{
		case RS_SEC_USER_IDS:
			return m->user_ids;
		case RS_SEC_ITEM_IDS:
			return m->item_ids;
		case RS_SEC_USER_FACTORS:
			return m->user_factors;
		case RS_SEC_ITEM_FACTORS:
			return m->item_factors;
		case RS_SEC_USER_BIAS:
			return m->user_bias;
		case RS_SEC_ITEM_BIAS:
			return m->item_bias;
		case RS_SEC_SEEN_PTR:
			return m->seen_ptr;
		case RS_SEC_SEEN_ITEMS:
			return m->seen_items;
		case RS_SEC_INFO:
			return m->info;
		case RS_SEC_SEEN_VALUES:
			return m->seen_values;
		case RS_SEC_ITEM_GRAM:
			return m->item_gram;
		case RS_SEC_ITEM_POPULARITY:
			return m->item_popularity;
		case RS_SEC_MLP_SIZES:
			return m->mlp_sizes;
		case RS_SEC_MLP_WEIGHTS:
			return m->mlp_weights;
		case RS_SEC_FEATURE_MEAN:
			return m->feature_mean;
		case RS_SEC_FEATURE_SCALE:
			return m->feature_scale;
		case RS_SEC_NEIGHBOR_PTR:
			return m->neighbor_ptr;
		case RS_SEC_NEIGHBOR_ITEMS:
			return m->neighbor_items;
		case RS_SEC_NEIGHBOR_WEIGHTS:
			return m->neighbor_weights;
		case RS_SEC_ITEM_MATRIX:
			return m->item_matrix;
		case RS_SEC_USER_TAG_PTR:
			return m->user_tags.ptr;
		case RS_SEC_USER_TAGS:
			return m->user_tags.tags;
		case RS_SEC_ITEM_TAG_PTR:
			return m->item_tags.ptr;
		case RS_SEC_ITEM_TAGS:
			return m->item_tags.tags;
		case RS_SEC_USER_TAG_NAMES:
			return m->user_tags.name_offsets;
		case RS_SEC_ITEM_TAG_NAMES:
			return m->item_tags.name_offsets;
		case RS_SEC_USER_TAG_VECTORS:
			return m->user_tag_vectors;
		case RS_SEC_ITEM_TAG_VECTORS:
			return m->item_tag_vectors;
		case RS_SEC_SEQUENCE_PTR:
			return m->sequence_ptr;
		case RS_SEC_SEQUENCE_ITEMS:
			return m->sequence_items;
		default:
			return NULL;
	}
}

/*
 * The size a section must have given the shape, or UINT64_MAX for sections
 * whose size is free (seen items, neighbours, info): those are checked
 * separately.  Items are below 2^31, so not even items^2 * 4 overflows.
 */
static uint64_t
expected_size(rs_section s, uint64_t users, uint64_t items, uint64_t factors)
{
	switch (s)
	{
		case RS_SEC_USER_IDS:
			return users * 8;
		case RS_SEC_ITEM_IDS:
			return items * 8;
		case RS_SEC_USER_FACTORS:
			return users * factors * 4;
		case RS_SEC_ITEM_FACTORS:
			return items * factors * 4;
		case RS_SEC_USER_BIAS:
			return users * 4;
		case RS_SEC_ITEM_BIAS:
			return items * 4;
		case RS_SEC_SEEN_PTR:
		case RS_SEC_SEQUENCE_PTR:
			return (users + 1) * 8;
		case RS_SEC_ITEM_GRAM:
			return factors * factors * 4;
		case RS_SEC_ITEM_POPULARITY:
			return items * 4;
		case RS_SEC_NEIGHBOR_PTR:
			return (items + 1) * 8;
		case RS_SEC_ITEM_MATRIX:
			return items * items * 4;
		default:
			return UINT64_MAX;
	}
}

/* A hybrid model's tag sections (model.h) as they are to be written. */
static uint64_t
tag_section_size(const rs_model *m, rs_section s)
{
	bool		users = s == RS_SEC_USER_TAG_PTR || s == RS_SEC_USER_TAGS ||
		s == RS_SEC_USER_TAG_NAMES || s == RS_SEC_USER_TAG_VECTORS;
	const rs_tag_table *t = users ? &m->user_tags : &m->item_tags;
	uint64_t	rows = (uint64_t) (users ? m->n_users : m->n_items);

	switch (s)
	{
		case RS_SEC_USER_TAG_PTR:
		case RS_SEC_ITEM_TAG_PTR:
			return t->ptr ? (rows + 1) * 8 : 0;
		case RS_SEC_USER_TAGS:
		case RS_SEC_ITEM_TAGS:
			return t->ptr ? t->ptr[rows] * 4 : 0;
		case RS_SEC_USER_TAG_NAMES:
		case RS_SEC_ITEM_TAG_NAMES:
			return ((uint64_t) t->n_tags + 1) * 8 + t->name_offsets[t->n_tags];
		default:
			return (uint64_t) t->n_tags * ((uint64_t) m->factors + 1) * 4;
	}
}

/* A dictionary's section: its offsets, then the names they point into. */
static void
write_tag_names(const rs_tag_table *t, unsigned char *out)
{
	uint64_t	offsets_size = ((uint64_t) t->n_tags + 1) * 8;

	memcpy(out, t->name_offsets, offsets_size);
	if (t->name_offsets[t->n_tags] > 0)
		memcpy(out + offsets_size, t->names, t->name_offsets[t->n_tags]);
}

/*
 * The size of a section to write; coded is the training history's compact
 * size (format version 3), or NULL to write it plainly (version 2).
 */
static uint64_t
source_size(const rs_model *m, rs_section s, const rs_history_size *coded)
{
	if (coded && s == RS_SEC_SEEN_ITEMS)
		return coded->items;
	if (coded && s == RS_SEC_SEEN_VALUES)
		return coded->values;
	if (s == RS_SEC_MLP_SIZES)
		return ((uint64_t) m->mlp_layers + 1) * 4;
	if (s == RS_SEC_MLP_WEIGHTS)
		return rs_kind_of(m->algorithm)->network_floats(m) * 4;
	if (s == RS_SEC_FEATURE_MEAN || s == RS_SEC_FEATURE_SCALE)
		return (uint64_t) m->mlp_sizes[0] * 4;
	if (s == RS_SEC_SEEN_ITEMS || s == RS_SEC_SEEN_VALUES)
		return m->seen_ptr ? m->seen_ptr[m->n_users] * 4 : 0;
	if (s == RS_SEC_NEIGHBOR_ITEMS || s == RS_SEC_NEIGHBOR_WEIGHTS)
		return m->neighbor_ptr ? m->neighbor_ptr[m->n_items] * 4 : 0;
	if (s == RS_SEC_INFO)
		return m->info_size;
	if (s == RS_SEC_SEQUENCE_ITEMS)
		return m->sequence_ptr ? m->sequence_ptr[m->n_users] * 4 : 0;
	if (s >= RS_SEC_USER_TAG_PTR && s <= RS_SEC_ITEM_TAG_VECTORS)
		return tag_section_size(m, s);
	return expected_size(s, (uint64_t) m->n_users, (uint64_t) m->n_items,
						 (uint64_t) m->factors);
}

/* Every pointer field of rs_model (model.h): rs_model_rebase moves them all. */
#define MODEL_POINTERS(X) \
	X(user_ids) X(item_ids) X(user_factors) X(item_factors) X(user_bias) X(item_bias) \
	X(seen_ptr) X(seen_items) X(seen_values) X(seen_coded) X(seen_constant) \
	X(item_gram) X(item_popularity) X(info) X(mlp_sizes) X(mlp_weights) \
	X(feature_mean) X(feature_scale) X(ncf_output_gmf) X(ncf_user_embeddings) \
	X(ncf_item_embeddings) X(neighbor_ptr) X(neighbor_items) X(neighbor_weights) \
	X(item_matrix) X(user_tags.name_offsets) X(user_tags.names) X(user_tags.ptr) \
	X(user_tags.tags) X(item_tags.name_offsets) X(item_tags.names) X(item_tags.ptr) \
	X(item_tags.tags) X(user_tag_vectors) X(item_tag_vectors) \
	X(sequence_ptr) X(sequence_items)

void
rs_model_rebase(rs_model *m, const void *from, size_t len, const void *to)
{
	uintptr_t	start = (uintptr_t) from;

#define REBASE(field) \
	if (m->field != NULL && (uintptr_t) m->field - start < len) \
		m->field = (const void *) ((uintptr_t) to + ((uintptr_t) m->field - start));
	MODEL_POINTERS(REBASE)
#undef REBASE
}

void
rs_model_drop_users(rs_model *m)
{
	static const uint64_t no_history[1] = {0};

	m->n_users = 0;
	m->user_ids = NULL;
	m->user_factors = NULL;
	m->user_bias = NULL;
	m->seen_ptr = no_history;
	m->seen_items = NULL;
	m->seen_values = NULL;
	m->user_tags.n_rows = 0;
	m->user_tags.ptr = NULL;
	m->user_tags.tags = NULL;
}

uint64_t
rs_model_size_at_least(const rs_kind *kind, uint64_t users, uint64_t items,
					   rs_history_size history, uint64_t factors)
{
	uint64_t	total = sizeof(rs_model_header);

	if (users >= INT32_MAX || items >= INT32_MAX || factors > RS_MODEL_MAX_FACTORS)
		return UINT64_MAX;
	for (int s = 0; s < RS_SEC_COUNT; s++)
	{
		uint64_t	size = expected_size(s, users, items, factors);

		if (!(kind->required_sections & BIT(s)))
			continue;
		if (s == RS_SEC_SEEN_ITEMS || s == RS_SEC_SEEN_VALUES)
			size = s == RS_SEC_SEEN_ITEMS ? history.items : history.values;
		else if (size == UINT64_MAX)
			continue;
		if (size > UINT64_MAX / 2 - total)
			return UINT64_MAX;
		total = ALIGN8(total) + size;
	}
	return ALIGN8(total);
}

static bool
section_wanted(const rs_model *m, rs_section s)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);

	return (kind->required_sections & BIT(s)) != 0 ||
		((kind->optional_sections & BIT(s)) != 0 && section_source(m, s) != NULL);
}

/* CRC-32C of every byte but the checksum field itself. */
static uint32_t
model_checksum(const unsigned char *bytes, size_t len)
{
	size_t		crc_at = __builtin_offsetof(rs_model_header, payload_crc);
	size_t		after = crc_at + sizeof(uint32_t);

	return rs_crc32c_two(bytes, crc_at, bytes + after, len - after);
}

/* The compact history's size, for a version that has one; else NULL. */
static const rs_history_size *
coded_history(const rs_model *m, int version, rs_history_size *size)
{
	if (version < 3 || !m->seen_ptr)
		return NULL;
	*size = rs_history_measure(m->seen_ptr, m->seen_items, m->seen_values, m->n_users);
	return size;
}

size_t
rs_model_encoded_size(const rs_model *m)
{
	return rs_model_encoded_size_as(m, RS_MODEL_FORMAT_VERSION);
}

void
rs_model_encode(const rs_model *m, void *dst)
{
	rs_model_encode_as(m, dst, RS_MODEL_FORMAT_VERSION);
}

size_t
rs_model_encoded_size_as(const rs_model *m, int version)
{
	uint64_t	total = sizeof(rs_model_header);
	rs_history_size history;
	const rs_history_size *coded = coded_history(m, version, &history);

	for (int s = 0; s < RS_SEC_COUNT; s++)
		if (section_wanted(m, s))
		{
			uint64_t	size = source_size(m, s, coded);

			/* an item matrix alone can come near 2^64 bytes */
			total = ALIGN8(total);
			if (size > UINT64_MAX - 16 || total > UINT64_MAX - 16 - size)
				return 0;
			total += size;
		}
	total = ALIGN8(total);
	if (total > SIZE_MAX)
		return 0;
	return (size_t) total;
}

void
rs_model_encode_as(const rs_model *m, void *dst, int version)
{
	unsigned char *out = dst;
	rs_model_header h;
	uint64_t	pos = sizeof(rs_model_header);
	rs_history_size history;
	const rs_history_size *coded = coded_history(m, version, &history);

	memset(&h, 0, sizeof(h));
	h.magic = RS_MODEL_MAGIC;
	h.format_version = (uint16_t) version;
	h.algorithm = (uint16_t) m->algorithm;
	memcpy(h.model_id, m->model_id, RS_MODEL_ID_BYTES);
	h.header_size = sizeof(rs_model_header);
	h.n_users = m->n_users;
	h.n_items = m->n_items;
	h.n_interactions = m->n_interactions;
	h.factors = m->factors;
	h.global_mean = m->global_mean;
	h.new_user_bias = m->new_user_bias;
	h.new_item_bias = m->new_item_bias;
	h.params = m->params;
	if (rs_kind_of(m->algorithm)->network_floats)
	{
		h.params.activation = (uint16_t) m->activation;
		h.params.loss = (uint16_t) m->loss;
	}

	for (int s = 0; s < RS_SEC_COUNT; s++)
	{
		uint64_t	size;

		if (!section_wanted(m, s))
			continue;
		size = source_size(m, s, coded);
		memset(out + pos, 0, ALIGN8(pos) - pos);
		pos = ALIGN8(pos);
		h.sections[s].offset = pos;
		h.sections[s].size = size;
		if (coded && s == RS_SEC_SEEN_ITEMS)
			rs_history_encode(m->seen_ptr, m->seen_items, m->n_users, out + pos);
		else if (s == RS_SEC_USER_TAG_NAMES || s == RS_SEC_ITEM_TAG_NAMES)
			write_tag_names(s == RS_SEC_USER_TAG_NAMES ? &m->user_tags : &m->item_tags,
							out + pos);
		else if (size > 0)		/* a constant history value: its first */
			memcpy(out + pos, section_source(m, s), size);
		pos += size;
	}
	memset(out + pos, 0, ALIGN8(pos) - pos);
	pos = ALIGN8(pos);
	h.total_size = pos;
	memcpy(out, &h, sizeof(h));
	h.payload_crc = model_checksum(out, pos);
	memcpy(out + __builtin_offsetof(rs_model_header, payload_crc), &h.payload_crc,
		   sizeof(h.payload_crc));
}

const char rs_model_newer_format[] = "its format version is newer than this build reads";

const char *
rs_model_read_identity(const void *buf, size_t len, rs_model_header *h)
{
	if (len < RS_MODEL_IDENTITY_SIZE)
		return "it is shorter than a model header";
	memset(h, 0, sizeof(*h));
	memcpy(h, buf, RS_MODEL_IDENTITY_SIZE);
	if (h->magic != RS_MODEL_MAGIC)
		return "it does not start with the recsys model signature";
	if (h->format_version > RS_MODEL_FORMAT_VERSION)
		return rs_model_newer_format;
	if (h->format_version == 0)
		return "its format version is not supported by this build";
	if (rs_kind_of(h->algorithm) == NULL)
		return "its algorithm is unknown to this build";
	return NULL;
}

static bool
strictly_ascending(const int64_t *ids, int32_t n)
{
	for (int32_t k = 1; k < n; k++)
		if (ids[k - 1] >= ids[k])
			return false;
	return true;
}

static const char *
check_seen_ptr(const rs_model *m)
{
	const uint64_t *ptr = m->seen_ptr;

	if (ptr[0] != 0)
		return "its training-interaction index is inconsistent";
	for (int32_t u = 0; u < m->n_users; u++)
		if (ptr[u + 1] < ptr[u] || ptr[u + 1] > ptr[m->n_users])
			return "its training-interaction index is inconsistent";
	return NULL;
}

/* A plain history (format versions 1 and 2), its index checked. */
static const char *
check_seen_items(const rs_model *m)
{
	const uint64_t *ptr = m->seen_ptr;

	for (int32_t u = 0; u < m->n_users; u++)
	{
		for (uint64_t r = ptr[u]; r < ptr[u + 1]; r++)
		{
			int32_t		item = m->seen_items[r];

			if (item < 0 || item >= m->n_items ||
				(r > ptr[u] && m->seen_items[r - 1] >= item))
				return "its training interactions refer to items it does not have";
		}
	}
	return NULL;
}

/*
 * The training history: plain (versions 1 and 2, used in place) or compact
 * (version 3, to expand): values stored in full, or once when every one is
 * the same.
 */
static const char *
check_seen(const rs_model_header *h, rs_model *m)
{
	uint64_t	items_size = h->sections[RS_SEC_SEEN_ITEMS].size,
				values_size = h->sections[RS_SEC_SEEN_VALUES].size,
				n;
	const char *reason;

	if ((reason = check_seen_ptr(m)) != NULL)
		return reason;
	n = m->seen_ptr[m->n_users];
	if (h->format_version < 3)
	{
		if (n != items_size / 4 || n != values_size / 4)
			return "its training-interaction index is inconsistent";
		return check_seen_items(m);
	}
	/* every interaction takes a byte at least */
	if (n > items_size || (values_size != n * 4 && !(n > 1 && values_size == 4)))
		return "its training-interaction index is inconsistent";
	if ((reason = rs_history_check(m->seen_ptr, m->n_users, m->n_items,
								   (const uint8_t *) m->seen_items, items_size)) != NULL)
		return reason;
	m->seen_coded = (const uint8_t *) m->seen_items;
	m->seen_coded_size = items_size;
	m->seen_items = NULL;
	if (n > 1 && values_size == 4)
	{
		m->seen_constant = m->seen_values;
		m->seen_values = NULL;
	}
	return NULL;
}

size_t
rs_model_history_expansion(const rs_model *m)
{
	uint64_t	n;

	if (!m->seen_coded || m->seen_items)
		return 0;
	n = m->seen_ptr[m->n_users];
	return ALIGN8(n * sizeof(int32_t)) + (m->seen_values ? 0 : ALIGN8(n * sizeof(float)));
}

void
rs_model_expand_history(rs_model *m, void *buffer)
{
	uint64_t	n;
	int32_t    *items = buffer;

	if (rs_model_history_expansion(m) == 0)
		return;
	n = m->seen_ptr[m->n_users];
	rs_history_decode(m->seen_ptr, m->n_users, m->seen_coded, items);
	m->seen_items = items;
	if (!m->seen_values)
	{
		float	   *values = (float *) ((unsigned char *) buffer + ALIGN8(n * sizeof(int32_t)));

		for (uint64_t k = 0; k < n; k++)
			values[k] = *m->seen_constant;
		m->seen_values = values;
	}
}

const char *
rs_model_check_neighbors(const rs_model_header *h, const void *buf, rs_model *m)
{
	const unsigned char *bytes = buf;
	rs_section_ref ptr_ref = h->sections[RS_SEC_NEIGHBOR_PTR],
				items_ref = h->sections[RS_SEC_NEIGHBOR_ITEMS],
				weights_ref = h->sections[RS_SEC_NEIGHBOR_WEIGHTS],
				matrix_ref = h->sections[RS_SEC_ITEM_MATRIX];
	uint64_t	items = (uint64_t) h->n_items;
	int			present;
	const uint64_t *ptr;
	const int32_t *neighbors;
	const float *weights;

	m->neighbor_ptr = NULL;
	m->neighbor_items = NULL;
	m->neighbor_weights = NULL;
	m->item_matrix = NULL;

	/* a present section has an offset past the header; an absent one none */
	if (matrix_ref.offset != 0)
	{
		if (matrix_ref.size != items * items * 4)
			return "a section's size does not match the model's dimensions";
		if (matrix_ref.size > 0)
			m->item_matrix = (const float *) (bytes + matrix_ref.offset);
	}

	present = (ptr_ref.offset != 0) + (items_ref.offset != 0) + (weights_ref.offset != 0);
	if (present == 0)
		return NULL;
	if (present != 3)
		return "its item neighbours are incomplete";
	if (ptr_ref.size != (items + 1) * 8 || items_ref.size % 4 != 0 ||
		weights_ref.size % 4 != 0)
		return "a section's size does not match the model's dimensions";

	/* the index's end against both sizes before any loop trusts it */
	ptr = (const uint64_t *) (bytes + ptr_ref.offset);
	if (ptr[0] != 0 || ptr[items] != items_ref.size / 4 || ptr[items] != weights_ref.size / 4)
		return "its item-neighbour index is inconsistent";
	neighbors = items_ref.size > 0 ? (const int32_t *) (bytes + items_ref.offset) : NULL;
	weights = weights_ref.size > 0 ? (const float *) (bytes + weights_ref.offset) : NULL;
	for (int32_t i = 0; i < h->n_items; i++)
	{
		if (ptr[i + 1] < ptr[i] || ptr[i + 1] > ptr[items])
			return "its item-neighbour index is inconsistent";
		for (uint64_t r = ptr[i]; r < ptr[i + 1]; r++)
		{
			int32_t		j = neighbors[r];

			if (j < 0 || j >= h->n_items)
				return "its item neighbours refer to items it does not have";
			if (j == i || (r > ptr[i] && neighbors[r - 1] >= j))
				return "its item neighbours are not ascending lists of other items";
		}
	}
	for (uint64_t r = 0; r < ptr[items]; r++)
		if (!isfinite(weights[r]))
			return "its item-neighbour weights are not finite";

	m->neighbor_ptr = ptr;
	m->neighbor_items = neighbors;
	m->neighbor_weights = weights;
	return NULL;
}

const char *
rs_model_decode(const void *buf, size_t len, rs_model *m)
{
	const unsigned char *bytes = buf;
	rs_model_header h;
	const char *reason;
	const rs_kind *kind;
	uint32_t	required;
	size_t		header_size;
	uint64_t	users,
				items,
				factors;

	if ((uintptr_t) buf % 8 != 0)
		return "it is not aligned in memory";
	if ((reason = rs_model_read_identity(buf, len, &h)) != NULL)
		return reason;

	/*
	 * A version 1 header has 16 slots and the payload right after them: read
	 * no further, and leave the later slots zero, that is absent.
	 */
	header_size = h.format_version == 1 ? RS_MODEL_V1_HEADER_SIZE : sizeof(rs_model_header);
	if (len < header_size)
		return "it is shorter than a model header";
	memcpy(&h, buf, header_size);
	if (h.header_size != header_size || h.total_size != len)
		return "its length does not match its header";
	if (model_checksum(bytes, len) != h.payload_crc)
		return "its checksum does not match";
	if (h.n_users < 0 || h.n_items < 0 || h.factors < 0 ||
		h.factors > RS_MODEL_MAX_FACTORS)
		return "its dimensions are out of range";
	kind = rs_kind_of(h.algorithm);
	/* a kind without id lists (a feature model) may count no users or items */
	if (!(kind->required_sections & BIT(RS_SEC_USER_IDS)) &&
		(h.n_users != 0 || h.n_items != 0 || h.factors != 0))
		return "its dimensions are out of range";

	users = (uint64_t) h.n_users;
	items = (uint64_t) h.n_items;
	factors = (uint64_t) h.factors;
	required = kind->required_sections;
	for (int s = 0; s < RS_SEC_COUNT; s++)
	{
		rs_section_ref ref = h.sections[s];
		uint64_t	want;

		if (!(required & BIT(s)))
		{
			if (ref.offset == 0 && ref.size == 0)
				continue;		/* absent */
			if (!(kind->optional_sections & BIT(s)))
				return "it has a section its algorithm does not use";
		}
		if (ref.offset < header_size || ref.offset % 8 != 0 ||
			ref.offset > len || ref.size > len - ref.offset)
			return "a section lies outside the model";
		want = expected_size(s, users, items, factors);
		if (want != UINT64_MAX && ref.size != want)
			return "a section's size does not match the model's dimensions";
		if (((s == RS_SEC_SEEN_ITEMS && h.format_version < 3) || s == RS_SEC_SEEN_VALUES) &&
			ref.size % 4 != 0)
			return "a section's size does not match the model's dimensions";
	}

	memset(m, 0, sizeof(*m));
	m->format_version = h.format_version;
	m->algorithm = h.algorithm;
	memcpy(m->model_id, h.model_id, RS_MODEL_ID_BYTES);
	m->n_users = h.n_users;
	m->n_items = h.n_items;
	m->n_interactions = h.n_interactions;
	m->factors = h.factors;
	m->global_mean = h.global_mean;
	m->new_user_bias = h.new_user_bias;
	m->new_item_bias = h.new_item_bias;
	m->params = h.params;
#define SECTION(s) (h.sections[s].size ? (const void *) (bytes + h.sections[s].offset) : NULL)
	m->user_ids = SECTION(RS_SEC_USER_IDS);
	m->item_ids = SECTION(RS_SEC_ITEM_IDS);
	m->user_factors = SECTION(RS_SEC_USER_FACTORS);
	m->item_factors = SECTION(RS_SEC_ITEM_FACTORS);
	m->user_bias = SECTION(RS_SEC_USER_BIAS);
	m->item_bias = SECTION(RS_SEC_ITEM_BIAS);
	m->seen_ptr = SECTION(RS_SEC_SEEN_PTR);
	m->seen_items = SECTION(RS_SEC_SEEN_ITEMS);
	m->seen_values = SECTION(RS_SEC_SEEN_VALUES);
	m->item_gram = SECTION(RS_SEC_ITEM_GRAM);
	m->item_popularity = SECTION(RS_SEC_ITEM_POPULARITY);
	m->info = SECTION(RS_SEC_INFO);
	m->info_size = h.sections[RS_SEC_INFO].size;
#undef SECTION

	/* an algorithm without id lists (the network) has no users or items */
	if ((m->user_ids == NULL && m->n_users != 0) ||
		(m->item_ids == NULL && m->n_items != 0))
		return "its dimensions do not match its sections";
	if (!strictly_ascending(m->user_ids, m->n_users) ||
		!strictly_ascending(m->item_ids, m->n_items))
		return "its id lists are not sorted";
	if (m->seen_ptr && (reason = check_seen(&h, m)) != NULL)
		return reason;
	if (m->info && memchr(m->info, '\0', m->info_size))
		return "its description is not text";
	if ((reason = rs_model_check_neighbors(&h, bytes, m)) != NULL)
		return reason;
	if (kind->check_sections)
		return kind->check_sections(&h, bytes, m);
	return NULL;
}

/*
 * Ids are sorted, and often dense (serial keys): one probe where the id
 * would sit if the ids were evenly spread finds those at once, which matters
 * when a query calls predict per row; any other id by binary search.
 */
static int32_t
find_model_id(const int64_t *ids, int32_t n, int64_t id)
{
	if (n > 1 && id > ids[0] && id <= ids[n - 1])
	{
		uint64_t	offset = (uint64_t) id - (uint64_t) ids[0];
		uint64_t	span = (uint64_t) ids[n - 1] - (uint64_t) ids[0];
		/* exact for dense ids: offset * (n - 1) is an integer below 2^53 */
		double		guess = (double) offset * (double) (n - 1) / (double) span;

		if (guess >= 0 && guess < n && ids[(int32_t) guess] == id)
			return (int32_t) guess;
	}
	return rs_find_id(ids, n, id);
}

int32_t
rs_model_user_index(const rs_model *m, int64_t user_id)
{
	return find_model_id(m->user_ids, m->n_users, user_id);
}

int32_t
rs_model_item_index(const rs_model *m, int64_t item_id)
{
	return find_model_id(m->item_ids, m->n_items, item_id);
}
