/*
 * recsys.h - declarations shared by the PostgreSQL glue in src/.
 */
#ifndef RECSYS_GLUE_H
#define RECSYS_GLUE_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

#include "core/model.h"
#include "core/options.h"
#include "core/runtime.h"
#include "core/top_k.h"

/* GUCs */
/* The most threads any setting or option may ask for */
#define RECSYS_MAX_THREADS 1024

extern int	recsys_threads;
extern int	recsys_max_threads;
extern int	recsys_model_cache_size_mb;

/* pg_runtime.c: the engine's runtime inside a backend */
/* Blocks this large are written whole: worth huge pages (see runtime.h). */
#define RECSYS_HUGE_PAGES_FROM ((size_t) 8 << 20)

extern void recsys_runtime_init(rs_runtime *rt, MemoryContext context, int threads,
								bool verbose, int iterations);
extern void recsys_runtime_start_clock(rs_runtime *rt);
extern rs_allocator recsys_context_allocator(MemoryContext context);
extern int	recsys_resolve_threads(int requested);
extern void recsys_raise_status(rs_status status, const char *what);
extern MemoryContext recsys_aggregate_context(FunctionCallInfo fcinfo);
extern void recsys_check_serialized_size(Size size);

/* options.c: jsonb options validated against an algorithm's table */
extern void recsys_parse_options(Jsonb *options, const char *function_name,
								 const rs_option_spec *specs, int n_specs,
								 double *values, bool *given);
extern void recsys_append_options_json(StringInfo buf, const rs_option_spec *specs,
									   int n_specs, const double *values);

/* The same with one more option, a list of layer widths. */
extern void recsys_append_options_with_widths(StringInfo buf, const rs_option_spec *specs,
											  int n_specs, const double *values,
											  const char *name, const int *widths,
											  int count);

/*
 * Reads option `name`, a list of layer widths (which an option table cannot
 * express), into widths and *count, and returns the options without it;
 * widths and *count are left as they are when it is absent.
 */
extern Jsonb *recsys_take_widths(Jsonb *options, const char *name, const char *function_name,
								 int min_count, int max_count, int max_width,
								 const char *hint, int *widths, int *count);

/* training.c: what every trainer's final function ends with */
extern bytea *recsys_encode_model(rs_model *model, MemoryContext into);
extern void recsys_json_now(char *buf);

/* result_rows.c: set-returning serving functions */
extern void recsys_check_k(int32 k);
extern void recsys_init_materialized(FunctionCallInfo fcinfo);
extern void recsys_emit_row(FunctionCallInfo fcinfo, bool has_item, int64 item_id,
							double score);
extern void recsys_emit_top_k(FunctionCallInfo fcinfo, const rs_model *model,
							  const float *scores, const int32 *skip, size_t n_skip,
							  int32 k);
extern void recsys_emit_user_top_k(FunctionCallInfo fcinfo, int64 user_id,
								   const rs_model *model, const float *scores,
								   const int32 *skip, size_t n_skip, int32 k);

/* serving.c */
extern void recsys_require_factor_model(const rs_model *model, const char *function_name);
extern void recsys_reject_model_kind(const rs_model *model, rs_algorithm kind,
									 const char *function_name, const char *hint);

/* model_cache.c: the decoded model behind a bytea argument */
extern const rs_model *recsys_model_arg(FunctionCallInfo fcinfo, int argno);

/* sql_values.c: a real or double precision argument as the engine's float */
extern float4 recsys_value_as_real(float8 value, const char *what);

#endif
