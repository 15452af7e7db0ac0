/*
 * make_seeds.c - writes the fuzzer's seed models: one small model of every
 * kind, trained on tiny planted data (classes of users and items, as in
 * test/unit/planted.h), each encoded as a server would store it.
 *
 * Usage: make_seeds DIRECTORY
 *
 * Each kind is written under a few model ids: the fuzzer draws its queries
 * from the id's bytes, so different ids start it on different queries.
 * Kinds that format version 1 could hold are also written in it, as models
 * stored by recsys 0.1 to 0.3 are.
 */
#include "core/implicit_als.h"
#include "core/bpr.h"
#include "core/crc32c.h"
#include "core/ease.h"
#include "core/hybrid.h"
#include "core/kind.h"
#include "core/interactions.h"
#include "core/knn.h"
#include "core/mlp.h"
#include "core/model.h"
#include "core/ncf.h"
#include "core/random.h"
#include "core/sequence.h"
#include "core/sequences.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES 3
#define USERS 12
#define ITEMS 9
#define FACTORS 3
#define FEATURES 4
#define ROWS 40
#define IDS_PER_KIND 3

static const char *directory;
static const rs_allocator *A = &rs_malloc_allocator;

static void
fail(const char *what)
{
	fprintf(stderr, "make_seeds: %s\n", what);
	exit(1);
}

static void
check(rs_status status, const char *what)
{
	if (status != RS_OK)
		fail(what);
}

/* Users like the items of their class; ratings 1..5, more for their class. */
static void
make_data(rs_interactions *data)
{
	rs_random	rng = {2009};
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < USERS; u++)
		for (int i = 0; i < ITEMS; i++)
		{
			bool		same = u % CLASSES == i % CLASSES;

			if (rs_random_uniform(&rng) < (same ? 0.7 : 0.15) &&
				!rs_buffer_append(&buf, A, 100 - 7 * (int64_t) u, (int64_t) i * 13 - 40,
								  same ? 4.0f + (float) (u % 2) : 1.0f + (float) (i % 3)))
				fail("out of memory");
		}
	check(rs_interactions_build(&buf, A, data), "building the data");
	rs_buffer_free(&buf, A);
}

static void
write_file(const char *name, int variant, const void *bytes, size_t size)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/seed-%s-%d", directory, name, variant);
	if ((f = fopen(path, "wb")) == NULL || fwrite(bytes, 1, size, f) != size || fclose(f) != 0)
		fail("cannot write a seed");
}

/*
 * The same model in format version 1: a header of 16 section slots, the
 * payload moved up behind it.  Only for models without later sections.
 */
static void
write_version_1(const unsigned char *v2, size_t size, const char *name)
{
	size_t		shift = sizeof(rs_model_header) - RS_MODEL_V1_HEADER_SIZE;
	size_t		crc_at = __builtin_offsetof(rs_model_header, payload_crc);
	size_t		len = size - shift;
	unsigned char *v1 = malloc(len);
	rs_model_header h;
	rs_model	check_back;
	uint32_t	crc;
	char		v1_name[64];

	if (!v1)
		fail("out of memory");
	memcpy(&h, v2, sizeof(h));
	for (int s = RS_MODEL_V1_SECTIONS; s < RS_SEC_COUNT; s++)
		if (h.sections[s].offset != 0)
			fail("a version 1 seed of a model with later sections");
	h.format_version = 1;
	h.header_size = RS_MODEL_V1_HEADER_SIZE;
	h.total_size = len;
	for (int s = 0; s < RS_MODEL_V1_SECTIONS; s++)
		if (h.sections[s].offset != 0)
			h.sections[s].offset -= shift;
	memcpy(v1, &h, RS_MODEL_V1_HEADER_SIZE);
	memcpy(v1 + RS_MODEL_V1_HEADER_SIZE, v2 + sizeof(rs_model_header), len - RS_MODEL_V1_HEADER_SIZE);
	crc = rs_crc32c_two(v1, crc_at, v1 + crc_at + 4, len - crc_at - 4);
	memcpy(v1 + crc_at, &crc, sizeof(crc));
	if (rs_model_decode(v1, len, &check_back) != NULL)
		fail("a version 1 seed does not decode");
	snprintf(v1_name, sizeof(v1_name), "%s_v1", name);
	write_file(v1_name, 0, v1, len);
	free(v1);
}

