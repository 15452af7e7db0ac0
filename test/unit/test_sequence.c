/*
 * test_sequence.c - the sequence kind (SASRec): each user's events ordered
 * by (at, item id) whatever the order of the rows, repeats kept; a planted
 * next-item rule learnt from the order; the same model bit for bit on any
 * number of threads; known users stored as the encoding of their stored
 * events; the model through the format, and its sequence sections refused
 * when inconsistent; cancellation and running out of memory without leaks.
 *
 * Planted data: ITEMS items in a ring.  Each user walks it from a random
 * item, to the next one (i -> i + 1 mod ITEMS) with probability FOLLOW,
 * else to any item.  The rows reach the engine shuffled.
 */
#include "core/crc32c.h"
#include "core/factor_model.h"
#include "core/kind.h"
#include "core/random.h"
#include "core/scoring.h"
#include "core/sequence.h"
#include "core/sequences.h"
#include "core/top_k.h"

#include "unit.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ITEMS 60
#define USERS 400
#define SMALL_USERS 40
#define MIN_WALK 8
#define MAX_WALK 20
#define FOLLOW 0.85
#define MAX_LENGTH 8

static int64_t
item_id(int i)
{
	return 100 + 3 * (int64_t) i;	/* ascending: dense index i */
}

static int64_t
user_id(int u)
{
	return 7 + 10 * (int64_t) u;
}

/* A planted data set: the walks, the rows (shuffled) and what the engine builds of them. */
typedef struct planted
{
	int			n_users;
	int			length[USERS];
	int			walk[USERS][MAX_WALK];	/* dense item indices, in order */
	size_t		rows;
	int64_t    *users;
	int64_t    *items;
	int64_t    *at;
	rs_interactions data;
	rs_sequences seq;
} planted;

static planted P;				/* USERS users: quality, threads, the codec */
static planted S;				/* SMALL_USERS: cancellation and memory */

static void
make_planted(planted *p, int n_users, uint64_t seed)
{
	rs_random	rng = {seed};
	rs_interaction_buffer b = {0};
	size_t		r = 0;

	p->n_users = n_users;
	p->rows = 0;
	for (int u = 0; u < n_users; u++)
	{
		p->length[u] = MIN_WALK + (int) rs_random_below(&rng, MAX_WALK - MIN_WALK + 1);
		p->walk[u][0] = (int) rs_random_below(&rng, ITEMS);
		for (int t = 1; t < p->length[u]; t++)
			p->walk[u][t] = rs_random_uniform(&rng) < FOLLOW ? (p->walk[u][t - 1] + 1) % ITEMS :
				(int) rs_random_below(&rng, ITEMS);
		p->rows += (size_t) p->length[u];
	}
	p->users = malloc(sizeof(int64_t) * p->rows);
	p->items = malloc(sizeof(int64_t) * p->rows);
	p->at = malloc(sizeof(int64_t) * p->rows);
	for (int u = 0; u < n_users; u++)
		for (int t = 0; t < p->length[u]; t++, r++)
		{
			p->users[r] = user_id(u);
			p->items[r] = item_id(p->walk[u][t]);
			/* times of any size and sign, one clock per user */
			p->at[r] = (int64_t) (u % 7 - 3) * 1000000007LL + 60 * (int64_t) t;
		}
	/* the rows in no particular order */
	for (size_t k = p->rows; k > 1; k--)
	{
		size_t		j = rs_random_below(&rng, k);
		int64_t		x;

		x = p->users[k - 1], p->users[k - 1] = p->users[j], p->users[j] = x;
		x = p->items[k - 1], p->items[k - 1] = p->items[j], p->items[j] = x;
		x = p->at[k - 1], p->at[k - 1] = p->at[j], p->at[j] = x;
	}
	for (r = 0; r < p->rows; r++)
		rs_buffer_append(&b, &rs_malloc_allocator, p->users[r], p->items[r], 1.0f);
	if (rs_interactions_build(&b, &rs_malloc_allocator, &p->data) != RS_OK ||
		rs_sequences_build(p->users, p->items, p->at, p->rows, &p->data, &rs_malloc_allocator,
						   &p->seq) != RS_OK)
		abort();
	rs_buffer_free(&b, &rs_malloc_allocator);
}

static void
free_planted(planted *p)
{
	rs_sequences_free(&p->seq, &rs_malloc_allocator);
	rs_interactions_free(&p->data, &rs_malloc_allocator);
	free(p->users);
	free(p->items);
	free(p->at);
}

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_SEQ_OPTION_COUNT; k++)
		opt[k] = rs_sequence_option_specs[k].default_value;
}

/* A small network that learns the ring in a few seconds. */
static void
planted_options(double *opt)
{
	default_options(opt);
	opt[RS_SEQ_FACTORS] = 16;
	opt[RS_SEQ_BLOCKS] = 1;
	opt[RS_SEQ_HEADS] = 2;
	opt[RS_SEQ_MAX_LENGTH] = MAX_LENGTH;
	opt[RS_SEQ_DROPOUT] = 0.1;
	opt[RS_SEQ_EPOCHS] = 20;
	opt[RS_SEQ_BATCH_SIZE] = 32;
	opt[RS_SEQ_LEARNING_RATE] = 0.01;
	opt[RS_SEQ_NEGATIVES] = 32;
	opt[RS_SEQ_SEED] = 5;
}

static rs_status
fit_on(const planted *p, const double *opt, int threads, host *h, counter *c, rs_fit *out)
{
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h,
								  threads);
	rs_fit_input in = {0};

	in.data = &p->data;
	in.sequences = &p->seq;
	in.options = opt;
	memset(out, 0, sizeof(*out));
	return rs_kind_of(RS_ALGO_SEQUENCE)->fit(&in, &rt, out);
}

