/*
 * attention.h - a causal self-attention network over item sequences, in the
 * manner of SASRec (Kang and McAuley 2018, "Self-attentive sequential
 * recommendation", ICDM), with pre-layer-norm blocks: forward, backward and
 * serving.
 *
 * The caller owns the item embeddings E (n_items x factors, row-major) and
 * the loss; the network maps a sequence of n items (chronological, 1 <= n <=
 * max_length) to n outputs of `factors` floats, output t seeing items 0..t
 * only.  Positions count from the end, so that the most recent item always
 * has position max_length - 1: item t of n has p = max_length - n + t.
 *
 *   x = dropout(E[i_t] + P[p_t])
 *   per block:  x += dropout(MultiHead(LN1(x)) Wo')
 *               x += dropout(relu(LN2(x) W1' + b1) W2' + b2)
 *   out = LNf(x)
 *
 * MultiHead splits Q = a Wq', K = a Wk', V = a Wv' into `heads` column
 * groups of factors / heads; each head is softmax(Q K' / sqrt(dh)) V over
 * the causal (lower) triangle.  Every matrix is out x in, row-major.
 *
 * Weights are one block: P (max_length x factors); then per block
 * ln1_gamma, ln1_beta (factors each), Wq, Wk, Wv, Wo (factors^2 each),
 * ln2_gamma, ln2_beta, W1, b1, W2, b2; then lnf_gamma, lnf_beta.
 */
#ifndef RECSYS_ATTENTION_H
#define RECSYS_ATTENTION_H

#include "random.h"
#include "runtime.h"

#define RS_ATTENTION_MAX_FACTORS 1024
#define RS_ATTENTION_MAX_BLOCKS 16
#define RS_ATTENTION_MAX_LENGTH 1024
#define RS_ATTENTION_NORM_EPSILON 1e-6f	/* added to the variance in every layer norm */

/* The shape of a network and where its parameters are, in floats. */
typedef struct rs_attention
{
	int			factors;		/* d */
	int			blocks;
	int			heads;
	int			max_length;		/* L */
	size_t		n_weights;
	size_t		first_block;	/* block 0's parameters; P is at 0 */
	size_t		block_stride;	/* floats per block */
	size_t		final_norm;		/* lnf_gamma, then lnf_beta */
	/* within a block, from its start (Wq, Wk and Wv are adjacent: one 3d x d matrix) */
	struct
	{
		size_t		ln1_gamma,
					ln1_beta,
					wq,
					wk,
					wv,
					wo,
					ln2_gamma,
					ln2_beta,
					w1,
					b1,
					w2,
					b2;
	}			at;
} rs_attention;

/* Block b's parameters: weights + rs_attention_block(net, b) + net->at.wq is its Wq. */
static inline size_t
rs_attention_block(const rs_attention *net, int b)
{
	return net->first_block + (size_t) b * net->block_stride;
}

/*
 * False if a size is out of range (factors 1..RS_ATTENTION_MAX_FACTORS,
 * blocks 1..RS_ATTENTION_MAX_BLOCKS, max_length 1..RS_ATTENTION_MAX_LENGTH)
 * or heads does not divide factors.
 */
bool		rs_attention_init(rs_attention *net, int factors, int blocks, int heads,
							  int max_length);

/*
 * Glorot-uniform matrices (Glorot and Bengio 2010), P normal with standard
 * deviation 0.02, gammas 1, betas and biases 0.
 */
void		rs_attention_initial_weights(const rs_attention *net, float *weights,
										 rs_random *rng);

/*
 * Buffers for training on up to max_tokens tokens at once: what the last
 * forward saved for backward, and backward's own, in one allocation.
 * Memory per token is about (11 blocks + 11) factors + blocks (heads
 * max_length + 2) floats (d 64, L 50, 2 blocks, 1 head: 8.9 kB).  One thread
 * uses a workspace at a time.  Init returns false when the allocation fails
 * (or max_tokens exceeds INT_MAX / 4).
 */
