/*
 * test_attention.c - the causal self-attention network: its forward against
 * a plain double-precision implementation written from the definition,
 * back-propagation against that implementation's central differences for
 * every kind of parameter, dropout (repeatable, off at inference, and its
 * backward with the same masks replayed), serving's encoding against the
 * batch forward, causality, the independence of a batch's sequences, the
 * position convention, bad input and running out of memory.
 */
#include "core/attention.h"
#include "core/random.h"

#include "unit.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REF_MAX_N 32			/* the reference's longest sequence */
#define REF_MAX_D 32			/* and widest factors */

/* A network, its weights and item embeddings, and a batch. */
typedef struct fixture
{
	rs_attention net;
	int			n_items;
	float	   *weights;
	float	   *embeddings;
	int			n_seq;
	int32_t		lengths[64];
	int32_t		items[1024];
	size_t		tokens;
} fixture;

/*
 * Initial weights with every gamma, beta and bias moved off 1 and 0, so
 * that no parameter's gradient is a special case; embeddings normal.
 */
static fixture
make_fixture(int factors, int blocks, int heads, int max_length, int n_items, uint64_t seed)
{
	fixture		f;
	rs_random	rng = {seed};
	int			d = factors;

	memset(&f, 0, sizeof(f));
	if (!rs_attention_init(&f.net, factors, blocks, heads, max_length))
		abort();
	f.n_items = n_items;
	f.weights = malloc(sizeof(float) * f.net.n_weights);
	f.embeddings = malloc(sizeof(float) * (size_t) n_items * d);
	rs_attention_initial_weights(&f.net, f.weights, &rng);
	for (size_t k = 0; k < f.net.first_block; k++)
		f.weights[k] = (float) (0.3 * rs_random_normal(&rng));
	for (int b = 0; b < blocks; b++)
	{
		float	   *p = f.weights + rs_attention_block(&f.net, b);
		size_t		vectors[] = {f.net.at.ln1_gamma, f.net.at.ln1_beta, f.net.at.ln2_gamma,
		f.net.at.ln2_beta, f.net.at.b1, f.net.at.b2};

		for (int v = 0; v < 6; v++)
			for (int j = 0; j < d; j++)
				p[vectors[v] + j] += (float) (0.2 * rs_random_normal(&rng));
	}
	for (int j = 0; j < 2 * d; j++)
		f.weights[f.net.final_norm + j] += (float) (0.2 * rs_random_normal(&rng));
	for (size_t k = 0; k < (size_t) n_items * d; k++)
		f.embeddings[k] = (float) (0.5 * rs_random_normal(&rng));
	return f;
}

static void
set_batch(fixture *f, int n_seq, const int32_t *lengths, const int32_t *items)
{
	f->n_seq = n_seq;
	f->tokens = 0;
	for (int s = 0; s < n_seq; s++)
	{
		f->lengths[s] = lengths[s];
		f->tokens += lengths[s];
	}
	memcpy(f->items, items, sizeof(int32_t) * f->tokens);
}

static void
free_fixture(fixture *f)
{
	free(f->weights);
	free(f->embeddings);
}

static double *
to_double(const float *x, size_t count)
{
	double	   *y = malloc(sizeof(double) * count);

	for (size_t k = 0; k < count; k++)
		y[k] = x[k];
	return y;
}

/* The reference's layer norm of one row. */
static void
ref_norm(const double *x, int d, const double *gamma, const double *beta, double *y)
{
	double		mean = 0.0,
				var = 0.0,
				s;

	for (int j = 0; j < d; j++)
		mean += x[j];
	mean /= d;
	for (int j = 0; j < d; j++)
		var += (x[j] - mean) * (x[j] - mean);
	s = 1.0 / sqrt(var / d + (double) RS_ATTENTION_NORM_EPSILON);
	for (int j = 0; j < d; j++)
		y[j] = (x[j] - mean) * s * gamma[j] + beta[j];
}

/* y = W x, W d x d row-major. */
static void
ref_product(const double *W, const double *x, int d, double *y)
{
	for (int o = 0; o < d; o++)
	{
		double		sum = 0.0;

		for (int i = 0; i < d; i++)
			sum += W[o * d + i] * x[i];
		y[o] = sum;
	}
}

/* Dropout masks of a batch, T x d each: on the input, and per block on each branch. */
typedef struct masks
{
	const float *input;
	const float *attention[RS_ATTENTION_MAX_BLOCKS];
	const float *feed_forward[RS_ATTENTION_MAX_BLOCKS];
} masks;

