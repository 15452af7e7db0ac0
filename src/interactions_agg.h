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

#endif