/* Writes the model under IDS_PER_KIND model ids, with a description as the host writes one. */
static void
write_model(rs_model *m, const char *name)
{
	static const char info[] = "{\"seed\": true, \"loss\": [0.5, 0.25]}";
	size_t		size;
	void	   *bytes;

	m->info = info;
	m->info_size = sizeof(info) - 1;
	size = rs_model_encoded_size(m);
	if (size == 0 || (bytes = malloc(size)) == NULL)
		fail("cannot encode a model");
	for (int v = 0; v < IDS_PER_KIND; v++)
	{
		rs_model	check_back;

		for (int b = 0; b < RS_MODEL_ID_BYTES; b++)
			m->model_id[b] = (uint8_t) (v * 89 + b * 37 + name[0]);
		rs_model_encode(m, bytes);
		if (rs_model_decode(bytes, size, &check_back) != NULL)
			fail("an encoded seed does not decode");
		write_file(name, v, bytes, size);
	}
	free(bytes);
	/* as version 2 wrote it (the history plain), and version 1 from that */
	size = rs_model_encoded_size_as(m, 2);
	if (size == 0 || (bytes = malloc(size)) == NULL)
		fail("cannot encode a model");
	rs_model_encode_as(m, bytes, 2);
	{
		rs_model	check_back;
		char		v2_name[64];

		if (rs_model_decode(bytes, size, &check_back) != NULL)
			fail("a version 2 seed does not decode");
		snprintf(v2_name, sizeof(v2_name), "%s_v2", name);
		write_file(v2_name, 0, bytes, size);
	}
	if (m->algorithm != RS_ALGO_KNN && m->algorithm != RS_ALGO_EASE &&
		m->algorithm != RS_ALGO_HYBRID && m->algorithm != RS_ALGO_HYBRID_RATINGS &&
		m->algorithm != RS_ALGO_SEQUENCE)
		write_version_1(bytes, size, name);
	free(bytes);
}

static rs_runtime
runtime(void)
{
	rs_runtime	rt;

	memset(&rt, 0, sizeof(rt));
	rt.alloc = rs_malloc_allocator;
	rt.threads = 1;
	return rt;
}

static void
als(const rs_interactions *data, int feedback)
{
	double		opt[RS_ALS_OPTION_COUNT];
	rs_runtime	rt = runtime();
	rs_als_result r;
	rs_model	m;

	for (int k = 0; k < RS_ALS_OPTION_COUNT; k++)
		opt[k] = rs_als_option_specs[k].default_value;
	opt[RS_ALS_FEEDBACK] = feedback;
	opt[RS_ALS_FACTORS] = FACTORS;
	opt[RS_ALS_ITERATIONS] = 3;
	opt[RS_ALS_THREADS] = 1;
	if (feedback == RS_FEEDBACK_IMPLICIT)
		opt[RS_ALS_REGULARIZATION] = 1;
	check(rs_als_fit_feedback(data, opt, &rt, &r), "ALS training");
	rs_als_model(data, &r, opt, &m);
	write_model(&m, feedback == RS_FEEDBACK_IMPLICIT ? "implicit_als" : "als");
	/* the fold-in form: no users, no history */
	rs_model_drop_users(&m);
	write_model(&m, feedback == RS_FEEDBACK_IMPLICIT ? "implicit_als_fold_in" : "als_fold_in");
	rs_als_result_free(&r, A);
}