/* Mask m's factor of token t's unit j (1 without dropout). */
static double
factor(const float *m, size_t t, int d, int j)
{
	return m ? m[t * d + j] : 1.0;
}

/*
 * The network as attention.h defines it, token by token in double, with
 * dropout by the masks m (NULL: none): out is T x d.  If attention is not
 * NULL it gets the last token's attention in the last block of the last
 * sequence, averaged over heads.
 */
static void
reference(const rs_attention *net, const double *w, const double *E, const int32_t *items,
		  const int32_t *lengths, int n_seq, const masks *m, double *out, double *attention)
{
	static const masks none;
	int			d = net->factors,
				L = net->max_length,
				H = net->heads,
				dh = d / H;
	size_t		start = 0;
	static double x[REF_MAX_N][REF_MAX_D],
				a[REF_MAX_N][REF_MAX_D],
				q[REF_MAX_N][REF_MAX_D],
				k[REF_MAX_N][REF_MAX_D],
				v[REF_MAX_N][REF_MAX_D],
				o[REF_MAX_N][REF_MAX_D];

	if (d > REF_MAX_D || L > REF_MAX_N)
		abort();
	if (!m)
		m = &none;
	for (int s = 0; s < n_seq; s++)
	{
		int			n = lengths[s];

		for (int t = 0; t < n; t++)
			for (int j = 0; j < d; j++)
				x[t][j] = (E[(size_t) items[start + t] * d + j] + w[(size_t) (L - n + t) * d + j]) *
					factor(m->input, start + t, d, j);
		for (int b = 0; b < net->blocks; b++)
		{
			const double *p = w + rs_attention_block(net, b);

			for (int t = 0; t < n; t++)
			{
				ref_norm(x[t], d, p + net->at.ln1_gamma, p + net->at.ln1_beta, a[t]);
				ref_product(p + net->at.wq, a[t], d, q[t]);
				ref_product(p + net->at.wk, a[t], d, k[t]);
				ref_product(p + net->at.wv, a[t], d, v[t]);
			}
			for (int hd = 0; hd < H; hd++)
				for (int t = 0; t < n; t++)
				{
					double		score[REF_MAX_N],
								top = -INFINITY,
								sum = 0.0;

					for (int u = 0; u <= t; u++)
					{
						score[u] = 0.0;
						for (int c = hd * dh; c < (hd + 1) * dh; c++)
							score[u] += q[t][c] * k[u][c];
						score[u] /= sqrt((double) dh);
						top = fmax(top, score[u]);
					}
					for (int u = 0; u <= t; u++)
						sum += (score[u] = exp(score[u] - top));
					for (int c = hd * dh; c < (hd + 1) * dh; c++)
					{
						o[t][c] = 0.0;
						for (int u = 0; u <= t; u++)
							o[t][c] += score[u] / sum * v[u][c];
					}
					if (attention && s == n_seq - 1 && b == net->blocks - 1 && t == n - 1)
						for (int u = 0; u <= t; u++)
							attention[u] = (hd == 0 ? 0.0 : attention[u]) + score[u] / sum / H;
				}
			for (int t = 0; t < n; t++)
			{
				double		y[REF_MAX_D],
							f[REF_MAX_D],
							h[REF_MAX_D];

				ref_product(p + net->at.wo, o[t], d, y);
				for (int j = 0; j < d; j++)
					x[t][j] += y[j] * factor(m->attention[b], start + t, d, j);
				ref_norm(x[t], d, p + net->at.ln2_gamma, p + net->at.ln2_beta, f);
				ref_product(p + net->at.w1, f, d, h);
				for (int j = 0; j < d; j++)
					h[j] = fmax(h[j] + p[net->at.b1 + j], 0.0);
				ref_product(p + net->at.w2, h, d, y);
				for (int j = 0; j < d; j++)
					x[t][j] += (y[j] + p[net->at.b2 + j]) *
						factor(m->feed_forward[b], start + t, d, j);
			}
		}
		for (int t = 0; t < n; t++)
			ref_norm(x[t], d, w + net->final_norm, w + net->final_norm + d,
					 out + (start + t) * d);
		start += n;
	}
}

/* sum(out .* R) of the reference. */
static double
ref_loss(const fixture *f, const double *w, const double *E, const masks *m, const float *R,
		 double *out)
{
	double		loss = 0.0;

	reference(&f->net, w, E, f->items, f->lengths, f->n_seq, m, out, NULL);
	for (size_t k = 0; k < f->tokens * f->net.factors; k++)
		loss += out[k] * R[k];
	return loss;
}

