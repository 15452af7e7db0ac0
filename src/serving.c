/*
 * serving.c - predict, recommend (for a known user, or for a history folded
 * in at query time) and similar_items: decoded model from the cache, score
 * with the engine, return rows.
 */
#include "recsys.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "core/scoring.h"

PG_FUNCTION_INFO_V1(recsys_predict);
PG_FUNCTION_INFO_V1(recsys_predict_features);
PG_FUNCTION_INFO_V1(recsys_recommend);
PG_FUNCTION_INFO_V1(recsys_recommend_history);
PG_FUNCTION_INFO_V1(recsys_recommend_items);
PG_FUNCTION_INFO_V1(recsys_recommend_batch);
PG_FUNCTION_INFO_V1(recsys_similar_items);

void
recsys_require_operation(const rs_model *model, size_t offset, const char *function_name)
{
	const rs_kind *kind = rs_kind_of(model->algorithm);
	void		(*const *op) (void) = (void (*const *) (void)) ((const char *) kind + offset);
	char		kinds[256];

	if (*op != NULL)
		return;
	rs_kinds_supporting(offset, kinds, sizeof(kinds));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s is not supported for %s models", function_name, kind->name),
			 errhint("These kinds of model support it: %s.", kinds)));
}

void
recsys_require_users(const rs_model *model, const char *function_name)
{
	if (rs_model_keeps_users(model))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s is not supported for a model without users", function_name),
			 errdetail("The model was trained with \"users\": \"fold_in\": it keeps the items alone."),
			 errhint("Pass the user's history: recommend(model, item_ids, values, k).")));
}

/* predict(model, features real[]): the network's output for one vector */
Datum
recsys_predict_features(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	ArrayType  *features = PG_GETARG_ARRAYTYPE_P(1);
	int			n = ArrayGetNItems(ARR_NDIM(features), ARR_DIMS(features));
	const float4 *values = (const float4 *) ARR_DATA_PTR(features);
	float		stack_scratch[2048];
	float	   *scratch;

	recsys_require(model, predict_features, "predict(model, features)");
	recsys_check_array(features, "features", NULL);
	if (n != rs_feature_count(model))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("feature vector has %d elements, the model expects %d",
						n, rs_feature_count(model))));
	for (int k = 0; k < n; k++)
		if (!isfinite(values[k]))
			recsys_not_finite("feature values must be finite numbers",
							  psprintf("Feature %d is %g.", k + 1, values[k]), NULL);
	/* called once per row: no allocation unless the network is very wide */
	if (rs_feature_scratch_floats(model) <= lengthof(stack_scratch))
		scratch = stack_scratch;
	else
		scratch = palloc(sizeof(float) * rs_feature_scratch_floats(model));
	PG_RETURN_FLOAT8(rs_predict_features(model, values, scratch));
}

Datum
recsys_predict(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	int32		user;
	int32		item;
	double		score;

	recsys_require(model, predict, "predict(model, user_id, item_id)");
	recsys_require_users(model, "predict(model, user_id, item_id)");
	user = rs_model_user_index(model, PG_GETARG_INT64(1));
	item = rs_model_item_index(model, PG_GETARG_INT64(2));
	score = rs_predict(model, user, item);

	/* ranking models have no score for ids they never saw */
	if (isnan(score))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(score);
}

Datum
recsys_recommend(PG_FUNCTION_ARGS)
{
	int32		k = PG_GETARG_INT32(2);
	bool		exclude_seen = PG_GETARG_BOOL(3);
	const rs_model *model;
	const int32 *seen = NULL;
	size_t		n_seen = 0;
	int32		user;
	float	   *scores;
	rs_allocator alloc = recsys_context_allocator(CurrentMemoryContext);

	recsys_check_k(k);
	recsys_init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	recsys_require(model, score_items, "recommend");
	recsys_require_users(model, "recommend(model, user_id, k)");
	user = rs_model_user_index(model, PG_GETARG_INT64(1));
	if (exclude_seen)
		seen = rs_seen_items(model, user, &n_seen);

	scores = palloc(sizeof(float) * ((size_t) model->n_items + 1));
	recsys_raise_status(rs_score_items(model, user, &alloc, scores), "scoring items");
	recsys_emit_top_k(fcinfo, model, scores, seen, n_seen, k);
	pfree(scores);
	return (Datum) 0;
}

