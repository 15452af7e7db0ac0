/*
 * result_rows.c - what the set-returning serving functions share: checking
 * k, setting up a materialised result, and emitting (item_id, score) rows.
 */
#include "recsys.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

/*
 * Sets up a materialised set-returning call: the rows go into a tuplestore
 * (fn_extra stays free for the model cache).
 */
void
recsys_init_materialized(FunctionCallInfo fcinfo)
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

/* One (item_id, score) row; a NULL item_id when has_item is false. */
void
recsys_emit_row(FunctionCallInfo fcinfo, bool has_item, int64 item_id, double score)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[2] = {Int64GetDatum(item_id), Float8GetDatum(score)};
	bool		nulls[2] = {!has_item, false};

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * The best k of scores (skipping the ascending skip list) as rows, best
 * first: (item_id, score), or (user_id, item_id, score) when user_id is
 * given.
 */
static void
emit_top_k(FunctionCallInfo fcinfo, const int64 *user_id, const rs_model *model,
		   const float *scores, const int32 *skip, size_t n_skip, int32 k)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rs_scored  *best = palloc(sizeof(rs_scored) * Min((size_t) k, (size_t) model->n_items + 1));
	size_t		count = rs_top_k(scores, model->n_items, skip, n_skip, (size_t) k, best);

	for (size_t r = 0; r < count; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		int			n = 0;

		if (user_id)
			values[n++] = Int64GetDatum(*user_id);
		values[n++] = Int64GetDatum(model->item_ids[best[r].index]);
		values[n++] = Float8GetDatum(best[r].score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(best);
}

void
recsys_emit_top_k(FunctionCallInfo fcinfo, const rs_model *model, const float *scores,
				  const int32 *skip, size_t n_skip, int32 k)
{
	emit_top_k(fcinfo, NULL, model, scores, skip, n_skip, k);
}

void
recsys_emit_user_top_k(FunctionCallInfo fcinfo, int64 user_id, const rs_model *model,
					   const float *scores, const int32 *skip, size_t n_skip, int32 k)
{
	emit_top_k(fcinfo, &user_id, model, scores, skip, n_skip, k);
}
