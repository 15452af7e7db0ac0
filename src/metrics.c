/*
 * metrics.c - ndcg, precision_at_k, recall_at_k, hit_rate and
 * average_precision: the two id arrays checked and handed to the engine.
 *
 * The recommended ids are read in place (an int8 array without nulls is a
 * plain int64 vector); the relevant ids are copied, sorted and deduplicated
 * once per call.
 */
#include "recsys.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "core/ranking_metrics.h"

PG_FUNCTION_INFO_V1(recsys_ndcg);
PG_FUNCTION_INFO_V1(recsys_precision_at_k);
PG_FUNCTION_INFO_V1(recsys_recall_at_k);
PG_FUNCTION_INFO_V1(recsys_hit_rate);
PG_FUNCTION_INFO_V1(recsys_average_precision);

/*
 * The ids of a bigint[] argument: one-dimensional (or empty), without nulls.
 * Sets *count; the pointer is into the (detoasted) array itself.
 */
static const int64 *
id_array_arg(FunctionCallInfo fcinfo, int argno, const char *arg_name,
			 const char *function_name, size_t *count)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(argno);

	if (ARR_ELEMTYPE(array) != INT8OID)
		elog(ERROR, "argument \"%s\" of %s must be a bigint array", arg_name,
			 function_name);
	recsys_check_array(array, psprintf("argument \"%s\" of %s", arg_name, function_name),
					   NULL);
	*count = (size_t) ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	return (const int64 *) ARR_DATA_PTR(array);
}

/*
 * Computes the metrics of (recommended, relevant, k).  Returns false when they
 * are undefined because relevant is empty: the SQL result is then NULL.
 */
static bool
ranking_metrics(FunctionCallInfo fcinfo, const char *function_name,
				rs_ranking_metrics *out)
{
	int32		k = PG_GETARG_INT32(2);
	const int64 *recommended;
	const int64 *relevant_arg;
	int64	   *relevant;
	size_t		n_recommended,
				n_relevant;
	rs_allocator alloc = recsys_context_allocator(CurrentMemoryContext);

	recsys_check_k(k);
	recommended = id_array_arg(fcinfo, 0, "recommended", function_name, &n_recommended);
	relevant_arg = id_array_arg(fcinfo, 1, "relevant", function_name, &n_relevant);
	if (n_relevant == 0)
		return false;

	relevant = palloc(n_relevant * sizeof(int64));
	memcpy(relevant, relevant_arg, n_relevant * sizeof(int64));
	n_relevant = rs_sort_unique_ids(relevant, n_relevant);

	recsys_raise_status(rs_ranking_metrics_compute(recommended, n_recommended,
												   relevant, n_relevant, k,
												   &alloc, out),
						function_name);
	pfree(relevant);
	return true;
}

Datum
recsys_ndcg(PG_FUNCTION_ARGS)
{
	rs_ranking_metrics m;

	if (!ranking_metrics(fcinfo, "ndcg", &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.ndcg);
}

Datum
recsys_precision_at_k(PG_FUNCTION_ARGS)
{
	rs_ranking_metrics m;

	if (!ranking_metrics(fcinfo, "precision_at_k", &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.precision);
}

Datum
recsys_recall_at_k(PG_FUNCTION_ARGS)
{
	rs_ranking_metrics m;

	if (!ranking_metrics(fcinfo, "recall_at_k", &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.recall);
}

Datum
recsys_hit_rate(PG_FUNCTION_ARGS)
{
	rs_ranking_metrics m;

	if (!ranking_metrics(fcinfo, "hit_rate", &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.hit_rate);
}

Datum
recsys_average_precision(PG_FUNCTION_ARGS)
{
	rs_ranking_metrics m;

	if (!ranking_metrics(fcinfo, "average_precision", &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.average_precision);
}