/*
 * Scores for this many users at a time: a block of scores of about 32 MB,
 * so that one matrix product covers many users without a large allocation.
 */
#define BATCH_SCORE_BYTES ((size_t) 32 * 1024 * 1024)

Datum
recsys_recommend_batch(PG_FUNCTION_ARGS)
{
	ArrayType  *user_ids = PG_GETARG_ARRAYTYPE_P(1);
	int32		k = PG_GETARG_INT32(2);
	bool		exclude_seen = PG_GETARG_BOOL(3);
	const rs_model *model;
	const int64 *ids;
	int			n;
	size_t		block;
	int32	   *users;
	float	   *scores;
	rs_allocator alloc = recsys_context_allocator(CurrentMemoryContext);

	recsys_check_k(k);
	recsys_check_array(user_ids, "user_ids", NULL);
	recsys_init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	recsys_require(model, score_items_batch, "recommend_batch");
	recsys_require_users(model, "recommend_batch");
	n = ArrayGetNItems(ARR_NDIM(user_ids), ARR_DIMS(user_ids));
	ids = (const int64 *) ARR_DATA_PTR(user_ids);

	block = Max((size_t) 1, BATCH_SCORE_BYTES / (sizeof(float) * ((size_t) model->n_items + 1)));
	block = Min(block, (size_t) Max(n, 1));
	users = palloc(sizeof(int32) * block);
	scores = palloc(sizeof(float) * block * (size_t) model->n_items + sizeof(float));
	for (size_t start = 0; start < (size_t) n; start += block)
	{
		size_t		count = Min(block, (size_t) n - start);

		CHECK_FOR_INTERRUPTS();
		for (size_t r = 0; r < count; r++)
			users[r] = rs_model_user_index(model, ids[start + r]);
		recsys_raise_status(rs_score_items_batch(model, users, count, &alloc, scores),
							"scoring items");
		for (size_t r = 0; r < count; r++)
		{
			const int32 *seen = NULL;
			size_t		n_seen = 0;

			if (exclude_seen)
				seen = rs_seen_items(model, users[r], &n_seen);
			recsys_emit_user_top_k(fcinfo, ids[start + r], model,
								   scores + r * (size_t) model->n_items, seen, n_seen, k);
		}
	}
	pfree(users);
	pfree(scores);
	return (Datum) 0;
}

typedef struct history_entry
{
	int32		item;
	float		value;
} history_entry;

static int
compare_history(const void *a, const void *b)
{
	int32		x = ((const history_entry *) a)->item;
	int32		y = ((const history_entry *) b)->item;

	return (x > y) - (x < y);
}

int
recsys_read_history(const rs_model *model, ArrayType *item_ids, ArrayType *values,
			 int32 **items_out, float **values_out, int *unknown)
{
	static const float4 one = 1.0f;
	int			n = ArrayGetNItems(ARR_NDIM(item_ids), ARR_DIMS(item_ids));
	const int64 *ids;
	const float4 *vals = NULL;
	history_entry *entries;
	int			kept = 0,
				out = 0;

	recsys_check_array(item_ids, "item_ids", NULL);
	if (values)
	{
		int			n_values = ArrayGetNItems(ARR_NDIM(values), ARR_DIMS(values));

		recsys_check_array(values, "values", NULL);
		if (n != n_values)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("item_ids and values must have the same length"),
					 errdetail("item_ids has %d elements and values has %d.", n, n_values)));
		vals = (const float4 *) ARR_DATA_PTR(values);
	}
	ids = (const int64 *) ARR_DATA_PTR(item_ids);
	entries = palloc(sizeof(history_entry) * (n + 1));
	*unknown = 0;
	for (int k = 0; k < n; k++)
	{
		int32		item;

		float4		value = vals ? vals[k] : one;

		if (!isfinite(value))
			recsys_not_finite("history values must be finite numbers",
							  psprintf("Item " INT64_FORMAT " has value %g.", ids[k], value),
							  NULL);
		if (value < 0 && rs_model_takes_strengths(model))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("implicit feedback values must not be negative"),
					 errdetail("Item " INT64_FORMAT " has value %g.", ids[k], value)));
		item = rs_model_item_index(model, ids[k]);
		if (item < 0)
		{
			(*unknown)++;
			continue;
		}
		entries[kept].item = item;
		entries[kept].value = value;
		kept++;
	}
	qsort(entries, kept, sizeof(history_entry), compare_history);

	*items_out = palloc(sizeof(int32) * (kept + 1));
	*values_out = palloc(sizeof(float) * (kept + 1));
	for (int k = 0; k < kept;)
	{
		int			same = k + 1;
		double		sum = entries[k].value;

		while (same < kept && entries[same].item == entries[k].item)
			sum += entries[same++].value;
		(*items_out)[out] = entries[k].item;
		(*values_out)[out] = (float) (sum / (same - k));
		out++;
		k = same;
	}
	pfree(entries);
	return out;
}

