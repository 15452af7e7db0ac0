/*
 * train.c - the final function of every training aggregate: one path for
 * every kind (core/kind.h).  It finds the kind by the aggregate's name,
 * validates the options against the kind's table, lets the kind check the
 * rows and the size, fits, and encodes the model with its description.
 */
#include "features_agg.h"
#include "hybrid_agg.h"
#include "interactions_agg.h"
#include "sequence_agg.h"
#include "tune.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/kind.h"

#define MAX_OPTIONS 32

typedef struct training
{
	const rs_kind *kind;
	const char *trainer;
	double		options[MAX_OPTIONS];
	bool		given[MAX_OPTIONS];
	int			widths[RS_MAX_WIDTHS];
	int			n_widths;
	tune_request tune;
	StringInfoData tuning;		/* the search, as JSON; empty without one */
	MemoryContext caller;		/* where the result goes */
	MemoryContext work;			/* everything else; deleted at the end */
	rs_runtime	runtime;
	rs_fit_input input;
	rs_interactions data;
	rs_tag_table user_tags;		/* tagged kinds */
	rs_tag_table item_tags;
	hybrid_tag_report tag_report;
	rs_sequences sequences;		/* sequential kinds */
	int64		skipped;
	size_t		rows;
	double		started;
	double		collect_seconds;	/* statement start to the final function */
} training;

/*
 * The kind trained by the aggregate this final function finishes: its final
 * function is named _<aggregate>_final, whichever C function it names.
 */
static const rs_kind *
trainer_kind(FunctionCallInfo fcinfo, const char **trainer)
{
	char	   *name = get_func_name(fcinfo->flinfo->fn_oid);
	size_t		len = name ? strlen(name) : 0;
	const rs_kind *kind = NULL;

	if (len > strlen("__final") && name[0] == '_' &&
		strcmp(name + len - strlen("_final"), "_final") == 0)
	{
		name[len - strlen("_final")] = '\0';
		kind = rs_kind_of_trainer(name + 1);
	}
	if (kind == NULL || kind->n_options > MAX_OPTIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("function %s is not the final function of a recsys training aggregate",
						name ? name : "(unknown)")));
	*trainer = kind->trainer;
	return kind;
}

static void
raise_report(int elevel, int sqlstate, const rs_report *why)
{
	ereport(elevel,
			(errcode(sqlstate),
			 errmsg_internal("%s", why->message),
			 why->detail[0] ? errdetail_internal("%s", why->detail) : 0,
			 why->hint[0] ? errhint("%s", why->hint) : 0));
}

/*
 * The options as the kind's table reads them, with the trainer's kinds told
 * apart; a given option that applies only to other values of another is an
 * error, and one left at its default that does not apply is NaN, left out of
 * the description.
 */
static void
read_options(training *t, Jsonb *options)
{
	const rs_kind *first = t->kind;
	const rs_widths_spec *widths = first->widths;
	rs_report	why = {{0}};
	char	   *read_apart;

	if (widths)
	{
		t->n_widths = widths->n_defaults;
		memcpy(t->widths, widths->defaults, sizeof(int) * widths->n_defaults);
		options = recsys_take_widths(options, widths->name, t->trainer, widths->min_count,
									 widths->max_count, widths->max_width, widths->hint,
									 t->widths, &t->n_widths);
	}
	options = recsys_take_tune(options, t->trainer, first, &t->tune);
	read_apart = psprintf("%s%s%s", widths ? widths->name : "",
						  widths && first->n_search ? ", " : "", first->n_search ? "tune" : "");
	recsys_parse_options(options, t->trainer, first->options, first->n_options,
						 read_apart[0] ? read_apart : NULL, t->options, t->given);
	for (int k = 0; k < first->n_options; k++)
	{
		const rs_option_spec *spec = &first->options[k];
		const rs_option_spec *on;

		if (spec->only_with == 0 || !t->given[k] ||
			t->options[spec->only_with - 1] == spec->only_with_value)
			continue;
		on = &first->options[spec->only_with - 1];
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of %s applies only to %s %s", spec->name, t->trainer,
						on->choices[spec->only_with_value], on->name)));
	}
	t->kind = rs_kind_chosen(first, t->options);
	if (t->kind->prepare_options &&
		!t->kind->prepare_options(t->options, t->given, t->widths, t->n_widths, &why))
		raise_report(ERROR, ERRCODE_INVALID_PARAMETER_VALUE, &why);
}