typedef struct rs_attention_workspace
{
	size_t		max_tokens;
	size_t		tokens;			/* of the last forward; 0 if there is none */
	int			n_seq;
	bool		dropped;		/* the last forward drew dropout masks */
	int32_t    *items;			/* the last forward's items and lengths, copied */
	int32_t    *lengths;
	float	   *input_mask;		/* tokens x factors: 0 or 1 / (1 - rate) */
	float	   *layers;			/* per block, what backward needs (laid out in attention.c) */
	size_t		layer_stride;
	float	   *final_xhat;		/* the final layer norm's normalised input */
	float	   *final_rstd;		/* and 1 / its standard deviation, per token */
	float	   *out;			/* tokens x factors: the outputs */
	float	   *x;				/* tokens x factors: the residual stream */
	float	   *dx;				/* backward: dloss / dx */
	float	   *t1,
			   *t2,
			   *t3;				/* tokens x factors each, temporaries */
	float	   *dqkv;			/* tokens x 3 factors */
	float	   *scores;			/* max_length^2: one head's dloss / dscores */
	void	   *block;			/* the one allocation all of the above live in */
} rs_attention_workspace;

bool		rs_attention_workspace_init(rs_attention_workspace *w, const rs_attention *net,
										size_t max_tokens, const rs_allocator *a);
void		rs_attention_workspace_free(rs_attention_workspace *w, const rs_allocator *a);

/*
 * Forward of n_seq sequences: items holds them one after the other (each
 * chronological), lengths[s] in 1..max_length, T = the sum of lengths at
 * most w->max_tokens.  Dropout at rate `dropout` (in [0, 1), inverted: kept
 * units scaled by 1 / (1 - rate)) with masks drawn from rng; rng NULL is
 * inference, without dropout.  Returns the outputs, T x factors, inside the
 * workspace (valid until its next forward); NULL if a length is out of
 * range or T is too large.  Items must index embeddings' rows.
 */
const float *rs_attention_forward(const rs_attention *net, const float *weights,
								  const float *embeddings, const int32_t *items,
								  const int32_t *lengths, int n_seq, float dropout,
								  rs_random *rng, rs_attention_workspace *w);

/*
 * Backward of the last forward: dout (T x factors) is dloss / dout.  Adds
 * dloss / dweights into d_weights (n_weights floats) and dloss / dE into the
 * rows of d_embeddings (n_items x factors) of the items forwarded, touching
 * no other row; d_embeddings NULL leaves E's gradient out.
 */
void		rs_attention_backward(const rs_attention *net, const float *weights,
								  const float *embeddings, rs_attention_workspace *w,
								  const float *dout, float *d_weights, float *d_embeddings);

/*
 * Block b's dropout masks of the last forward (tokens x factors each, 0 or
 * 1 / (1 - rate)): on the attention branch's output and on the feed-forward
 * branch's; NULL if it drew none.  w->input_mask is the input's.  For tests.
 */
void		rs_attention_dropout_masks(const rs_attention *net, const rs_attention_workspace *w,
									   int b, const float **attention,
									   const float **feed_forward);

/*
 * Serving: encodes one history (chronological, n >= 1 items; of more than
 * max_length only the last max_length count) without dropout and without
 * allocating.  Writes the last item's output (factors floats) into out, the
 * same as rs_attention_forward gives for that sequence up to float rounding
 * (zeros if n < 1); if attention is not NULL, n floats too: the last item's
 * attention over the history in the last block, averaged over heads (they
 * sum to 1; 0 for the items before the last max_length).  scratch holds
 * rs_attention_scratch_floats(net) floats.
 */
size_t		rs_attention_scratch_floats(const rs_attention *net);
void		rs_attention_encode(const rs_attention *net, const float *weights,
								const float *embeddings, const int32_t *items, int n,
								float *scratch, float *out, float *attention);

#endif
