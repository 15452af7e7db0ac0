/*
 * features_agg.c - transition, combine, serialise and deserialise functions
 * of the aggregates that train on (features real[], label real) rows.
 *
 * Rows are appended to one growable float matrix in the aggregate context;
 * every feature array must have the length of the first.
 */
#include "features_agg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/memutils.h"


PG_FUNCTION_INFO_V1(recsys_features_trans);
PG_FUNCTION_INFO_V1(recsys_features_combine);
PG_FUNCTION_INFO_V1(recsys_features_serialize);
PG_FUNCTION_INFO_V1(recsys_features_deserialize);

features_state *
recsys_features_state(FunctionCallInfo fcinfo)
{
	recsys_aggregate_context(fcinfo);
	return PG_ARGISNULL(0) ? NULL : (features_state *) PG_GETARG_POINTER(0);
}

static void
set_dims(features_state *state, int32 dims)
{
	if (state->dims == 0)
		state->dims = dims;
	else if (state->dims != dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature arrays have different lengths: %d and %d", state->dims, dims),
				 errdetail("Every row must have as many features as the first.")));
}

/* Room for `more` rows; sizes double, so appends are amortised O(1). */
static void
reserve_rows(features_state *state, MemoryContext context, Size more)
{
	Size		want = state->count + more;
	Size		capacity = state->capacity ? state->capacity : 1024;

	if (want <= state->capacity)
		return;
	while (capacity < want)
		capacity *= 2;
	if (state->rows == NULL)
	{
		state->rows = MemoryContextAllocHuge(context, sizeof(float) * capacity * state->dims);
		state->labels = MemoryContextAllocHuge(context, sizeof(float) * capacity);
	}
	else
	{
		state->rows = repalloc_huge(state->rows, sizeof(float) * capacity * state->dims);
		state->labels = repalloc_huge(state->labels, sizeof(float) * capacity);
	}
	state->capacity = capacity;
}

/* Whether the label is double precision, looked up once per call site. */
static bool
label_is_double(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
	{
		bool	   *is_double = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(bool));

		*is_double = get_fn_expr_argtype(fcinfo->flinfo, 2) == FLOAT8OID;
		fcinfo->flinfo->fn_extra = is_double;
	}
	return *(bool *) fcinfo->flinfo->fn_extra;
}

/*
 * (state, features real[], label real or double precision [, options jsonb])
 */
Datum
recsys_features_trans(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	features_state *state = PG_ARGISNULL(0) ? NULL : (features_state *) PG_GETARG_POINTER(0);
	ArrayType  *features;
	const float4 *values;
	float4		label;
	int			dims;

	if (state == NULL)
		state = MemoryContextAllocZero(context, sizeof(features_state));
	recsys_row_options_take(&state->options, fcinfo, 3, context);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		state->skipped++;
		PG_RETURN_POINTER(state);
	}

	features = PG_GETARG_ARRAYTYPE_P(1);
	label = label_is_double(fcinfo) ?
		recsys_value_as_real(PG_GETARG_FLOAT8(2), "label") : PG_GETARG_FLOAT4(2);
	dims = ArrayGetNItems(ARR_NDIM(features), ARR_DIMS(features));
	recsys_check_array(features, "features",
					   "Give missing features a value in the query, for example coalesce(feature, 0), or leave those rows out.");
	if (dims == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must not be an empty array")));
	if (dims > RS_MODEL_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many features: %d", dims),
				 errdetail("At most %d features are supported.", RS_MODEL_MAX_FEATURES)));
	set_dims(state, dims);
	values = (const float4 *) ARR_DATA_PTR(features);
	for (int k = 0; k < dims; k++)
		if (!isfinite(values[k]))
			recsys_not_finite("feature values must be finite numbers",
							  psprintf("Feature %d is %g.", k + 1, values[k]),
							  "Leave such rows out in the query, or replace the values there.");
	if (!isfinite(label))
		recsys_not_finite("labels must be finite numbers", NULL, NULL);

	reserve_rows(state, context, 1);
	memcpy(state->rows + state->count * dims, values, sizeof(float) * dims);
	state->labels[state->count++] = label;
	PG_RETURN_POINTER(state);
}

