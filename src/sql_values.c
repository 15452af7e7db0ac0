/*
 * sql_values.c - numbers from SQL arguments as the single precision the
 * engine computes in.  A training value or label may be real or double
 * precision, the type an analyst's table or avg() gives: a double beyond
 * real's range is an error, never an infinity.
 */
#include "recsys.h"

#include <float.h>
#include <math.h>


float4
recsys_value_as_real(float8 value, const char *what)
{
	if (isfinite(value) && fabs(value) > FLT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s %g is out of range for type real", what, value),
				 errhint("recsys computes in single precision: scale the values into its range.")));
	return (float4) value;
}
