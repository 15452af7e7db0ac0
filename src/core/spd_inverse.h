/*
 * spd_inverse.h - the inverse of a symmetric positive definite matrix, in
 * place, on the thread pool, polling for a cancel between chunks of work.
 *
 * LAPACK's spotrf and spotri do the same in two calls that cannot be
 * interrupted and run on one core (BLAS is single-threaded in a backend):
 * 11 s at 10,000 items, deaf to a cancel all along.  Here the same blocked
 * algorithms are written out: each step of a block column hands its level-3
 * BLAS calls to the pool in panels, so every core works and a cancel is
 * noticed within one panel's work.
 */
#ifndef RECSYS_SPD_INVERSE_H
#define RECSYS_SPD_INVERSE_H

#include "thread_pool.h"

/*
 * Inverts the n x n column-major matrix a (leading dimension n) whose upper
 * triangle holds a symmetric positive definite matrix A: on RS_OK the upper
 * triangle holds that of A^-1, the strict lower triangle is left as it was.
 * RS_NUMERICAL_FAILURE if A is not positive definite (or holds a NaN),
 * RS_CANCELLED if rt->should_stop said so.
 */
rs_status	rs_spd_invert(float *a, int n, rs_pool *pool, const rs_runtime *rt);

#endif
