/*
 * serving.c - predict and recommend: decoded model from the cache, score
 * with the engine, return rows.
 */
#include "recsys.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

#include "core/scoring.h"
#include "core/top_k.h"

PG_FUNCTION_INFO_V1(recsys_predict);
PG_FUNCTION_INFO_V1(recsys_recommend);

Datum
recsys_predict(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	int32		user = rs_model_user_index(model, PG_GETARG_INT64(1));
	int32		item = rs_model_item_index(model, PG_GETARG_INT64(2));

	PG_RETURN_FLOAT8(rs_predict(model, user, item));
}

static void
check_k(int32 k)
{
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1"),
				 errdetail("k was %d.", k)));
}

/*
 * Sets up a materialised set-returning call: the rows go into a tuplestore
 * (fn_extra stays free for the model cache).
 */
static void
init_materialized(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(false, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(old);
#endif
}

Datum
recsys_recommend(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		k = PG_GETARG_INT32(2);
	bool		exclude_seen = PG_GETARG_BOOL(3);
	const rs_model *model;
	const int32 *seen = NULL;
	size_t		n_seen = 0;
	int32		user;
	float	   *scores;
	rs_scored  *best;
	size_t		count;

	check_k(k);
	init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	user = rs_model_user_index(model, PG_GETARG_INT64(1));
	if (exclude_seen)
		seen = rs_seen_items(model, user, &n_seen);

	scores = palloc(sizeof(float) * ((size_t) model->n_items + 1));
	best = palloc(sizeof(rs_scored) * Min((size_t) k, (size_t) model->n_items + 1));
	rs_score_items(model, user, scores);
	count = rs_top_k(scores, model->n_items, seen, n_seen, (size_t) k, best);

	for (size_t r = 0; r < count; r++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int64GetDatum(model->item_ids[best[r].index]);
		values[1] = Float8GetDatum((double) best[r].score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(scores);
	pfree(best);
	return (Datum) 0;
}
