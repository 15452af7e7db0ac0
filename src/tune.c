/*
 * tune.c - "tune": the kind's search space (core/kind.h) tried on a
 * validation split (core/tuning.h), each trial in a memory context of its
 * own, by successive halving: every setting trains for a quarter of the
 * iterations, the best quarter of them and the first setting for all, and
 * the best of those wins.
 * Kinds trained in one pass (item models) try fewer settings, each once.
 * Kinds of feature rows hold a share of the rows out inside each fit (their
 * validation_option) and are scored by its best validation loss; the final
 * fit then runs the epochs that loss was reached in.
 * A setting whose fit diverges loses; a cancel stops the search like any
 * fit.  The same data and seed give the same choice.
 */
#include "tune.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "core/tuning.h"

#define DEFAULT_TRIALS 6		/* iterative kinds: about 4 fits with the final one */
#define DEFAULT_ONE_PASS_TRIALS 4
#define MAX_TRIALS 64
#define VALIDATION_FRACTION 0.2	/* rows of feature kinds held out, unless given */

static void
bad_tune(const char *function_name)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"tune\" of %s must be a boolean or an object", function_name),
			 errhint("For example true, or {\"trials\": 12, \"seed\": 7}: trials between 2 and %d.",
					 MAX_TRIALS)));
}

static int
integer_value(JsonbValue *v, const char *function_name, int low, int high)
{
	double		x;

	if (v->type != jbvNumeric)
		bad_tune(function_name);
	x = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (x != floor(x) || x < low || x > high)
		bad_tune(function_name);
	return (int) x;
}

Jsonb *
recsys_take_tune(Jsonb *options, const char *function_name, const rs_kind *kind,
				 tune_request *request)
{
	JsonbValue *value;

	request->on = false;
	request->trials = kind->iterations_option >= 0 ? DEFAULT_TRIALS : DEFAULT_ONE_PASS_TRIALS;
	request->seed = 42;
	if (options == NULL || !JB_ROOT_IS_OBJECT(options))
		return options;
	value = getKeyJsonValueFromContainer(&options->root, "tune", strlen("tune"), NULL);
	if (value == NULL)
		return options;
	if (value->type == jbvBool)
		request->on = value->val.boolean;
	else if (value->type == jbvBinary && JsonContainerIsObject(value->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(value->val.binary.data);
		JsonbIteratorToken token;
		JsonbValue	v;

		request->on = true;
		while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			bool		trials;

			if (token != WJB_KEY)
				continue;
			trials = v.val.string.len == 6 && strncmp(v.val.string.val, "trials", 6) == 0;
			if (!trials && !(v.val.string.len == 4 && strncmp(v.val.string.val, "seed", 4) == 0))
				bad_tune(function_name);
			token = JsonbIteratorNext(&it, &v, true);
			if (trials)
				request->trials = integer_value(&v, function_name, 2, MAX_TRIALS);
			else
				request->seed = integer_value(&v, function_name, 0, PG_INT32_MAX);
		}
	}
	else
		bad_tune(function_name);
	if (request->on && kind->n_search == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("option \"tune\" is not supported by %s", function_name)));
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(options),
											  CStringGetTextDatum("tune")));
}

typedef struct search
{
	const rs_kind *kind;
	rs_fit_input input;			/* the rows, or the training split of interactions */
	rs_interactions train;
	rs_tag_table user_tags;		/* tagged kinds: the training part's rows */
	rs_tag_table item_tags;
	rs_interaction_buffer held;
	bool		ratings;
	bool		features;		/* scored by the fit's own validation loss */
	int			threads;
	bool		verbose;
	MemoryContext context;
	const char *metric;
} search;

/*
 * One setting trained and scored, in a memory context freed after it;
 * *best_iteration is when a validation loss was best (feature kinds).
 */
