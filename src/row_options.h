/*
 * row_options.h - a training aggregate's options argument, which every row
 * passes: the first row decides them, and a later row (or a parallel
 * worker's partial state) that passes different ones is an error, never
 * silently overruled.
 */
#ifndef RECSYS_ROW_OPTIONS_H
#define RECSYS_ROW_OPTIONS_H

#include "recsys.h"

typedef struct row_options
{
	bool		seen;			/* a row was taken: options is decided */
	bool		constant;		/* the argument is a constant: no row can differ */
	Jsonb	   *options;		/* the first row's, NULL if it gave none */
} row_options;

/* Takes argument argno of a row (absent or NULL: no options). */
extern void recsys_row_options_take(row_options *ro, FunctionCallInfo fcinfo, int argno,
									MemoryContext context);

/* Merges a partial state's options into another's. */
extern void recsys_row_options_combine(row_options *into, const row_options *from,
									   MemoryContext context);

#endif