/* sum(out .* R) of rs_attention_forward, dropout drawn from a generator seeded with seed. */
static double
float_loss(const fixture *f, float dropout, uint64_t seed, const float *R,
		   rs_attention_workspace *w)
{
	rs_random	rng = {seed};
	const float *out = rs_attention_forward(&f->net, f->weights, f->embeddings, f->items,
											f->lengths, f->n_seq, dropout,
											dropout > 0 ? &rng : NULL, w);
	double		loss = 0.0;

	for (size_t k = 0; k < f->tokens * f->net.factors; k++)
		loss += (double) out[k] * R[k];
	return loss;
}

/* One kind of parameter: count floats at offset, in the weights or (embeddings) in E. */
typedef struct kind
{
	char		name[32];
	size_t		offset;
	size_t		count;
	bool		embeddings;
	bool		scores;			/* Wq, Wk: only the attention scores depend on it */
} kind;

static int
list_kinds(const fixture *f, kind *kinds)
{
	const rs_attention *net = &f->net;
	size_t		d = (size_t) net->factors;
	int			n = 0;
	static const char *const names[] = {"LN1 gamma", "LN1 beta", "Wq", "Wk", "Wv", "Wo",
	"LN2 gamma", "LN2 beta", "W1", "b1", "W2", "b2"};

	kinds[n++] = (kind) {"item embeddings", 0, (size_t) f->n_items * d, true, false};
	kinds[n++] = (kind) {"position embeddings", 0, net->first_block, false, false};
	for (int b = 0; b < net->blocks; b++)
	{
		size_t		base = rs_attention_block(net, b);
		size_t		offsets[] = {net->at.ln1_gamma, net->at.ln1_beta, net->at.wq, net->at.wk,
			net->at.wv, net->at.wo, net->at.ln2_gamma, net->at.ln2_beta, net->at.w1,
		net->at.b1, net->at.w2, net->at.b2};

		for (int k = 0; k < 12; k++)
		{
			bool		matrix = k >= 2 && k <= 5 ? true : k == 8 || k == 10;

			snprintf(kinds[n].name, sizeof(kinds[n].name), "block %d %s", b, names[k]);
			kinds[n].offset = base + offsets[k];
			kinds[n].count = matrix ? d * d : d;
			kinds[n].embeddings = false;
			kinds[n].scores = k == 2 || k == 3;
			n++;
		}
	}
	kinds[n++] = (kind) {"final LN gamma", net->final_norm, d, false, false};
	kinds[n++] = (kind) {"final LN beta", net->final_norm + d, d, false, false};
	return n;
}

/* The analytic gradient of sum(out .* R) from the last forward. */
static void
analytic(const fixture *f, rs_attention_workspace *w, const float *R, float *gw, float *ge)
{
	memset(gw, 0, sizeof(float) * f->net.n_weights);
	memset(ge, 0, sizeof(float) * (size_t) f->n_items * f->net.factors);
	rs_attention_backward(&f->net, f->weights, f->embeddings, w, R, gw, ge);
}

static float *
random_matrix(size_t count, uint64_t seed)
{
	rs_random	rng = {seed};
	float	   *R = malloc(sizeof(float) * count);

	for (size_t k = 0; k < count; k++)
		R[k] = (float) rs_random_normal(&rng);
	return R;
}

/*
 * Every coordinate (every stride-th, from a random start, in larger
 * networks) of every kind of parameter: the backward of the float network
 * against central differences of the double reference.  In double the step
 * can be tiny: then a difference seldom crosses a relu's kink, which at
 * 1e-4 already spoils a few of the thousands of hidden units' derivatives.
 * With dropout, the reference replays the forward's masks.
 */
