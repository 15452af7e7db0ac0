/*
 * model_cache.c - the decoded model behind a bytea argument, without decoding
 * (or even detoasting) it per call.
 *
 * Two levels:
 *
 * - per call site (fn_extra, for the duration of the query): the datum last
 *   seen and the model it decoded to.  An on-disk TOAST pointer is compared by
 *   its relation and value id; an in-memory value by the identity in its
 *   header (never by address: per-row memory is reused).  A matching row
 *   skips every lookup.
 * - per backend: decoded models in LRU order, keyed by the identity read from
 *   a detoast slice of the header (random model id, size, checksum), bounded
 *   by recsys.model_cache_size.  A retrained model has a new id, so nothing
 *   is ever invalidated by hand.
 *
 * Call sites pin the entry they use; a pin is released when the query's
 * memory goes away, so eviction never frees a model a running query holds.
 */
#include "recsys.h"

#include "access/detoast.h"
#include "access/table.h"
#include "access/tableam.h"
#include "lib/ilist.h"
#include "utils/memutils.h"

/* The stored size of an out-of-line value (its field was renamed in 14). */
#if PG_VERSION_NUM >= 140000
#define EXTERNAL_SIZE(toast) VARATT_EXTERNAL_GET_EXTSIZE(toast)
#else
#define EXTERNAL_SIZE(toast) ((Size) (toast).va_extsize)
#endif

typedef recsys_model_key model_key;

typedef struct cached_model
{
	dlist_node	lru;			/* most recently used first */
	model_key	key;
	MemoryContext context;		/* holds the entry and its bytes */
	rs_model	model;			/* points into bytes, or into shared memory */
	int			shared_slot;	/* the shared copy it pins, or -1 */
	Size		footprint;
	int			pins;
} cached_model;

typedef struct call_site
{
	bool		valid;
	bool		on_disk;
	Oid			toast_relid;
	Oid			value_id;
	model_key	key;
	cached_model *entry;
	MemoryContextCallback release;
	void	   *memo;			/* a serving function's own, in fn_mcxt */
} call_site;

static MemoryContext cache_context = NULL;
static dlist_head cache_lru = DLIST_STATIC_INIT(cache_lru);
static Size cache_bytes = 0;

/* The last models said to be too large for the cache: said once each. */
#define TOO_LARGE_REMEMBERED 16
static model_key too_large[TOO_LARGE_REMEMBERED];
static int	too_large_next = 0;

/*
 * A model larger than the whole cache is decoded again by every query that
 * uses it, which is slow without any other sign: say so, once per backend
 * and model.
 */
static void
notice_if_too_large(const model_key *key, Size len)
{
	Size		budget = (Size) recsys_model_cache_size_mb * 1024 * 1024;

	/* a cache turned off (0) was asked for: nothing to point out */
	if (budget == 0 || len <= budget)
		return;
	for (int k = 0; k < TOO_LARGE_REMEMBERED; k++)
		if (memcmp(&too_large[k], key, sizeof(model_key)) == 0)
			return;
	too_large[too_large_next] = *key;
	too_large_next = (too_large_next + 1) % TOO_LARGE_REMEMBERED;
	ereport(NOTICE,
			(errmsg("model of %zu MB is larger than recsys.model_cache_size (%d MB)",
					(len + 1024 * 1024 - 1) / (1024 * 1024), recsys_model_cache_size_mb),
			 errdetail("Every query that uses it decodes it again."),
			 errhint("Raise recsys.model_cache_size to at least %zu MB to keep it decoded between queries.",
					 (len + 1024 * 1024 - 1) / (1024 * 1024))));
}

static void
evict_over_budget(void)
{
	Size		budget = (Size) recsys_model_cache_size_mb * 1024 * 1024;
	dlist_node *node = dlist_is_empty(&cache_lru) ? NULL : dlist_tail_node(&cache_lru);

	/* from the least recently used end, skipping models in use */
	while (node != NULL && cache_bytes > budget)
	{
		cached_model *entry = dlist_container(cached_model, lru, node);

		node = dlist_has_prev(&cache_lru, node) ? dlist_prev_node(&cache_lru, node) : NULL;
		if (entry->pins > 0)
			continue;
		dlist_delete(&entry->lru);
		cache_bytes -= entry->footprint;
		if (entry->shared_slot >= 0)
			recsys_shared_models_unpin(entry->shared_slot);
		MemoryContextDelete(entry->context);
	}
}