static void
leave_out_unused_options(training *t)
{
	for (int k = 0; k < t->kind->n_options; k++)
	{
		const rs_option_spec *spec = &t->kind->options[k];

		if (spec->only_with != 0 && t->options[spec->only_with - 1] != spec->only_with_value)
			t->options[k] = NAN;
	}
}

static int
option_or(const training *t, int position, int otherwise)
{
	return position >= 0 ? (int) t->options[position] : otherwise;
}

static void
begin(training *t)
{
	const rs_kind *kind = t->kind;

	t->started = rs_now();
	/* the statement so far: planning, scanning and the transition function */
	t->collect_seconds = (double) (GetCurrentTimestamp() -
								   GetCurrentStatementStartTimestamp()) / USECS_PER_SEC;
	t->caller = CurrentMemoryContext;
	/* a child of the caller's context: an error frees it with the rest */
	t->work = AllocSetContextCreate(CurrentMemoryContext, "recsys training",
									ALLOCSET_DEFAULT_SIZES);
	recsys_runtime_init(&t->runtime, t->work, option_or(t, kind->threads_option, 1),
						option_or(t, kind->verbose_option, 0) != 0,
						option_or(t, kind->iterations_option, 1));
	if (kind->threads_option >= 0)
		t->options[kind->threads_option] = t->runtime.threads;
	t->input.options = t->options;
	t->input.widths = t->widths;
	t->input.n_widths = t->n_widths;
}

/*
 * Refuses, before any iteration, a model that could not be stored: its size
 * is known once the rows are arranged (users, items, interactions), so the
 * caller need not wait for the whole fit to hear it.
 */
/* Whether the model is to be stored without its users ("users": "fold_in"). */
static bool
fold_in_form(const training *t)
{
	return t->kind->users_option >= 0 &&
		t->options[t->kind->users_option] == RS_USERS_FOLD_IN;
}

static void
check_model_size(const training *t)
{
	const rs_kind *k = t->kind;
	uint64		factors = k->factors_option >= 0 ? (uint64) t->options[k->factors_option] : 0;
	bool		users = !fold_in_form(t);
	rs_history_size none = {0, 0},
				history = users ? rs_history_measure((const uint64_t *) t->data.user_ptr,
													 t->data.user_items, t->data.user_values,
													 t->data.n_users) : none;
	uint64		bytes = rs_model_size_at_least(k, users ? (uint64) t->data.n_users : 0,
											   (uint64) t->data.n_items, history, factors);
	uint64		history_bytes = history.items + history.values;

	if (bytes <= recsys_max_model_bytes())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("the %s model of %d users and %d items would exceed the limit of %llu kB",
					k->name, t->data.n_users, t->data.n_items,
					(unsigned long long) recsys_max_model_size_kb),
			 errdetail("The model needs at least %llu kB%s.",
					   (unsigned long long) ((bytes + 1023) / 1024),
					   history_bytes > 0 && (k->required_sections & RS_SECTION_BIT(RS_SEC_SEEN_ITEMS)) ?
					   psprintf(", of which the training history of %zu interactions takes %llu kB",
								t->data.nnz, (unsigned long long) ((history_bytes + 1023) / 1024)) : ""),
			 errhint("Train on fewer users, items or interactions%s%s; recsys.max_model_size is at most 1 GB, the limit of a bytea value.",
					 factors > 0 ? ", or with fewer \"factors\"" : "",
					 users && k->users_option >= 0 ?
					 ", or store the items alone with \"users\": \"fold_in\"" : "")));
}

/* The search, when asked for, and then the fit's clock. */
static void
tune_and_start(training *t)
{
	initStringInfo(&t->tuning);
	if (t->tune.on)
		recsys_tune(t->kind, &t->input, t->options, t->given, &t->tune, t->runtime.threads,
					t->runtime.progress != NULL, &t->tuning);
	recsys_runtime_start_clock(&t->runtime);
}

/*
 * The tags of the arranged users and items, for a tagged kind; a NOTICE
 * when ids came with different tags in different rows, which keep the union.
 */
static void
take_tags(training *t, hybrid_state *state)
{
	hybrid_tag_report *r = &t->tag_report;

	recsys_hybrid_tag_tables(state, &t->data, &t->runtime.alloc, &t->user_tags, &t->item_tags, r);
	t->input.user_tags = &t->user_tags;
	t->input.item_tags = &t->item_tags;
	if (r->users_with_varying_tags > 0 || r->items_with_varying_tags > 0)
		ereport(NOTICE,
				(errmsg("%s rows gave different tags for " INT64_FORMAT " users and " INT64_FORMAT " items",
						t->trainer, r->users_with_varying_tags, r->items_with_varying_tags),
				 errdetail("Each user and item has the union of the tags of its rows.")));
	if (t->runtime.progress)
		ereport(NOTICE,
				(errmsg("%d user tags and %d item tags", t->user_tags.n_tags,
						t->item_tags.n_tags)));
}

