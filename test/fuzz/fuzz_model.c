/*
 * fuzz_model.c - libFuzzer target: any bytes as a stored model value.
 *
 * The bytes are decoded as a server decodes a bytea; a model that decode
 * accepts is then served through every scoring entry point of the engine,
 * with the same preconditions the SQL layer establishes (src/serving.c,
 * explain.c, vectors.c, model_info.c) and nothing more.  Whatever decode
 * lets through must neither crash, trip a sanitizer, nor make the engine
 * ask for more memory than the value's size justifies.
 *
 * The CRC-32C and total size are rewritten before decoding: a mutated value
 * would otherwise fail the checksum and never reach the checks behind it.
 * The 16 bytes of the model id, which decode never interprets, choose the
 * queries: users, items, k, a short history and, for sequence models, an
 * ordered one with repeats.
 */
#include "core/crc32c.h"
#include "core/hybrid.h"
#include "core/kind.h"
#include "core/mlp.h"
#include "core/model.h"
#include "core/runtime.h"
#include "core/scoring.h"
#include "core/sequence.h"
#include "core/top_k.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HISTORY 8
#define MAX_SEQUENCE 12			/* longer than the seeds' max_length */
#define MAX_IDS 6

/*
 * The most any single allocation may take for a value of len bytes: a
 * multiple of the value, plus room for a factors x factors system (bounded
 * by RS_MODEL_MAX_FACTORS whatever the value's size) and a megabyte.
 */
static size_t alloc_limit;

static volatile double sink;

static void *
take(size_t size)
{
	void	   *p;

	if (size > alloc_limit)
	{
		fprintf(stderr, "fuzz_model: an allocation of %zu bytes exceeds the limit of %zu\n",
				size, alloc_limit);
		abort();
	}
	p = malloc(size ? size : 1);
	if (!p)
		abort();
	return p;
}

static void *
capped_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return take(size);
}

static void
capped_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

static const rs_allocator capped = {capped_alloc, capped_free, NULL, NULL};

static void
consume_floats(const float *x, size_t n)
{
	double		s = 0.0;

	for (size_t k = 0; k < n; k++)
		s += x[k];
	sink = s;
}

/* The top-k rows a set-returning function would emit, ids looked up as it does. */
static void
emit_top_k(const rs_model *m, const float *scores, const int32_t *skip, size_t n_skip,
		   int32_t k)
{
	size_t		room = (size_t) k < (size_t) m->n_items + 1 ? (size_t) k : (size_t) m->n_items + 1;
	rs_scored  *best = take(sizeof(rs_scored) * room);
	size_t		count = rs_top_k(scores, m->n_items, skip, n_skip, (size_t) k, best);
	uint64_t	s = 0;			/* ids are read, not added up as numbers */

	for (size_t r = 0; r < count; r++)
		s += (uint64_t) m->item_ids[best[r].index];
	sink = (double) s;
	free(best);
}

/* model_info: the header's fields and the description around them. */
static void
model_info(const rs_model *m)
{
	double		s = m->n_users + m->n_items + m->factors + (double) m->n_interactions +
		m->global_mean + m->new_user_bias + m->new_item_bias;

	if (m->user_ids == NULL && m->mlp_sizes)
		s += m->mlp_sizes[0];
	if (m->info_size >= 2 && m->info[0] == '{' && m->info[m->info_size - 1] == '}')
		for (size_t k = 1; k < m->info_size; k++)
			s += (unsigned char) m->info[k];
	s += strlen(rs_algorithm_name(m->algorithm));
	sink = s;
}

/* predict(model, features) on a vector drawn from the id bytes. */
static void
predict_features(const rs_model *m, const uint8_t *p)
{
	int			n = m->mlp_sizes[0];
	float	   *features = take(sizeof(float) * (size_t) n);
	float	   *scratch = take(sizeof(float) * rs_feature_scratch_floats(m));

	for (int k = 0; k < n; k++)
		features[k] = ((float) p[k % RS_MODEL_ID_BYTES] - 128.0f) / 16.0f;
	sink = rs_mlp_predict(m, features, scratch);
	free(features);
	free(scratch);
}

