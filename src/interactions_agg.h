/*
 * interactions_agg.h - the state every interaction-training aggregate shares.
 */
#ifndef RECSYS_INTERACTIONS_AGG_H
#define RECSYS_INTERACTIONS_AGG_H

#include "recsys.h"

#include "core/interactions.h"
#include "row_options.h"

typedef struct interactions_state
{
	rs_interaction_buffer buffer;
	row_options options;		/* the same in every row */
} interactions_state;

/* The aggregate state argument of a final function, or NULL. */
extern interactions_state *recsys_interactions_state(FunctionCallInfo fcinfo);

/*
 * What aggregates whose rows begin (state, user_id, item_id [, value real
 * or double precision]) share with train_hybrid, whose rows carry more:
 * a row's interaction into the state (false: a NULL skipped it), another
 * state's rows and options merged in, and the serialised form of the rows,
 * its size, writing (returns the end) and reading exactly len bytes.
 */
extern bool recsys_interactions_take_row(interactions_state *state, FunctionCallInfo fcinfo,
										 MemoryContext context);
extern void recsys_interactions_merge(interactions_state *into, const interactions_state *from,
									  MemoryContext context);
extern Size recsys_interactions_serialized_size(const interactions_state *state);
extern char *recsys_interactions_write(const interactions_state *state, char *p);
extern void recsys_interactions_read(interactions_state *state, const char *p, Size len,
									 MemoryContext context);

#endif