static void
check_gradients(const char *what, fixture *f, int stride, float dropout)
{
	const double step = 1e-6;
	size_t		td = f->tokens * f->net.factors,
				ne = (size_t) f->n_items * f->net.factors;
	rs_attention_workspace w;
	float	   *R = random_matrix(td, 77),
			   *gw = malloc(sizeof(float) * f->net.n_weights),
			   *ge = malloc(sizeof(float) * ne);
	double	   *dw = to_double(f->weights, f->net.n_weights),
			   *de = to_double(f->embeddings, ne),
			   *out = malloc(sizeof(double) * td);
	kind		kinds[4 + 12 * RS_ATTENTION_MAX_BLOCKS];
	int			n_kinds = list_kinds(f, kinds);
	rs_random	rng = {5};
	double		worst_overall = 0.0;
	bool		used[4096] = {false},
				singles = true;
	masks		m;

	if (!rs_attention_workspace_init(&w, &f->net, f->tokens, &rs_malloc_allocator))
		abort();
	float_loss(f, dropout, 11, R, &w);
	analytic(f, &w, R, gw, ge);
	/* the masks stay in the workspace: it forwards no more */
	m.input = w.dropped ? w.input_mask : NULL;
	for (int b = 0; b < f->net.blocks; b++)
		rs_attention_dropout_masks(&f->net, &w, b, &m.attention[b], &m.feed_forward[b]);
	CHECK(w.dropped == (dropout > 0) && (m.attention[0] != NULL) == (dropout > 0),
		  "%s: dropout %g, masks drawn %d", what, dropout, (int) w.dropped);
	for (size_t t = 0; t < f->tokens; t++)
		used[f->items[t]] = true;
	for (int s = 0; s < f->n_seq; s++)
		singles &= f->lengths[s] == 1;

	for (int k = 0; k < n_kinds; k++)
	{
		const kind *kd = &kinds[k];
		double	   *x = (kd->embeddings ? de : dw) + kd->offset;
		const float *g = (kd->embeddings ? ge : gw) + kd->offset;
		double		worst = 0.0,
					worst_numeric = 0.0,
					largest = 0.0;
		size_t		bad = 0,
					checked = 0,
					worst_at = 0;

		for (size_t c = rs_random_below(&rng, stride); c < kd->count; c += stride)
		{
			double		keep = x[c],
						plus,
						minus,
						numeric,
						err;

			x[c] = keep + step;
			plus = ref_loss(f, dw, de, &m, R, out);
			x[c] = keep - step;
			minus = ref_loss(f, dw, de, &m, R, out);
			x[c] = keep;
			numeric = (plus - minus) / (2 * step);
			err = fabs(numeric - g[c]) / (fmax(fabs(numeric), fabs(g[c])) + 1e-3);
			if (fabs(numeric - g[c]) > 1e-3 * fmax(fabs(numeric), fabs(g[c])) + 1e-4)
				bad++;
			if (err > worst)
			{
				worst = err;
				worst_numeric = numeric;
				worst_at = c;
			}
			largest = fmax(largest, fabs(numeric));
			checked++;
			/* the rows of items not in the batch are left alone */
			if (kd->embeddings && !used[c / f->net.factors])
				CHECK(g[c] == 0.0f, "%s: %s[%zu] of an item not in the batch: %g", what,
					  kd->name, c, g[c]);
		}
		worst_overall = fmax(worst_overall, worst);
		CHECK(bad == 0, "%s: %s: %zu of %zu coordinates off; worst [%zu]: backward %.7g, "
			  "central differences %.7g", what, kd->name, bad, checked, worst_at,
			  g[worst_at], worst_numeric);
		/*
		 * Else a kind whose gradient is 0 everywhere would pass unseen; but
		 * a token alone attends to itself whatever its scores.
		 */
		if (kd->scores && singles)
			CHECK(largest == 0.0, "%s: %s: tokens alone, yet a derivative of %g", what,
				  kd->name, largest);
		else
			CHECK(largest > 1e-3, "%s: %s: every derivative checked is 0", what, kd->name);
	}
	printf("%s: %d kinds of parameter, worst relative error %.2g\n", what, n_kinds,
		   worst_overall);
	rs_attention_workspace_free(&w, &rs_malloc_allocator);
	free(R);
	free(gw);
	free(ge);
	free(dw);
	free(de);
	free(out);
}

/*
 * Dropout: the same generator gives the same masks and loss, another one
 * others; inference (no generator) and a rate of 0 draw none.  (Its
 * backward is checked with the gradients, the masks replayed.)
 */
