/*
 * sequence_agg.c - transition, combine, serialise and deserialise functions
 * of train_sequence(user_id, item_id, at timestamptz or bigint [, options]).
 *
 * A timestamptz is an int64 of microseconds, so both forms keep the same
 * number per row; only its order matters.  Rows whose three columns are not
 * all given are skipped and counted, as in every training aggregate.
 */
#include "sequence_agg.h"

#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(recsys_sequence_trans);
PG_FUNCTION_INFO_V1(recsys_sequence_combine);
PG_FUNCTION_INFO_V1(recsys_sequence_serialize);
PG_FUNCTION_INFO_V1(recsys_sequence_deserialize);

static sequence_state *
new_state(MemoryContext context)
{
	return MemoryContextAllocZero(context, sizeof(sequence_state));
}

/* Room for count orders, grown with the rows' buffer. */
static void
reserve_at(sequence_state *state, Size count, MemoryContext context)
{
	Size		capacity = Max(state->at_capacity, 1024);

	if (count <= state->at_capacity)
		return;
	while (capacity < count)
		capacity *= 2;
	state->at = state->at ?
		repalloc_huge(state->at, capacity * sizeof(int64)) :
		MemoryContextAllocHuge(context, capacity * sizeof(int64));
	state->at_capacity = capacity;
}

/* (state, user_id bigint, item_id bigint, at timestamptz or bigint [, options jsonb]) */
Datum
recsys_sequence_trans(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	sequence_state *state = PG_ARGISNULL(0) ? NULL : (sequence_state *) PG_GETARG_POINTER(0);
	rs_allocator alloc;

	if (state == NULL)
		state = new_state(context);
	recsys_row_options_take(&state->base.options, fcinfo, 4, context);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		state->base.buffer.skipped++;
		PG_RETURN_POINTER(state);
	}
	reserve_at(state, state->base.buffer.count + 1, context);
	alloc = recsys_context_allocator(context);
	if (!rs_buffer_append(&state->base.buffer, &alloc, PG_GETARG_INT64(1), PG_GETARG_INT64(2),
						  1.0f))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory collecting training rows"),
				 errdetail("%zu rows were collected.", state->base.buffer.count)));
	state->at[state->base.buffer.count - 1] = PG_GETARG_INT64(3);
	PG_RETURN_POINTER(state);
}

Datum
recsys_sequence_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	sequence_state *into = PG_ARGISNULL(0) ? NULL : (sequence_state *) PG_GETARG_POINTER(0);
	sequence_state *from = PG_ARGISNULL(1) ? NULL : (sequence_state *) PG_GETARG_POINTER(1);
	Size		had;

	if (from == NULL)
	{
		if (into == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(into);
	}
	if (into == NULL)
		into = new_state(context);
	had = into->base.buffer.count;
	reserve_at(into, had + from->base.buffer.count, context);
	recsys_interactions_merge(&into->base, &from->base, context);
	if (from->base.buffer.count > 0)
		memcpy(into->at + had, from->at, from->base.buffer.count * sizeof(int64));
	PG_RETURN_POINTER(into);
}

/* Serialised form: the orders, then the rows as every interaction aggregate writes them. */
Datum
recsys_sequence_serialize(PG_FUNCTION_ARGS)
{
	sequence_state *state = (sequence_state *) PG_GETARG_POINTER(0);
	Size		count = state->base.buffer.count;
	Size		size;
	bytea	   *out;
	char	   *p;
	uint64		header = count;

	recsys_aggregate_context(fcinfo);
	size = VARHDRSZ + sizeof(header) + count * sizeof(int64) +
		recsys_interactions_serialized_size(&state->base);
	recsys_check_serialized_size(size);
	out = palloc(size);
	SET_VARSIZE(out, size);
	p = VARDATA(out);
	memcpy(p, &header, sizeof(header));
	p += sizeof(header);
	if (count > 0)
		memcpy(p, state->at, count * sizeof(int64));
	recsys_interactions_write(&state->base, p + count * sizeof(int64));
	PG_RETURN_BYTEA_P(out);
}

Datum
recsys_sequence_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(in);
	Size		len = VARSIZE_ANY_EXHDR(in);
	sequence_state *state = new_state(context);
	uint64		count;

	if (len < sizeof(count))
		elog(ERROR, "invalid serialized recsys aggregate state");
	memcpy(&count, p, sizeof(count));
	if (count > (len - sizeof(count)) / sizeof(int64))
		elog(ERROR, "invalid serialized recsys aggregate state");
	recsys_interactions_read(&state->base, p + sizeof(count) + count * sizeof(int64),
							 len - sizeof(count) - count * sizeof(int64), context);
	if (state->base.buffer.count != count)
		elog(ERROR, "invalid serialized recsys aggregate state");
	reserve_at(state, count, context);
	if (count > 0)
		memcpy(state->at, p + sizeof(count), count * sizeof(int64));
	PG_RETURN_POINTER(state);
}
