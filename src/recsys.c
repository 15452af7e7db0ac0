/*
 * recsys.c - module entry point: settings and one-time set-up.
 */
#include "recsys.h"

#include <limits.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

int			recsys_threads = 0;
int			recsys_max_threads = 1;
int			recsys_model_cache_size_mb = 256;
int			recsys_max_model_size_kb = RECSYS_MAX_MODEL_SIZE_KB;

void		_PG_init(void);

void
_PG_init(void)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	DefineCustomIntVariable("recsys.threads",
							"Number of threads training uses (0 = all cores).",
							"A training call's \"threads\" option overrides it.",
							&recsys_threads,
							0, 0, RECSYS_MAX_THREADS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	/*
	 * The extension is trusted: any database owner may train.  Only a
	 * superuser decides how many threads one backend may start.
	 */
	DefineCustomIntVariable("recsys.max_threads",
							"Most threads one training may use.",
							"Larger \"threads\" options and recsys.threads are lowered to it.",
							&recsys_max_threads,
							cores > 0 ? (int) Min(cores, RECSYS_MAX_THREADS) : 1,
							1, RECSYS_MAX_THREADS,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("recsys.model_cache_size",
							"Memory each backend may use to keep decoded models.",
							"Models in use by a running query stay cached even beyond it.",
							&recsys_model_cache_size_mb,
							256, 0, INT_MAX / 2,
							PGC_USERSET, GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("recsys.max_model_size",
							"Largest model a training may produce.",
							"Training refuses, as soon as the rows are arranged, a model that would be larger; a bytea value holds at most 1 GB.",
							&recsys_max_model_size_kb,
							RECSYS_MAX_MODEL_SIZE_KB, 1, RECSYS_MAX_MODEL_SIZE_KB,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	/* the shared cache is sized at server start, so only when preloading */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("recsys.shared_cache_size",
								"Shared memory for decoded models, one copy per server.",
								"Set at server start, with recsys in shared_preload_libraries; 0 keeps each backend's models in its own cache.",
								&recsys_shared_cache_size_mb,
								256, 0, 1024 * 1024,
								PGC_POSTMASTER, GUC_UNIT_MB,
								NULL, NULL, NULL);
	recsys_shared_models_init();
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("recsys");
#else
	EmitWarningsOnPlaceholders("recsys");
#endif

	/* Training parallelises across rows itself; BLAS inside must not spawn more. */
	rs_blas_single_threaded();
}
