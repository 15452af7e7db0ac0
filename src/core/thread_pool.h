/*
 * thread_pool.h - a fixed set of worker threads for data-parallel loops.
 *
 * Workers block every signal (a backend's signal handlers must only run on
 * its own thread) and never call back into the host.  The calling thread
 * works too, and between its chunks asks the runtime whether to stop, so a
 * cancel is noticed within one chunk of work.
 */
#ifndef RECSYS_THREAD_POOL_H
#define RECSYS_THREAD_POOL_H

#include "runtime.h"

typedef struct rs_pool rs_pool;

/* fn processes rows [begin, end) as worker number `worker` (0..threads-1). */
typedef void (*rs_task_fn) (void *arg, int worker, size_t begin, size_t end);

/* Starts threads-1 workers (threads >= 1); NULL if they cannot be had. */
rs_pool    *rs_pool_create(int threads, const rs_allocator *a);
void		rs_pool_destroy(rs_pool *pool, const rs_allocator *a);
int			rs_pool_threads(const rs_pool *pool);

/*
 * Runs fn over [0, n) in chunks of `chunk` rows on all threads and returns
 * when every chunk is done, or RS_CANCELLED as soon as the running chunks
 * finish after rt->should_stop said so.
 */
rs_status	rs_pool_run(rs_pool *pool, const rs_runtime *rt, size_t n, size_t chunk,
						rs_task_fn fn, void *arg);

#endif