Datum
recsys_features_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	features_state *into = PG_ARGISNULL(0) ? NULL : (features_state *) PG_GETARG_POINTER(0);
	features_state *from = PG_ARGISNULL(1) ? NULL : (features_state *) PG_GETARG_POINTER(1);

	if (from == NULL)
	{
		if (into == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(into);
	}
	if (into == NULL)
		into = MemoryContextAllocZero(context, sizeof(features_state));
	recsys_row_options_combine(&into->options, &from->options, context);
	into->skipped += from->skipped;
	if (from->count > 0)
	{
		set_dims(into, from->dims);
		reserve_rows(into, context, from->count);
		memcpy(into->rows + into->count * into->dims, from->rows,
			   sizeof(float) * from->count * from->dims);
		memcpy(into->labels + into->count, from->labels, sizeof(float) * from->count);
		into->count += from->count;
	}
	PG_RETURN_POINTER(into);
}

typedef struct serialized_header
{
	uint64		count;
	int64		skipped;
	int32		dims;
	uint32		options_size;
	uint32		options_seen;
	uint32		padding;
} serialized_header;

Datum
recsys_features_serialize(PG_FUNCTION_ARGS)
{
	features_state *state = (features_state *) PG_GETARG_POINTER(0);
	serialized_header header = {state->count, state->skipped, state->dims,
		state->options.options ? VARSIZE(state->options.options) : 0,
	state->options.seen, 0};
	Size		data = sizeof(float) * state->count * ((Size) state->dims + 1);
	Size		size = VARHDRSZ + sizeof(header) + header.options_size + data;
	bytea	   *out;
	char	   *p;

	recsys_aggregate_context(fcinfo);
	recsys_check_serialized_size(size);
	out = palloc(size);
	SET_VARSIZE(out, size);
	p = VARDATA(out);
	memcpy(p, &header, sizeof(header));
	p += sizeof(header);
	if (header.options_size)
		memcpy(p, state->options.options, header.options_size);
	p += header.options_size;
	if (state->count > 0)
	{
		memcpy(p, state->rows, sizeof(float) * state->count * state->dims);
		p += sizeof(float) * state->count * state->dims;
		memcpy(p, state->labels, sizeof(float) * state->count);
	}
	PG_RETURN_BYTEA_P(out);
}

Datum
recsys_features_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(in);
	Size		len = VARSIZE_ANY_EXHDR(in);
	features_state *state = MemoryContextAllocZero(context, sizeof(features_state));
	serialized_header header;

	if (len < sizeof(header))
		elog(ERROR, "invalid serialized recsys aggregate state");
	memcpy(&header, p, sizeof(header));
	if (header.dims < 0 || header.dims > RS_MODEL_MAX_FEATURES ||
		header.options_size > len - sizeof(header) ||
		header.count > (len - sizeof(header) - header.options_size) / sizeof(float) ||
		len != sizeof(header) + header.options_size +
		sizeof(float) * header.count * ((Size) header.dims + 1))
		elog(ERROR, "invalid serialized recsys aggregate state");
	p += sizeof(header);
	state->options.seen = header.options_seen != 0;
	if (header.options_size)
	{
		state->options.options = MemoryContextAlloc(context, header.options_size);
		memcpy(state->options.options, p, header.options_size);
		p += header.options_size;
	}
	state->dims = header.dims;
	state->skipped = header.skipped;
	if (header.count > 0)
	{
		reserve_rows(state, context, header.count);
		memcpy(state->rows, p, sizeof(float) * header.count * header.dims);
		p += sizeof(float) * header.count * header.dims;
		memcpy(state->labels, p, sizeof(float) * header.count);
		state->count = header.count;
	}
	PG_RETURN_POINTER(state);
}