static void
check_dropout(fixture *f)
{
	size_t		td = f->tokens * f->net.factors;
	rs_attention_workspace w;
	float	   *R = random_matrix(td, 78),
			   *plain = malloc(sizeof(float) * td);
	const float *out;
	double		once;

	if (!rs_attention_workspace_init(&w, &f->net, f->tokens, &rs_malloc_allocator))
		abort();
	float_loss(f, 0.0f, 0, R, &w);
	memcpy(plain, w.out, sizeof(float) * td);
	out = rs_attention_forward(&f->net, f->weights, f->embeddings, f->items, f->lengths,
							   f->n_seq, 0.5f, NULL, &w);
	CHECK(out && !w.dropped && memcmp(out, plain, sizeof(float) * td) == 0,
		  "dropout: without a generator the rate still changed the output");
	float_loss(f, 0.0f, 12, R, &w);
	CHECK(!w.dropped && memcmp(w.out, plain, sizeof(float) * td) == 0,
		  "dropout: a rate of 0 changed the output");

	once = float_loss(f, 0.3f, 11, R, &w);
	CHECK(w.dropped, "dropout: no masks drawn");
	CHECK(float_loss(f, 0.3f, 11, R, &w) == once, "dropout: one seed, two losses");
	CHECK(float_loss(f, 0.3f, 12, R, &w) != once, "dropout: two seeds, one loss");
	CHECK(float_loss(f, 0.0f, 0, R, &w) != once, "dropout: no effect");
	rs_attention_workspace_free(&w, &rs_malloc_allocator);
	free(R);
	free(plain);
}

/* The fraction of units dropped, and the kept ones' scale. */
static void
check_dropout_rate(fixture *f, float rate)
{
	rs_attention_workspace w;
	rs_random	rng = {13};
	size_t		td = f->tokens * f->net.factors,
				zeros = 0,
				wrong = 0;
	float		scale = 1.0f / (1.0f - rate);
	double		share;

	if (!rs_attention_workspace_init(&w, &f->net, f->tokens, &rs_malloc_allocator))
		abort();
	rs_attention_forward(&f->net, f->weights, f->embeddings, f->items, f->lengths, f->n_seq,
						 rate, &rng, &w);
	for (size_t k = 0; k < td; k++)
	{
		zeros += w.input_mask[k] == 0.0f;
		wrong += w.input_mask[k] != 0.0f && fabsf(w.input_mask[k] - scale) > 1e-3f * scale;
	}
	share = (double) zeros / td;
	/* four standard deviations */
	CHECK(fabs(share - rate) < 4 * sqrt(rate * (1 - rate) / td) + 1e-4,
		  "dropout at %g: %.4f of %zu units dropped", rate, share, td);
	CHECK(wrong == 0, "dropout at %g: %zu kept units not scaled by %g", rate, wrong, scale);
	rs_attention_workspace_free(&w, &rs_malloc_allocator);
}

/* The float forward against the double reference, on the fixture's batch. */
static void
check_forward(const char *what, const fixture *f)
{
	size_t		td = f->tokens * f->net.factors,
				ne = (size_t) f->n_items * f->net.factors;
	rs_attention_workspace w;
	double	   *dw = to_double(f->weights, f->net.n_weights),
			   *de = to_double(f->embeddings, ne),
			   *ref = malloc(sizeof(double) * td),
				worst = 0.0;
	const float *out;

	if (!rs_attention_workspace_init(&w, &f->net, f->tokens, &rs_malloc_allocator))
		abort();
	out = rs_attention_forward(&f->net, f->weights, f->embeddings, f->items, f->lengths,
							   f->n_seq, 0.0f, NULL, &w);
	reference(&f->net, dw, de, f->items, f->lengths, f->n_seq, NULL, ref, NULL);
	if (CHECK(out != NULL, "%s: forward failed", what))
		for (size_t k = 0; k < td; k++)
			worst = fmax(worst, fabs(out[k] - ref[k]));
	CHECK(worst < 1e-4, "%s: forward differs from the reference by %g", what, worst);
	printf("%s: forward within %.2g of the reference\n", what, worst);
	rs_attention_workspace_free(&w, &rs_malloc_allocator);
	free(dw);
	free(de);
	free(ref);
}

/*
 * Serving: for every length, the encoding is the last row of the batch
 * forward of that sequence alone, its attention is a distribution and the
 * reference's; and of a history longer than max_length only the last
 * max_length items count.
 */
