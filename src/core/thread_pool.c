/*
 * thread_pool.c - workers wait for a job, take chunks from an atomic
 * counter, and report back when the job runs dry.
 *
 * Waking and reporting use POSIX semaphores, one per worker to wake it and
 * one the workers post when done, rather than condition variables: the C
 * library of Debian 12 (glibc 2.36) can hang in pthread_cond_broadcast
 * (glibc bug 25847), which left a backend waiting forever, deaf to
 * cancellation.
 *
 * The semaphores are only doorbells.  What a thread waits for is a count:
 * the job number a worker has not run yet, the workers that finished the
 * current job.  Waits are bounded and look at the count again, so a wake-up
 * lost for any reason costs a fraction of a second, never a backend that
 * waits forever.  A post that comes after its count was seen stays in the
 * semaphore and only makes a later wait look at the count once more.
 */
#include "thread_pool.h"

#include "fp_mode.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

typedef struct rs_job
{
	rs_task_fn	fn;
	void	   *arg;
	size_t		n;
	size_t		chunk;
} rs_job;

typedef struct rs_worker
{
	rs_pool    *pool;
	int			index;
	pthread_t	thread;
	sem_t		wake;			/* posted once per job, and at shutdown */
	size_t		jobs_run;		/* jobs this worker has run */
} rs_worker;

struct rs_pool
{
	int			threads;
	rs_worker  *workers;		/* threads - 1 of them */
	int			started;
	sem_t		done;			/* posted by each worker that finished a job */
	atomic_bool shutdown;
	atomic_size_t jobs;			/* jobs handed out so far */
	atomic_int	finished;		/* workers done with the current job */
	rs_job		job;
	atomic_size_t next;			/* next row to hand out */
	atomic_bool stop;
};

/* A doorbell's longest silence before the count is looked at again */
#define RECHECK_NS 100000000L

/* Waits for a post on sem, at most RECHECK_NS (or until a signal) */
static void
wait_briefly(sem_t *sem)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += RECHECK_NS;
	if (until.tv_nsec >= 1000000000L)
	{
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	(void) sem_timedwait(sem, &until);
}

/* Takes and runs chunks until none are left or the job is stopped. */
static void
work(rs_pool *pool, int worker)
{
	const rs_job *job = &pool->job;

	while (!atomic_load_explicit(&pool->stop, memory_order_relaxed))
	{
		size_t		begin = atomic_fetch_add(&pool->next, job->chunk);

		if (begin >= job->n)
			break;
		job->fn(job->arg, worker, begin,
				begin + job->chunk < job->n ? begin + job->chunk : job->n);
	}
}

static void *
worker_main(void *arg)
{
	rs_worker  *self = arg;
	rs_pool    *pool = self->pool;

	/* the engine's mode for the thread's whole life: it never runs host code */
	rs_fp_flush_subnormals();
	for (;;)
	{
		/* the job (or shutdown) was written before its number was raised */
		while (!atomic_load(&pool->shutdown) && atomic_load(&pool->jobs) == self->jobs_run)
			wait_briefly(&self->wake);
		if (atomic_load(&pool->shutdown))
			return NULL;
		self->jobs_run++;
		work(pool, self->index);
		atomic_fetch_add(&pool->finished, 1);
		sem_post(&pool->done);
	}
}

rs_pool *
rs_pool_create(int threads, const rs_allocator *a)
{
	rs_pool    *pool = rs_alloc(a, sizeof(rs_pool));
	sigset_t	all,
				old;

	if (!pool)
		return NULL;
	memset(pool, 0, sizeof(*pool));
	pool->threads = threads < 1 ? 1 : threads;
	pool->workers = rs_alloc(a, sizeof(rs_worker) * (size_t) pool->threads);
	if (!pool->workers)
	{
		rs_free(a, pool);
		return NULL;
	}
	sem_init(&pool->done, 0, 0);
	atomic_init(&pool->next, 0);
	atomic_init(&pool->stop, false);
	atomic_init(&pool->shutdown, false);
	atomic_init(&pool->jobs, 0);
	atomic_init(&pool->finished, 0);

	/* Threads inherit the creator's signal mask: block all while creating. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int w = 1; w < pool->threads; w++)
	{
		rs_worker  *worker = &pool->workers[pool->started];

		worker->pool = pool;
		worker->index = w;
		worker->jobs_run = 0;
		sem_init(&worker->wake, 0, 0);
		if (pthread_create(&worker->thread, NULL, worker_main, worker) != 0)
		{
			sem_destroy(&worker->wake);
			break;
		}
		pool->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (pool->started != pool->threads - 1)
	{
		rs_pool_destroy(pool, a);
		return NULL;
	}
	return pool;
}

void
rs_pool_destroy(rs_pool *pool, const rs_allocator *a)
{
	if (!pool)
		return;
	atomic_store(&pool->shutdown, true);
	for (int w = 0; w < pool->started; w++)
		sem_post(&pool->workers[w].wake);
	for (int w = 0; w < pool->started; w++)
	{
		pthread_join(pool->workers[w].thread, NULL);
		sem_destroy(&pool->workers[w].wake);
	}
	sem_destroy(&pool->done);
	rs_free(a, pool->workers);
	rs_free(a, pool);
}

int
rs_pool_threads(const rs_pool *pool)
{
	return pool->threads;
}

rs_status
rs_pool_run(rs_pool *pool, const rs_runtime *rt, size_t n, size_t chunk,
			rs_task_fn fn, void *arg)
{
	bool		cancelled = false;

	if (chunk == 0)
		chunk = 1;
	pool->job = (rs_job) {fn, arg, n, chunk};
	atomic_store(&pool->next, 0);
	atomic_store(&pool->stop, false);
	atomic_store(&pool->finished, 0);
	atomic_fetch_add(&pool->jobs, 1);
	for (int w = 0; w < pool->started; w++)
		sem_post(&pool->workers[w].wake);

	/* The calling thread takes chunks too, polling for cancel between them. */
	for (;;)
	{
		size_t		begin;

		if (rt->should_stop && rt->should_stop(rt->arg))
		{
			atomic_store(&pool->stop, true);
			cancelled = true;
			break;
		}
		begin = atomic_fetch_add(&pool->next, chunk);
		if (begin >= n)
			break;
		fn(arg, 0, begin, begin + chunk < n ? begin + chunk : n);
	}

	/* every worker reports once per job, stopped or not */
	while (atomic_load(&pool->finished) < pool->started)
		wait_briefly(&pool->done);
	return cancelled ? RS_CANCELLED : RS_OK;
}
