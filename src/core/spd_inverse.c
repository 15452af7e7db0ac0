/*
 * spd_inverse.c - A^-1 = U^-1 U^-T from the Cholesky factor A = U'U, in
 * three blocked passes over block columns of NB, as LAPACK's spotrf,
 * strtri and slauum do them (same steps, same order):
 *
 *  1. Cholesky, right-looking: factor the diagonal block, solve the block
 *     row to its right (strsm), update the trailing matrix (ssyrk, sgemm).
 *  2. U^-1 in place: each block column is multiplied by the inverse already
 *     formed to its left (strmm), then by minus its own diagonal block's
 *     inverse (strsm), and that block is inverted.
 *  3. U^-1 U^-T in place: each block column is multiplied by its diagonal
 *     block (strmm) and gets the products with the columns to its right
 *     (sgemm, ssyrk).
 *
 * The large calls split into independent panels: columns of the trailing
 * matrix in 1 and of the block column in 2's strmm, rows of the block
 * column in 2's strsm and in 3.  Small diagonal blocks are done on the
 * calling thread between pool runs.  The panels of a step are fixed by n
 * alone, so the result is the same on any number of threads.
 */
#include "spd_inverse.h"

#include "lapack.h"

#include <cblas.h>
#include <math.h>

#define NB 256					/* block columns and panels */

/* element (row, col) of the column-major matrix */
#define AT(m, row, col) ((m)->a + (size_t) (col) * (size_t) (m)->n + (size_t) (row))

typedef struct step
{
	float	   *a;
	int			n;
	int			k;				/* the block column: columns [k, k + b) */
	int			b;
} step;

/* Cholesky: the block row to the right of diagonal block k, columns [begin, end) of it */
static void
cholesky_panel(void *arg, int worker, size_t begin, size_t end)
{
	const step *s = arg;
	int			c0 = s->k + s->b + (int) begin;
	int			w = (int) (end - begin);

	(void) worker;
	/* U12 = U11^-T A12 */
	cblas_strsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit,
				s->b, w, 1.0f, AT(s, s->k, s->k), s->n, AT(s, s->k, c0), s->n);
}

/* Cholesky: columns [begin, end) of the trailing matrix, upper triangle */
static void
trailing_panel(void *arg, int worker, size_t begin, size_t end)
{
	const step *s = arg;
	int			t = s->k + s->b;	/* the trailing matrix starts here */
	int			c0 = t + (int) begin;
	int			w = (int) (end - begin);

	(void) worker;
	/* A22 -= U12' U12: rows above the panel's diagonal block, then the block */
	if (c0 > t)
		cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, c0 - t, w, s->b, -1.0f,
					AT(s, s->k, t), s->n, AT(s, s->k, c0), s->n, 1.0f, AT(s, t, c0), s->n);
	cblas_ssyrk(CblasColMajor, CblasUpper, CblasTrans, w, s->b, -1.0f,
				AT(s, s->k, c0), s->n, 1.0f, AT(s, c0, c0), s->n);
}

/* U^-1: columns [begin, end) of block column k, rows above it, times the inverse to the left */
static void
inverse_left_panel(void *arg, int worker, size_t begin, size_t end)
{
	const step *s = arg;

	(void) worker;
	cblas_strmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit,
				s->k, (int) (end - begin), 1.0f, AT(s, 0, 0), s->n,
				AT(s, 0, s->k + (int) begin), s->n);
}

/* U^-1: rows [begin, end) of block column k times minus its diagonal block's inverse */
static void
inverse_right_panel(void *arg, int worker, size_t begin, size_t end)
{
	const step *s = arg;

	(void) worker;
	cblas_strsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit,
				(int) (end - begin), s->b, -1.0f, AT(s, s->k, s->k), s->n,
				AT(s, (int) begin, s->k), s->n);
}

