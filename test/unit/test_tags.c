/*
 * test_tags.c - tag tables: bytewise order, finding names by binary search,
 * the check of a table read from untrusted bytes accepting well-formed
 * tables and naming each malformed one, and the table of a subset of rows.
 */
#include "core/tags.h"

#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TAGS 64
#define MAX_NAMES 4096
#define MAX_ROWS 16
#define MAX_ENTRIES 256

/* A table built from literals, with room to spoil it afterwards. */
typedef struct fixture
{
	uint64_t	offsets[MAX_TAGS + 1];
	char		names[MAX_NAMES];
	uint64_t	names_size;
	uint64_t	ptr[MAX_ROWS + 1];
	int32_t		tags[MAX_ENTRIES];
	rs_tag_table table;
} fixture;

/*
 * names: n_tags names; rows: n_rows rows, each a list of tag numbers ended
 * by -1.
 */
static void
build(fixture *f, const char *const *names, int32_t n_tags, const int32_t *rows, int32_t n_rows)
{
	const int32_t *r = rows;

	memset(f, 0, sizeof(*f));
	for (int32_t t = 0; t < n_tags; t++)
	{
		size_t		len = strlen(names[t]);

		memcpy(f->names + f->names_size, names[t], len);
		f->names_size += len;
		f->offsets[t + 1] = f->names_size;
	}
	for (int32_t row = 0; row < n_rows; row++)
	{
		f->ptr[row + 1] = f->ptr[row];
		for (; *r >= 0; r++)
			f->tags[f->ptr[row + 1]++] = *r;
		r++;
	}
	f->table = (rs_tag_table) {n_tags, f->offsets, f->names, n_rows, f->ptr, f->tags};
}

static const char *
check(const fixture *f)
{
	return rs_tag_table_check(&f->table, f->names_size);
}

static int
sign(int x)
{
	return (x > 0) - (x < 0);
}

static void
test_compare(void)
{
	static const struct
	{
		const char *a;
		const char *b;
		int			want;
	}			cases[] = {
		{"", "", 0},
		{"a", "a", 0},
		{"", "a", -1},
		{"a", "b", -1},
		{"genre:Comedy", "genre:Drama", -1},
		{"genre", "genre:Comedy", -1},	/* a prefix first */
		{"Z", "a", -1},			/* bytewise, not by locale */
		{"a\x7f", "a\x80", -1},	/* bytes are unsigned */
		{"\xc3\xa9t\xc3\xa9", "ete", 1},
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		const char *a = cases[k].a,
				   *b = cases[k].b;

		CHECK(sign(rs_tag_compare(a, strlen(a), b, strlen(b))) == cases[k].want,
			  "compare '%s' with '%s': want %d", a, b, cases[k].want);
		CHECK(sign(rs_tag_compare(b, strlen(b), a, strlen(a))) == -cases[k].want,
			  "compare '%s' with '%s': want %d", b, a, -cases[k].want);
	}
	/* only the given lengths count, not what follows them */
	CHECK(rs_tag_compare("abX", 2, "abY", 2) == 0, "compare: bytes past the length were read");
	CHECK(rs_tag_compare(NULL, 0, "a", 1) < 0, "compare: an empty name first");
}

static void
test_find(void)
{
	static const char *const names[] = {
		"a", "country:DE", "country:FR", "genre", "genre:Comedy", "genre:Drama", "z"
	};
	static const int32_t no_rows[] = {-1};
	int32_t		n = (int32_t) (sizeof(names) / sizeof(names[0]));
	fixture		f;

	for (int32_t size = 0; size <= n; size++)
	{
		build(&f, names, size, no_rows, 0);
		CHECK(check(&f) == NULL, "find: a dictionary of %d does not check: %s", size, check(&f));
		for (int32_t t = 0; t < n; t++)
			CHECK(rs_tag_find(&f.table, names[t], strlen(names[t])) == (t < size ? t : -1),
				  "find '%s' among %d names", names[t], size);
		CHECK(rs_tag_find(&f.table, "", 0) == -1, "find: the empty name among %d", size);
		CHECK(rs_tag_find(&f.table, "b", 1) == -1, "find: 'b' among %d", size);
		CHECK(rs_tag_find(&f.table, "genre:", 6) == -1, "find: a prefix among %d", size);
		CHECK(rs_tag_find(&f.table, "genre:Comedyy", 13) == -1, "find: an extension among %d",
			  size);
		CHECK(rs_tag_find(&f.table, "zz", 2) == -1, "find: past the last among %d", size);
	}
	/* a name is found by its length, not up to a terminator */
	build(&f, names, n, no_rows, 0);
	CHECK(rs_tag_find(&f.table, "genre:ComedyXYZ", 12) == 4, "find: a length-limited name");
}

