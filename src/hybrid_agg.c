/*
 * hybrid_agg.c - transition, combine, serialise and deserialise functions
 * of train_hybrid(user_id, item_id, value, user_tags text[], item_tags
 * text[] [, options]): the interaction rows as interactions_agg.c collects
 * them, and per user and per item the union of the tags of its rows.
 *
 * Memory goes with distinct ids, tags and tag sets, not with rows.  Each
 * side (users, items) keeps the same four tables, in the aggregate context:
 *
 *   dictionary  tag name -> number, in order of first appearance
 *   sets        sorted lists of tag numbers, interned by content, so two
 *               sets are equal exactly when their numbers are (0 is empty)
 *   arrays      a cache: tag array bytes -> set, so a repeated array is
 *               hashed once and its strings are not looked at again
 *   ids         id -> its set, or once its rows disagreed ("varying") a
 *               growable union of its own
 *
 * A row whose array is the one its id last had costs one id lookup and a
 * memcmp.  Combining translates the other state's tag numbers through this
 * dictionary and merges id by id, which keeps union and varying exact; the
 * serialised form is the same tables flattened.
 */
#include "hybrid_agg.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(recsys_hybrid_trans);
PG_FUNCTION_INFO_V1(recsys_hybrid_combine);
PG_FUNCTION_INFO_V1(recsys_hybrid_serialize);
PG_FUNCTION_INFO_V1(recsys_hybrid_deserialize);

/* The key a lookup passes while the candidate is not in a table yet. */
#define PENDING (-1)

/* Tag and set numbers are int32; an offset array needs one more entry. */
#define MAX_NUMBERS (PG_INT32_MAX - 1)

/*
 * Array bytes the cache may hold beyond this many times the bytes of the
 * sets they map to: arrays that differ only in order or repeats (one per
 * row, at worst) then go the slow way rather than fill memory.
 */
#define ARRAY_CACHE_BASE ((Size) 16 << 20)
#define ARRAY_CACHE_RATIO 16

typedef struct name_entry
{
	int32		number;
	uint32		hash;
	char		status;
} name_entry;

typedef struct set_entry
{
	int32		number;
	uint32		hash;
	char		status;
} set_entry;

typedef struct array_entry
{
	int32		number;
	uint32		hash;
	char		status;
} array_entry;

typedef struct id_entry
{
	int64		id;
	int32		set;			/* a set, or if varying an index in unions */
	int32		array;			/* the array its last row had (its set is in), or -1 */
	char		status;
	bool		varying;		/* its rows carried different sets */
} id_entry;

/* A varying id's tags: sorted, without repeats. */
typedef struct tag_union
{
	int32	   *tags;
	int32		count;
	int32		capacity;
} tag_union;

typedef struct cached_array
{
	char	   *bytes;			/* the array's varlena contents, without header */
	Size		len;
	int32		set;
	int32		nulls;			/* NULL elements in it */
} cached_array;

static inline uint32 name_hash(void *side, int32 number);
static inline bool names_equal(void *side, int32 a, int32 b);
static inline uint32 set_hash(void *side, int32 number);
static inline bool sets_equal(void *side, int32 a, int32 b);
static inline uint32 array_hash(void *side, int32 number);
static inline bool arrays_equal(void *side, int32 a, int32 b);

/* Each key is a number; SH_EQUAL and SH_HASH_KEY look its contents up. */
#define SH_PREFIX tagnames
#define SH_ELEMENT_TYPE name_entry
#define SH_KEY_TYPE int32
#define SH_KEY number
#define SH_HASH_KEY(tb, key) name_hash((tb)->private_data, key)
#define SH_EQUAL(tb, a, b) names_equal((tb)->private_data, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

#define SH_PREFIX tagsets
#define SH_ELEMENT_TYPE set_entry
#define SH_KEY_TYPE int32
#define SH_KEY number
#define SH_HASH_KEY(tb, key) set_hash((tb)->private_data, key)
#define SH_EQUAL(tb, a, b) sets_equal((tb)->private_data, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

#define SH_PREFIX tagarrays
#define SH_ELEMENT_TYPE array_entry
#define SH_KEY_TYPE int32
#define SH_KEY number
#define SH_HASH_KEY(tb, key) array_hash((tb)->private_data, key)
#define SH_EQUAL(tb, a, b) arrays_equal((tb)->private_data, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static inline uint32
id_hash(int64 id)
{
	/* murmur3's 64-bit finaliser: ids are often consecutive */
	uint64		h = (uint64) id;

	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32) h;
}

