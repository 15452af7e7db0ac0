/*
 * sequence.c - the sequence kind (sequence.h): training SASRec with a
 * sampled softmax, and serving it.
 *
 * A batch is batch_size users' windows, cut into parts of PART_SEQUENCES
 * that threads take in turn.  A part works on a local copy of the embedding
 * rows it reads - the batch's negatives first, so that they are one
 * contiguous block for sgemm, then its inputs and next items - and writes
 * its gradients to buffers of its own: the network's, and one row per local
 * row.  The calling thread adds the parts in part order and takes the Adam
 * step.  Parts depend on the batch alone, so a seed gives the same model bit
 * for bit on any number of threads, and a part's memory goes with its
 * tokens, never with the catalogue.
 */
#include "sequence.h"

#include "factor_model.h"
#include "fp_mode.h"
#include "kind.h"
#include "neural_layers.h"
#include "sampled_softmax.h"
#include "scoring.h"
#include "sequences.h"
#include "thread_pool.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const rs_option_spec rs_sequence_option_specs[RS_SEQ_OPTION_COUNT] = {
	[RS_SEQ_FACTORS] = {"factors", RS_OPT_INT, 64, 1, 1024, false, NULL},
	[RS_SEQ_BLOCKS] = {"blocks", RS_OPT_INT, 2, 1, 16, false, NULL},
	[RS_SEQ_HEADS] = {"heads", RS_OPT_INT, 1, 1, 64, false, NULL},
	[RS_SEQ_MAX_LENGTH] = {"max_length", RS_OPT_INT, 50, 1, RS_SEQUENCE_MAX_LENGTH, false, NULL},
	[RS_SEQ_DROPOUT] = {"dropout", RS_OPT_REAL, 0.2, 0, 0.9, false, NULL},
	[RS_SEQ_EPOCHS] = {"epochs", RS_OPT_INT, 50, 1, 10000, false, NULL},
	[RS_SEQ_BATCH_SIZE] = {"batch_size", RS_OPT_INT, 128, 1, 65536, false, NULL},
	[RS_SEQ_LEARNING_RATE] = {"learning_rate", RS_OPT_REAL, 0.001, 0, 1, true, NULL},
	[RS_SEQ_L2] = {"l2", RS_OPT_REAL, 0, 0, 1e6, false, NULL},
	[RS_SEQ_NEGATIVES] = {"negatives", RS_OPT_INT, 256, 1, 100000, false, NULL},
	[RS_SEQ_VALIDATION] = {"validation", RS_OPT_BOOL, 0, 0, 1, false, NULL},
	[RS_SEQ_SEED] = {"seed", RS_OPT_INT, 42, 0, 2147483647, false, NULL},
	[RS_SEQ_THREADS] = {"threads", RS_OPT_INT, 0, 0, 1024, false, NULL},
	[RS_SEQ_VERBOSE] = {"verbose", RS_OPT_BOOL, 0, 0, 1, false, NULL},
};

#define PART_SEQUENCES 16		/* users' windows per part, each part one task */
/*
 * Choosing the epochs ("validation"): the last event of up to
 * VALIDATION_USERS users with three or more is held out, the model is
 * scored on them (NDCG@10 over every item they have not seen) every
 * VALIDATE_EVERY epochs, and the search stops PATIENCE epochs after the
 * best, or at `epochs`; the final model trains on every event for the best
 * number.  Fewer than VALIDATION_MIN such users: no search.
 */
#define VALIDATION_USERS 1000
#define VALIDATION_MIN 50
#define VALIDATION_MAX_EPOCHS 200
#define VALIDATE_EVERY 5
#define PATIENCE 20
#define SCORE_BLOCK 64			/* validation users scored by one sgemm */
#define SHAPE_SIZES 4			/* MLP_SIZES: factors, blocks, heads, max_length */

/* One part of a batch: its windows, local embedding rows and gradients. */
typedef struct part
{
	rs_attention_workspace ws;
	int32_t    *slot;			/* n_items: an item's local row, or -1 */
	int32_t    *local_items;	/* local row -> dense item */
	float	   *local_rows;		/* local rows of E */
	float	   *local_grad;		/* their gradients */
	float	   *local_bias;		/* the rows' item biases */
	float	   *local_bias_grad;
	int32_t    *inputs;			/* tokens, as local rows */
	int32_t    *targets;		/* each token's next item, as a local row */
	int32_t		lengths[PART_SEQUENCES];
	int			n_seq;
	int			n_local;
	size_t		tokens;
	float	   *d_weights;
	float	   *d_out;			/* tokens x factors */
	float	   *logits;			/* tokens x negatives */
	double		loss;
} part;

/* Everything of one training; parts read it, the calling thread writes it. */
typedef struct trainer
{
	rs_attention net;
	int			d;
	int			negatives;
	float		dropout;
	int32_t		n_items;
	const rs_sequences *seq;
	const int32_t *order;		/* training users in this epoch's order */
	size_t		batch_begin;	/* position in order of the batch's first user */
	int			batch_users;
	const int32_t *batch_negatives;
	size_t		batch_tokens;
	uint64_t	seed;
	int			epoch;
	size_t		batch_number;
	float	   *weights;
	float	   *embeddings;		/* E, n_items x d */
	float	   *bias;			/* b, n_items */
	part	   *parts;
	int			batch_parts;	/* parts of a full batch: numbers the parts' streams */
	int			max_parts;		/* that, or the threads if more (encoding users) */
	float	   *user_rows;		/* encoding: a row per user encoded */
	const int32_t *encode_list; /* the users to encode, or NULL for all */
	size_t		encode_count;
	size_t		part_tokens;	/* capacity */
	size_t		part_rows;		/* local rows capacity */
} trainer;

