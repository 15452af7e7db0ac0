/*
 * lapack.h - the LAPACK routines recsys uses, as OpenBLAS exports them
 * (Fortran calling convention; the trailing size_t is the hidden length of
 * the character argument).
 */
#ifndef RECSYS_LAPACK_H
#define RECSYS_LAPACK_H

#include <stddef.h>

extern void spotrf_(const char *uplo, const int *n, float *a, const int *lda,
					int *info, size_t uplo_len);
extern void spotri_(const char *uplo, const int *n, float *a, const int *lda,
					int *info, size_t uplo_len);
extern void strtri_(const char *uplo, const char *diag, const int *n, float *a,
					const int *lda, int *info, size_t uplo_len, size_t diag_len);
extern void slauum_(const char *uplo, const int *n, float *a, const int *lda,
					int *info, size_t uplo_len);
extern void spotrs_(const char *uplo, const int *n, const int *nrhs, const float *a,
					const int *lda, float *b, const int *ldb, int *info, size_t uplo_len);

/*
 * Solves A x = b in place for a symmetric positive definite A whose upper
 * triangle (column-major, n x n) is given; A is overwritten by its Cholesky
 * factor.  Returns false if A is not positive definite.
 */
static inline int
rs_cholesky_solve(float *a, int n, float *b)
{
	int			info = 0;
	int			one = 1;

	spotrf_("U", &n, a, &n, &info, 1);
	if (info != 0)
		return 0;
	spotrs_("U", &n, &one, a, &n, b, &n, &info, 1);
	return info == 0;
}

#endif
