/*
 * test_interactions.c - collecting rows and building the two CSR layouts:
 * dense ids, merged duplicates (their mean), both layouts describing the
 * same triples, item popularity (distinct training users per item), and no
 * leaks when memory runs out.
 */
#include "core/interactions.h"
#include "core/random.h"

#include "unit.h"

#include <stdlib.h>
#include <string.h>

typedef struct triple
{
	int64_t		user;
	int64_t		item;
	double		value;
} triple;

static int
by_pair(const void *a, const void *b)
{
	const triple *x = a,
			   *y = b;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return (x->value > y->value) - (x->value < y->value);
}

static int
by_id(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

static size_t
distinct(int64_t *ids, size_t n)
{
	size_t		m = 0;

	qsort(ids, n, sizeof(int64_t), by_id);
	for (size_t k = 0; k < n; k++)
		if (m == 0 || ids[m - 1] != ids[k])
			ids[m++] = ids[k];
	return m;
}

/*
 * Checks d against the rows of buf: ids, counts, both layouts, and the
 * merged triples (user id, item id, mean of the repeats).
 */
static void
check_build(const rs_interaction_buffer *buf, const rs_interactions *d)
{
	size_t		n = buf->count;
	int64_t    *ids = malloc((n ? n : 1) * sizeof(int64_t));
	triple	   *rows = malloc((n ? n : 1) * sizeof(triple));
	triple	   *merged = malloc((n ? n : 1) * sizeof(triple));
	triple	   *by_user,
			   *by_item;
	size_t		n_users,
				n_items,
				nnz = 0;
	bool		ok;

	/* the expected result, computed the slow way */
	memcpy(ids, buf->users, n * sizeof(int64_t));
	n_users = distinct(ids, n);
	CHECK(d->n_users == (int32_t) n_users, "n_users %d, want %zu", d->n_users, n_users);
	ok = d->n_users == (int32_t) n_users &&
		(n_users == 0 || memcmp(d->user_ids, ids, n_users * sizeof(int64_t)) == 0);
	CHECK(ok, "user ids are not the sorted distinct ids");
	memcpy(ids, buf->items, n * sizeof(int64_t));
	n_items = distinct(ids, n);
	CHECK(d->n_items == (int32_t) n_items, "n_items %d, want %zu", d->n_items, n_items);
	ok = d->n_items == (int32_t) n_items &&
		(n_items == 0 || memcmp(d->item_ids, ids, n_items * sizeof(int64_t)) == 0);
	CHECK(ok, "item ids are not the sorted distinct ids");
	free(ids);
	if (d->n_users != (int32_t) n_users || d->n_items != (int32_t) n_items)
		goto out;

	for (size_t r = 0; r < n; r++)
		rows[r] = (triple) {buf->users[r], buf->items[r], buf->values[r]};
	qsort(rows, n, sizeof(triple), by_pair);
	for (size_t r = 0; r < n;)
	{
		size_t		same = r;
		double		sum = 0.0;

		while (same < n && rows[same].user == rows[r].user && rows[same].item == rows[r].item)
			sum += rows[same++].value;
		merged[nnz++] = (triple) {rows[r].user, rows[r].item, (float) (sum / (double) (same - r))};
		r = same;
	}
	CHECK(d->nnz == nnz, "nnz %zu, want %zu", d->nnz, nnz);
	CHECK(d->duplicates == n - nnz, "duplicates %zu, want %zu", d->duplicates, n - nnz);
	if (d->nnz != nnz)
		goto out;

	/* the user layout: items strictly ascending within each user */
	by_user = malloc((nnz ? nnz : 1) * sizeof(triple));
	by_item = malloc((nnz ? nnz : 1) * sizeof(triple));
	ok = d->user_ptr[0] == 0 && d->user_ptr[n_users] == nnz;
	for (size_t u = 0; ok && u < n_users; u++)
	{
		ok = d->user_ptr[u] <= d->user_ptr[u + 1] && d->user_ptr[u + 1] <= nnz;
		for (size_t k = d->user_ptr[u]; ok && k < d->user_ptr[u + 1]; k++)
		{
			int32_t		i = d->user_items[k];

			ok = i >= 0 && (size_t) i < n_items &&
				(k == d->user_ptr[u] || d->user_items[k - 1] < i);
			if (ok)
				by_user[k] = (triple) {d->user_ids[u], d->item_ids[i], d->user_values[k]};
		}
	}
	CHECK(ok, "the user layout is malformed");

	/* the item layout: users strictly ascending within each item */
	if (ok)
	{
		ok = d->item_ptr[0] == 0 && d->item_ptr[n_items] == nnz;
		for (size_t i = 0; ok && i < n_items; i++)
		{
			ok = d->item_ptr[i] <= d->item_ptr[i + 1] && d->item_ptr[i + 1] <= nnz;
			for (size_t k = d->item_ptr[i]; ok && k < d->item_ptr[i + 1]; k++)
			{
				int32_t		u = d->item_users[k];

				ok = u >= 0 && (size_t) u < n_users &&
					(k == d->item_ptr[i] || d->item_users[k - 1] < u);
				if (ok)
					by_item[k] = (triple) {d->user_ids[u], d->item_ids[i], d->item_values[k]};
			}
		}
		CHECK(ok, "the item layout is malformed");
	}

	/* both layouts hold exactly the merged triples */
	if (ok)
	{
		size_t		bad_user = nnz,
					bad_item = nnz;

		qsort(by_user, nnz, sizeof(triple), by_pair);
		qsort(by_item, nnz, sizeof(triple), by_pair);
		for (size_t k = nnz; k-- > 0;)
		{
			if (by_user[k].user != merged[k].user || by_user[k].item != merged[k].item ||
				by_user[k].value != merged[k].value)
				bad_user = k;
			if (by_item[k].user != merged[k].user || by_item[k].item != merged[k].item ||
				by_item[k].value != merged[k].value)
				bad_item = k;
		}
		CHECK(bad_user == nnz, "user layout triple %zu: (%lld, %lld, %.9g), want (%lld, %lld, %.9g)",
			  bad_user, bad_user < nnz ? (long long) by_user[bad_user].user : 0,
			  bad_user < nnz ? (long long) by_user[bad_user].item : 0,
			  bad_user < nnz ? by_user[bad_user].value : 0.0,
			  bad_user < nnz ? (long long) merged[bad_user].user : 0,
			  bad_user < nnz ? (long long) merged[bad_user].item : 0,
			  bad_user < nnz ? merged[bad_user].value : 0.0);
		CHECK(bad_item == nnz, "item layout triple %zu differs from the merged rows", bad_item);
	}

	/* popularity: the distinct users of each item, counted from the merged rows */
	if (ok)
	{
		float	   *popularity = rs_item_popularity(d, &rs_malloc_allocator);
		size_t	   *users_of = calloc(n_items ? n_items : 1, sizeof(size_t));
		size_t		wrong = n_items;

		for (size_t k = 0; k < nnz; k++)
			users_of[rs_find_id(d->item_ids, d->n_items, merged[k].item)]++;
		if (CHECK(popularity != NULL, "rs_item_popularity returned NULL"))
			for (size_t i = n_items; i-- > 0;)
				if (popularity[i] != (float) users_of[i])
					wrong = i;
		CHECK(wrong == n_items, "popularity of item %zu is %g, want %zu", wrong,
			  wrong < n_items ? popularity[wrong] : 0.0f, wrong < n_items ? users_of[wrong] : 0);
		rs_free(&rs_malloc_allocator, popularity);
		free(users_of);
	}
	free(by_user);
	free(by_item);
out:
	free(rows);
	free(merged);
}

static const int64_t special_ids[] = {
	INT64_MIN, INT64_MIN + 1, -4294967296LL, -1, 0, 1, 4294967296LL, INT64_MAX - 1, INT64_MAX
};

/* An id from a pool of `pool` values: the special ones, then large random ones. */
static int64_t
pick_id(rs_random *rng, const int64_t *pool, size_t n)
{
	return pool[rs_random_next(rng) % n];
}

static void
fill_pool(rs_random *rng, int64_t *pool, size_t n)
{
	size_t		n_special = sizeof(special_ids) / sizeof(special_ids[0]);

	for (size_t k = 0; k < n; k++)
		pool[k] = k < n_special ? special_ids[k] : (int64_t) rs_random_next(rng);
}

static void
test_build(void)
{
	rs_random	rng = {99};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer buf;
	rs_interactions d;
	int64_t		users[60],
				items[45];
	rs_status	status;

	memset(&buf, 0, sizeof(buf));
	fill_pool(&rng, users, 60);
	fill_pool(&rng, items, 45);

	/*
	 * 5000 random rows over 60 x 45 ids: most pairs repeat.  Values are
	 * multiples of 1/1024, so any order of summing them is exact.
	 */
	for (int r = 0; r < 5000; r++)
		if (!CHECK(rs_buffer_append(&buf, &a, pick_id(&rng, users, 60), pick_id(&rng, items, 45),
									(float) floor(rs_random_uniform(&rng) * 5120.0) / 1024.0f),
				   "append %d failed", r))
			break;
	/* one pair many times with known values: its mean is 2.5 */
	for (int r = 0; r < 7; r++)
		rs_buffer_append(&buf, &a, 123456789, -987654321, (float) r * 0.5f + 1.0f);
	CHECK(buf.count == 5007, "count %zu", buf.count);
	CHECK(buf.capacity >= buf.count, "capacity %zu below count", buf.capacity);
	CHECK(buf.users[5004] == 123456789 && buf.items[5004] == -987654321 &&
		  buf.values[5004] == 3.0f, "row 5004 as appended");

	status = rs_interactions_build(&buf, &a, &d);
	if (CHECK(status == RS_OK, "build: status %d", (int) status))
	{
		int32_t		u = rs_find_id(d.user_ids, d.n_users, 123456789);
		int32_t		i = rs_find_id(d.item_ids, d.n_items, -987654321);

		check_build(&buf, &d);
		CHECK(d.duplicates >= 5007 - 60 * 45, "duplicates %zu", d.duplicates);
		if (CHECK(u >= 0 && i >= 0, "the repeated pair's ids are found") &&
			CHECK(d.user_ptr[u + 1] - d.user_ptr[u] == 1, "that user has one item"))
			CHECK(d.user_items[d.user_ptr[u]] == i && d.user_values[d.user_ptr[u]] == 2.5f,
				  "the repeated pair's value is the mean 2.5, got %g",
				  d.user_values[d.user_ptr[u]]);

		/* rs_find_id: every id, and absent ones */
		for (int32_t k = 0; k < d.n_users; k++)
			CHECK(rs_find_id(d.user_ids, d.n_users, d.user_ids[k]) == k, "find user %d", k);
		for (int32_t k = 0; k < d.n_items; k++)
			CHECK(rs_find_id(d.item_ids, d.n_items, d.item_ids[k]) == k, "find item %d", k);
		for (int32_t k = 0; k + 1 < d.n_users; k++)
			if (d.user_ids[k] + 1 < d.user_ids[k + 1])
				CHECK(rs_find_id(d.user_ids, d.n_users, d.user_ids[k] + 1) == -1,
					  "an absent id between %d and %d", k, k + 1);
		CHECK(rs_find_id(d.item_ids, d.n_items, 2) == -1, "absent item 2");
		CHECK(rs_find_id(d.item_ids, 0, d.item_ids[0]) == -1, "nothing in an empty list");
		CHECK(rs_find_id(d.item_ids, 1, d.item_ids[1]) == -1, "the id past n is not found");
		rs_interactions_free(&d, &a);
	}
	rs_buffer_free(&buf, &a);
	CHECK(buf.count == 0 && buf.users == NULL, "freed buffer is empty");
	CHECK(c.outstanding == 0, "%ld allocations outstanding after free", c.outstanding);
}

/*
 * The id whose splitmix64 finaliser is h: the build hashes ids with it, so
 * ids from hashes alike in their low bits all want the same slot.
 */
static int64_t
unmix(uint64_t h)
{
	uint64_t	inverse1 = 0xbf58476d1ce4e5b9ULL,
				inverse2 = 0x94d049bb133111ebULL;

	/* Newton's iteration for the inverses of the odd multipliers mod 2^64 */
	for (int k = 0; k < 5; k++)
	{
		inverse1 *= 2 - 0xbf58476d1ce4e5b9ULL * inverse1;
		inverse2 *= 2 - 0x94d049bb133111ebULL * inverse2;
	}
	h ^= (h >> 31) ^ (h >> 62);
	h *= inverse2;
	h ^= (h >> 27) ^ (h >> 54);
	h *= inverse1;
	h ^= (h >> 30) ^ (h >> 60);
	return (int64_t) h;
}

/*
 * Many more rows and ids than test_build: tables that grow many times, ids
 * at both ends of int64, ids that all want the last slot of any table up to
 * 2^20 slots, and users whose rows arrive together as well as scattered.
 */
static void
test_build_large(void)
{
	rs_random	rng = {2024};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer buf;
	rs_interactions d;
	size_t		n_users = 20000,
				n_items = 3000,
				n_colliding = 300;
	int64_t    *users = malloc(n_users * sizeof(int64_t));
	int64_t    *items = malloc(n_items * sizeof(int64_t));
	rs_status	status;

	memset(&buf, 0, sizeof(buf));
	fill_pool(&rng, users, n_users);
	fill_pool(&rng, items, n_items);
	for (size_t k = 0; k < n_colliding; k++)
	{
		users[n_users - 1 - k] = unmix(((uint64_t) k << 20) | 0xfffff);
		items[n_items - 1 - k] = unmix(((uint64_t) (k + n_colliding) << 20) | 0xfffff);
	}
	CHECK(unmix(0x123456789abcdef0ULL) != unmix(0x123456789abcdef1ULL), "unmix is one to one");

	/* scattered rows, popular ids more often; then runs of one user's rows */
	for (int r = 0; r < 150000; r++)
	{
		size_t		u = (size_t) (n_users * pow(rs_random_uniform(&rng), 2.0));
		size_t		i = (size_t) (n_items * pow(rs_random_uniform(&rng), 3.0));

		rs_buffer_append(&buf, &a, users[u], items[i],
						 (float) floor(rs_random_uniform(&rng) * 5120.0) / 1024.0f);
	}
	for (int run = 0; run < 2000; run++)
	{
		int64_t		user = pick_id(&rng, users, n_users);
		int			length = 1 + (int) (rs_random_next(&rng) % 40);

		for (int r = 0; r < length; r++)
			rs_buffer_append(&buf, &a, user, pick_id(&rng, items, n_items),
							 (float) floor(rs_random_uniform(&rng) * 5120.0) / 1024.0f);
	}

	status = rs_interactions_build(&buf, &a, &d);
	if (CHECK(status == RS_OK, "large build: status %d", (int) status))
	{
		check_build(&buf, &d);
		CHECK(d.user_ids[0] == INT64_MIN && d.user_ids[d.n_users - 1] == INT64_MAX,
			  "the extreme ids are the first and last users");
		CHECK(d.duplicates > 0 && d.n_users > 10000, "duplicates %zu, users %d",
			  d.duplicates, d.n_users);
		rs_interactions_free(&d, &a);
	}
	rs_buffer_free(&buf, &a);
	free(users);
	free(items);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

static void
test_small_and_empty(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer buf;
	rs_interactions d;
	rs_status	status;

	/* nothing at all */
	memset(&buf, 0, sizeof(buf));
	status = rs_interactions_build(&buf, &a, &d);
	if (CHECK(status == RS_OK, "empty build: status %d", (int) status))
	{
		CHECK(d.n_users == 0 && d.n_items == 0 && d.nnz == 0 && d.duplicates == 0,
			  "empty build shape %d x %d, nnz %zu", d.n_users, d.n_items, d.nnz);
		CHECK(d.user_ptr && d.user_ptr[0] == 0 && d.item_ptr && d.item_ptr[0] == 0,
			  "empty build still has its row pointers");
		{
			/* no items is not out of memory: a valid (empty) array, not NULL */
			float	   *popularity = rs_item_popularity(&d, &a);

			CHECK(popularity != NULL, "popularity of no items is NULL");
			rs_free(&a, popularity);
		}
		rs_interactions_free(&d, &a);
	}

	/* rows appended in descending order of both ids */
	for (int r = 0; r < 10; r++)
		rs_buffer_append(&buf, &a, 100 - r, 50 - (r % 3), (float) r);
	status = rs_interactions_build(&buf, &a, &d);
	if (CHECK(status == RS_OK, "small build: status %d", (int) status))
	{
		check_build(&buf, &d);
		CHECK(d.n_users == 10 && d.n_items == 3 && d.nnz == 10 && d.duplicates == 0,
			  "small build shape");
		CHECK(d.user_ids[0] == 91 && d.item_ids[0] == 48, "smallest ids first");
		rs_interactions_free(&d, &a);
	}
	rs_buffer_free(&buf, &a);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

static void
test_append_buffer(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer x,
				y,
				empty;
	bool		same = true;

	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	memset(&empty, 0, sizeof(empty));
	for (int r = 0; r < 1500; r++)
		rs_buffer_append(&x, &a, r, -r, (float) r);
	for (int r = 0; r < 2500; r++)
		rs_buffer_append(&y, &a, INT64_MAX - r, r * 7, (float) -r);
	x.skipped = 3;
	y.skipped = 4;

	CHECK(rs_buffer_append_buffer(&x, &a, &y), "append buffer");
	CHECK(x.count == 4000 && x.skipped == 7, "count %zu, skipped %lld", x.count,
		  (long long) x.skipped);
	for (int r = 0; r < 4000 && same; r++)
	{
		int64_t		u = r < 1500 ? r : INT64_MAX - (r - 1500);
		int64_t		i = r < 1500 ? -r : (r - 1500) * 7;
		float		v = r < 1500 ? (float) r : (float) -(r - 1500);

		same = x.users[r] == u && x.items[r] == i && x.values[r] == v;
	}
	CHECK(same, "concatenated rows");
	CHECK(y.count == 2500 && y.users[0] == INT64_MAX, "the source is unchanged");

	/* into an empty buffer, and an empty one into a full one */
	CHECK(rs_buffer_append_buffer(&empty, &a, &y), "append into empty");
	CHECK(empty.count == 2500 && memcmp(empty.items, y.items, 2500 * sizeof(int64_t)) == 0,
		  "copy into an empty buffer");
	rs_buffer_free(&empty, &a);
	CHECK(rs_buffer_append_buffer(&x, &a, &empty), "append nothing");
	CHECK(x.count == 4000 && x.skipped == 7, "appending nothing changes nothing");

	rs_buffer_free(&x, &a);
	rs_buffer_free(&y, &a);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* Every allocation failing in turn: a clean failure, the buffer intact, no leak. */
static void
test_out_of_memory(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer buf;
	rs_interactions d;
	long		calls;
	int			failures = 0;

	memset(&buf, 0, sizeof(buf));
	for (int r = 0; r < 3000; r++)
		rs_buffer_append(&buf, &a, r % 97, r % 89, (float) r);

	/* how many allocations a build takes */
	c.calls = 0;
	if (!CHECK(rs_interactions_build(&buf, &a, &d) == RS_OK, "build"))
		return;
	calls = c.calls;
	rs_interactions_free(&d, &a);
	CHECK(calls > 5, "a build takes %ld allocations", calls);

	for (long k = 0; k < calls; k++)
	{
		rs_status	status;

		c.calls = 0;
		c.fail_at = k;
		status = rs_interactions_build(&buf, &a, &d);
		if (status == RS_OK)
			rs_interactions_free(&d, &a);
		failures += status == RS_NO_MEMORY;
		CHECK(status == RS_NO_MEMORY, "allocation %ld failing: status %d", k, (int) status);
		CHECK(c.outstanding == 3, "allocation %ld failing: %ld outstanding, want the buffer's 3",
			  k, c.outstanding);
	}
	CHECK(failures == calls, "%d of %ld failures reported", failures, calls);

	/* popularity takes one allocation: without it, NULL and nothing held */
	c.calls = 0;
	c.fail_at = -1;
	if (CHECK(rs_interactions_build(&buf, &a, &d) == RS_OK, "build"))
	{
		long		held = c.outstanding;
		float	   *popularity;

		c.calls = 0;
		c.fail_at = 0;
		popularity = rs_item_popularity(&d, &a);
		CHECK(popularity == NULL, "popularity without memory is not NULL");
		CHECK(c.outstanding == held, "popularity without memory: %ld outstanding, want %ld",
			  c.outstanding, held);
		rs_free(&a, popularity);
		c.fail_at = -1;
		rs_interactions_free(&d, &a);
	}

	/* a full buffer that cannot grow keeps its rows, with or without realloc */
	for (int with_realloc = 0; with_realloc <= 1; with_realloc++)
	{
		a.realloc = with_realloc ? counting_realloc : NULL;
		c.fail_at = -1;
		rs_buffer_free(&buf, &a);
		rs_buffer_append(&buf, &a, 0, 7, 0.0f);
		for (long fail = 0; fail < 3; fail++)
		{
			size_t		count;

			c.fail_at = -1;
			while (buf.count < buf.capacity)
				rs_buffer_append(&buf, &a, (int64_t) buf.count, 7, (float) buf.count);
			count = buf.count;
			c.calls = 0;
			c.fail_at = fail;
			CHECK(!rs_buffer_append(&buf, &a, 5, 5, 5.0f),
				  "append with array %ld failing to grow fails (realloc %d)", fail, with_realloc);
			CHECK(buf.count == count && buf.capacity == count,
				  "a failed append leaves the rows as they were");
			for (size_t r = 0; r < count; r++)
				if (!CHECK(buf.users[r] == (int64_t) r && buf.items[r] == 7 &&
						   buf.values[r] == (float) r, "row %zu intact", r))
					break;
			CHECK(c.outstanding == 3, "%ld outstanding after a failed append", c.outstanding);
		}
		/* and once memory is back, the full buffer grows */
		c.fail_at = -1;
		{
			size_t		full = buf.capacity;

			CHECK(buf.count == full && rs_buffer_append(&buf, &a, 5, 5, 5.0f) &&
				  buf.capacity > full,
				  "append after the failures (realloc %d)", with_realloc);
		}
		CHECK(buf.users[0] == 0 && buf.items[buf.count - 2] == 7 && buf.users[buf.count - 1] == 5,
			  "rows kept across growth");
	}
	c.fail_at = -1;
	rs_buffer_free(&buf, &a);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

int
main(void)
{
	test_build();
	test_build_large();
	test_small_and_empty();
	test_append_buffer();
	test_out_of_memory();
	return unit_done();
}