/* Where a user's training window starts: the last max_length + 1 events. */
static size_t
window_begin(const trainer *t, int32_t user)
{
	size_t		begin = t->seq->ptr[user],
				end = t->seq->ptr[user + 1];
	size_t		span = (size_t) t->net.max_length + 1;

	return end - begin > span ? end - span : begin;
}

static int32_t
local_row(part *p, int32_t item)
{
	if (p->slot[item] < 0)
	{
		p->slot[item] = p->n_local;
		p->local_items[p->n_local++] = item;
	}
	return p->slot[item];
}

/* A part: gathers its rows, forwards, takes the loss and back-propagates. */
static void
learn_part(void *arg, int worker, size_t begin, size_t end)
{
	trainer    *t = arg;
	int			d = t->d;

	for (size_t number = begin; number < end; number++)
	{
		part	   *p = &t->parts[number];
		size_t		first = number * PART_SEQUENCES;
		size_t		last = first + PART_SEQUENCES;
		rs_random	rng = rs_random_for(t->seed, t->epoch,
										t->batch_number * (size_t) t->batch_parts + number);
		const float *out;
		rs_softmax_batch softmax;

		if (last > (size_t) t->batch_users)
			last = (size_t) t->batch_users;
		p->n_local = 0;
		p->tokens = 0;
		p->n_seq = 0;
		for (int j = 0; j < t->negatives; j++)
		{
			/* every draw its own row: the block stays n rows long */
			int32_t		item = t->batch_negatives[j];

			if (p->slot[item] < 0)
				p->slot[item] = p->n_local;
			p->local_items[p->n_local++] = item;
		}
		for (size_t s = first; s < last; s++)
		{
			int32_t		user = t->order[t->batch_begin + s];
			size_t		from = window_begin(t, user),
						to = t->seq->ptr[user + 1];

			for (size_t k = from; k + 1 < to; k++)
			{
				p->inputs[p->tokens] = local_row(p, t->seq->items[k]);
				p->targets[p->tokens] = local_row(p, t->seq->items[k + 1]);
				p->tokens++;
			}
			p->lengths[p->n_seq++] = (int32_t) (to - from - 1);
		}
		for (int r = 0; r < p->n_local; r++)
		{
			memcpy(p->local_rows + (size_t) r * d,
				   t->embeddings + (size_t) p->local_items[r] * d, sizeof(float) * d);
			p->local_bias[r] = t->bias[p->local_items[r]];
		}
		memset(p->local_grad, 0, sizeof(float) * (size_t) p->n_local * d);
		memset(p->local_bias_grad, 0, sizeof(float) * (size_t) p->n_local);
		memset(p->d_weights, 0, sizeof(float) * t->net.n_weights);

		out = rs_attention_forward(&t->net, t->weights, p->local_rows, p->inputs, p->lengths,
								   p->n_seq, t->dropout, &rng, &p->ws);
		softmax = (rs_softmax_batch) {p->tokens, d, t->negatives, out, p->targets, p->local_rows,
			p->local_bias, p->local_items};
		p->loss = rs_sampled_softmax(&softmax, 1.0f / (float) t->batch_tokens, p->logits, p->d_out,
									 p->local_grad, p->local_bias_grad);
		rs_attention_backward(&t->net, t->weights, p->local_rows, &p->ws, p->d_out,
							  p->d_weights, p->local_grad);
		for (int r = 0; r < p->n_local; r++)
			p->slot[p->local_items[r]] = -1;
	}
}

/*
 * Encoding each user's last max_length events, PART_SEQUENCES users a
 * task, on the workspace of the worker's own part: what serving a known
 * user reads, so that it costs what a factor model's does.
 */
static void
encode_users(void *arg, int worker, size_t begin, size_t end)
{
	trainer    *t = arg;
	part	   *p = &t->parts[worker];
	int			d = t->d;

	for (size_t number = begin; number < end; number++)
	{
		size_t		first = number * PART_SEQUENCES;
		size_t		last = first + PART_SEQUENCES;
		const float *out;
		size_t		at = 0;

		if (last > t->encode_count)
			last = t->encode_count;
		p->tokens = 0;
		for (size_t k = first; k < last; k++)
		{
			int32_t		u = t->encode_list ? t->encode_list[k] : (int32_t) k;
			size_t		from = t->seq->ptr[u],
						to = t->seq->ptr[u + 1];

			if (to - from > (size_t) t->net.max_length)
				from = to - (size_t) t->net.max_length;
			memcpy(p->inputs + p->tokens, t->seq->items + from, sizeof(int32_t) * (to - from));
			p->tokens += to - from;
			p->lengths[k - first] = (int32_t) (to - from);
		}
		out = rs_attention_forward(&t->net, t->weights, t->embeddings, p->inputs, p->lengths,
								   (int) (last - first), 0.0f, NULL, &p->ws);
		for (size_t k = first; k < last; k++)
		{
			at += (size_t) p->lengths[k - first];
			memcpy(t->user_rows + k * d, out + (at - 1) * d, sizeof(float) * d);
		}
	}
}

static void
free_parts(trainer *t, const rs_allocator *a)
{
	if (!t->parts)
		return;
	for (int k = 0; k < t->max_parts; k++)
	{
		part	   *p = &t->parts[k];

		rs_attention_workspace_free(&p->ws, a);
		rs_free(a, p->slot);
		rs_free(a, p->local_items);
		rs_free(a, p->local_rows);
		rs_free(a, p->local_grad);
		rs_free(a, p->local_bias);
		rs_free(a, p->local_bias_grad);
		rs_free(a, p->inputs);
		rs_free(a, p->targets);
		rs_free(a, p->d_weights);
		rs_free(a, p->d_out);
		rs_free(a, p->logits);
	}
	rs_free(a, t->parts);
	t->parts = NULL;
}

