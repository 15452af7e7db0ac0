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

/* The embedding of argument 1, a user or an item id; NULL for an unknown one. */
static Datum
vector_of(FunctionCallInfo fcinfo, bool of_user)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	const rs_kind *kind = rs_kind_of(model->algorithm);
	int64		id = PG_GETARG_INT64(1);
	int32		index;
	int			length;
	const float *row;

	if (of_user)
	{
		recsys_require(model, user_vector, "user_vector");
		recsys_require_users(model, "user_vector");
	}
	else
		recsys_require(model, item_vector, "item_vector");
	index = of_user ? rs_model_user_index(model, id) : rs_model_item_index(model, id);
	if (index < 0)
		PG_RETURN_NULL();
	row = of_user ? kind->user_vector(model, index, &length) :
		kind->item_vector(model, index, &length);
	PG_RETURN_DATUM(factor_array(row, length));
}

Datum
recsys_user_vector(PG_FUNCTION_ARGS)
{
	return vector_of(fcinfo, true);
}

Datum
recsys_item_vector(PG_FUNCTION_ARGS)
{
	return vector_of(fcinfo, false);
}
