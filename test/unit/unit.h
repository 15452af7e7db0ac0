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

#include "core/model.h"
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

/*
 * The drivers below run a trainer's fit many times through a callback of
 * the test's: one fit on threads threads, with host h (NULL for none) and
 * allocations through c, that frees what it made (through c) when it
 * returns RS_OK.  what names the trainer or case in every message.
 */
typedef rs_status (*unit_fit_fn) (void *ctx, int threads, host *h, counter *c);

/*
 * A trainer's own checks on a 1-thread fit with a stop at poll stop_at
 * (past the last poll of full, the uncancelled fit's host, it ran to the
 * end and returned status).
 */
typedef void (*unit_stop_fn) (void *ctx, const char *what, const host *full, const host *h,
							  int stop_at, rs_status status);

/* A unit_stop_fn for a 3-epoch fit cancelled on its own thread: it reports fewer than 3 epochs. */
static inline void
unit_stops_within_3_epochs(void *ctx, const char *what, const host *full, const host *h,
						   int stop_at, rs_status status)
{
	(void) ctx;
	(void) status;
	if (stop_at <= full->polls)
		CHECK(h->reports < 3, "%s: stop at poll %d: %d epochs reported", what, stop_at,
			  h->reports);
}

/* A unit_stop_fn: a cancelled fit stops at that poll, having reported nothing. */
static inline void
unit_stops_at_once(void *ctx, const char *what, const host *full, const host *h, int stop_at,
				   rs_status status)
{
	(void) ctx;
	(void) status;
	if (stop_at <= full->polls)
		CHECK(h->reports == 0 && h->polls == stop_at, "%s: stop at poll %d: %d reports, "
			  "%d polls", what, stop_at, h->reports, h->polls);
}

/*
 * A cancel at every poll.  Alone the calling thread polls a fixed number of
 * times (min_polls or more): a stop at any of them cancels and frees
 * everything; one past the last, the fit ends.  With workers on threads
 * threads, a stop at every stride-th poll cancels if it was reached and
 * otherwise lets the fit end, and leaks nothing either way; the stop at the
 * first poll always cancels.  A cancelled fit polls no more after the poll
 * that stopped it.  No host callback and no allocation runs on a worker
 * thread.  Returns the number of polls of the uncancelled fit (0 if it
 * failed).
 */
static inline int
unit_cancel_at_every_poll(const char *what, unit_fit_fn fit, unit_stop_fn stopped, void *ctx,
						  int min_polls, int threads, int stride)
{
	counter		c = new_counter();
	host		full = new_host(0),
				h;
	rs_status	status;
	bool		wrong_thread = false;

	status = fit(ctx, 1, &full, &c);
	if (!CHECK(status == RS_OK, "%s: uncancelled fit: status %d", what, (int) status))
		return 0;
	CHECK(full.polls >= min_polls, "%s: only %d polls in an uncancelled fit, want %d or more",
		  what, full.polls, min_polls);
	for (int stop_at = 1; stop_at <= full.polls + 1; stop_at++)
	{
		h = new_host(stop_at);
		status = fit(ctx, 1, &h, &c);
		if (stop_at <= full.polls)
			CHECK(status == RS_CANCELLED && h.polls == stop_at,
				  "%s: stop at poll %d of %d: status %d after %d polls", what, stop_at,
				  full.polls, (int) status, h.polls);
		else
			CHECK(status == RS_OK, "%s: a stop past the last poll: status %d", what,
				  (int) status);
		if (stopped)
			stopped(ctx, what, &full, &h, stop_at, status);
		CHECK(c.outstanding == 0, "%s: stop at poll %d: %ld allocations outstanding", what,
			  stop_at, c.outstanding);
		wrong_thread |= h.wrong_thread;
	}
	for (int stop_at = 1; stop_at <= full.polls; stop_at += stride)
	{
		h = new_host(stop_at);
		status = fit(ctx, threads, &h, &c);
		/* a stop that was reached cancels, and is the last poll */
		CHECK(h.polls >= stop_at ? status == RS_CANCELLED && h.polls == stop_at :
			  status == RS_OK, "%s: threads %d, stop at poll %d, %d polls: status %d", what,
			  threads, stop_at, h.polls, (int) status);
		/* else a fit that never polled with workers would pass as finished */
		if (stop_at == 1)
			CHECK(status == RS_CANCELLED, "%s: threads %d: a stop at the first poll did not "
				  "cancel (%d polls, status %d)", what, threads, h.polls, (int) status);
		CHECK(c.outstanding == 0, "%s: threads %d, stop at poll %d: %ld outstanding", what,
			  threads, stop_at, c.outstanding);
		CHECK(!h.wrong_thread, "%s: threads %d, stop at poll %d: a host callback ran on a "
			  "worker thread", what, threads, stop_at);
	}
	CHECK(!wrong_thread && !full.wrong_thread && !c.wrong_thread,
		  "%s: a host callback or an allocation ran on a worker thread", what);
	return full.polls;
}