/* About what attention.h says a workspace takes per token. */
static size_t
workspace_bytes(const rs_attention *net, size_t tokens)
{
	return tokens * sizeof(float) * ((size_t) (11 * net->blocks + 12) * net->factors +
									 (size_t) net->blocks * net->heads * net->max_length);
}

/* Bytes of everything a part holds, for the report of training memory. */
static size_t
alloc_parts(trainer *t, const rs_allocator *a, int batch, int threads)
{
	size_t		d = (size_t) t->d;
	size_t		bytes = 0;

	/* a batch's parts, and one per thread for encoding the users */
	t->batch_parts = (batch + PART_SEQUENCES - 1) / PART_SEQUENCES;
	t->max_parts = t->batch_parts;
	if (t->max_parts < threads)
		t->max_parts = threads;
	t->part_tokens = (size_t) PART_SEQUENCES * t->net.max_length;
	t->part_rows = 2 * t->part_tokens + (size_t) t->negatives;
	t->parts = rs_alloc(a, sizeof(part) * (size_t) t->max_parts);
	if (!t->parts)
		return 0;
	memset(t->parts, 0, sizeof(part) * (size_t) t->max_parts);
	for (int k = 0; k < t->max_parts; k++)
	{
		part	   *p = &t->parts[k];

		p->slot = rs_alloc(a, sizeof(int32_t) * (size_t) t->n_items);
		p->local_items = rs_alloc(a, sizeof(int32_t) * t->part_rows);
		p->local_rows = rs_alloc(a, sizeof(float) * t->part_rows * d);
		p->local_grad = rs_alloc(a, sizeof(float) * t->part_rows * d);
		p->local_bias = rs_alloc(a, sizeof(float) * t->part_rows);
		p->local_bias_grad = rs_alloc(a, sizeof(float) * t->part_rows);
		p->inputs = rs_alloc(a, sizeof(int32_t) * t->part_tokens);
		p->targets = rs_alloc(a, sizeof(int32_t) * t->part_tokens);
		p->d_weights = rs_alloc(a, sizeof(float) * t->net.n_weights);
		p->d_out = rs_alloc(a, sizeof(float) * t->part_tokens * d);
		p->logits = rs_alloc(a, sizeof(float) * t->part_tokens * (size_t) t->negatives);
		if (!p->slot || !p->local_items || !p->local_rows || !p->local_grad || !p->local_bias ||
			!p->local_bias_grad || !p->inputs ||
			!p->targets || !p->d_weights || !p->d_out || !p->logits ||
			!rs_attention_workspace_init(&p->ws, &t->net, t->part_tokens, a))
			return 0;
		for (int32_t i = 0; i < t->n_items; i++)
			p->slot[i] = -1;
		bytes += sizeof(int32_t) * (size_t) t->n_items +
			t->part_rows * (sizeof(int32_t) + 2 * sizeof(float) * (d + 1)) +
			t->part_tokens * (2 * sizeof(int32_t) + sizeof(float) * (d + (size_t) t->negatives)) +
			sizeof(float) * t->net.n_weights +
			workspace_bytes(&t->net, t->part_tokens);
	}
	return bytes;
}

/* What a fit gives back, in the runtime's memory. */
typedef struct sequence_result
{
	float	   *embeddings;
	float	   *bias;			/* each item's */
	float	   *user_rows;		/* each user's encoding */
	float	   *weights;
	double	   *loss;
	int			epochs;
	double		memory_mb;		/* training buffers, the model's own arrays included */
} sequence_result;

static void
sequence_result_free(sequence_result *r, const rs_allocator *a)
{
	rs_free(a, r->embeddings);
	rs_free(a, r->user_rows);
	rs_free(a, r->bias);
	rs_free(a, r->weights);
	rs_free(a, r->loss);
	memset(r, 0, sizeof(*r));
}

static bool
all_finite(const float *x, size_t count)
{
	for (size_t k = 0; k < count; k++)
		if (!isfinite(x[k]))
			return false;
	return true;
}

/* The held-out last events the number of epochs is chosen by. */
typedef struct validation
{
	rs_sequences train;			/* every user's events, the held-out ones left out */
	int32_t    *users;
	int32_t    *targets;		/* each one's held-out item */
	size_t		n;
	float	   *rows;			/* n x d: their encodings */
	float	   *scores;			/* SCORE_BLOCK x n_items */
	bool	   *seen;			/* n_items */
	double	   *ndcg;			/* per check */
	int			checks;
	int			best_epoch;
	double		best;
} validation;

/* NDCG@10 of the held-out items over every item their users have not seen. */
static rs_status
validate(trainer *t, rs_pool *pool, const rs_runtime *rt, validation *v, int epoch)
{
	int			d = t->d;
	double		sum = 0.0;
	rs_status	status;

	t->encode_list = v->users;
	t->encode_count = v->n;
	t->user_rows = v->rows;
	status = rs_pool_run(pool, rt, (v->n + PART_SEQUENCES - 1) / PART_SEQUENCES, 1,
						 encode_users, t);
	if (status != RS_OK)
		return status;
	for (size_t first = 0; first < v->n; first += SCORE_BLOCK)
	{
		size_t		count = v->n - first < SCORE_BLOCK ? v->n - first : SCORE_BLOCK;

		for (size_t k = 0; k < count; k++)
			memcpy(v->scores + k * t->n_items, t->bias, sizeof(float) * (size_t) t->n_items);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) count, t->n_items, d, 1.0f,
					v->rows + first * d, d, t->embeddings, d, 1.0f, v->scores, t->n_items);
		for (size_t k = 0; k < count; k++)
		{
			int32_t		user = v->users[first + k];
			const float *score = v->scores + k * t->n_items;
			float		target = score[v->targets[first + k]];
			size_t		above = 0;

			for (size_t e = v->train.ptr[user]; e < v->train.ptr[user + 1]; e++)
				v->seen[v->train.items[e]] = true;
			for (int32_t i = 0; i < t->n_items; i++)
				above += score[i] > target && !v->seen[i];
			for (size_t e = v->train.ptr[user]; e < v->train.ptr[user + 1]; e++)
				v->seen[v->train.items[e]] = false;
			if (above < 10)
				sum += 1.0 / log2((double) above + 2.0);
		}
	}
	v->ndcg[v->checks] = sum / (double) v->n;
	if (v->checks == 0 || v->ndcg[v->checks] > v->best)
	{
		v->best = v->ndcg[v->checks];
		v->best_epoch = epoch;
	}
	v->checks++;
	return RS_OK;
}

