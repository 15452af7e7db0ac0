/*
 * runtime.c - the default allocator, the clock, and BLAS threading.
 */
#include "runtime.h"

#include <cblas.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>


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

const rs_allocator rs_malloc_allocator = {malloc_alloc, malloc_free, NULL, NULL};

void *
rs_realloc(const rs_allocator *a, void *ptr, size_t old_size, size_t size)
{
	void	   *grown;

	if (ptr == NULL)
		return rs_alloc(a, size);
	if (a->realloc)
		return a->realloc(a->ctx, ptr, size == 0 ? 1 : size);
	grown = rs_alloc(a, size);
	if (grown)
	{
		memcpy(grown, ptr, old_size < size ? old_size : size);
		rs_free(a, ptr);
	}
	return grown;
}

void
rs_advise_huge_pages(void *ptr, size_t size)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	page = (uintptr_t) sysconf(_SC_PAGESIZE);
	uintptr_t	begin = (uintptr_t) ptr & ~(page - 1);
	uintptr_t	end = ((uintptr_t) ptr + size + page - 1) & ~(page - 1);

	/*
	 * Rounded out to whole pages, so a block that is a mapping of its own
	 * (as large malloc blocks are) stays one mapping that mremap can still
	 * grow; the advice never changes any contents, neighbours' included.
	 */
	(void) madvise((void *) begin, end - begin, MADV_HUGEPAGE);
#else
	(void) ptr;
	(void) size;
#endif
}

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