/* U^-1 U^-T: rows [begin, end) of block column k above its diagonal block */
static void
product_panel(void *arg, int worker, size_t begin, size_t end)
{
	const step *s = arg;
	int			rows = (int) (end - begin);
	int			right = s->k + s->b;

	(void) worker;
	cblas_strmm(CblasColMajor, CblasRight, CblasUpper, CblasTrans, CblasNonUnit,
				rows, s->b, 1.0f, AT(s, s->k, s->k), s->n, AT(s, (int) begin, s->k), s->n);
	if (right < s->n)
		cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, rows, s->b, s->n - right, 1.0f,
					AT(s, (int) begin, right), s->n, AT(s, s->k, right), s->n, 1.0f,
					AT(s, (int) begin, s->k), s->n);
}

static rs_status
cholesky(float *a, int n, rs_pool *pool, const rs_runtime *rt)
{
	for (int k = 0; k < n; k += NB)
	{
		step		s = {a, n, k, n - k < NB ? n - k : NB};
		int			rest = n - k - s.b;
		int			info = 0;
		rs_status	status;

		spotrf_("U", &s.b, AT(&s, k, k), &n, &info, 1);
		if (info != 0)
			return RS_NUMERICAL_FAILURE;
		/*
		 * OpenBLAS's spotrf takes a NaN pivot for a positive one.  Every
		 * entry of U reaches a diagonal entry at or after its own block
		 * column (squared into it), so a NaN anywhere shows there.
		 */
		for (int j = k; j < k + s.b; j++)
			if (!(*AT(&s, j, j) > 0.0f) || !isfinite(*AT(&s, j, j)))
				return RS_NUMERICAL_FAILURE;
		if (rest == 0)
			break;
		if ((status = rs_pool_run(pool, rt, (size_t) rest, NB, cholesky_panel, &s)) != RS_OK ||
			(status = rs_pool_run(pool, rt, (size_t) rest, NB, trailing_panel, &s)) != RS_OK)
			return status;
	}
	return RS_OK;
}

static rs_status
triangular_inverse(float *a, int n, rs_pool *pool, const rs_runtime *rt)
{
	for (int k = 0; k < n; k += NB)
	{
		step		s = {a, n, k, n - k < NB ? n - k : NB};
		int			info = 0;
		rs_status	status;

		/* a handful of columns per panel: a block column is only NB wide */
		if (k > 0 &&
			((status = rs_pool_run(pool, rt, (size_t) s.b, NB / 4, inverse_left_panel, &s)) != RS_OK ||
			 (status = rs_pool_run(pool, rt, (size_t) k, NB, inverse_right_panel, &s)) != RS_OK))
			return status;
		strtri_("U", "N", &s.b, AT(&s, k, k), &n, &info, 1, 1);
		if (info != 0)
			return RS_NUMERICAL_FAILURE;
	}
	return RS_OK;
}

static rs_status
product_with_transpose(float *a, int n, rs_pool *pool, const rs_runtime *rt)
{
	for (int k = 0; k < n; k += NB)
	{
		step		s = {a, n, k, n - k < NB ? n - k : NB};
		int			right = k + s.b;
		int			info = 0;
		rs_status	status;

		if (k > 0 &&
			(status = rs_pool_run(pool, rt, (size_t) k, NB, product_panel, &s)) != RS_OK)
			return status;
		/* the diagonal block last: the panels read it as it was */
		slauum_("U", &s.b, AT(&s, k, k), &n, &info, 1);
		if (right < n)
			cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, s.b, n - right, 1.0f,
						AT(&s, k, right), n, 1.0f, AT(&s, k, k), n);
	}
	return RS_OK;
}

rs_status
rs_spd_invert(float *a, int n, rs_pool *pool, const rs_runtime *rt)
{
	rs_status	status;

	if ((status = cholesky(a, n, pool, rt)) != RS_OK ||
		(status = triangular_inverse(a, n, pool, rt)) != RS_OK)
		return status;
	return product_with_transpose(a, n, pool, rt);
}
