/*
 * recsys.h - declarations shared by the PostgreSQL glue in src/.
 */
#ifndef RECSYS_GLUE_H
#define RECSYS_GLUE_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/kind.h"
#include "core/model.h"
#include "core/options.h"
#include "core/runtime.h"
#include "core/top_k.h"

/* GUCs */
/* The most threads any setting or option may ask for */
#define RECSYS_MAX_THREADS 1024
/* The largest bytea, in kB: MaxAllocSize less the length word, rounded down */
#define RECSYS_MAX_MODEL_SIZE_KB ((int) ((MaxAllocSize - VARHDRSZ) / 1024))

extern int	recsys_threads;
extern int	recsys_max_threads;
extern int	recsys_model_cache_size_mb;
extern int	recsys_max_model_size_kb;

/* The most bytes a trained model may take: recsys.max_model_size */
static inline uint64
recsys_max_model_bytes(void)
{
	return (uint64) recsys_max_model_size_kb * 1024;
}

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

/*
 * options.c: jsonb options validated against a kind's table; list_name (or
 * NULL) is an option read apart (recsys_take_widths), named in hints.
 */
extern void recsys_parse_options(Jsonb *options, const char *function_name,
								 const rs_option_spec *specs, int n_specs,
								 const char *list_name, double *values, bool *given);
extern void recsys_append_options_json(StringInfo buf, const rs_option_spec *specs,
									   int n_specs, const double *values);

/*
 * Reads option `name`, a list of layer widths (which an option table cannot
 * express), into widths and *count, and returns the options without it;
 * widths and *count are left as they are when it is absent.
 */
extern Jsonb *recsys_take_widths(Jsonb *options, const char *name, const char *function_name,
								 int min_count, int max_count, int max_width,
								 const char *hint, int *widths, int *count);

/* train.c: the training aggregates' final function, and its last steps */
extern bytea *recsys_encode_model(rs_model *model, MemoryContext into);
extern void recsys_json_now(char *buf);

/* arguments.c: checks of SQL arguments, one SQLSTATE per kind of mistake */
extern void recsys_check_k(int32 k);
extern void recsys_check_array(struct ArrayType *array, const char *what,
							   const char *null_hint);
extern void recsys_not_finite(const char *message, const char *detail,
							  const char *hint) pg_attribute_noreturn();

/* result_rows.c: set-returning serving functions */
extern void recsys_init_materialized(FunctionCallInfo fcinfo);
extern void recsys_emit_row(FunctionCallInfo fcinfo, bool has_item, int64 item_id,
							double score);
extern void recsys_emit_top_k(FunctionCallInfo fcinfo, const rs_model *model,
							  const float *scores, const int32 *skip, size_t n_skip,
							  int32 k);
extern void recsys_emit_user_top_k(FunctionCallInfo fcinfo, int64 user_id,
								   const rs_model *model, const float *scores,
								   const int32 *skip, size_t n_skip, int32 k);

/*
 * serving.c: an error unless the model's kind supports operation `op` of
 * rs_kind (core/kind.h), with a hint naming the kinds that do.
 */
#define recsys_require(model, op, function_name) \
	recsys_require_operation((model), offsetof(rs_kind, op), (function_name))
extern void recsys_require_operation(const rs_model *model, size_t offset,
									 const char *function_name);
/*
 * serving.c: a history as ascending, distinct dense item indices with their
 * values (repeats averaged, as training does; every value 1 without
 * values); ids the model lacks are dropped and counted in *unknown.
 */
extern int	recsys_read_history(const rs_model *model, struct ArrayType *item_ids,
								struct ArrayType *values, int32 **items, float **values_out,
								int *unknown);
/*
 * sequence_serving.c: a history given most recent first, for a sequential
 * kind: its dense items oldest first (ids the model lacks dropped and
 * counted in *unknown), and recommend(model, history, k).
 */
extern int	recsys_read_sequence(const rs_model *model, struct ArrayType *history,
								 int32 **items, int *unknown);
extern void recsys_recommend_sequence(FunctionCallInfo fcinfo, const rs_model *model,
									  struct ArrayType *history, int32 k);

/* serving.c: an error if the model keeps no users ("users": "fold_in") */
extern void recsys_require_users(const rs_model *model, const char *function_name);

/* model_cache.c: the decoded model behind a bytea argument */
extern const rs_model *recsys_model_arg(FunctionCallInfo fcinfo, int argno);
/* ... and, after it, a memo its caller keeps at the call site for the query */
extern void **recsys_call_site_memo(FunctionCallInfo fcinfo);

/* What identifies a model: its random id, size and checksum (model_cache.c). */
typedef struct recsys_model_key
{
	uint8		id[RS_MODEL_ID_BYTES];
	uint64		size;
	uint32		crc;
} recsys_model_key;

/* shared_models.c: one decoded copy per server, with shared_preload_libraries */
extern int	recsys_shared_cache_size_mb;
extern void recsys_shared_models_init(void);
extern bool recsys_shared_models_on(void);
extern int	recsys_shared_models_find(const recsys_model_key *key, rs_model *model);
extern int	recsys_shared_models_publish(const recsys_model_key *key, const rs_model *model,
										 const void *bytes, Size len, const void *expansion,
										 Size expansion_len, rs_model *shared);
extern void recsys_shared_models_unpin(int slot);

/* sql_values.c: a real or double precision argument as the engine's float */
extern float4 recsys_value_as_real(float8 value, const char *what);

#endif
