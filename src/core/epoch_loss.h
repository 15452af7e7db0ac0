/*
 * epoch_loss.h - the loss of an epoch of sampled steps that threads take in
 * chunks (BPR, the hybrid model): each chunk adds up its own, and the
 * chunks are summed in their order, so that one thread gives the same loss
 * every time.
 */
#ifndef RECSYS_EPOCH_LOSS_H
#define RECSYS_EPOCH_LOSS_H

#include "runtime.h"

#include <stddef.h>

typedef struct rs_chunk_loss
{
	double		sum;
	size_t		samples;		/* drawn and not skipped */
} rs_chunk_loss;

/*
 * The mean loss of the epoch's chunks into *loss, and the progress report
 * of epoch (counting from 0) begun at started; RS_NUMERICAL_FAILURE when
 * the loss is not finite, which a learning rate too large for the data
 * gives by sending the vectors to infinity.
 */
rs_status	rs_epoch_loss(const rs_chunk_loss *chunks, size_t n, const rs_runtime *rt, int epoch,
						  double started, double *loss);

#endif
