/*
 * model.h - a trained model, and its binary format (the bytea users store).
 *
 * Layout, little-endian, every section 8-byte aligned:
 *
 *   header (rs_model_header, fixed size)
 *   sections, in rs_section order, each present or absent per algorithm
 *
 * Format version 1 (recsys 0.1 to 0.3) has the same header with 16 section
 * slots, RS_MODEL_V1_HEADER_SIZE bytes: models users stored then decode
 * as they did, with the later sections absent.  Version 2 (up to 0.5)
 * stores the training history plainly, version 3 compactly
 * (history_codec.h): the SEEN_ITEMS section holds varint gaps, and
 * SEEN_VALUES one float when every value is the same.  Encoding writes the
 * current version (or version 2, for compatibility tests).
 *
 * The first RS_MODEL_IDENTITY_SIZE bytes identify a model (magic, version,
 * algorithm, random model id, total size, checksum): a server reads only
 * those through a detoast slice to find a decoded copy in its cache.  The
 * CRC-32C covers every byte of the model but its own four.
 * decode() validates every field and size against the length and checks the
 * CRC-32C before anything is used; a decoded model points into the buffer,
 * so a validated buffer is used in place - all but a compact training
 * history, which rs_model_expand_history then writes out beside it.
 */
#ifndef RECSYS_MODEL_H
#define RECSYS_MODEL_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "tags.h"

#define RS_MODEL_MAGIC 0x4D535352u	/* "RSSM" read little-endian */
#define RS_MODEL_FORMAT_VERSION 3
#define RS_MODEL_V1_SECTIONS 16
#define RS_MODEL_V1_HEADER_SIZE (112 + 16 * RS_MODEL_V1_SECTIONS)
#define RS_MODEL_ID_BYTES 16
#define RS_MODEL_MAX_FACTORS 1024
#define RS_MODEL_MAX_FEATURES 65536	/* a feature vector's length */

typedef enum rs_algorithm
{
	RS_ALGO_ALS_EXPLICIT = 1,	/* ratings: mu + b_u + b_i + p_u . q_i */
	RS_ALGO_ALS_IMPLICIT = 2,	/* preferences weighted by confidence: x_u . y_i */
	RS_ALGO_BPR = 3,			/* pairwise ranking: x_u . y_i + b_i */
	RS_ALGO_MLP = 4,			/* dense network on feature vectors */
	RS_ALGO_NCF = 5,			/* NeuMF: GMF and an MLP tower on embeddings */
	RS_ALGO_KNN = 6,			/* item-kNN: sums over stored item neighbourhoods */
	RS_ALGO_EASE = 7,			/* EASE: history times a closed-form item-item matrix */
	RS_ALGO_HYBRID = 8,			/* features and identities: x_u . y_i + b_i (hybrid.h) */
	RS_ALGO_HYBRID_RATINGS = 9, /* the same of ratings: mu + b_u + b_i + x_u . y_i */
	RS_ALGO_SEQUENCE = 10,		/* self-attention over the ordered history: h . y_i (sequence.h) */
	RS_ALGO_COUNT
} rs_algorithm;

