/*
 * test_ncf.c - NeuMF: ranking on planted clustered data, the falling loss,
 * the host callbacks, bit-identical fits on any number of threads, the
 * model view against the score written out by hand from the documented
 * layout, its encoding, the shapes it refuses, degenerate data, divergence,
 * cancellation and running out of memory without leaks.
 *
 * The format's own checks (every truncation, every flipped byte, a section
 * table at odds with the algorithm, an inconsistent network shape) run on a
 * hand-built NCF model in test_codec.c, with the other algorithms'.
 */
#include "core/ncf.h"
#include "core/random.h"
#include "core/scoring.h"

#include "unit.h"
#include "planted.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static rs_status
fit_with(const rs_interactions *d, const int *layers, int n_layers, const double *opt,
		 int threads, host *h, const rs_allocator *a, rs_ncf_result *r)
{
	rs_runtime	rt = unit_runtime(*a, h, threads);

	return rs_ncf_fit(d, layers, n_layers, opt, &rt, r);
}

static rs_status
fit(const rs_interactions *d, const int *layers, int n_layers, const double *opt,
	int threads, host *h, counter *c, rs_ncf_result *r)
{
	rs_allocator a = {counting_alloc, counting_free, c, NULL};

	return fit_with(d, layers, n_layers, opt, threads, h, &a, r);
}

/*
 * An allocator that knows what it handed out.  It fills every block with
 * garbage, as a recycled block may hold, so that a read of memory the
 * engine never wrote shows whatever malloc happens to return; and it notes
 * a free of anything it did not hand out (freeing nothing then) where
 * free() might crash or corrupt the heap.  It fails the fail_at-th call.
 */
#define MAX_LIVE 1024

typedef struct tracker
{
	long		calls;
	long		fail_at;
	long		outstanding;
	long		bad_frees;
	unsigned char poison;
	int			live_count;
	void	   *live[MAX_LIVE];
} tracker;

static void *
tracking_alloc(void *ctx, size_t size)
{
	tracker    *t = ctx;
	void	   *p;

	if (t->calls++ == t->fail_at || t->live_count == MAX_LIVE)
		return NULL;
	p = malloc(size);
	if (p)
	{
		memset(p, t->poison, size);
		t->live[t->live_count++] = p;
		t->outstanding++;
	}
	return p;
}

static void
tracking_free(void *ctx, void *ptr)
{
	tracker    *t = ctx;

	for (int k = t->live_count - 1; k >= 0; k--)
		if (t->live[k] == ptr)
		{
			t->live[k] = t->live[--t->live_count];
			t->outstanding--;
			free(ptr);
			return;
		}
	t->bad_frees++;
}

static tracker
new_tracker(unsigned char poison)
{
	tracker		t;

	memset(&t, 0, sizeof(t));
	t.fail_at = -1;
	t.poison = poison;
	return t;
}

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_NCF_OPTION_COUNT; k++)
		opt[k] = rs_ncf_option_specs[k].default_value;
}

/*
 * A small NeuMF for the planted data: the default learning rate of 0.001 is
 * meant for large data and would need many more epochs here.
 */
static const int planted_layers[] = {16, 8};

#define PLANTED_N_LAYERS 2
#define PLANTED_EPOCHS 15

static void
planted_options(double *opt)
{
	default_options(opt);
	opt[RS_NCF_FACTORS] = 8;
	opt[RS_NCF_EPOCHS] = PLANTED_EPOCHS;
	opt[RS_NCF_LEARNING_RATE] = 0.01;
}

/* Floats of the network a result holds: the tower and output layer. */
static size_t
tower_count(const rs_ncf_result *r)
{
	size_t		count = 0;

	for (int l = 0; l + 1 < r->n_sizes; l++)
		count += (size_t) r->sizes[l + 1] * ((size_t) r->sizes[l] + 1);
	return count;
}

static uint64_t
weight_count(const rs_ncf_result *r, const rs_interactions *d)
{
	return rs_ncf_weight_count(r->n_sizes, r->sizes, r->factors, d->n_users, d->n_items);
}

/*
 * The probability by the layout ncf.h and dense.h document, in double and
 * by naive loops rather than BLAS: a_0 = [m_u; n_i], each layer's W (out x
 * in, row-major) then b, ReLU on all but the output; then h_G after the
 * network, then the users' and the items' tower embeddings.
 */
static double
reference_predict(const rs_ncf_result *r, int32_t n_users, int32_t u, int32_t i)
{
	int			e = r->sizes[0] / 2,
				f = r->factors,
				layers = r->n_sizes - 1;
	const float *h_gmf = r->weights + tower_count(r);
	const float *user_tower = h_gmf + f;
	const float *item_tower = user_tower + (size_t) n_users * e;
	const float *w = r->weights;
	double		a[RS_NCF_MAX_WIDTH],
				next[RS_NCF_MAX_WIDTH],
				z;

	for (int k = 0; k < e; k++)
	{
		a[k] = user_tower[(size_t) u * e + k];
		a[e + k] = item_tower[(size_t) i * e + k];
	}
	for (int l = 0; l < layers; l++)
	{
		int			in = r->sizes[l],
					out = r->sizes[l + 1];
		const float *b = w + (size_t) out * in;

		for (int j = 0; j < out; j++)
		{
			double		s = b[j];

			for (int k = 0; k < in; k++)
				s += (double) w[(size_t) j * in + k] * a[k];
			next[j] = l + 1 < layers && s < 0.0 ? 0.0 : s;
		}
		memcpy(a, next, sizeof(double) * out);
		w += (size_t) out * (in + 1);
	}
	z = a[0];
	for (int k = 0; k < f; k++)
		z += (double) h_gmf[k] * r->user_factors[(size_t) u * f + k] *
			r->item_factors[(size_t) i * f + k];
	return 1.0 / (1.0 + exp(-z));
}

static bool
same_result(const rs_ncf_result *x, const rs_ncf_result *y, const rs_interactions *d)
{
	size_t		f = (size_t) x->factors;

	return x->factors == y->factors && x->epochs == y->epochs && x->n_sizes == y->n_sizes &&
		memcmp(x->sizes, y->sizes, sizeof(int32_t) * x->n_sizes) == 0 &&
		memcmp(x->user_factors, y->user_factors, sizeof(float) * f * d->n_users) == 0 &&
		memcmp(x->item_factors, y->item_factors, sizeof(float) * f * d->n_items) == 0 &&
		memcmp(x->weights, y->weights, sizeof(float) * weight_count(x, d)) == 0 &&
		memcmp(x->item_popularity, y->item_popularity, sizeof(float) * d->n_items) == 0 &&
		memcmp(x->loss, y->loss, sizeof(double) * x->epochs) == 0;
}

static bool
all_finite(const float *x, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!isfinite(x[k]))
			return false;
	return true;
}

static bool
result_finite(const rs_ncf_result *r, const rs_interactions *d)
{
	bool		finite = true;

	for (int k = 0; k < r->epochs; k++)
		finite &= isfinite(r->loss[k]) != 0;
	return finite && all_finite(r->user_factors, (size_t) r->factors * d->n_users) &&
		all_finite(r->item_factors, (size_t) r->factors * d->n_items) &&
		all_finite(r->weights, weight_count(r, d));
}

