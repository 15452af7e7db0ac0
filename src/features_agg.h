/*
 * features_agg.h - the state of aggregates that train on feature vectors.
 */
#ifndef RECSYS_FEATURES_AGG_H
#define RECSYS_FEATURES_AGG_H

#include "recsys.h"
#include "row_options.h"

typedef struct features_state
{
	float	   *rows;			/* count x dims, row-major */
	float	   *labels;
	Size		count;
	Size		capacity;		/* rows */
	int32		dims;			/* 0 until the first row */
	int64		skipped;		/* rows with a NULL features array or label */
	row_options options;		/* the same in every row */
} features_state;

extern features_state *recsys_features_state(FunctionCallInfo fcinfo);

#endif