static rs_status
sequence_train(const rs_sequences *seq, int32_t n_items, const double *opt,
			   validation *val, const rs_runtime *rt, sequence_result *r)
{
	const rs_allocator *a = &rt->alloc;
	trainer		t = {0};
	int			d = (int) opt[RS_SEQ_FACTORS];
	int			epochs = (int) opt[RS_SEQ_EPOCHS];
	int			batch = (int) opt[RS_SEQ_BATCH_SIZE];
	float		l2 = (float) opt[RS_SEQ_L2];
	rs_optimizer o = {.kind = RS_OPTIMIZER_ADAM, .rate = (float) opt[RS_SEQ_LEARNING_RATE]};
	rs_random	rng;
	size_t		n_embed = (size_t) n_items * d;
	int32_t    *order = NULL,
			   *negatives = NULL,
			   *touched = NULL;
	bool	   *marked = NULL;
	float	   *w_m = NULL,
			   *w_v = NULL,
			   *w_grad = NULL,
			   *e_m = NULL,
			   *e_v = NULL,
			   *e_grad = NULL,
			   *b_m = NULL,
			   *b_v = NULL,
			   *b_grad = NULL;
	size_t		n_train = 0,
				part_bytes;
	rs_pool    *pool = NULL;
	int			threads = rt->threads < 1 ? 1 : rt->threads;
	rs_status	status = RS_OK;

	memset(r, 0, sizeof(*r));
	if (!rs_attention_init(&t.net, d, (int) opt[RS_SEQ_BLOCKS], (int) opt[RS_SEQ_HEADS],
						   (int) opt[RS_SEQ_MAX_LENGTH]))
		return RS_TOO_LARGE;
	t.d = d;
	t.negatives = (int) opt[RS_SEQ_NEGATIVES];
	t.dropout = (float) opt[RS_SEQ_DROPOUT];
	t.n_items = n_items;
	t.seq = seq;
	t.seed = (uint64_t) opt[RS_SEQ_SEED];
	rng = (rs_random) {t.seed};

	r->embeddings = rs_alloc(a, sizeof(float) * n_embed);
	r->bias = rs_alloc(a, sizeof(float) * ((size_t) n_items + 1));
	b_m = rs_alloc(a, sizeof(float) * ((size_t) n_items + 1));
	b_v = rs_alloc(a, sizeof(float) * ((size_t) n_items + 1));
	b_grad = rs_alloc(a, sizeof(float) * ((size_t) n_items + 1));
	r->user_rows = rs_alloc(a, sizeof(float) * ((size_t) seq->n_users * d + 1));
	r->weights = rs_alloc(a, sizeof(float) * t.net.n_weights);
	r->loss = rs_alloc(a, sizeof(double) * (size_t) epochs);
	order = rs_alloc(a, sizeof(int32_t) * ((size_t) seq->n_users + 1));
	negatives = rs_alloc(a, sizeof(int32_t) * (size_t) t.negatives);
	touched = rs_alloc(a, sizeof(int32_t) * ((size_t) n_items + 1));
	marked = rs_alloc(a, sizeof(bool) * ((size_t) n_items + 1));
	w_m = rs_alloc(a, sizeof(float) * t.net.n_weights);
	w_v = rs_alloc(a, sizeof(float) * t.net.n_weights);
	w_grad = rs_alloc(a, sizeof(float) * t.net.n_weights);
	e_m = rs_alloc(a, sizeof(float) * n_embed);
	e_v = rs_alloc(a, sizeof(float) * n_embed);
	e_grad = rs_alloc(a, sizeof(float) * n_embed);
	pool = rs_pool_create(threads, a);
	if (!r->embeddings || !r->bias || !b_m || !b_v || !b_grad || !r->user_rows || !r->weights || !r->loss || !order || !negatives || !touched ||
		!marked || !w_m || !w_v || !w_grad || !e_m || !e_v || !e_grad || !pool ||
		(part_bytes = alloc_parts(&t, a, batch, threads)) == 0)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	r->memory_mb = (double) (part_bytes + sizeof(float) * (5 * (n_embed + (size_t) n_items) +
													 4 * t.net.n_weights +
													 (size_t) seq->n_users * d) +
							 (sizeof(int32_t) + sizeof(bool)) * (size_t) n_items) / 1048576.0;

	/* embeddings of unit expected length; the network's own initialisation */
	for (size_t k = 0; k < n_embed; k++)
		r->embeddings[k] = (float) (rs_random_normal(&rng) / sqrt((double) d));
	rs_attention_initial_weights(&t.net, r->weights, &rng);
	memset(w_m, 0, sizeof(float) * t.net.n_weights);
	memset(w_v, 0, sizeof(float) * t.net.n_weights);
	memset(e_m, 0, sizeof(float) * n_embed);
	memset(e_v, 0, sizeof(float) * n_embed);
	memset(e_grad, 0, sizeof(float) * n_embed);
	/*
	 * Biases start at the items' log frequency, what a softmax without
	 * context would learn: Adam moves a rare item's bias by about the
	 * learning rate each time it is drawn, far too seldom to learn that
	 * from the negatives alone.
	 */
	memset(r->bias, 0, sizeof(float) * (size_t) n_items);
	for (size_t k = 0; k < seq->ptr[seq->n_users]; k++)
		r->bias[seq->items[k]] += 1.0f;
	for (int32_t i = 0; i < n_items; i++)
		r->bias[i] = logf(r->bias[i] + 1.0f);
	memset(b_m, 0, sizeof(float) * (size_t) n_items);
	memset(b_v, 0, sizeof(float) * (size_t) n_items);
	memset(b_grad, 0, sizeof(float) * (size_t) n_items);
	memset(marked, 0, sizeof(bool) * (size_t) n_items);
	t.weights = r->weights;
	t.embeddings = r->embeddings;
	t.bias = r->bias;
	t.order = order;
	t.batch_negatives = negatives;

	/* users with a next event to predict */
	for (int32_t u = 0; u < seq->n_users; u++)
		if (seq->ptr[u + 1] - seq->ptr[u] >= 2)
			order[n_train++] = u;

	for (int ep = 0; ep < epochs; ep++)
	{
		double		started = rs_now(),
					sum = 0.0;
		size_t		tokens = 0;

		t.epoch = ep;
		for (size_t k = n_train; k > 1; k--)
		{
			size_t		j = rs_random_below(&rng, k);
			int32_t		swap = order[k - 1];

			order[k - 1] = order[j];
			order[j] = swap;
		}
		t.batch_number = 0;
		for (size_t begin = 0; begin < n_train; begin += (size_t) batch, t.batch_number++)
		{
			rs_random	batch_rng = rs_random_for(t.seed, ep, t.batch_number);
			size_t		parts,
						n_touched = 0;

			t.batch_begin = begin;
			t.batch_users = (int) (n_train - begin < (size_t) batch ? n_train - begin : (size_t) batch);
			t.batch_tokens = 0;
			for (int s = 0; s < t.batch_users; s++)
			{
				int32_t		user = order[begin + s];

				t.batch_tokens += seq->ptr[user + 1] - window_begin(&t, user) - 1;
			}
			for (int j = 0; j < t.negatives; j++)
				negatives[j] = (int32_t) rs_random_below(&batch_rng, (size_t) n_items);
			parts = ((size_t) t.batch_users + PART_SEQUENCES - 1) / PART_SEQUENCES;
			if ((status = rs_pool_run(pool, rt, parts, 1, learn_part, &t)) != RS_OK)
				goto done;

			/* the parts' gradients, added in part order */
			memcpy(w_grad, t.parts[0].d_weights, sizeof(float) * t.net.n_weights);
			for (size_t p = 1; p < parts; p++)
				cblas_saxpy((int) t.net.n_weights, 1.0f, t.parts[p].d_weights, 1, w_grad, 1);
			for (size_t p = 0; p < parts; p++)
			{
				part	   *pp = &t.parts[p];

				sum += pp->loss;
				for (int row = 0; row < pp->n_local; row++)
				{
					int32_t		item = pp->local_items[row];

					if (!marked[item])
					{
						marked[item] = true;
						touched[n_touched++] = item;
					}
					cblas_saxpy(d, 1.0f, pp->local_grad + (size_t) row * d, 1,
								e_grad + (size_t) item * d, 1);
					b_grad[item] += pp->local_bias_grad[row];
				}
			}
			tokens += t.batch_tokens;
			if (l2 > 0)
				cblas_saxpy((int) t.net.n_weights, l2, r->weights, 1, w_grad, 1);
			rs_optimizer_begin_step(&o);
			rs_optimizer_update(&o, r->weights, w_m, w_v, w_grad, t.net.n_weights);
			for (size_t k = 0; k < n_touched; k++)
			{
				size_t		at = (size_t) touched[k] * d;

				if (l2 > 0)
					cblas_saxpy(d, l2, r->embeddings + at, 1, e_grad + at, 1);
				rs_optimizer_update(&o, r->embeddings + at, e_m + at, e_v + at, e_grad + at,
									(size_t) d);
				memset(e_grad + at, 0, sizeof(float) * d);
				rs_optimizer_update(&o, r->bias + touched[k], b_m + touched[k], b_v + touched[k],
									b_grad + touched[k], 1);
				b_grad[touched[k]] = 0.0f;
				marked[touched[k]] = false;
			}
		}
		r->loss[ep] = tokens ? sum / (double) tokens : 0.0;
		if (!isfinite(r->loss[ep]))
		{
			status = RS_NUMERICAL_FAILURE;
			goto done;
		}
		r->epochs = ep + 1;
		if (rt->progress)
			rt->progress(rt->arg, ep + 1, r->loss[ep], rs_now() - started);
		if (val && (ep + 1) % VALIDATE_EVERY == 0)
		{
			if ((status = validate(&t, pool, rt, val, ep + 1)) != RS_OK)
				goto done;
			if (ep + 1 - val->best_epoch >= PATIENCE)
				break;
		}
	}
	if (val)
		goto done;				/* a search: only the best epoch is wanted */
	if (!all_finite(r->weights, t.net.n_weights) || !all_finite(r->embeddings, n_embed) ||
		!all_finite(r->bias, (size_t) n_items))
	{
		status = RS_NUMERICAL_FAILURE;
		goto done;
	}
	t.user_rows = r->user_rows;
	t.encode_list = NULL;
	t.encode_count = (size_t) seq->n_users;
	status = rs_pool_run(pool, rt, ((size_t) seq->n_users + PART_SEQUENCES - 1) / PART_SEQUENCES,
						 1, encode_users, &t);

done:
	rs_pool_destroy(pool, a);
	free_parts(&t, a);
	rs_free(a, order);
	rs_free(a, negatives);
	rs_free(a, touched);
	rs_free(a, marked);
	rs_free(a, w_m);
	rs_free(a, w_v);
	rs_free(a, w_grad);
	rs_free(a, e_m);
	rs_free(a, e_v);
	rs_free(a, e_grad);
	rs_free(a, b_m);
	rs_free(a, b_v);
	rs_free(a, b_grad);
	if (status != RS_OK)
		sequence_result_free(r, a);
	return status;
}