/* Each user's events in order, for a sequential kind. */
static void
take_sequences(training *t, sequence_state *state)
{
	recsys_raise_status(rs_sequences_build(state->base.buffer.users, state->base.buffer.items,
										   state->at, state->base.buffer.count, &t->data,
										   &t->runtime.alloc, &t->sequences),
						"ordering the events");
	t->input.sequences = &t->sequences;
}

/* Collected interactions arranged by user and item, before the fit. */
static void
begin_interactions(training *t, interactions_state *state)
{
	rs_report	why = {{0}};

	begin(t);
	t->skipped = state->buffer.skipped;
	t->rows = state->buffer.count;
	recsys_raise_status(rs_interactions_build(&state->buffer, &t->runtime.alloc, &t->data),
						"collecting interactions");
	if (t->runtime.progress)
		ereport(NOTICE,
				(errmsg("collected %zu rows in %.3f s, arranged by user and item in %.3f s",
						state->buffer.count, t->collect_seconds, rs_now() - t->started),
				 errdetail("%d users, %d items, %zu distinct pairs.",
						   t->data.n_users, t->data.n_items, t->data.nnz)));
	if (t->kind->tagged)
		take_tags(t, (hybrid_state *) state);
	if (t->kind->sequential)
		take_sequences(t, (sequence_state *) state);
	if (t->kind->check_size && !t->kind->check_size(&t->data, t->options, &why))
		raise_report(ERROR, ERRCODE_PROGRAM_LIMIT_EXCEEDED, &why);
	if (t->kind->adapt_options)
		t->kind->adapt_options(t->options, t->given, &t->data);
	check_model_size(t);
	if (t->kind->calibrate)
	{
		rs_report	note = {{0}};

		recsys_raise_status(t->kind->calibrate(t->options, t->given, &t->data, &t->runtime,
											   &note), t->kind->training);
		if (t->runtime.progress && note.message[0])
			ereport(NOTICE, (errmsg("%s", note.message)));
	}
	t->input.data = &t->data;
	tune_and_start(t);
}

static void
append_series(StringInfo buf, const char *name, const double *values, int count)
{
	appendStringInfo(buf, ", \"%s\": [", name);
	for (int k = 0; k < count; k++)
		appendStringInfo(buf, "%s%.6g", k ? ", " : "", values[k]);
	appendStringInfoChar(buf, ']');
}

/* The model's description: what model_info shows besides the header. */
static void
describe(StringInfo buf, const training *t, const rs_fit *fit)
{
	char		created[MAXDATELEN + 1];

	recsys_json_now(created);
	appendStringInfoString(buf, "{\"options\": ");
	recsys_append_options_json(buf, t->kind->options, t->kind->n_options, t->options);
	if (t->kind->widths)
	{
		buf->len--;				/* reopen the object for the list */
		appendStringInfo(buf, ", \"%s\": [", t->kind->widths->name);
		for (int k = 0; k < t->n_widths; k++)
			appendStringInfo(buf, "%s%d", k ? ", " : "", t->widths[k]);
		appendStringInfoString(buf, "]}");
	}
	for (int s = 0; s < lengthof(fit->series); s++)
		if (fit->series[s].name)
			append_series(buf, fit->series[s].name, fit->series[s].values, fit->series[s].count);
	append_series(buf, "loss", fit->loss, fit->iterations);
	if (t->tuning.data && t->tuning.len > 0)
		appendStringInfo(buf, ", \"tuning\": %s", t->tuning.data);
	if (t->kind->input == RS_INPUT_FEATURES)
		appendStringInfo(buf, ", \"epochs\": %d, \"rows\": %zu", fit->iterations, t->rows);
	else
	{
		appendStringInfo(buf, ", \"iterations\": %d", fit->iterations);
		appendStringInfo(buf, ", \"duplicate_rows\": %zu", t->data.duplicates);
		appendStringInfo(buf, ", \"threads\": %d", t->runtime.threads);
		appendStringInfo(buf, ", \"collect_seconds\": %.3f", t->collect_seconds);
	}
	if (t->kind->tagged)
		appendStringInfo(buf, ", \"user_tags\": %d, \"item_tags\": %d"
						 ", \"users_with_varying_tags\": " INT64_FORMAT
						 ", \"items_with_varying_tags\": " INT64_FORMAT
						 ", \"null_tags_skipped\": " INT64_FORMAT,
						 t->user_tags.n_tags, t->item_tags.n_tags,
						 t->tag_report.users_with_varying_tags,
						 t->tag_report.items_with_varying_tags,
						 t->tag_report.null_tags_skipped);
	appendStringInfo(buf, ", \"skipped_rows\": " INT64_FORMAT, t->skipped);
	appendStringInfo(buf, ", \"training_seconds\": %.3f", rs_now() - t->started);
	appendStringInfo(buf, ", \"created\": \"%s\"}", created);
}

