/*
 * train_ease.c - final function of the train_ease aggregates: options ->
 * interactions -> closed-form item weights -> encode -> bytea.
 */
#include "interactions_agg.h"

#include "core/ease.h"
#include "training.h"

PG_FUNCTION_INFO_V1(recsys_train_ease_final);

/*
 * The item-item matrix is items^2 floats: say before training whether it
 * fits, and what to do when it does not.
 */
static void
check_size(int32 n_items, const double *options)
{
	int64		modelled = n_items;
	uint64		bytes;

	if (options[RS_EASE_MAX_ITEMS] > 0 && options[RS_EASE_MAX_ITEMS] < modelled)
		modelled = (int64) options[RS_EASE_MAX_ITEMS];
	bytes = (uint64) modelled * (uint64) modelled * sizeof(float);
	if (bytes > RS_EASE_MAX_TRAINING_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many items for train_ease: %lld", (long long) modelled),
				 errdetail("Training holds an item-item matrix of %llu MB; at most %llu MB are allowed.",
						   (unsigned long long) ((bytes + (1 << 20) - 1) >> 20),
						   (unsigned long long) (RS_EASE_MAX_TRAINING_BYTES >> 20)),
				 errhint("Set \"max_items\" to model only the most popular items.")));
	if (options[RS_EASE_PRUNE] > 0)
	{
		/* each item keeps up to prune weights of the others: an index and a float each */
		uint64		kept = (uint64) Min((int64) options[RS_EASE_PRUNE], Max(modelled - 1, 0));
		uint64		list_bytes = (uint64) modelled * kept * (sizeof(int32) + sizeof(float));

		if (list_bytes > RS_EASE_MAX_MODEL_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("an EASE model of %lld items pruned to %llu weights each would exceed the 1 GB limit of a bytea value",
							(long long) modelled, (unsigned long long) kept),
					 errdetail("Its weight lists take %llu MB.",
							   (unsigned long long) ((list_bytes + (1 << 20) - 1) >> 20)),
					 errhint("Set a smaller \"prune\", or \"max_items\" to model only the most popular items.")));
	}
	else if (bytes > RS_EASE_MAX_MODEL_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a dense EASE model of %lld items would exceed the 1 GB limit of a bytea value",
						(long long) modelled),
				 errdetail("Its item-item matrix takes %llu MB.",
						   (unsigned long long) ((bytes + (1 << 20) - 1) >> 20)),
				 errhint("Set \"prune\" (e.g. 100) to keep the largest weights of each item as a sparse matrix, or \"max_items\" to model only the most popular items.")));
}

Datum
recsys_train_ease_final(PG_FUNCTION_ARGS)
{
	interactions_state *state = recsys_interactions_state(fcinfo);
	double		options[RS_EASE_OPTION_COUNT];
	training	t;
	rs_ease_result result;
	rs_model	model;

	if (state == NULL || state->buffer.count == 0)
		PG_RETURN_NULL();

	recsys_parse_options(state->options.options, "train_ease", rs_ease_option_specs,
						 RS_EASE_OPTION_COUNT, options, NULL);
	training_begin(&t, state, (int) options[RS_EASE_THREADS], options[RS_EASE_VERBOSE] != 0, 1);
	check_size(t.data.n_items, options);
	options[RS_EASE_THREADS] = t.runtime.threads;
	recsys_raise_status(rs_ease_fit(&t.data, options, &t.runtime, &result), "EASE training");
	rs_ease_model(&t.data, &result, &model);
	/* no iterations: the description's loss list stays empty */
	PG_RETURN_BYTEA_P(training_end(&t, &model, rs_ease_option_specs, RS_EASE_OPTION_COUNT,
								   options, NULL, NULL, 0));
}