/* The heads must split the factors evenly. */
static bool
prepare_options(double *options, const bool *given, const int *widths, int n_widths,
				rs_report *why)
{
	int			factors = (int) options[RS_SEQ_FACTORS];
	int			heads = (int) options[RS_SEQ_HEADS];

	if (factors % heads == 0)
		return true;
	snprintf(why->message, sizeof(why->message),
			 "option \"heads\" of train_sequence must divide option \"factors\"");
	snprintf(why->detail, sizeof(why->detail),
			 "Each of %d heads would get %d / %d factors.", heads, factors, heads);
	snprintf(why->hint, sizeof(why->hint),
			 "Choose a number of heads such as 1, 2 or 4 with factors a multiple of it.");
	return false;
}

/*
 * Dropout follows the data, as SASRec chose it: 0.5 on sparse data (its
 * Amazon and Steam sets, under ten items a user), the default 0.2 on dense
 * data (MovieLens, over a hundred).  The line between them is a mean user
 * with half a window of items: shorter histories are learnt from fewer
 * positions, and overfit sooner.
 */
#define SPARSE_DROPOUT 0.5

static void
adapt_options(double *options, const bool *given, const rs_interactions *data)
{
	double		mean_items = data->n_users > 0 ? (double) data->nnz / data->n_users : 0.0;

	if (!given[RS_SEQ_DROPOUT] && mean_items < options[RS_SEQ_MAX_LENGTH] / 2.0)
		options[RS_SEQ_DROPOUT] = SPARSE_DROPOUT;
	/* without a number of epochs, the data chooses it, up to a maximum */
	if (!given[RS_SEQ_EPOCHS] && !given[RS_SEQ_VALIDATION])
		options[RS_SEQ_VALIDATION] = 1;
	if (!given[RS_SEQ_EPOCHS] && options[RS_SEQ_VALIDATION] != 0)
		options[RS_SEQ_EPOCHS] = VALIDATION_MAX_EPOCHS;
}

