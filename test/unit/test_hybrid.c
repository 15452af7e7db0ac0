/*
 * test_hybrid.c - the hybrid model: items that arrive with tags and no
 * interactions are recommended by their tags, in the right cluster; users
 * given by tags alone too; one thread gives the same model bit for bit;
 * the tag sections survive encoding and reject corruption; the features'
 * shares of a score add up to it; cancellation and running out of memory
 * leak nothing.
 *
 * Planted data: CLASSES clusters.  An item's class decides its tag
 * "class:c" (and it has one of NOISE tags that says nothing); a user's class
 * decides its tag "likes:c" and the items it touches, ITEMS_PER_USER of its
 * class.  Every COLD-th item of a class has no interactions: the model never sees it
 * but through its tags.
 */
#include "core/hybrid.h"
#include "core/kind.h"
#include "core/random.h"
#include "core/scoring.h"
#include "core/factor_model.h"

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES 5
#define NOISE 10
#define USERS 300
#define ITEMS 250
#define COLD 5
#define ITEMS_PER_USER 15

static rs_interactions data;

/* Item tags: "class:0".."class:4", then "noise:0".."noise:9", sorted bytewise. */
static char item_names[256];
static uint64_t item_offsets[CLASSES + NOISE + 1];
static char user_names[64];
static uint64_t user_offsets[CLASSES + 1];

static uint64_t *item_ptr,
		   *user_ptr;
static int32_t *item_tag_list,
		   *user_tag_list;
static rs_tag_table item_tags,
			user_tags;

static int
class_of_item(int64_t id)
{
	return (int) (id % CLASSES);
}

static int
noise_of_item(int64_t id)
{
	return (int) ((id * 7) / 3 % NOISE);
}

static int
class_of_user(int64_t id)
{
	return (int) (id % CLASSES);
}

/* Every COLD-th item of each class */
static bool
is_cold(int64_t id)
{
	return (id / CLASSES) % COLD == 1;
}

static void
add_names(char *names, uint64_t *offsets, const char *prefix, int count, int first)
{
	for (int k = 0; k < count; k++)
	{
		int			len = sprintf(names + offsets[first + k], "%s%d", prefix, k);

		offsets[first + k + 1] = offsets[first + k] + (uint64_t) len;
	}
}

static void
make_data(void)
{
	rs_interaction_buffer b = {0};
	rs_random	rng = {7};

	for (int64_t u = 1; u <= USERS; u++)
		for (int k = 0; k < ITEMS_PER_USER; k++)
		{
			int64_t		item;

			/* an item of the user's class that is not cold */
			do
				item = CLASSES * (int64_t) (rs_random_next(&rng) % (ITEMS / CLASSES)) +
					class_of_user(u);
			while (is_cold(item) || item == 0);
			rs_buffer_append(&b, &rs_malloc_allocator, u, item, 1.0f);
		}
	rs_interactions_build(&b, &rs_malloc_allocator, &data);
	rs_buffer_free(&b, &rs_malloc_allocator);

	item_offsets[0] = 0;
	add_names(item_names, item_offsets, "class:", CLASSES, 0);
	add_names(item_names, item_offsets, "noise:", NOISE, CLASSES);
	user_offsets[0] = 0;
	add_names(user_names, user_offsets, "likes:", CLASSES, 0);

	item_ptr = malloc(sizeof(uint64_t) * (data.n_items + 1));
	item_tag_list = malloc(sizeof(int32_t) * 2 * data.n_items);
	for (int32_t i = 0; i < data.n_items; i++)
	{
		item_ptr[i] = 2 * (uint64_t) i;
		item_tag_list[2 * i] = class_of_item(data.item_ids[i]);
		item_tag_list[2 * i + 1] = CLASSES + noise_of_item(data.item_ids[i]);
	}
	item_ptr[data.n_items] = 2 * (uint64_t) data.n_items;
	/* every tenth user has no tags */
	user_ptr = malloc(sizeof(uint64_t) * (data.n_users + 1));
	user_tag_list = malloc(sizeof(int32_t) * data.n_users);
	user_ptr[0] = 0;
	for (int32_t u = 0; u < data.n_users; u++)
	{
		uint64_t	at = user_ptr[u];

		if (data.user_ids[u] % 10 != 0)
			user_tag_list[at++] = class_of_user(data.user_ids[u]);
		user_ptr[u + 1] = at;
	}
	item_tags = (rs_tag_table) {CLASSES + NOISE, item_offsets, item_names, data.n_items,
	item_ptr, item_tag_list};
	user_tags = (rs_tag_table) {CLASSES, user_offsets, user_names, data.n_users, user_ptr,
	user_tag_list};
}

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_HYBRID_OPTION_COUNT; k++)
		opt[k] = rs_hybrid_option_specs[k].default_value;
	opt[RS_HYBRID_FACTORS] = 16;
	opt[RS_HYBRID_EPOCHS] = 20;
}

