/*
 * test_thread_pool.c - every row processed exactly once in whole chunks, by
 * workers numbered 0..threads-1; the host's callbacks only on the calling
 * thread; cancellation; reuse after a cancel; no leaks.
 */
#include "core/thread_pool.h"

#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 20011
#define MAX_THREADS 8

typedef struct job
{
	size_t		n;
	size_t		chunk;
	int			threads;
	unsigned	spin;			/* per-row busy work, to interleave threads */
	atomic_int	hits[MAX_ROWS];
	atomic_ullong sum;
	atomic_int	calls;
	atomic_int	bad_chunks;		/* not [k chunk, min((k+1) chunk, n)) */
	/* worker numbers: in range, and each used by one thread only */
	pthread_mutex_t lock;
	int			bad_workers;
	bool		owned[MAX_THREADS];
	pthread_t	owner[MAX_THREADS];
} job;

static job	the_job = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void
task(void *arg, int worker, size_t begin, size_t end)
{
	job		   *j = arg;

	atomic_fetch_add(&j->calls, 1);
	if (begin % j->chunk != 0 || begin >= end || end > j->n ||
		end != (begin + j->chunk < j->n ? begin + j->chunk : j->n))
		atomic_fetch_add(&j->bad_chunks, 1);

	pthread_mutex_lock(&j->lock);
	if (worker < 0 || worker >= j->threads)
		j->bad_workers++;
	else if (!j->owned[worker])
	{
		j->owned[worker] = true;
		j->owner[worker] = pthread_self();
	}
	else if (!pthread_equal(j->owner[worker], pthread_self()))
		j->bad_workers++;
	pthread_mutex_unlock(&j->lock);

	for (size_t row = begin; row < end && row < MAX_ROWS; row++)
	{
		for (unsigned k = 0; k < j->spin; k++)
			__asm__ volatile("" ::: "memory");
		atomic_fetch_add(&j->hits[row], 1);
		atomic_fetch_add(&j->sum, row);
	}
}

static void
reset(job *j, size_t n, size_t chunk, int threads)
{
	j->n = n;
	j->chunk = chunk;
	j->threads = threads;
	j->spin = 0;
	for (size_t r = 0; r < MAX_ROWS; r++)
		atomic_store(&j->hits[r], 0);
	atomic_store(&j->sum, 0);
	atomic_store(&j->calls, 0);
	atomic_store(&j->bad_chunks, 0);
	j->bad_workers = 0;
	memset(j->owned, 0, sizeof(j->owned));
}

/* Rows hit more than once, and rows never hit. */
static void
tally(job *j, size_t *twice, size_t *missed)
{
	*twice = *missed = 0;
	for (size_t r = 0; r < j->n; r++)
	{
		int			h = atomic_load(&j->hits[r]);

		*twice += h > 1;
		*missed += h == 0;
	}
}

static void
test_every_row_once(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	host		h = new_host(0);
	rs_runtime	rt = {a, should_stop, NULL, &h, 1};
	int			thread_counts[] = {1, 2, 3, 4, 8};
	size_t		sizes[] = {0, 1, 7, 1000, MAX_ROWS};
	size_t		chunks[] = {1, 3, 64, 1000000};

	for (size_t t = 0; t < sizeof(thread_counts) / sizeof(thread_counts[0]); t++)
	{
		int			threads = thread_counts[t];
		rs_pool    *pool = rs_pool_create(threads, &a);

		if (!CHECK(pool != NULL, "a pool of %d threads", threads))
			continue;
		CHECK(rs_pool_threads(pool) == threads, "rs_pool_threads %d", rs_pool_threads(pool));
		rt.threads = threads;
		/* the same pool runs many jobs in turn */
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++)
			{
				size_t		n = sizes[s],
							chunk = chunks[k],
							twice,
							missed;
				rs_status	status;

				reset(&the_job, n, chunk, threads);
				status = rs_pool_run(pool, &rt, n, chunk, task, &the_job);
				tally(&the_job, &twice, &missed);
				CHECK(status == RS_OK, "threads %d n %zu chunk %zu: status %d",
					  threads, n, chunk, (int) status);
				CHECK(twice == 0 && missed == 0,
					  "threads %d n %zu chunk %zu: %zu rows twice, %zu never",
					  threads, n, chunk, twice, missed);
				CHECK(atomic_load(&the_job.sum) == (unsigned long long) n * (n ? n - 1 : 0) / 2,
					  "threads %d n %zu chunk %zu: row sum", threads, n, chunk);
				CHECK(atomic_load(&the_job.calls) == (int) ((n + chunk - 1) / chunk),
					  "threads %d n %zu chunk %zu: %d calls", threads, n, chunk,
					  atomic_load(&the_job.calls));
				CHECK(atomic_load(&the_job.bad_chunks) == 0, "threads %d n %zu chunk %zu: "
					  "chunk boundaries", threads, n, chunk);
				CHECK(the_job.bad_workers == 0, "threads %d n %zu chunk %zu: "
					  "worker numbers", threads, n, chunk);
			}
		rs_pool_destroy(pool, &a);
	}
	CHECK(!h.wrong_thread, "should_stop was called from a worker thread");
	CHECK(h.polls > 0, "should_stop was never polled");
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);

	/* threads below 1 mean one */
	{
		rs_pool    *pool = rs_pool_create(0, &a);

		if (CHECK(pool != NULL, "a pool of 0 threads"))
		{
			CHECK(rs_pool_threads(pool) == 1, "threads 0 gives %d", rs_pool_threads(pool));
			rs_pool_destroy(pool, &a);
		}
	}
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