/*
 * The model a result gives: its fields point at the result and the data,
 * the NCF pointers at their places in the weights; rs_predict is the
 * documented formula, rs_score_items is rs_predict for every item, and an
 * unknown user's scores are popularity.
 */
static void
check_model_view(const rs_ncf_result *r, const rs_interactions *d, const rs_model *m,
				 const char *what)
{
	size_t		tower = tower_count(r);
	float	   *scores = malloc(sizeof(float) * d->n_items);
	double		worst_reference = 0.0,
				worst_scores = 0.0;
	bool		popularity = true,
				unknown = true;
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};

	CHECK(m->algorithm == RS_ALGO_NCF && m->n_users == d->n_users &&
		  m->n_items == d->n_items && m->n_interactions == d->nnz &&
		  m->factors == r->factors, "%s: model shape", what);
	CHECK(m->user_ids == d->user_ids && m->item_ids == d->item_ids &&
		  m->user_factors == r->user_factors && m->item_factors == r->item_factors &&
		  m->item_popularity == r->item_popularity &&
		  m->seen_ptr == (const uint64_t *) d->user_ptr && m->seen_items == d->user_items &&
		  m->seen_values == d->user_values, "%s: the model views the result and the data",
		  what);
	CHECK(m->mlp_layers == r->n_sizes - 1 && m->mlp_sizes == r->sizes &&
		  m->mlp_weights == r->weights && m->activation == RS_ACTIVATION_RELU &&
		  m->ncf_embedding == r->sizes[0] / 2 &&
		  m->ncf_output_gmf == r->weights + tower &&
		  m->ncf_user_embeddings == r->weights + tower + r->factors &&
		  m->ncf_item_embeddings == m->ncf_user_embeddings +
		  (size_t) d->n_users * m->ncf_embedding,
		  "%s: the NCF fields are not where ncf.h puts them", what);
	CHECK(m->user_bias == NULL && m->item_bias == NULL && m->item_gram == NULL &&
		  m->feature_mean == NULL && m->feature_scale == NULL && m->info == NULL,
		  "%s: sections NCF does not have", what);

	for (int32_t u = 0; u < d->n_users; u++)
		for (int32_t i = 0; i < d->n_items; i++)
		{
			double		diff = fabs(rs_predict(m, u, i) -
									reference_predict(r, d->n_users, u, i));

			/* NaN fails too */
			if (!(diff <= worst_reference))
				worst_reference = isnan(diff) ? INFINITY : diff;
		}
	CHECK(worst_reference <= 1e-5, "%s: rs_predict differs from the formula by %g", what,
		  worst_reference);

	for (int32_t u = 0; u < d->n_users; u++)
	{
		rs_status	status = rs_score_items(m, u, &a, scores);

		if (!CHECK(status == RS_OK, "%s: rs_score_items, user %d: status %d", what, u,
				   (int) status))
			break;
		for (int32_t i = 0; i < d->n_items; i++)
		{
			double		diff = fabs(scores[i] - rs_predict(m, u, i));

			if (!(diff <= worst_scores))
				worst_scores = isnan(diff) ? INFINITY : diff;
		}
	}
	CHECK(worst_scores <= 1e-5, "%s: rs_score_items differs from rs_predict by %g", what,
		  worst_scores);
	CHECK(c.outstanding == 0, "%s: rs_score_items left %ld allocations", what, c.outstanding);
	printf("%s: rs_predict within %.2e of the formula, rs_score_items within %.2e of it\n",
		   what, worst_reference, worst_scores);

	/* without memory, scoring fails cleanly: each of its allocations in turn */
	for (long k = 0;; k++)
	{
		rs_status	status;

		c.calls = 0;
		c.fail_at = k;
		status = rs_score_items(m, 0, &a, scores);
		CHECK(c.outstanding == 0, "%s: rs_score_items with allocation %ld failing: "
			  "%ld outstanding", what, k, c.outstanding);
		if (status == RS_OK || !CHECK(status == RS_NO_MEMORY && k < 100,
									  "%s: rs_score_items with allocation %ld failing: "
									  "status %d", what, k, (int) status))
		{
			CHECK(k > 0, "%s: rs_score_items allocates nothing", what);
			break;
		}
	}

	CHECK(rs_score_items(m, -1, &rs_malloc_allocator, scores) == RS_OK, "%s: unknown user",
		  what);
	for (int32_t i = 0; i < d->n_items; i++)
		popularity &= scores[i] == r->item_popularity[i] &&
			scores[i] == (float) (d->item_ptr[i + 1] - d->item_ptr[i]);
	CHECK(popularity, "%s: an unknown user's scores are not the items' popularity", what);
	for (int32_t i = 0; i < d->n_items; i += 7)
		unknown &= isnan(rs_predict(m, -1, i));
	for (int32_t u = 0; u < d->n_users; u += 7)
		unknown &= isnan(rs_predict(m, u, -1));
	CHECK(unknown && isnan(rs_predict(m, -1, -1)),
		  "%s: a prediction for an unknown id is not NaN", what);
	free(scores);
}

/* An 8-byte-aligned copy of len bytes (malloc aligns to at least 8). */
static unsigned char *
aligned_copy(const void *src, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);

	memcpy(p, src, len);
	return p;
}

/*
 * The trained model through the format: it decodes to the same arrays and
 * the same scores.  The format's checks have their exhaustive test in
 * test_codec.c; here a sample of truncations and flipped bytes of a real
 * model, header bytes all, payload strided so that the checksum is
 * computed a few thousand times rather than once per byte.
 */