/* A larger dictionary: every name found, absent ones between them not. */
static void
test_find_many(void)
{
	static char storage[MAX_TAGS][8];
	const char *names[MAX_TAGS];
	static const int32_t no_rows[] = {-1};
	fixture		f;
	char		probe[8];

	for (int t = 0; t < MAX_TAGS; t++)
	{
		snprintf(storage[t], sizeof(storage[t]), "t%03d", 2 * t);
		names[t] = storage[t];
	}
	build(&f, names, MAX_TAGS, no_rows, 0);
	CHECK(check(&f) == NULL, "find many: does not check: %s", check(&f));
	for (int t = 0; t < MAX_TAGS; t++)
	{
		CHECK(rs_tag_find(&f.table, names[t], strlen(names[t])) == t, "find many: '%s'",
			  names[t]);
		snprintf(probe, sizeof(probe), "t%03d", 2 * t + 1);
		CHECK(rs_tag_find(&f.table, probe, strlen(probe)) == -1, "find many: '%s'", probe);
	}
}

static const char *const good_names[] = {"country:FR", "genre:Comedy", "genre:Drama"};

/* rows: {0, 2}, {}, {1}, {0, 1, 2} */
static const int32_t good_rows[] = {0, 2, -1, -1, 1, -1, 0, 1, 2, -1};

static void
good(fixture *f)
{
	build(f, good_names, 3, good_rows, 4);
}

static void
expect_rejected(const fixture *f, const char *what)
{
	const char *reason = check(f);

	CHECK(reason != NULL && reason[0] != '\0', "check accepted %s", what);
}

static void
test_check_accepts(void)
{
	static const int32_t no_rows[] = {-1};
	static const int32_t empty_rows[] = {-1, -1, -1};
	char		longest[RS_MAX_TAG_BYTES + 1];
	const char *one[1] = {longest};
	static const int32_t tagged[] = {0, -1};
	fixture    *f = malloc(sizeof(fixture));

	good(f);
	CHECK(check(f) == NULL, "check rejected a good table: %s", check(f));

	/* nothing at all, with and without arrays behind it */
	build(f, good_names, 0, no_rows, 0);
	CHECK(check(f) == NULL, "check rejected an empty table: %s", check(f));
	f->table.names = NULL;
	f->table.tags = NULL;
	CHECK(check(f) == NULL, "check rejected an empty table without arrays: %s", check(f));

	/* rows without tags */
	build(f, good_names, 0, empty_rows, 3);
	CHECK(check(f) == NULL, "check rejected untagged rows: %s", check(f));
	build(f, good_names, 3, empty_rows, 3);
	f->table.tags = NULL;
	CHECK(check(f) == NULL, "check rejected untagged rows without tags: %s", check(f));

	/* the longest name allowed, and names of any bytes but NUL */
	memset(longest, 'x', RS_MAX_TAG_BYTES);
	longest[RS_MAX_TAG_BYTES] = '\0';
	build(f, one, 1, tagged, 1);
	CHECK(check(f) == NULL, "check rejected a name of %d bytes: %s", RS_MAX_TAG_BYTES,
		  check(f));
	{
		static const char *const bytes[] = {"\x01", "a", "a\xff", "\xff"};

		build(f, bytes, 4, no_rows, 0);
		CHECK(check(f) == NULL, "check rejected names of unusual bytes: %s", check(f));
	}
	free(f);
}

