/*
 * attention.c - the causal self-attention network of attention.h: forward
 * and backward on a batch of sequences, and the encoding of one history.
 *
 * A batch's sequences are concatenated token by token into one T x d
 * matrix, so that every point-wise step (the projections, the feed-forward
 * layers, the layer norms) is one sgemm or one loop over all T tokens; only
 * the attention itself goes sequence by sequence, head by head, with small
 * n x n products.  Forward saves per block what backward needs: the layer
 * norms' normalised inputs and 1 / standard deviations, their outputs, Q K V,
 * the attention probabilities, the heads' outputs, the hidden layer and the
 * dropout masks.
 *
 * Back-propagation through a layer norm y = xhat gamma + beta, xhat =
 * (x - mean) rstd, with g = dy gamma:  dx = rstd (g - mean(g) - xhat
 * mean(g xhat)).  Through a head, with A = softmax(S), S = Q K' s:
 * dA = dO V', dV = A' dO, dS = A (dA - rowsum(A dA)), dQ = s dS K,
 * dK = s dS' Q.
 */
#include "attention.h"
#include "vector_isa.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define POSITION_STDDEV 0.02

#define LANES 8					/* floats per vector in the element-wise kernels */

typedef float vfloat __attribute__((vector_size(LANES * sizeof(float)), aligned(sizeof(float))));
typedef int32_t vint __attribute__((vector_size(LANES * sizeof(int32_t)), aligned(sizeof(int32_t))));

/* macros, not functions: a vector argument's ABI differs with the instruction set */
#define load(p) (*(const vfloat *) (p))
#define at_(p) (*(vfloat *) (p))

/* One block's saved activations, for capacity tokens. */
typedef struct layer_cache
{
	float	   *xhat1;			/* LN1's normalised input */
	float	   *rstd1;
	float	   *a1;				/* LN1's output */
	float	   *qkv;			/* T x 3d: Q, K, V side by side */
	float	   *probs;			/* per sequence, per head, n x n (zero above the diagonal) */
	float	   *o;				/* the heads' outputs, before Wo */
	float	   *mask1;			/* the attention branch's dropout */
	float	   *xhat2;
	float	   *rstd2;
	float	   *f;				/* LN2's output */
	float	   *h;				/* relu(f W1' + b1) */
	float	   *mask2;			/* the feed-forward branch's dropout */
} layer_cache;

/* Takes count floats at *at, rounded up to 64 bytes so that every array is aligned. */
static size_t
carve(size_t *at, size_t count)
{
	size_t		start = *at;

	*at += (count + 15) & ~(size_t) 15;
	return start;
}

/*
 * Lays out a layer cache for capacity tokens from base (NULL: only counts);
 * returns its size in floats.  A sequence of n tokens has n^2 probabilities
 * per head, and n <= L, so T tokens have at most T L.
 */
static size_t
layer_layout(const rs_attention *net, size_t capacity, float *base, layer_cache *c)
{
	size_t		d = (size_t) net->factors,
				at = 0,
				off[12];

	off[0] = carve(&at, capacity * d);
	off[1] = carve(&at, capacity);
	off[2] = carve(&at, capacity * d);
	off[3] = carve(&at, capacity * 3 * d);
	off[4] = carve(&at, capacity * (size_t) net->max_length * net->heads);
	off[5] = carve(&at, capacity * d);
	off[6] = carve(&at, capacity * d);
	off[7] = carve(&at, capacity * d);
	off[8] = carve(&at, capacity);
	off[9] = carve(&at, capacity * d);
	off[10] = carve(&at, capacity * d);
	off[11] = carve(&at, capacity * d);
	if (base)
	{
		c->xhat1 = base + off[0];
		c->rstd1 = base + off[1];
		c->a1 = base + off[2];
		c->qkv = base + off[3];
		c->probs = base + off[4];
		c->o = base + off[5];
		c->mask1 = base + off[6];
		c->xhat2 = base + off[7];
		c->rstd2 = base + off[8];
		c->f = base + off[9];
		c->h = base + off[10];
		c->mask2 = base + off[11];
	}
	return at;
}