#define SH_PREFIX tagids
#define SH_ELEMENT_TYPE id_entry
#define SH_KEY_TYPE int64
#define SH_KEY id
#define SH_HASH_KEY(tb, key) id_hash(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct hybrid_side
{
	bool		is_user;		/* which side, for error details */
	MemoryContext context;

	/* dictionary: name t is names[name_offsets[t] .. name_offsets[t + 1]) */
	tagnames_hash *name_table;
	char	   *names;
	Size		names_size;
	Size		names_capacity;
	uint64	   *name_offsets;
	int32		n_names;
	Size		name_offsets_capacity;

	/* sets: set s is set_tags[set_offsets[s] .. set_offsets[s + 1]) */
	tagsets_hash *set_table;
	int32	   *set_tags;
	Size		set_tags_size;
	Size		set_tags_capacity;
	uint64	   *set_offsets;
	int32		n_sets;
	Size		set_offsets_capacity;

	tag_union  *unions;
	int32		n_unions;
	Size		unions_capacity;

	tagarrays_hash *array_table;
	cached_array *arrays;
	int32		n_arrays;
	Size		arrays_capacity;
	Size		array_bytes;

	tagids_hash *ids;

	int32	   *scratch;		/* one row's or entry's tags, reused */
	Size		scratch_capacity;

	/* what a lookup with key PENDING stands for */
	const char *pending_name;
	Size		pending_name_len;
	const int32 *pending_set;
	Size		pending_set_count;
	const char *pending_array;
	Size		pending_array_len;
};

static inline void
name_of(const hybrid_side *side, int32 number, const char **name, Size *len)
{
	if (number == PENDING)
	{
		*name = side->pending_name;
		*len = side->pending_name_len;
	}
	else
	{
		*name = side->names + side->name_offsets[number];
		*len = side->name_offsets[number + 1] - side->name_offsets[number];
	}
}

static inline uint32
name_hash(void *side, int32 number)
{
	const char *name;
	Size		len;

	name_of(side, number, &name, &len);
	return hash_bytes((const unsigned char *) name, (int) len);
}

static inline bool
names_equal(void *side, int32 a, int32 b)
{
	const char *x,
			   *y;
	Size		x_len,
				y_len;

	name_of(side, a, &x, &x_len);
	name_of(side, b, &y, &y_len);
	return x_len == y_len && memcmp(x, y, x_len) == 0;
}

static inline const int32 *
set_of(const hybrid_side *side, int32 number, Size *count)
{
	if (number == PENDING)
	{
		*count = side->pending_set_count;
		return side->pending_set;
	}
	*count = side->set_offsets[number + 1] - side->set_offsets[number];
	return side->set_tags + side->set_offsets[number];
}

static inline uint32
set_hash(void *side, int32 number)
{
	Size		count;
	const int32 *tags = set_of(side, number, &count);

	return hash_bytes((const unsigned char *) tags, (int) (count * sizeof(int32)));
}

static inline bool
sets_equal(void *side, int32 a, int32 b)
{
	Size		x_count,
				y_count;
	const int32 *x = set_of(side, a, &x_count);
	const int32 *y = set_of(side, b, &y_count);

	return x_count == y_count && (x_count == 0 || memcmp(x, y, x_count * sizeof(int32)) == 0);
}

static inline void
array_of(const hybrid_side *side, int32 number, const char **bytes, Size *len)
{
	if (number == PENDING)
	{
		*bytes = side->pending_array;
		*len = side->pending_array_len;
	}
	else
	{
		*bytes = side->arrays[number].bytes;
		*len = side->arrays[number].len;
	}
}

static inline uint32
array_hash(void *side, int32 number)
{
	const char *bytes;
	Size		len;

	array_of(side, number, &bytes, &len);
	return hash_bytes((const unsigned char *) bytes, (int) len);
}

static inline bool
arrays_equal(void *side, int32 a, int32 b)
{
	const char *x,
			   *y;
	Size		x_len,
				y_len;

	array_of(side, a, &x, &x_len);
	array_of(side, b, &y, &y_len);
	return x_len == y_len && memcmp(x, y, x_len) == 0;
}

/* The tags of an id: its set, or its own union. */
static inline const int32 *
id_tags(const hybrid_side *side, const id_entry *entry, Size *count)
{
	if (entry->varying)
	{
		*count = side->unions[entry->set].count;
		return side->unions[entry->set].tags;
	}
	return set_of(side, entry->set, count);
}

/* *array (of *capacity elements of elem bytes) with room for need; doubles. */
static void
grow(void **array, Size *capacity, Size need, Size elem, MemoryContext context)
{
	Size		wanted = Max(*capacity, 16);

	if (need <= *capacity)
		return;
	while (wanted < need)
		wanted *= 2;
	if (*array == NULL)
		*array = MemoryContextAllocHuge(context, wanted * elem);
	else
		*array = repalloc_huge(*array, wanted * elem);
	*capacity = wanted;
}

static void
too_many(bool sets)
{
	if (sets)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct tag sets for a hybrid model"),
				 errdetail("At most %d are supported on each side.", MAX_NUMBERS)));
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("too many distinct tags for a hybrid model"),
			 errdetail("At most %d are supported on each side.", MAX_NUMBERS)));
}

static hybrid_side *
new_side(MemoryContext context, bool is_user)
{
	hybrid_side *side = MemoryContextAllocZero(context, sizeof(hybrid_side));

	side->is_user = is_user;
	side->context = context;
	side->name_table = tagnames_create(context, 64, side);
	side->set_table = tagsets_create(context, 64, side);
	side->array_table = tagarrays_create(context, 64, side);
	side->ids = tagids_create(context, 256, side);
	grow((void **) &side->name_offsets, &side->name_offsets_capacity, 1, sizeof(uint64), context);
	side->name_offsets[0] = 0;
	grow((void **) &side->set_offsets, &side->set_offsets_capacity, 1, sizeof(uint64), context);
	side->set_offsets[0] = 0;
	return side;
}