static void
free_fit(rs_fit *f, counter *c)
{
	rs_allocator a = {counting_alloc, counting_free, c, NULL};

	rs_free(&a, (void *) f->model.user_factors);
	rs_free(&a, (void *) f->model.item_factors);
	rs_free(&a, (void *) f->model.item_bias);
	rs_free(&a, (void *) f->model.item_popularity);
	rs_free(&a, (void *) f->model.mlp_sizes);
	rs_free(&a, (void *) f->model.mlp_weights);
	rs_free(&a, (void *) f->model.sequence_ptr);
	rs_free(&a, (void *) f->model.sequence_items);
	rs_free(&a, (void *) f->loss);
	for (int k = 0; k < 2; k++)
		if (f->series[k].name)
			rs_free(&a, (void *) f->series[k].values);
}

/* --- rs_sequences_build ------------------------------------------------- */

/*
 * Hand-made rows: user 5's events at times with ties (broken by item id,
 * whatever the rows' order), a repeat, extreme times; user 9 with one event;
 * user 1 with the same item three times.  Every permutation of the rows
 * gives the same sequences.
 */
static void
test_order(void)
{
	/* ids ascending with the dense indices: 10 -> 0, 20 -> 1, 30 -> 2, 40 -> 3 */
	static const int64_t users[] = {5, 5, 5, 9, 5, 5, 1, 5, 1, 1};
	static const int64_t items[] = {30, 10, 20, 40, 10, 40, 20, 20, 20, 20};
	static const int64_t at[] = {5, 1, 5, 0, 3, INT64_MIN, 7, INT64_MAX, -7, 7};
	/* by user (1, 5, 9): (at, item) ascending */
	static const int32_t want_items[] = {1, 1, 1, 3, 0, 0, 1, 2, 1, 3};
	static const size_t want_ptr[] = {0, 3, 9, 10};
	enum
	{
		N = sizeof(users) / sizeof(users[0])
	};
	rs_interaction_buffer b = {0};
	rs_interactions d;
	rs_random	rng = {11};
	int64_t		pu[N],
				pi[N],
				pa[N];
	int			perm[N];
	bool		all_same = true;
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	long		calls;

	for (int r = 0; r < N; r++)
		rs_buffer_append(&b, &rs_malloc_allocator, users[r], items[r], 1.0f);
	rs_interactions_build(&b, &rs_malloc_allocator, &d);
	rs_buffer_free(&b, &rs_malloc_allocator);
	if (!CHECK(d.n_users == 3 && d.n_items == 4, "hand-made data: %d users, %d items",
			   d.n_users, d.n_items))
		return;

	for (int r = 0; r < N; r++)
		perm[r] = r;
	for (int trial = 0; trial < 50; trial++)
	{
		rs_sequences s;
		rs_status	status;

		if (trial > 0)
			for (int k = N; k > 1; k--)
			{
				int			j = (int) rs_random_below(&rng, (size_t) k),
							x = perm[k - 1];

				perm[k - 1] = perm[j];
				perm[j] = x;
			}
		for (int r = 0; r < N; r++)
		{
			pu[r] = users[perm[r]];
			pi[r] = items[perm[r]];
			pa[r] = at[perm[r]];
		}
		status = rs_sequences_build(pu, pi, pa, N, &d, &a, &s);
		if (!CHECK(status == RS_OK, "build: status %d", (int) status))
			break;
		if (trial == 0)
			CHECK(s.n_users == 3, "sequences of %d users", s.n_users);
		all_same &= s.n_users == 3 && memcmp(s.ptr, want_ptr, sizeof(want_ptr)) == 0 &&
			memcmp(s.items, want_items, sizeof(want_items)) == 0;
		if (trial == 0)
		{
			CHECK(memcmp(s.ptr, want_ptr, sizeof(want_ptr)) == 0,
				  "rows per user: %zu %zu %zu %zu", s.ptr[0], s.ptr[1], s.ptr[2], s.ptr[3]);
			for (int k = 0; k < N; k++)
				CHECK(s.items[k] == want_items[k], "event %d: item %d, want %d", k, s.items[k],
					  want_items[k]);
		}
		rs_sequences_free(&s, &a);
	}
	CHECK(all_same, "a permutation of the rows changed the sequences");
	CHECK(c.outstanding == 0, "order: %ld allocations outstanding", c.outstanding);

	/* each allocation failing in turn */
	c.calls = 0;
	{
		rs_sequences s;

		rs_sequences_build(users, items, at, N, &d, &a, &s);
		rs_sequences_free(&s, &a);
	}
	calls = c.calls;
	CHECK(calls >= 5, "build takes %ld allocations", calls);
	for (long k = 0; k < calls; k++)
	{
		rs_sequences s;
		rs_status	status;

		c.calls = 0;
		c.fail_at = k;
		status = rs_sequences_build(users, items, at, N, &d, &a, &s);
		CHECK(status == RS_NO_MEMORY && s.ptr == NULL && s.items == NULL,
			  "build with allocation %ld failing: status %d", k, (int) status);
		CHECK(c.outstanding == 0, "build with allocation %ld failing: %ld outstanding", k,
			  c.outstanding);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
}

/* The planted walks come back in order from their shuffled rows. */
static void
test_planted_order(const planted *p)
{
	int			wrong = 0;

	CHECK(p->seq.n_users == p->n_users && p->data.n_users == p->n_users,
		  "planted: %d users in the sequences", p->seq.n_users);
	for (int u = 0; u < p->n_users; u++)
	{
		int32_t		dense = rs_find_id(p->data.user_ids, p->data.n_users, user_id(u));
		size_t		begin = p->seq.ptr[dense];

		if (p->seq.ptr[dense + 1] - begin != (size_t) p->length[u])
		{
			wrong++;
			continue;
		}
		for (int t = 0; t < p->length[u]; t++)
			if (p->seq.items[begin + t] != p->walk[u][t])
			{
				wrong++;
				break;
			}
	}
	CHECK(wrong == 0, "planted: %d of %d walks are not their users' sequences", wrong,
		  p->n_users);
}

/* --- the planted rule ---------------------------------------------------- */

/* The best item after a history (dense, oldest first), the history not left out. */
static int32_t
top_one(const rs_model *m, const int32_t *history, size_t n, float *scores)
{
	rs_scored	best;

	if (rs_score_history(m, history, NULL, n, &rs_malloc_allocator, scores) != RS_OK)
		return -2;
	return rs_top_k(scores, m->n_items, NULL, 0, 1, &best) == 1 ? best.index : -1;
}

static void
test_planted_rule(void)
{
	double		opt[RS_SEQ_OPTION_COUNT];
	counter		c = new_counter();
	host		h = new_host(0);
	rs_fit		f;
	rs_status	status;
	float		scores[ITEMS];
	int			next_one = 0,
				next_three = 0,
				reversed = 0;
	const rs_kind *kind = rs_kind_of(RS_ALGO_SEQUENCE);

	CHECK(kind && kind->sequential && strcmp(kind->name, "sequence") == 0 &&
		  strcmp(kind->trainer, "train_sequence") == 0, "the sequence kind is in the table");
	planted_options(opt);
	status = fit_on(&P, opt, 2, &h, &c, &f);
	if (!CHECK(status == RS_OK, "planted fit: status %d", (int) status))
		return;
	CHECK(f.iterations == 20 && h.reports == 20, "%d epochs, %d reports", f.iterations,
		  h.reports);
	for (int k = 0; k < h.reports && k < UNIT_MAX_PROGRESS; k++)
		CHECK(h.iteration[k] == k + 1 && isfinite(h.loss[k]) && h.loss[k] == f.loss[k],
			  "report %d: epoch %d, loss %g (fit says %g)", k, h.iteration[k], h.loss[k],
			  f.loss[k]);
	CHECK(f.loss[19] < 0.6 * f.loss[0], "loss %g after %g", f.loss[19], f.loss[0]);
	CHECK(f.series[0].name && strcmp(f.series[0].name, "training_memory_mb") == 0 &&
		  f.series[0].count == 1 && f.series[0].values[0] > 0,
		  "the training memory is reported");
	CHECK(f.model.algorithm == RS_ALGO_SEQUENCE && f.model.factors == 16 &&
		  f.model.n_users == USERS && f.model.n_items == ITEMS && f.model.mlp_sizes[0] == 16 &&
		  f.model.mlp_sizes[1] == 1 && f.model.mlp_sizes[2] == 2 &&
		  f.model.mlp_sizes[3] == MAX_LENGTH, "the model's shape");

	for (int i = 0; i < ITEMS; i++)
	{
		int32_t		one[1] = {i};
		int32_t		three[3] = {(i + ITEMS - 2) % ITEMS, (i + ITEMS - 1) % ITEMS, i};
		int32_t		back[3] = {i, (i + ITEMS - 1) % ITEMS, (i + ITEMS - 2) % ITEMS};

		next_one += top_one(&f.model, one, 1, scores) == (i + 1) % ITEMS;
		next_three += top_one(&f.model, three, 3, scores) == (i + 1) % ITEMS;
		/* the same items the other way round lead from i - 2, to i - 1 */
		reversed += top_one(&f.model, back, 3, scores) == (i + ITEMS - 1) % ITEMS;
	}
	printf("planted ring: top-1 is the successor for %d (one item) and %d (three) of %d items; "
		   "reversed, for %d; loss %.3f -> %.3f\n", next_one, next_three, ITEMS, reversed,
		   f.loss[0], f.loss[19]);
	CHECK(next_one >= 0.8 * ITEMS, "after one item the successor is first for %d of %d",
		  next_one, ITEMS);
	CHECK(next_three >= 0.8 * ITEMS, "after three items the successor is first for %d of %d",
		  next_three, ITEMS);
	CHECK(reversed >= 0.6 * ITEMS, "order counts: reversed, the last item's successor is "
		  "first for only %d of %d", reversed, ITEMS);
	free_fit(&f, &c);
	CHECK(c.outstanding == 0, "planted: %ld allocations outstanding", c.outstanding);
	CHECK(!h.wrong_thread && !c.wrong_thread, "planted: a callback ran on a worker thread");
}

/*
 * "validation": the last event of some users is held out, the epochs are
 * chosen by NDCG@10 on them every few epochs, and the final model trains on
 * every event for the best number.  On the ring, which keeps learning, the
 * best is late; the same seed chooses the same on any number of threads.
 */
static void
test_validation(void)
{
	double		opt[RS_SEQ_OPTION_COUNT];
	counter		c = new_counter();
	host		h = new_host(0);
	rs_fit		f,
				g;
	rs_status	status;

	planted_options(opt);
	opt[RS_SEQ_VALIDATION] = 1;
	opt[RS_SEQ_EPOCHS] = 30;
	status = fit_on(&P, opt, 2, &h, &c, &f);
	if (!CHECK(status == RS_OK, "validated fit: status %d", (int) status))
		return;
	CHECK(f.series[1].name && strcmp(f.series[1].name, "validation_ndcg") == 0 &&
		  f.series[1].count >= 1 && f.series[1].count <= 6,
		  "the validation scores are reported (%d checks)", f.series[1].count);
	CHECK(f.iterations % 5 == 0 && f.iterations >= 5 && f.iterations <= 30,
		  "the final fit runs the best number of epochs: %d", f.iterations);
	for (int k = 0; k < f.series[1].count; k++)
		CHECK(f.series[1].values[k] >= 0 && f.series[1].values[k] <= 1,
			  "check %d: NDCG %g", k, f.series[1].values[k]);
	/* the best check is the chosen epochs' */
	for (int k = 0; k < f.series[1].count; k++)
		CHECK(f.series[1].values[k] <= f.series[1].values[f.iterations / 5 - 1],
			  "check %d scored more than the chosen epoch %d", k, f.iterations);
	CHECK(f.series[1].values[f.iterations / 5 - 1] > 0.5,
		  "on the ring the held-out next item ranks high: NDCG %g",
		  f.series[1].values[f.iterations / 5 - 1]);
	CHECK(h.reports > f.iterations, "the search's epochs are reported too (%d reports)",
		  h.reports);
	printf("validation: NDCG@10 of held-out last events at each fifth epoch:");
	for (int k = 0; k < f.series[1].count; k++)
		printf(" %.3f", f.series[1].values[k]);
	printf("; %d epochs chosen\n", f.iterations);

	status = fit_on(&P, opt, 3, &h, &c, &g);
	if (CHECK(status == RS_OK, "validated fit, 3 threads: status %d", (int) status))
	{
		CHECK(g.iterations == f.iterations &&
			  memcmp(g.model.item_factors, f.model.item_factors,
					 sizeof(float) * ITEMS * 16) == 0,
			  "the same choice and model on 3 threads");
		free_fit(&g, &c);
	}
	free_fit(&f, &c);
	CHECK(c.outstanding == 0, "validation: %ld allocations outstanding", c.outstanding);

	/* too few users with three events: no search, `epochs` as given */
	status = fit_on(&S, opt, 1, &h, &c, &f);
	if (CHECK(status == RS_OK, "small validated fit: status %d", (int) status))
	{
		CHECK(f.series[1].name == NULL && f.iterations == 30,
			  "no search on %d users: %d epochs", SMALL_USERS, f.iterations);
		free_fit(&f, &c);
	}
	CHECK(c.outstanding == 0, "small validation: %ld allocations outstanding", c.outstanding);
}

/* --- threads ------------------------------------------------------------- */

static bool
same_fit(const rs_fit *a, const rs_fit *b, size_t n_weights)
{
	const rs_model *x = &a->model,
			   *y = &b->model;
	size_t		f = (size_t) x->factors;

	return a->iterations == b->iterations &&
		memcmp(a->loss, b->loss, sizeof(double) * a->iterations) == 0 &&
		memcmp(x->item_factors, y->item_factors, sizeof(float) * f * x->n_items) == 0 &&
		memcmp(x->user_factors, y->user_factors, sizeof(float) * f * x->n_users) == 0 &&
		memcmp(x->mlp_weights, y->mlp_weights, sizeof(float) * n_weights) == 0;
}

/*
 * One seed, one model: on 1 and 3 threads alike, with dropout drawing masks,
 * whether a batch has more parts than threads (batch_size 64: four parts of
 * 16 windows) or fewer (batch_size 16: one part).
 */
static void
test_threads(int batch_size)
{
	double		opt[RS_SEQ_OPTION_COUNT];
	counter		c = new_counter();
	rs_fit		one,
				three,
				again;
	rs_attention net;

	planted_options(opt);
	opt[RS_SEQ_EPOCHS] = 3;
	opt[RS_SEQ_BATCH_SIZE] = batch_size;
	opt[RS_SEQ_DROPOUT] = 0.3;
	if (fit_on(&P, opt, 1, NULL, &c, &one) != RS_OK ||
		fit_on(&P, opt, 3, NULL, &c, &three) != RS_OK ||
		fit_on(&P, opt, 1, NULL, &c, &again) != RS_OK)
	{
		CHECK(false, "batch_size %d: fits failed", batch_size);
		return;
	}
	rs_sequence_network(&one.model, &net);
	CHECK(same_fit(&one, &again, net.n_weights),
		  "batch_size %d: one thread gives the same model twice", batch_size);
	CHECK(memcmp(one.model.item_factors, three.model.item_factors,
				 sizeof(float) * 16 * ITEMS) == 0,
		  "batch_size %d: 1 and 3 threads give different item factors", batch_size);
	CHECK(same_fit(&one, &three, net.n_weights),
		  "batch_size %d: 1 and 3 threads give different models", batch_size);
	free_fit(&one, &c);
	free_fit(&three, &c);
	free_fit(&again, &c);

	/* another seed, another model */
	if (CHECK(fit_on(&P, opt, 3, NULL, &c, &one) == RS_OK, "seed 5"))
	{
		opt[RS_SEQ_SEED] = 6;
		if (CHECK(fit_on(&P, opt, 3, NULL, &c, &again) == RS_OK, "seed 6"))
		{
			CHECK(memcmp(one.model.item_factors, again.model.item_factors,
						 sizeof(float) * 16 * ITEMS) != 0, "seeds 5 and 6 give the same model");
			free_fit(&again, &c);
		}
		free_fit(&one, &c);
	}
	CHECK(c.outstanding == 0, "threads: %ld allocations outstanding", c.outstanding);
}

/* --- stored users and serving -------------------------------------------- */

/*
 * A known user is their last max_length events, stored oldest first, and
 * their factor row is the encoding of those; a longer history encodes as its
 * last max_length items, whose attention adds up to 1.
 */
static void
check_users(const rs_model *m, const planted *p, const char *what)
{
	int			f = m->factors;
	float	   *scratch = malloc(sizeof(float) * rs_sequence_scratch_floats(m));
	float		h[RS_ATTENTION_MAX_FACTORS],
				g[RS_ATTENTION_MAX_FACTORS];
	float		attention[MAX_WALK];
	double		worst = 0.0,
				worst_long = 0.0,
				worst_score = 0.0;
	int			wrong_sequence = 0,
				truncated = 0,
				bad_attention = 0;
	float	   *scores = malloc(sizeof(float) * m->n_items);
	size_t		count;

	for (int u = 0; u < p->n_users; u++)
	{
		int32_t		dense = rs_model_user_index(m, user_id(u));
		const int32_t *events = rs_sequence_of_user(m, dense, &count);
		size_t		want = p->length[u] < MAX_LENGTH ? (size_t) p->length[u] : MAX_LENGTH;
		int32_t		full[MAX_WALK];
		double		sum = 0.0;

		truncated += p->length[u] > MAX_LENGTH;
		if (count != want)
		{
			wrong_sequence++;
			continue;
		}
		for (size_t k = 0; k < count; k++)
			wrong_sequence += events[k] != p->walk[u][p->length[u] - count + k] ? 1 : 0;
		rs_sequence_encode(m, events, count, scratch, h, NULL);
		for (int c = 0; c < f; c++)
		{
			double		diff = fabs((double) h[c] - m->user_factors[(size_t) dense * f + c]);

			if (!(diff <= worst))
				worst = isnan(diff) ? INFINITY : diff;
		}

		/* the whole walk: the events before the last max_length change nothing */
		for (int t = 0; t < p->length[u]; t++)
			full[t] = p->walk[u][t];
		rs_sequence_encode(m, full, (size_t) p->length[u], scratch, g, attention);
		for (int c = 0; c < f; c++)
		{
			double		diff = fabs((double) g[c] - h[c]);

			if (!(diff <= worst_long))
				worst_long = isnan(diff) ? INFINITY : diff;
		}
		for (int t = 0; t < p->length[u]; t++)
		{
			if (t < p->length[u] - (int) count && attention[t] != 0.0f)
				bad_attention++;
			if (!(attention[t] >= 0.0f))
				bad_attention++;
			sum += attention[t];
		}
		if (fabs(sum - 1.0) > 1e-4)
			bad_attention++;

		/* the kind's score_history is that encoding against every item, plus its bias */
		if (rs_score_history(m, full, NULL, (size_t) p->length[u], &rs_malloc_allocator,
							 scores) == RS_OK)
			for (int32_t i = 0; i < m->n_items; i++)
			{
				double		dot = m->item_bias ? m->item_bias[i] : 0.0,
							diff;

				for (int c = 0; c < f; c++)
					dot += (double) h[c] * m->item_factors[(size_t) i * f + c];
				diff = fabs(dot - scores[i]);
				if (!(diff <= worst_score))
					worst_score = isnan(diff) ? INFINITY : diff;
			}
		else
			worst_score = INFINITY;
		/* and a known user is served from the same row */
		CHECK_NEAR(rs_predict(m, dense, 3), scores[3], 1e-4);
	}
	CHECK(truncated > p->n_users / 2, "%s: only %d users have more than max_length events",
		  what, truncated);
	CHECK(wrong_sequence == 0, "%s: %d users' stored events are not their last ones", what,
		  wrong_sequence);
	CHECK(worst <= 1e-5, "%s: a user's factors differ from the encoding of their stored "
		  "events by %g", what, worst);
	CHECK(worst_long <= 1e-5, "%s: a whole walk encodes %g away from its last max_length "
		  "events", what, worst_long);
	CHECK(bad_attention == 0, "%s: %d attention weights are negative, off the window or do "
		  "not add up to 1", what, bad_attention);
	CHECK(worst_score <= 1e-4, "%s: score_history differs from encoding and dot product by "
		  "%g", what, worst_score);
	printf("%s: user factors within %.2e of the encoding of their stored events\n", what,
		   worst);

	/* unknown users have no events; an empty history scores as the popularity */
	CHECK(rs_sequence_of_user(m, -1, &count) == NULL && count == 0, "%s: user -1", what);
	CHECK(rs_sequence_of_user(m, m->n_users, &count) == NULL && count == 0,
		  "%s: user n_users", what);
	if (rs_score_history(m, NULL, NULL, 0, &rs_malloc_allocator, scores) == RS_OK)
	{
		bool		popularity = true;

		for (int32_t i = 0; i < m->n_items; i++)
			popularity &= scores[i] == m->item_popularity[i];
		CHECK(popularity, "%s: an empty history does not score the popularity", what);
	}
	/*
	 * recommend(model, user_id) and recommend_batch score alike: a known
	 * user by their row, an unknown one (-1) by the popularity
	 */
	{
		int32_t		users[3] = {-1, 0, 5};
		float	   *batch = malloc(sizeof(float) * 3 * (size_t) m->n_items);
		bool		unknown_popular = true,
					known_same = true;

		if (CHECK(rs_score_items_batch(m, users, 3, &rs_malloc_allocator, batch) == RS_OK,
				  "%s: batch scoring", what))
		{
			for (int r = 0; r < 3; r++)
			{
				rs_score_items(m, users[r], &rs_malloc_allocator, scores);
				for (int32_t i = 0; i < m->n_items; i++)
				{
					float		b = batch[(size_t) r * m->n_items + i];

					if (users[r] < 0)
						unknown_popular &= b == m->item_popularity[i] && scores[i] == b;
					else
						known_same &= fabsf(b - scores[i]) <= 1e-4f;
				}
			}
			CHECK(unknown_popular, "%s: an unknown user in a batch is not scored by the "
				  "popularity, as alone", what);
			CHECK(known_same, "%s: a known user in a batch is scored otherwise than alone",
				  what);
		}
		free(batch);
	}
	/* scoring without memory fails cleanly */
	{
		counter		c = new_counter();
		rs_allocator a = {counting_alloc, counting_free, &c, NULL};
		int32_t		items[2] = {4, 5};

		c.fail_at = 0;
		CHECK(rs_score_history(m, items, NULL, 2, &a, scores) == RS_NO_MEMORY &&
			  c.outstanding == 0, "%s: scoring a history without memory", what);
	}
	free(scratch);
	free(scores);
}

/* --- the format ---------------------------------------------------------- */

static size_t model_len;
static unsigned char *model_buf;

static rs_section_ref
section(const unsigned char *buf, rs_section s)
{
	rs_model_header h;

	memcpy(&h, buf, sizeof(h));
	return h.sections[s];
}

static void
set_section_size(unsigned char *buf, rs_section s, uint64_t size)
{
	size_t		at = offsetof(rs_model_header, sections) + sizeof(rs_section_ref) * s +
		offsetof(rs_section_ref, size);

	memcpy(buf + at, &size, sizeof(size));
}

/* The CRC-32C of every byte but its own four, written back. */
static void
reseal(unsigned char *buf, size_t len)
{
	size_t		at = offsetof(rs_model_header, payload_crc);
	uint32_t	crc = rs_crc32c_two(buf, at, buf + at + 4, len - at - 4);

	memcpy(buf + at, &crc, sizeof(crc));
}

static unsigned char *
fresh(void)
{
	unsigned char *c = aligned_alloc(8, model_len);

	memcpy(c, model_buf, model_len);
	return c;
}

/* A copy resealed after its edit: decode must refuse it with the reason wanted. */
static void
expect_reason(unsigned char *copy, const char *want, const char *what)
{
	rs_model	d;
	const char *reason;

	reseal(copy, model_len);
	reason = rs_model_decode(copy, model_len, &d);
	CHECK(reason != NULL && strstr(reason, want) != NULL,
		  "%s: decoded with reason \"%s\", want \"%s\"", what, reason ? reason : "(accepted)",
		  want);
	free(copy);
}

static void
put_int32(unsigned char *buf, rs_section s, size_t index, int32_t value)
{
	memcpy(buf + section(buf, s).offset + 4 * index, &value, 4);
}

static void
put_uint64(unsigned char *buf, rs_section s, size_t index, uint64_t value)
{
	memcpy(buf + section(buf, s).offset + 8 * index, &value, 8);
}

static void
corruptions(const rs_model *m)
{
	rs_section_ref items = section(model_buf, RS_SEC_SEQUENCE_ITEMS);
	rs_section_ref weights = section(model_buf, RS_SEC_MLP_WEIGHTS);
	uint64_t	stored = items.size / 4;
	int32_t		full = -1;
	unsigned char *c;

	/* an intact copy, resealed, decodes */
	c = fresh();
	reseal(c, model_len);
	{
		rs_model	d;

		CHECK(rs_model_decode(c, model_len, &d) == NULL, "an intact copy is refused");
	}
	free(c);

	/* a user with max_length events followed by one with some */
	for (int32_t u = 0; u + 1 < m->n_users && full < 0; u++)
		if (m->sequence_ptr[u + 1] - m->sequence_ptr[u] == MAX_LENGTH &&
			m->sequence_ptr[u + 2] - m->sequence_ptr[u + 1] >= 1)
			full = u;
	if (!CHECK(full >= 0 && stored > 0, "no full sequence to corrupt"))
		return;

	/* stored items out of range */
	c = fresh();
	put_int32(c, RS_SEC_SEQUENCE_ITEMS, 0, m->n_items);
	expect_reason(c, "refer to items it does not have", "item n_items");
	c = fresh();
	put_int32(c, RS_SEC_SEQUENCE_ITEMS, stored - 1, -1);
	expect_reason(c, "refer to items it does not have", "item -1");
	c = fresh();
	put_int32(c, RS_SEC_SEQUENCE_ITEMS, stored / 2, INT32_MIN);
	expect_reason(c, "refer to items it does not have", "item INT32_MIN");

	/* a sequence longer than max_length: one event moved from the next user */
	c = fresh();
	put_uint64(c, RS_SEC_SEQUENCE_PTR, (size_t) full + 1, m->sequence_ptr[full + 1] + 1);
	expect_reason(c, "stored sequences are inconsistent", "a sequence of max_length + 1");
	/* the index going back, or past its end, or not from 0 */
	c = fresh();
	put_uint64(c, RS_SEC_SEQUENCE_PTR, (size_t) full + 1, m->sequence_ptr[full] - 1);
	expect_reason(c, "stored sequences are inconsistent", "an index going back");
	c = fresh();
	put_uint64(c, RS_SEC_SEQUENCE_PTR, (size_t) m->n_users, stored + 1);
	expect_reason(c, "stored sequences are inconsistent", "an index past the items");
	c = fresh();
	put_uint64(c, RS_SEC_SEQUENCE_PTR, 0, 1);
	expect_reason(c, "stored sequences are inconsistent", "an index not from 0");
	c = fresh();
	put_uint64(c, RS_SEC_SEQUENCE_PTR, (size_t) full + 1, UINT64_MAX);
	expect_reason(c, "stored sequences are inconsistent", "an index of 2^64 - 1");
	/* the items' section a word short: the index's end no longer matches */
	c = fresh();
	set_section_size(c, RS_SEC_SEQUENCE_ITEMS, items.size - 4);
	expect_reason(c, "stored sequences are inconsistent", "items a word short");
	c = fresh();
	set_section_size(c, RS_SEC_SEQUENCE_ITEMS, items.size - 2);
	expect_reason(c, "does not match the model's dimensions", "items of an odd size");

	/* the network's weights of the wrong size */
	c = fresh();
	set_section_size(c, RS_SEC_MLP_WEIGHTS, weights.size - 4);
	expect_reason(c, "does not match the model's dimensions", "weights a float short");
	c = fresh();
	set_section_size(c, RS_SEC_MLP_WEIGHTS, weights.size + 4);
	expect_reason(c, "does not match the model's dimensions", "weights a float long");

	/* its shape: every size out of range, or at odds with the factors */
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 0, m->factors + 2);
	expect_reason(c, "layer sizes are out of range", "factors not the header's");
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 1, 0);
	expect_reason(c, "layer sizes are out of range", "no blocks");
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 1, 17);
	expect_reason(c, "layer sizes are out of range", "17 blocks");
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 2, 3);
	expect_reason(c, "layer sizes are out of range", "heads that do not divide the factors");
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 2, 0);
	expect_reason(c, "layer sizes are out of range", "no heads");
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 3, 0);
	expect_reason(c, "layer sizes are out of range", "max_length 0");
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 3, RS_SEQUENCE_MAX_LENGTH + 1);
	expect_reason(c, "layer sizes are out of range", "max_length too long");
	/* consistent sizes whose network has other weights: 2 blocks, or 4 heads */
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 1, 2);
	expect_reason(c, "does not match the model's dimensions", "2 blocks for 1's weights");
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 3, MAX_LENGTH - 1);
	expect_reason(c, "does not match the model's dimensions", "a max_length of other weights");
	/* not four sizes */
	c = fresh();
	set_section_size(c, RS_SEC_MLP_SIZES, 12);
	expect_reason(c, "unsupported number of layers", "three sizes");
	c = fresh();
	set_section_size(c, RS_SEC_MLP_SIZES, 0);
	expect_reason(c, "unsupported number of layers", "no sizes");
	/* 4 heads of the 16 factors: the same weights, still a valid model */
	c = fresh();
	put_int32(c, RS_SEC_MLP_SIZES, 2, 4);
	reseal(c, model_len);
	{
		rs_model	d;
		const char *reason = rs_model_decode(c, model_len, &d);

		CHECK(reason == NULL && d.mlp_sizes[2] == 4, "4 heads of the same weights: %s",
			  reason ? reason : "decoded");
	}
	free(c);
}