typedef enum rs_section
{
	RS_SEC_USER_IDS,			/* int64[n_users], strictly ascending */
	RS_SEC_ITEM_IDS,			/* int64[n_items], strictly ascending */
	RS_SEC_USER_FACTORS,		/* float[n_users][factors] */
	RS_SEC_ITEM_FACTORS,		/* float[n_items][factors] */
	RS_SEC_USER_BIAS,			/* float[n_users] */
	RS_SEC_ITEM_BIAS,			/* float[n_items] */
	RS_SEC_SEEN_PTR,			/* uint64[n_users + 1]: CSR of training items */
	RS_SEC_SEEN_ITEMS,			/* int32[seen_ptr[n_users]], ascending per user;
								 * from version 3 their varint gaps */
	RS_SEC_INFO,				/* UTF-8 JSON written by the host: options, loss... */
	RS_SEC_SEEN_VALUES,			/* float[seen_ptr[n_users]]: training values;
								 * from version 3 one float if all are equal */
	RS_SEC_ITEM_GRAM,			/* float[factors][factors]: Y'Y, for fold-in */
	RS_SEC_ITEM_POPULARITY,		/* float[n_items]: training users per item */
	RS_SEC_MLP_SIZES,			/* int32[layers + 1]: features, hidden..., 1 */
	RS_SEC_MLP_WEIGHTS,			/* float: per layer W (out x in, row-major), b[out];
								 * NCF appends more (ncf.h) */
	RS_SEC_FEATURE_MEAN,		/* float[features]: subtracted before the network */
	RS_SEC_FEATURE_SCALE,		/* float[features]: then divided by, > 0 */
	/* format version 2 on */
	RS_SEC_NEIGHBOR_PTR,		/* uint64[n_items + 1]: CSR of each item's neighbours */
	RS_SEC_NEIGHBOR_ITEMS,		/* int32[neighbor_ptr[n_items]], ascending per item,
								 * never the item itself */
	RS_SEC_NEIGHBOR_WEIGHTS,	/* float[neighbor_ptr[n_items]]: similarity or weight */
	RS_SEC_ITEM_MATRIX,			/* float[n_items][n_items]: a dense item-item matrix */
	/* hybrid models (hybrid.h): each side's tags, tags.h's layout */
	RS_SEC_USER_TAG_PTR,		/* uint64[n_users + 1]: CSR of each user's tags */
	RS_SEC_USER_TAGS,			/* int32[user_tag_ptr[n_users]] */
	RS_SEC_ITEM_TAG_PTR,		/* uint64[n_items + 1] */
	RS_SEC_ITEM_TAGS,			/* int32[item_tag_ptr[n_items]] */
	RS_SEC_USER_TAG_NAMES,		/* uint64 offsets[n_user_tags + 1], then the names */
	RS_SEC_ITEM_TAG_NAMES,
	RS_SEC_USER_TAG_VECTORS,	/* float[n_user_tags][factors + 1]: vector, then bias */
	RS_SEC_ITEM_TAG_VECTORS,
	/* sequence models (sequence.h): each user's last events, oldest first */
	RS_SEC_SEQUENCE_PTR,		/* uint64[n_users + 1]: CSR of each user's events */
	RS_SEC_SEQUENCE_ITEMS,		/* int32[sequence_ptr[n_users]], in the order they happened */
	RS_SEC_COUNT = 32			/* slots reserved in the header (16 in version 1) */
} rs_section;

typedef struct rs_section_ref
{
	uint64_t	offset;
	uint64_t	size;
} rs_section_ref;

/* Training parameters that serving needs to repeat a user's solve (fold-in). */
typedef struct rs_model_params
{
	float		regularization;
	float		prior_count;	/* explicit ALS */
	float		bias_regularization;	/* explicit ALS */
	float		alpha;			/* implicit ALS: confidence 1 + alpha * value */
	float		learning_rate;	/* BPR */
	union
	{
		uint32_t	reserved;	/* other algorithms: written back as given */
		float		activity_slope; /* explicit ALS: a user's bias prior per ln(ratings) */
		struct
		{
			uint16_t	activation; /* MLP: RS_ACTIVATION_* (mlp.h) */
			uint16_t	loss;	/* MLP: RS_LOSS_* (mlp.h) */
		};
	};
} rs_model_params;

typedef struct rs_model_header
{
	/* identity: what a cache lookup reads */
	uint32_t	magic;
	uint16_t	format_version;
	uint16_t	algorithm;
	uint8_t		model_id[RS_MODEL_ID_BYTES];
	uint64_t	total_size;		/* header and payload */
	uint32_t	payload_crc;	/* CRC-32C of every other byte */
	uint32_t	header_size;
	/* shape */
	int32_t		n_users;
	int32_t		n_items;
	uint64_t	n_interactions;
	int32_t		factors;
	uint32_t	reserved;
	double		global_mean;
	double		new_user_bias;	/* expected bias of a user not in the model */
	double		new_item_bias;	/* expected bias of an item not in the model */
	rs_model_params params;
	rs_section_ref sections[RS_SEC_COUNT];
} rs_model_header;

#define RS_MODEL_IDENTITY_SIZE 36	/* offsetof(rs_model_header, header_size) */