static rs_status
fit_on(const rs_interactions *on, const double *opt, int threads, host *h, counter *c,
	   rs_fit *out)
{
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, threads);
	rs_fit_input in = {0};

	in.data = on;
	in.options = opt;
	in.user_tags = &user_tags;
	in.item_tags = &item_tags;
	memset(out, 0, sizeof(*out));
	return rs_kind_of(RS_ALGO_HYBRID)->fit(&in, &rt, out);
}

static rs_status
fit(const double *opt, int threads, host *h, counter *c, rs_fit *out)
{
	return fit_on(&data, opt, threads, h, c, out);
}

static void
free_fit(rs_fit *f, counter *c)
{
	rs_allocator a = {counting_alloc, counting_free, c, NULL};

	rs_free(&a, (void *) f->model.user_factors);
	rs_free(&a, (void *) f->model.item_factors);
	rs_free(&a, (void *) f->model.item_bias);
	rs_free(&a, (void *) f->model.item_popularity);
	rs_free(&a, (void *) f->model.user_tag_vectors);
	rs_free(&a, (void *) f->model.item_tag_vectors);
	rs_free(&a, (void *) f->loss);
}

static double
dot(const float *x, const float *y, int f)
{
	double		s = 0.0;

	for (int k = 0; k < f; k++)
		s += (double) x[k] * y[k];
	return s;
}

/* Of the top 5 cold items for each user, the share in the user's class. */
static double
cold_items_in_class(const rs_model *m)
{
	int			f = m->factors;
	float		rows[ITEMS][RS_MODEL_MAX_FACTORS];
	float		bias[ITEMS];
	int64_t		cold[ITEMS];
	int			n_cold = 0,
				hits = 0,
				total = 0;

	for (int64_t id = 1; id < ITEMS; id++)
	{
		if (!is_cold(id))
			continue;
		int32_t		tags[2] = {class_of_item(id), CLASSES + noise_of_item(id)};

		CHECK(rs_model_item_index(m, id) < 0, "item %lld should be cold", (long long) id);
		CHECK(rs_hybrid_row_of_tags(m, false, tags, 2, rows[n_cold], &bias[n_cold]) == 2,
			  "both tags of item %lld are known", (long long) id);
		cold[n_cold++] = id;
	}
	for (int32_t u = 0; u < m->n_users; u++)
	{
		const float *x = m->user_factors + (size_t) u * f;
		bool		taken[ITEMS] = {false};

		for (int r = 0; r < 5; r++)
		{
			int			best = -1;
			double		best_score = -INFINITY;

			for (int c = 0; c < n_cold; c++)
			{
				double		s = dot(x, rows[c], f) + bias[c];

				if (!taken[c] && s > best_score)
				{
					best = c;
					best_score = s;
				}
			}
			taken[best] = true;
			hits += class_of_item(cold[best]) == class_of_user(m->user_ids[u]);
			total++;
		}
	}
	return (double) hits / total;
}

