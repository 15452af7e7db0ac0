/*
 * training.h - the steps every trainer's final function shares: collected
 * rows to interactions, and a fitted model to a bytea with its description.
 */
#ifndef RECSYS_TRAINING_H
#define RECSYS_TRAINING_H

#include "interactions_agg.h"

typedef struct training
{
	MemoryContext caller;		/* where the result goes */
	MemoryContext work;			/* everything else; deleted at the end */
	rs_runtime	runtime;
	rs_interactions data;
	int64		skipped;
	double		started;
	double		collect_seconds;	/* statement start to the final function */

} training;

/* iterations: how many the fit will run, for verbose progress */
extern void training_begin(training *t, interactions_state *state, int threads, bool verbose,
						   int iterations);
extern void training_check_non_negative(const rs_interaction_buffer *buffer);
/* Options past the table's: a list of layer widths (or NULL for none). */
typedef struct training_widths
{
	const char *name;
	const int  *widths;
	int			count;
} training_widths;

extern bytea *training_end(training *t, rs_model *model, const rs_option_spec *specs,
						   int n_specs, const double *options,
						   const training_widths *widths, const double *loss,
						   int iterations);

#endif
