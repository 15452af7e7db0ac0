/*
 * shared_models.c - one decoded copy of a model per server.
 *
 * Without it every backend decodes its own copy of each model it serves
 * (model_cache.c), so fifty connections serving a 1 GB model need 50 GB.
 * When recsys is in shared_preload_libraries, the first backend to decode a
 * model also copies it - its bytes, its expanded training history and the
 * decoded rs_model - into an area of the server's main shared memory, and
 * every other backend finds it there by its identity and uses it in place:
 * attaching costs a lookup, not a decode, whatever the model's size.
 *
 * The area is a DSA created in place in the main shared memory, so it lies
 * at the same address in every backend (a decoded model's pointers hold as
 * they are) and is sized once, at server start, by recsys.shared_cache_size;
 * its pages are touched only as models fill it.  A small directory of slots,
 * under one LWLock, names what it holds.  Backends pin the models they hold
 * (a backend's model cache holds a pin until it evicts the model), and only
 * a model nobody pins is freed, least recently used first, when a new one
 * needs the room: a retrain-and-swap leaves readers of the old model
 * serving it.  A backend that exits releases its pins; one that crashes
 * makes the postmaster reinitialise shared memory, directory and all.
 * A model that does not fit stays in the backend's own cache as before.
 */
#include "recsys.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/dsa.h"
#include "utils/memutils.h"

#define SHARED_SLOTS 64

typedef enum slot_state
{
	SLOT_EMPTY,
	SLOT_FILLING,				/* being copied in by the backend that pins it */
	SLOT_READY
} slot_state;

typedef struct shared_slot
{
	slot_state	state;
	recsys_model_key key;
	dsa_pointer data;			/* the rs_model, then the bytes, then the history */
	Size		bytes;
	uint64		last_used;
	int			pins;			/* backends holding it */
} shared_slot;

typedef struct shared_directory
{
	LWLock		lock;
	int			tranche;
	uint64		clock;
	Size		area_size;
	shared_slot slots[SHARED_SLOTS];
} shared_directory;

int			recsys_shared_cache_size_mb = 256;

static shared_directory *directory = NULL;
static dsa_area *area = NULL;
static int	local_pins[SHARED_SLOTS];

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
area_size(void)
{
	return (Size) recsys_shared_cache_size_mb * 1024 * 1024;
}

static Size
directory_size(void)
{
	return MAXALIGN(sizeof(shared_directory)) + area_size();
}

static void *
area_place(void)
{
	return (char *) directory + MAXALIGN(sizeof(shared_directory));
}

static void
request_shared_memory(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(directory_size());
}

