/*
 * train_ncf.c - final function of the train_ncf aggregates: options ->
 * interactions -> fit -> encode -> bytea.
 */
#include "interactions_agg.h"

#include "core/ncf.h"
#include "training.h"

PG_FUNCTION_INFO_V1(recsys_train_ncf_final);

#define LAYERS RS_NCF_OPTION_COUNT	/* "layers" follows the engine's options */

static const int default_layers[] = {64, 32, 16, 8};

/*
 * The engine's option table plus "layers", a list the table cannot express:
 * it is read here, and only named in the table so that an unknown key's
 * hint lists it.
 */
static const rs_option_spec *
option_specs(void)
{
	static rs_option_spec specs[RS_NCF_OPTION_COUNT + 1];

	if (specs[0].name == NULL)
	{
		memcpy(specs, rs_ncf_option_specs, sizeof(rs_ncf_option_specs));
		specs[LAYERS] = (rs_option_spec) {"layers", RS_OPT_INT, 64, 2, RS_NCF_MAX_WIDTH,
		false, NULL};
	}
	return specs;
}

Datum
recsys_train_ncf_final(PG_FUNCTION_ARGS)
{
	interactions_state *state = recsys_interactions_state(fcinfo);
	double		options[RS_NCF_OPTION_COUNT + 1];
	int			layers[RS_NCF_MAX_LAYERS];
	int			n_layers = lengthof(default_layers);
	training_widths widths = {"layers", layers, 0};
	training	t;
	rs_ncf_result result;
	rs_model	model;
	Jsonb	   *rest;

	if (state == NULL || state->buffer.count == 0)
		PG_RETURN_NULL();

	memcpy(layers, default_layers, sizeof(default_layers));
	rest = recsys_take_widths(state->options.options, "layers", "train_ncf", 1, RS_NCF_MAX_LAYERS,
							  RS_NCF_MAX_WIDTH,
							  "For example [64, 32, 16, 8]: the first is the width of the concatenated user and item embeddings, then the tower's layers.",
							  layers, &n_layers);
	if (layers[0] % 2 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the first entry of option \"layers\" of train_ncf must be even"),
				 errdetail("It is the width of the user and item tower embeddings concatenated, %d.",
						   layers[0])));
	recsys_parse_options(rest, "train_ncf", option_specs(), RS_NCF_OPTION_COUNT + 1,
						 options, NULL);
	widths.count = n_layers;

	training_begin(&t, state, (int) options[RS_NCF_THREADS], options[RS_NCF_VERBOSE] != 0,
				   (int) options[RS_NCF_EPOCHS]);
	options[RS_NCF_THREADS] = t.runtime.threads;
	recsys_raise_status(rs_ncf_fit(&t.data, layers, n_layers, options, &t.runtime, &result),
						"NCF training");
	/* shrunk to nothing, the model ranks items by chance: say so */
	if (result.epochs > 0 && result.loss[result.epochs - 1] >= 0.995 * result.base_rate_loss)
		ereport(WARNING,
				(errmsg("train_ncf learned nothing beyond the share of positives"),
				 errdetail("The last epoch's loss, %.2f, is no lower than that of predicting the same probability for every pair, %.2f.",
						   result.loss[result.epochs - 1], result.base_rate_loss),
				 options[RS_NCF_L2] > 0 ?
				 errhint("Lower \"l2\": too large a penalty holds every embedding at 0.") :
				 errhint("Train for more \"epochs\", or use train_als or train_ease: on sparse data NCF may learn nothing.")));
	rs_ncf_model(&t.data, &result, &model);
	/* what fold-in repeats for a new user */
	model.params.regularization = (float) options[RS_NCF_L2];
	model.params.learning_rate = (float) options[RS_NCF_LEARNING_RATE];
	PG_RETURN_BYTEA_P(training_end(&t, &model, option_specs(), RS_NCF_OPTION_COUNT, options,
								   &widths, result.loss, result.epochs));
}
