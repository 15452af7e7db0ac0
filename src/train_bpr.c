/*
 * train_bpr.c - final function of the train_bpr aggregates: options ->
 * interactions -> fit -> encode -> bytea.
 */
#include "interactions_agg.h"

#include "core/bpr.h"
#include "training.h"

PG_FUNCTION_INFO_V1(recsys_train_bpr_final);

Datum
recsys_train_bpr_final(PG_FUNCTION_ARGS)
{
	interactions_state *state = recsys_interactions_state(fcinfo);
	double		options[RS_BPR_OPTION_COUNT];
	rs_model_params params = {0};
	training	t;
	rs_bpr_result result;
	rs_model	model;

	if (state == NULL || state->buffer.count == 0)
		PG_RETURN_NULL();

	recsys_parse_options(state->options.options, "train_bpr", rs_bpr_option_specs,
						 RS_BPR_OPTION_COUNT, options, NULL);
	training_begin(&t, state, (int) options[RS_BPR_THREADS], options[RS_BPR_VERBOSE] != 0,
				   (int) options[RS_BPR_EPOCHS]);
	options[RS_BPR_THREADS] = t.runtime.threads;
	recsys_raise_status(rs_bpr_fit(&t.data, options, &t.runtime, &result), "BPR training");

	params.regularization = (float) options[RS_BPR_REGULARIZATION];
	params.learning_rate = (float) options[RS_BPR_LEARNING_RATE];
	rs_bpr_model(&t.data, &result, &params, &model);
	PG_RETURN_BYTEA_P(training_end(&t, &model, rs_bpr_option_specs, RS_BPR_OPTION_COUNT,
								   options, NULL, result.loss, result.epochs));
}
