/*
 * runtime.c - the default allocator, the clock, and BLAS threading.
 */
#include "runtime.h"

#include <cblas.h>
#include <stdlib.h>
#include <time.h>

static void *
malloc_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

static void
malloc_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

const rs_allocator rs_malloc_allocator = {malloc_alloc, malloc_free, NULL};

double
rs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

void
rs_blas_single_threaded(void)
{
	openblas_set_num_threads(1);
}