/* The dictionary's number for a name, added if new. */
static int32
intern_name(hybrid_side *side, const char *name, Size len)
{
	uint32		hash = hash_bytes((const unsigned char *) name, (int) len);
	name_entry *entry;
	bool		found;

	side->pending_name = name;
	side->pending_name_len = len;
	entry = tagnames_lookup_hash(side->name_table, PENDING, hash);
	if (entry)
		return entry->number;
	if (side->n_names >= MAX_NUMBERS)
		too_many(false);
	grow((void **) &side->names, &side->names_capacity, side->names_size + len, 1,
		 side->context);
	grow((void **) &side->name_offsets, &side->name_offsets_capacity, side->n_names + 2,
		 sizeof(uint64), side->context);
	memcpy(side->names + side->names_size, name, len);
	side->names_size += len;
	side->name_offsets[side->n_names + 1] = side->names_size;
	entry = tagnames_insert_hash(side->name_table, PENDING, hash, &found);
	Assert(!found);
	entry->number = side->n_names++;
	return entry->number;
}

/* The number of a set (sorted, without repeats), added if new. */
static int32
intern_set(hybrid_side *side, const int32 *tags, Size count)
{
	uint32		hash = hash_bytes((const unsigned char *) tags, (int) (count * sizeof(int32)));
	set_entry  *entry;
	bool		found;

	side->pending_set = tags;
	side->pending_set_count = count;
	entry = tagsets_lookup_hash(side->set_table, PENDING, hash);
	if (entry)
		return entry->number;
	if ((int64) side->n_sets + side->n_unions >= MAX_NUMBERS)
		too_many(true);
	grow((void **) &side->set_tags, &side->set_tags_capacity, side->set_tags_size + count,
		 sizeof(int32), side->context);
	grow((void **) &side->set_offsets, &side->set_offsets_capacity, side->n_sets + 2,
		 sizeof(uint64), side->context);
	if (count > 0)
		memcpy(side->set_tags + side->set_tags_size, tags, count * sizeof(int32));
	side->set_tags_size += count;
	side->set_offsets[side->n_sets + 1] = side->set_tags_size;
	entry = tagsets_insert_hash(side->set_table, PENDING, hash, &found);
	Assert(!found);
	entry->number = side->n_sets++;
	return entry->number;
}

static hybrid_state *
new_state(MemoryContext context)
{
	hybrid_state *state = MemoryContextAllocZero(context, sizeof(hybrid_state));
	int32		empty PG_USED_FOR_ASSERTS_ONLY;

	state->users = new_side(context, true);
	state->items = new_side(context, false);
	/* the empty set is set 0: a NULL array needs no lookup */
	empty = intern_set(state->users, NULL, 0);
	Assert(empty == 0);
	empty = intern_set(state->items, NULL, 0);
	Assert(empty == 0);
	return state;
}

hybrid_state *
recsys_hybrid_state(FunctionCallInfo fcinfo)
{
	return (hybrid_state *) recsys_interactions_state(fcinfo);
}

static int
compare_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* Sorts tags[0..count) and drops repeats; returns the new count. */
static Size
sort_unique(int32 *tags, Size count)
{
	Size		kept = 0;

	if (count <= 16)
	{
		/* rows carry a handful of tags: insertion sort beats qsort's calls */
		for (Size i = 1; i < count; i++)
		{
			int32		x = tags[i];
			Size		j = i;

			for (; j > 0 && tags[j - 1] > x; j--)
				tags[j] = tags[j - 1];
			tags[j] = x;
		}
	}
	else
		qsort(tags, count, sizeof(int32), compare_int32);
	for (Size i = 0; i < count; i++)
		if (kept == 0 || tags[kept - 1] != tags[i])
			tags[kept++] = tags[i];
	return kept;
}

/* A new union holding a ∪ b (both sorted, without repeats); its index. */
static int32
new_union(hybrid_side *side, const int32 *a, Size a_count, const int32 *b, Size b_count)
{
	tag_union  *u;
	Size		i = 0,
				j = 0,
				k = 0;

	if ((int64) side->n_sets + side->n_unions >= MAX_NUMBERS)
		too_many(true);
	grow((void **) &side->unions, &side->unions_capacity, side->n_unions + 1,
		 sizeof(tag_union), side->context);
	u = &side->unions[side->n_unions];
	/* at most every tag of the side */
	u->capacity = (int32) Min(a_count + b_count, (Size) side->n_names);
	u->tags = MemoryContextAllocHuge(side->context, Max(u->capacity, 1) * sizeof(int32));
	while (i < a_count || j < b_count)
	{
		if (j == b_count || (i < a_count && a[i] < b[j]))
			u->tags[k++] = a[i++];
		else if (i == a_count || b[j] < a[i])
			u->tags[k++] = b[j++];
		else
		{
			u->tags[k++] = a[i++];
			j++;
		}
	}
	u->count = (int32) k;
	return side->n_unions++;
}