/*
 * Every allocation failing in turn: a fit on threads threads takes
 * min_calls allocations or more, and with any one of them failing it
 * returns RS_NO_MEMORY and leaves nothing outstanding.  Returns the number
 * of allocations a fit takes (0 if the fit failed).
 */
static inline long
unit_fail_each_allocation(const char *what, unit_fit_fn fit, void *ctx, int threads,
						  long min_calls)
{
	counter		c = new_counter();
	rs_status	status;
	long		calls;

	status = fit(ctx, threads, NULL, &c);
	if (!CHECK(status == RS_OK, "%s: fit: status %d", what, (int) status))
		return 0;
	calls = c.calls;
	CHECK(calls >= min_calls, "%s: a fit takes %ld allocations, want %ld or more", what, calls,
		  min_calls);
	for (long k = 0; k < calls; k++)
	{
		c.calls = 0;
		c.fail_at = k;
		status = fit(ctx, threads, NULL, &c);
		CHECK(status == RS_NO_MEMORY, "%s: allocation %ld of %ld failing: status %d", what, k,
			  calls, (int) status);
		CHECK(c.outstanding == 0, "%s: allocation %ld of %ld failing: %ld outstanding", what, k,
			  calls, c.outstanding);
	}
	return calls;
}

#define UNIT_DECODED_HISTORIES 16

/*
 * rs_model_decode, then the compact training history expanded as a server
 * does: the expansion lives until UNIT_DECODED_HISTORIES later decodes.
 */
static inline const char *
unit_decode(const void *buf, size_t len, rs_model *m)
{
	static void *histories[UNIT_DECODED_HISTORIES];
	static int	next;
	const char *reason = rs_model_decode(buf, len, m);
	size_t		expansion;

	if (reason != NULL || (expansion = rs_model_history_expansion(m)) == 0)
		return reason;
	free(histories[next]);
	histories[next] = malloc(expansion);
	if (histories[next] == NULL)
		abort();
	rs_model_expand_history(m, histories[next]);
	next = (next + 1) % UNIT_DECODED_HISTORIES;
	return NULL;
}

/*
 * A decoded model moved with its buffer and its expanded history: decoding
 * buf, copying both elsewhere and rebasing gives exactly what decoding the
 * copy gives, so rs_model_rebase misses no pointer field.
 */
static inline void
unit_check_rebase(const void *buf, size_t len, const char *what)
{
	void	   *one = malloc(len),
			   *two = malloc(len);
	rs_model	a,
				b;
	size_t		expansion;

	memcpy(one, buf, len);
	memcpy(two, buf, len);
	if (CHECK(rs_model_decode(one, len, &a) == NULL && rs_model_decode(two, len, &b) == NULL,
			  "%s: rebase: the copies do not decode", what))
	{
		rs_model_rebase(&a, one, len, two);
		CHECK(memcmp(&a, &b, sizeof(rs_model)) == 0, "%s: rebase: a pointer was not moved", what);
		if ((expansion = rs_model_history_expansion(&a)) > 0)
		{
			void	   *first = malloc(expansion),
					   *second = malloc(expansion);

			rs_model_expand_history(&a, first);
			rs_model_expand_history(&b, second);
			rs_model_rebase(&a, first, expansion, second);
			CHECK(memcmp(&a, &b, sizeof(rs_model)) == 0,
				  "%s: rebase: a pointer into the expanded history was not moved", what);
			free(first);
			free(second);
		}
	}
	free(one);
	free(two);
}

#endif