static bytea *
fit_and_encode(training *t)
{
	rs_fit		fit;
	StringInfoData info;
	bytea	   *result;

	memset(&fit, 0, sizeof(fit));
	recsys_raise_status(t->kind->fit(&t->input, &t->runtime, &fit), t->kind->training);
	if (fit.warned)
		raise_report(WARNING, ERRCODE_WARNING, &fit.warning);
	if (fold_in_form(t))
		rs_model_drop_users(&fit.model);
	leave_out_unused_options(t);
	initStringInfo(&info);
	describe(&info, t, &fit);
	fit.model.info = info.data;
	fit.model.info_size = info.len;
	result = recsys_encode_model(&fit.model, t->caller);
	MemoryContextDelete(t->work);
	return result;
}

PG_FUNCTION_INFO_V1(recsys_train_final);

Datum
recsys_train_final(PG_FUNCTION_ARGS)
{
	training	t;
	rs_training_rows rows = {0};
	rs_report	why = {{0}};

	memset(&t, 0, sizeof(t));
	t.kind = trainer_kind(fcinfo, &t.trainer);
	if (t.kind->input == RS_INPUT_FEATURES)
	{
		features_state *state = recsys_features_state(fcinfo);

		if (state == NULL || state->count == 0)
			PG_RETURN_NULL();
		read_options(&t, state->options.options);
		rows.labels = state->labels;
		rows.count = state->count;
		if (t.kind->check_rows && !t.kind->check_rows(&rows, t.options, &why))
			raise_report(ERROR, ERRCODE_DATA_EXCEPTION, &why);
		begin(&t);
		t.skipped = state->skipped;
		t.rows = state->count;
		t.input.features = state->rows;
		t.input.labels = state->labels;
		t.input.rows = state->count;
		t.input.dims = state->dims;
		tune_and_start(&t);
	}
	else
	{
		interactions_state *state = recsys_interactions_state(fcinfo);

		if (state == NULL || state->buffer.count == 0)
			PG_RETURN_NULL();
		read_options(&t, state->options.options);
		rows.interactions = &state->buffer;
		rows.count = state->buffer.count;
		if (t.kind->check_rows && !t.kind->check_rows(&rows, t.options, &why))
			raise_report(ERROR, ERRCODE_DATA_EXCEPTION, &why);
		begin_interactions(&t, state);
	}
	PG_RETURN_BYTEA_P(fit_and_encode(&t));
}

/*
 * The C names the training aggregates of recsys 0.1 to 0.5 were created
 * with, which installed catalogs keep: each is the function above.
 */
#define FINAL_FUNCTION_ALIAS(name) \
	PG_FUNCTION_INFO_V1(name); \
	Datum name(PG_FUNCTION_ARGS) __attribute__((alias("recsys_train_final")))

FINAL_FUNCTION_ALIAS(recsys_train_als_final);
FINAL_FUNCTION_ALIAS(recsys_train_bpr_final);
FINAL_FUNCTION_ALIAS(recsys_train_mlp_final);
FINAL_FUNCTION_ALIAS(recsys_train_ncf_final);
FINAL_FUNCTION_ALIAS(recsys_train_knn_final);
FINAL_FUNCTION_ALIAS(recsys_train_ease_final);

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
	if (size == 0 || size > recsys_max_model_bytes())
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model would exceed the limit of %llu kB",
						(unsigned long long) recsys_max_model_size_kb),
				 errdetail("The model needs %zu bytes.", size),
				 errhint("Train a smaller model: fewer factors or units, or fewer users and items; recsys.max_model_size is at most 1 GB, the limit of a bytea value.")));
	result = MemoryContextAlloc(into, VARHDRSZ + size);
	SET_VARSIZE(result, VARHDRSZ + size);
	rs_model_encode(model, VARDATA(result));
	return result;
}