/* u ∪= tags (sorted, without repeats); nothing to do when it holds them already. */
static void
union_add(hybrid_side *side, tag_union *u, const int32 *tags, Size count)
{
	Size		merged = u->count,
				i,
				j,
				k;

	for (j = 0; j < count; j++)
		if (!rs_sorted_contains(u->tags, u->count, tags[j]))
			merged++;
	if (merged == (Size) u->count)
		return;
	if (merged > (Size) u->capacity)
	{
		Size		capacity = Min(Max(merged, 2 * (Size) u->capacity), (Size) side->n_names);

		u->tags = repalloc_huge(u->tags, capacity * sizeof(int32));
		u->capacity = (int32) capacity;
	}
	/* merge from the back, in place */
	i = u->count;
	j = count;
	k = merged;
	while (j > 0)
	{
		if (i > 0 && u->tags[i - 1] > tags[j - 1])
			u->tags[--k] = u->tags[--i];
		else
		{
			if (i > 0 && u->tags[i - 1] == tags[j - 1])
				i--;
			u->tags[--k] = tags[--j];
		}
	}
	u->count = (int32) merged;
}

/*
 * An id of this side carried set s (in a row, or in all rows of another
 * state): its tags become the union, and it varies if s is not its set.
 */
static void
record_set(hybrid_side *side, id_entry *entry, int32 s)
{
	Size		a_count,
				b_count;
	const int32 *a,
			   *b;

	if (!entry->varying && entry->set == s)
		return;
	b = set_of(side, s, &b_count);
	if (entry->varying)
		union_add(side, &side->unions[entry->set], b, b_count);
	else
	{
		a = set_of(side, entry->set, &a_count);
		entry->set = new_union(side, a, a_count, b, b_count);
		entry->varying = true;
	}
}

/*
 * Another state's id: its tags (sorted, without repeats, in this side's
 * numbers), set their number here when it did not vary (else -1).
 */
static void
merge_id(hybrid_side *side, int64 id, const int32 *tags, Size count, int32 set, bool varying)
{
	bool		found;
	id_entry   *entry = tagids_insert(side->ids, id, &found);
	Size		own_count;
	const int32 *own;

	if (!found)
	{
		entry->array = -1;
		entry->varying = varying;
		entry->set = varying ? new_union(side, tags, count, NULL, 0) : set;
	}
	else if (!varying)
		record_set(side, entry, set);
	else if (entry->varying)
		union_add(side, &side->unions[entry->set], tags, count);
	else
	{
		own = set_of(side, entry->set, &own_count);
		entry->set = new_union(side, own, own_count, tags, count);
		entry->varying = true;
	}
}

static void
ensure_scratch(hybrid_side *side, Size count)
{
	grow((void **) &side->scratch, &side->scratch_capacity, count, sizeof(int32), side->context);
}

/* The set a tag array holds; its NULL elements counted in *nulls. */
static int32
set_of_array(hybrid_side *side, struct varlena *raw, int64 id, int32 *nulls)
{
	ArrayType  *array = DatumGetArrayTypeP(PointerGetDatum(raw));
	Datum	   *elements;
	bool	   *is_null;
	int			n;
	Size		count = 0;

	if (ARR_ELEMTYPE(array) != TEXTOID)
		elog(ERROR, "tags must be a text array, not of type %u", ARR_ELEMTYPE(array));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &is_null, &n);
	ensure_scratch(side, n);
	*nulls = 0;
	for (int k = 0; k < n; k++)
	{
		const char *name;
		Size		len;

		if (is_null[k])
		{
			(*nulls)++;
			continue;
		}
		name = VARDATA_ANY(DatumGetPointer(elements[k]));
		len = VARSIZE_ANY_EXHDR(DatumGetPointer(elements[k]));
		if (len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("tags must not be empty strings"),
					 side->is_user ?
					 errdetail("User " INT64_FORMAT " has an empty tag.", id) :
					 errdetail("Item " INT64_FORMAT " has an empty tag.", id),
					 errhint("Leave empty tags out in the query, for example with array_remove(tags, '').")));
		if (len > RS_MAX_TAG_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("tags must be at most %d bytes long", RS_MAX_TAG_BYTES),
					 side->is_user ?
					 errdetail("User " INT64_FORMAT " has a tag of %zu bytes.", id, len) :
					 errdetail("Item " INT64_FORMAT " has a tag of %zu bytes.", id, len)));
		side->scratch[count++] = intern_name(side, name, len);
	}
	count = sort_unique(side->scratch, count);
	pfree(elements);
	pfree(is_null);
	if ((Pointer) array != (Pointer) raw)
		pfree(array);
	return intern_set(side, side->scratch, count);
}

/* The bytes of the arrays the cache may hold now (see ARRAY_CACHE_RATIO). */
static bool
array_cache_has_room(const hybrid_side *side, Size len)
{
	Size		sets = side->set_tags_size * sizeof(int32) + side->n_sets * sizeof(uint64);

	return side->array_bytes + len <= ARRAY_CACHE_BASE + ARRAY_CACHE_RATIO * sets &&
		side->n_arrays < MAX_NUMBERS;
}