/* recommend(model, user_id, k, exclude_seen) */
static void
recommend(const rs_model *m, int32_t user, int32_t k, bool exclude_seen)
{
	size_t		n_seen = 0;
	const int32_t *seen = exclude_seen ? rs_seen_items(m, user, &n_seen) : NULL;
	float	   *scores = take(sizeof(float) * ((size_t) m->n_items + 1));

	if (rs_score_items(m, user, &capped, scores) == RS_OK)
		emit_top_k(m, scores, seen, n_seen, k);
	free(scores);
}

/* recommend_batch(model, user_ids, k, exclude_seen): the drawn users at once */
static void
recommend_batch(const rs_model *m, const int64_t *user_ids, int n_users, int32_t k)
{
	int32_t    *users = take(sizeof(int32_t) * ((size_t) n_users + 1));
	float	   *scores = take(sizeof(float) * ((size_t) n_users * (size_t) m->n_items + 1));

	for (int u = 0; u < n_users; u++)
		users[u] = rs_model_user_index(m, user_ids[u]);
	if (rs_score_items_batch(m, users, (size_t) n_users, &capped, scores) == RS_OK)
		for (int u = 0; u < n_users; u++)
		{
			size_t		n_seen = 0;
			const int32_t *seen = rs_seen_items(m, users[u], &n_seen);

			emit_top_k(m, scores + (size_t) u * (size_t) m->n_items, seen, n_seen, k);
		}
	free(users);
	free(scores);
}

/* explain(model, user_id, item_id, k) */
static void
explain(const rs_model *m, int32_t user, int32_t item, int32_t k)
{
	size_t		n;
	const int32_t *history;
	double	   *contributions;
	double		baseline = 0.0;

	if (!rs_kind_of(m->algorithm)->explain)
		return;					/* rejected by the SQL function */
	if (user < 0 || (item < 0 && !rs_model_predicts_unknown(m)))
		return;
	history = rs_seen_items(m, user, &n);
	contributions = take(sizeof(double) * (n + 1));
	if (rs_explain(m, user, item, &capped, contributions, &baseline) == RS_OK)
	{
		float	   *ranked = take(sizeof(float) * (n + 1));
		size_t		room = (size_t) k < n + 1 ? (size_t) k : n + 1;
		rs_scored  *best = take(sizeof(rs_scored) * room);
		size_t		count;
		uint64_t	s = 0;

		for (size_t j = 0; j < n; j++)
			ranked[j] = (float) contributions[j];
		count = rs_top_k(ranked, (int32_t) n, NULL, 0, (size_t) k, best);
		for (size_t r = 0; r < count; r++)
			s += (uint64_t) m->item_ids[history[best[r].index]];
		sink = (double) s + baseline + rs_explain_has_baseline(m);
		free(ranked);
		free(best);
	}
	free(contributions);
}

/* similar_items(model, item_id, k) */
static void
similar_items(const rs_model *m, int32_t item, int32_t k)
{
	float	   *scores;

	size_t		answers;

	if (!rs_kind_of(m->algorithm)->similar || item < 0)
		return;
	scores = take(sizeof(float) * ((size_t) m->n_items + 1));
	answers = rs_similar_items(m, item, scores);
	if ((size_t) k > answers)
		k = (int32_t) answers;
	if (k > 0)
		emit_top_k(m, scores, &item, 1, k);
	free(scores);
}

/* user_vector and item_vector */
static void
vectors(const rs_model *m, int32_t user, int32_t item)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	int			length;
	const float *row;

	if (!kind->user_vector)
		return;
	if (user >= 0)
	{
		row = kind->user_vector(m, user, &length);
		consume_floats(row, (size_t) length);
	}
	if (item >= 0)
	{
		row = kind->item_vector(m, item, &length);
		consume_floats(row, (size_t) length);
	}
}

