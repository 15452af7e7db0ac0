/*
 * train_als.c - final function of the train_als aggregates: options ->
 * interactions -> fit (explicit or implicit feedback) -> encode -> bytea.
 */
#include "interactions_agg.h"

#include <math.h>

#include "core/als.h"
#include "training.h"

PG_FUNCTION_INFO_V1(recsys_train_als_final);

/* Options that only one kind of feedback uses: naming one for the other is a mistake. */
static void
check_feedback_options(const double *options, const bool *given)
{
	static const int explicit_only[] = {RS_ALS_PRIOR_COUNT, RS_ALS_BIAS_REGULARIZATION};
	static const int implicit_only[] = {RS_ALS_ALPHA, RS_ALS_CG_STEPS, RS_ALS_SOLVER};
	bool		implicit = options[RS_ALS_FEEDBACK] == RS_FEEDBACK_IMPLICIT;
	const int  *wrong = implicit ? explicit_only : implicit_only;
	int			n_wrong = implicit ? lengthof(explicit_only) : lengthof(implicit_only);

	for (int k = 0; k < n_wrong; k++)
		if (given[wrong[k]])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" of train_als applies only to %s feedback",
							rs_als_option_specs[wrong[k]].name,
							implicit ? "explicit" : "implicit")));
}

/* Leaves the other feedback's options out of the model's description. */
static void
unused_options_to_nan(double *options)
{
	bool		implicit = options[RS_ALS_FEEDBACK] == RS_FEEDBACK_IMPLICIT;

	if (implicit)
		options[RS_ALS_PRIOR_COUNT] = options[RS_ALS_BIAS_REGULARIZATION] = NAN;
	else
		options[RS_ALS_ALPHA] = options[RS_ALS_CG_STEPS] = options[RS_ALS_SOLVER] = NAN;
}

Datum
recsys_train_als_final(PG_FUNCTION_ARGS)
{
	interactions_state *state = recsys_interactions_state(fcinfo);
	double		options[RS_ALS_OPTION_COUNT];
	bool		given[RS_ALS_OPTION_COUNT];
	training	t;
	rs_als_result result;
	rs_model	model;

	if (state == NULL || state->buffer.count == 0)
		PG_RETURN_NULL();

	recsys_parse_options(state->options.options, "train_als", rs_als_option_specs,
						 RS_ALS_OPTION_COUNT, options, given);
	check_feedback_options(options, given);
	if (options[RS_ALS_FEEDBACK] == RS_FEEDBACK_IMPLICIT)
	{
		training_check_non_negative(&state->buffer);
		if (!given[RS_ALS_REGULARIZATION])
			options[RS_ALS_REGULARIZATION] = RS_IMPLICIT_ALS_DEFAULT_REGULARIZATION;
	}

	training_begin(&t, state, (int) options[RS_ALS_THREADS], options[RS_ALS_VERBOSE] != 0,
				   (int) options[RS_ALS_ITERATIONS]);
	options[RS_ALS_THREADS] = t.runtime.threads;
	recsys_raise_status(rs_als_fit(&t.data, options, &t.runtime, &result), "ALS training");

	rs_als_model(&t.data, &result, options, &model);
	unused_options_to_nan(options);
	PG_RETURN_BYTEA_P(training_end(&t, &model, rs_als_option_specs, RS_ALS_OPTION_COUNT,
								   options, NULL, result.loss, result.iterations));
}
