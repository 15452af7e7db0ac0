/*
 * hybrid_agg.h - the state of train_hybrid: the interaction rows, as every
 * interaction aggregate collects them, and the tags each user and item
 * carried in them.
 *
 * An id's tags are the union of the tags of all its rows, so they depend
 * neither on the order of the rows nor on how parallel workers split them.
 */
#ifndef RECSYS_HYBRID_AGG_H
#define RECSYS_HYBRID_AGG_H

#include "interactions_agg.h"

#include "core/tags.h"

/* The tags of one side, users or items (hybrid_agg.c). */
typedef struct hybrid_side hybrid_side;

typedef struct hybrid_state
{
	interactions_state base;	/* first: the shared final function reads it as interactions_state */
	hybrid_side *users;
	hybrid_side *items;
	int64		null_tags_skipped;	/* NULL elements of tag arrays, in every row */
} hybrid_state;

/* What the tags of the rows amounted to, for model_info and a NOTICE. */
typedef struct hybrid_tag_report
{
	int64		users_with_varying_tags;	/* ids whose rows carried different tag sets */
	int64		items_with_varying_tags;
	int64		null_tags_skipped;	/* NULL elements inside tag arrays, left out */
} hybrid_tag_report;

/* The aggregate state argument of a final function, or NULL. */
extern hybrid_state *recsys_hybrid_state(FunctionCallInfo fcinfo);

/*
 * After rs_interactions_build(&state->base.buffer, ...) gave data: the tag
 * tables of its users and items (a row per dense user or item, in data's
 * order), allocated with alloc, dictionaries sorted bytewise.  Raises an
 * ERROR when memory runs out.
 */
extern void recsys_hybrid_tag_tables(hybrid_state *state, const rs_interactions *data,
									 const rs_allocator *alloc, rs_tag_table *users,
									 rs_tag_table *items, hybrid_tag_report *report);

#endif
