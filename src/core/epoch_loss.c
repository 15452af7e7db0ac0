/*
 * epoch_loss.c - the loss of an epoch of sampled steps (epoch_loss.h).
 */
#include "epoch_loss.h"

#include <math.h>

rs_status
rs_epoch_loss(const rs_chunk_loss *chunks, size_t n, const rs_runtime *rt, int epoch,
			  double started, double *loss)
{
	double		sum = 0.0;
	size_t		samples = 0;

	for (size_t c = 0; c < n; c++)
	{
		sum += chunks[c].sum;
		samples += chunks[c].samples;
	}
	*loss = samples ? sum / (double) samples : 0.0;
	if (!isfinite(*loss))
		return RS_NUMERICAL_FAILURE;
	if (rt->progress)
		rt->progress(rt->arg, epoch + 1, *loss, rs_now() - started);
	return RS_OK;
}