static void
check_encode(const fixture *f)
{
	const rs_attention *net = &f->net;
	int			d = net->factors,
				L = net->max_length;
	size_t		ne = (size_t) f->n_items * d;
	rs_attention_workspace w;
	/* exactly as many as asked for, so that the sanitizer sees any overrun */
	float	   *scratch = malloc(sizeof(float) * rs_attention_scratch_floats(net)),
			   *out = malloc(sizeof(float) * d),
			   *again = malloc(sizeof(float) * d),
			   *attention = malloc(sizeof(float) * (L + 2)),
			   *shorter = malloc(sizeof(float) * L);
	double	   *dw = to_double(f->weights, net->n_weights),
			   *de = to_double(f->embeddings, ne),
			   *ref = malloc(sizeof(double) * (size_t) L * d),
			   *ref_attention = malloc(sizeof(double) * L);
	int32_t    *items = malloc(sizeof(int32_t) * (L + 2));
	double		worst_out = 0.0,
				worst_attention = 0.0;

	if (!rs_attention_workspace_init(&w, net, L, &rs_malloc_allocator))
		abort();
	for (int k = 0; k < L + 2; k++)
		items[k] = (int32_t) ((k * 7 + 3) % f->n_items);
	for (int n = 1; n <= L; n++)
	{
		int32_t		length = n;
		const float *batch = rs_attention_forward(net, f->weights, f->embeddings, items,
												  &length, 1, 0.0f, NULL, &w);
		double		sum = 0.0;
		bool		negative = false;

		rs_attention_encode(net, f->weights, f->embeddings, items, n, scratch, out, attention);
		reference(net, dw, de, items, &length, 1, NULL, ref, ref_attention);
		for (int j = 0; j < d; j++)
			worst_out = fmax(worst_out, fabs(out[j] - batch[(size_t) (n - 1) * d + j]));
		for (int j = 0; j < n; j++)
		{
			sum += attention[j];
			negative |= attention[j] < 0.0f;
			worst_attention = fmax(worst_attention, fabs(attention[j] - ref_attention[j]));
		}
		CHECK(!negative && fabs(sum - 1.0) < 1e-5, "encode %d: attention sums to %.7g%s", n,
			  sum, negative ? ", some negative" : "");
		/* without attention wanted, the same */
		rs_attention_encode(net, f->weights, f->embeddings, items, n, scratch, again, NULL);
		CHECK(memcmp(out, again, sizeof(float) * d) == 0,
			  "encode %d: asking for attention changed the output", n);
	}
	CHECK(worst_out < 1e-5, "encode: differs from forward by %g", worst_out);
	CHECK(worst_attention < 1e-5, "encode: attention differs from the reference by %g",
		  worst_attention);
	printf("encode: within %.2g of forward, attention within %.2g of the reference\n",
		   worst_out, worst_attention);

	rs_attention_encode(net, f->weights, f->embeddings, items, 0, scratch, out, NULL);
	for (int j = 0; j < d; j++)
		CHECK(out[j] == 0.0f, "encode: an empty history: out[%d] = %g", j, out[j]);

	rs_attention_encode(net, f->weights, f->embeddings, items, L + 2, scratch, out, attention);
	rs_attention_encode(net, f->weights, f->embeddings, items + 2, L, scratch, again, shorter);
	CHECK(memcmp(out, again, sizeof(float) * d) == 0 && attention[0] == 0.0f &&
		  attention[1] == 0.0f && memcmp(attention + 2, shorter, sizeof(float) * L) == 0,
		  "encode: a history longer than max_length is not its last max_length items");

	rs_attention_workspace_free(&w, &rs_malloc_allocator);
	free(scratch);
	free(out);
	free(again);
	free(attention);
	free(shorter);
	free(dw);
	free(de);
	free(ref);
	free(ref_attention);
	free(items);
}

/* Where sequence s starts in the batch. */
static size_t
start_of(const fixture *f, int s)
{
	size_t		start = 0;

	for (int k = 0; k < s; k++)
		start += f->lengths[k];
	return start;
}

/*
 * Causality: another item at token t of a sequence changes none of the
 * outputs before t, nor any other sequence's; it does change t's.  And
 * each sequence's outputs in the batch are those of it alone.
 */
