/*
 * kinds.c - the table of model kinds (kind.h), one line each.
 */
#include "kind.h"

#include <stdio.h>
#include <string.h>

#define KINDS(X) \
	X(als) \
	X(implicit_als) \
	X(bpr) \
	X(mlp) \
	X(ncf) \
	X(knn) \
	X(ease) \
	X(hybrid_ratings) \
	X(hybrid) \
	X(sequence)

#define DECLARE(kind) extern const rs_kind rs_##kind##_kind;
#define ENTRY(kind) &rs_##kind##_kind,

KINDS(DECLARE)

static const rs_kind *const kinds[] = {KINDS(ENTRY)};

const char *const rs_users_choices[] = {"keep", "fold_in", NULL};

#define N_KINDS ((int) (sizeof(kinds) / sizeof(kinds[0])))

const rs_kind *
rs_kind_of(rs_algorithm algorithm)
{
	for (int k = 0; k < N_KINDS; k++)
		if (kinds[k]->algorithm == algorithm)
			return kinds[k];
	return NULL;
}

const rs_kind *
rs_kind_of_trainer(const char *trainer)
{
	for (int k = 0; k < N_KINDS; k++)
		if (strcmp(kinds[k]->trainer, trainer) == 0)
			return kinds[k];
	return NULL;
}

const rs_kind *
rs_kind_chosen(const rs_kind *first, const double *options)
{
	for (int k = 0; k < N_KINDS; k++)
	{
		rs_option_choice by = kinds[k]->chosen_by;

		if (strcmp(kinds[k]->trainer, first->trainer) == 0 &&
			(by.option < 0 || options[by.option] == by.value))
			return kinds[k];
	}
	return first;
}

void
rs_kinds_supporting(size_t offset, char *buf, size_t size)
{
	const char *names[N_KINDS];
	int			n = 0;
	size_t		used = 0;

	for (int k = 0; k < N_KINDS; k++)
	{
		void		(*const *op) (void) = (void (*const *) (void)) ((const char *) kinds[k] + offset);

		if (*op != NULL)
			names[n++] = kinds[k]->name;
	}
	buf[0] = '\0';
	for (int k = 0; k < n && used < size; k++)
		used += snprintf(buf + used, size - used, "%s%s",
						 k == 0 ? "" : k == n - 1 ? " and " : ", ", names[k]);
}

bool
rs_check_strengths(const rs_training_rows *rows, const double *options, rs_report *why)
{
	const rs_interaction_buffer *b = rows->interactions;

	for (size_t r = 0; r < b->count; r++)
		if (b->values[r] < 0)
		{
			snprintf(why->message, sizeof(why->message),
					 "implicit feedback values must not be negative");
			snprintf(why->detail, sizeof(why->detail),
					 "User %lld, item %lld has value %g.",
					 (long long) b->users[r], (long long) b->items[r], b->values[r]);
			snprintf(why->hint, sizeof(why->hint), "Ratings take {\"feedback\": \"explicit\"}.");
			return false;
		}
	return true;
}

bool
rs_kind_yes(const rs_model *model)
{
	return true;
}

bool
rs_kind_options_yes(const double *options)
{
	return true;
}
