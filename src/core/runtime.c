/*
 * runtime.c - the default allocator, the clock, and BLAS threading.
 */
#include "runtime.h"

#include <cblas.h>
#include <pthread.h>
#include <signal.h>
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

/* OpenBLAS's own: stops its worker threads (they restart when next needed). */
extern void blas_thread_shutdown_(void);

/*
 * OpenBLAS starts its workers when the library is loaded, with the
 * loader's signal mask: in a server backend, idle threads that the kernel
 * may hand the backend's signals whenever the backend itself blocks them.
 * We parallelise above BLAS, so they are stopped (with every signal blocked
 * meanwhile); single-threaded, OpenBLAS starts none again.
 */
void
rs_blas_single_threaded(void)
{
	sigset_t	all,
				old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	openblas_set_num_threads(1);
	blas_thread_shutdown_();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