/* A model: header fields plus pointers to its arrays (NULL if absent). */
typedef struct rs_model
{
	rs_algorithm algorithm;
	uint8_t		model_id[RS_MODEL_ID_BYTES];
	int32_t		n_users;
	int32_t		n_items;
	uint64_t	n_interactions;
	int32_t		factors;
	double		global_mean;
	double		new_user_bias;
	double		new_item_bias;
	rs_model_params params;
	const int64_t *user_ids;
	const int64_t *item_ids;
	const float *user_factors;
	const float *item_factors;
	const float *user_bias;
	const float *item_bias;
	const uint64_t *seen_ptr;
	const int32_t *seen_items;
	const float *seen_values;
	/* a version 3 history as stored, until rs_model_expand_history */
	const uint8_t *seen_coded;
	uint64_t	seen_coded_size;
	const float *seen_constant; /* the one value, if all are equal */
	const float *item_gram;
	const float *item_popularity;
	const char *info;			/* not NUL-terminated */
	size_t		info_size;
	/* MLP (n_users, n_items and factors are 0) and NCF */
	int32_t		mlp_layers;		/* weight layers: hidden layers + 1 */
	const int32_t *mlp_sizes;	/* mlp_layers + 1 */
	const float *mlp_weights;
	const float *feature_mean;
	const float *feature_scale;
	int32_t		activation;		/* RS_ACTIVATION_*, stored in params.activation */
	int32_t		loss;			/* RS_LOSS_*, stored in params.loss */
	/* NCF: the dense network is the tower and output; these follow it */
	int32_t		ncf_embedding;	/* tower embedding size, mlp_sizes[0] / 2 */
	const float *ncf_output_gmf;	/* factors: output weights on the GMF product */
	const float *ncf_user_embeddings;	/* n_users x ncf_embedding */
	const float *ncf_item_embeddings;	/* n_items x ncf_embedding */
	/* item models */
	const uint64_t *neighbor_ptr;
	const int32_t *neighbor_items;
	const float *neighbor_weights;
	const float *item_matrix;
	/*
	 * hybrid: each side's tag dictionary and, for the ids the model keeps,
	 * their tags; each tag's vector and bias, factors + 1 floats
	 */
	rs_tag_table user_tags;
	rs_tag_table item_tags;
	const float *user_tag_vectors;
	const float *item_tag_vectors;
	/* sequence models: each user's last events, oldest first */
	const uint64_t *sequence_ptr;
	const int32_t *sequence_items;
	uint16_t	format_version; /* as read; encoding writes the current one */
} rs_model;

const char *rs_algorithm_name(rs_algorithm algorithm);

/* Bytes the encoded model will take; 0 if it would overflow. */
size_t		rs_model_encoded_size(const rs_model *model);

/* Writes the model into dst (any alignment, rs_model_encoded_size bytes). */
void		rs_model_encode(const rs_model *model, void *dst);

/* The same in format version 2 or 3, as older builds read and wrote them. */
size_t		rs_model_encoded_size_as(const rs_model *model, int version);
void		rs_model_encode_as(const rs_model *model, void *dst, int version);

/*
 * Validates buf and fills *model with pointers into it.  buf must be 8-byte
 * aligned.  Returns NULL on success, or a reason for the rejection.
 */
const char *rs_model_decode(const void *buf, size_t len, rs_model *model);

/*
 * A decoded model's compact training history (format version 3) must be
 * expanded before the model is used: the bytes that takes (0 if none), and
 * the expansion into buffer (8-byte aligned, that many bytes), which then
 * holds seen_items and seen_values for as long as the model is used.
 */
size_t		rs_model_history_expansion(const rs_model *model);
void		rs_model_expand_history(rs_model *model, void *buffer);

/*
 * The item-model sections (neighbour CSR, item matrix) present in a header
 * that rs_model_decode has checked (dimensions in range, every section inside
 * buf, absent ones zero): validates them and points model at them.  Decoding
 * calls it; it is exposed for tests.
 */
const char *rs_model_check_neighbors(const rs_model_header *header, const void *buf,
									 rs_model *model);

/*
 * Reads the identity fields from the first RS_MODEL_IDENTITY_SIZE bytes.
 * Returns NULL on success or a reason.
 */
const char *rs_model_read_identity(const void *buf, size_t len, rs_model_header *identity);

/* The reason rs_model_read_identity gives for a model written by a newer
 * build, so that callers can tell the user to retrain or update. */
extern const char rs_model_newer_format[];

/* Dense index of a user or item id in the model, or -1. */
int32_t		rs_model_user_index(const rs_model *model, int64_t user_id);
int32_t		rs_model_item_index(const rs_model *model, int64_t item_id);

/*
 * Moves every pointer of a decoded model that lies in [from, from + len) to
 * the same offset from to: a decoded model whose buffer (or expanded
 * history) was copied elsewhere, as a server's shared cache copies it.
 */
void		rs_model_rebase(rs_model *model, const void *from, size_t len, const void *to);

/*
 * The fold-in form of a factor model ("users": "fold_in"): the user side
 * (ids, factors, biases, training history) dropped, so that the model's
 * size follows the catalogue alone; every user is served from a history
 * passed at query time.  The pointers stay the caller's to free.
 */
void		rs_model_drop_users(rs_model *model);

/* Whether the model keeps its training users (not the fold-in form). */
static inline bool
rs_model_keeps_users(const rs_model *model)
{
	return model->n_users > 0 || model->n_interactions == 0;
}

#endif