static void
bpr(const rs_interactions *data)
{
	double		opt[RS_BPR_OPTION_COUNT];
	rs_runtime	rt = runtime();
	rs_model_params params = {0};
	rs_bpr_result r;
	rs_model	m;

	for (int k = 0; k < RS_BPR_OPTION_COUNT; k++)
		opt[k] = rs_bpr_option_specs[k].default_value;
	opt[RS_BPR_FACTORS] = FACTORS;
	opt[RS_BPR_EPOCHS] = 5;
	opt[RS_BPR_THREADS] = 1;
	check(rs_bpr_fit(data, opt, &rt, &r), "BPR training");
	params.regularization = (float) opt[RS_BPR_REGULARIZATION];
	params.learning_rate = (float) opt[RS_BPR_LEARNING_RATE];
	rs_bpr_model(data, &r, &params, &m);
	write_model(&m, "bpr");
	rs_bpr_result_free(&r, A);
}

static void
ncf(const rs_interactions *data)
{
	static const int layers[] = {4, 3};
	double		opt[RS_NCF_OPTION_COUNT];
	rs_runtime	rt = runtime();
	rs_ncf_result r;
	rs_model	m;

	for (int k = 0; k < RS_NCF_OPTION_COUNT; k++)
		opt[k] = rs_ncf_option_specs[k].default_value;
	opt[RS_NCF_FACTORS] = FACTORS;
	opt[RS_NCF_EPOCHS] = 2;
	opt[RS_NCF_THREADS] = 1;
	check(rs_ncf_fit(data, layers, 2, opt, &rt, &r), "NCF training");
	rs_ncf_model(data, &r, &m);
	write_model(&m, "ncf");
	rs_ncf_result_free(&r, A);
}

static void
knn(const rs_interactions *data, int feedback)
{
	double		opt[RS_KNN_OPTION_COUNT];
	rs_runtime	rt = runtime();
	rs_knn_result r;
	rs_model	m;

	for (int k = 0; k < RS_KNN_OPTION_COUNT; k++)
		opt[k] = rs_knn_option_specs[k].default_value;
	opt[RS_KNN_FEEDBACK] = feedback;
	opt[RS_KNN_NEIGHBORS] = 4;
	opt[RS_KNN_THREADS] = 1;
	check(rs_knn_fit(data, opt, &rt, &r), "item-kNN training");
	rs_knn_model(data, &r, &m);
	write_model(&m, feedback == RS_KNN_FEEDBACK_EXPLICIT ? "knn_explicit" : "knn");
	rs_knn_result_free(&r, A);
}

static void
ease(const rs_interactions *data, int prune)
{
	double		opt[RS_EASE_OPTION_COUNT];
	rs_runtime	rt = runtime();
	rs_ease_result r;
	rs_model	m;

	for (int k = 0; k < RS_EASE_OPTION_COUNT; k++)
		opt[k] = rs_ease_option_specs[k].default_value;
	opt[RS_EASE_LAMBDA] = 2;
	opt[RS_EASE_PRUNE] = prune;
	opt[RS_EASE_THREADS] = 1;
	check(rs_ease_fit(data, opt, &rt, &r), "EASE training");
	rs_ease_model(data, &r, &m);
	write_model(&m, prune ? "ease_pruned" : "ease");
	rs_ease_result_free(&r, A);
}

/*
 * Items tagged by their class ("c0".."c2") and parity ("even", "odd");
 * users by their class ("u0".."u2"), but the last user has no tags.
 */
