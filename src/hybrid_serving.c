/*
 * hybrid_serving.c - what a model of features adds to serving: users and
 * items given by their tags instead of their ids (a new item, a user who
 * just signed up), and which of an item's tags drive a score.
 *
 * Tags the model has never seen are left out: a newcomer is the sum of its
 * known tags (hybrid.h).  A tag list none of whose tags is known gives no
 * score (NULL) for predict and no vector; recommend then ranks by the item
 * biases alone and says so.
 */
#include "recsys.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "core/factor_model.h"
#include "core/hybrid.h"
#include "core/scoring.h"

PG_FUNCTION_INFO_V1(recsys_predict_item_tags);
PG_FUNCTION_INFO_V1(recsys_user_vector_tags);
PG_FUNCTION_INFO_V1(recsys_item_vector_tags);
PG_FUNCTION_INFO_V1(recsys_recommend_user_tags);
PG_FUNCTION_INFO_V1(recsys_recommend_user_tags_history);
PG_FUNCTION_INFO_V1(recsys_explain_features);

#define STACK_TAGS 64			/* tags a row usually has at most */

/*
 * The dictionary's numbers of a text[]'s tags (-1 for unknown ones), NULLs
 * left out, into numbers (room for STACK_TAGS) or, for more, palloc'd
 * memory; returns how many.  predict calls it per row: the elements are
 * read in place, nothing is copied.
 */
static int
tag_numbers(const rs_tag_table *dictionary, ArrayType *tags, int32 *stack, int32 **numbers)
{
	int			n = ArrayGetNItems(ARR_NDIM(tags), ARR_DIMS(tags));
	const bits8 *nulls = ARR_NULLBITMAP(tags);
	const char *p = ARR_DATA_PTR(tags);
	int			out = 0;

	*numbers = n <= STACK_TAGS ? stack : palloc(sizeof(int32) * n);
	for (int k = 0; k < n; k++)
	{
		if (nulls && !(nulls[k / 8] & (1 << (k % 8))))
			continue;
		(*numbers)[out++] = rs_tag_find(dictionary, VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p));
		p = att_addlength_pointer(p, -1, p);
		p = (const char *) att_align_nominal(p, TYPALIGN_INT);
	}
	return out;
}

/*
 * The row (factors floats) and bias of a user or item given by tags;
 * returns how many distinct tags the model knows, and in *given how many
 * were given.
 */
static int
row_of_tags(const rs_model *model, bool of_user, ArrayType *tags, float *row, float *bias,
			int *given)
{
	int32		stack[STACK_TAGS];
	int32	   *numbers;
	int			n = tag_numbers(of_user ? &model->user_tags : &model->item_tags, tags, stack,
								&numbers);

	*given = n;
	return rs_kind_of(model->algorithm)->row_of_tags(model, of_user, numbers, n, row, bias);
}

static void
notice_unknown_tags(int known, int given, const char *side)
{
	if (given > known)
		ereport(NOTICE,
				(errmsg("%d of %d %s tags are not in the model and were ignored",
						given - known, given, side),
				 known == 0 ? errdetail("With no known tag, items are ranked by their bias alone.") : 0));
}

/* predict(model, user_id, item_tags text[]): a known user's score for an item given by its tags */
Datum
recsys_predict_item_tags(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	int32		user;
	float		row[RS_MODEL_MAX_FACTORS];
	float		bias;
	int			given;

	recsys_require(model, row_of_tags, "predict(model, user_id, item_tags)");
	recsys_require_users(model, "predict(model, user_id, item_tags)");
	user = rs_model_user_index(model, PG_GETARG_INT64(1));
	if (user < 0)
		PG_RETURN_NULL();
	if (row_of_tags(model, false, PG_GETARG_ARRAYTYPE_P(2), row, &bias, &given) == 0)
		PG_RETURN_NULL();		/* nothing is known of the item */
	{
		const float *x = rs_factor_user_row(model, user);
		double		score = bias;

		/* a model of ratings adds the mean and the user's bias */
		if (rs_model_predicts_unknown(model))
			score += model->global_mean + model->user_bias[user];

		for (int c = 0; c < model->factors; c++)
			score += (double) x[c] * row[c];
		PG_RETURN_FLOAT8(score);
	}
}

static Datum
vector_of_tags(FunctionCallInfo fcinfo, bool of_user)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	Datum	   *elements;
	float	   *row;
	float		bias;
	int			given;

	recsys_require(model, row_of_tags, of_user ? "user_vector(model, user_tags)" :
				   "item_vector(model, item_tags)");
	row = palloc(sizeof(float) * model->factors);
	if (row_of_tags(model, of_user, PG_GETARG_ARRAYTYPE_P(1), row, &bias, &given) == 0)
		PG_RETURN_NULL();
	elements = palloc(sizeof(Datum) * model->factors);
	for (int k = 0; k < model->factors; k++)
		elements[k] = Float4GetDatum(row[k]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elements, model->factors, FLOAT4OID, sizeof(float4),
										  true, TYPALIGN_INT));
}

/* user_vector(model, user_tags text[]) */
Datum
recsys_user_vector_tags(PG_FUNCTION_ARGS)
{
	return vector_of_tags(fcinfo, true);
}

