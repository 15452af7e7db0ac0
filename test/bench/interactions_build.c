/*
 * interactions_build.c - the time and memory of rs_interactions_build on
 * rows shaped like MovieLens 20M: 22 million ratings of up to 26,744 items
 * by 138,493 users, Zipf-like popularity, in random order, with 5% of the
 * rows repeating an earlier (user, item) pair.  Ids are hashed, so their
 * order differs from the order the rows arrive in.
 *
 *   gcc -std=gnu11 -O2 -Isrc test/bench/interactions_build.c src/core/[a-z]*.c \
 *       -lopenblas -lpthread -lm
 *   ./a.out [rows] [grouped]
 *
 * With `grouped`, the rows of each user arrive together (a table clustered by
 * user).  Prints `key value` lines: the seconds of the best of 3 builds, the
 * bytes it returned, the peak bytes it held beyond them, and a checksum of the
 * result (equal across implementations that honour the contract).
 */
#include "core/interactions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIALS 3
#define N_USERS 138493
#define N_ITEMS 26744
#define HUGE_PAGES_FROM ((size_t) 8 << 20)	/* as a backend's allocator */

/* A malloc allocator like a backend's, that knows its outstanding bytes and their peak. */
typedef struct tally
{
	size_t		current;
	size_t		peak;
} tally;

static void *
tally_alloc(void *ctx, size_t size)
{
	tally	   *t = ctx;
	size_t	   *block = malloc(size + 16);

	if (!block)
		return NULL;
	block[0] = size;
	t->current += size;
	if (t->current > t->peak)
		t->peak = t->current;
	if (size >= HUGE_PAGES_FROM)
		rs_advise_huge_pages(block, size + 16);
	return (char *) block + 16;
}

static void
tally_free(void *ctx, void *ptr)
{
	tally	   *t = ctx;
	size_t	   *block = (size_t *) ((char *) ptr - 16);

	t->current -= block[0];
	free(block);
}

static void *
tally_realloc(void *ctx, void *ptr, size_t size)
{
	tally	   *t = ctx;
	size_t	   *block = (size_t *) ((char *) ptr - 16);
	size_t		old = block[0];

	block = realloc(block, size + 16);
	if (!block)
		return NULL;
	block[0] = size;
	t->current = t->current - old + size;
	if (t->current > t->peak)
		t->peak = t->current;
	if (size >= HUGE_PAGES_FROM)
		rs_advise_huge_pages(block, size + 16);
	return (char *) block + 16;
}

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Cumulative Zipf weights 1/(k+1)^s over n ranks. */
static double *
zipf_table(size_t n, double s)
{
	double	   *cdf = malloc(n * sizeof(double));
	double		sum = 0.0;

	for (size_t k = 0; k < n; k++)
		cdf[k] = sum += 1.0 / __builtin_pow((double) (k + 1), s);
	for (size_t k = 0; k < n; k++)
		cdf[k] /= sum;
	return cdf;
}

