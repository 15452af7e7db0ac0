/*
 * options.c - validates a jsonb of training options against an algorithm's
 * option table (core/options.h), so no trainer parses options itself.
 */
#include "recsys.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

static const char *
type_name(rs_option_type type)
{
	switch (type)
	{
		case RS_OPT_INT:
			return "an integer";
		case RS_OPT_REAL:
			return "a number";
		case RS_OPT_BOOL:
			return "a boolean";
		case RS_OPT_CHOICE:
			return "a string";
	}
	return "a value";
}

static char *
valid_names(const rs_option_spec *specs, int n, const char *list_name)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int k = 0; k < n; k++)
		appendStringInfo(&buf, "%s%s", k ? ", " : "", specs[k].name);
	if (list_name)
		appendStringInfo(&buf, ", %s", list_name);
	return buf.data;
}

static char *
valid_choices(const char *const *choices)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int k = 0; choices[k]; k++)
		appendStringInfo(&buf, "%s\"%s\"", k ? ", " : "", choices[k]);
	return buf.data;
}

static void
wrong_type(const char *function_name, const rs_option_spec *spec)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" of %s must be %s", spec->name, function_name,
					type_name(spec->type))));
}

static double
numeric_value(const char *function_name, const rs_option_spec *spec, JsonbValue *v)
{
	double		value;

	if (v->type != jbvNumeric)
		wrong_type(function_name, spec);
	value = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											   NumericGetDatum(v->val.numeric)));
	if (spec->type == RS_OPT_INT && (!isfinite(value) || value != floor(value)))
		wrong_type(function_name, spec);
	if (!isfinite(value) ||
		value < spec->min || value > spec->max ||
		(spec->min_exclusive && value == spec->min))
	{
		if (spec->min_exclusive)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" of %s must be greater than %.15g and at most %.15g",
							spec->name, function_name, spec->min, spec->max)));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" of %s must be between %.15g and %.15g",
							spec->name, function_name, spec->min, spec->max)));
	}
	return value;
}

static double
choice_value(const char *function_name, const rs_option_spec *spec, JsonbValue *v)
{
	if (v->type != jbvString)
		wrong_type(function_name, spec);
	for (int k = 0; spec->choices[k]; k++)
		if (strlen(spec->choices[k]) == (size_t) v->val.string.len &&
			strncmp(spec->choices[k], v->val.string.val, v->val.string.len) == 0)
			return k;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value \"%.*s\" for option \"%s\" of %s",
					v->val.string.len, v->val.string.val, spec->name, function_name),
			 errhint("Valid values are %s.", valid_choices(spec->choices))));
	return 0;					/* not reached */
}

void
recsys_parse_options(Jsonb *options, const char *function_name,
					 const rs_option_spec *specs, int n_specs, const char *list_name,
					 double *values, bool *given)
{
	JsonbIterator *it;
	JsonbIteratorToken token;
	JsonbValue	v;

	for (int k = 0; k < n_specs; k++)
	{
		values[k] = specs[k].default_value;
		if (given)
			given[k] = false;
	}
	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options of %s must be a JSON object", function_name)));

	it = JsonbIteratorInit(&options->root);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const rs_option_spec *spec = NULL;
		int			k;

		if (token != WJB_KEY)
			continue;
		for (k = 0; k < n_specs; k++)
			if (strlen(specs[k].name) == (size_t) v.val.string.len &&
				strncmp(specs[k].name, v.val.string.val, v.val.string.len) == 0)
			{
				spec = &specs[k];
				break;
			}
		if (spec == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized option \"%.*s\" for %s",
							v.val.string.len, v.val.string.val, function_name),
					 errhint("Valid options are: %s.", valid_names(specs, n_specs, list_name))));

		token = JsonbIteratorNext(&it, &v, true);
		Assert(token == WJB_VALUE);
		if (given)
			given[k] = true;
		switch (spec->type)
		{
			case RS_OPT_INT:
			case RS_OPT_REAL:
				values[k] = numeric_value(function_name, spec, &v);
				break;
			case RS_OPT_BOOL:
				if (v.type != jbvBool)
					wrong_type(function_name, spec);
				values[k] = v.val.boolean ? 1 : 0;
				break;
			case RS_OPT_CHOICE:
				values[k] = choice_value(function_name, spec, &v);
				break;
		}
	}
}

/* The options as a JSON object, with their values as used; NaN ones are left out. */
void
recsys_append_options_json(StringInfo buf, const rs_option_spec *specs, int n_specs,
						   const double *values)
{
	bool		first = true;

	appendStringInfoChar(buf, '{');
	for (int k = 0; k < n_specs; k++)
	{
		if (isnan(values[k]))
			continue;			/* an option that does not apply */
		appendStringInfo(buf, "%s\"%s\": ", first ? "" : ", ", specs[k].name);
		first = false;
		switch (specs[k].type)
		{
			case RS_OPT_INT:
				appendStringInfo(buf, "%.0f", values[k]);
				break;
			case RS_OPT_REAL:
				appendStringInfo(buf, "%.9g", values[k]);
				break;
			case RS_OPT_BOOL:
				appendStringInfoString(buf, values[k] != 0 ? "true" : "false");
				break;
			case RS_OPT_CHOICE:
				appendStringInfo(buf, "\"%s\"", specs[k].choices[(int) values[k]]);
				break;
		}
	}
	appendStringInfoChar(buf, '}');
}

static void
bad_widths(const char *name, const char *function_name, int min_count, int max_count,
		   int max_width, const char *hint)
{
	char		count[32];

	if (min_count == 0)
		snprintf(count, sizeof(count), "at most %d", max_count);
	else
		snprintf(count, sizeof(count), "%d to %d", min_count, max_count);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" of %s must be an array of %s layer widths between 1 and %d",
					name, function_name, count, max_width),
			 errhint("%s", hint)));
}

Jsonb *
recsys_take_widths(Jsonb *options, const char *name, const char *function_name,
				   int min_count, int max_count, int max_width, const char *hint,
				   int *widths, int *count)
{
	JsonbValue *value;
	JsonbIterator *it;
	JsonbIteratorToken token;
	JsonbValue	element;
	int			found = 0;

	if (options == NULL || !JB_ROOT_IS_OBJECT(options))
		return options;
	value = getKeyJsonValueFromContainer(&options->root, name, strlen(name), NULL);
	if (value == NULL)
		return options;
	if (value->type != jbvBinary || !JsonContainerIsArray(value->val.binary.data))
		bad_widths(name, function_name, min_count, max_count, max_width, hint);
	it = JsonbIteratorInit(value->val.binary.data);
	while ((token = JsonbIteratorNext(&it, &element, true)) != WJB_DONE)
	{
		double		width;

		if (token != WJB_ELEM)
			continue;
		if (element.type != jbvNumeric || found >= max_count)
			bad_widths(name, function_name, min_count, max_count, max_width, hint);
		width = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
												   NumericGetDatum(element.val.numeric)));
		if (width != floor(width) || width < 1 || width > max_width)
			bad_widths(name, function_name, min_count, max_count, max_width, hint);
		widths[found++] = (int) width;
	}
	if (found < min_count)
		bad_widths(name, function_name, min_count, max_count, max_width, hint);
	*count = found;
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(options),
											  CStringGetTextDatum(name)));
}