static void
unpin(cached_model *entry)
{
	if (entry && --entry->pins == 0)
		evict_over_budget();
}

static void
release_call_site(void *arg)
{
	call_site  *site = arg;

	unpin(site->entry);
	site->entry = NULL;
	site->valid = false;
}

static cached_model *
lookup(const model_key *key)
{
	dlist_iter	iter;

	dlist_foreach(iter, &cache_lru)
	{
		cached_model *entry = dlist_container(cached_model, lru, iter.cur);

		if (memcmp(&entry->key, key, sizeof(model_key)) == 0)
		{
			dlist_move_head(&cache_lru, &entry->lru);
			return entry;
		}
	}
	return NULL;
}

static void
raise_invalid_model(const char *reason)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid recsys model"),
			 errdetail("The value cannot be used as a model: %s.", reason),
			 reason == rs_model_newer_format ?
			 errhint("Update the recsys extension to the version that trained the model, or retrain it with this one.") : 0));
}

/*
 * The model's bytes in a new allocation of the given context, aligned as
 * the in-place layout needs.  An uncompressed out-of-line value is read
 * straight from its TOAST relation into that allocation: one copy of a
 * large model instead of a detoasted one and then an aligned one, which
 * matters when every first touch of fresh memory is a page fault.
 */
static void *
fetch_bytes(Datum datum, MemoryContext context, Size *len)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(datum);
	bytea	   *value;
	void	   *bytes;

	if (VARATT_IS_EXTERNAL_ONDISK(raw))
	{
		struct varatt_external toast;

		VARATT_EXTERNAL_GET_POINTER(toast, raw);
		if (!VARATT_EXTERNAL_IS_COMPRESSED(toast))
		{
			Size		size = EXTERNAL_SIZE(toast);
			/* a varlena header just before a MAXALIGNed payload */
			char	   *block = MemoryContextAllocHuge(context, MAXALIGN(VARHDRSZ) + size);
			struct varlena *result = (struct varlena *) (block + MAXALIGN(VARHDRSZ) - VARHDRSZ);
			Relation	toastrel;

			if (size >= RECSYS_HUGE_PAGES_FROM)
				rs_advise_huge_pages(block, MAXALIGN(VARHDRSZ) + size);
			SET_VARSIZE(result, size + VARHDRSZ);
			toastrel = table_open(toast.va_toastrelid, AccessShareLock);
			table_relation_fetch_toast_slice(toastrel, toast.va_valueid, (int32) size, 0,
											 (int32) size, result);
			table_close(toastrel, AccessShareLock);
			*len = size;
			return VARDATA(result);
		}
	}
	value = DatumGetByteaPP(datum);
	*len = VARSIZE_ANY_EXHDR(value);
	/* palloc'd memory is MAXALIGNed, which the in-place layout needs */
	bytes = MemoryContextAllocHuge(context, *len);
	memcpy(bytes, VARDATA_ANY(value), *len);
	if ((Pointer) value != DatumGetPointer(datum))
		pfree(value);
	return bytes;
}

/*
 * A cache entry for the server's shared copy of a model (shared_models.c):
 * the entry alone in its context.  It counts the shared bytes against this
 * backend's budget all the same, so that models it no longer uses are let
 * go of, and freed server-wide.
 */
static cached_model *
new_shared_entry(const model_key *key, int slot, const rs_model *model)
{
	MemoryContext context = AllocSetContextCreate(cache_context, "recsys shared model",
												  ALLOCSET_SMALL_SIZES);
	cached_model *entry = MemoryContextAllocZero(context, sizeof(cached_model));

	entry->key = *key;
	entry->context = context;
	entry->model = *model;
	entry->shared_slot = slot;
	entry->footprint = key->size;
	dlist_push_head(&cache_lru, &entry->lru);
	cache_bytes += entry->footprint;
	return entry;
}

/*
 * Reads, validates and decodes into a new cache entry - or, with the shared
 * cache on, finds the server's copy, or makes this decode that copy.
 */
