/*
 * runtime.h - what the engine needs from its host: memory, a way to ask
 * whether to stop, progress reporting and a thread budget.
 *
 * The engine (src/core) knows nothing of PostgreSQL.  A backend passes
 * callbacks that allocate in a memory context and look at the interrupt
 * flags; unit tests, fuzzers and benchmarks pass plain malloc.  Callbacks are
 * only ever invoked on the calling thread, never from worker threads.
 */
#ifndef RECSYS_RUNTIME_H
#define RECSYS_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rs_status
{
	RS_OK = 0,
	RS_NO_MEMORY,
	RS_CANCELLED,
	RS_TOO_LARGE,				/* more users/items than the format can index */
	RS_NUMERICAL_FAILURE,		/* a factorisation that should not fail did */
	RS_UNSUPPORTED				/* the model's kind cannot do that (kind.h) */
} rs_status;

typedef struct rs_allocator
{
	/* Returns NULL when the memory cannot be had; never throws. */
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
	/*
	 * Optional (NULL: allocate, copy, free).  Like realloc, but NULL on
	 * failure with ptr untouched; lets a host grow a large block in place.
	 */
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);
} rs_allocator;

typedef struct rs_runtime
{
	rs_allocator alloc;
	/* Polled between chunks of work; true stops training with RS_CANCELLED. */
	bool		(*should_stop) (void *arg);
	/*
	 * Called after every training iteration, e.g. for a verbose NOTICE; a
	 * one-pass fit (item models) reports once, with a NaN loss: it has none.
	 */
	void		(*progress) (void *arg, int iteration, double loss, double seconds);
	void	   *arg;
	int			threads;		/* worker threads, >= 1 */
} rs_runtime;

/* An allocator on malloc/free, for hosts without one of their own. */
extern const rs_allocator rs_malloc_allocator;

static inline void *
rs_alloc(const rs_allocator *a, size_t size)
{
	return a->alloc(a->ctx, size == 0 ? 1 : size);
}

static inline void
rs_free(const rs_allocator *a, void *ptr)
{
	if (ptr)
		a->free(a->ctx, ptr);
}

/* ptr (of old_size bytes, or NULL) grown to size; NULL and ptr intact on failure. */
void	   *rs_realloc(const rs_allocator *a, void *ptr, size_t old_size, size_t size);

/*
 * Asks the kernel to back a large block with huge pages where it can: on
 * virtual machines a first touch of fresh memory costs microseconds per
 * 4 kB page, and large blocks are written whole anyway.  A hint only: it
 * never changes the contents of any memory.
 */
void		rs_advise_huge_pages(void *ptr, size_t size);

/* Seconds on a monotonic clock. */
double		rs_now(void);

/* Make BLAS run single-threaded in the calling threads: we parallelise above it. */
void		rs_blas_single_threaded(void);

#endif
