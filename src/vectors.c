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
	int			length;
	const float *row;

	recsys_require(model, user_vector, "user_vector");
	user = rs_model_user_index(model, PG_GETARG_INT64(1));
	if (user < 0)
		PG_RETURN_NULL();
	row = rs_kind_of(model->algorithm)->user_vector(model, user, &length);
	PG_RETURN_DATUM(factor_array(row, length));
}

Datum
recsys_item_vector(PG_FUNCTION_ARGS)
{
	const rs_model *model = recsys_model_arg(fcinfo, 0);
	int32		item;
	int			length;
	const float *row;

	recsys_require(model, item_vector, "item_vector");
	item = rs_model_item_index(model, PG_GETARG_INT64(1));
	if (item < 0)
		PG_RETURN_NULL();
	row = rs_kind_of(model->algorithm)->item_vector(model, item, &length);
	PG_RETURN_DATUM(factor_array(row, length));
}
