/*
 * fp_mode.h - the engine computes with subnormal floats flushed to zero.
 *
 * Weight decay drives weights that stop learning towards zero, and they end
 * up subnormal: a NeuMF trained with l2 0.01 on MovieTweetings has 1,524 of
 * its 2,753 tower weights below 1.2e-38.  An operation with a subnormal
 * operand or result takes a microcode assist of a hundred cycles or more on
 * Intel cores (AMD's handle most in hardware), which made scoring that model
 * some fifty times slower there.  So training and scoring run with FTZ and
 * DAZ set: the results differ only below 1.2e-38, which no score resolves.
 *
 * The host never sees the changed mode.  A scope restores the caller's mode
 * when it ends, and the runtime and allocator it hands to the engine switch
 * back to the caller's mode around every callback, so host code (PostgreSQL's
 * float arithmetic, an ereport that never returns) always runs in its own.
 * The pool's worker threads flush for their whole life.
 */
#ifndef RECSYS_FP_MODE_H
#define RECSYS_FP_MODE_H

#include "runtime.h"

typedef unsigned int rs_fp_mode;

/* Sets FTZ and DAZ on the calling thread; returns the mode to restore. */
rs_fp_mode	rs_fp_flush_subnormals(void);
void		rs_fp_restore(rs_fp_mode mode);

/* Whether the calling thread flushes subnormals now (for tests). */
bool		rs_fp_flushing(void);

typedef struct rs_fp_scope
{
	rs_fp_mode	host_mode;		/* the caller's, restored at the end */
	const rs_runtime *host;
	const rs_allocator *host_alloc;
	rs_runtime	runtime;		/* the host's, with callbacks in host_mode */
} rs_fp_scope;

/*
 * Begins flushing; the returned runtime (or allocator) is the caller's, its
 * callbacks run in the caller's mode.  Valid until rs_fp_scope_end.
 */
const rs_runtime *rs_fp_scope_begin(rs_fp_scope *scope, const rs_runtime *rt);
const rs_allocator *rs_fp_scope_begin_alloc(rs_fp_scope *scope, const rs_allocator *a);
void		rs_fp_scope_end(rs_fp_scope *scope);

#endif