static void
test_cancel(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	host		h = new_host(0);
	rs_runtime	rt = {a, should_stop, NULL, &h, 1};
	size_t		twice,
				missed;
	rs_status	status;
	int			cancelled = 0;

	/* alone, the calling thread stops exactly at the poll that says so */
	{
		rs_pool    *pool = rs_pool_create(1, &a);

		for (int stop_at = 1; stop_at <= 12; stop_at++)
		{
			h.polls = 0;
			h.stop_at = stop_at;
			reset(&the_job, 1000, 100, 1);
			status = rs_pool_run(pool, &rt, 1000, 100, task, &the_job);
			tally(&the_job, &twice, &missed);
			if (stop_at <= 10)
			{
				CHECK(status == RS_CANCELLED, "stop at poll %d: status %d", stop_at, (int) status);
				CHECK(atomic_load(&the_job.calls) == stop_at - 1,
					  "stop at poll %d: %d chunks ran", stop_at, atomic_load(&the_job.calls));
				CHECK(h.polls == stop_at, "polled %d times after a stop at %d", h.polls, stop_at);
			}
			else
			{
				/*
				 * All ten chunks ran, then the eleventh poll: a stop it
				 * reports still cancels (the host raises its error), a
				 * later one is never asked.
				 */
				CHECK(status == (stop_at == 11 ? RS_CANCELLED : RS_OK),
					  "stop at poll %d: status %d", stop_at, (int) status);
				CHECK(missed == 0 && atomic_load(&the_job.calls) == 10,
					  "stop at poll %d: %zu rows missed, %d chunks ran", stop_at, missed,
					  atomic_load(&the_job.calls));
				CHECK(h.polls == 11, "stop at poll %d: polled %d times", stop_at, h.polls);
			}
			CHECK(twice == 0, "stop at poll %d: %zu rows twice", stop_at, twice);
		}
		rs_pool_destroy(pool, &a);
	}

	/*
	 * With workers: each row at most once, and the pool works again
	 * afterwards.  How much ran before the stop depends on scheduling.
	 */
	for (int threads = 2; threads <= 4; threads++)
	{
		rs_pool    *pool = rs_pool_create(threads, &a);

		rt.threads = threads;
		for (int stop_at = 1; stop_at <= 6; stop_at++)
		{
			h.polls = 0;
			h.stop_at = stop_at;
			reset(&the_job, MAX_ROWS, 7, threads);
			the_job.spin = 200;
			status = rs_pool_run(pool, &rt, MAX_ROWS, 7, task, &the_job);
			tally(&the_job, &twice, &missed);
			/* the caller may be descheduled while the workers finish everything */
			if (h.polls >= stop_at)
				CHECK(status == RS_CANCELLED, "threads %d stop at %d: status %d", threads,
					  stop_at, (int) status);
			else
				CHECK(status == RS_OK && missed == 0,
					  "threads %d, %d polls, no stop: status %d, %zu missed", threads,
					  h.polls, (int) status, missed);
			cancelled += status == RS_CANCELLED;
			CHECK(twice == 0, "threads %d stop at %d: %zu rows twice", threads, stop_at, twice);
			CHECK(atomic_load(&the_job.bad_chunks) == 0, "chunk boundaries after a cancel");

			/* no stop left over from the cancelled job */
			h.polls = 0;
			h.stop_at = 0;
			reset(&the_job, MAX_ROWS, 7, threads);
			status = rs_pool_run(pool, &rt, MAX_ROWS, 7, task, &the_job);
			tally(&the_job, &twice, &missed);
			CHECK(status == RS_OK && twice == 0 && missed == 0,
				  "threads %d: the run after a cancel: status %d, %zu twice, %zu missed",
				  threads, (int) status, twice, missed);
		}
		rs_pool_destroy(pool, &a);
	}
	CHECK(cancelled > 0, "no run with workers was ever cancelled");
	CHECK(!h.wrong_thread, "should_stop was called from a worker thread");

	/* without a should_stop callback nothing is cancelled */
	{
		rs_runtime	plain = {a, NULL, NULL, NULL, 2};
		rs_pool    *pool = rs_pool_create(2, &a);

		reset(&the_job, 5000, 10, 2);
		status = rs_pool_run(pool, &plain, 5000, 10, task, &the_job);
		tally(&the_job, &twice, &missed);
		CHECK(status == RS_OK && twice == 0 && missed == 0, "a run without should_stop");
		rs_pool_destroy(pool, &a);
	}
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

static void
test_create_without_memory(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	long		calls;
	rs_pool    *pool;

	pool = rs_pool_create(3, &a);
	calls = c.calls;
	rs_pool_destroy(pool, &a);
	for (long k = 0; k < calls; k++)
	{
		c.calls = 0;
		c.fail_at = k;
		pool = rs_pool_create(3, &a);
		CHECK(pool == NULL, "allocation %ld failing still gave a pool", k);
		rs_pool_destroy(pool, &a);
		CHECK(c.outstanding == 0, "allocation %ld failing: %ld outstanding", k, c.outstanding);
	}
}

int
main(void)
{
	test_every_row_once();
	test_cancel();
	test_create_without_memory();
	return unit_done();
}