bool
rs_attention_init(rs_attention *net, int factors, int blocks, int heads, int max_length)
{
	size_t		d = (size_t) factors,
				at = 0;

	memset(net, 0, sizeof(*net));
	if (factors < 1 || factors > RS_ATTENTION_MAX_FACTORS || blocks < 1 ||
		blocks > RS_ATTENTION_MAX_BLOCKS || heads < 1 || factors % heads != 0 ||
		max_length < 1 || max_length > RS_ATTENTION_MAX_LENGTH)
		return false;
	net->factors = factors;
	net->blocks = blocks;
	net->heads = heads;
	net->max_length = max_length;
	net->at.ln1_gamma = at;
	at += d;
	net->at.ln1_beta = at;
	at += d;
	net->at.wq = at;
	at += d * d;
	net->at.wk = at;
	at += d * d;
	net->at.wv = at;
	at += d * d;
	net->at.wo = at;
	at += d * d;
	net->at.ln2_gamma = at;
	at += d;
	net->at.ln2_beta = at;
	at += d;
	net->at.w1 = at;
	at += d * d;
	net->at.b1 = at;
	at += d;
	net->at.w2 = at;
	at += d * d;
	net->at.b2 = at;
	at += d;
	net->block_stride = at;
	net->first_block = (size_t) max_length * d;
	net->final_norm = net->first_block + (size_t) blocks * net->block_stride;
	net->n_weights = net->final_norm + 2 * d;
	return true;
}

static void
fill(float *x, size_t count, float value)
{
	for (size_t k = 0; k < count; k++)
		x[k] = value;
}

static void
glorot(float *W, int out, int in, rs_random *rng)
{
	double		limit = sqrt(6.0 / (double) (in + out));

	for (size_t k = 0; k < (size_t) out * in; k++)
		W[k] = (float) (limit * (2.0 * rs_random_uniform(rng) - 1.0));
}

void
rs_attention_initial_weights(const rs_attention *net, float *weights, rs_random *rng)
{
	int			d = net->factors;

	for (size_t k = 0; k < net->first_block; k++)
		weights[k] = (float) (POSITION_STDDEV * rs_random_normal(rng));
	for (int b = 0; b < net->blocks; b++)
	{
		float	   *p = weights + rs_attention_block(net, b);

		fill(p + net->at.ln1_gamma, d, 1.0f);
		fill(p + net->at.ln1_beta, d, 0.0f);
		glorot(p + net->at.wq, d, d, rng);
		glorot(p + net->at.wk, d, d, rng);
		glorot(p + net->at.wv, d, d, rng);
		glorot(p + net->at.wo, d, d, rng);
		fill(p + net->at.ln2_gamma, d, 1.0f);
		fill(p + net->at.ln2_beta, d, 0.0f);
		glorot(p + net->at.w1, d, d, rng);
		fill(p + net->at.b1, d, 0.0f);
		glorot(p + net->at.w2, d, d, rng);
		fill(p + net->at.b2, d, 0.0f);
	}
	fill(weights + net->final_norm, d, 1.0f);
	fill(weights + net->final_norm + d, d, 0.0f);
}

/* Floats of a workspace's float arrays but the layer caches, and sets them from base. */
static size_t
workspace_layout(rs_attention_workspace *w, const rs_attention *net, size_t tokens,
				 float *base)
{
	size_t		d = (size_t) net->factors,
				at = 0,
				layers,
				off[11];

	off[0] = carve(&at, tokens * d);
	off[1] = carve(&at, tokens * d);
	off[2] = carve(&at, tokens);
	off[3] = carve(&at, tokens * d);
	off[4] = carve(&at, tokens * d);
	off[5] = carve(&at, tokens * d);
	off[6] = carve(&at, tokens * d);
	off[7] = carve(&at, tokens * d);
	off[8] = carve(&at, tokens * d);
	off[9] = carve(&at, tokens * 3 * d);
	off[10] = carve(&at, (size_t) net->max_length * net->max_length);
	layers = carve(&at, (size_t) net->blocks * layer_layout(net, tokens, NULL, NULL));
	if (base)
	{
		w->input_mask = base + off[0];
		w->final_xhat = base + off[1];
		w->final_rstd = base + off[2];
		w->out = base + off[3];
		w->x = base + off[4];
		w->dx = base + off[5];
		w->t1 = base + off[6];
		w->t2 = base + off[7];
		w->t3 = base + off[8];
		w->dqkv = base + off[9];
		w->scores = base + off[10];
		w->layers = base + layers;
		w->layer_stride = layer_layout(net, tokens, NULL, NULL);
	}
	return at;
}

