/*
 * planner_support.c - tells the planner how many rows recommend,
 * similar_items and explain return: k (explain: k and its row for the
 * part no item explains) when k is a constant, so that EXPLAIN and the
 * join above them are planned for the list actually asked for.
 *
 * The row count is an upper bound: fewer rows come back when the
 * catalogue or the history is shorter.  A k that is not a constant (a
 * parameter, a column) leaves the function's declared ROWS in place.
 */
#include "recsys.h"

#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(recsys_rows_support);

/* The value of the call's k: its one int argument, when it is a constant. */
static bool
constant_k(List *args, int32 *k)
{
	ListCell   *lc;

	foreach(lc, args)
	{
		Node	   *arg = (Node *) lfirst(lc);

		if (exprType(arg) != INT4OID)
			continue;
		if (!IsA(arg, Const) || ((Const *) arg)->constisnull)
			return false;
		*k = DatumGetInt32(((Const *) arg)->constvalue);
		return true;
	}
	return false;
}

Datum
recsys_rows_support(PG_FUNCTION_ARGS)
{
	Node	   *request = (Node *) PG_GETARG_POINTER(0);
	SupportRequestRows *rows;
	FuncExpr   *call;
	int32		k;
	char	   *name;

	if (!IsA(request, SupportRequestRows))
		PG_RETURN_POINTER(NULL);
	rows = (SupportRequestRows *) request;
	if (!IsA(rows->node, FuncExpr))
		PG_RETURN_POINTER(NULL);
	call = (FuncExpr *) rows->node;
	if (!constant_k(call->args, &k) || k < 1)
		PG_RETURN_POINTER(NULL);	/* k < 1 is an error at execution */

	rows->rows = (double) k;
	name = get_func_name(call->funcid);
	if (name != NULL && strcmp(name, "explain") == 0)
		rows->rows += 1;
	PG_RETURN_POINTER(rows);
}
