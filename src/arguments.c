/*
 * arguments.c - the checks SQL arguments share, one SQLSTATE for each kind
 * of mistake: a k below 1 (22023), an array of the wrong shape (2202E) or
 * with NULL elements (22004), a value that is not a finite number (22000).
 */
#include "recsys.h"

#include "utils/array.h"

void
recsys_check_k(int32 k)
{
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1"),
				 errdetail("k was %d.", k)));
}

void
recsys_check_array(ArrayType *array, const char *what, const char *null_hint)
{
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what),
				 errdetail("The array has %d dimensions.", ARR_NDIM(array))));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL elements", what),
				 null_hint ? errhint("%s", null_hint) : 0));
}

void
recsys_not_finite(const char *message, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg_internal("%s", message),
			 detail ? errdetail_internal("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}
