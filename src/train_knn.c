/*
 * train_knn.c - final function of the train_knn aggregates: options ->
 * interactions -> item neighbourhoods -> encode -> bytea.
 */
#include "interactions_agg.h"

#include "core/knn.h"
#include "training.h"

PG_FUNCTION_INFO_V1(recsys_train_knn_final);

Datum
recsys_train_knn_final(PG_FUNCTION_ARGS)
{
	interactions_state *state = recsys_interactions_state(fcinfo);
	double		options[RS_KNN_OPTION_COUNT];
	training	t;
	rs_knn_result result;
	rs_model	model;

	if (state == NULL || state->buffer.count == 0)
		PG_RETURN_NULL();

	recsys_parse_options(state->options.options, "train_knn", rs_knn_option_specs,
						 RS_KNN_OPTION_COUNT, options, NULL);
	if (options[RS_KNN_FEEDBACK] == RS_KNN_FEEDBACK_IMPLICIT)
		training_check_non_negative(&state->buffer);

	training_begin(&t, state, (int) options[RS_KNN_THREADS], options[RS_KNN_VERBOSE] != 0, 1);
	options[RS_KNN_THREADS] = t.runtime.threads;
	recsys_raise_status(rs_knn_fit(&t.data, options, &t.runtime, &result),
						"computing item neighbourhoods");
	rs_knn_model(&t.data, &result, &model);
	/* no iterations: the description's loss list stays empty */
	PG_RETURN_BYTEA_P(training_end(&t, &model, rs_knn_option_specs, RS_KNN_OPTION_COUNT,
								   options, NULL, NULL, 0));
}
