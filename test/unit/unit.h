/*
 * unit.h - a minimal assertion harness for the engine's unit tests.
 *
 *   CHECK(cond, fmt, ...)     counts a check; on failure prints where and why
 *   CHECK_NEAR(a, b, tol)     |a - b| <= tol (NaN never passes)
 *   unit_done()               prints "N passed, M failed", returns the exit code
 *
 * Both checks evaluate to whether they passed, so a test can stop early.
 */
#ifndef RECSYS_UNIT_H
#define RECSYS_UNIT_H

#include "core/runtime.h"

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_MAX_REPORTS 100	/* failures printed before going quiet */

static long unit_checks;
static long unit_failures;

__attribute__((format(printf, 4, 5)))
static inline bool
unit_check(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list		ap;

	unit_checks++;
	if (ok)
		return true;
	if (++unit_failures <= UNIT_MAX_REPORTS)
	{
		fprintf(stderr, "%s:%d: FAILED: ", file, line);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	return false;
}

#define CHECK(cond, ...) unit_check((cond) ? true : false, __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_NEAR(a, b, tol) \
	unit_check(fabs((double) (a) - (double) (b)) <= (double) (tol), __FILE__, __LINE__, \
			   "%s = %.9g, %s = %.9g, differ by more than %g", \
			   #a, (double) (a), #b, (double) (b), (double) (tol))

static inline int
unit_done(void)
{
	if (unit_failures > UNIT_MAX_REPORTS)
		fprintf(stderr, "(%ld further failures not shown)\n",
				unit_failures - UNIT_MAX_REPORTS);
	printf("%ld passed, %ld failed\n", unit_checks - unit_failures, unit_failures);
	fflush(stdout);
	return unit_failures ? 1 : 0;
}

/*
 * An allocator for the engine that counts what is outstanding, can fail on
 * request (the fail_at-th call, counting from 0; -1 never), and notes a call
 * from any thread but its owner's.
 */
typedef struct counter
{
	long		outstanding;
	long		calls;
	long		fail_at;
	pthread_t	owner;
	bool		wrong_thread;
} counter;

/* A counter owned by the calling thread that never fails. */
static inline counter
new_counter(void)
{
	return (counter) {0, 0, -1, pthread_self(), false};
}

static inline void *
counting_alloc(void *ctx, size_t size)
{
	counter    *c = ctx;

	if (!pthread_equal(c->owner, pthread_self()))
		c->wrong_thread = true;
	if (c->calls++ == c->fail_at)
		return NULL;
	c->outstanding++;
	return malloc(size);
}

/* The optional realloc of an allocator, counted and failing like the rest. */
static inline void *
counting_realloc(void *ctx, void *ptr, size_t size)
{
	counter    *c = ctx;

	if (!pthread_equal(c->owner, pthread_self()))
		c->wrong_thread = true;
	if (c->calls++ == c->fail_at)
		return NULL;
	return realloc(ptr, size);
}

static inline void
counting_free(void *ctx, void *ptr)
{
	counter    *c = ctx;

	if (!pthread_equal(c->owner, pthread_self()))
		c->wrong_thread = true;
	c->outstanding--;
	free(ptr);
}

/*
 * The host of a training run as the engine sees it: counts should_stop
 * polls (stopping at stop_at, 0 never), records each progress report, and
 * notes a callback on any thread but its owner's.
 */
#define UNIT_MAX_PROGRESS 256

typedef struct host
{
	pthread_t	self;
	int			polls;
	int			stop_at;
	bool		wrong_thread;
	int			reports;
	int			iteration[UNIT_MAX_PROGRESS];
	double		loss[UNIT_MAX_PROGRESS];
	double		seconds[UNIT_MAX_PROGRESS];
	int			polls_at_report[UNIT_MAX_PROGRESS];	/* polls before each report */
} host;

static inline host
new_host(int stop_at)
{
	host		h;

	memset(&h, 0, sizeof(h));
	h.self = pthread_self();
	h.stop_at = stop_at;
	return h;
}

static inline bool
should_stop(void *arg)
{
	host	   *h = arg;

	if (!pthread_equal(h->self, pthread_self()))
		h->wrong_thread = true;
	h->polls++;
	return h->stop_at > 0 && h->polls >= h->stop_at;
}

static inline void
progress(void *arg, int iteration, double loss, double seconds)
{
	host	   *h = arg;

	if (!pthread_equal(h->self, pthread_self()))
		h->wrong_thread = true;
	if (h->reports < UNIT_MAX_PROGRESS)
	{
		h->iteration[h->reports] = iteration;
		h->loss[h->reports] = loss;
		h->seconds[h->reports] = seconds;
		h->polls_at_report[h->reports] = h->polls;
	}
	h->reports++;
}

/*
 * The runtime a trainer gets in a test: allocations through alloc, and with
 * a host h its polls and progress reports (none without one).
 */
static inline rs_runtime
unit_runtime(rs_allocator alloc, host *h, int threads)
{
	rs_runtime	rt;

	memset(&rt, 0, sizeof(rt));
	rt.alloc = alloc;
	rt.should_stop = h ? should_stop : NULL;
	rt.progress = h ? progress : NULL;
	rt.arg = h;
	rt.threads = threads;
	return rt;
}

#endif