static int
compare_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/*
 * recommend(model, item_ids, values, k): a history drawn from the id bytes,
 * as the SQL function hands it over (ids the model lacks dropped, items
 * ascending and distinct, values finite and for preferences not negative).
 */
static void
recommend_history(const rs_model *m, const uint8_t *p, int32_t k)
{
	bool		preferences = rs_model_takes_strengths(m);
	int32_t		items[MAX_HISTORY];
	float		values[MAX_HISTORY];
	size_t		n = 0;
	float	   *scores;

	if (m->n_items > 0)
	{
		size_t		want = p[9] % (MAX_HISTORY + 1);

		for (size_t j = 0; j < want; j++)
			items[j] = (int32_t) (((uint32_t) p[10 + j % 6] * 257u + (uint32_t) j * 7919u) %
								  (uint32_t) m->n_items);
		qsort(items, want, sizeof(int32_t), compare_int32);
		for (size_t j = 0; j < want; j++)
			if (n == 0 || items[n - 1] != items[j])
				items[n++] = items[j];
		for (size_t j = 0; j < n; j++)
		{
			float		v = (float) (p[(j + 3) % RS_MODEL_ID_BYTES] % 11) - 5.0f;

			values[j] = preferences ? fabsf(v) : v;
		}
	}
	scores = take(sizeof(float) * ((size_t) m->n_items + 1));
	if (rs_score_history(m, items, values, n, &capped, scores) == RS_OK)
		emit_top_k(m, scores, items, n, k);
	free(scores);
}

/*
 * What a sequence model serves from a live history (src/sequence_serving.c):
 * the items in the order drawn, oldest first as the SQL functions hand them
 * over, repeats and all (every fourth draw comes back, and a bit of p[12]
 * repeats the item before).  explain(model, history, item_id, k) ranks the
 * attention weights; predict(model, history, item_id) is the encoding's dot
 * product with the item's row, plus its bias; recommend(model, history, k)
 * scores the history in that order and leaves its distinct items out.  A
 * known user's stored events, which their row encodes, are encoded too.
 */
static void
serve_sequence(const rs_model *m, const uint8_t *p, int32_t user, int32_t item, int32_t k)
{
	int32_t		items[MAX_SEQUENCE],
				distinct[MAX_SEQUENCE];
	size_t		n,
				n_distinct = 0,
				count;
	float	   *scratch,
			   *encoding,
			   *attention,
			   *scores;
	const int32_t *stored;

	if (!rs_kind_of(m->algorithm)->sequential || m->n_items == 0)
		return;
	n = 1 + p[11] % MAX_SEQUENCE;
	for (size_t j = 0; j < n; j++)
		items[j] = j > 0 && ((p[12] >> (j % 8)) & 1) ? items[j - 1] :
			(int32_t) (((uint32_t) p[7 + j % 4] * 257u + (uint32_t) (j % 2) * 7919u) %
					   (uint32_t) m->n_items);
	scratch = take(sizeof(float) * rs_sequence_scratch_floats(m));
	encoding = take(sizeof(float) * ((size_t) m->factors + 1));
	attention = take(sizeof(float) * n);
	rs_sequence_encode(m, items, n, scratch, encoding, attention);
	consume_floats(encoding, (size_t) m->factors);
	consume_floats(attention, n);
	if (item >= 0)
	{
		size_t		room = (size_t) k < n ? (size_t) k : n;
		rs_scored  *best = take(sizeof(rs_scored) * room);
		size_t		ranked = rs_top_k(attention, (int32_t) n, NULL, 0, (size_t) k, best);
		double		s = m->item_bias ? m->item_bias[item] : 0.0;
		uint64_t	ids = 0;

		for (size_t r = 0; r < ranked; r++)
			ids += (uint64_t) m->item_ids[items[best[r].index]] + (uint64_t) best[r].index;
		for (int c = 0; c < m->factors; c++)
			s += (double) encoding[c] * m->item_factors[(size_t) item * m->factors + c];
		sink = s + (double) ids;
		free(best);
	}
	memcpy(distinct, items, sizeof(int32_t) * n);
	qsort(distinct, n, sizeof(int32_t), compare_int32);
	for (size_t j = 0; j < n; j++)
		if (n_distinct == 0 || distinct[n_distinct - 1] != distinct[j])
			distinct[n_distinct++] = distinct[j];
	scores = take(sizeof(float) * ((size_t) m->n_items + 1));
	if (rs_score_history(m, items, NULL, n, &capped, scores) == RS_OK)
		emit_top_k(m, scores, distinct, n_distinct, k);
	free(scores);
	/*
	 * (A model that stores no events at all has no SEQUENCE_ITEMS, and
	 * rs_sequence_of_user would add 0 to its NULL: undefined, reported.)
	 */
	if (user >= 0 && m->sequence_items != NULL &&
		(stored = rs_sequence_of_user(m, user, &count)) != NULL && count > 0)
	{
		rs_sequence_encode(m, stored, count, scratch, encoding, NULL);
		consume_floats(encoding, (size_t) m->factors);
	}
	free(scratch);
	free(encoding);
	free(attention);
}

