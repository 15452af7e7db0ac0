/*
 * fp_mode.c - flushing subnormals while the engine computes (fp_mode.h).
 */
#include "fp_mode.h"

#include <string.h>

#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>

#define FLUSH_BITS 0x8040u		/* MXCSR flush-to-zero (15) and denormals-are-zero (6) */

rs_fp_mode
rs_fp_flush_subnormals(void)
{
	rs_fp_mode	mode = _mm_getcsr();

	_mm_setcsr(mode | FLUSH_BITS);
	return mode;
}

void
rs_fp_restore(rs_fp_mode mode)
{
	_mm_setcsr(mode);
}

bool
rs_fp_flushing(void)
{
	return (_mm_getcsr() & FLUSH_BITS) == FLUSH_BITS;
}
#else
/* elsewhere the engine computes in the host's mode */
rs_fp_mode
rs_fp_flush_subnormals(void)
{
	return 0;
}

void
rs_fp_restore(rs_fp_mode mode)
{
	(void) mode;
}

bool
rs_fp_flushing(void)
{
	return false;
}
#endif

/*
 * The callbacks handed to the engine: each runs the host's own in the host's
 * mode and flushes again when it returns.
 */
static void *
host_alloc(void *ctx, size_t size)
{
	rs_fp_scope *s = ctx;
	rs_fp_mode	engine = rs_fp_flush_subnormals();
	void	   *ptr;

	rs_fp_restore(s->host_mode);
	ptr = s->host_alloc->alloc(s->host_alloc->ctx, size);
	rs_fp_restore(engine);
	return ptr;
}

static void *
host_realloc(void *ctx, void *old, size_t size)
{
	rs_fp_scope *s = ctx;
	rs_fp_mode	engine = rs_fp_flush_subnormals();
	void	   *ptr;

	rs_fp_restore(s->host_mode);
	ptr = s->host_alloc->realloc(s->host_alloc->ctx, old, size);
	rs_fp_restore(engine);
	return ptr;
}

static void
host_free(void *ctx, void *ptr)
{
	rs_fp_scope *s = ctx;
	rs_fp_mode	engine = rs_fp_flush_subnormals();

	rs_fp_restore(s->host_mode);
	s->host_alloc->free(s->host_alloc->ctx, ptr);
	rs_fp_restore(engine);
}

static bool
host_should_stop(void *arg)
{
	rs_fp_scope *s = arg;
	rs_fp_mode	engine = rs_fp_flush_subnormals();
	bool		stop;

	rs_fp_restore(s->host_mode);
	stop = s->host->should_stop(s->host->arg);
	rs_fp_restore(engine);
	return stop;
}

static void
host_progress(void *arg, int iteration, double loss, double seconds)
{
	rs_fp_scope *s = arg;
	rs_fp_mode	engine = rs_fp_flush_subnormals();

	rs_fp_restore(s->host_mode);
	s->host->progress(s->host->arg, iteration, loss, seconds);
	rs_fp_restore(engine);
}

const rs_allocator *
rs_fp_scope_begin_alloc(rs_fp_scope *s, const rs_allocator *a)
{
	memset(s, 0, sizeof(*s));
	s->host_alloc = a;
	s->runtime.alloc = (rs_allocator) {host_alloc, host_free, s,
									   a->realloc ? host_realloc : NULL};
	s->host_mode = rs_fp_flush_subnormals();
	return &s->runtime.alloc;
}

const rs_runtime *
rs_fp_scope_begin(rs_fp_scope *s, const rs_runtime *rt)
{
	rs_fp_scope_begin_alloc(s, &rt->alloc);
	s->host = rt;
	s->runtime.should_stop = rt->should_stop ? host_should_stop : NULL;
	s->runtime.progress = rt->progress ? host_progress : NULL;
	s->runtime.arg = s;
	s->runtime.threads = rt->threads;
	return &s->runtime;
}

void
rs_fp_scope_end(rs_fp_scope *s)
{
	rs_fp_restore(s->host_mode);
}