/* Transition argument argno, a row's tag array (or NULL) for this side's id. */
static void
take_tags(hybrid_state *state, hybrid_side *side, FunctionCallInfo fcinfo, int argno, int64 id)
{
	Datum		datum;
	struct varlena *raw;
	const char *bytes;
	Size		len;
	id_entry   *entry;
	array_entry *cached;
	uint32		hash;
	int32		set,
				nulls,
				array = -1;
	bool		found;

	if (PG_ARGISNULL(argno))
	{
		/* no features: the empty set */
		entry = tagids_insert(side->ids, id, &found);
		if (!found)
		{
			entry->set = 0;
			entry->array = -1;
			entry->varying = false;
		}
		else
			record_set(side, entry, 0);
		return;
	}

	/* a short array keeps its 1-byte header: compared as is, not copied */
	datum = PG_GETARG_DATUM(argno);
	raw = PG_DETOAST_DATUM_PACKED(datum);
	bytes = VARDATA_ANY(raw);
	len = VARSIZE_ANY_EXHDR(raw);

	/* the array this id's last row had: nothing new */
	entry = tagids_lookup(side->ids, id);
	if (entry && entry->array >= 0 && side->arrays[entry->array].len == len &&
		memcmp(side->arrays[entry->array].bytes, bytes, len) == 0)
	{
		state->null_tags_skipped += side->arrays[entry->array].nulls;
		if ((Pointer) raw != DatumGetPointer(datum))
			pfree(raw);
		return;
	}

	hash = hash_bytes((const unsigned char *) bytes, (int) len);
	side->pending_array = bytes;
	side->pending_array_len = len;
	cached = tagarrays_lookup_hash(side->array_table, PENDING, hash);
	if (cached)
	{
		array = cached->number;
		set = side->arrays[array].set;
		nulls = side->arrays[array].nulls;
	}
	else
	{
		set = set_of_array(side, raw, id, &nulls);
		if (array_cache_has_room(side, len))
		{
			cached_array *copy;

			grow((void **) &side->arrays, &side->arrays_capacity, side->n_arrays + 1,
				 sizeof(cached_array), side->context);
			copy = &side->arrays[side->n_arrays];
			copy->bytes = MemoryContextAllocHuge(side->context, Max(len, 1));
			memcpy(copy->bytes, bytes, len);
			copy->len = len;
			copy->set = set;
			copy->nulls = nulls;
			side->array_bytes += len;
			/* the key now stands for the copy: same bytes, same hash */
			cached = tagarrays_insert_hash(side->array_table, PENDING, hash, &found);
			Assert(!found);
			array = cached->number = side->n_arrays++;
		}
	}
	state->null_tags_skipped += nulls;
	if ((Pointer) raw != DatumGetPointer(datum))
		pfree(raw);

	entry = tagids_insert(side->ids, id, &found);
	if (!found)
	{
		entry->set = set;
		entry->array = -1;
		entry->varying = false;
	}
	else
		record_set(side, entry, set);
	if (array >= 0)
		entry->array = array;
}

/*
 * (state, user_id bigint, item_id bigint, value real or double precision,
 * user_tags text[], item_tags text[] [, options jsonb])
 */
Datum
recsys_hybrid_trans(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	hybrid_state *state = PG_ARGISNULL(0) ? NULL : (hybrid_state *) PG_GETARG_POINTER(0);

	if (state == NULL)
		state = new_state(context);
	recsys_row_options_take(&state->base.options, fcinfo, 6, context);
	if (!recsys_interactions_take_row(&state->base, fcinfo, context))
		PG_RETURN_POINTER(state);
	take_tags(state, state->users, fcinfo, 4, PG_GETARG_INT64(1));
	take_tags(state, state->items, fcinfo, 5, PG_GETARG_INT64(2));
	PG_RETURN_POINTER(state);
}

/*
 * One side as plain arrays, whether another state's in memory or one read
 * from bytes: sets n_sets .. n_sets + n_unions - 1 are unions.
 */
typedef struct side_entry
{
	int64		id;
	int32		set;
	int32		varying;
} side_entry;

typedef struct side_view
{
	int32		n_names;
	const uint64 *name_offsets; /* n_names + 1 */
	const char *names;
	int32		n_sets;
	const uint64 *set_offsets;	/* n_sets + 1 */
	const int32 *set_tags;
	int32		n_unions;
	const tag_union *unions;
	Size		n_entries;
	const side_entry *entries;
} side_view;

static const int32 *
view_set(const side_view *view, int32 k, Size *count)
{
	if (k < view->n_sets)
	{
		*count = view->set_offsets[k + 1] - view->set_offsets[k];
		return view->set_tags + view->set_offsets[k];
	}
	*count = view->unions[k - view->n_sets].count;
	return view->unions[k - view->n_sets].tags;
}

/*
 * Merges a side into this one: its names through this dictionary, then id
 * by id.  An id that did not vary there joins as a row of its set would.
 */