/*
 * What a model of features serves (src/hybrid_serving.c): a user's and an
 * item's row from tags, some of them known, one not; a known user's score
 * for the item so given, its top k, and the item's features' shares.
 */
static void
serve_tags(const rs_model *m, const uint8_t *p, int32_t user, int32_t item, int32_t k)
{
	const rs_kind *kind = rs_kind_of(m->algorithm);
	int32_t		tags[3];
	float	   *row,
			   *folded,
			   *scores;
	float		bias;

	if (!kind->row_of_tags)
		return;
	row = take(sizeof(float) * ((size_t) m->factors + 1));
	folded = take(sizeof(float) * ((size_t) m->factors + 1));
	for (int side = 0; side < 2; side++)
	{
		const rs_tag_table *t = side ? &m->item_tags : &m->user_tags;

		tags[0] = t->n_tags > 0 ? p[6] % t->n_tags : -1;
		tags[1] = t->n_tags > 0 ? rs_tag_find(t, t->names, t->name_offsets[1 % (t->n_tags + 1)]) : -1;
		tags[2] = rs_tag_find(t, "no such tag", 11);
		sink = kind->row_of_tags(m, side == 0, tags, 3, row, &bias) + bias;
		consume_floats(row, (size_t) m->factors);
	}
	if (user >= 0)
	{
		double		score = bias;

		for (int c = 0; c < m->factors; c++)
			score += (double) m->user_factors[(size_t) user * m->factors + c] * row[c];
		sink = score;
	}
	scores = take(sizeof(float) * ((size_t) m->n_items + 1));
	if (rs_hybrid_fold_in_from(m, row, bias, NULL, NULL, 0, &capped, folded, &bias) == RS_OK &&
		rs_score_items_for(m, folded, bias, &capped, scores) == RS_OK)
		emit_top_k(m, scores, NULL, 0, k);
	free(scores);
	if (user >= 0 && item >= 0 && rs_model_keeps_users(m))
	{
		int			n;
		double	   *contributions;
		double		identity;

		rs_hybrid_item_tags(m, item, &n);
		contributions = take(sizeof(double) * ((size_t) n + 1));
		kind->explain_features(m, user, item, contributions, &identity);
		sink = identity + (n > 0 ? contributions[n - 1] : 0.0);
		free(contributions);
	}
	free(row);
	free(folded);
}