bool
rs_attention_workspace_init(rs_attention_workspace *w, const rs_attention *net,
							size_t max_tokens, const rs_allocator *a)
{
	size_t		floats;
	float	   *base;

	memset(w, 0, sizeof(*w));
	/* BLAS counts rows in an int */
	if (max_tokens > (size_t) INT_MAX / 4)
		return false;
	if (max_tokens < 1)
		max_tokens = 1;
	floats = workspace_layout(w, net, max_tokens, NULL);
	/* the items and lengths follow the floats (int32 and float share an alignment) */
	base = rs_alloc(a, sizeof(float) * floats + 2 * sizeof(int32_t) * max_tokens);
	if (!base)
		return false;
	w->block = base;
	workspace_layout(w, net, max_tokens, base);
	w->items = (int32_t *) (base + floats);
	w->lengths = w->items + max_tokens;
	w->max_tokens = max_tokens;
	return true;
}

void
rs_attention_workspace_free(rs_attention_workspace *w, const rs_allocator *a)
{
	rs_free(a, w->block);
	memset(w, 0, sizeof(*w));
}

/*
 * The element-wise kernels.  Written on vectors of LANES floats in GCC's
 * vector extensions, with a scalar loop for what is left over (at -O2 the
 * compilers leave a plain loop over a run-time length scalar), and
 * compiled by RS_KERNEL for AVX-512 and AVX2 besides the baseline
 * (vector_isa.h).  Arrays need only float alignment.  The bodies below are
 * always inlined into the kernels that use them, so that they take on each
 * kernel's instruction set.
 */

/* y = a + b, element-wise; y may be a or b, here and below. */
RS_KERNEL_BODY void
add_body(float *y, const float *a, const float *b, size_t count)
{
	size_t		k = 0;

	for (; k + LANES <= count; k += LANES)
		at_(y + k) = load(a + k) + load(b + k);
	for (; k < count; k++)
		y[k] = a[k] + b[k];
}

RS_KERNEL(void, add, (float *y, const float *a, const float *b, size_t count),
		  (y, a, b, count))

/* y = a b */
RS_KERNEL_BODY void
multiply_body(float *y, const float *a, const float *b, size_t count)
{
	size_t		k = 0;

	for (; k + LANES <= count; k += LANES)
		at_(y + k) = load(a + k) * load(b + k);
	for (; k < count; k++)
		y[k] = a[k] * b[k];
}

RS_KERNEL(void, multiply, (float *y, const float *a, const float *b, size_t count),
		  (y, a, b, count))

/* y += a b */
RS_KERNEL_BODY void
add_product_body(float *y, const float *a, const float *b, size_t count)
{
	size_t		k = 0;

	for (; k + LANES <= count; k += LANES)
		at_(y + k) += load(a + k) * load(b + k);
	for (; k < count; k++)
		y[k] += a[k] * b[k];
}

RS_KERNEL(void, add_product, (float *y, const float *a, const float *b, size_t count),
		  (y, a, b, count))

/* y = a where on > 0, else 0: relu (on = a), and its backward (on = its output) */
RS_KERNEL_BODY void
where_positive_body(float *y, const float *a, const float *on, size_t count)
{
	const vfloat zero = {0};
	size_t		k = 0;

	for (; k + LANES <= count; k += LANES)
		at_(y + k) = (vfloat) ((vint) (load(on + k) > zero) & (vint) load(a + k));
	for (; k < count; k++)
		y[k] = on[k] > 0.0f ? a[k] : 0.0f;
}

RS_KERNEL(void, where_positive, (float *y, const float *a, const float *on, size_t count),
		  (y, a, on, count))

/* sum += the lanes of v */
#define add_lanes(sum, v) \
	do { \
		for (int lane_ = 0; lane_ < LANES; lane_++) \
			(sum) += (v)[lane_]; \
	} while (0)

/*
 * Layer norm of rows x d: y = xhat gamma + beta, xhat = (x - mean) rstd,
 * rstd = 1 / sqrt(var + eps).  Two passes over a row, for stability.
 */
