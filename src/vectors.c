/*
 * vectors.c - user_vector and item_vector: a model's embeddings as real[],
 * for export (e.g. to a vector index).
 */
#include "recsys.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

PG_FUNCTION_INFO_V1(recsys_user_vector);
PG_FUNCTION_INFO_V1(recsys_item_vector);

static Datum
factor_array(const float *row, int factors)
{
	Datum	   *elements = palloc(sizeof(Datum) * factors);

	for (int k = 0; k < factors; k++)
		elements[k] = Float4GetDatum(row[k]);
	return PointerGetDatum(construct_array(elements, factors, FLOAT4OID,
										   sizeof(float4), true, TYPALIGN_INT));
}

Datum
recsys_user_vector(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	int32		user;

	recsys_require_factor_model(model, "user_vector");
	recsys_reject_model_kind(model, RS_ALGO_KNN, "user_vector",
							 "Item-kNN keeps neighbourhoods, not embeddings: similar_items(model, item_id) gives an item's neighbours.");
	recsys_reject_model_kind(model, RS_ALGO_EASE, "user_vector",
							 "EASE keeps item-item weights, not embeddings: similar_items(model, item_id) gives an item's strongest.");
	user = rs_model_user_index(model, PG_GETARG_INT64(1));
	if (user < 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(factor_array(model->user_factors + (size_t) user * model->factors,
								 model->factors));
}

Datum
recsys_item_vector(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	int32		item;

	recsys_require_factor_model(model, "item_vector");
	recsys_reject_model_kind(model, RS_ALGO_KNN, "item_vector",
							 "Item-kNN keeps neighbourhoods, not embeddings: similar_items(model, item_id) gives an item's neighbours.");
	recsys_reject_model_kind(model, RS_ALGO_EASE, "item_vector",
							 "EASE keeps item-item weights, not embeddings: similar_items(model, item_id) gives an item's strongest.");
	item = rs_model_item_index(model, PG_GETARG_INT64(1));
	if (item < 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(factor_array(model->item_factors + (size_t) item * model->factors,
								 model->factors));
}