/* Of the top 5 known items for a user given by one tag, the share in its class. */
static double
tag_users_in_class(const rs_model *m)
{
	int			f = m->factors;
	int			hits = 0,
				total = 0;
	float	   *scores = malloc(sizeof(float) * m->n_items);

	for (int32_t c = 0; c < CLASSES; c++)
	{
		float		x[RS_MODEL_MAX_FACTORS],
					bias;
		int32_t		tag = c;

		CHECK(rs_hybrid_row_of_tags(m, true, &tag, 1, x, &bias) == 1, "tag likes:%d known", c);
		for (int32_t i = 0; i < m->n_items; i++)
			scores[i] = (float) dot(x, m->item_factors + (size_t) i * f, f) + m->item_bias[i];
		for (int r = 0; r < 5; r++)
		{
			int32_t		best = 0;

			for (int32_t i = 1; i < m->n_items; i++)
				if (scores[i] > scores[best])
					best = i;
			hits += class_of_item(m->item_ids[best]) == c;
			total++;
			scores[best] = -INFINITY;
		}
	}
	free(scores);
	return (double) hits / total;
}

static void
test_cold_start(int loss, int identity, const char *what)
{
	double		opt[RS_HYBRID_OPTION_COUNT];
	counter		c = new_counter();
	host		h = new_host(0);
	rs_fit		f;
	double		cold,
				users;

	default_options(opt);
	opt[RS_HYBRID_LOSS] = loss;
	opt[RS_HYBRID_IDENTITY] = identity;
	if (!CHECK(fit(opt, 2, &h, &c, &f) == RS_OK, "%s: fit", what))
		return;
	CHECK(h.reports == 20 && f.iterations == 20, "%s: %d epochs reported", what, h.reports);
	CHECK(f.loss[19] < f.loss[0], "%s: loss %g after %g", what, f.loss[19], f.loss[0]);
	cold = cold_items_in_class(&f.model);
	users = tag_users_in_class(&f.model);
	CHECK(cold >= 0.9, "%s: %.3f of the cold items recommended are in the user's class", what,
		  cold);
	CHECK(users >= 0.9, "%s: %.3f of the items for a user by tag are in its class", what,
		  users);
	printf("%s: cold items in class %.3f, tag users %.3f\n", what, cold, users);
	free_fit(&f, &c);
	CHECK(c.outstanding == 0, "%s: %ld allocations outstanding", what, c.outstanding);
	CHECK(!h.wrong_thread && !c.wrong_thread, "%s: a callback ran on a worker thread", what);
}

static bool
same_floats(const float *a, const float *b, size_t n)
{
	return memcmp(a, b, sizeof(float) * n) == 0;
}

