/*
 * sampled_softmax.c - the sequence model's loss (sampled_softmax.h).
 *
 * Every position is scored against every negative by one sgemm, and the
 * gradients of the negatives' rows and of the outputs by two more; what is
 * per position is the positive's score and the softmax itself, taken in
 * double with the largest logit subtracted, so that no exponential
 * overflows whatever the scale of the embeddings.
 */
#include "sampled_softmax.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>

double
rs_sampled_softmax(const rs_softmax_batch *b, float scale, float *logits, float *d_out,
				   float *row_grad, float *bias_grad)
{
	int			d = b->factors,
				n = b->negatives;
	double		loss = 0.0;

	/* logits of every position against every negative: one sgemm */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) b->positions, n, d, 1.0f,
				b->out, d, b->rows, d, 0.0f, logits, n);
	for (size_t k = 0; k < b->positions; k++)
	{
		const float *h = b->out + k * d;
		int32_t		target = b->targets[k];
		const float *e = b->rows + (size_t) target * d;
		float	   *z = logits + k * n;
		int32_t		target_item = b->row_items[target];
		double		positive = b->bias[target],
					top,
					sum;
		float		dz;

		for (int f = 0; f < d; f++)
			positive += (double) h[f] * e[f];
		top = positive;
		for (int j = 0; j < n; j++)
		{
			z[j] += b->bias[j];
			if (b->row_items[j] != target_item && z[j] > top)
				top = z[j];
		}
		/* z becomes the unnormalised probabilities, then dz = softmax * scale */
		sum = exp(positive - top);
		dz = (float) sum;
		for (int j = 0; j < n; j++)
		{
			z[j] = b->row_items[j] == target_item ? 0.0f : (float) exp(z[j] - top);
			sum += z[j];
		}
		loss += top + log(sum) - positive;
		for (int j = 0; j < n; j++)
		{
			z[j] = (float) (z[j] / sum) * scale;
			bias_grad[j] += z[j];
		}
		dz = (float) (dz / sum - 1.0) * scale;
		bias_grad[target] += dz;
		for (int f = 0; f < d; f++)
		{
			d_out[k * d + f] = dz * e[f];
			row_grad[(size_t) target * d + f] += dz * h[f];
		}
	}
	/* d_out += dZ E_neg; dE_neg += dZ' H */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) b->positions, d, n, 1.0f,
				logits, n, b->rows, d, 1.0f, d_out, d);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, d, (int) b->positions, 1.0f,
				logits, n, b->out, d, 1.0f, row_grad, d);
	return loss;
}
