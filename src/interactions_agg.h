/*
 * interactions_agg.h - the state every interaction-training aggregate shares.
 */
#ifndef RECSYS_INTERACTIONS_AGG_H
#define RECSYS_INTERACTIONS_AGG_H

#include "recsys.h"

#include "core/interactions.h"

typedef struct interactions_state
{
	rs_interaction_buffer buffer;
	Jsonb	   *options;		/* from the first row that had them, or NULL */
} interactions_state;

/* The aggregate state argument of a final function, or NULL. */
extern interactions_state *recsys_interactions_state(FunctionCallInfo fcinfo);

#endif