static void
check_encoding(const rs_ncf_result *r, const rs_interactions *d, const rs_model *m,
			   const char *what)
{
	rs_model	e = *m;
	size_t		len;
	uint64_t   *buf;
	unsigned char *bytes;
	unsigned char *copy;
	rs_model	x;
	const char *reason;
	float	   *mine = malloc(sizeof(float) * d->n_items),
			   *theirs = malloc(sizeof(float) * d->n_items);
	bool		same_predict = true,
				same_scores = true;
	size_t		stride;
	long		truncations = 0,
				flips = 0,
				accepted = 0;

	e.info = "{\"layers\": [16, 8]}";
	e.info_size = strlen(e.info);
	len = rs_model_encoded_size(&e);
	if (!CHECK(len > sizeof(rs_model_header) && len % 8 == 0, "%s: encoded size %zu", what,
			   len))
		return;
	buf = malloc(len);
	bytes = (unsigned char *) buf;
	memset(buf, 0xEE, len);
	rs_model_encode(&e, buf);
	reason = unit_decode(buf, len, &x);
	if (CHECK(reason == NULL, "%s: decoding a trained model: %s", what, reason))
	{
		CHECK(x.algorithm == RS_ALGO_NCF && x.n_users == d->n_users &&
			  x.n_items == d->n_items && x.factors == r->factors &&
			  x.mlp_layers == r->n_sizes - 1 && x.ncf_embedding == r->sizes[0] / 2 &&
			  x.activation == RS_ACTIVATION_RELU, "%s: decoded shape", what);
		CHECK(memcmp(x.mlp_sizes, r->sizes, sizeof(int32_t) * r->n_sizes) == 0 &&
			  memcmp(x.mlp_weights, r->weights, sizeof(float) * weight_count(r, d)) == 0 &&
			  memcmp(x.user_factors, r->user_factors,
					 sizeof(float) * r->factors * d->n_users) == 0 &&
			  memcmp(x.item_factors, r->item_factors,
					 sizeof(float) * r->factors * d->n_items) == 0 &&
			  memcmp(x.item_popularity, r->item_popularity, sizeof(float) * d->n_items) == 0 &&
			  memcmp(x.seen_ptr, d->user_ptr, sizeof(uint64_t) * (d->n_users + 1)) == 0 &&
			  memcmp(x.seen_items, d->user_items, sizeof(int32_t) * d->nnz) == 0 &&
			  x.info_size == e.info_size && memcmp(x.info, e.info, e.info_size) == 0,
			  "%s: decoded sections", what);
		/* the NCF pointers are located in the buffer as in the model */
		CHECK(x.ncf_output_gmf - x.mlp_weights == m->ncf_output_gmf - m->mlp_weights &&
			  x.ncf_user_embeddings - x.mlp_weights == m->ncf_user_embeddings - m->mlp_weights &&
			  x.ncf_item_embeddings - x.mlp_weights == m->ncf_item_embeddings - m->mlp_weights,
			  "%s: decoded NCF pointers", what);
		for (int32_t u = 0; u < d->n_users; u++)
			for (int32_t i = 0; i < d->n_items; i++)
			{
				double		p = rs_predict(&x, u, i),
							q = rs_predict(m, u, i);

				same_predict &= memcmp(&p, &q, sizeof(p)) == 0;
			}
		CHECK(same_predict, "%s: the decoded model predicts differently", what);
		for (int32_t u = 0; u < d->n_users; u += 13)
		{
			rs_score_items(&x, u, &rs_malloc_allocator, theirs);
			rs_score_items(m, u, &rs_malloc_allocator, mine);
			same_scores &= memcmp(mine, theirs, sizeof(float) * d->n_items) == 0;
		}
		CHECK(same_scores, "%s: the decoded model scores items differently", what);
	}

	/* truncations: each a copy, so that nothing past the cut is readable */
	stride = len / 1500 + 1;
	for (size_t n = 0; n < len; n += n < 2 * sizeof(rs_model_header) ? 1 : stride)
	{
		unsigned char *cut = aligned_copy(buf, n);

		truncations++;
		accepted += unit_decode(cut, n, &x) == NULL;
		free(cut);
	}
	CHECK(accepted == 0, "%s: %ld of %ld truncations accepted", what, accepted, truncations);

	/* single flipped bytes: the checksum covers every byte */
	copy = malloc(len);
	memcpy(copy, buf, len);
	accepted = 0;
	stride = len / 3000 + 1;
	for (size_t off = 0; off < len; off += off < sizeof(rs_model_header) ? 1 : stride)
		for (int p = 0; p < 2; p++)
		{
			unsigned char flip = p == 0 ? 0x01 : 0xFF;

			copy[off] ^= flip;
			flips++;
			if (unit_decode(copy, len, &x) == NULL && accepted++ == 0)
				fprintf(stderr, "%s: byte %zu ^ 0x%02X accepted\n", what, off, flip);
			copy[off] ^= flip;
		}
	CHECK(accepted == 0, "%s: %ld of %ld flipped bytes accepted", what, accepted, flips);
	CHECK(memcmp(copy, bytes, len) == 0, "flips undone");
	printf("%s: %zu bytes encoded; %ld truncations and %ld flipped bytes rejected\n", what,
		   len, truncations, flips);
	free(copy);
	free(buf);
	free(mine);
	free(theirs);
}

static void
test_options(void)
{
	static const char *const names[RS_NCF_OPTION_COUNT] = {
		"factors", "negatives", "epochs", "learning_rate", "batch_size", "l2", "seed",
		"threads", "verbose"
	};
	const rs_option_spec *s = rs_ncf_option_specs;
	bool		named = true;

	for (int k = 0; k < RS_NCF_OPTION_COUNT; k++)
		named &= s[k].name && strcmp(s[k].name, names[k]) == 0;
	CHECK(named, "option names are not in enum order");
	/* the defaults ncf.h documents */
	CHECK(s[RS_NCF_FACTORS].default_value == 16 && s[RS_NCF_FACTORS].min == 1 &&
		  s[RS_NCF_FACTORS].max == RS_NCF_MAX_WIDTH, "factors");
	CHECK(s[RS_NCF_NEGATIVES].default_value == 4 && s[RS_NCF_NEGATIVES].min == 1, "negatives");
	CHECK(s[RS_NCF_LEARNING_RATE].default_value == 0.001 && s[RS_NCF_LEARNING_RATE].min == 0 &&
		  s[RS_NCF_LEARNING_RATE].min_exclusive, "learning_rate must be > 0, default 0.001");
	CHECK(s[RS_NCF_BATCH_SIZE].default_value == 256 &&
		  s[RS_NCF_BATCH_SIZE].max == RS_NCF_MAX_BATCH, "batch_size");
	CHECK(s[RS_NCF_L2].default_value == 0 && s[RS_NCF_L2].min == 0 &&
		  !s[RS_NCF_L2].min_exclusive, "l2 may be 0");
	CHECK(s[RS_NCF_SEED].default_value == 42 && s[RS_NCF_THREADS].default_value == 0 &&
		  s[RS_NCF_VERBOSE].type == RS_OPT_BOOL, "seed, threads, verbose");
}

/*
 * Shapes the fit refuses before allocating anything: the first width is
 * the concatenated embeddings', so it must be even, and there must be one.
 */