/* The rows must give users something to predict. */
static bool
check_size(const rs_interactions *data, const double *options, rs_report *why)
{
	for (int32_t u = 0; u < data->n_users; u++)
		if (data->user_ptr[u + 1] - data->user_ptr[u] >= 2)
			return true;
	snprintf(why->message, sizeof(why->message),
			 "train_sequence needs a user with at least two distinct items");
	snprintf(why->detail, sizeof(why->detail),
			 "The model learns to predict each user's next item from the items before it.");
	return false;
}

static void
validation_free(validation *v, const rs_allocator *a)
{
	rs_sequences_free(&v->train, a);
	rs_free(a, v->users);
	rs_free(a, v->targets);
	rs_free(a, v->rows);
	rs_free(a, v->scores);
	rs_free(a, v->seen);
	/* ndcg stays: the model's description lists it */
}

/*
 * Picks the validation users (a draw of the seed, the same on every run)
 * and their sequences without the held-out events; v->n stays 0 if too
 * few users have three events or more.
 */
static rs_status
hold_out(const rs_sequences *seq, int32_t n_items, const double *opt, const rs_allocator *a,
		 validation *v)
{
	size_t		eligible = 0,
				at = 0;
	uint64_t	seed = (uint64_t) opt[RS_SEQ_SEED];
	int			d = (int) opt[RS_SEQ_FACTORS];
	int			checks = (int) opt[RS_SEQ_EPOCHS] / VALIDATE_EVERY + 1;

	for (int32_t u = 0; u < seq->n_users; u++)
		eligible += seq->ptr[u + 1] - seq->ptr[u] >= 3;
	if (eligible < VALIDATION_MIN)
		return RS_OK;
	v->users = rs_alloc(a, sizeof(int32_t) * (VALIDATION_USERS + 1));
	v->targets = rs_alloc(a, sizeof(int32_t) * (VALIDATION_USERS + 1));
	v->train.ptr = rs_alloc(a, sizeof(size_t) * ((size_t) seq->n_users + 1));
	v->train.items = rs_alloc(a, sizeof(int32_t) * (seq->ptr[seq->n_users] + 1));
	v->rows = rs_alloc(a, sizeof(float) * VALIDATION_USERS * d);
	v->scores = rs_alloc(a, sizeof(float) * SCORE_BLOCK * (size_t) n_items);
	v->seen = rs_alloc(a, sizeof(bool) * ((size_t) n_items + 1));
	v->ndcg = rs_alloc(a, sizeof(double) * (size_t) checks);
	if (!v->users || !v->targets || !v->train.ptr || !v->train.items || !v->rows ||
		!v->scores || !v->seen || !v->ndcg)
		return RS_NO_MEMORY;
	memset(v->seen, 0, sizeof(bool) * (size_t) n_items);
	v->train.n_users = seq->n_users;
	v->train.ptr[0] = 0;
	for (int32_t u = 0; u < seq->n_users; u++)
	{
		size_t		begin = seq->ptr[u],
					end = seq->ptr[u + 1];
		rs_random	draw = rs_random_for(seed, -1, (size_t) u);

		/* each eligible user with probability VALIDATION_USERS / eligible */
		if (end - begin >= 3 && v->n < VALIDATION_USERS &&
			rs_random_uniform(&draw) * (double) eligible < VALIDATION_USERS)
		{
			v->users[v->n] = u;
			v->targets[v->n] = seq->items[end - 1];
			v->n++;
			end--;
		}
		memcpy(v->train.items + at, seq->items + begin, sizeof(int32_t) * (end - begin));
		at += end - begin;
		v->train.ptr[u + 1] = at;
	}
	return RS_OK;
}

