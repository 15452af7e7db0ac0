/*
 * planted.h - planted clustered data for the ranking models' unit tests
 * (BPR, NCF), and the AUCs that show a model found the clusters.
 *
 * CLASSES classes of users and of items; a user interacts with each item of
 * their class with probability IN_CLASS and with any other item with
 * probability OFF_CLASS.  HELD_OUT of each user's same-class interactions
 * are kept out of training.  A model that learnt the classes ranks a user's
 * held-out items, and unseen same-class items in general, above unseen items
 * of other classes.
 *
 * Everything is static inline so that a test using part of it compiles
 * under -Werror.
 */
#ifndef RECSYS_PLANTED_H
#define RECSYS_PLANTED_H

#include "core/interactions.h"
#include "core/model.h"
#include "core/random.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES 4
#define USERS 800
#define ITEMS 200
#define IN_CLASS 0.3
#define OFF_CLASS 0.01
#define HELD_OUT 2

typedef struct planted
{
	rs_interactions train;
	int			held[USERS][HELD_OUT];	/* item numbers, -1 if none */
} planted;

static planted P;

static inline int
class_of_user(int u)
{
	return u % CLASSES;
}

static inline int
class_of_item(int i)
{
	return i % CLASSES;
}

/* Ids far from the dense indices, and items in an order unlike the classes. */
static inline int64_t
user_id(int u)
{
	return 7000 - 5 * (int64_t) u;
}

static inline int64_t
item_id(int i)
{
	return ((int64_t) i * 37) % ITEMS * 11 - 900;
}

/* Fills P from a fixed seed: every test sees the same data. */
static inline void
make_planted(void)
{
	rs_random	rng = {2009};
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < USERS; u++)
	{
		int			items[ITEMS],
					n = 0,
					same = 0;

		for (int i = 0; i < ITEMS; i++)
			if (rs_random_uniform(&rng) <
				(class_of_user(u) == class_of_item(i) ? IN_CLASS : OFF_CLASS))
				items[n++] = i;
		for (int k = 0; k < n; k++)
			same += class_of_item(items[k]) == class_of_user(u);
		/* hold out HELD_OUT of the same-class items, chosen at random */
		for (int k = 0; k < HELD_OUT; k++)
			P.held[u][k] = -1;
		for (int k = 0; k < HELD_OUT && same > HELD_OUT; k++)
		{
			int			pick = (int) (rs_random_uniform(&rng) * same);

			for (int j = 0; j < n; j++)
				if (class_of_item(items[j]) == class_of_user(u) && pick-- == 0)
				{
					P.held[u][k] = items[j];
					items[j] = items[--n];
					same--;
					break;
				}
		}
		for (int k = 0; k < n; k++)
			if (!rs_buffer_append(&buf, &rs_malloc_allocator, user_id(u), item_id(items[k]), 1.0f))
			{
				fprintf(stderr, "out of memory\n");
				exit(2);
			}
	}
	if (rs_interactions_build(&buf, &rs_malloc_allocator, &P.train) != RS_OK)
	{
		fprintf(stderr, "cannot build the planted data\n");
		exit(2);
	}
	rs_buffer_free(&buf, &rs_malloc_allocator);
}

/* Whether user u had item i in training (dense indices). */
static inline bool
seen(const rs_model *m, int32_t u, int32_t i)
{
	for (uint64_t k = m->seen_ptr[u]; k < m->seen_ptr[u + 1]; k++)
		if (m->seen_items[k] == i)
			return true;
	return false;
}

/* Share of pairs (a, b) with a scored above b; ties count a half. */
static inline double
pair_share(double a, double b)
{
	return a > b ? 1.0 : a == b ? 0.5 : 0.0;
}

/* A model's score of (user, item), dense indices: its own arithmetic or rs_predict. */
typedef double (*planted_score_fn) (const rs_model *m, int32_t u, int32_t i);

/*
 * Two AUCs, averaged over users, through the model a server would use:
 * held-out positives against unseen items of other classes, and every
 * unseen same-class item against unseen items of other classes.  Each
 * (user, item) is scored once, so a network's score costs no more than a
 * dot product's.
 */
static inline void
planted_auc(const rs_model *m, planted_score_fn score, double *held_auc, double *class_auc)
{
	double		held_sum = 0.0,
				class_sum = 0.0;
	int			held_users = 0;

	for (int u = 0; u < USERS; u++)
	{
		int32_t		du = rs_model_user_index(m, user_id(u));
		double		s[ITEMS];
		bool		usable[ITEMS];
		double		held_pairs = 0.0,
					held_right = 0.0,
					class_pairs = 0.0,
					class_right = 0.0;

		/* every item the model knows and the user did not train on */
		for (int a = 0; a < ITEMS; a++)
		{
			int32_t		da = rs_model_item_index(m, item_id(a));

			usable[a] = da >= 0 && !seen(m, du, da);
			s[a] = usable[a] ? score(m, du, da) : 0.0;
		}
		for (int a = 0; a < ITEMS; a++)
		{
			bool		is_held = false;

			if (class_of_item(a) != class_of_user(u) || !usable[a])
				continue;
			for (int k = 0; k < HELD_OUT; k++)
				is_held |= P.held[u][k] == a;
			for (int b = 0; b < ITEMS; b++)
			{
				double		share;

				if (class_of_item(b) == class_of_user(u) || !usable[b])
					continue;
				share = pair_share(s[a], s[b]);
				class_pairs += 1.0;
				class_right += share;
				if (is_held)
				{
					held_pairs += 1.0;
					held_right += share;
				}
			}
		}
		if (held_pairs > 0)
		{
			held_sum += held_right / held_pairs;
			held_users++;
		}
		class_sum += class_pairs > 0 ? class_right / class_pairs : 1.0;
	}
	*held_auc = held_users ? held_sum / held_users : 0.0;
	*class_auc = class_sum / USERS;
}

#endif
