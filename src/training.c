/*
 * training.c - shared steps of the trainers' final functions.
 */
#include "training.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

void
training_begin(training *t, interactions_state *state, int threads, bool verbose,
			   int iterations)
{
	memset(t, 0, sizeof(*t));
	t->started = rs_now();
	/* the statement so far: planning, scanning and the transition function */
	t->collect_seconds = (double) (GetCurrentTimestamp() -
								   GetCurrentStatementStartTimestamp()) / USECS_PER_SEC;
	t->caller = CurrentMemoryContext;
	/* a child of the caller's context: an error frees it with the rest */
	t->work = AllocSetContextCreate(CurrentMemoryContext, "recsys training",
									ALLOCSET_DEFAULT_SIZES);
	recsys_runtime_init(&t->runtime, t->work, threads, verbose, iterations);
	t->skipped = state->buffer.skipped;
	recsys_raise_status(rs_interactions_build(&state->buffer, &t->runtime.alloc, &t->data),
						"collecting interactions");
	if (verbose)
		ereport(NOTICE,
				(errmsg("collected %zu rows in %.3f s, arranged by user and item in %.3f s",
						state->buffer.count, t->collect_seconds, rs_now() - t->started),
				 errdetail("%d users, %d items, %zu distinct pairs.",
						   t->data.n_users, t->data.n_items, t->data.nnz)));
	recsys_runtime_start_clock(&t->runtime);
}

/*
 * Implicit feedback values are strengths (counts, durations, confidence
 * weights): a negative one has no meaning.
 */
void
training_check_non_negative(const rs_interaction_buffer *buffer)
{
	for (size_t r = 0; r < buffer->count; r++)
		if (buffer->values[r] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("implicit feedback values must not be negative"),
					 errdetail("User " INT64_FORMAT ", item " INT64_FORMAT " has value %g.",
							   buffer->users[r], buffer->items[r], buffer->values[r]),
					 errhint("Ratings take {\"feedback\": \"explicit\"}.")));
}

/* The model's description: what model_info shows besides the header. */
static void
describe(StringInfo buf, training *t, const rs_option_spec *specs, int n_specs,
		 const double *options, const training_widths *widths, const double *loss,
		 int iterations)
{
	char		created[MAXDATELEN + 1];

	recsys_json_now(created);
	appendStringInfoString(buf, "{\"options\": ");
	if (widths)
		recsys_append_options_with_widths(buf, specs, n_specs, options, widths->name,
										  widths->widths, widths->count);
	else
		recsys_append_options_json(buf, specs, n_specs, options);
	appendStringInfoString(buf, ", \"loss\": [");
	for (int it = 0; it < iterations; it++)
		appendStringInfo(buf, "%s%.6g", it ? ", " : "", loss[it]);
	appendStringInfo(buf, "], \"iterations\": %d", iterations);
	appendStringInfo(buf, ", \"skipped_rows\": " INT64_FORMAT, t->skipped);
	appendStringInfo(buf, ", \"duplicate_rows\": %zu", t->data.duplicates);
	appendStringInfo(buf, ", \"threads\": %d", t->runtime.threads);
	appendStringInfo(buf, ", \"collect_seconds\": %.3f", t->collect_seconds);
	appendStringInfo(buf, ", \"training_seconds\": %.3f", rs_now() - t->started);
	appendStringInfo(buf, ", \"created\": \"%s\"}", created);
}

bytea *
training_end(training *t, rs_model *model, const rs_option_spec *specs, int n_specs,
			 const double *options, const training_widths *widths, const double *loss,
			 int iterations)
{
	StringInfoData info;
	bytea	   *result;

	initStringInfo(&info);
	describe(&info, t, specs, n_specs, options, widths, loss, iterations);
	model->info = info.data;
	model->info_size = info.len;
	result = recsys_encode_model(model, t->caller);
	MemoryContextDelete(t->work);
	return result;
}

/* The current time as JSON writes it, into buf of MAXDATELEN + 1 bytes. */
void
recsys_json_now(char *buf)
{
	JsonEncodeDateTime(buf, TimestampTzGetDatum(GetCurrentTimestamp()), TIMESTAMPTZOID, NULL);
}

/* A new random id, then the model encoded as a bytea in the given context. */
bytea *
recsys_encode_model(rs_model *model, MemoryContext into)
{
	Size		size;
	bytea	   *result;

	if (!pg_strong_random(model->model_id, RS_MODEL_ID_BYTES))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random model id")));
	size = rs_model_encoded_size(model);
	if (size == 0 || size > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model would exceed the 1 GB limit of a bytea value"),
				 errdetail("The model needs %zu bytes.", size),
				 errhint("Train a smaller model: fewer factors or units, or fewer users and items.")));
	result = MemoryContextAlloc(into, VARHDRSZ + size);
	SET_VARSIZE(result, VARHDRSZ + size);
	rs_model_encode(model, VARDATA(result));
	return result;
}