static void
test_codec(void)
{
	double		opt[RS_SEQ_OPTION_COUNT];
	counter		c = new_counter();
	rs_fit		f;
	rs_model	m;
	const char *reason;
	rs_attention net;

	planted_options(opt);
	opt[RS_SEQ_EPOCHS] = 4;
	if (!CHECK(fit_on(&P, opt, 2, NULL, &c, &f) == RS_OK, "codec: fit"))
		return;
	check_users(&f.model, &P, "trained");

	f.model.info = "{\"kind\": \"sequence\"}";
	f.model.info_size = strlen(f.model.info);
	memset(f.model.model_id, 0x5A, RS_MODEL_ID_BYTES);
	model_len = rs_model_encoded_size(&f.model);
	if (!CHECK(model_len > sizeof(rs_model_header) && model_len % 8 == 0, "encoded size %zu",
			   model_len))
		return;
	model_buf = aligned_alloc(8, model_len);
	memset(model_buf, 0xEE, model_len);
	rs_model_encode(&f.model, model_buf);
	reason = unit_decode(model_buf, model_len, &m);
	if (CHECK(reason == NULL, "decoding a trained model: %s", reason ? reason : ""))
	{
		size_t		d = 16;

		rs_sequence_network(&m, &net);
		CHECK(m.algorithm == RS_ALGO_SEQUENCE && m.n_users == USERS && m.n_items == ITEMS &&
			  m.factors == 16 && m.mlp_layers == 3 && m.format_version == RS_MODEL_FORMAT_VERSION,
			  "decoded shape");
		CHECK(memcmp(m.mlp_sizes, f.model.mlp_sizes, 4 * sizeof(int32_t)) == 0 &&
			  memcmp(m.mlp_weights, f.model.mlp_weights, sizeof(float) * net.n_weights) == 0 &&
			  memcmp(m.item_factors, f.model.item_factors, sizeof(float) * d * ITEMS) == 0 &&
			  memcmp(m.user_factors, f.model.user_factors, sizeof(float) * d * USERS) == 0 &&
			  memcmp(m.item_popularity, f.model.item_popularity, sizeof(float) * ITEMS) == 0,
			  "the decoded network, factors and popularity are the trained ones");
		CHECK(memcmp(m.sequence_ptr, f.model.sequence_ptr, sizeof(uint64_t) * (USERS + 1)) == 0 &&
			  memcmp(m.sequence_items, f.model.sequence_items,
					 sizeof(int32_t) * f.model.sequence_ptr[USERS]) == 0,
			  "the decoded sequences are the stored ones");
		CHECK(memcmp(m.seen_ptr, f.model.seen_ptr, sizeof(uint64_t) * (USERS + 1)) == 0 &&
			  memcmp(m.seen_items, f.model.seen_items,
					 sizeof(int32_t) * f.model.seen_ptr[USERS]) == 0,
			  "the decoded training history is the data's");
		check_users(&m, &P, "decoded");
		unit_check_rebase(model_buf, model_len, "sequence");
		corruptions(&f.model);
	}
	/* as format version 2 wrote models: the sequence sections survive */
	{
		size_t		len2 = rs_model_encoded_size_as(&f.model, 2);
		unsigned char *v2 = aligned_alloc(8, (len2 + 7) / 8 * 8);
		rs_model	d2;

		rs_model_encode_as(&f.model, v2, 2);
		reason = unit_decode(v2, len2, &d2);
		CHECK(reason == NULL && d2.sequence_ptr[USERS] == f.model.sequence_ptr[USERS] &&
			  memcmp(d2.user_factors, f.model.user_factors, sizeof(float) * 16 * USERS) == 0,
			  "version 2: %s", reason ? reason : "decoded");
		free(v2);
	}
	free(model_buf);
	free_fit(&f, &c);
	CHECK(c.outstanding == 0, "codec: %ld allocations outstanding", c.outstanding);
}