RS_KERNEL_BODY void
norm_forward_body(const float *x, size_t rows, int d, const float *gamma, const float *beta,
				  float *xhat, float *rstd, float *y)
{
	int			whole = d / LANES * LANES;

	for (size_t r = 0; r < rows; r++)
	{
		const float *xr = x + r * d;
		float	   *hr = xhat + r * d,
				   *yr = y + r * d;
		vfloat		vsum = {0},
					vsquares = {0};
		float		mean = 0.0f,
					var = 0.0f,
					s;

		for (int j = 0; j < whole; j += LANES)
			vsum += load(xr + j);
		add_lanes(mean, vsum);
		for (int j = whole; j < d; j++)
			mean += xr[j];
		mean /= (float) d;
		for (int j = 0; j < whole; j += LANES)
		{
			vfloat		c = load(xr + j) - mean;

			vsquares += c * c;
		}
		add_lanes(var, vsquares);
		for (int j = whole; j < d; j++)
			var += (xr[j] - mean) * (xr[j] - mean);
		s = 1.0f / sqrtf(var / (float) d + RS_ATTENTION_NORM_EPSILON);
		for (int j = 0; j < whole; j += LANES)
		{
			vfloat		h = (load(xr + j) - mean) * s;

			at_(hr + j) = h;
			at_(yr + j) = h * load(gamma + j) + load(beta + j);
		}
		for (int j = whole; j < d; j++)
		{
			hr[j] = (xr[j] - mean) * s;
			yr[j] = hr[j] * gamma[j] + beta[j];
		}
		rstd[r] = s;
	}
}

RS_KERNEL(void, norm_forward, (const float *x, size_t rows, int d, const float *gamma,
							   const float *beta, float *xhat, float *rstd, float *y),
		  (x, rows, d, gamma, beta, xhat, rstd, y))

/* dx += the layer norm's backward of dy; dgamma, dbeta += theirs. */
RS_KERNEL_BODY void
norm_backward_body(const float *dy, const float *xhat, const float *rstd, size_t rows, int d,
				   const float *gamma, float *dgamma, float *dbeta, float *dx)
{
	int			whole = d / LANES * LANES;

	for (size_t r = 0; r < rows; r++)
	{
		const float *dr = dy + r * d,
				   *hr = xhat + r * d;
		float	   *xr = dx + r * d;
		vfloat		v1 = {0},
					v2 = {0};
		float		m1 = 0.0f,
					m2 = 0.0f,
					s = rstd[r];

		/* with g = dy gamma: the means of g and of g xhat */
		for (int j = 0; j < whole; j += LANES)
		{
			vfloat		g = load(dr + j) * load(gamma + j);

			v1 += g;
			v2 += g * load(hr + j);
		}
		add_lanes(m1, v1);
		add_lanes(m2, v2);
		for (int j = whole; j < d; j++)
		{
			m1 += dr[j] * gamma[j];
			m2 += dr[j] * gamma[j] * hr[j];
		}
		m1 /= (float) d;
		m2 /= (float) d;
		for (int j = 0; j < whole; j += LANES)
			at_(xr + j) += s * (load(dr + j) * load(gamma + j) - m1 - load(hr + j) * m2);
		for (int j = whole; j < d; j++)
			xr[j] += s * (dr[j] * gamma[j] - m1 - hr[j] * m2);
		add_product_body(dgamma, dr, hr, d);
		add_body(dbeta, dbeta, dr, d);
	}
}

RS_KERNEL(void, norm_backward, (const float *dy, const float *xhat, const float *rstd,
								size_t rows, int d, const float *gamma, float *dgamma,
								float *dbeta, float *dx),
		  (dy, xhat, rstd, rows, d, gamma, dgamma, dbeta, dx))

/* gb += the column sums of dy (rows x d). */
RS_KERNEL_BODY void
column_sums_body(const float *dy, size_t rows, int d, float *gb)
{
	for (size_t r = 0; r < rows; r++)
		add_body(gb, gb, dy + r * d, d);
}

RS_KERNEL(void, column_sums, (const float *dy, size_t rows, int d, float *gb),
		  (dy, rows, d, gb))

/*
 * The inputs x = E[item] + P[position] of the tokens of n_seq sequences,
 * positions counted from the end (L - n + t); P is the weights' start.
 */
