/*
 * interactions_agg.c - transition, combine, serialise and deserialise
 * functions shared by every aggregate that trains on (user, item, value)
 * rows.  Each train_* aggregate differs only in its final function.
 *
 * The transition appends to growable typed arrays in the aggregate context;
 * with combine/serialise/deserialise, parallel workers collect rows in
 * parallel and the leader concatenates their buffers.
 */
#include "interactions_agg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(recsys_interactions_trans);
PG_FUNCTION_INFO_V1(recsys_interactions_combine);
PG_FUNCTION_INFO_V1(recsys_interactions_serialize);
PG_FUNCTION_INFO_V1(recsys_interactions_deserialize);

static interactions_state *
new_state(MemoryContext context)
{
	return MemoryContextAllocZero(context, sizeof(interactions_state));
}

static void
out_of_memory(size_t rows)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory collecting training rows"),
			 errdetail("%zu rows were collected.", rows),
			 errhint("Train on a sample of the rows (TABLESAMPLE, or a WHERE on a hash of the user), or on a server with more memory.")));
}

interactions_state *
recsys_interactions_state(FunctionCallInfo fcinfo)
{
	recsys_aggregate_context(fcinfo);
	return PG_ARGISNULL(0) ? NULL : (interactions_state *) PG_GETARG_POINTER(0);
}

/*
 * The type of the rows' value: (state, user, item, value, ...), the value
 * real or double precision, or (state, user, item [, options]) with none
 * (InvalidOid).  Looked up once per call site, not per row.
 */
static Oid
row_value_type(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
	{
		Oid		   *type = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid));
		Oid			fourth = PG_NARGS() >= 4 ? get_fn_expr_argtype(fcinfo->flinfo, 3) : InvalidOid;

		*type = fourth == FLOAT4OID || fourth == FLOAT8OID ? fourth : InvalidOid;
		fcinfo->flinfo->fn_extra = type;
	}
	return *(Oid *) fcinfo->flinfo->fn_extra;
}