/* A user's top k from a history (values NULL: every value 1), folded in. */
static void
recommend_history(FunctionCallInfo fcinfo, ArrayType *item_ids, ArrayType *values, int32 k,
				  const char *function_name)
{
	const rs_model *model;
	int32	   *items;
	float	   *history_values;
	float	   *scores;
	int			unknown;
	int			n;
	rs_allocator alloc = recsys_context_allocator(CurrentMemoryContext);

	recsys_check_k(k);
	recsys_init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	recsys_require(model, score_history, function_name);
	if (rs_kind_of(model->algorithm)->sequential)
	{
		if (values != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s is not supported for %s models", function_name,
							rs_algorithm_name(model->algorithm)),
					 errdetail("A sequence model reads the order of a history, not values."),
					 errhint("Pass the history alone, most recent first: recommend(model, item_ids, k).")));
		recsys_recommend_sequence(fcinfo, model, item_ids, k);
		return;
	}
	if (values == NULL && rs_model_predicts_unknown(model))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s is not supported for %s models of ratings", function_name,
						rs_algorithm_name(model->algorithm)),
				 errdetail("A model of ratings needs the rating of every history item."),
				 errhint("Pass them: recommend(model, item_ids, values, k).")));
	n = recsys_read_history(model, item_ids, values, &items, &history_values, &unknown);
	if (unknown > 0)
		ereport(NOTICE,
				(errmsg("%d of %d history items are not in the model and were ignored",
						unknown, unknown + n)));

	scores = palloc(sizeof(float) * ((size_t) model->n_items + 1));
	recsys_raise_status(rs_score_history(model, items, history_values, n, &alloc, scores),
						"scoring the history");
	recsys_emit_top_k(fcinfo, model, scores, items, n, k);
}

/* recommend(model, item_ids bigint[], values real[], k): fold in a history */
Datum
recsys_recommend_history(PG_FUNCTION_ARGS)
{
	recommend_history(fcinfo, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2),
					  PG_GETARG_INT32(3), "recommend(model, item_ids, values, k)");
	return (Datum) 0;
}

/* recommend(model, item_ids bigint[], k): a history of items alone */
Datum
recsys_recommend_items(PG_FUNCTION_ARGS)
{
	recommend_history(fcinfo, PG_GETARG_ARRAYTYPE_P(1), NULL, PG_GETARG_INT32(2),
					  "recommend(model, item_ids, k)");
	return (Datum) 0;
}

Datum
recsys_similar_items(PG_FUNCTION_ARGS)
{
	int32		k = PG_GETARG_INT32(2);
	const rs_model *model;
	int32		item;
	float	   *scores;

	recsys_check_k(k);
	recsys_init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	recsys_require(model, similar, "similar_items");
	item = rs_model_item_index(model, PG_GETARG_INT64(1));
	if (item < 0)
		return (Datum) 0;		/* nothing is known of the item */

	/* the answers may be fewer than k asks for (an item model's stored neighbours) */
	scores = palloc(sizeof(float) * ((size_t) model->n_items + 1));
	k = (int32) Min((size_t) k, rs_similar_items(model, item, scores));
	if (k > 0)
		recsys_emit_top_k(fcinfo, model, scores, &item, 1, k);
	pfree(scores);
	return (Datum) 0;
}
