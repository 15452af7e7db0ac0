/*
 * test_kinds.c - the table of model kinds is consistent: every algorithm id
 * has one kind that names it, names and trainers are told apart, the
 * operations a kind has come in the pairs the callers rely on, option
 * tables are well formed, and the lists of kinds that hints print come from
 * the table.
 */
#include "core/kind.h"

#include "unit.h"

#include <stddef.h>
#include <string.h>

#define BIT RS_SECTION_BIT

static void
check_options(const rs_kind *k)
{
	CHECK(k->n_options > 0 && k->n_options <= 32, "%s: %d options", k->name, k->n_options);
	for (int o = 0; o < k->n_options; o++)
	{
		const rs_option_spec *spec = &k->options[o];

		CHECK(spec->name != NULL && spec->name[0] != '\0', "%s: option %d has no name",
			  k->name, o);
		CHECK(spec->type != RS_OPT_CHOICE || spec->choices != NULL,
			  "%s: choice option %s without choices", k->name, spec->name);
		CHECK(spec->type == RS_OPT_CHOICE || spec->type == RS_OPT_BOOL ||
			  (spec->default_value >= spec->min && spec->default_value <= spec->max),
			  "%s: default of %s out of its range", k->name, spec->name);
		if (spec->only_with != 0)
		{
			const rs_option_spec *on = &k->options[spec->only_with - 1];
			int			choices = 0;

			CHECK(spec->only_with - 1 < k->n_options && on->type == RS_OPT_CHOICE,
				  "%s: %s applies only with an option that is not a choice", k->name,
				  spec->name);
			while (on->choices && on->choices[choices])
				choices++;
			CHECK(spec->only_with_value >= 0 && spec->only_with_value < choices,
				  "%s: %s applies only with a value %s does not have", k->name, spec->name,
				  on->name);
		}
		for (int p = 0; p < o; p++)
			CHECK(strcmp(k->options[p].name, spec->name) != 0, "%s: option %s twice",
				  k->name, spec->name);
	}
	for (int d = 0; d < k->n_search; d++)
	{
		const rs_search_dim *dim = &k->search[d];
		const rs_option_spec *spec = &k->options[dim->option];

		CHECK(dim->option >= 0 && dim->option < k->n_options &&
			  (spec->type == RS_OPT_INT || spec->type == RS_OPT_REAL) &&
			  dim->low > 0 && dim->low < dim->high && dim->low >= spec->min &&
			  dim->high <= spec->max, "%s: search of %s", k->name, spec->name);
	}
	CHECK(k->n_search <= RS_MAX_SEARCH_DIMS, "%s: %d searched", k->name, k->n_search);
	CHECK(k->threads_option < k->n_options && k->verbose_option < k->n_options &&
		  k->iterations_option < k->n_options && k->factors_option < k->n_options &&
		  k->users_option < k->n_options, "%s: option positions", k->name);
	/* "users": "fold_in" serves every user from a history: the kind must score one */
	CHECK(k->users_option < 0 ||
		  (k->options[k->users_option].choices == rs_users_choices && k->score_history),
		  "%s: users without fold-in", k->name);
	CHECK(k->factors_option < 0 || strcmp(k->options[k->factors_option].name, "factors") == 0,
		  "%s: factors_option is not factors", k->name);
}

static void
check_operations(const rs_kind *k)
{
	bool		ids = (k->required_sections & BIT(RS_SEC_USER_IDS)) != 0;

	CHECK(k->fit != NULL, "%s: no fit", k->name);
	CHECK((k->required_sections & BIT(RS_SEC_INFO)) != 0, "%s: no description", k->name);
	CHECK((k->required_sections & k->optional_sections) == 0,
		  "%s: a section both required and optional", k->name);
	/* a kind of users and items answers the functions of users and items */
	CHECK(!ids || (k->predict && k->score_items && k->score_items_batch && k->score_history),
		  "%s: ids but not every scoring operation", k->name);
	CHECK(ids || (!k->predict && !k->score_items && !k->score_history && !k->explain),
		  "%s: scores users without having them", k->name);
	CHECK(ids == (k->input == RS_INPUT_INTERACTIONS), "%s: input and ids disagree", k->name);
	CHECK((k->fold_in == NULL) == (k->score_row == NULL), "%s: fold-in without a row score",
		  k->name);
	CHECK((k->user_vector == NULL) == (k->item_vector == NULL), "%s: one vector only",
		  k->name);
	CHECK(k->predict_features == NULL || k->input == RS_INPUT_FEATURES,
		  "%s: features without feature input", k->name);
	CHECK((k->network_floats != NULL) ==
		  ((k->required_sections & BIT(RS_SEC_MLP_WEIGHTS)) != 0),
		  "%s: a network section without its size", k->name);
}

int
main(void)
{
	const rs_kind *seen[RS_ALGO_COUNT] = {0};
	int			n = 0;
	char		list[256];

	for (int a = 0; a < RS_ALGO_COUNT + 4; a++)
	{
		const rs_kind *k = rs_kind_of((rs_algorithm) a);

		if (a == 0 || a >= RS_ALGO_COUNT)
		{
			CHECK(k == NULL, "algorithm %d has a kind", a);
			continue;
		}
		if (!CHECK(k != NULL, "algorithm %d has no kind", a))
			continue;
		CHECK(k->algorithm == (rs_algorithm) a, "%s: algorithm %d", k->name, a);
		CHECK(strcmp(rs_algorithm_name((rs_algorithm) a), k->name) == 0, "%s: name", k->name);
		for (int b = 0; b < n; b++)
			CHECK(strcmp(seen[b]->name, k->name) != 0, "two kinds named %s", k->name);
		seen[n++] = k;

		/* the trainer finds its first kind, and its options choose this one */
		{
			const rs_kind *first = rs_kind_of_trainer(k->trainer);
			double		options[32];

			for (int o = 0; o < k->n_options; o++)
				options[o] = k->options[o].default_value;
			if (k->chosen_by.option >= 0)
				options[k->chosen_by.option] = k->chosen_by.value;
			CHECK(first != NULL && first->options == k->options,
				  "%s: its trainer's kinds do not share their options", k->name);
			CHECK(first != NULL && rs_kind_chosen(first, options) == k,
				  "%s: %s does not choose it", k->name, k->trainer);
		}
		check_options(k);
		check_operations(k);
	}
	CHECK(rs_kind_of_trainer("train_nothing") == NULL, "an unknown trainer has a kind");

	rs_kinds_supporting(offsetof(rs_kind, explain), list, sizeof(list));
	CHECK(strcmp(list, "als, implicit_als, bpr, knn, ease and hybrid") == 0, "explain: %s", list);
	rs_kinds_supporting(offsetof(rs_kind, predict_features), list, sizeof(list));
	CHECK(strcmp(list, "mlp") == 0, "predict_features: %s", list);
	rs_kinds_supporting(offsetof(rs_kind, user_vector), list, sizeof(list));
	CHECK(strcmp(list, "als, implicit_als, bpr, ncf, hybrid_ratings, hybrid and sequence") == 0,
		  "user_vector: %s", list);
	rs_kinds_supporting(offsetof(rs_kind, row_of_tags), list, sizeof(list));
	CHECK(strcmp(list, "hybrid_ratings and hybrid") == 0, "row_of_tags: %s", list);
	/* a buffer too small is cut, never overrun */
	memset(list, 'x', sizeof(list));
	rs_kinds_supporting(offsetof(rs_kind, explain), list, 8);
	CHECK(strlen(list) == 7 && list[8] == 'x', "cut list: %s", list);
	return unit_done();
}