RS_KERNEL_BODY void
embed_body(const float *embeddings, const float *P, const int32_t *items,
		   const int32_t *lengths, int n_seq, int d, int L, float *x)
{
	size_t		t = 0;

	for (int s = 0; s < n_seq; s++)
		for (int k = 0; k < lengths[s]; k++, t++)
			add_body(x + t * d, embeddings + (size_t) items[t] * d,
					 P + (size_t) (L - lengths[s] + k) * d, d);
}

RS_KERNEL(void, embed, (const float *embeddings, const float *P, const int32_t *items,
						const int32_t *lengths, int n_seq, int d, int L, float *x),
		  (embeddings, P, items, lengths, n_seq, d, L, x))

/* Its backward: dP and (if not NULL) dE += dx. */
RS_KERNEL_BODY void
embed_backward_body(const float *dx, const int32_t *items, const int32_t *lengths, int n_seq,
					int d, int L, float *dP, float *dE)
{
	size_t		t = 0;

	for (int s = 0; s < n_seq; s++)
		for (int k = 0; k < lengths[s]; k++, t++)
		{
			float	   *gp = dP + (size_t) (L - lengths[s] + k) * d;

			add_body(gp, gp, dx + t * d, d);
			if (dE)
			{
				float	   *ge = dE + (size_t) items[t] * d;

				add_body(ge, ge, dx + t * d, d);
			}
		}
}

RS_KERNEL(void, embed_backward, (const float *dx, const int32_t *items, const int32_t *lengths,
								 int n_seq, int d, int L, float *dP, float *dE),
		  (dx, items, lengths, n_seq, d, L, dP, dE))

/* Every row of y (rows x d) set to b. */
static void
broadcast(float *y, size_t rows, int d, const float *b)
{
	for (size_t r = 0; r < rows; r++)
		memcpy(y + r * d, b, sizeof(float) * d);
}

/*
 * The heads of every sequence: probs = softmax over the causal triangle of
 * Q K' / sqrt(dh), o = probs V.  The full n x n product is one sgemm; what
 * lies above the diagonal is then overwritten with zeros, so that later
 * tokens weigh nothing.
 */
static void
attend(const rs_attention *net, const float *qkv, const int32_t *lengths, int n_seq,
	   float *probs, float *o)
{
	int			d = net->factors,
				dh = d / net->heads;
	float		scale = 1.0f / sqrtf((float) dh);
	size_t		start = 0;

	for (int s = 0; s < n_seq; s++)
	{
		int			n = lengths[s];

		for (int hd = 0; hd < net->heads; hd++)
		{
			const float *q = qkv + start * 3 * d + (size_t) hd * dh;
			float	   *A = probs;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dh, scale,
						q, 3 * d, q + d, 3 * d, 0.0f, A, n);
			for (int i = 0; i < n; i++)
			{
				float	   *row = A + (size_t) i * n;
				float		top = row[0],
							sum = 0.0f;

				for (int j = 1; j <= i; j++)
					top = row[j] > top ? row[j] : top;
				for (int j = 0; j <= i; j++)
				{
					row[j] = expf(row[j] - top);
					sum += row[j];
				}
				sum = 1.0f / sum;
				for (int j = 0; j <= i; j++)
					row[j] *= sum;
				for (int j = i + 1; j < n; j++)
					row[j] = 0.0f;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, n, 1.0f,
						A, n, q + 2 * d, 3 * d, 0.0f, o + start * d + (size_t) hd * dh, d);
			probs += (size_t) n * n;
		}
		start += n;
	}
}