static cached_model *
load(Datum datum, const model_key *key)
{
	MemoryContext context;
	cached_model *entry;
	void	   *bytes;
	void	   *history = NULL;
	Size		len,
				expansion;
	const char *reason;
	rs_model	shared;
	int			slot;

	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(CacheMemoryContext, "recsys model cache",
											  ALLOCSET_DEFAULT_SIZES);
	if (recsys_shared_models_on() && (slot = recsys_shared_models_find(key, &shared)) >= 0)
		return new_shared_entry(key, slot, &shared);
	context = AllocSetContextCreate(cache_context, "recsys model", ALLOCSET_SMALL_SIZES);
	bytes = fetch_bytes(datum, context, &len);
	entry = MemoryContextAllocZero(context, sizeof(cached_model));
	if ((reason = rs_model_decode(bytes, len, &entry->model)) != NULL)
	{
		MemoryContextDelete(context);
		raise_invalid_model(reason);
	}
	/* a compact training history is expanded beside the bytes */
	if ((expansion = rs_model_history_expansion(&entry->model)) > 0)
	{
		history = MemoryContextAllocExtended(context, expansion,
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
		if (history == NULL)
		{
			MemoryContextDelete(context);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Failed on request of size %zu for a model's training history.",
							   expansion)));
		}
		rs_model_expand_history(&entry->model, history);
	}
	if (recsys_shared_models_on() &&
		(slot = recsys_shared_models_publish(key, &entry->model, bytes, len, history, expansion,
											 &shared)) >= 0)
	{
		MemoryContextDelete(context);
		return new_shared_entry(key, slot, &shared);
	}
	entry->shared_slot = -1;
	entry->key = *key;
	entry->context = context;
	entry->footprint = len + expansion;
	dlist_push_head(&cache_lru, &entry->lru);
	cache_bytes += entry->footprint;
	notice_if_too_large(key, entry->footprint);
	return entry;
}

static void
read_key(Datum datum, model_key *key)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(datum);
	bytea	   *head = raw;
	rs_model_header identity;
	const char *reason;

	/* A plain in-line value is read where it lies; others through a slice. */
	if (VARATT_IS_EXTERNAL(raw) || VARATT_IS_COMPRESSED(raw))
		head = DatumGetByteaPSlice(datum, 0, RS_MODEL_IDENTITY_SIZE);
	reason = rs_model_read_identity(VARDATA_ANY(head), VARSIZE_ANY_EXHDR(head), &identity);
	if (reason)
		raise_invalid_model(reason);
	/*
	 * The whole value's length costs nothing to know (a TOAST pointer holds
	 * it): a copy cut short or grown must not be taken for the cached model
	 * its header names.
	 */
	if (toast_raw_datum_size(datum) - VARHDRSZ != identity.total_size)
		raise_invalid_model("its length does not match its header");
	memset(key, 0, sizeof(*key));
	memcpy(key->id, identity.model_id, RS_MODEL_ID_BYTES);
	key->size = identity.total_size;
	key->crc = identity.payload_crc;
}

const rs_model *
recsys_model_arg(FunctionCallInfo fcinfo, int argno)
{
	Datum		datum = PG_GETARG_DATUM(argno);
	struct varlena *raw = (struct varlena *) DatumGetPointer(datum);
	call_site  *site = fcinfo->flinfo->fn_extra;
	bool		on_disk = VARATT_IS_EXTERNAL_ONDISK(raw);
	struct varatt_external toast = {0};
	model_key	key;
	cached_model *entry;

	if (site == NULL)
	{
		site = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(call_site));
		site->release.func = release_call_site;
		site->release.arg = site;
		MemoryContextRegisterResetCallback(fcinfo->flinfo->fn_mcxt, &site->release);
		fcinfo->flinfo->fn_extra = site;
	}

	if (on_disk)
	{
		VARATT_EXTERNAL_GET_POINTER(toast, raw);
		if (site->valid && site->on_disk &&
			site->toast_relid == toast.va_toastrelid && site->value_id == toast.va_valueid)
			return &site->entry->model;
	}

	read_key(datum, &key);
	if (!(site->valid && memcmp(&site->key, &key, sizeof(key)) == 0))
	{
		entry = lookup(&key);
		if (entry == NULL)
			entry = load(datum, &key);
		entry->pins++;
		unpin(site->entry);
		site->entry = entry;
		site->key = key;
		site->valid = true;
		evict_over_budget();
	}
	site->on_disk = on_disk;
	site->toast_relid = toast.va_toastrelid;
	site->value_id = toast.va_valueid;
	return &site->entry->model;
}

/*
 * A pointer a serving function may keep for the rest of the query at its
 * call site (in fn_mcxt), beside the model recsys_model_arg found there:
 * what it computed for the last row, to reuse for the next.
 */
void **
recsys_call_site_memo(FunctionCallInfo fcinfo)
{
	call_site  *site = fcinfo->flinfo->fn_extra;

	Assert(site != NULL);
	return &site->memo;
}