static void
test_check_rejects(void)
{
	fixture    *f = malloc(sizeof(fixture));
	char		longest[RS_MAX_TAG_BYTES + 2];
	const char *one[1] = {longest};
	static const int32_t tagged[] = {0, -1};

	/* counts */
	good(f);
	f->table.n_tags = -1;
	expect_rejected(f, "a negative tag count");
	good(f);
	f->table.n_rows = -1;
	expect_rejected(f, "a negative row count");
	good(f);
	f->table.n_tags = INT32_MIN;
	expect_rejected(f, "the least tag count");

	/* missing arrays */
	good(f);
	f->table.name_offsets = NULL;
	expect_rejected(f, "no name offsets");
	good(f);
	f->table.ptr = NULL;
	expect_rejected(f, "no row index");
	good(f);
	f->table.names = NULL;
	expect_rejected(f, "no names for names_size bytes");
	good(f);
	f->table.tags = NULL;
	expect_rejected(f, "no tags for tagged rows");

	/* name offsets */
	good(f);
	f->offsets[0] = 1;
	expect_rejected(f, "offsets not starting at 0");
	good(f);
	f->offsets[1] = f->offsets[2];
	expect_rejected(f, "an empty name");
	good(f);
	f->offsets[2] = f->offsets[1] - 1;
	expect_rejected(f, "descending offsets");
	good(f);
	f->offsets[1] = UINT64_MAX;
	expect_rejected(f, "an offset far past the names");
	good(f);
	f->offsets[2] = f->names_size + 1;
	expect_rejected(f, "an offset just past the names");
	good(f);
	f->offsets[3] = f->names_size - 1;
	expect_rejected(f, "offsets ending before names_size");
	good(f);
	f->names_size += 1;
	expect_rejected(f, "names_size past the last name");
	good(f);
	CHECK(rs_tag_table_check(&f->table, f->names_size - 1) != NULL,
		  "check accepted a names_size too small");
	CHECK(rs_tag_table_check(&f->table, UINT64_MAX) != NULL,
		  "check accepted the largest names_size");

	/* names */
	memset(longest, 'x', RS_MAX_TAG_BYTES + 1);
	longest[RS_MAX_TAG_BYTES + 1] = '\0';
	build(f, one, 1, tagged, 1);
	expect_rejected(f, "a name of RS_MAX_TAG_BYTES + 1 bytes");
	good(f);
	f->names[f->offsets[1] + 3] = '\0';
	expect_rejected(f, "a NUL inside a name");
	good(f);
	f->names[0] = '\0';
	expect_rejected(f, "a NUL starting a name");
	{
		static const char *const repeated[] = {"a", "b", "b"};
		static const char *const unsorted[] = {"a", "c", "b"};
		static const char *const longer_first[] = {"ab", "a"};
		static const int32_t no_rows[] = {-1};

		build(f, repeated, 3, no_rows, 0);
		expect_rejected(f, "a repeated name");
		build(f, unsorted, 3, no_rows, 0);
		expect_rejected(f, "unsorted names");
		build(f, longer_first, 2, no_rows, 0);
		expect_rejected(f, "an extension before its prefix");
	}

	/* the rows */
	good(f);
	f->ptr[0] = 1;
	expect_rejected(f, "a row index not starting at 0");
	good(f);
	f->ptr[2] = f->ptr[1] - 1;
	expect_rejected(f, "a descending row index");
	good(f);
	f->ptr[4] = UINT64_MAX;
	expect_rejected(f, "a huge last row");
	good(f);
	f->ptr[1] = UINT64_MAX;
	expect_rejected(f, "a huge row in the middle");
	good(f);
	f->tags[0] = -1;
	expect_rejected(f, "a negative tag");
	good(f);
	f->tags[1] = 3;
	expect_rejected(f, "a tag past the dictionary");
	good(f);
	f->tags[1] = INT32_MAX;
	expect_rejected(f, "the largest tag");
	good(f);
	f->tags[1] = f->tags[0];
	expect_rejected(f, "a repeated tag in a row");
	good(f);
	f->tags[3] = 2;
	f->tags[4] = 1;
	expect_rejected(f, "descending tags in a row");
	{
		/* rows {2}, {0}: descending across rows is fine, within is not */
		static const int32_t across[] = {2, -1, 0, -1};

		build(f, good_names, 3, across, 2);
		CHECK(check(f) == NULL, "check rejected rows each ascending: %s", check(f));
	}
	free(f);
}

/*
 * Random spoiling of good tables: whatever check says, it reads only inside
 * the arrays (exercised under the sanitizers, which make unit-sanitized
 * runs), and it accepts a table only if the table is right by the reference.
 */
static bool
reference_ok(const fixture *f)
{
	const rs_tag_table *t = &f->table;

	if (t->n_tags < 0 || t->n_rows < 0 || t->n_tags > MAX_TAGS || t->n_rows > MAX_ROWS)
		return false;
	if (f->offsets[0] != 0 || f->offsets[t->n_tags] != f->names_size)
		return false;
	for (int32_t k = 0; k < t->n_tags; k++)
	{
		uint64_t	a = f->offsets[k],
					b = f->offsets[k + 1];

		if (b <= a || b > f->names_size || b - a > RS_MAX_TAG_BYTES ||
			memchr(f->names + a, 0, b - a) != NULL)
			return false;
		if (k > 0 && rs_tag_compare(f->names + f->offsets[k - 1], a - f->offsets[k - 1],
									f->names + a, b - a) >= 0)
			return false;
	}
	if (f->ptr[0] != 0)
		return false;
	for (int32_t r = 0; r < t->n_rows; r++)
	{
		if (f->ptr[r + 1] < f->ptr[r] || f->ptr[r + 1] > MAX_ENTRIES)
			return false;
		for (uint64_t k = f->ptr[r]; k < f->ptr[r + 1]; k++)
			if (f->tags[k] < 0 || f->tags[k] >= t->n_tags ||
				(k > f->ptr[r] && f->tags[k] <= f->tags[k - 1]))
				return false;
	}
	return true;
}

