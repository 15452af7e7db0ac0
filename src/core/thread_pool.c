/*
 * thread_pool.c - workers wait on a condition variable for a job, take
 * chunks from an atomic counter, and report back when the job runs dry.
 */
#include "thread_pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

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
} rs_worker;

struct rs_pool
{
	int			threads;
	rs_worker  *workers;		/* threads - 1 of them */
	int			started;
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* a new job, or shutdown */
	pthread_cond_t done;		/* a worker finished its part */
	uint64_t	generation;		/* bumped per job */
	int			busy;			/* workers still in the current job */
	bool		shutdown;
	rs_job		job;
	atomic_size_t next;			/* next row to hand out */
	atomic_bool stop;
};

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
	uint64_t	seen = 0;

	for (;;)
	{
		pthread_mutex_lock(&pool->lock);
		while (!pool->shutdown && pool->generation == seen)
			pthread_cond_wait(&pool->wake, &pool->lock);
		if (pool->shutdown)
		{
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		seen = pool->generation;
		pthread_mutex_unlock(&pool->lock);

		work(pool, self->index);

		pthread_mutex_lock(&pool->lock);
		if (--pool->busy == 0)
			pthread_cond_signal(&pool->done);
		pthread_mutex_unlock(&pool->lock);
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
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pthread_cond_init(&pool->done, NULL);
	atomic_init(&pool->next, 0);
	atomic_init(&pool->stop, false);

	/* Threads inherit the creator's signal mask: block all while creating. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int w = 1; w < pool->threads; w++)
	{
		rs_worker  *worker = &pool->workers[pool->started];

		worker->pool = pool;
		worker->index = w;
		if (pthread_create(&worker->thread, NULL, worker_main, worker) != 0)
			break;
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
	pthread_mutex_lock(&pool->lock);
	pool->shutdown = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (int w = 0; w < pool->started; w++)
		pthread_join(pool->workers[w].thread, NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->wake);
	pthread_cond_destroy(&pool->done);
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
	pthread_mutex_lock(&pool->lock);
	pool->job = (rs_job) {fn, arg, n, chunk};
	atomic_store(&pool->next, 0);
	atomic_store(&pool->stop, false);
	pool->busy = pool->started;
	pool->generation++;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);

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

	pthread_mutex_lock(&pool->lock);
	while (pool->busy > 0)
		pthread_cond_wait(&pool->done, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
	return cancelled ? RS_CANCELLED : RS_OK;
}
