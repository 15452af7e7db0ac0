/*
 * row_options.c - the options argument of training rows must not change
 * between rows.  Usually it is a constant, which no row can change: the
 * aggregate's own argument is looked at once, and then nothing is checked
 * per row.  Otherwise (a column, an expression) every row's options are
 * compared with the first row's: jsonb's binary form is canonical (keys
 * sorted, duplicates removed), so equal options are equal bytes.  (Not by
 * pointer: a column's values of two rows can lie at the same address.)
 */
#include "row_options.h"

#include "nodes/primnodes.h"
#include "utils/memutils.h"

static bool
same_options(const Jsonb *a, const Jsonb *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

static const char *
options_text(const Jsonb *options)
{
	if (options == NULL)
		return "none";
	return JsonbToCString(NULL, (JsonbContainer *) &options->root, VARSIZE(options));
}

static void
raise_different(const Jsonb *first, const Jsonb *later)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("training options differ between rows"),
			 errdetail("The first rows give options %s, a later row gives %s.",
					   options_text(first), options_text(later)),
			 errhint("One training takes one set of options: pass them as a constant, or group the rows by their options.")));
}

static Jsonb *
copy_options(const Jsonb *options, MemoryContext context)
{
	Jsonb	   *copy;

	if (options == NULL)
		return NULL;
	copy = MemoryContextAlloc(context, VARSIZE(options));
	memcpy(copy, options, VARSIZE(options));
	return copy;
}

/*
 * Whether transition argument argno (1 is the first after the state) comes
 * from a constant argument of the aggregate call.
 */
static bool
argument_is_constant(FunctionCallInfo fcinfo, int argno)
{
	Aggref	   *aggref = AggGetAggref(fcinfo);
	TargetEntry *entry;

	if (aggref == NULL || argno - 1 >= list_length(aggref->args))
		return false;
	entry = list_nth_node(TargetEntry, aggref->args, argno - 1);
	return IsA(entry->expr, Const);
}

void
recsys_row_options_take(row_options *ro, FunctionCallInfo fcinfo, int argno,
						MemoryContext context)
{
	bool		given;
	Jsonb	   *options;

	if (ro->seen && ro->constant)
		return;
	given = PG_NARGS() > argno && !PG_ARGISNULL(argno);
	options = given ? PG_GETARG_JSONB_P(argno) : NULL;
	if (!ro->seen)
	{
		ro->options = copy_options(options, context);
		ro->constant = PG_NARGS() <= argno || argument_is_constant(fcinfo, argno);
		ro->seen = true;
	}
	else if (!same_options(ro->options, options))
		raise_different(ro->options, options);
}

void
recsys_row_options_combine(row_options *into, const row_options *from,
						   MemoryContext context)
{
	if (!from->seen)
		return;
	if (!into->seen)
	{
		into->options = copy_options(from->options, context);
		into->seen = true;
	}
	else if (!same_options(into->options, from->options))
		raise_different(into->options, from->options);
}
