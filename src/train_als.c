/*
 * train_als.c - final function of the train_als aggregates: options ->
 * interactions -> fit -> encode -> bytea.
 */
#include "interactions_agg.h"

#include "core/als.h"
#include "training.h"

PG_FUNCTION_INFO_V1(recsys_train_als_final);

Datum
recsys_train_als_final(PG_FUNCTION_ARGS)
{
	interactions_state *state = recsys_interactions_state(fcinfo);
	double		options[RS_ALS_OPTION_COUNT];
	training	t;
	rs_als_result result;
	rs_model	model;

	if (state == NULL || state->buffer.count == 0)
		PG_RETURN_NULL();

	recsys_parse_options(state->options, "train_als", rs_als_option_specs,
						 RS_ALS_OPTION_COUNT, options);
	if (options[RS_ALS_FEEDBACK] == RS_FEEDBACK_IMPLICIT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("implicit feedback is not supported yet"),
				 errhint("Use \"feedback\": \"explicit\" for ratings.")));

	training_begin(&t, state, (int) options[RS_ALS_THREADS], options[RS_ALS_VERBOSE] != 0);
	options[RS_ALS_THREADS] = t.runtime.threads;
	recsys_raise_status(rs_als_fit(&t.data, options, &t.runtime, &result), "ALS training");

	rs_als_model(&t.data, &result, &model);
	PG_RETURN_BYTEA_P(training_end(&t, &model, rs_als_option_specs, RS_ALS_OPTION_COUNT,
								   options, result.loss, result.iterations));
}