/* The heads' backward: dqkv (T x 3d) from do_ (T x d); dS is n x n scratch. */
static void
attend_backward(const rs_attention *net, const float *qkv, const float *probs,
				const int32_t *lengths, int n_seq, const float *do_, float *dS, float *dqkv)
{
	int			d = net->factors,
				dh = d / net->heads;
	float		scale = 1.0f / sqrtf((float) dh);
	size_t		start = 0;

	for (int s = 0; s < n_seq; s++)
	{
		int			n = lengths[s];

		for (int hd = 0; hd < net->heads; hd++)
		{
			size_t		col = start * 3 * d + (size_t) hd * dh;
			const float *q = qkv + col,
					   *dout = do_ + start * d + (size_t) hd * dh;
			float	   *dq = dqkv + col;

			/* dA = dO V', then dV = A' dO */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dh, 1.0f,
						dout, d, q + 2 * d, 3 * d, 0.0f, dS, n);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, dh, n, 1.0f,
						probs, n, dout, d, 0.0f, dq + 2 * d, 3 * d);
			for (int i = 0; i < n; i++)
			{
				const float *a = probs + (size_t) i * n;
				float	   *row = dS + (size_t) i * n;
				float		dot = 0.0f;

				for (int j = 0; j <= i; j++)
					dot += a[j] * row[j];
				for (int j = 0; j <= i; j++)
					row[j] = a[j] * (row[j] - dot);
				for (int j = i + 1; j < n; j++)
					row[j] = 0.0f;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, n, scale,
						dS, n, q + d, 3 * d, 0.0f, dq, 3 * d);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, dh, n, scale,
						dS, n, q, 3 * d, 0.0f, dq + d, 3 * d);
			probs += (size_t) n * n;
		}
		start += n;
	}
}

/*
 * The embeddings and every block, up to the final layer norm: x (tokens x
 * d) ends as the residual stream, tmp (tokens x d) is scratch.  Block b's
 * cache is at layers + b * layer_stride (stride 0: one cache, reused; the
 * last block's is then what remains).  Dropout when input_mask is not NULL,
 * with the masks already drawn.
 */
static void
forward_blocks(const rs_attention *net, const float *weights, const float *embeddings,
			   const int32_t *items, const int32_t *lengths, int n_seq, size_t tokens,
			   const float *input_mask, float *layers, size_t layer_stride, size_t capacity,
			   float *x, float *tmp)
{
	int			d = net->factors,
				L = net->max_length;
	size_t		td = tokens * d;

	embed(embeddings, weights, items, lengths, n_seq, d, L, x);
	if (input_mask)
		multiply(x, x, input_mask, td);

	for (int b = 0; b < net->blocks; b++)
	{
		const float *p = weights + rs_attention_block(net, b);
		layer_cache c;

		layer_layout(net, capacity, layers + b * layer_stride, &c);

		/* attention branch */
		norm_forward(x, tokens, d, p + net->at.ln1_gamma, p + net->at.ln1_beta,
					 c.xhat1, c.rstd1, c.a1);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) tokens, 3 * d, d, 1.0f,
					c.a1, d, p + net->at.wq, d, 0.0f, c.qkv, 3 * d);
		attend(net, c.qkv, lengths, n_seq, c.probs, c.o);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) tokens, d, d, 1.0f,
					c.o, d, p + net->at.wo, d, 0.0f, tmp, d);
		if (input_mask)
			add_product(x, c.mask1, tmp, td);
		else
			add(x, x, tmp, td);

		/* feed-forward branch */
		norm_forward(x, tokens, d, p + net->at.ln2_gamma, p + net->at.ln2_beta,
					 c.xhat2, c.rstd2, c.f);
		broadcast(c.h, tokens, d, p + net->at.b1);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) tokens, d, d, 1.0f,
					c.f, d, p + net->at.w1, d, 1.0f, c.h, d);
		where_positive(c.h, c.h, c.h, td);
		broadcast(tmp, tokens, d, p + net->at.b2);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) tokens, d, d, 1.0f,
					c.h, d, p + net->at.w2, d, 1.0f, tmp, d);
		if (input_mask)
			add_product(x, c.mask2, tmp, td);
		else
			add(x, x, tmp, td);
	}
}

/*
 * Inverted dropout's mask: 0 with probability rate, else 1 / (1 - rate).
 * Sixteen random bits a unit, four units a draw: the rate is then rounded
 * to 1/65536, and the scale keeps the mask's mean exactly 1.
 */