static double
trial(search *s, const double *options, int number, int *best_iteration)
{
	MemoryContext context = AllocSetContextCreate(s->context, "recsys tuning trial",
												  ALLOCSET_DEFAULT_SIZES);
	rs_runtime	rt;
	rs_fit_input in = {0};
	rs_fit		fit;
	rs_status	status;
	double		score = -INFINITY;
	double		started = rs_now();

	recsys_runtime_init(&rt, context, s->threads, false, 1);
	in = s->input;
	in.options = options;
	memset(&fit, 0, sizeof(fit));
	status = s->kind->fit(&in, &rt, &fit);
	/* a setting that diverges loses; any other failure ends the statement */
	if (status == RS_OK && s->features)
	{
		score = isfinite(fit.validation_loss) ? -fit.validation_loss : -INFINITY;
		*best_iteration = fit.validation_iteration;
	}
	else if (status == RS_OK)
		status = rs_holdout_score(&fit.model, &s->held, s->ratings, &rt.alloc, &score);
	if (status != RS_NUMERICAL_FAILURE)
		recsys_raise_status(status, "tuning");
	MemoryContextDelete(context);
	if (s->verbose)
		ereport(NOTICE,
				(errmsg("tuning trial %d: %s %.4f in %.3f s", number, s->metric,
						s->ratings || s->features ? -score : score, rs_now() - started)));
	return score;
}

static void
append_number(StringInfo buf, double x)
{
	if (isfinite(x))
		appendStringInfo(buf, "%.6g", x);
	else
		appendStringInfoString(buf, "null");
}

/*
 * The first setting (the one given, or the defaults) always trains with
 * all iterations: a quarter of them favours settings that learn fast, such
 * as a large learning rate, over ones that end better, and the search must
 * not pick what validates worse than the defaults.  Returns the survivors
 * of order's first `alive`, with setting 0 among them.
 */
static int
keep_base(int *order, int n, int alive)
{
	for (int r = alive; r < n; r++)
		if (order[r] == 0)
		{
			order[r] = order[alive];
			order[alive] = 0;
			return alive + 1;
		}
	return alive;
}

static void
append_setting(StringInfo buf, const rs_kind *kind, const double *options)
{
	appendStringInfoChar(buf, '{');
	for (int d = 0; d < kind->n_search; d++)
	{
		const rs_option_spec *spec = &kind->options[kind->search[d].option];

		/* as the model's options are written (recsys_append_options_json) */
		appendStringInfo(buf, spec->type == RS_OPT_INT ? "%s\"%s\": %.0f" : "%s\"%s\": %.9g",
						 d ? ", " : "", spec->name, options[kind->search[d].option]);
	}
	if (kind->iterations_option >= 0)
		appendStringInfo(buf, ", \"%s\": %.0f", kind->options[kind->iterations_option].name,
						 options[kind->iterations_option]);
	appendStringInfoChar(buf, '}');
}

static int
by_score(const void *a, const void *b, void *arg)
{
	const double *score = arg;
	double		x = score[*(const int *) a],
				y = score[*(const int *) b];

	/* best first; ties to the earlier setting, so the base one wins a tie */
	if (x != y)
		return x > y ? -1 : 1;
	return *(const int *) a - *(const int *) b;
}

/* The tags of the training part's users and items, rows in its order. */
static void
take_split_tags(search *s, const rs_fit_input *input, const rs_allocator *a)
{
	const rs_interactions *all = input->data;

	recsys_raise_status(rs_tag_table_subset(input->user_tags, all->user_ids, s->train.user_ids,
											s->train.n_users, a, &s->user_tags), "tuning");
	recsys_raise_status(rs_tag_table_subset(input->item_tags, all->item_ids, s->train.item_ids,
											s->train.n_items, a, &s->item_tags), "tuning");
	s->input.user_tags = &s->user_tags;
	s->input.item_tags = &s->item_tags;
}