/* --- options and data the kind refuses ------------------------------------ */

static void
test_refusals(void)
{
	const rs_kind *kind = rs_kind_of(RS_ALGO_SEQUENCE);
	double		opt[RS_SEQ_OPTION_COUNT];
	bool		given[RS_SEQ_OPTION_COUNT] = {false};
	rs_report	why;
	rs_interaction_buffer b = {0};
	rs_interactions single;

	default_options(opt);
	memset(&why, 0, sizeof(why));
	CHECK(kind->prepare_options(opt, given, NULL, 0, &why), "the defaults are refused: %s",
		  why.message);
	opt[RS_SEQ_FACTORS] = 30;
	opt[RS_SEQ_HEADS] = 4;
	CHECK(!kind->prepare_options(opt, given, NULL, 0, &why) &&
		  strstr(why.message, "\"heads\"") != NULL && strstr(why.detail, "30") != NULL,
		  "4 heads of 30 factors: \"%s\" \"%s\"", why.message, why.detail);
	opt[RS_SEQ_HEADS] = 5;
	CHECK(kind->prepare_options(opt, given, NULL, 0, &why), "5 heads of 30 factors");

	/* every user with one distinct item (one of them three times): nothing to learn */
	rs_buffer_append(&b, &rs_malloc_allocator, 1, 10, 1.0f);
	rs_buffer_append(&b, &rs_malloc_allocator, 2, 10, 1.0f);
	rs_buffer_append(&b, &rs_malloc_allocator, 2, 10, 1.0f);
	rs_buffer_append(&b, &rs_malloc_allocator, 3, 20, 1.0f);
	rs_interactions_build(&b, &rs_malloc_allocator, &single);
	memset(&why, 0, sizeof(why));
	CHECK(!kind->check_size(&single, opt, &why) && strstr(why.message, "two distinct") != NULL,
		  "one item per user is refused: \"%s\"", why.message);
	CHECK(kind->check_size(&P.data, opt, &why), "the planted data is refused");
	rs_interactions_free(&single, &rs_malloc_allocator);
	rs_buffer_free(&b, &rs_malloc_allocator);
}