static void
merge_view(hybrid_side *side, const side_view *view)
{
	int32		n_sets = view->n_sets + view->n_unions;
	int32	   *remap = MemoryContextAllocHuge(CurrentMemoryContext,
											   Max(view->n_names, 1) * sizeof(int32));
	int32	   *memo = MemoryContextAllocHuge(CurrentMemoryContext,
											  Max(n_sets, 1) * sizeof(int32));

	for (int32 t = 0; t < view->n_names; t++)
		remap[t] = intern_name(side, view->names + view->name_offsets[t],
							   view->name_offsets[t + 1] - view->name_offsets[t]);
	for (int32 k = 0; k < n_sets; k++)
		memo[k] = -1;

	for (Size e = 0; e < view->n_entries; e++)
	{
		const side_entry *entry = &view->entries[e];
		Size		count;
		const int32 *tags;

		if (!entry->varying && memo[entry->set] >= 0)
		{
			merge_id(side, entry->id, NULL, 0, memo[entry->set], false);
			continue;
		}
		tags = view_set(view, entry->set, &count);
		ensure_scratch(side, count);
		for (Size j = 0; j < count; j++)
			side->scratch[j] = remap[tags[j]];
		count = sort_unique(side->scratch, count);
		if (entry->varying)
			merge_id(side, entry->id, side->scratch, count, -1, true);
		else
		{
			memo[entry->set] = intern_set(side, side->scratch, count);
			merge_id(side, entry->id, NULL, 0, memo[entry->set], false);
		}
	}
	pfree(remap);
	pfree(memo);
}

/* A view of a side in memory; its entries are allocated (pfree them). */
static void
view_of_side(const hybrid_side *side, side_view *view)
{
	side_entry *entries = MemoryContextAllocHuge(CurrentMemoryContext,
												 Max(side->ids->members, 1) * sizeof(side_entry));
	tagids_iterator it;
	id_entry   *entry;
	Size		n = 0;

	tagids_start_iterate(side->ids, &it);
	while ((entry = tagids_iterate(side->ids, &it)) != NULL)
	{
		entries[n].id = entry->id;
		entries[n].set = entry->varying ? side->n_sets + entry->set : entry->set;
		entries[n].varying = entry->varying;
		n++;
	}
	view->n_names = side->n_names;
	view->name_offsets = side->name_offsets;
	view->names = side->names;
	view->n_sets = side->n_sets;
	view->set_offsets = side->set_offsets;
	view->set_tags = side->set_tags;
	view->n_unions = side->n_unions;
	view->unions = side->unions;
	view->n_entries = n;
	view->entries = entries;
}

Datum
recsys_hybrid_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	hybrid_state *into = PG_ARGISNULL(0) ? NULL : (hybrid_state *) PG_GETARG_POINTER(0);
	hybrid_state *from = PG_ARGISNULL(1) ? NULL : (hybrid_state *) PG_GETARG_POINTER(1);
	side_view	view;

	if (from == NULL)
	{
		if (into == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(into);
	}
	if (into == NULL)
		into = new_state(context);
	recsys_interactions_merge(&into->base, &from->base, context);
	into->null_tags_skipped += from->null_tags_skipped;
	view_of_side(from->users, &view);
	merge_view(into->users, &view);
	pfree((void *) view.entries);
	view_of_side(from->items, &view);
	merge_view(into->items, &view);
	pfree((void *) view.entries);
	PG_RETURN_POINTER(into);
}

/*
 * Serialised form:
 *
 *   hybrid_header
 *   the interactions, as interactions_agg.c serialises them (its bytea's
 *     contents): interactions_header, options jsonb, users, items, values
 *   the users' side, then the items': side_header, name_offsets
 *     [n_names + 1] (uint64), names, set_offsets [n_sets + 1] (uint64),
 *     set_tags [n_set_tags] (int32), side_entry [n_entries]
 *
 * An id that varied refers to a set of its own after the interned ones.
 * Everything is copied out with memcpy: the bytea's data is not aligned.
 */
typedef struct hybrid_header
{
	uint64		interactions_size;
	int64		null_tags_skipped;
} hybrid_header;

typedef struct side_header
{
	uint32		n_names;
	uint32		n_sets;
	uint64		names_size;
	uint64		n_set_tags;
	uint64		n_entries;
} side_header;

static char *
put(char *p, const void *data, Size size)
{
	if (size > 0)
		memcpy(p, data, size);
	return p + size;
}

static Size
side_size(const hybrid_side *side)
{
	Size		size = sizeof(side_header) + (side->n_names + 1) * sizeof(uint64) +
		side->names_size + (side->n_sets + side->n_unions + 1) * sizeof(uint64) +
		side->set_tags_size * sizeof(int32) + side->ids->members * sizeof(side_entry);

	for (int32 u = 0; u < side->n_unions; u++)
		size += side->unions[u].count * sizeof(int32);
	return size;
}