static void
test_shapes(void)
{
	static const struct
	{
		int			layers[RS_NCF_MAX_LAYERS + 1];
		int			n_layers;
		int			factors;
		const char *what;
	}			refused[] = {
		{{15, 8}, 2, 8, "an odd first width"},
		{{1}, 1, 8, "a first width of 1"},
		{{0, 8}, 2, 8, "a first width of 0"},
		{{16, 8}, 0, 8, "no layers"},
		{{16, 8}, -1, 8, "a negative number of layers"},
		{{16, 0}, 2, 8, "an empty hidden layer"},
		{{16, -4}, 2, 8, "a negative hidden width"},
		{{16, RS_NCF_MAX_WIDTH + 1}, 2, 8, "a hidden layer too wide"},
		{{RS_NCF_MAX_WIDTH + 2, 8}, 2, 8, "embeddings too wide"},
		{{16, 8, 8, 8, 8, 8, 8, 8, 8}, RS_NCF_MAX_LAYERS + 1, 8, "too many layers"},
		{{16, 8}, 2, 0, "no factors"},
		{{16, 8}, 2, RS_NCF_MAX_WIDTH + 1, "too many factors"},
	};
	double		opt[RS_NCF_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};

	planted_options(opt);
	for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++)
	{
		rs_ncf_result r;
		rs_status	status;

		memset(&r, 0xA5, sizeof(r));
		opt[RS_NCF_FACTORS] = refused[k].factors;
		c.calls = 0;
		status = fit(&P.train, refused[k].layers, refused[k].n_layers, opt, 1, NULL, &c, &r);
		CHECK(status == RS_TOO_LARGE, "%s: status %d, want RS_TOO_LARGE", refused[k].what,
			  (int) status);
		CHECK(c.calls == 0 && r.weights == NULL && r.loss == NULL && r.epochs == 0,
			  "%s: %ld allocations, or a result left behind", refused[k].what, c.calls);
		if (status == RS_OK)
			rs_ncf_result_free(&r, &a);
	}

	/* the widest and deepest allowed shapes are accepted (one epoch, a few users) */
	{
		static const int deep[RS_NCF_MAX_LAYERS] = {4, 3, 3, 3, 3, 3, 3, 2};
		rs_interaction_buffer buf;
		rs_interactions d;
		rs_ncf_result r;
		rs_status	status;

		memset(&buf, 0, sizeof(buf));
		for (int u = 0; u < 5; u++)
			for (int i = u; i < u + 3; i++)
				rs_buffer_append(&buf, &rs_malloc_allocator, u, i, 1.0f);
		if (!CHECK(rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK, "build"))
			return;
		rs_buffer_free(&buf, &rs_malloc_allocator);
		default_options(opt);
		opt[RS_NCF_EPOCHS] = 1;
		status = fit(&d, deep, RS_NCF_MAX_LAYERS, opt, 1, NULL, &c, &r);
		if (CHECK(status == RS_OK, "%d layers: status %d", RS_NCF_MAX_LAYERS, (int) status))
		{
			rs_model	m;

			CHECK(r.n_sizes == RS_NCF_MAX_LAYERS + 1 && r.sizes[RS_NCF_MAX_LAYERS] == 1 &&
				  memcmp(r.sizes, deep, sizeof(deep)) == 0, "%d layers: sizes",
				  RS_NCF_MAX_LAYERS);
			rs_ncf_model(&d, &r, &m);
			check_model_view(&r, &d, &m, "deepest tower");
			rs_ncf_result_free(&r, &a);
		}
		{
			const int	wide[2] = {RS_NCF_MAX_WIDTH, RS_NCF_MAX_WIDTH};

			opt[RS_NCF_FACTORS] = RS_NCF_MAX_WIDTH;
			opt[RS_NCF_BATCH_SIZE] = 10;
			status = fit(&d, wide, 2, opt, 1, NULL, &c, &r);
			if (CHECK(status == RS_OK, "widest layers: status %d", (int) status))
			{
				rs_model	m;

				rs_ncf_model(&d, &r, &m);
				check_model_view(&r, &d, &m, "widest tower");
				rs_ncf_result_free(&r, &a);
			}
		}
		rs_interactions_free(&d, &rs_malloc_allocator);
		CHECK(c.outstanding == 0, "shapes: %ld allocations outstanding", c.outstanding);
	}
}

