/*
 * sampled_softmax.h - the sequence model's loss: each position's next item
 * scored against a shared sample of negative items, by softmax.
 */
#ifndef RECSYS_SAMPLED_SOFTMAX_H
#define RECSYS_SAMPLED_SOFTMAX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Positions and the embedding rows they read.  Rows 0..negatives-1 are the
 * negatives, one row per draw; targets[k] is the row of position k's next
 * item, and a negative of the same item (row_items) is left out of that
 * position's softmax, so a draw never counts as wrong when it is right.
 */
typedef struct rs_softmax_batch
{
	size_t		positions;
	int			factors;
	int			negatives;
	const float *out;			/* positions x factors: the network's outputs */
	const int32_t *targets;		/* positions */
	const float *rows;			/* embedding rows, factors each */
	const float *bias;			/* a bias per row */
	const int32_t *row_items;	/* each row's item */
} rs_softmax_batch;

/*
 * The summed loss -log softmax(target) of every position.  Writes the
 * gradient of scale times that loss with respect to out into d_out
 * (positions x factors) and adds it, with respect to rows and bias, into
 * row_grad and bias_grad; logits is scratch of positions x negatives.
 */
double		rs_sampled_softmax(const rs_softmax_batch *b, float scale, float *logits, float *d_out,
							   float *row_grad, float *bias_grad);

#endif