static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	const rs_allocator *a = &rt->alloc;
	const rs_interactions *data = in->data;
	const rs_sequences *seq = in->sequences;
	int			max_length = (int) in->options[RS_SEQ_MAX_LENGTH];
	sequence_result r;
	rs_status	status = RS_OK;
	rs_fp_scope scope;
	int32_t    *sizes;
	uint64_t   *ptr;
	int32_t    *items;
	double	   *memory;
	float	   *popularity;
	size_t		kept = 0;

	const rs_runtime *scoped = rs_fp_scope_begin(&scope, rt);
	double		options[RS_SEQ_OPTION_COUNT];
	validation	v;
	bool		searched = false;

	memcpy(options, in->options, sizeof(options));
	memset(&v, 0, sizeof(v));
	if (options[RS_SEQ_VALIDATION] != 0)
	{
		status = hold_out(seq, data->n_items, options, a, &v);
		if (status == RS_OK && v.n > 0)
		{
			/* the search, then the final fit for the best number of epochs */
			status = sequence_train(&v.train, data->n_items, options, &v, scoped, &r);
			if (status == RS_OK)
			{
				sequence_result_free(&r, a);
				options[RS_SEQ_EPOCHS] = v.best_epoch;
				searched = true;
			}
		}
	}
	if (status == RS_OK)
		status = sequence_train(seq, data->n_items, options, NULL, scoped, &r);
	rs_fp_scope_end(&scope);
	validation_free(&v, a);
	if (status != RS_OK || !searched)
	{
		rs_free(a, v.ndcg);
		v.ndcg = NULL;
	}
	if (status != RS_OK)
		return status;

	/* each user's last max_length events, what the stored encodings read */
	for (int32_t u = 0; u < seq->n_users; u++)
	{
		size_t		n = seq->ptr[u + 1] - seq->ptr[u];

		kept += n < (size_t) max_length ? n : (size_t) max_length;
	}
	sizes = rs_alloc(a, sizeof(int32_t) * SHAPE_SIZES);
	ptr = rs_alloc(a, sizeof(uint64_t) * ((size_t) seq->n_users + 1));
	items = rs_alloc(a, sizeof(int32_t) * (kept + 1));
	memory = rs_alloc(a, sizeof(double));
	popularity = rs_item_popularity(data, a);
	if (!sizes || !ptr || !items || !memory || !popularity)
	{
		rs_free(a, sizes);
		rs_free(a, ptr);
		rs_free(a, items);
		rs_free(a, memory);
		rs_free(a, popularity);
		sequence_result_free(&r, a);
		return RS_NO_MEMORY;
	}
	ptr[0] = 0;
	for (int32_t u = 0; u < seq->n_users; u++)
	{
		size_t		begin = seq->ptr[u],
					end = seq->ptr[u + 1];

		if (end - begin > (size_t) max_length)
			begin = end - (size_t) max_length;
		memcpy(items + ptr[u], seq->items + begin, sizeof(int32_t) * (end - begin));
		ptr[u + 1] = ptr[u] + (end - begin);
	}
	sizes[0] = (int32_t) in->options[RS_SEQ_FACTORS];
	sizes[1] = (int32_t) in->options[RS_SEQ_BLOCKS];
	sizes[2] = (int32_t) in->options[RS_SEQ_HEADS];
	sizes[3] = max_length;

	rs_model_of_interactions(data, RS_ALGO_SEQUENCE, &out->model);
	out->model.factors = sizes[0];
	out->model.item_factors = r.embeddings;
	out->model.user_factors = r.user_rows;
	out->model.item_bias = r.bias;
	out->model.item_popularity = popularity;
	out->model.mlp_layers = SHAPE_SIZES - 1;
	out->model.mlp_sizes = sizes;
	out->model.mlp_weights = r.weights;
	out->model.sequence_ptr = ptr;
	out->model.sequence_items = items;
	out->model.params.learning_rate = (float) in->options[RS_SEQ_LEARNING_RATE];
	out->model.params.regularization = (float) in->options[RS_SEQ_L2];
	out->loss = r.loss;
	out->iterations = r.epochs;
	*memory = r.memory_mb;
	out->series[0] = (rs_fit_series) {"training_memory_mb", memory, 1};
	if (searched)
		out->series[1] = (rs_fit_series) {"validation_ndcg", v.ndcg, v.checks};
	return RS_OK;
}

void
rs_sequence_network(const rs_model *m, rs_attention *net)
{
	rs_attention_init(net, m->mlp_sizes[0], m->mlp_sizes[1], m->mlp_sizes[2], m->mlp_sizes[3]);
}

static uint64_t
network_floats(const rs_model *m)
{
	rs_attention net;

	rs_sequence_network(m, &net);
	return net.n_weights;
}