/* item_vector(model, item_tags text[]) */
Datum
recsys_item_vector_tags(PG_FUNCTION_ARGS)
{
	return vector_of_tags(fcinfo, false);
}

/*
 * A newcomer's top k from its tags and, when given, a history folded in
 * from the tags' row (rs_hybrid_fold_in_from).
 */
static void
recommend_user_tags(FunctionCallInfo fcinfo, ArrayType *item_ids, ArrayType *values, int32 k,
					const char *function_name)
{
	const rs_model *model;
	float	   *prior;
	float	   *row;
	float	   *scores;
	float		bias;
	int32	   *items = NULL;
	float	   *history_values = NULL;
	int			n = 0,
				unknown_items = 0,
				known,
				given;
	rs_allocator alloc = recsys_context_allocator(CurrentMemoryContext);

	recsys_check_k(k);
	recsys_init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	recsys_require(model, row_of_tags, function_name);
	prior = palloc(sizeof(float) * model->factors);
	row = palloc(sizeof(float) * model->factors);
	known = row_of_tags(model, true, PG_GETARG_ARRAYTYPE_P(1), prior, &bias, &given);
	if (item_ids)
	{
		n = recsys_read_history(model, item_ids, values, &items, &history_values,
								&unknown_items);
		if (unknown_items > 0)
			ereport(NOTICE,
					(errmsg("%d of %d history items are not in the model and were ignored",
							unknown_items, unknown_items + n)));
	}
	if (n == 0)
		notice_unknown_tags(known, given, "user");
	else if (given > known)
		ereport(NOTICE,
				(errmsg("%d of %d user tags are not in the model and were ignored",
						given - known, given)));
	recsys_raise_status(rs_hybrid_fold_in_from(model, prior, bias, items, history_values,
											   (size_t) n, &alloc, row, &bias),
						"folding in the history");
	scores = palloc(sizeof(float) * ((size_t) model->n_items + 1));
	recsys_raise_status(rs_score_items_for(model, row, bias, &alloc, scores), "scoring the items");
	recsys_emit_top_k(fcinfo, model, scores, items, (size_t) n, k);
}

/* recommend(model, user_tags text[], k) */
Datum
recsys_recommend_user_tags(PG_FUNCTION_ARGS)
{
	recommend_user_tags(fcinfo, NULL, NULL, PG_GETARG_INT32(2), "recommend(model, user_tags, k)");
	return (Datum) 0;
}

/* recommend(model, user_tags text[], item_ids bigint[], values real[], k) */
Datum
recsys_recommend_user_tags_history(PG_FUNCTION_ARGS)
{
	recommend_user_tags(fcinfo, PG_GETARG_ARRAYTYPE_P(2), PG_GETARG_ARRAYTYPE_P(3),
						PG_GETARG_INT32(4), "recommend(model, user_tags, item_ids, values, k)");
	return (Datum) 0;
}

/* One (feature, contribution) row; a NULL feature for the item's own row. */
static void
emit_feature(FunctionCallInfo fcinfo, const rs_tag_table *dictionary, int32 tag,
			 double contribution)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[2] = {(Datum) 0, Float8GetDatum(contribution)};
	bool		nulls[2] = {tag < 0, false};

	if (tag >= 0)
		values[0] = PointerGetDatum(cstring_to_text_with_len(
															 dictionary->names + dictionary->name_offsets[tag],
															 (int) (dictionary->name_offsets[tag + 1] -
																	dictionary->name_offsets[tag])));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * explain_features(model, user_id, item_id, k): the item's k tags that add
 * most to the user's score, then (feature NULL) what its own row adds.
 */
Datum
recsys_explain_features(PG_FUNCTION_ARGS)
{
	int32		k = PG_GETARG_INT32(3);
	const rs_model *model;
	const rs_kind *kind;
	int32		user;
	int32		item;
	int			n;
	const int32 *tags;
	double	   *contributions;
	double		identity;
	float	   *ranked;
	rs_scored  *best;
	size_t		count;

	recsys_check_k(k);
	recsys_init_materialized(fcinfo);
	model = recsys_model_arg(fcinfo, 0);
	recsys_require(model, explain_features, "explain_features");
	recsys_require_users(model, "explain_features");
	kind = rs_kind_of(model->algorithm);
	user = rs_model_user_index(model, PG_GETARG_INT64(1));
	item = rs_model_item_index(model, PG_GETARG_INT64(2));
	if (user < 0 || item < 0)
		return (Datum) 0;		/* no score to explain */

	tags = rs_hybrid_item_tags(model, item, &n);
	contributions = palloc(sizeof(double) * (n + 1));
	kind->explain_features(model, user, item, contributions, &identity);
	ranked = palloc(sizeof(float) * (n + 1));
	for (int j = 0; j < n; j++)
		ranked[j] = (float) contributions[j];
	best = palloc(sizeof(rs_scored) * Min(k, n + 1));
	count = rs_top_k(ranked, n, NULL, 0, (size_t) k, best);
	for (size_t r = 0; r < count; r++)
		emit_feature(fcinfo, &model->item_tags, tags[best[r].index],
					 contributions[best[r].index]);
	emit_feature(fcinfo, &model->item_tags, -1, identity);
	return (Datum) 0;
}