static void
hybrid(const rs_interactions *data, int loss)
{
	static const char item_names[] = "c0c1c2evenodd";
	static const uint64_t item_offsets[] = {0, 2, 4, 6, 10, 13};
	static const char user_names[] = "u0u1u2";
	static const uint64_t user_offsets[] = {0, 2, 4, 6};
	uint64_t	item_ptr[ITEMS + 1],
				user_ptr[USERS + 1];
	int32_t		item_tags[2 * ITEMS],
				user_tags[USERS];
	rs_tag_table items = {5, item_offsets, item_names, data->n_items, item_ptr, item_tags};
	rs_tag_table users = {3, user_offsets, user_names, data->n_users, user_ptr, user_tags};
	double		opt[RS_HYBRID_OPTION_COUNT];
	rs_runtime	rt = runtime();
	rs_fit_input in = {0};
	rs_fit		f = {0};

	item_ptr[0] = user_ptr[0] = 0;
	for (int32_t i = 0; i < data->n_items; i++)
	{
		int64_t		id = data->item_ids[i];

		item_tags[2 * i] = (int32_t) (((id % CLASSES) + CLASSES) % CLASSES);
		item_tags[2 * i + 1] = (id & 1) ? 4 : 3;
		item_ptr[i + 1] = item_ptr[i] + 2;
	}
	for (int32_t u = 0; u < data->n_users; u++)
	{
		user_ptr[u + 1] = user_ptr[u];
		if (u + 1 < data->n_users)
			user_tags[user_ptr[u + 1]++] = u % CLASSES;
	}
	for (int k = 0; k < RS_HYBRID_OPTION_COUNT; k++)
		opt[k] = rs_hybrid_option_specs[k].default_value;
	opt[RS_HYBRID_FACTORS] = FACTORS;
	opt[RS_HYBRID_EPOCHS] = 3;
	opt[RS_HYBRID_THREADS] = 1;
	opt[RS_HYBRID_LOSS] = loss;
	in.data = data;
	in.options = opt;
	in.user_tags = &users;
	in.item_tags = &items;
	check(rs_kind_of(RS_ALGO_HYBRID)->fit(&in, &rt, &f), "hybrid training");
	write_model(&f.model, f.model.algorithm == RS_ALGO_HYBRID_RATINGS ? "hybrid_ratings" : "hybrid");
	free((void *) f.model.user_factors);
	free((void *) f.model.user_bias);
	rs_model_drop_users(&f.model);
	write_model(&f.model, f.model.algorithm == RS_ALGO_HYBRID_RATINGS ?
				"hybrid_ratings_fold_in" : "hybrid_fold_in");
	free((void *) f.model.item_factors);
	free((void *) f.model.item_bias);
	free((void *) f.model.item_popularity);
	free((void *) f.model.user_tag_vectors);
	free((void *) f.model.item_tag_vectors);
	free((void *) f.loss);
}

/*
 * Each user's items in an order of their own: a time that mixes the user's
 * and the item's ids, ties among them (broken by item id); every other user
 * sees their first item again at the end, so sequences hold repeats.  With
 * max_length 4, users of more events are stored truncated.
 */
static void
sequence(const rs_interactions *data, int blocks, int heads, const char *name)
{
	size_t		n = data->nnz + (size_t) data->n_users;
	int64_t    *users = malloc(sizeof(int64_t) * n),
			   *items = malloc(sizeof(int64_t) * n),
			   *at = malloc(sizeof(int64_t) * n);
	size_t		rows = 0;
	rs_sequences seq;
	double		opt[RS_SEQ_OPTION_COUNT];
	rs_runtime	rt = runtime();
	rs_fit_input in = {0};
	rs_fit		f = {0};
	int			truncated = 0;

	if (!users || !items || !at)
		fail("out of memory");
	for (int32_t u = 0; u < data->n_users; u++)
	{
		for (size_t k = data->user_ptr[u]; k < data->user_ptr[u + 1]; k++)
		{
			int64_t		item = data->item_ids[data->user_items[k]];

			users[rows] = data->user_ids[u];
			items[rows] = item;
			at[rows++] = (data->user_ids[u] * 31 + item * 17) % 5;
		}
		if (u % 2 == 0 && data->user_ptr[u + 1] > data->user_ptr[u])
		{
			users[rows] = data->user_ids[u];
			items[rows] = data->item_ids[data->user_items[data->user_ptr[u]]];
			at[rows++] = 1000;
		}
	}
	check(rs_sequences_build(users, items, at, rows, data, A, &seq), "ordering the events");
	for (int k = 0; k < RS_SEQ_OPTION_COUNT; k++)
		opt[k] = rs_sequence_option_specs[k].default_value;
	opt[RS_SEQ_FACTORS] = FACTORS;
	opt[RS_SEQ_BLOCKS] = blocks;
	opt[RS_SEQ_HEADS] = heads;
	opt[RS_SEQ_MAX_LENGTH] = 4;
	opt[RS_SEQ_EPOCHS] = 2;
	opt[RS_SEQ_BATCH_SIZE] = 8;
	opt[RS_SEQ_NEGATIVES] = 5;
	opt[RS_SEQ_THREADS] = 1;
	in.data = data;
	in.sequences = &seq;
	in.options = opt;
	check(rs_kind_of(RS_ALGO_SEQUENCE)->fit(&in, &rt, &f), "sequence model training");
	for (int32_t u = 0; u < data->n_users; u++)
		truncated += seq.ptr[u + 1] - seq.ptr[u] > 4;
	if (truncated == 0)
		fail("no sequence seed user has more events than max_length");
	write_model(&f.model, name);
	free((void *) f.model.user_factors);
	free((void *) f.model.item_factors);
	free((void *) f.model.item_bias);
	free((void *) f.model.item_popularity);
	free((void *) f.model.mlp_sizes);
	free((void *) f.model.mlp_weights);
	free((void *) f.model.sequence_ptr);
	free((void *) f.model.sequence_items);
	free((void *) f.series[0].values);
	free((void *) f.loss);
	rs_sequences_free(&seq, A);
	free(users);
	free(items);
	free(at);
}