static void
draw_mask(float *mask, size_t count, float rate, rs_random *rng)
{
	uint32_t	threshold = (uint32_t) (rate * 65536.0f + 0.5f);
	float		value[2];
	size_t		k = 0;
	uint64_t	bits;

	if (threshold > 65535)
		threshold = 65535;
	value[0] = 0.0f;
	value[1] = (float) (65536.0 / (65536.0 - threshold));
	/* a look-up, not a branch on random bits (mispredicted half the time): 4 x faster */
	for (; k + 4 <= count; k += 4)
	{
		bits = rs_random_next(rng);
		mask[k] = value[(bits & 0xFFFF) >= threshold];
		mask[k + 1] = value[((bits >> 16) & 0xFFFF) >= threshold];
		mask[k + 2] = value[((bits >> 32) & 0xFFFF) >= threshold];
		mask[k + 3] = value[(bits >> 48) >= threshold];
	}
	for (bits = k < count ? rs_random_next(rng) : 0; k < count; k++, bits >>= 16)
		mask[k] = value[(bits & 0xFFFF) >= threshold];
}

const float *
rs_attention_forward(const rs_attention *net, const float *weights, const float *embeddings,
					 const int32_t *items, const int32_t *lengths, int n_seq, float dropout,
					 rs_random *rng, rs_attention_workspace *w)
{
	int			d = net->factors;
	size_t		tokens = 0;
	bool		dropped = rng != NULL && dropout > 0.0f;

	w->tokens = 0;
	if (n_seq < 1 || (size_t) n_seq > w->max_tokens)
		return NULL;
	for (int s = 0; s < n_seq; s++)
	{
		if (lengths[s] < 1 || lengths[s] > net->max_length)
			return NULL;
		tokens += lengths[s];
	}
	if (tokens > w->max_tokens)
		return NULL;

	memcpy(w->items, items, sizeof(int32_t) * tokens);
	memcpy(w->lengths, lengths, sizeof(int32_t) * n_seq);
	if (dropped)
	{
		draw_mask(w->input_mask, tokens * d, dropout, rng);
		for (int b = 0; b < net->blocks; b++)
		{
			layer_cache c;

			layer_layout(net, w->max_tokens, w->layers + b * w->layer_stride, &c);
			draw_mask(c.mask1, tokens * d, dropout, rng);
			draw_mask(c.mask2, tokens * d, dropout, rng);
		}
	}
	forward_blocks(net, weights, embeddings, w->items, w->lengths, n_seq, tokens,
				   dropped ? w->input_mask : NULL, w->layers, w->layer_stride, w->max_tokens,
				   w->x, w->t1);
	norm_forward(w->x, tokens, d, weights + net->final_norm, weights + net->final_norm + d,
				 w->final_xhat, w->final_rstd, w->out);
	w->tokens = tokens;
	w->n_seq = n_seq;
	w->dropped = dropped;
	return w->out;
}

/* branch = mask dx, or dx itself without dropout. */
static const float *
masked(const float *dx, const float *mask, size_t count, float *branch)
{
	if (!mask)
		return dx;
	multiply(branch, mask, dx, count);
	return branch;
}