bool
recsys_interactions_take_row(interactions_state *state, FunctionCallInfo fcinfo,
							 MemoryContext context)
{
	Oid			value_type = row_value_type(fcinfo);
	bool		has_value = OidIsValid(value_type);
	rs_allocator alloc;
	float4		value = 1.0f;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || (has_value && PG_ARGISNULL(3)))
	{
		state->buffer.skipped++;
		return false;
	}
	if (value_type == FLOAT4OID)
		value = PG_GETARG_FLOAT4(3);
	else if (value_type == FLOAT8OID)
		value = recsys_value_as_real(PG_GETARG_FLOAT8(3), "training value");
	if (!isfinite(value))
		recsys_not_finite("training value must be a finite number",
						  psprintf("User " INT64_FORMAT ", item " INT64_FORMAT " has value %s.",
								   PG_GETARG_INT64(1), PG_GETARG_INT64(2),
								   isnan(value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity")),
						  "Leave such rows out in the query, for example with WHERE value > '-Infinity' AND value < 'Infinity'.");

	alloc = recsys_context_allocator(context);
	if (!rs_buffer_append(&state->buffer, &alloc, PG_GETARG_INT64(1), PG_GETARG_INT64(2), value))
		out_of_memory(state->buffer.count);
	return true;
}

/*
 * (state, user_id bigint, item_id bigint, value real or double precision
 * [, options jsonb]), or without the value (interactions of weight 1): the
 * SQL declarations tell the forms apart by the type of the fourth argument.
 */
Datum
recsys_interactions_trans(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	interactions_state *state = PG_ARGISNULL(0) ? NULL :
		(interactions_state *) PG_GETARG_POINTER(0);

	if (state == NULL)
		state = new_state(context);
	recsys_row_options_take(&state->options, fcinfo,
							OidIsValid(row_value_type(fcinfo)) ? 4 : 3, context);
	recsys_interactions_take_row(state, fcinfo, context);
	PG_RETURN_POINTER(state);
}

void
recsys_interactions_merge(interactions_state *into, const interactions_state *from,
						  MemoryContext context)
{
	rs_allocator alloc = recsys_context_allocator(context);

	recsys_row_options_combine(&into->options, &from->options, context);
	if (!rs_buffer_append_buffer(&into->buffer, &alloc, &from->buffer))
		out_of_memory(into->buffer.count);
}

Datum
recsys_interactions_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	interactions_state *into = PG_ARGISNULL(0) ? NULL : (interactions_state *) PG_GETARG_POINTER(0);
	interactions_state *from = PG_ARGISNULL(1) ? NULL : (interactions_state *) PG_GETARG_POINTER(1);

	if (from == NULL)
	{
		if (into == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(into);
	}
	if (into == NULL)
		into = new_state(context);
	recsys_interactions_merge(into, from, context);
	PG_RETURN_POINTER(into);
}

/* Serialised form: header, options jsonb (if any), then the three arrays. */
typedef struct serialized_header
{
	uint64		count;
	int64		skipped;
	uint32		options_size;
	uint32		options_seen;
} serialized_header;

#define ROW_BYTES (2 * sizeof(int64) + sizeof(float4))

static char *
put(char *p, const void *data, Size size)
{
	if (size > 0)
		memcpy(p, data, size);
	return p + size;
}

Size
recsys_interactions_serialized_size(const interactions_state *state)
{
	Size		options_size = state->options.options ? VARSIZE(state->options.options) : 0;

	return sizeof(serialized_header) + options_size + state->buffer.count * ROW_BYTES;
}

char *
recsys_interactions_write(const interactions_state *state, char *p)
{
	serialized_header header = {0};
	Size		rows = state->buffer.count;

	header.count = rows;
	header.skipped = state->buffer.skipped;
	header.options_size = state->options.options ? VARSIZE(state->options.options) : 0;
	header.options_seen = state->options.seen;
	p = put(p, &header, sizeof(header));
	p = put(p, state->options.options, header.options_size);
	p = put(p, state->buffer.users, rows * sizeof(int64));
	p = put(p, state->buffer.items, rows * sizeof(int64));
	return put(p, state->buffer.values, rows * sizeof(float4));
}

static void
invalid(void)
{
	elog(ERROR, "invalid serialized recsys aggregate state");
}

void
recsys_interactions_read(interactions_state *state, const char *p, Size len,
						 MemoryContext context)
{
	rs_allocator alloc = recsys_context_allocator(context);
	serialized_header header;
	Size		rows;

	if (len < sizeof(header))
		invalid();
	memcpy(&header, p, sizeof(header));
	rows = header.count;
	if (header.options_size > len - sizeof(header) ||
		rows > (len - sizeof(header) - header.options_size) / ROW_BYTES ||
		len != sizeof(header) + header.options_size + rows * ROW_BYTES ||
		header.skipped < 0 || (header.options_size != 0 && header.options_size < VARHDRSZ))
		invalid();
	p += sizeof(header);
	state->options.seen = header.options_seen != 0;
	if (header.options_size)
	{
		state->options.options = MemoryContextAlloc(context, header.options_size);
		memcpy(state->options.options, p, header.options_size);
		if (VARSIZE(state->options.options) != header.options_size)
			invalid();
		p += header.options_size;
	}
	if (rows > 0)
	{
		if (!rs_buffer_reserve(&state->buffer, &alloc, rows))
			out_of_memory(rows);
		memcpy(state->buffer.users, p, rows * sizeof(int64));
		p += rows * sizeof(int64);
		memcpy(state->buffer.items, p, rows * sizeof(int64));
		p += rows * sizeof(int64);
		memcpy(state->buffer.values, p, rows * sizeof(float4));
	}
	state->buffer.count = rows;
	state->buffer.skipped = header.skipped;
}

Datum
recsys_interactions_serialize(PG_FUNCTION_ARGS)
{
	interactions_state *state = (interactions_state *) PG_GETARG_POINTER(0);
	Size		size;
	bytea	   *out;

	recsys_aggregate_context(fcinfo);
	size = VARHDRSZ + recsys_interactions_serialized_size(state);
	recsys_check_serialized_size(size);
	out = palloc(size);
	SET_VARSIZE(out, size);
	recsys_interactions_write(state, VARDATA(out));
	PG_RETURN_BYTEA_P(out);
}

Datum
recsys_interactions_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	interactions_state *state = new_state(context);

	recsys_interactions_read(state, VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), context);
	PG_RETURN_POINTER(state);
}
