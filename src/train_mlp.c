/*
 * train_mlp.c - final function of the train_mlp aggregates: options ->
 * feature rows -> fit -> encode -> bytea.
 */
#include "features_agg.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/mlp.h"

PG_FUNCTION_INFO_V1(recsys_train_mlp_final);

#define HIDDEN RS_MLP_OPTION_COUNT	/* "hidden" follows the engine's options */
#define DEFAULT_HIDDEN_WIDTH 128

/*
 * The engine's option table plus "hidden", a list the table cannot express:
 * it is read here, and only named in the table so that an unknown key's
 * hint lists it.
 */
static const rs_option_spec *
option_specs(void)
{
	static rs_option_spec specs[RS_MLP_OPTION_COUNT + 1];

	if (specs[0].name == NULL)
	{
		memcpy(specs, rs_mlp_option_specs, sizeof(rs_mlp_option_specs));
		specs[HIDDEN] = (rs_option_spec) {"hidden", RS_OPT_INT, DEFAULT_HIDDEN_WIDTH, 1,
		RS_MLP_MAX_WIDTH, false, NULL};
	}
	return specs;
}

static void
check_labels(const features_state *state)
{
	for (Size r = 0; r < state->count; r++)
		if (state->labels[r] != 0 && state->labels[r] != 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("labels must be 0 or 1 for cross-entropy loss"),
					 errdetail("Row %zu has label %g.", r + 1, state->labels[r]),
					 errhint("Use \"loss\": \"mse\" to fit other values.")));
}

static void
append_array(StringInfo buf, const char *name, const double *values, int n)
{
	appendStringInfo(buf, ", \"%s\": [", name);
	for (int k = 0; k < n; k++)
		appendStringInfo(buf, "%s%.6g", k ? ", " : "", values[k]);
	appendStringInfoChar(buf, ']');
}

static char *
describe(const features_state *state, const double *options, const int *widths,
		 int n_hidden, const rs_mlp_result *result, double seconds)
{
	StringInfoData buf;
	char		created[MAXDATELEN + 1];

	recsys_json_now(created);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"options\": ");
	recsys_append_options_with_widths(&buf, option_specs(), RS_MLP_OPTION_COUNT, options,
									  "hidden", widths, n_hidden);
	appendStringInfoString(&buf, ", \"layers\": [");
	for (int k = 0; k <= result->n_layers; k++)
		appendStringInfo(&buf, "%s%d", k ? ", " : "", result->sizes[k]);
	appendStringInfoChar(&buf, ']');
	append_array(&buf, "loss", result->train_loss, result->epochs);
	if (result->validation_loss)
		append_array(&buf, "validation_loss", result->validation_loss, result->epochs);
	appendStringInfo(&buf, ", \"epochs\": %d, \"rows\": %zu", result->epochs, state->count);
	appendStringInfo(&buf, ", \"skipped_rows\": " INT64_FORMAT, state->skipped);
	appendStringInfo(&buf, ", \"training_seconds\": %.3f", seconds);
	appendStringInfo(&buf, ", \"created\": \"%s\"}", created);
	return buf.data;
}

Datum
recsys_train_mlp_final(PG_FUNCTION_ARGS)
{
	features_state *state = recsys_features_state(fcinfo);
	double		options[RS_MLP_OPTION_COUNT + 1];
	int			widths[RS_MLP_MAX_HIDDEN];
	int			n_hidden;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	rs_runtime	rt;
	rs_mlp_result result;
	rs_model	model;
	double		started = rs_now();
	bytea	   *encoded;

	if (state == NULL || state->count == 0)
		PG_RETURN_NULL();

	widths[0] = DEFAULT_HIDDEN_WIDTH;
	n_hidden = 1;
	recsys_parse_options(recsys_take_widths(state->options.options, "hidden", "train_mlp", 0,
											RS_MLP_MAX_HIDDEN, RS_MLP_MAX_WIDTH,
											"For example [128], or [64, 32] for two hidden layers.",
											widths, &n_hidden),
						 "train_mlp", option_specs(), RS_MLP_OPTION_COUNT + 1, options, NULL);
	if (options[RS_MLP_LOSS] == RS_LOSS_CROSS_ENTROPY)
		check_labels(state);

	work = AllocSetContextCreate(CurrentMemoryContext, "recsys training",
								 ALLOCSET_DEFAULT_SIZES);
	recsys_runtime_init(&rt, work, 1, options[RS_MLP_VERBOSE] != 0, (int) options[RS_MLP_EPOCHS]);
	recsys_raise_status(rs_mlp_fit(state->rows, state->labels, state->count, state->dims,
								   widths, n_hidden, options, &rt, &result),
						"MLP training");
	rs_mlp_model(&result, &model);
	model.info = describe(state, options, widths, n_hidden, &result, rs_now() - started);
	model.info_size = strlen(model.info);
	encoded = recsys_encode_model(&model, caller);
	MemoryContextDelete(work);
	PG_RETURN_BYTEA_P(encoded);
}