static char *
write_side(char *p, const hybrid_side *side)
{
	side_header header = {0};
	uint64		offset = side->set_tags_size;
	tagids_iterator it;
	id_entry   *entry;

	header.n_names = side->n_names;
	header.n_sets = side->n_sets + side->n_unions;
	header.names_size = side->names_size;
	header.n_set_tags = side->set_tags_size;
	for (int32 u = 0; u < side->n_unions; u++)
		header.n_set_tags += side->unions[u].count;
	header.n_entries = side->ids->members;
	p = put(p, &header, sizeof(header));
	p = put(p, side->name_offsets, (side->n_names + 1) * sizeof(uint64));
	p = put(p, side->names, side->names_size);

	p = put(p, side->set_offsets, (side->n_sets + 1) * sizeof(uint64));
	for (int32 u = 0; u < side->n_unions; u++)
	{
		offset += side->unions[u].count;
		p = put(p, &offset, sizeof(uint64));
	}
	p = put(p, side->set_tags, side->set_tags_size * sizeof(int32));
	for (int32 u = 0; u < side->n_unions; u++)
		p = put(p, side->unions[u].tags, side->unions[u].count * sizeof(int32));

	tagids_start_iterate(side->ids, &it);
	while ((entry = tagids_iterate(side->ids, &it)) != NULL)
	{
		side_entry	out;

		out.id = entry->id;
		out.set = entry->varying ? side->n_sets + entry->set : entry->set;
		out.varying = entry->varying;

		p = put(p, &out, sizeof(out));
	}
	return p;
}

Datum
recsys_hybrid_serialize(PG_FUNCTION_ARGS)
{
	hybrid_state *state = (hybrid_state *) PG_GETARG_POINTER(0);
	hybrid_header header;
	Size		size;
	bytea	   *out;
	char	   *p;

	recsys_aggregate_context(fcinfo);
	header.interactions_size = recsys_interactions_serialized_size(&state->base);
	header.null_tags_skipped = state->null_tags_skipped;
	size = VARHDRSZ + sizeof(header) + header.interactions_size +
		side_size(state->users) + side_size(state->items);
	recsys_check_serialized_size(size);
	out = palloc(size);
	SET_VARSIZE(out, size);
	p = put(VARDATA(out), &header, sizeof(header));
	p = recsys_interactions_write(&state->base, p);
	p = write_side(p, state->users);
	p = write_side(p, state->items);
	Assert(p == (char *) out + size);
	PG_RETURN_BYTEA_P(out);
}

/* Bytes being read; taking more than are left is an error. */
typedef struct reader
{
	const char *p;
	Size		left;
} reader;

static void
invalid(void)
{
	elog(ERROR, "invalid serialized recsys aggregate state");
}

/* count elements of size bytes each, or an error if fewer are left. */
static const char *
take(reader *r, uint64 count, Size size)
{
	const char *at = r->p;

	if (count > r->left / size)
		invalid();
	r->p += count * size;
	r->left -= count * size;
	return at;
}

/* The same, copied to aligned memory of the current context. */
static void *
take_copy(reader *r, uint64 count, Size size)
{
	const char *at = take(r, count, size);
	void	   *copy = MemoryContextAllocHuge(CurrentMemoryContext, Max(count * size, 1));

	if (count > 0)
		memcpy(copy, at, count * size);
	return copy;
}

/* Reads a side, checking every offset and number before it is used. */
static void
read_side(hybrid_side *side, reader *r)
{
	side_header header;
	side_view	view;
	uint64	   *name_offsets,
			   *set_offsets;
	int32	   *set_tags;
	side_entry *entries;

	memcpy(&header, take(r, 1, sizeof(header)), sizeof(header));
	if (header.n_names > MAX_NUMBERS || header.n_sets > MAX_NUMBERS)
		invalid();
	name_offsets = take_copy(r, (uint64) header.n_names + 1, sizeof(uint64));
	view.names = take(r, header.names_size, 1);
	set_offsets = take_copy(r, (uint64) header.n_sets + 1, sizeof(uint64));
	set_tags = take_copy(r, header.n_set_tags, sizeof(int32));
	entries = take_copy(r, header.n_entries, sizeof(side_entry));

	if (name_offsets[0] != 0 || name_offsets[header.n_names] != header.names_size)
		invalid();
	for (uint32 t = 0; t < header.n_names; t++)
	{
		/* name_offsets[t] <= names_size holds from the step before */
		if (name_offsets[t + 1] <= name_offsets[t] ||
			name_offsets[t + 1] > header.names_size ||
			name_offsets[t + 1] - name_offsets[t] > RS_MAX_TAG_BYTES ||
			memchr(view.names + name_offsets[t], '\0', name_offsets[t + 1] - name_offsets[t]))
			invalid();
	}
	if (set_offsets[0] != 0 || set_offsets[header.n_sets] != header.n_set_tags)
		invalid();
	for (uint32 s = 0; s < header.n_sets; s++)
		if (set_offsets[s + 1] < set_offsets[s] || set_offsets[s + 1] > header.n_set_tags)
			invalid();
	for (uint64 k = 0; k < header.n_set_tags; k++)
		if (set_tags[k] < 0 || set_tags[k] >= (int32) header.n_names)
			invalid();
	for (uint64 e = 0; e < header.n_entries; e++)
		if (entries[e].set < 0 || entries[e].set >= (int32) header.n_sets ||
			(entries[e].varying != 0 && entries[e].varying != 1))
			invalid();

	view.n_names = header.n_names;
	view.name_offsets = name_offsets;
	view.n_sets = header.n_sets;
	view.set_offsets = set_offsets;
	view.set_tags = set_tags;
	view.n_unions = 0;
	view.unions = NULL;
	view.n_entries = header.n_entries;
	view.entries = entries;
	merge_view(side, &view);
	pfree(name_offsets);
	pfree(set_offsets);
	pfree(set_tags);
	pfree(entries);
}