static void
test_check_random(void)
{
	fixture    *f = malloc(sizeof(fixture));
	uint64_t	state = 12345;
	long		accepted = 0;

	for (int round = 0; round < 20000; round++)
	{
		int			spoil;
		uint64_t	x;

		good(f);
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		x = state >> 33;
		spoil = (int) (x % 6);
		x /= 6;
		switch (spoil)
		{
			case 0:
				f->offsets[x % 4] = (x / 4) % 40;
				break;
			case 1:
				f->names[x % f->names_size] = (char) (x / 64);
				break;
			case 2:
				f->ptr[x % 5] = (x / 5) % 10;
				break;
			case 3:
				f->tags[x % f->ptr[4]] = (int32_t) ((x / 16) % 6) - 1;
				break;
			case 4:
				f->names_size = (x % 40);
				break;
			default:
				break;			/* left good */
		}
		/* an index past the fixture's tags must be left to its caller */
		if (f->ptr[4] > MAX_ENTRIES)
			continue;
		if (check(f) == NULL)
		{
			accepted++;
			CHECK(reference_ok(f), "random: check accepted a bad table (spoil %d)", spoil);
		}
		else
			CHECK(!reference_ok(f), "random: check rejected a good table (spoil %d): %s",
				  spoil, check(f));
	}
	CHECK(accepted > 0, "random: no table was accepted");
	free(f);
}

/* Rows of the good table by id, picked for other ids; no leak on failure. */
static void
test_subset(void)
{
	static const int64_t from_ids[] = {10, 20, 30, 40};
	static const int64_t to_ids[] = {5, 20, 40, 50};
	fixture    *f = malloc(sizeof(fixture));
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_tag_table out;
	rs_status	status;
	long		calls;

	good(f);
	status = rs_tag_table_subset(&f->table, from_ids, to_ids, 4, &a, &out);
	calls = c.calls;
	if (CHECK(status == RS_OK, "subset: status %d", (int) status))
	{
		/* from's rows 20 and 40 are {} and {0, 1, 2}; 5 and 50 it lacks */
		static const uint64_t want_ptr[] = {0, 0, 0, 3, 3};

		CHECK(out.n_rows == 4 && out.n_tags == 3 && out.names == f->table.names &&
			  out.name_offsets == f->table.name_offsets, "subset: not from's dictionary");
		CHECK(memcmp(out.ptr, want_ptr, sizeof(want_ptr)) == 0, "subset: wrong row index");
		CHECK(out.tags[0] == 0 && out.tags[1] == 1 && out.tags[2] == 2, "subset: wrong tags");
		CHECK(rs_tag_table_check(&out, f->names_size) == NULL, "subset: does not check: %s",
			  rs_tag_table_check(&out, f->names_size));
		rs_tag_table_free_rows(&out, &a);
		CHECK(out.ptr == NULL && out.tags == NULL, "subset: rows not cleared");
	}
	CHECK(c.outstanding == 0, "subset: %ld allocations outstanding", c.outstanding);

	/* no rows at all */
	status = rs_tag_table_subset(&f->table, from_ids, to_ids, 0, &a, &out);
	if (CHECK(status == RS_OK, "subset of none: status %d", (int) status))
	{
		CHECK(out.n_rows == 0 && rs_tag_table_check(&out, f->names_size) == NULL,
			  "subset of none: does not check");
		rs_tag_table_free_rows(&out, &a);
	}

	for (long k = 0; k < calls; k++)
	{
		c.calls = 0;
		c.fail_at = k;
		status = rs_tag_table_subset(&f->table, from_ids, to_ids, 4, &a, &out);
		CHECK(status == RS_NO_MEMORY && c.outstanding == 0,
			  "subset: allocation %ld failing: status %d, %ld outstanding", k, (int) status,
			  c.outstanding);
	}
	CHECK(!c.wrong_thread, "subset: an allocation on another thread");
	free(f);
}

int
main(void)
{
	test_compare();
	test_find();
	test_find_many();
	test_check_accepts();
	test_check_rejects();
	test_check_random();
	test_subset();
	return unit_done();
}