static void
check_causality(fixture *f, int s, int t)
{
	int			d = f->net.factors;
	size_t		td = f->tokens * d,
				at = start_of(f, s);
	rs_attention_workspace w,
				alone;
	float	   *before = malloc(sizeof(float) * td);
	const float *after;
	int32_t		keep = f->items[at + t];
	double		worst = 0.0;

	if (!rs_attention_workspace_init(&w, &f->net, f->tokens, &rs_malloc_allocator) ||
		!rs_attention_workspace_init(&alone, &f->net, f->tokens, &rs_malloc_allocator))
		abort();
	memcpy(before, rs_attention_forward(&f->net, f->weights, f->embeddings, f->items,
										f->lengths, f->n_seq, 0.0f, NULL, &w),
		   sizeof(float) * td);
	f->items[at + t] = (keep + 1) % f->n_items;
	after = rs_attention_forward(&f->net, f->weights, f->embeddings, f->items, f->lengths,
								 f->n_seq, 0.0f, NULL, &w);
	f->items[at + t] = keep;
	for (size_t r = 0; r < f->tokens; r++)
	{
		bool		same = memcmp(before + r * d, after + r * d, sizeof(float) * d) == 0;

		if (r >= at && r < at + f->lengths[s] && r >= at + t)
		{
			if (r == at + t)
				CHECK(!same, "causality: a new item at token %d did not change its output", t);
		}
		else
			CHECK(same, "causality: a new item at token %d of sequence %d changed row %zu", t,
				  s, r);
	}

	for (int q = 0; q < f->n_seq; q++)
	{
		size_t		from = start_of(f, q);
		const float *one = rs_attention_forward(&f->net, f->weights, f->embeddings,
												f->items + from, f->lengths + q, 1, 0.0f,
												NULL, &alone);

		for (size_t k = 0; k < (size_t) f->lengths[q] * d; k++)
			worst = fmax(worst, fabs(one[k] - before[from * d + k]));
	}
	CHECK(worst < 1e-5, "causality: a sequence alone differs from it in the batch by %g",
		  worst);
	rs_attention_workspace_free(&w, &rs_malloc_allocator);
	rs_attention_workspace_free(&alone, &rs_malloc_allocator);
	free(before);
}

/*
 * Positions count from the end: P[L-1] is every sequence's last token's,
 * P[0] only that of the first token of a sequence of max_length.
 */
static void
check_positions(fixture *f)
{
	int			d = f->net.factors,
				L = f->net.max_length;
	size_t		td = f->tokens * d;
	rs_attention_workspace w;
	float	   *before = malloc(sizeof(float) * td),
			   *keep = malloc(sizeof(float) * d);
	const float *after;

	if (!rs_attention_workspace_init(&w, &f->net, f->tokens, &rs_malloc_allocator))
		abort();
	memcpy(before, rs_attention_forward(&f->net, f->weights, f->embeddings, f->items,
										f->lengths, f->n_seq, 0.0f, NULL, &w),
		   sizeof(float) * td);
	for (int row = L - 1; row >= 0; row -= L - 1)
	{
		float	   *p = f->weights + (size_t) row * d;

		memcpy(keep, p, sizeof(float) * d);
		for (int j = 0; j < d; j++)
			p[j] += 0.5f;
		after = rs_attention_forward(&f->net, f->weights, f->embeddings, f->items,
									 f->lengths, f->n_seq, 0.0f, NULL, &w);
		memcpy(p, keep, sizeof(float) * d);
		for (int s = 0; s < f->n_seq; s++)
		{
			size_t		last = start_of(f, s) + f->lengths[s] - 1;
			bool		same = memcmp(before + last * d, after + last * d,
									  sizeof(float) * d) == 0;
			bool		uses = row == L - 1 || f->lengths[s] == L;

			CHECK(same != uses, "positions: P[%d] %s the last output of a sequence of %d",
				  row, same ? "did not change" : "changed", f->lengths[s]);
		}
		if (L == 1)
			break;
	}
	rs_attention_workspace_free(&w, &rs_malloc_allocator);
	free(before);
	free(keep);
}

