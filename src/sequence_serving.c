/*
 * sequence_serving.c - serving a sequence model from a live history: the
 * items a user interacted with, most recent first (as ORDER BY at DESC
 * gives them), so that an event counts the moment it is stored.
 *
 * recommend(model, history, k) encodes the history once; predict(model,
 * history, item_id) keeps the last history's encoding at its call site, so
 * ranking a candidate set for one history costs one forward pass and a dot
 * product per candidate; explain(model, history, item_id, k) shows where the
 * last position's attention went.
 */
#include "recsys.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include <cblas.h>

#include "core/factor_model.h"
#include "core/scoring.h"
#include "core/sequence.h"
#include "core/top_k.h"

PG_FUNCTION_INFO_V1(recsys_predict_history);
PG_FUNCTION_INFO_V1(recsys_explain_history);

/* The last history's encoding at a predict call site. */
typedef struct history_memo
{
	uint8		model_id[RS_MODEL_ID_BYTES];
	Size		bytes;			/* of the array's dimensions and data; 0: none yet */
	Size		capacity;		/* of array */
	char	   *array;			/* a copy of them */
	bool		empty;			/* no item of it is known: popularity scores */
	float		encoding[RS_MODEL_MAX_FACTORS];
} history_memo;

static void
require_sequence(const rs_model *model, const char *function_name)
{
	if (!rs_kind_of(model->algorithm)->sequential)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s is not supported for %s models", function_name,
						rs_algorithm_name(model->algorithm)),
				 errdetail("It reads an ordered history, which only sequence models use."),
				 errhint("Train the model with train_sequence, or pass the user: %s.",
						 strcmp(function_name, "explain(model, history, item_id, k)") == 0 ?
						 "explain(model, user_id, item_id, k)" :
						 "predict(model, user_id, item_id)")));
}

int
recsys_read_sequence(const rs_model *model, ArrayType *history, int32 **items, int *unknown)
{
	int			n = ArrayGetNItems(ARR_NDIM(history), ARR_DIMS(history));
	const int64 *ids = (const int64 *) ARR_DATA_PTR(history);
	int			kept = 0;

	recsys_check_array(history, "history", "Leave NULL items out of the history.");
	*items = palloc(sizeof(int32) * (n + 1));
	*unknown = 0;
	/* most recent first in, oldest first out */
	for (int k = n - 1; k >= 0; k--)
	{
		int32		item = rs_model_item_index(model, ids[k]);

		if (item < 0)
			(*unknown)++;
		else
			(*items)[kept++] = item;
	}
	return kept;
}

static int
compare_int32(const void *x, const void *y)
{
	int32		a = *(const int32 *) x;
	int32		b = *(const int32 *) y;

	return (a > b) - (a < b);
}

void
recsys_recommend_sequence(FunctionCallInfo fcinfo, const rs_model *model, ArrayType *history,
						  int32 k)
{
	int32	   *items;
	int32	   *seen;
	int			unknown;
	int			n = recsys_read_sequence(model, history, &items, &unknown);
	int			distinct = 0;
	float	   *scores;
	rs_allocator alloc = recsys_context_allocator(CurrentMemoryContext);

	if (unknown > 0)
		ereport(NOTICE,
				(errmsg("%d of %d history items are not in the model and were ignored",
						unknown, unknown + n)));
	scores = palloc(sizeof(float) * ((size_t) model->n_items + 1));
	recsys_raise_status(rs_score_history(model, items, NULL, n, &alloc, scores),
						"scoring the history");
	/* what the history holds is not recommended again */
	seen = palloc(sizeof(int32) * (n + 1));
	memcpy(seen, items, sizeof(int32) * n);
	qsort(seen, n, sizeof(int32), compare_int32);
	for (int j = 0; j < n; j++)
		if (j == 0 || seen[j] != seen[distinct - 1])
			seen[distinct++] = seen[j];
	recsys_emit_top_k(fcinfo, model, scores, seen, distinct, k);
}

