/*
 * model_info.c - what a model is and knows: its description as jsonb (its
 * header plus what its trainer stored: options, loss per iteration,
 * timings), and whether it knows a user or an item.
 */
#include "recsys.h"

#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(recsys_model_info);
PG_FUNCTION_INFO_V1(recsys_has_user);
PG_FUNCTION_INFO_V1(recsys_has_item);

Datum
recsys_model_info(PG_FUNCTION_ARGS)
{
	const rs_model *m = recsys_model_arg(fcinfo, 0);
	StringInfoData buf;
	const uint8 *id = m->model_id;

	if (m->info_size < 2 || m->info[0] != '{' || m->info[m->info_size - 1] != '}')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid recsys model"),
				 errdetail("Its description is not a JSON object.")));

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"algorithm\": \"%s\", \"format_version\": %d",
					 rs_algorithm_name(m->algorithm), (int) m->format_version);
	appendStringInfo(&buf, ", \"model_id\": \"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\"",
					 id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7],
					 id[8], id[9], id[10], id[11], id[12], id[13], id[14], id[15]);
	if (m->user_ids == NULL && m->mlp_sizes)	/* a feature model */
		appendStringInfo(&buf, ", \"features\": %d", m->mlp_sizes[0]);
	else
	{
		appendStringInfo(&buf, ", \"users\": %d, \"items\": %d, \"interactions\": " UINT64_FORMAT,
						 m->n_users, m->n_items, m->n_interactions);
		appendStringInfo(&buf, ", \"factors\": %d, \"global_mean\": %.17g",
						 m->factors, m->global_mean);
		appendStringInfo(&buf, ", \"new_user_bias\": %.17g, \"new_item_bias\": %.17g",
						 m->new_user_bias, m->new_item_bias);
		if (m->algorithm == RS_ALGO_ALS_EXPLICIT)
			appendStringInfo(&buf, ", \"user_bias_slope\": %.9g",
							 (double) m->params.activity_slope);
	}
	if (m->info_size > 2)
		appendStringInfoString(&buf, ", ");
	appendBinaryStringInfo(&buf, m->info + 1, (int) m->info_size - 1);

	/*
	 * The description is checked as JSON here, not by jsonb_in, so that a
	 * damaged one (or a non-finite header field) is an invalid model, not a
	 * text syntax error.
	 */
	if (pg_parse_json(makeJsonLexContextCstringLen(buf.data, buf.len,
												   GetDatabaseEncoding(), true),
					  &nullSemAction) != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid recsys model"),
				 errdetail("Its description is not valid JSON.")));

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* Whether the model was trained on the user: not a newcomer to it. */
Datum
recsys_has_user(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);

	recsys_require(model, predict, "has_user");
	PG_RETURN_BOOL(rs_model_user_index(model, PG_GETARG_INT64(1)) >= 0);
}

/* Whether the model can score or recommend the item. */
Datum
recsys_has_item(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);

	recsys_require(model, predict, "has_item");
	PG_RETURN_BOOL(rs_model_item_index(model, PG_GETARG_INT64(1)) >= 0);
}