static void
create_shared_memory(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	directory = ShmemInitStruct("recsys shared models", directory_size(), &found);
	if (!found)
	{
		dsa_area   *created;

		memset(directory, 0, sizeof(shared_directory));
		directory->tranche = LWLockNewTrancheId();
		directory->area_size = area_size();
		LWLockInitialize(&directory->lock, directory->tranche);
		created = dsa_create_in_place(area_place(), directory->area_size, directory->tranche,
									  NULL);
		dsa_pin(created);
		/* the area never grows into DSM segments of its own */
		dsa_set_size_limit(created, directory->area_size);
		dsa_detach(created);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * From _PG_init: reserves the shared memory when the library is being
 * preloaded, with a cache size of at least the area's minimum.
 */
void
recsys_shared_models_init(void)
{
	if (!process_shared_preload_libraries_in_progress ||
		area_size() < dsa_minimum_size())
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shared_memory;
#else
	request_shared_memory();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = create_shared_memory;
}

bool
recsys_shared_models_on(void)
{
	return directory != NULL;
}

/* At exit: the pins this backend holds go back. */
static void
release_pins(int code, Datum arg)
{
	LWLockAcquire(&directory->lock, LW_EXCLUSIVE);
	for (int s = 0; s < SHARED_SLOTS; s++)
	{
		directory->slots[s].pins -= local_pins[s];
		local_pins[s] = 0;
	}
	LWLockRelease(&directory->lock);
}

static void
attach_area(void)
{
	MemoryContext old;

	if (area != NULL)
		return;
	LWLockRegisterTranche(directory->tranche, "recsys_shared_models");
	old = MemoryContextSwitchTo(TopMemoryContext);
	area = dsa_attach_in_place(area_place(), NULL);
	dsa_pin_mapping(area);
	MemoryContextSwitchTo(old);
	before_shmem_exit(release_pins, (Datum) 0);
}

static void
pin(int s)
{
	directory->slots[s].pins++;
	directory->slots[s].last_used = ++directory->clock;
	local_pins[s]++;
}

/* The first slot in the state (holding the model, if key is given), or -1. */
static int
slot_holding(slot_state state, const recsys_model_key *key)
{
	for (int s = 0; s < SHARED_SLOTS; s++)
		if (directory->slots[s].state == state &&
			(key == NULL || memcmp(&directory->slots[s].key, key, sizeof(*key)) == 0))
			return s;
	return -1;
}

/*
 * The ready slot of the model, or -1, with the lock held as on entry: while
 * another backend copies the same model in, it waits for the copy rather
 * than make a second (which, kept private, would stay a backend's own for
 * as long as its cache held it).
 */
static int
ready_slot(const recsys_model_key *key)
{
	while (slot_holding(SLOT_FILLING, key) >= 0)
	{
		LWLockRelease(&directory->lock);
		pg_usleep(1000L);
		CHECK_FOR_INTERRUPTS();
		LWLockAcquire(&directory->lock, LW_EXCLUSIVE);
	}
	return slot_holding(SLOT_READY, key);
}

/* Frees the least recently used model nobody pins; false if there is none. */
static bool
evict_one(void)
{
	int			victim = -1;

	for (int s = 0; s < SHARED_SLOTS; s++)
	{
		shared_slot *slot = &directory->slots[s];

		if (slot->state == SLOT_READY && slot->pins == 0 &&
			(victim < 0 || slot->last_used < directory->slots[victim].last_used))
			victim = s;
	}
	if (victim < 0)
		return false;
	dsa_free(area, directory->slots[victim].data);
	directory->slots[victim].state = SLOT_EMPTY;
	return true;
}

/*
 * Pins the shared copy of the model and fills *model with it (pointers
 * valid in this backend); the slot, or -1 if the server holds no copy.
 */
int
recsys_shared_models_find(const recsys_model_key *key, rs_model *model)
{
	int			s;

	attach_area();
	LWLockAcquire(&directory->lock, LW_EXCLUSIVE);
	if ((s = ready_slot(key)) >= 0)
	{
		pin(s);
		*model = *(const rs_model *) dsa_get_address(area, directory->slots[s].data);
	}
	LWLockRelease(&directory->lock);
	return s;
}

/*
 * Copies a model this backend decoded (bytes, and its expanded history if
 * any, which the model points into) into shared memory, pinned, and fills
 * *shared with the copy (or with another backend's copy of the same model,
 * made meanwhile).  Returns the slot, or -1 when it does not fit even after
 * freeing every model nobody pins: the caller keeps its own copy then.
 */
int
recsys_shared_models_publish(const recsys_model_key *key, const rs_model *model,
							 const void *bytes, Size len, const void *expansion,
							 Size expansion_len, rs_model *shared)
{
	Size		head = MAXALIGN(sizeof(rs_model)),
				total = head + MAXALIGN(len) + expansion_len;
	dsa_pointer data;
	rs_model	copy = *model;
	char	   *block;
	int			s;

	attach_area();
	if (total > directory->area_size)
		return -1;
	LWLockAcquire(&directory->lock, LW_EXCLUSIVE);
	/* another backend was quicker: no second copy */
	if ((s = ready_slot(key)) >= 0)
	{
		pin(s);
		*shared = *(const rs_model *) dsa_get_address(area, directory->slots[s].data);
		LWLockRelease(&directory->lock);
		return s;
	}
	while (!DsaPointerIsValid(data = dsa_allocate_extended(area, total,
														   DSA_ALLOC_HUGE | DSA_ALLOC_NO_OOM)) &&
		   evict_one())
		;
	if ((s = slot_holding(SLOT_EMPTY, NULL)) < 0 && evict_one())
		s = slot_holding(SLOT_EMPTY, NULL);
	if (s < 0 || !DsaPointerIsValid(data))
	{
		if (DsaPointerIsValid(data))
			dsa_free(area, data);
		LWLockRelease(&directory->lock);
		return -1;
	}
	directory->slots[s].state = SLOT_FILLING;
	directory->slots[s].key = *key;
	directory->slots[s].data = data;
	directory->slots[s].bytes = total;
	pin(s);
	LWLockRelease(&directory->lock);

	/* copied outside the lock: others find the model once it is ready */
	block = dsa_get_address(area, data);
	memcpy(block + head, bytes, len);
	rs_model_rebase(&copy, bytes, len, block + head);
	if (expansion_len > 0)
	{
		memcpy(block + head + MAXALIGN(len), expansion, expansion_len);
		rs_model_rebase(&copy, expansion, expansion_len, block + head + MAXALIGN(len));
	}
	memcpy(block, &copy, sizeof(rs_model));
	*shared = copy;

	LWLockAcquire(&directory->lock, LW_EXCLUSIVE);
	directory->slots[s].state = SLOT_READY;
	LWLockRelease(&directory->lock);
	return s;
}

void
recsys_shared_models_unpin(int slot)
{
	LWLockAcquire(&directory->lock, LW_EXCLUSIVE);
	directory->slots[slot].pins--;
	local_pins[slot]--;
	LWLockRelease(&directory->lock);
}