void
recsys_tune(const rs_kind *kind, const rs_fit_input *input, double *options,
			const bool *given, const tune_request *request, int threads, bool verbose,
			StringInfo report)
{
	search		s = {kind};
	rs_allocator a;
	rs_interaction_buffer rows = {0};
	int			n = request->trials;
	int			width = kind->n_options;
	int			it = kind->iterations_option;
	int			full = it >= 0 ? (int) options[it] : 0;
	double	   *settings = palloc(sizeof(double) * n * width);
	double	   *score = palloc(sizeof(double) * n);
	int		   *order = palloc(sizeof(int) * n);
	int		   *best_iteration = palloc0(sizeof(int) * n);
	int			alive = n;
	int			trials = 0;
	const char *metric_key;
	double		started = rs_now();

	s.context = AllocSetContextCreate(CurrentMemoryContext, "recsys tuning",
									  ALLOCSET_DEFAULT_SIZES);
	a = recsys_context_allocator(s.context);
	s.input = *input;
	s.features = kind->input == RS_INPUT_FEATURES;
	s.ratings = !s.features && kind->fits_ratings && kind->fits_ratings(options);
	s.threads = threads;
	s.verbose = verbose;
	s.metric = s.features ? "validation loss" : s.ratings ? "RMSE" : "NDCG@10";
	metric_key = s.features ? "validation_loss" : s.ratings ? "rmse" : "ndcg@10";
	rs_tune_candidates(kind, options, given, n, (uint64_t) request->seed, settings);
	if (s.features)
	{
		double		share = options[kind->validation_option] > 0.0 ?
			options[kind->validation_option] : VALIDATION_FRACTION;

		/* the rows held out are the fit's own, the same for every setting */
		for (int t = 0; t < n; t++)
			settings[(size_t) t * width + kind->validation_option] = share;
		appendStringInfo(report, "{\"metric\": \"%s\", \"held_out\": %zu, \"trials\": [",
						 metric_key, (size_t) (share * (double) input->rows));
	}
	else
	{
		recsys_raise_status(rs_holdout_split(input->data, s.ratings, (uint64_t) request->seed,
											 &a, &rows, &s.held), "tuning");
		recsys_raise_status(rs_interactions_build(&rows, &a, &s.train), "tuning");
		rs_buffer_free(&rows, &a);
		s.input.data = &s.train;
		if (kind->tagged)
			take_split_tags(&s, input, &a);
		appendStringInfo(report, "{\"metric\": \"%s\", \"held_out\": %zu, \"trials\": [",
						 metric_key, s.held.count);
	}
	for (int t = 0; t < n; t++)
		order[t] = t;

	/* a quarter of the iterations for every setting, then all for the best quarter */
	for (int rung = full > 1 ? 0 : 1; rung < 2; rung++)
	{
		int			iterations = rung == 0 ? Max(1, full / 4) : full;

		for (int r = 0; r < alive; r++)
		{
			double	   *setting = settings + (size_t) order[r] * width;
			double		trial_started = rs_now();

			if (it >= 0)
				setting[it] = iterations;
			score[order[r]] = trial(&s, setting, ++trials, &best_iteration[order[r]]);
			appendStringInfo(report, "%s{\"setting\": ", trials > 1 ? ", " : "");
			append_setting(report, kind, setting);
			appendStringInfo(report, ", \"%s\": ", metric_key);
			append_number(report, s.ratings || s.features ? -score[order[r]] : score[order[r]]);
			appendStringInfo(report, ", \"seconds\": %.3f}", rs_now() - trial_started);
		}
		qsort_arg(order, alive, sizeof(int), by_score, score);
		if (rung == 0)
			alive = keep_base(order, n, Max(2, (n + 3) / 4));
	}
	{
		double		asked = s.features ? options[kind->validation_option] : 0.0;

		memcpy(options, settings + (size_t) order[0] * width, sizeof(double) * width);
		/* the final fit holds out what was asked, and stops where the search did */
		if (s.features)
			options[kind->validation_option] = asked;
		if (s.features && it >= 0 && !given[it] && best_iteration[order[0]] > 0)
			options[it] = best_iteration[order[0]];
	}
	appendStringInfoString(report, "], \"chosen\": ");
	append_setting(report, kind, options);
	appendStringInfo(report, ", \"seconds\": %.3f}", rs_now() - started);
	MemoryContextDelete(s.context);
	pfree(settings);
	pfree(score);
	pfree(order);
	pfree(best_iteration);
}