void
rs_attention_backward(const rs_attention *net, const float *weights, const float *embeddings,
					  rs_attention_workspace *w, const float *dout, float *d_weights,
					  float *d_embeddings)
{
	int			d = net->factors,
				L = net->max_length,
				T = (int) w->tokens;
	size_t		td = w->tokens * d;
	float	   *dx = w->dx;
	const float *dy;

	if (w->tokens == 0)
		return;
	memset(dx, 0, sizeof(float) * td);
	norm_backward(dout, w->final_xhat, w->final_rstd, w->tokens, d,
				  weights + net->final_norm, d_weights + net->final_norm,
				  d_weights + net->final_norm + d, dx);

	for (int b = net->blocks - 1; b >= 0; b--)
	{
		const float *p = weights + rs_attention_block(net, b);
		float	   *g = d_weights + rs_attention_block(net, b);
		layer_cache c;

		layer_layout(net, w->max_tokens, w->layers + b * w->layer_stride, &c);

		/* feed-forward branch: dW2 = dy' h, dh = dy W2 where h > 0, dW1 = dh' f */
		dy = masked(dx, w->dropped ? c.mask2 : NULL, td, w->t1);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, T, 1.0f,
					dy, d, c.h, d, 1.0f, g + net->at.w2, d);
		column_sums(dy, w->tokens, d, g + net->at.b2);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, d, 1.0f,
					dy, d, p + net->at.w2, d, 0.0f, w->t2, d);
		where_positive(w->t2, w->t2, c.h, td);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, T, 1.0f,
					w->t2, d, c.f, d, 1.0f, g + net->at.w1, d);
		column_sums(w->t2, w->tokens, d, g + net->at.b1);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, d, 1.0f,
					w->t2, d, p + net->at.w1, d, 0.0f, w->t3, d);
		norm_backward(w->t3, c.xhat2, c.rstd2, w->tokens, d, p + net->at.ln2_gamma,
					  g + net->at.ln2_gamma, g + net->at.ln2_beta, dx);

		/* attention branch: dWo = dy' o, do = dy Wo, then the heads, then Q K V */
		dy = masked(dx, w->dropped ? c.mask1 : NULL, td, w->t1);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, T, 1.0f,
					dy, d, c.o, d, 1.0f, g + net->at.wo, d);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, d, 1.0f,
					dy, d, p + net->at.wo, d, 0.0f, w->t2, d);
		attend_backward(net, c.qkv, c.probs, w->lengths, w->n_seq, w->t2, w->scores, w->dqkv);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 3 * d, d, T, 1.0f,
					w->dqkv, 3 * d, c.a1, d, 1.0f, g + net->at.wq, d);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, 3 * d, 1.0f,
					w->dqkv, 3 * d, p + net->at.wq, d, 0.0f, w->t3, d);
		norm_backward(w->t3, c.xhat1, c.rstd1, w->tokens, d, p + net->at.ln1_gamma,
					  g + net->at.ln1_gamma, g + net->at.ln1_beta, dx);
	}

	/* the input: x = mask (E[i] + P[p]) */
	dy = masked(dx, w->dropped ? w->input_mask : NULL, td, w->t1);
	embed_backward(dy, w->items, w->lengths, w->n_seq, d, L, d_weights, d_embeddings);
}

void
rs_attention_dropout_masks(const rs_attention *net, const rs_attention_workspace *w, int b,
						   const float **attention, const float **feed_forward)
{
	layer_cache c;

	layer_layout(net, w->max_tokens, w->layers + b * w->layer_stride, &c);
	*attention = w->dropped ? c.mask1 : NULL;
	*feed_forward = w->dropped ? c.mask2 : NULL;
}

size_t
rs_attention_scratch_floats(const rs_attention *net)
{
	size_t		L = (size_t) net->max_length,
				at = 0;

	/* as rs_attention_encode lays it out: x, tmp, one layer cache */
	carve(&at, L * net->factors);
	carve(&at, L * net->factors);
	carve(&at, layer_layout(net, L, NULL, NULL));
	return at;
}

void
rs_attention_encode(const rs_attention *net, const float *weights, const float *embeddings,
					const int32_t *items, int n, float *scratch, float *out, float *attention)
{
	int			d = net->factors,
				L = net->max_length,
				skip = 0;
	size_t		at = 0,
				x_at = carve(&at, (size_t) L * d),
				tmp_at = carve(&at, (size_t) L * d),
				layer_at = carve(&at, layer_layout(net, L, NULL, NULL));
	float	   *x = scratch + x_at,
			   *tmp = scratch + tmp_at;
	layer_cache c;
	int32_t		length;

	if (n < 1)
	{
		memset(out, 0, sizeof(float) * d);
		return;
	}
	/* only the most recent max_length items count */
	if (n > L)
	{
		skip = n - L;
		items += skip;
		n = L;
	}
	length = n;
	/* one cache for every block (stride 0): no backward, and the last block's stays */
	forward_blocks(net, weights, embeddings, items, &length, 1, (size_t) n, NULL,
				   scratch + layer_at, 0, (size_t) L, x, tmp);
	layer_layout(net, (size_t) L, scratch + layer_at, &c);
	/* the final layer norm of the last token only; tmp is free for its xhat */
	norm_forward(x + (size_t) (n - 1) * d, 1, d, weights + net->final_norm,
				 weights + net->final_norm + d, tmp, c.rstd1, out);
	if (attention)
	{
		float		share = 1.0f / (float) net->heads;

		for (int j = 0; j < skip; j++)
			attention[j] = 0.0f;
		for (int j = 0; j < n; j++)
		{
			float		sum = 0.0f;

			for (int hd = 0; hd < net->heads; hd++)
				sum += c.probs[(size_t) hd * n * n + (size_t) (n - 1) * n + j];
			attention[skip + j] = sum * share;
		}
	}
}