static size_t
zipf_draw(const double *cdf, size_t n, uint64_t *state)
{
	double		u = (double) (mix((*state)++) >> 11) * 0x1.0p-53;
	size_t		lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		size_t		mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
by_user_rank(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a >> 32,
				y = *(const uint64_t *) b >> 32;

	return (x > y) - (x < y);
}

static uint64_t
checksum(const rs_interactions *d)
{
	uint64_t	h = mix((uint64_t) d->nnz ^ ((uint64_t) d->n_users << 32) ^ (uint64_t) d->n_items);

#define FOLD(ptr, count) \
	do { \
		const unsigned char *p_ = (const unsigned char *) (ptr); \
		size_t		bytes_ = (count) * sizeof(*(ptr)); \
		for (size_t k_ = 0; k_ + 8 <= bytes_; k_ += 8) \
		{ \
			uint64_t	w_; \
			memcpy(&w_, p_ + k_, 8); \
			h = mix(h ^ w_); \
		} \
	} while (0)
	FOLD(d->user_ids, (size_t) d->n_users);
	FOLD(d->item_ids, (size_t) d->n_items);
	FOLD(d->user_ptr, (size_t) d->n_users + 1);
	FOLD(d->item_ptr, (size_t) d->n_items + 1);
	FOLD(d->user_items, d->nnz);
	FOLD(d->user_values, d->nnz);
	FOLD(d->item_users, d->nnz);
	FOLD(d->item_values, d->nnz);
#undef FOLD
	return h;
}

int
main(int argc, char **argv)
{
	size_t		n = argc > 1 ? strtoull(argv[1], NULL, 10) : 22000000;
	bool		grouped = argc > 2 && strcmp(argv[2], "grouped") == 0;
	double	   *user_cdf = zipf_table(N_USERS, 0.8);
	double	   *item_cdf = zipf_table(N_ITEMS, 1.0);
	uint64_t	state = 42;
	uint64_t   *order = NULL;
	rs_interaction_buffer buf;
	double		best = 1e30;
	size_t		extra = 0,
				held = 0;
	uint64_t	sum = 0;

	memset(&buf, 0, sizeof(buf));
	if (!rs_buffer_reserve(&buf, &rs_malloc_allocator, n))
		return 1;
	/*
	 * Each user's rows: a count from a Zipf-like law between 15 and 9000,
	 * scaled to 95% of the rows, and that many distinct items by popularity.
	 * The rest repeat earlier pairs.
	 */
	{
		size_t	   *count = malloc(N_USERS * sizeof(size_t));
		unsigned char *seen = calloc(N_ITEMS, 1);
		size_t		target = n - n / 20,
					total = 0,
					r = 0;
		double		lo = 0.0,
					hi = 1e6 * (double) n;

		for (int step = 0; step < 60; step++)
		{
			double		scale = (lo + hi) / 2;

			total = 0;
			for (size_t u = 0; u < N_USERS; u++)
			{
				double		c = scale * (user_cdf[u] - (u ? user_cdf[u - 1] : 0.0));

				count[u] = c < 15 ? 15 : c > 9000 ? 9000 : (size_t) c;
				total += count[u];
			}
			if (total < target)
				lo = scale;
			else
				hi = scale;
		}
		for (size_t u = 0; u < N_USERS && r < n; u++)
		{
			for (size_t k = 0; k < count[u] && r < target; k++, r++)
			{
				size_t		i = zipf_draw(item_cdf, N_ITEMS, &state);

				for (int tries = 0; seen[i] && tries < 8; tries++)
					i = zipf_draw(item_cdf, N_ITEMS, &state);
				while (seen[i])
					i = (i + 1) % N_ITEMS;
				seen[i] = 1;
				buf.users[r] = (int64_t) mix(u * 2 + 1);
				buf.items[r] = (int64_t) mix(i * 2);
			}
			memset(seen, 0, N_ITEMS);
		}
		for (; r < n; r++)
		{
			size_t		earlier = mix(state++) % r;

			buf.users[r] = buf.users[earlier];
			buf.items[r] = buf.items[earlier];
		}
		for (r = 0; r < n; r++)
			buf.values[r] = (float) (1 + mix(state++) % 10) * 0.5f;
		free(count);
		free(seen);
	}
	buf.count = n;
	/* shuffle, or group the rows of each user together in a random order of users */
	order = malloc(n * sizeof(uint64_t));
	for (size_t r = 0; r < n; r++)
		order[r] = r;
	for (size_t r = n; r-- > 1;)
	{
		size_t		k = mix(state++) % (r + 1);
		uint64_t	t = order[r];

		order[r] = order[k];
		order[k] = t;
	}
	if (grouped)
	{
		for (size_t r = 0; r < n; r++)
			order[r] |= (mix((uint64_t) buf.users[order[r]]) >> 32) << 32;
		qsort(order, n, sizeof(uint64_t), by_user_rank);
	}
	{
		int64_t    *users = malloc(n * sizeof(int64_t));
		int64_t    *items = malloc(n * sizeof(int64_t));
		float	   *values = malloc(n * sizeof(float));

		for (size_t r = 0; r < n; r++)
		{
			size_t		k = order[r] & 0xffffffffu;

			users[r] = buf.users[k];
			items[r] = buf.items[k];
			values[r] = buf.values[k];
		}
		memcpy(buf.users, users, n * sizeof(int64_t));
		memcpy(buf.items, items, n * sizeof(int64_t));
		memcpy(buf.values, values, n * sizeof(float));
		free(users);
		free(items);
		free(values);
	}
	free(order);

	for (int trial = 0; trial < TRIALS; trial++)
	{
		tally		t = {0, 0};
		rs_allocator a = {tally_alloc, tally_free, &t, tally_realloc};
		rs_interactions d;
		double		start = rs_now(),
					seconds;

		if (rs_interactions_build(&buf, &a, &d) != RS_OK)
			return 1;
		seconds = rs_now() - start;
		if (seconds < best)
			best = seconds;
		extra = t.peak - t.current;
		held = t.current;
		sum = checksum(&d);
		if (trial == 0)
			printf("users %d\nitems %d\nnnz %zu\nduplicates %zu\n",
				   d.n_users, d.n_items, d.nnz, d.duplicates);
		rs_interactions_free(&d, &a);
	}
	printf("rows %zu\nseconds %.3f\nresult_bytes %zu\npeak_extra_bytes %zu\nchecksum %016llx\n",
		   n, best, held, extra, (unsigned long long) sum);
	rs_buffer_free(&buf, &rs_malloc_allocator);
	free(user_cdf);
	free(item_cdf);
	return 0;
}
