/*
 * pg_runtime.c - the engine's runtime inside a backend: memory from a memory
 * context, cancellation from the interrupt flags, progress as NOTICEs, and
 * engine statuses turned into errors.
 */
#include "recsys.h"

#include <math.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/memutils.h"

static void *
context_alloc(void *ctx, size_t size)
{
	/* NO_OOM: the engine reports running out of memory as a status */
	void	   *ptr = MemoryContextAllocExtended((MemoryContext) ctx, size,
												 MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);

	if (ptr && size >= RECSYS_HUGE_PAGES_FROM)
		rs_advise_huge_pages(ptr, size);
	return ptr;
}

/*
 * A large chunk is a malloc block of its own, so repalloc lets the C
 * library move its pages (mremap) rather than copy them.  Before
 * PostgreSQL 16 there is no repalloc that returns NULL: running out of
 * memory raises the usual ERROR, which is fine on the backend's thread,
 * the only one that calls an allocator.
 */
static void *
context_realloc(void *ctx, void *ptr, size_t size)
{
	void	   *grown;

	(void) ctx;
#if PG_VERSION_NUM >= 160000
	grown = repalloc_extended(ptr, size, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
#else
	grown = repalloc_huge(ptr, size);
#endif
	if (grown && size >= RECSYS_HUGE_PAGES_FROM)
		rs_advise_huge_pages(grown, size);
	return grown;
}

static void
context_free(void *ctx, void *ptr)
{
	(void) ctx;
	pfree(ptr);
}

/*
 * Called on the backend's own thread between chunks.  Only looks at the
 * flags: the error is raised by CHECK_FOR_INTERRUPTS once the workers stopped.
 */
static bool
cancel_requested(void *arg)
{
	(void) arg;
	return QueryCancelPending || ProcDiePending;
}

/* What a verbose training reports against: its own clock and length. */
typedef struct progress_clock
{
	double		started;		/* the fit's start */
	double		last;			/* the previous report */
	int			iterations;		/* iterations or epochs the fit will run */
} progress_clock;

/*
 * A NOTICE per iteration or epoch: its loss and time, the time so far and
 * an estimate of what is left.  Times come from this clock, the same way
 * for every trainer.
 */
static void
report_progress(void *arg, int iteration, double loss, double seconds)
{
	progress_clock *clock = arg;
	double		now = rs_now();
	double		elapsed = now - clock->started;
	int			left = Max(clock->iterations - iteration, 0);

	(void) seconds;
	/*
	 * A NOTICE processes interrupts when it is sent: a cancel would then
	 * leave the fit from here, past the cleanup of its threads.  Held, it
	 * waits for the fit's next poll, which stops the fit properly.
	 */
	HOLD_INTERRUPTS();
	if (isnan(loss))
		ereport(NOTICE,
				(errmsg("fitted in %.3f s (one pass, no loss to report)", now - clock->last)));
	else
		ereport(NOTICE,
				(errmsg("iteration %d of %d: loss %.6g, %.3f s; %.1f s elapsed, about %.1f s left",
						iteration, clock->iterations, loss, now - clock->last, elapsed,
						iteration > 0 ? elapsed / iteration * left : 0.0)));
	RESUME_INTERRUPTS();
	clock->last = now;
}

rs_allocator
recsys_context_allocator(MemoryContext context)
{
	rs_allocator alloc = {context_alloc, context_free, context, context_realloc};

	return alloc;
}

void
recsys_runtime_init(rs_runtime *rt, MemoryContext context, int threads, bool verbose,
					int iterations)
{
	memset(rt, 0, sizeof(*rt));
	rt->alloc = recsys_context_allocator(context);
	rt->should_stop = cancel_requested;
	rt->threads = recsys_resolve_threads(threads);
	if (verbose)
	{
		progress_clock *clock = MemoryContextAllocZero(context, sizeof(progress_clock));

		clock->iterations = iterations;
		rt->progress = report_progress;
		rt->arg = clock;
		recsys_runtime_start_clock(rt);
	}
}

/* Starts the progress clock again: the fit itself begins now. */
void
recsys_runtime_start_clock(rs_runtime *rt)
{
	progress_clock *clock = rt->arg;

	if (rt->progress)
		clock->started = clock->last = rs_now();
}

/*
 * The "threads" option, else recsys.threads, else every online core; at most
 * recsys.max_threads.  A request above it is lowered with a NOTICE: results
 * do not depend on the number of threads, only the time does.
 */
int
recsys_resolve_threads(int requested)
{
	int			threads = requested > 0 ? requested : recsys_threads;

	if (threads <= 0)
	{
		long		cores = sysconf(_SC_NPROCESSORS_ONLN);

		return cores > 0 ? (int) Min(cores, recsys_max_threads) : 1;
	}
	if (threads > recsys_max_threads)
	{
		ereport(NOTICE,
				(errmsg("training uses %d threads, not %d", recsys_max_threads, threads),
				 errdetail("recsys.max_threads is %d.", recsys_max_threads),
				 errhint("A superuser can raise recsys.max_threads.")));
		threads = recsys_max_threads;
	}
	return threads;
}

void
recsys_raise_status(rs_status status, const char *what)
{
	switch (status)
	{
		case RS_OK:
			return;
		case RS_CANCELLED:
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling %s due to user request", what)));
			break;
		case RS_NO_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory during %s", what)));
			break;
		case RS_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct users or items for %s", what),
					 errdetail("At most %d distinct users and %d distinct items are supported.",
							   INT32_MAX, INT32_MAX)));
			break;
		case RS_NUMERICAL_FAILURE:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s did not converge to finite factors", what),
					 errhint("Raise \"regularization\" or check the input values for extreme magnitudes.")));
			break;
		case RS_UNSUPPORTED:
			/* callers check the kind first (recsys_require_operation) */
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s is not supported for this kind of model", what)));
			break;
	}
}

/* The aggregate's memory context; an error outside an aggregate call. */
MemoryContext
recsys_aggregate_context(FunctionCallInfo fcinfo)
{
	MemoryContext context;

	if (!AggCheckCallContext(fcinfo, &context))
		elog(ERROR, "recsys aggregate support function called in non-aggregate context");
	return context;
}

/* A partial aggregate state must fit one bytea to reach the leader. */
void
recsys_check_serialized_size(Size size)
{
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many training rows for a parallel worker to pass on"),
				 errhint("Disable parallel aggregation with max_parallel_workers_per_gather = 0.")));
}