/* The shape against the factors, the weights and every stored sequence. */
static const char *
check_sections(const rs_model_header *h, const unsigned char *bytes, rs_model *m)
{
	const rs_section_ref *sizes_ref = &h->sections[RS_SEC_MLP_SIZES];
	const rs_section_ref *ptr_ref = &h->sections[RS_SEC_SEQUENCE_PTR];
	const rs_section_ref *items_ref = &h->sections[RS_SEC_SEQUENCE_ITEMS];
	const int32_t *sizes;
	const uint64_t *ptr;
	const int32_t *items;
	rs_attention net;

	if (sizes_ref->size != SHAPE_SIZES * 4)
		return "its network has an unsupported number of layers";
	sizes = (const int32_t *) (bytes + sizes_ref->offset);
	if (sizes[0] != h->factors || sizes[1] < 1 || sizes[1] > 16 || sizes[2] < 1 ||
		sizes[2] > 64 || sizes[3] < 1 || sizes[3] > RS_SEQUENCE_MAX_LENGTH ||
		!rs_attention_init(&net, sizes[0], sizes[1], sizes[2], sizes[3]))
		return "its network's layer sizes are out of range";
	if (h->sections[RS_SEC_MLP_WEIGHTS].size != net.n_weights * 4 || items_ref->size % 4 != 0)
		return "a section's size does not match the model's dimensions";
	ptr = (const uint64_t *) (bytes + ptr_ref->offset);
	items = items_ref->size > 0 ? (const int32_t *) (bytes + items_ref->offset) : NULL;
	if (ptr[0] != 0 || ptr[h->n_users] != items_ref->size / 4)
		return "its stored sequences are inconsistent";
	for (int32_t u = 0; u < h->n_users; u++)
		if (ptr[u + 1] < ptr[u] || ptr[u + 1] - ptr[u] > (uint64_t) sizes[3] ||
			ptr[u + 1] > ptr[h->n_users])
			return "its stored sequences are inconsistent";
	for (uint64_t k = 0; k < ptr[h->n_users]; k++)
		if (items[k] < 0 || items[k] >= h->n_items)
			return "its stored sequences refer to items it does not have";
	m->mlp_layers = SHAPE_SIZES - 1;
	m->mlp_sizes = sizes;
	m->mlp_weights = (const float *) (bytes + h->sections[RS_SEC_MLP_WEIGHTS].offset);
	m->sequence_ptr = ptr;
	m->sequence_items = items;
	return NULL;
}

const int32_t *
rs_sequence_of_user(const rs_model *m, int32_t user, size_t *count)
{
	*count = user >= 0 && user < m->n_users ?
		(size_t) (m->sequence_ptr[user + 1] - m->sequence_ptr[user]) : 0;
	return *count > 0 ? m->sequence_items + m->sequence_ptr[user] : NULL;
}

size_t
rs_sequence_scratch_floats(const rs_model *m)
{
	rs_attention net;

	rs_sequence_network(m, &net);
	return rs_attention_scratch_floats(&net);
}

void
rs_sequence_encode(const rs_model *m, const int32_t *items, size_t n, float *scratch,
				   float *out, float *attention)
{
	rs_attention net;
	size_t		skip;

	rs_sequence_network(m, &net);
	skip = n > (size_t) net.max_length ? n - (size_t) net.max_length : 0;
	if (attention)
		memset(attention, 0, sizeof(float) * skip);
	rs_attention_encode(&net, m->mlp_weights, m->item_factors, items + skip, (int) (n - skip),
						scratch, out, attention ? attention + skip : NULL);
}

/* A history's encoding, then every item's score: one sgemv. */
static rs_status
score_history(const rs_model *m, const int32_t *items, const float *values, size_t n,
			  const rs_allocator *a, float *scores)
{
	float	   *scratch = rs_alloc(a, sizeof(float) * (rs_sequence_scratch_floats(m) + m->factors));
	float	   *h;

	if (!scratch)
		return RS_NO_MEMORY;
	h = scratch + rs_sequence_scratch_floats(m);
	rs_sequence_encode(m, items, n, scratch, h, NULL);
	rs_factor_score_row(m, h, 0.0f, a, scores);
	rs_free(a, scratch);
	return RS_OK;
}

/* A known user by their stored encoding; a newcomer's baseline is popularity. */
static rs_status
score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	if (user >= 0)
		return rs_factor_score_items(m, user, a, scores);
	memcpy(scores, m->item_popularity, sizeof(float) * (size_t) m->n_items);
	return RS_OK;
}

/* Known users by one matrix product; newcomers, again, by popularity. */
static rs_status
score_items_batch(const rs_model *m, const int32_t *users, size_t n, const rs_allocator *a,
				  float *scores)
{
	rs_status	status = rs_factor_score_batch(m, users, n, a, scores);

	for (size_t r = 0; r < n && status == RS_OK; r++)
		if (users[r] < 0)
			status = score_items(m, -1, a, scores + r * (size_t) m->n_items);
	return status;
}

#define BIT RS_SECTION_BIT

const rs_kind rs_sequence_kind = {
	.algorithm = RS_ALGO_SEQUENCE,
	.name = "sequence",
	.trainer = "train_sequence",
	.training = "sequence model training",
	.input = RS_INPUT_INTERACTIONS,
	.sequential = true,
	.options = rs_sequence_option_specs,
	.n_options = RS_SEQ_OPTION_COUNT,
	.threads_option = RS_SEQ_THREADS,
	.verbose_option = RS_SEQ_VERBOSE,
	.iterations_option = RS_SEQ_EPOCHS,
	.factors_option = RS_SEQ_FACTORS,
	.users_option = -1,
	.chosen_by = {-1, 0},
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_USER_FACTORS) | BIT(RS_SEC_ITEM_FACTORS) | BIT(RS_SEC_ITEM_BIAS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) |
	BIT(RS_SEC_SEEN_VALUES) | BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_MLP_SIZES) |
	BIT(RS_SEC_MLP_WEIGHTS) | BIT(RS_SEC_SEQUENCE_PTR) | BIT(RS_SEC_SEQUENCE_ITEMS) |
	BIT(RS_SEC_INFO),
	.prepare_options = prepare_options,
	.check_size = check_size,
	.adapt_options = adapt_options,
	.fit = fit,
	.check_sections = check_sections,
	.network_floats = network_floats,
	/* a known user is the encoding of their stored events, kept as a factor row */
	.predict = rs_factor_predict,
	.score_items = score_items,
	.score_items_batch = score_items_batch,
	.score_history = score_history,
	.similar = rs_factor_similar,
	.user_vector = rs_factor_user_vector,
	.item_vector = rs_factor_item_vector,
};