/* A label that depends on the features: their sum's sign. */
static void
mlp(int loss, int activation)
{
	static const int hidden[] = {3, 2};
	float		features[ROWS * FEATURES],
				labels[ROWS];
	double		opt[RS_MLP_OPTION_COUNT];
	rs_runtime	rt = runtime();
	rs_random	rng = {7};
	rs_mlp_result r;
	rs_model	m;

	for (int row = 0; row < ROWS; row++)
	{
		float		sum = 0.0f;

		for (int c = 0; c < FEATURES; c++)
			sum += features[row * FEATURES + c] = (float) rs_random_uniform(&rng) - 0.5f;
		labels[row] = loss == RS_LOSS_MSE ? 2.0f * sum : (float) (sum > 0.0f);
	}
	for (int k = 0; k < RS_MLP_OPTION_COUNT; k++)
		opt[k] = rs_mlp_option_specs[k].default_value;
	opt[RS_MLP_LOSS] = loss;
	opt[RS_MLP_ACTIVATION] = activation;
	opt[RS_MLP_EPOCHS] = 3;
	opt[RS_MLP_BATCH_SIZE] = 8;
	check(rs_mlp_fit(features, labels, ROWS, FEATURES, hidden, loss == RS_LOSS_MSE ? 1 : 2,
					 opt, &rt, &r), "MLP training");
	rs_mlp_model(&r, &m);
	write_model(&m, loss == RS_LOSS_MSE ? "mlp_mse" : "mlp");
	rs_mlp_result_free(&r, A);
}

int
main(int argc, char **argv)
{
	rs_interactions data;

	if (argc != 2)
	{
		fprintf(stderr, "usage: make_seeds DIRECTORY\n");
		return 2;
	}
	directory = argv[1];
	rs_blas_single_threaded();
	make_data(&data);
	als(&data, RS_FEEDBACK_EXPLICIT);
	als(&data, RS_FEEDBACK_IMPLICIT);
	bpr(&data);
	ncf(&data);
	knn(&data, RS_KNN_FEEDBACK_IMPLICIT);
	knn(&data, RS_KNN_FEEDBACK_EXPLICIT);
	ease(&data, 0);
	ease(&data, 2);
	hybrid(&data, RS_HYBRID_LOSS_WARP);
	hybrid(&data, RS_HYBRID_LOSS_SQUARED);
	sequence(&data, 1, 3, "sequence");
	sequence(&data, 2, 1, "sequence_2blocks");
	mlp(RS_LOSS_CROSS_ENTROPY, RS_ACTIVATION_RELU);
	mlp(RS_LOSS_MSE, RS_ACTIVATION_TANH);
	rs_interactions_free(&data, A);
	return 0;
}