/* The memo of this call site, holding the encoding of this history. */
static history_memo *
encode_at_call_site(FunctionCallInfo fcinfo, const rs_model *model, ArrayType *history)
{
	void	  **slot = recsys_call_site_memo(fcinfo);
	history_memo *memo = *slot;
	const char *data = (const char *) ARR_DIMS(history);
	Size		bytes = VARSIZE(history) - (data - (const char *) history);
	int32	   *items;
	int			unknown;
	int			n;
	float	   *scratch;

	if (memo && memcmp(memo->model_id, model->model_id, RS_MODEL_ID_BYTES) == 0 &&
		memo->bytes == bytes && memcmp(memo->array, data, bytes) == 0)
		return memo;

	if (memo == NULL)
	{
		memo = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(history_memo));
		*slot = memo;
	}
	if (memo->capacity < bytes)
	{
		if (memo->array)
			pfree(memo->array);
		memo->array = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, bytes);
		memo->capacity = bytes;
	}
	memo->bytes = 0;			/* not valid until encoded */
	memcpy(memo->model_id, model->model_id, RS_MODEL_ID_BYTES);

	n = recsys_read_sequence(model, history, &items, &unknown);
	memo->empty = n == 0;
	if (n > 0)
	{
		scratch = palloc(sizeof(float) * rs_sequence_scratch_floats(model));
		rs_sequence_encode(model, items, n, scratch, memo->encoding, NULL);
		pfree(scratch);
	}
	pfree(items);
	memcpy(memo->array, data, bytes);
	memo->bytes = bytes;
	return memo;
}

/* predict(model, history bigint[], item_id): the item's score after the history */
Datum
recsys_predict_history(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	ArrayType  *history = PG_GETARG_ARRAYTYPE_P(1);
	int32		item;
	history_memo *memo;

	require_sequence(model, "predict(model, history, item_id)");
	item = rs_model_item_index(model, PG_GETARG_INT64(2));
	recsys_check_array(history, "history", "Leave NULL items out of the history.");
	if (item < 0)
		PG_RETURN_NULL();		/* nothing is known of the item */
	memo = encode_at_call_site(fcinfo, model, history);
	if (memo->empty)
		PG_RETURN_FLOAT8((float8) model->item_popularity[item]);
	PG_RETURN_FLOAT8((float8) (model->item_bias[item] +
								cblas_sdot(model->factors, memo->encoding, 1,
										   rs_factor_item_row(model, item), 1)));
}

/*
 * explain(model, history bigint[], item_id, k): the k history entries the
 * last position attended to most in the last block, by weight
 */
Datum
recsys_explain_history(PG_FUNCTION_ARGS)
{
	const rs_model *model;
	ArrayType  *history = PG_GETARG_ARRAYTYPE_P(1);
	int32		k = PG_GETARG_INT32(3);
	int32	   *items;
	int32	   *given_position;
	int			unknown;
	int			n;
	float	   *weights;
	float	   *scratch;
	float	   *encoding;
	rs_scored  *best;
	size_t		count;
	const int64 *ids;
	int			length;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	recsys_check_k(k);
	recsys_init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	require_sequence(model, "explain(model, history, item_id, k)");
	if (rs_model_item_index(model, PG_GETARG_INT64(2)) < 0)
		return (Datum) 0;		/* no score to explain */
	n = recsys_read_sequence(model, history, &items, &unknown);
	if (n == 0)
		return (Datum) 0;		/* nothing the model knows attended to */

	/* each kept item's position in the array as given, 1 the most recent */
	ids = (const int64 *) ARR_DATA_PTR(history);
	length = ArrayGetNItems(ARR_NDIM(history), ARR_DIMS(history));
	given_position = palloc(sizeof(int32) * n);
	for (int p = length - 1, kept = 0; p >= 0; p--)
		if (rs_model_item_index(model, ids[p]) >= 0)
			given_position[kept++] = p + 1;

	weights = palloc(sizeof(float) * n);
	scratch = palloc(sizeof(float) * (rs_sequence_scratch_floats(model) + model->factors));
	encoding = scratch + rs_sequence_scratch_floats(model);
	rs_sequence_encode(model, items, n, scratch, encoding, weights);

	best = palloc(sizeof(rs_scored) * Min((size_t) k, (size_t) n));
	count = rs_top_k(weights, n, NULL, 0, (size_t) k, best);
	for (size_t r = 0; r < count; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		int			at = best[r].index;

		values[0] = Int64GetDatum(model->item_ids[items[at]]);
		values[1] = Int32GetDatum(given_position[at]);
		values[2] = Float8GetDatum((float8) weights[at]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