Datum
recsys_hybrid_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = recsys_aggregate_context(fcinfo);
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	reader		r = {VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in)};
	hybrid_state *state = new_state(context);
	hybrid_header header;

	memcpy(&header, take(&r, 1, sizeof(header)), sizeof(header));
	if (header.null_tags_skipped < 0)
		invalid();
	state->null_tags_skipped = header.null_tags_skipped;
	recsys_interactions_read(&state->base, take(&r, header.interactions_size, 1),
							 header.interactions_size, context);
	read_side(state->users, &r);
	read_side(state->items, &r);
	if (r.left != 0)
		invalid();
	PG_RETURN_POINTER(state);
}

static void *
table_alloc(const rs_allocator *alloc, Size size)
{
	void	   *ptr = rs_alloc(alloc, size);

	if (ptr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on request of size %zu for the tag tables.", size)));
	return ptr;
}

static int
compare_names(const void *a, const void *b, void *arg)
{
	const hybrid_side *side = arg;
	const char *x,
			   *y;
	Size		x_len,
				y_len;

	name_of(side, *(const int32 *) a, &x, &x_len);
	name_of(side, *(const int32 *) b, &y, &y_len);
	return rs_tag_compare(x, x_len, y, y_len);
}

/* A side's table over the dense ids; *varying counts the ids that varied. */
static void
tag_table(hybrid_side *side, const int64 *ids, int32 n_ids, const rs_allocator *alloc,
		  rs_tag_table *table, int64 *varying)
{
	int32		n = side->n_names;
	int32	   *order = table_alloc(alloc, Max(n, 1) * sizeof(int32));
	int32	   *rank = table_alloc(alloc, Max(n, 1) * sizeof(int32));
	uint64	   *offsets = table_alloc(alloc, (n + 1) * sizeof(uint64));
	char	   *names = table_alloc(alloc, side->names_size);
	uint64	   *ptr = table_alloc(alloc, ((Size) n_ids + 1) * sizeof(uint64));
	int32	   *tags;
	tagids_iterator it;
	id_entry   *entry;
	Size		size = 0;

	/* the dictionary in bytewise order */
	for (int32 t = 0; t < n; t++)
		order[t] = t;
	qsort_arg(order, n, sizeof(int32), compare_names, side);
	offsets[0] = 0;
	for (int32 k = 0; k < n; k++)
	{
		const char *name;
		Size		len;

		name_of(side, order[k], &name, &len);
		memcpy(names + size, name, len);
		size += len;
		offsets[k + 1] = size;
		rank[order[k]] = k;
	}

	/* each id's tags, counted, then placed and sorted in the new numbers */
	memset(ptr, 0, ((Size) n_ids + 1) * sizeof(uint64));
	*varying = 0;
	tagids_start_iterate(side->ids, &it);
	while ((entry = tagids_iterate(side->ids, &it)) != NULL)
	{
		int32		row = rs_find_id(ids, n_ids, entry->id);
		Size		count;

		if (row < 0)
			elog(ERROR, "tagged id " INT64_FORMAT " is not in the training data", entry->id);
		id_tags(side, entry, &count);
		ptr[row + 1] = count;
		if (entry->varying)
			(*varying)++;
	}
	for (int32 row = 0; row < n_ids; row++)
		ptr[row + 1] += ptr[row];
	tags = table_alloc(alloc, ptr[n_ids] * sizeof(int32));
	tagids_start_iterate(side->ids, &it);
	while ((entry = tagids_iterate(side->ids, &it)) != NULL)
	{
		int32		row = rs_find_id(ids, n_ids, entry->id);
		Size		count;
		const int32 *own = id_tags(side, entry, &count);
		int32	   *out = tags + ptr[row];

		for (Size j = 0; j < count; j++)
			out[j] = rank[own[j]];
		/* ranks are one to one: this sorts and drops nothing */
		sort_unique(out, count);
	}
	rs_free(alloc, order);
	rs_free(alloc, rank);

	table->n_tags = n;
	table->name_offsets = offsets;
	table->names = names;
	table->n_rows = n_ids;
	table->ptr = ptr;
	table->tags = tags;
}

void
recsys_hybrid_tag_tables(hybrid_state *state, const rs_interactions *data,
						 const rs_allocator *alloc, rs_tag_table *users,
						 rs_tag_table *items, hybrid_tag_report *report)
{
	const char *reason;

	tag_table(state->users, data->user_ids, data->n_users, alloc, users,
			  &report->users_with_varying_tags);
	tag_table(state->items, data->item_ids, data->n_items, alloc, items,
			  &report->items_with_varying_tags);
	report->null_tags_skipped = state->null_tags_skipped;

	/* a self-check: the model codec will trust these */
	if ((reason = rs_tag_table_check(users, state->users->names_size)) != NULL ||
		(reason = rs_tag_table_check(items, state->items->names_size)) != NULL)
		elog(ERROR, "hybrid tag table is inconsistent: %s", reason);
}