/* --- cancellation and memory ---------------------------------------------- */

static void
small_options(double *opt)
{
	planted_options(opt);
	opt[RS_SEQ_FACTORS] = 8;
	opt[RS_SEQ_EPOCHS] = 3;
	opt[RS_SEQ_BATCH_SIZE] = 16;
	opt[RS_SEQ_NEGATIVES] = 8;
}

static rs_status
fit_and_free(void *ctx, int threads, host *h, counter *c)
{
	rs_fit		f;
	rs_status	status = fit_on(&S, ctx, threads, h, c, &f);

	if (status == RS_OK)
		free_fit(&f, c);
	return status;
}

/*
 * A cancel reports exactly the epochs that ended before the poll that
 * stopped it: each report k of the full fit came after polls_at_report[k]
 * polls.
 */
static void
stops_after_its_epochs(void *ctx, const char *what, const host *full, const host *h,
					   int stop_at, rs_status status)
{
	int			ended = 0;

	(void) ctx;
	if (stop_at > full->polls)
		return;
	for (int k = 0; k < full->reports && k < UNIT_MAX_PROGRESS; k++)
		ended += full->polls_at_report[k] < stop_at;
	CHECK(h->reports == ended, "%s: a stop at poll %d reported %d epochs, want %d", what,
		  stop_at, h->reports, ended);
	CHECK(status == RS_CANCELLED, "%s: a stop at poll %d: status %d", what, stop_at,
		  (int) status);
}

static void
test_cancel_and_memory(void)
{
	double		opt[RS_SEQ_OPTION_COUNT];
	int			polls;

	small_options(opt);
	/* three epochs of three batches, then the users' encoding: all polled */
	polls = unit_cancel_at_every_poll("sequence", fit_and_free, stops_after_its_epochs, opt,
									  3 * 3 + 1, 3, 1);
	printf("sequence: an uncancelled fit polls %d times\n", polls);
	opt[RS_SEQ_EPOCHS] = 1;
	unit_fail_each_allocation("sequence", fit_and_free, opt, 1, 20);
	opt[RS_SEQ_BATCH_SIZE] = 40;	/* three parts on two threads */
	unit_fail_each_allocation("sequence, 2 threads", fit_and_free, opt, 2, 20);
}

int
main(void)
{
	rs_blas_single_threaded();
	make_planted(&P, USERS, 20240601);
	make_planted(&S, SMALL_USERS, 77);
	test_order();
	test_planted_order(&P);
	test_planted_order(&S);
	test_refusals();
	test_planted_rule();
	test_validation();
	test_threads(64);
	test_threads(16);
	test_codec();
	test_cancel_and_memory();
	free_planted(&P);
	free_planted(&S);
	return unit_done();
}