/* Ids to query: some the model has, some around and between them, some extreme. */
static int
pick_ids(const int64_t *ids, int32_t n, uint8_t a, uint8_t b, int64_t *out)
{
	int			count = 0;

	out[count++] = INT64_MIN;
	out[count++] = (int64_t) a * 1000003 - (int64_t) b * 999983;
	if (n > 0)
	{
		out[count++] = ids[a % n];
		out[count++] = ids[n - 1];
		out[count++] = ids[0] == INT64_MIN ? INT64_MAX : ids[0] - 1;
		out[count++] = ids[n - 1] == INT64_MAX ? INT64_MIN : ids[n - 1] + 1;
	}
	return count;
}

static void
serve(const rs_model *m)
{
	const uint8_t *p = m->model_id;
	int32_t		k = p[0] & 0x80 ? m->n_items + 5 : 1 + p[0] % 16;
	int64_t		user_ids[MAX_IDS],
				item_ids[MAX_IDS];
	int			n_users,
				n_items;

	model_info(m);
	if (rs_kind_of(m->algorithm)->predict_features)
	{
		predict_features(m, p);
		return;
	}
	n_users = pick_ids(m->user_ids, m->n_users, p[1], p[2], user_ids);
	n_items = pick_ids(m->item_ids, m->n_items, p[3], p[4], item_ids);
	for (int u = 0; u < n_users; u++)
	{
		int32_t		user = rs_model_user_index(m, user_ids[u]);

		for (int i = 0; i < n_items; i++)
		{
			int32_t		item = rs_model_item_index(m, item_ids[i]);

			sink = rs_predict(m, user, item);
			/* explanations cost a solve: an extreme, a drawn and a known item */
			if (i < 3)
				explain(m, user, item, k);
			vectors(m, user, item);
		}
		recommend(m, user, k, (p[5] >> (u % 8)) & 1);
		serve_tags(m, p, user, n_items > 2 ? rs_model_item_index(m, item_ids[2]) : -1, k);
	}
	recommend_batch(m, user_ids, n_users, k);
	for (int i = 0; i < n_items; i++)
		similar_items(m, rs_model_item_index(m, item_ids[i]), k);
	recommend_history(m, p, k);
	serve_sequence(m, p, n_users > 2 ? rs_model_user_index(m, user_ids[2]) : -1,
				   n_items > 2 ? rs_model_item_index(m, item_ids[2]) : -1, k);
	sink = rs_model_predicts_unknown(m) + rs_user_row_length(m);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	rs_blas_single_threaded();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		crc_at = __builtin_offsetof(rs_model_header, payload_crc);
	size_t		size_at = __builtin_offsetof(rs_model_header, total_size);
	uint64_t   *words = malloc((size / 8 + 1) * 8);	/* 8-byte aligned, as decode needs */
	unsigned char *buf = (unsigned char *) words;
	rs_model_header identity;
	rs_model	m;

	if (!words)
		return 0;
	memcpy(buf, data, size);
	/* what a server reads first, from a slice of the value */
	if (rs_model_read_identity(buf, size < RS_MODEL_IDENTITY_SIZE ? size : RS_MODEL_IDENTITY_SIZE,
							   &identity) == NULL)
		sink = identity.total_size;
	if (size >= crc_at + sizeof(uint32_t))
	{
		uint64_t	total = size;
		uint32_t	crc;

		memcpy(buf + size_at, &total, sizeof(total));
		crc = rs_crc32c_two(buf, crc_at, buf + crc_at + 4, size - crc_at - 4);
		memcpy(buf + crc_at, &crc, sizeof(crc));
	}
	alloc_limit = 64 * size + (1u << 20) +
		sizeof(float) * (RS_MODEL_MAX_FACTORS + 1) * (RS_MODEL_MAX_FACTORS + 1);
	if (rs_model_decode(buf, size, &m) == NULL)
	{
		/* a compact history expands as a server expands it */
		size_t		expansion = rs_model_history_expansion(&m);
		void	   *history = expansion ? malloc(expansion) : NULL;

		if (history)
			rs_model_expand_history(&m, history);
		if (expansion == 0 || history)
			serve(&m);
		free(history);
	}
	free(words);
	return 0;
}