/* Sizes, bad batches, and a workspace's one allocation failing. */
static void
check_edges(fixture *f)
{
	rs_attention net;
	rs_attention_workspace w;
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	int32_t		items[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	int32_t		lengths[3];
	float	   *gw = calloc(f->net.n_weights, sizeof(float));
	int			d = 8;
	bool		untouched = true;

	CHECK(!rs_attention_init(&net, 8, 2, 3, 6), "init: 3 heads of 8 factors");
	CHECK(!rs_attention_init(&net, 0, 2, 1, 6), "init: 0 factors");
	CHECK(!rs_attention_init(&net, 8, 0, 1, 6), "init: 0 blocks");
	CHECK(!rs_attention_init(&net, 8, 2, 0, 6), "init: 0 heads");
	CHECK(!rs_attention_init(&net, 8, 2, 2, 0), "init: max_length 0");
	CHECK(!rs_attention_init(&net, 2048, 2, 2, 6), "init: 2048 factors");
	CHECK(!rs_attention_init(&net, 8, 2, 2, RS_ATTENTION_MAX_LENGTH + 1), "init: too long");
	CHECK(rs_attention_init(&net, 8, 2, 2, 6) &&
		  net.n_weights == (size_t) (6 * d + 2 * (6 * d + 6 * d * d) + 2 * d),
		  "init: %zu weights", net.n_weights);

	CHECK(!rs_attention_workspace_init(&w, &f->net, (size_t) INT_MAX, &a) && c.calls == 0,
		  "workspace: INT_MAX tokens");
	c.fail_at = 0;
	CHECK(!rs_attention_workspace_init(&w, &f->net, 8, &a) && c.outstanding == 0,
		  "workspace: an allocation failing");
	c.fail_at = -1;
	if (CHECK(rs_attention_workspace_init(&w, &f->net, 8, &a), "workspace: init failed"))
	{
		lengths[0] = 0;
		CHECK(!rs_attention_forward(&f->net, f->weights, f->embeddings, items, lengths, 1,
									0.0f, NULL, &w), "forward: a sequence of 0");
		lengths[0] = f->net.max_length + 1;
		CHECK(!rs_attention_forward(&f->net, f->weights, f->embeddings, items, lengths, 1,
									0.0f, NULL, &w), "forward: a sequence too long");
		lengths[0] = 4;
		lengths[1] = 3;
		lengths[2] = 2;
		CHECK(!rs_attention_forward(&f->net, f->weights, f->embeddings, items, lengths, 3,
									0.0f, NULL, &w), "forward: 9 tokens in a workspace of 8");
		CHECK(!rs_attention_forward(&f->net, f->weights, f->embeddings, items, lengths, 0,
									0.0f, NULL, &w), "forward: no sequence");
		/* a failed forward leaves backward nothing to do */
		rs_attention_backward(&f->net, f->weights, f->embeddings, &w, f->weights, gw, NULL);
		for (size_t k = 0; k < f->net.n_weights; k++)
			untouched &= gw[k] == 0.0f;
		CHECK(untouched, "backward after a failed forward changed the gradient");
		CHECK(rs_attention_forward(&f->net, f->weights, f->embeddings, items, lengths, 2,
								   0.0f, NULL, &w) != NULL, "forward: 7 tokens of 8");
		rs_attention_workspace_free(&w, &a);
	}
	CHECK(c.outstanding == 0 && c.calls == 2, "workspace: %ld outstanding after %ld calls",
		  c.outstanding, c.calls);
	free(gw);
}

int
main(void)
{
	/* the brief's network: 2 blocks, 2 heads, d 8, L 6; three sequences, items repeated */
	static const int32_t lengths[] = {6, 3, 1};
	static const int32_t items[] = {3, 7, 3, 0, 11, 5, 7, 2, 9, 4};
	/* a wider one, more heads, sequences of max_length twice */
	static const int32_t wide_lengths[] = {20, 13, 1, 7, 20};
	int32_t		wide_items[61];
	fixture		f = make_fixture(8, 2, 2, 6, 12, 1),
				wide = make_fixture(32, 2, 4, 20, 50, 2),
				one = make_fixture(8, 1, 1, 1, 5, 3);
	static const int32_t one_lengths[] = {1, 1};
	static const int32_t one_items[] = {2, 2};
	rs_random	rng = {9};

	set_batch(&f, 3, lengths, items);
	for (int k = 0; k < 61; k++)
		wide_items[k] = (int32_t) rs_random_below(&rng, 50);
	set_batch(&wide, 5, wide_lengths, wide_items);
	set_batch(&one, 2, one_lengths, one_items);

	rs_blas_single_threaded();
	check_edges(&f);
	check_forward("d 8", &f);
	check_forward("d 32", &wide);
	check_gradients("d 8, 2 blocks, 2 heads", &f, 1, 0.0f);
	check_gradients("d 32, 2 blocks, 4 heads", &wide, 23, 0.0f);
	check_gradients("d 8, 1 block, L 1", &one, 1, 0.0f);
	check_gradients("d 8, 2 blocks, 2 heads, dropout 0.3", &f, 1, 0.3f);
	check_gradients("d 32, 2 blocks, 4 heads, dropout 0.3", &wide, 23, 0.3f);
	check_dropout(&f);
	check_dropout_rate(&wide, 0.25f);
	check_dropout_rate(&wide, 0.6f);
	check_encode(&f);
	check_encode(&wide);
	check_causality(&f, 0, 4);
	check_causality(&f, 1, 0);
	check_causality(&wide, 1, 9);
	check_positions(&f);
	check_positions(&wide);
	free_fixture(&f);
	free_fixture(&wide);
	free_fixture(&one);
	return unit_done();
}
