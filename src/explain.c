/*
 * explain.c - explain(model, user_id, item_id, k): which items of the user's
 * history drive a score, and how much.
 */
#include "recsys.h"

#include "core/scoring.h"

PG_FUNCTION_INFO_V1(recsys_explain);

Datum
recsys_explain(PG_FUNCTION_ARGS)
{
	int32		k = PG_GETARG_INT32(3);
	const rs_model *model;
	int32		user;
	int32		item;
	size_t		n;
	const int32 *history;
	double	   *contributions;
	float	   *ranked;
	rs_scored  *best;
	double		baseline;
	size_t		count;
	rs_allocator alloc = recsys_context_allocator(CurrentMemoryContext);

	recsys_check_k(k);
	recsys_init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	recsys_require(model, explain, "explain");
	recsys_require_users(model, "explain");
	user = rs_model_user_index(model, PG_GETARG_INT64(1));
	item = rs_model_item_index(model, PG_GETARG_INT64(2));
	if (user < 0 || (item < 0 && !rs_model_predicts_unknown(model)))
		return (Datum) 0;		/* no history, or no score, to explain */

	history = rs_seen_items(model, user, &n);
	contributions = palloc(sizeof(double) * (n + 1));
	recsys_raise_status(rs_explain(model, user, item, &alloc, contributions, &baseline),
						"explaining the score");

	/* the k largest contributions, then what no item explains */
	ranked = palloc(sizeof(float) * (n + 1));
	for (size_t j = 0; j < n; j++)
		ranked[j] = (float) contributions[j];
	best = palloc(sizeof(rs_scored) * Min((size_t) k, n + 1));
	count = rs_top_k(ranked, (int32) n, NULL, 0, (size_t) k, best);
	for (size_t r = 0; r < count; r++)
		recsys_emit_row(fcinfo, true, model->item_ids[history[best[r].index]],
						contributions[best[r].index]);
	if (rs_explain_has_baseline(model))
		recsys_emit_row(fcinfo, false, 0, baseline);
	return (Datum) 0;
}
