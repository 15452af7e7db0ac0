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

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

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

static inline void
counting_free(void *ctx, void *ptr)
{
	counter    *c = ctx;

	if (!pthread_equal(c->owner, pthread_self()))
		c->wrong_thread = true;
	c->outstanding--;
	free(ptr);
}

#endif