static void
test_deterministic(void)
{
	double		opt[RS_HYBRID_OPTION_COUNT];
	counter		c = new_counter();
	rs_fit		a,
				b;

	default_options(opt);
	opt[RS_HYBRID_EPOCHS] = 3;
	if (fit(opt, 1, NULL, &c, &a) != RS_OK || fit(opt, 1, NULL, &c, &b) != RS_OK)
	{
		CHECK(false, "fits failed");
		return;
	}
	CHECK(same_floats(a.model.user_factors, b.model.user_factors,
					  (size_t) data.n_users * 16) &&
		  same_floats(a.model.item_factors, b.model.item_factors, (size_t) data.n_items * 16) &&
		  same_floats(a.model.item_tag_vectors, b.model.item_tag_vectors,
					  (CLASSES + NOISE) * 17) &&
		  same_floats(a.model.user_tag_vectors, b.model.user_tag_vectors, CLASSES * 17),
		  "one thread gives the same model twice");
	free_fit(&a, &c);
	free_fit(&b, &c);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* An item known to the model: the tags' shares and the identity sum to its score. */
static void
test_explain_and_codec(void)
{
	double		opt[RS_HYBRID_OPTION_COUNT];
	counter		c = new_counter();
	rs_fit		f;
	rs_model	m;
	size_t		size;
	void	   *buf;
	const char *reason;
	const rs_kind *kind = rs_kind_of(RS_ALGO_HYBRID);
	const float *user_factors;

	default_options(opt);
	opt[RS_HYBRID_EPOCHS] = 5;
	if (!CHECK(fit(opt, 2, NULL, &c, &f) == RS_OK, "fit"))
		return;
	f.model.info = "{}";
	f.model.info_size = 2;
	size = rs_model_encoded_size(&f.model);
	buf = aligned_alloc(8, (size + 7) / 8 * 8);
	rs_model_encode(&f.model, buf);
	reason = rs_model_decode(buf, size, &m);
	if (CHECK(reason == NULL, "decode: %s", reason ? reason : ""))
	{
		CHECK(m.item_tags.n_tags == CLASSES + NOISE && m.user_tags.n_tags == CLASSES &&
			  m.item_tags.n_rows == data.n_items && m.user_tags.n_rows == data.n_users,
			  "decoded tag tables have their sizes");
		CHECK(rs_tag_find(&m.item_tags, "noise:3", 7) == CLASSES + 3, "find noise:3");
		CHECK(rs_tag_find(&m.user_tags, "likes:9", 7) == -1, "likes:9 is unknown");
		for (int32_t u = 0; u < 20; u++)
			for (int32_t i = 0; i < 20; i++)
			{
				double		contributions[2],
							identity,
							sum;
				int			n;

				rs_hybrid_item_tags(&m, i, &n);
				kind->explain_features(&m, u, i, contributions, &identity);
				sum = identity;
				for (int k = 0; k < n; k++)
					sum += contributions[k];
				CHECK(n == 2, "item %d has 2 tags", i);
				CHECK_NEAR(sum, rs_predict(&m, u, i), 1e-4);
			}
	}

	free(buf);

	/* a dictionary out of order is refused, however good the checksum */
	{
		static char swapped[] = "noise:0class:0";
		static const uint64_t offsets[] = {0, 7, 14};
		rs_tag_table good = f.model.item_tags;
		rs_tag_table bad = {2, offsets, swapped, data.n_items, item_ptr, item_tag_list};
		rs_model	refused;

		/* rows whose tags are 0 and 1 alone, as the two-tag dictionary needs */
		for (int32_t i = 0; i < data.n_items; i++)
		{
			item_tag_list[2 * i] = 0;
			item_tag_list[2 * i + 1] = 1;
		}
		f.model.item_tags = bad;	/* and the first two tags' vectors */
		size = rs_model_encoded_size(&f.model);
		buf = aligned_alloc(8, (size + 7) / 8 * 8);
		rs_model_encode(&f.model, buf);
		reason = rs_model_decode(buf, size, &refused);
		CHECK(reason != NULL && strstr(reason, "sorted") != NULL,
			  "a dictionary out of order is refused: %s", reason ? reason : "accepted");
		free(buf);
		f.model.item_tags = good;
		for (int32_t i = 0; i < data.n_items; i++)
		{
			item_tag_list[2 * i] = class_of_item(data.item_ids[i]);
			item_tag_list[2 * i + 1] = CLASSES + noise_of_item(data.item_ids[i]);
		}
	}

	/* the fold-in form keeps the users' dictionary and drops their rows */
	user_factors = f.model.user_factors;
	rs_model_drop_users(&f.model);
	size = rs_model_encoded_size(&f.model);
	buf = aligned_alloc(8, (size + 7) / 8 * 8);
	rs_model_encode(&f.model, buf);
	reason = rs_model_decode(buf, size, &m);
	if (CHECK(reason == NULL, "decode without users: %s", reason ? reason : ""))
		CHECK(m.user_tags.n_tags == CLASSES && m.user_tags.ptr == NULL && m.n_users == 0,
			  "without users: the dictionary alone");
	free(buf);
	f.model.user_factors = user_factors;
	free_fit(&f, &c);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* The training part of a split keeps each remaining id's tags. */
static void
test_subset(void)
{
	int64_t		ids[3] = {data.item_ids[0], data.item_ids[5], data.item_ids[data.n_items - 1]};
	int64_t		missing[2] = {-5, data.item_ids[2]};
	rs_tag_table sub;
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};

	if (!CHECK(rs_tag_table_subset(&item_tags, data.item_ids, ids, 3, &a, &sub) == RS_OK,
			   "subset"))
		return;
	CHECK(sub.n_rows == 3 && sub.n_tags == item_tags.n_tags && sub.ptr[3] == 6, "subset shape");
	CHECK(sub.tags[2] == item_tag_list[10] && sub.tags[3] == item_tag_list[11] &&
		  sub.tags[5] == item_tag_list[2 * data.n_items - 1], "subset rows are the ids' rows");
	CHECK(rs_tag_table_check(&sub, item_offsets[item_tags.n_tags]) == NULL, "subset checks");
	rs_tag_table_free_rows(&sub, &a);
	CHECK(rs_tag_table_subset(&item_tags, data.item_ids, missing, 2, &a, &sub) == RS_OK &&
		  sub.ptr[1] == 0 && sub.ptr[2] == 2, "an id the table lacks has no tags");
	rs_tag_table_free_rows(&sub, &a);
	c.fail_at = 1;
	c.calls = 0;
	CHECK(rs_tag_table_subset(&item_tags, data.item_ids, ids, 3, &a, &sub) == RS_NO_MEMORY,
		  "out of memory");
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

static double
norm(const float *x, int f)
{
	return sqrt(dot(x, x, f));
}

/* The mean norm of the items' own rows: each one's vector less its tags'. */
static double
identity_norm(const rs_model *m)
{
	int			f = m->factors;
	double		sum = 0.0;

	for (int32_t i = 0; i < m->n_items; i++)
	{
		float		own[RS_MODEL_MAX_FACTORS];
		int			n;
		const int32_t *tags = rs_hybrid_item_tags(m, i, &n);

		memcpy(own, m->item_factors + (size_t) i * f, sizeof(float) * f);
		for (int k = 0; k < n; k++)
			for (int c = 0; c < f; c++)
				own[c] -= m->item_tag_vectors[(size_t) tags[k] * (f + 1) + c];
		sum += norm(own, f);
	}
	return sum / m->n_items;
}

/*
 * identity_dropout 1: an item with tags is always its tags alone, so its
 * own row keeps its first random value (norm about 0.1); at 0 it learns.
 */
static void
test_identity_dropout(void)
{
	double		opt[RS_HYBRID_OPTION_COUNT];
	counter		c = new_counter();
	rs_fit		never,
				always;

	default_options(opt);
	opt[RS_HYBRID_IDENTITY_DROPOUT] = 0;
	if (fit(opt, 1, NULL, &c, &never) != RS_OK)
	{
		CHECK(false, "fit without dropout");
		return;
	}
	opt[RS_HYBRID_IDENTITY_DROPOUT] = 1;
	if (fit(opt, 1, NULL, &c, &always) != RS_OK)
	{
		CHECK(false, "fit with dropout 1");
		return;
	}
	CHECK(identity_norm(&always.model) < 0.15, "dropout 1: identities moved to %g",
		  identity_norm(&always.model));
	CHECK(identity_norm(&never.model) > 2 * identity_norm(&always.model),
		  "no dropout: identities %g, dropout 1: %g", identity_norm(&never.model),
		  identity_norm(&always.model));
	free_fit(&never, &c);
	free_fit(&always, &c);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/*
 * A value weighs its interaction: a user whose values are all 0 is never
 * stepped, and keeps the first random row (norm about 0.1) while the
 * others learn; values scaled all alike change nothing.
 */
static void
test_values_weigh(void)
{
	double		opt[RS_HYBRID_OPTION_COUNT];
	counter		c = new_counter();
	rs_interaction_buffer zeroed = {0},
				scaled = {0};
	rs_interactions with_zeros,
				times_five;
	rs_fit		z,
				plain,
				five;
	double		others = 0.0,
				zero_norm = 0.0;

	for (int32_t u = 0; u < data.n_users; u++)
		for (size_t k = data.user_ptr[u]; k < data.user_ptr[u + 1]; k++)
		{
			rs_buffer_append(&zeroed, &rs_malloc_allocator, data.user_ids[u],
							 data.item_ids[data.user_items[k]], u == 0 ? 0.0f : 1.0f);
			rs_buffer_append(&scaled, &rs_malloc_allocator, data.user_ids[u],
							 data.item_ids[data.user_items[k]], 5.0f);
		}
	rs_interactions_build(&zeroed, &rs_malloc_allocator, &with_zeros);
	rs_interactions_build(&scaled, &rs_malloc_allocator, &times_five);
	default_options(opt);
	opt[RS_HYBRID_IDENTITY] = RS_IDENTITY_BOTH;
	if (fit_on(&with_zeros, opt, 1, NULL, &c, &z) != RS_OK ||
		fit_on(&data, opt, 1, NULL, &c, &plain) != RS_OK ||
		fit_on(&times_five, opt, 1, NULL, &c, &five) != RS_OK)
	{
		CHECK(false, "fits failed");
		return;
	}
	/* a user's own row: its vector less its tags', which others' samples step */
	for (int32_t u = 0; u < z.model.n_users; u++)
	{
		float		own[16];

		memcpy(own, z.model.user_factors + (size_t) u * 16, sizeof(own));
		for (uint64_t k = user_ptr[u]; k < user_ptr[u + 1]; k++)
			for (int f = 0; f < 16; f++)
				own[f] -= z.model.user_tag_vectors[(size_t) user_tag_list[k] * 17 + f];
		if (u == 0)
			zero_norm = norm(own, 16);
		else
			others += norm(own, 16) / (z.model.n_users - 1);
	}
	CHECK(zero_norm < 0.15 && others > 2 * zero_norm,
		  "a user of weight 0: own row's norm %g, the others' %g", zero_norm, others);
	CHECK(memcmp(plain.model.item_factors, five.model.item_factors,
				 sizeof(float) * (size_t) data.n_items * 16) == 0,
		  "values 5 for every row train what values 1 do");
	free_fit(&z, &c);
	free_fit(&plain, &c);
	free_fit(&five, &c);
	rs_buffer_free(&zeroed, &rs_malloc_allocator);
	rs_buffer_free(&scaled, &rs_malloc_allocator);
	rs_interactions_free(&with_zeros, &rs_malloc_allocator);
	rs_interactions_free(&times_five, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

static rs_status
fit_and_free(void *ctx, int threads, host *h, counter *c)
{
	rs_fit		f;
	rs_status	status = fit(ctx, threads, h, c, &f);

	if (status == RS_OK)
		free_fit(&f, c);
	return status;
}

static void
test_cancel_and_memory(void)
{
	double		opt[RS_HYBRID_OPTION_COUNT];

	default_options(opt);
	opt[RS_HYBRID_EPOCHS] = 3;
	unit_cancel_at_every_poll("hybrid", fit_and_free, unit_stops_within_3_epochs, opt, 3 * 2, 3, 2);
	opt[RS_HYBRID_EPOCHS] = 1;
	unit_fail_each_allocation("hybrid", fit_and_free, opt, 2, 10);
}

int
main(void)
{
	make_data();
	test_cold_start(RS_HYBRID_LOSS_WARP, RS_IDENTITY_BOTH, "warp");
	test_cold_start(RS_HYBRID_LOSS_BPR, RS_IDENTITY_BOTH, "bpr");
	test_cold_start(RS_HYBRID_LOSS_WARP, RS_IDENTITY_NONE, "warp, tags alone");
	test_deterministic();
	test_explain_and_codec();
	test_cancel_and_memory();
	test_subset();
	test_identity_dropout();
	test_values_weigh();
	rs_interactions_free(&data, &rs_malloc_allocator);
	free(item_ptr);
	free(user_ptr);
	free(item_tag_list);
	free(user_tag_list);
	return unit_done();
}