static void
test_planted(void)
{
	double		opt[RS_NCF_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	host		h = new_host(0);
	rs_ncf_result r,
				again;
	rs_model	m;
	rs_status	status;
	double		started,
				seconds,
				held_auc,
				class_auc;
	size_t		positives,
				batches;
	int			epochs = PLANTED_EPOCHS;
	bool		in_order = true,
				matching = true,
				polled = true;

	planted_options(opt);
	started = rs_now();
	status = fit(&P.train, planted_layers, PLANTED_N_LAYERS, opt, 1, &h, &c, &r);
	seconds = rs_now() - started;
	printf("planted %d classes, %dx%d, %zu interactions, %d epochs: fit in %.3f s\n",
		   CLASSES, USERS, ITEMS, P.train.nnz, epochs, seconds);
	if (!CHECK(status == RS_OK, "fit: status %d", (int) status))
		return;
	CHECK(r.factors == 8 && r.epochs == epochs && r.n_sizes == 3 && r.sizes[0] == 16 &&
		  r.sizes[1] == 8 && r.sizes[2] == 1, "factors %d, epochs %d, %d sizes", r.factors,
		  r.epochs, r.n_sizes);
	/* [16, 8, 1]: 8 x 17 + 1 x 9, h_G 8, then 8 per user and per item */
	CHECK(weight_count(&r, &P.train) == 8 * 17 + 9 + 8 + (uint64_t) (USERS + ITEMS) * 8,
		  "weight count %llu", (unsigned long long) weight_count(&r, &P.train));
	CHECK(result_finite(&r, &P.train), "the trained model is not finite");

	rs_ncf_model(&P.train, &r, &m);
	planted_auc(&m, rs_predict, &held_auc, &class_auc);
	printf("AUC of held-out positives %.4f, of unseen same-class items %.4f; "
		   "loss %.4f -> %.4f\n", held_auc, class_auc, r.loss[0], r.loss[epochs - 1]);
	CHECK(held_auc > 0.9, "held-out AUC %.4f, want > 0.9", held_auc);
	CHECK(class_auc > 0.9, "same-class AUC %.4f, want > 0.9", class_auc);
	CHECK(r.loss[epochs - 1] < 0.8 * r.loss[0], "loss %.4f -> %.4f did not fall by a fifth",
		  r.loss[0], r.loss[epochs - 1]);
	/* a model that starts at z = 0 starts at ln 2, and only gets better within the epoch */
	CHECK(r.loss[0] < log(2.0) && r.loss[0] > 0.2, "first loss %.4f", r.loss[0]);

	/* one progress report per epoch, in order, on the calling thread, with polls between */
	CHECK(h.reports == epochs, "%d progress reports for %d epochs", h.reports, epochs);
	positives = (size_t) (opt[RS_NCF_BATCH_SIZE] / (1 + opt[RS_NCF_NEGATIVES]));
	batches = (P.train.nnz + positives - 1) / positives;
	for (int k = 0; k < h.reports && k < UNIT_MAX_PROGRESS; k++)
	{
		in_order &= h.iteration[k] == k + 1;
		matching &= h.loss[k] == r.loss[k] && h.seconds[k] >= 0.0;
		polled &= h.polls_at_report[k] >= (k + 1) * (int) batches;
	}
	CHECK(in_order, "progress epochs are not 1, 2, 3...");
	CHECK(matching, "progress losses differ from the result's");
	CHECK(polled, "should_stop not polled at least once per batch (%zu batches an epoch)",
		  batches);
	CHECK(!h.wrong_thread && !c.wrong_thread, "a host callback ran on a worker thread");

	check_model_view(&r, &P.train, &m, "planted");
	check_encoding(&r, &P.train, &m, "planted");

	/*
	 * The same seed gives the same bits, on one thread twice and on two and
	 * three: the batch's parts do not depend on the threads.
	 */
	for (int threads = 1; threads <= 3; threads++)
	{
		h = new_host(0);
		status = fit(&P.train, planted_layers, PLANTED_N_LAYERS, opt, threads, &h, &c, &again);
		if (CHECK(status == RS_OK, "fit on %d threads: status %d", threads, (int) status))
		{
			CHECK(same_result(&r, &again, &P.train),
				  "a fit on %d threads differs from the first on 1 (final loss %.9g, %.9g)",
				  threads, again.loss[again.epochs - 1], r.loss[epochs - 1]);
			CHECK(h.reports == epochs && !h.wrong_thread && !c.wrong_thread,
				  "callbacks on %d threads", threads);
			rs_ncf_result_free(&again, &a);
		}
	}
	/* nor on what the memory it is given held before: nothing is read unwritten */
	{
		tracker		t = new_tracker(0xA5);
		rs_allocator poisoned = {tracking_alloc, tracking_free, &t, NULL};

		status = fit_with(&P.train, planted_layers, PLANTED_N_LAYERS, opt, 2, NULL, &poisoned,
						  &again);
		if (CHECK(status == RS_OK, "fit in poisoned memory: status %d", (int) status))
		{
			CHECK(same_result(&r, &again, &P.train), "a fit in poisoned memory differs");
			rs_ncf_result_free(&again, &poisoned);
		}
		CHECK(t.outstanding == 0 && t.bad_frees == 0, "poisoned fit: %ld outstanding, "
			  "%ld bad frees", t.outstanding, t.bad_frees);
	}

	/* another seed gives another model */
	opt[RS_NCF_SEED] = 7;
	status = fit(&P.train, planted_layers, PLANTED_N_LAYERS, opt, 2, NULL, &c, &again);
	if (CHECK(status == RS_OK, "fit with seed 7: status %d", (int) status))
	{
		rs_model	m7;

		CHECK(!same_result(&r, &again, &P.train), "seeds 42 and 7 give the same model");
		rs_ncf_model(&P.train, &again, &m7);
		planted_auc(&m7, rs_predict, &held_auc, &class_auc);
		printf("seed 7: AUC %.4f and %.4f, final loss %.4f\n", held_auc, class_auc,
			   again.loss[epochs - 1]);
		CHECK(held_auc > 0.9 && class_auc > 0.9, "AUC with seed 7: %.4f, %.4f", held_auc,
			  class_auc);
		rs_ncf_result_free(&again, &a);
	}

	rs_ncf_result_free(&r, &a);
	CHECK(r.weights == NULL && r.sizes == NULL, "a freed result keeps its pointers");
	CHECK(c.outstanding == 0, "%ld allocations outstanding after freeing the results",
		  c.outstanding);
}

/*
 * One layer, [2e]: no hidden layer, the output reads the concatenated
 * embeddings directly.  It trains, and its model agrees with the formula,
 * with itself and with its encoding.
 */
static void
test_single_layer(void)
{
	static const int layers[1] = {16};
	double		opt[RS_NCF_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_ncf_result r;
	rs_model	m;
	rs_status	status;
	double		held_auc,
				class_auc;

	planted_options(opt);
	status = fit(&P.train, layers, 1, opt, 2, NULL, &c, &r);
	if (!CHECK(status == RS_OK, "single layer: status %d", (int) status))
		return;
	CHECK(r.n_sizes == 2 && r.sizes[0] == 16 && r.sizes[1] == 1, "single layer sizes");
	CHECK(weight_count(&r, &P.train) == 17 + 8 + (uint64_t) (USERS + ITEMS) * 8,
		  "single layer: weight count %llu",
		  (unsigned long long) weight_count(&r, &P.train));
	CHECK(result_finite(&r, &P.train), "single layer: not finite");
	rs_ncf_model(&P.train, &r, &m);
	planted_auc(&m, rs_predict, &held_auc, &class_auc);
	printf("single layer: AUC %.4f and %.4f, loss %.4f -> %.4f\n", held_auc, class_auc,
		   r.loss[0], r.loss[PLANTED_EPOCHS - 1]);
	CHECK(held_auc > 0.9 && class_auc > 0.9, "single layer: AUC %.4f, %.4f", held_auc,
		  class_auc);
	CHECK(r.loss[PLANTED_EPOCHS - 1] < r.loss[0], "single layer: loss %.4f -> %.4f",
		  r.loss[0], r.loss[PLANTED_EPOCHS - 1]);
	check_model_view(&r, &P.train, &m, "single layer");
	check_encoding(&r, &P.train, &m, "single layer");
	rs_ncf_result_free(&r, &a);
	CHECK(c.outstanding == 0, "single layer: %ld allocations outstanding", c.outstanding);
}

/*
 * More items than one block of rs_ncf_score_items, a deeper tower and odd
 * sizes: the blocked scoring still agrees with rs_predict and the formula.
 */
static void
test_many_items(void)
{
	static const int layers[4] = {14, 9, 5, 3};
	rs_interaction_buffer buf;
	rs_interactions d;
	rs_random	rng = {99};
	double		opt[RS_NCF_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_ncf_result r;
	rs_status	status;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < 40; u++)
		for (int k = 0; k < 25; k++)
			rs_buffer_append(&buf, &rs_malloc_allocator, u * 3,
							 (int64_t) (rs_random_uniform(&rng) * 700), 1.0f);
	if (!CHECK(rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK, "build"))
		return;
	rs_buffer_free(&buf, &rs_malloc_allocator);
	CHECK(d.n_items > 512, "only %d items", d.n_items);
	default_options(opt);
	opt[RS_NCF_FACTORS] = 5;
	opt[RS_NCF_EPOCHS] = 3;
	opt[RS_NCF_LEARNING_RATE] = 0.01;
	opt[RS_NCF_L2] = 1e-4;
	opt[RS_NCF_NEGATIVES] = 3;
	opt[RS_NCF_BATCH_SIZE] = 100;
	status = fit(&d, layers, 4, opt, 3, NULL, &c, &r);
	if (CHECK(status == RS_OK, "many items: status %d", (int) status))
	{
		rs_model	m;

		CHECK(result_finite(&r, &d), "many items: not finite");
		rs_ncf_model(&d, &r, &m);
		check_model_view(&r, &d, &m, "many items");
		rs_ncf_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "many items: %ld allocations outstanding", c.outstanding);
}

/*
 * The gradient, seen through Adam's first step.  Each of 6 users has 2 of 3
 * items, so with one negative per positive the only negative is the third
 * item, and a batch larger than the data is all of it: the first step's
 * batch holds each user's two items as positives and the third twice as a
 * negative.  Adam's first step moves each parameter by rate g / (|g| + eps),
 * about rate sign(g): a fit with a rate too small to move anything gives the
 * initial parameters, a fit with rate 1e-4 the step, and the step must go
 * against the gradient of the mean cross-entropy, computed here by central
 * differences through the formula of reference_predict.  That covers what
 * the model view cannot: the GMF gradients, h_G's, and the tower's input
 * gradient routed back to the right user's and item's embeddings.
 */
#define G_USERS 6
#define G_ITEMS 3
#define G_RATE 1e-4

static bool
g_has(int u, int i)
{
	return i != (u + 2) % G_ITEMS;
}

static double
g_loss(const rs_ncf_result *r)
{
	double		sum = 0.0;

	for (int u = 0; u < G_USERS; u++)
		for (int i = 0; i < G_ITEMS; i++)
		{
			double		p = reference_predict(r, G_USERS, u, i);

			/* the unseen item is each of the user's two positives' negative */
			sum -= g_has(u, i) ? log(p) : 2.0 * log1p(-p);
		}
	return sum / (G_USERS * 4);
}

static void
test_gradient(void)
{
	static const int layers[2] = {6, 4};
	rs_interaction_buffer buf;
	rs_interactions d;
	double		opt[RS_NCF_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_ncf_result before,
				after;
	struct
	{
		const char *name;
		size_t		offset;		/* in weights, for the weights' parts */
		size_t		count;
		int			checked;
	}			groups[6] = {
		{"user GMF factors", 0, G_USERS * 3, 0},
		{"item GMF factors", 0, G_ITEMS * 3, 0},
		{"tower and output layer", 0, 0, 0},
		{"h_G", 0, 3, 0},
		{"user tower embeddings", 0, G_USERS * 3, 0},
		{"item tower embeddings", 0, G_ITEMS * 3, 0},
	};
	int			checked = 0,
				wrong = 0;
	size_t		total = 0;
	double		worst = 0.0;
	bool		every_group = true;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < G_USERS; u++)
		for (int i = 0; i < G_ITEMS; i++)
			if (g_has(u, i))
				rs_buffer_append(&buf, &rs_malloc_allocator, u, i, 1.0f);
	if (!CHECK(rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK, "build"))
		return;
	rs_buffer_free(&buf, &rs_malloc_allocator);
	default_options(opt);
	opt[RS_NCF_FACTORS] = 3;
	opt[RS_NCF_EPOCHS] = 1;
	opt[RS_NCF_NEGATIVES] = 1;
	opt[RS_NCF_BATCH_SIZE] = 64;
	opt[RS_NCF_LEARNING_RATE] = 1e-30;
	if (!CHECK(fit(&d, layers, 2, opt, 1, NULL, &c, &before) == RS_OK, "fit, rate 1e-30"))
		return;
	opt[RS_NCF_LEARNING_RATE] = G_RATE;
	if (!CHECK(fit(&d, layers, 2, opt, 1, NULL, &c, &after) == RS_OK, "fit, rate 1e-4"))
		return;

	/* the epoch's loss is taken before the step: the initial parameters' */
	CHECK_NEAR(before.loss[0], g_loss(&before), 1e-6);
	CHECK_NEAR(after.loss[0], before.loss[0], 1e-6);

	/* the parts of the weights, by ncf.h: network, h_G, user then item embeddings */
	groups[2].count = tower_count(&before);
	groups[3].offset = groups[2].count;
	groups[4].offset = groups[3].offset + 3;
	groups[5].offset = groups[4].offset + G_USERS * 3;
	CHECK(groups[5].offset + groups[5].count == weight_count(&before, &d), "weight count");
	for (int gi = 0; gi < 6; gi++)
	{
		float	   *start = gi == 0 ? before.user_factors : gi == 1 ? before.item_factors :
			before.weights + groups[gi].offset;
		const float *moved = gi == 0 ? after.user_factors : gi == 1 ? after.item_factors :
			after.weights + groups[gi].offset;

		total += groups[gi].count;
		for (size_t k = 0; k < groups[gi].count; k++)
		{
			float		saved = start[k];
			double		up,
						down,
						lo,
						hi,
						g,
						step,
						off;

			/* small enough not to cross a ReLU's kink: the embeddings are about 0.01 */
			start[k] = saved + 1e-5f;
			hi = start[k];
			up = g_loss(&before);
			start[k] = saved - 1e-5f;
			lo = start[k];
			down = g_loss(&before);
			start[k] = saved;
			g = (up - down) / (hi - lo);
			step = ((double) saved - moved[k]) / G_RATE;
			/*
			 * Adam's eps (1e-7) shortens the step of a small gradient: from
			 * 2e-5 down it takes more than half a percent off, and only the
			 * direction is checked.  h_G's gradients are that small, since
			 * p_u * q_i is about 1e-4 at the start.  Below 2e-7 the
			 * differences' error could matter.
			 */
			if (fabs(g) < 2e-7)
				continue;
			checked++;
			groups[gi].checked++;
			if (fabs(g) > 2e-5)
				off = fabs(step - (g > 0 ? 1.0 : -1.0));
			else
				off = step * g > 0 && fabs(step) <= 1.0 ? 0.0 : 1.0;
			if (off > 0.01 && wrong++ < 5)
				fprintf(stderr, "%s[%zu]: gradient %.6g, step %.6g x rate\n",
						groups[gi].name, k, g, step);
			if (off > worst)
				worst = off;
		}
		every_group &= groups[gi].checked > 0;
	}
	printf("gradient: %d of %zu parameters have |g| > 2e-7 (%d, %d, %d, %d, %d, %d by part), "
		   "%d of them stepped against it; worst |step / rate - sign g| %.2e\n", checked,
		   total, groups[0].checked, groups[1].checked, groups[2].checked, groups[3].checked,
		   groups[4].checked, groups[5].checked, checked - wrong, worst);
	CHECK(every_group, "a part of the model has no parameter with a clear gradient");
	CHECK(wrong == 0, "%d of %d parameters did not step against the gradient", wrong, checked);
	rs_ncf_result_free(&before, &a);
	rs_ncf_result_free(&after, &a);
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "gradient: %ld allocations outstanding", c.outstanding);
}

/*
 * Users of every item have no negatives: their draws are skipped, and the
 * fit ends.  With a single item nobody has one.  A learning rate far too
 * large either fails as numerical or returns finite numbers, never NaN.
 */
static rs_interactions
every_item_data(void)
{
	rs_interaction_buffer buf;
	rs_interactions d;

	/* user 0 has every item, the others two each */
	memset(&buf, 0, sizeof(buf));
	for (int i = 0; i < 20; i++)
		rs_buffer_append(&buf, &rs_malloc_allocator, 0, i, 1.0f);
	for (int u = 1; u < 30; u++)
	{
		rs_buffer_append(&buf, &rs_malloc_allocator, u, u % 20, 1.0f);
		rs_buffer_append(&buf, &rs_malloc_allocator, u, (u * 7 + 3) % 20, 1.0f);
	}
	if (rs_interactions_build(&buf, &rs_malloc_allocator, &d) != RS_OK)
	{
		fprintf(stderr, "cannot build the data\n");
		exit(2);
	}
	rs_buffer_free(&buf, &rs_malloc_allocator);
	return d;
}

static const int small_layers[2] = {8, 4};

static void
test_degenerate(void)
{
	rs_interaction_buffer buf;
	rs_interactions d = every_item_data();
	rs_ncf_result r;
	double		opt[RS_NCF_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_status	status;

	default_options(opt);
	opt[RS_NCF_FACTORS] = 4;
	opt[RS_NCF_EPOCHS] = 5;
	opt[RS_NCF_LEARNING_RATE] = 0.01;
	status = fit(&d, small_layers, 2, opt, 2, NULL, &c, &r);
	if (CHECK(status == RS_OK, "a user of every item: status %d", (int) status))
	{
		rs_model	m;

		CHECK(result_finite(&r, &d) && r.loss[4] > 0.0 && r.loss[4] < r.loss[0],
			  "a user of every item: loss %g -> %g", r.loss[0], r.loss[4]);
		rs_ncf_model(&d, &r, &m);
		check_model_view(&r, &d, &m, "a user of every item");
		rs_ncf_result_free(&r, &a);
	}

	/*
	 * Divergence: Adam moves each weight by about the learning rate per
	 * step, so the logits grow without bound.  A shallow tower's stay
	 * finite, if absurd; a deep one's overflow, which the fit must report
	 * rather than return.  Either way nothing is left allocated.  Each case
	 * has its one outcome, the same under every kernel: a shallow tower
	 * that fails, or a deep one that ends, has changed behaviour.
	 */
	{
		static const int deep[RS_NCF_MAX_LAYERS] = {64, 64, 64, 64, 64, 64, 64, 64};
		static const struct
		{
			bool		planted;
			const int  *layers;
			int			n_layers;
			double		rate;
			int			epochs;
			rs_status	expected;
			const char *what;
		}			cases[] = {
			{false, small_layers, 2, 1e5, 50, RS_OK, "small data, [8, 4]"},
			{true, small_layers, 2, 1e5, 3, RS_OK, "planted data, [8, 4]"},
			{true, deep, RS_NCF_MAX_LAYERS, 1e4, 1, RS_NUMERICAL_FAILURE,
				"planted data, 8 layers of 64"},
		};

		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		{
			const rs_interactions *data = cases[k].planted ? &P.train : &d;
			const char *what = cases[k].what;

			opt[RS_NCF_LEARNING_RATE] = cases[k].rate;
			opt[RS_NCF_EPOCHS] = cases[k].epochs;
			status = fit(data, cases[k].layers, cases[k].n_layers, opt, 2, NULL, &c, &r);
			printf("learning rate %g on %s: %s\n", cases[k].rate, what,
				   status == RS_OK ? "finite" : status == RS_NUMERICAL_FAILURE ?
				   "numerical failure" : "other status");
			CHECK(status == cases[k].expected, "learning rate %g on %s: status %d, want %d",
				  cases[k].rate, what, (int) status, (int) cases[k].expected);
			if (status == RS_OK)
			{
				rs_model	m;
				bool		finite = true;

				CHECK(result_finite(&r, data), "learning rate %g on %s: NaN or infinity in "
					  "an OK result", cases[k].rate, what);
				rs_ncf_model(data, &r, &m);
				for (int32_t u = 0; u < data->n_users; u += 3)
					for (int32_t i = 0; i < data->n_items; i++)
						finite &= !isnan(rs_predict(&m, u, i));
				CHECK(finite, "learning rate %g on %s: a NaN prediction", cases[k].rate, what);
				rs_ncf_result_free(&r, &a);
			}
			else
				CHECK(r.weights == NULL && r.loss == NULL, "a failed fit leaves a result");
			CHECK(c.outstanding == 0, "learning rate %g on %s: %ld allocations outstanding",
				  cases[k].rate, what, c.outstanding);
		}
	}
	rs_interactions_free(&d, &rs_malloc_allocator);

	/* one item, so no negatives at all: every row a positive */
	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < 10; u++)
		rs_buffer_append(&buf, &rs_malloc_allocator, u, 5, 1.0f);
	if (!CHECK(rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK, "build"))
		return;
	rs_buffer_free(&buf, &rs_malloc_allocator);
	default_options(opt);
	opt[RS_NCF_EPOCHS] = 3;
	opt[RS_NCF_LEARNING_RATE] = 0.01;
	status = fit(&d, small_layers, 2, opt, 2, NULL, &c, &r);
	if (CHECK(status == RS_OK, "a single item: status %d", (int) status))
	{
		rs_model	m;

		/* one batch an epoch, its loss taken before its step: the first is ln 2 */
		CHECK(r.epochs == 3 && result_finite(&r, &d) && r.loss[2] < r.loss[0] &&
			  fabs(r.loss[0] - log(2.0)) < 0.01, "a single item: loss %g -> %g", r.loss[0],
			  r.loss[2]);
		CHECK(r.item_popularity[0] == 10.0f, "popularity %g", r.item_popularity[0]);
		rs_ncf_model(&d, &r, &m);
		check_model_view(&r, &d, &m, "a single item");
		rs_ncf_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* A fit of the small layers to d with options opt. */
typedef struct small_fit
{
	const rs_interactions *d;
	const double *opt;
} small_fit;

/* A small_fit (ctx), freed if it succeeds. */
static rs_status
fit_and_free(void *ctx, int threads, host *h, counter *c)
{
	small_fit  *f = ctx;
	rs_ncf_result r;
	rs_status	status = fit(f->d, small_layers, 2, f->opt, threads, h, c, &r);

	if (status == RS_OK)
		rs_ncf_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, c, NULL});
	return status;
}

/* A 3-epoch fit cancelled on its own thread stops at that poll within the 3 epochs. */
static void
stops_within_epochs(void *ctx, const char *what, const host *full, const host *h, int stop_at,
					rs_status status)
{
	(void) ctx;
	(void) status;
	if (stop_at <= full->polls)
		CHECK(h->reports < 3 && h->polls == stop_at, "%s: stop at poll %d: %d epochs reported, "
			  "%d polls", what, stop_at, h->reports, h->polls);
}

static void
test_cancel(void)
{
	rs_interactions d = every_item_data();
	double		opt[RS_NCF_OPTION_COUNT];
	counter		c = new_counter();
	host		h;
	rs_ncf_result r;
	rs_status	status;
	small_fit	small;

	/* a long fit stopped at the fourth poll ends within the first epoch */
	planted_options(opt);
	opt[RS_NCF_EPOCHS] = 10000;
	h = new_host(4);
	status = fit(&P.train, planted_layers, PLANTED_N_LAYERS, opt, 2, &h, &c, &r);
	CHECK(status == RS_CANCELLED, "status %d, want RS_CANCELLED", (int) status);
	CHECK(h.reports == 0, "%d epochs ran after the stop", h.reports);
	CHECK(h.polls == 4, "polled %d times after saying stop at 4", h.polls);
	CHECK(r.weights == NULL && r.loss == NULL, "a cancelled fit leaves a result");
	CHECK(c.outstanding == 0, "%ld allocations outstanding after a cancel", c.outstanding);
	CHECK(!h.wrong_thread && !c.wrong_thread, "a host callback ran on a worker thread");

	/*
	 * A cancel at every poll of a 3-epoch fit, and with workers at every
	 * poll.  Two batches an epoch of up to four parts each.
	 */
	default_options(opt);
	opt[RS_NCF_FACTORS] = 4;
	opt[RS_NCF_EPOCHS] = 3;
	small.d = &d;
	small.opt = opt;
	unit_cancel_at_every_poll("NCF [8, 4]", fit_and_free, stops_within_epochs, &small,
							  3 * 2 * 2, 3, 1);
	rs_interactions_free(&d, &rs_malloc_allocator);
}

/*
 * Every allocation of a fit failing in turn: RS_NO_MEMORY, nothing left
 * over, and nothing freed that was not allocated.  The blocks are poisoned,
 * so a cleanup that frees pointers out of memory it never initialised is
 * caught every time, not only when malloc recycles a block.
 */
static void
test_out_of_memory(void)
{
	rs_interactions d = every_item_data();
	double		opt[RS_NCF_OPTION_COUNT];
	tracker		t;
	rs_allocator a = {tracking_alloc, tracking_free, &t, NULL};
	rs_ncf_result r;
	long		calls;

	default_options(opt);
	opt[RS_NCF_FACTORS] = 4;
	opt[RS_NCF_EPOCHS] = 1;
	for (int threads = 1; threads <= 2; threads++)
	{
		long		wrong = 0,
					leaky = 0,
					bad_frees = 0,
					first_bad = -1;

		t = new_tracker(0xA5);
		if (!CHECK(fit_with(&d, small_layers, 2, opt, threads, NULL, &a, &r) == RS_OK, "fit"))
			continue;
		calls = t.calls;
		rs_ncf_result_free(&r, &a);
		CHECK(calls > 20, "a fit takes %ld allocations", calls);
		for (long k = 0; k <= calls; k++)
		{
			rs_status	status;

			t = new_tracker(0xA5);
			t.fail_at = k;
			memset(&r, 0xA5, sizeof(r));
			status = fit_with(&d, small_layers, 2, opt, threads, NULL, &a, &r);
			if (status == RS_OK)
				rs_ncf_result_free(&r, &a);
			if (k < calls)
				wrong += !CHECK(status == RS_NO_MEMORY && r.weights == NULL,
								"threads %d, allocation %ld of %ld failing: status %d",
								threads, k, calls, (int) status);
			else
				CHECK(status == RS_OK, "threads %d, a failure past the last allocation: "
					  "status %d", threads, (int) status);
			leaky += t.outstanding != 0;
			if (t.bad_frees > 0 && first_bad < 0)
				first_bad = k;
			bad_frees += t.bad_frees;
		}
		CHECK(leaky == 0, "threads %d: %ld of %ld failing allocations leave memory "
			  "outstanding", threads, leaky, calls);
		CHECK(bad_frees == 0, "threads %d: %ld frees of pointers never allocated, the first "
			  "with allocation %ld of %ld failing", threads, bad_frees, first_bad, calls);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
}

/*
 * Fold-in: a row learned for a user's own training history, the network
 * fixed, ranks the user's held-out class items above other classes nearly
 * as well as the stored row; the same history gives the same row; the row's
 * scores are those rs_score_items_for gives; running out of memory at any
 * allocation fails cleanly.
 */
static void
test_fold_in(void)
{
	double		opt[RS_NCF_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_ncf_result r;
	rs_model	m;
	int			width;
	float	   *row,
			   *again,
			   *scores;
	double		right = 0.0,
				pairs = 0.0;
	bool		same = true;

	planted_options(opt);
	if (!CHECK(fit(&P.train, planted_layers, PLANTED_N_LAYERS, opt, 2, NULL, &c, &r) == RS_OK,
			   "fold-in: fit failed"))
		return;
	rs_ncf_model(&P.train, &r, &m);
	width = rs_user_row_length(&m);
	CHECK(width == 8 + 8, "a user row has %d floats, want factors + tower embedding", width);
	row = malloc(sizeof(float) * width);
	again = malloc(sizeof(float) * width);
	scores = malloc(sizeof(float) * m.n_items);
	for (int u = 0; u < USERS; u += 10)
	{
		int32_t		du = rs_model_user_index(&m, user_id(u));
		size_t		n;
		const int32_t *items = rs_seen_items(&m, du, &n);

		if (rs_fold_in(&m, items, NULL, n, &a, row, &(float) {0}) != RS_OK ||
			rs_fold_in(&m, items, NULL, n, &a, again, &(float) {0}) != RS_OK ||
			rs_score_items_for(&m, row, 0.0f, &a, scores) != RS_OK)
		{
			CHECK(false, "fold-in of user %d failed", u);
			continue;
		}
		same &= memcmp(row, again, sizeof(float) * width) == 0;
		/* unseen items of the user's class against unseen items of other classes */
		for (int i = 0; i < ITEMS; i++)
		{
			int32_t		di = rs_model_item_index(&m, item_id(i));

			if (di < 0 || rs_sorted_contains(items, n, di) || class_of_item(i) != class_of_user(u))
				continue;
			for (int j = 0; j < ITEMS; j++)
			{
				int32_t		dj = rs_model_item_index(&m, item_id(j));

				if (dj < 0 || rs_sorted_contains(items, n, dj) || class_of_item(j) == class_of_user(u))
					continue;
				right += scores[di] > scores[dj] ? 1.0 : scores[di] == scores[dj] ? 0.5 : 0.0;
				pairs += 1.0;
			}
		}
	}
	printf("fold-in of 80 training histories: same-class AUC %.4f\n", right / pairs);
	CHECK(right / pairs > 0.9, "fold-in AUC %.4f, want > 0.9", right / pairs);
	CHECK(same, "the same history gave different rows");

	/* every allocation failing in turn */
	for (long fail = 0;; fail++)
	{
		counter		f = new_counter();
		rs_allocator fa = {counting_alloc, counting_free, &f, NULL};
		int32_t		du = rs_model_user_index(&m, user_id(3));
		size_t		n;
		const int32_t *items = rs_seen_items(&m, du, &n);
		rs_status	status;

		f.fail_at = fail;
		status = rs_fold_in(&m, items, NULL, n, &fa, row, &(float) {0});
		CHECK(f.outstanding == 0, "fold-in failing at allocation %ld leaves %ld", fail,
			  f.outstanding);
		if (status == RS_OK)
			break;
		if (!CHECK(status == RS_NO_MEMORY, "fold-in failing at %ld: status %d", fail, (int) status))
			break;
	}
	free(row);
	free(again);
	free(scores);
	rs_ncf_result_free(&r, &a);
	CHECK(c.outstanding == 0, "fold-in: %ld allocations outstanding", c.outstanding);
}

int
main(void)
{
	double		started = rs_now();

	make_planted();
	test_options();
	test_shapes();
	test_planted();
	test_single_layer();
	test_fold_in();
	test_many_items();
	test_gradient();
	test_degenerate();
	test_cancel();
	test_out_of_memory();
	rs_interactions_free(&P.train, &rs_malloc_allocator);
	printf("%.2f s in all\n", rs_now() - started);
	return unit_done();
}
