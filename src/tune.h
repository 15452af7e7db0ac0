/*
 * tune.h - the "tune" option of the training aggregates: a search of the
 * kind's hyper-parameters on a validation split before the final fit.
 */
#ifndef RECSYS_TUNE_H
#define RECSYS_TUNE_H

#include "recsys.h"

#include "lib/stringinfo.h"

typedef struct tune_request
{
	bool		on;
	int			trials;			/* settings tried, the given or default one first */
	int			seed;
} tune_request;

/* Reads option "tune" (true, false or {"trials": n, "seed": s}) and returns the rest. */
extern Jsonb *recsys_take_tune(Jsonb *options, const char *function_name, const rs_kind *kind,
							   tune_request *request);

/*
 * Searches the kind's parameters on a split of the input (interactions),
 * or on the rows its fit holds out (feature rows); options end as the best
 * setting found, and report gets the search as a JSON object.
 */
extern void recsys_tune(const rs_kind *kind, const rs_fit_input *input, double *options,
						const bool *given, const tune_request *request, int threads,
						bool verbose, StringInfo report);

#endif
