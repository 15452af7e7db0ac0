/*
 * test_tuning.c - the validation split and the candidate settings of
 * "tune": every training pair lands on exactly one side, one per sampled
 * user (ranking) or about a tenth (ratings); the same seed gives the same
 * split; the ranking score is the mean NDCG@10 of one user at a time,
 * however the users are batched; candidates start with the base setting,
 * stay in their ranges, leave given options alone and cover each range.
 */
#include "core/implicit_als.h"
#include "core/kind.h"
#include "core/scoring.h"
#include "core/top_k.h"
#include "core/tuning.h"

#include <math.h>

#include "planted.h"
#include "unit.h"

static void
check_split(bool ratings)
{
	const rs_allocator *a = &rs_malloc_allocator;
	rs_interaction_buffer train = {0},
				again = {0};
	rs_interaction_buffer held = {0},
				held_again = {0};
	rs_interactions t;
	size_t		eligible = 0;

	for (int32_t u = 0; u < P.train.n_users; u++)
		eligible += P.train.user_ptr[u + 1] - P.train.user_ptr[u] >= 3;
	if (!CHECK(rs_holdout_split(&P.train, ratings, 7, a, &train, &held) == RS_OK, "split"))
		return;
	CHECK(train.count + held.count == P.train.nnz, "%zu + %zu pairs of %zu", train.count, held.count,
		  P.train.nnz);
	if (ratings)
		CHECK(held.count > P.train.nnz / 20 && held.count < P.train.nnz / 6, "%zu ratings held of %zu",
			  held.count, P.train.nnz);
	else
		CHECK(held.count == (eligible < RS_TUNE_USERS ? eligible : RS_TUNE_USERS),
			  "%zu users held of %zu", held.count, eligible);
	/* no held-out pair is also a training pair */
	CHECK(rs_interactions_build(&train, a, &t) == RS_OK, "build");
	for (size_t p = 0; p < held.count; p++)
	{
		int32_t		u = rs_find_id(t.user_ids, t.n_users, held.users[p]);
		int32_t		i = rs_find_id(t.item_ids, t.n_items, held.items[p]);
		bool		both = u >= 0 && i >= 0 &&
			rs_sorted_contains(t.user_items + t.user_ptr[u], t.user_ptr[u + 1] - t.user_ptr[u], i);

		if (!CHECK(!both, "pair %zu is on both sides", p))
			break;
	}
	CHECK(rs_holdout_split(&P.train, ratings, 7, a, &again, &held_again) == RS_OK &&
		  held_again.count == held.count &&
		  memcmp(held_again.items, held.items, sizeof(int64_t) * held.count) == 0,
		  "the same seed gives another split");
	rs_interactions_free(&t, a);
	rs_buffer_free(&train, a);
	rs_buffer_free(&again, a);
	rs_buffer_free(&held, a);
	rs_buffer_free(&held_again, a);
}

/*
 * The ranking score against the NDCG@10 of each held-out pair scored on
 * its own (rs_score_items, top 10 without the user's training items), with
 * a pair of an unknown user counted as a miss: the 800 held-out users take
 * several batches.  Batched scores may differ in the last bits, which can
 * swap near-ties: the means agree to 1e-3.
 */
static void
check_ranking_score(void)
{
	const rs_allocator *a = &rs_malloc_allocator;
	rs_runtime	rt = {.alloc = rs_malloc_allocator, .threads = 1};
	rs_interaction_buffer rows = {0},
				held = {0};
	rs_interactions train;
	rs_als_result r;
	rs_model	m;
	double		opt[RS_ALS_OPTION_COUNT],
				score = NAN,
				sum = 0.0;
	float	   *scores;

	for (int o = 0; o < RS_ALS_OPTION_COUNT; o++)
		opt[o] = rs_als_option_specs[o].default_value;
	opt[RS_ALS_FEEDBACK] = RS_FEEDBACK_IMPLICIT;
	opt[RS_ALS_FACTORS] = 8;
	opt[RS_ALS_ITERATIONS] = 4;
	opt[RS_ALS_REGULARIZATION] = 5;
	if (!CHECK(rs_holdout_split(&P.train, false, 3, a, &rows, &held) == RS_OK &&
			   rs_buffer_append(&held, a, -1, P.train.item_ids[0], 1.0f) &&
			   rs_interactions_build(&rows, a, &train) == RS_OK &&
			   rs_implicit_als_fit(&train, opt, &rt, &r) == RS_OK, "split and fit"))
		return;
	rs_als_model(&train, &r, opt, &m);
	CHECK(rs_holdout_score(&m, &held, false, a, &score) == RS_OK, "score");
	scores = malloc(sizeof(float) * (size_t) m.n_items);
	for (size_t p = 0; p < held.count; p++)
	{
		int32_t		user = rs_model_user_index(&m, held.users[p]);
		rs_scored	best[RS_TUNE_K];
		size_t		n_seen,
					count;
		const int32_t *seen;

		if (user < 0)
			continue;
		seen = rs_seen_items(&m, user, &n_seen);
		rs_score_items(&m, user, a, scores);
		count = rs_top_k(scores, m.n_items, seen, n_seen, RS_TUNE_K, best);
		for (size_t k = 0; k < count; k++)
			if (m.item_ids[best[k].index] == held.items[p])
				sum += 1.0 / log2((double) k + 2.0);
	}
	CHECK(held.count > 3 * 256 && fabs(score - sum / (double) held.count) < 1e-3,
		  "score %.6f over %zu pairs, one at a time %.6f", score, held.count,
		  sum / (double) held.count);
	free(scores);
	rs_als_result_free(&r, a);
	rs_interactions_free(&train, a);
	rs_buffer_free(&rows, a);
	rs_buffer_free(&held, a);
}

static void
check_candidates(rs_algorithm algorithm)
{
	const rs_kind *k = rs_kind_of(algorithm);
	double		base[32],
				out[12 * 32],
				again[12 * 32];
	bool		given[32] = {0};
	int			trials = 12;
	int			fixed = k->search[0].option;

	for (int o = 0; o < k->n_options; o++)
		base[o] = k->options[o].default_value;
	given[fixed] = k->n_search > 1;		/* the first searched option, when there are more */
	rs_tune_candidates(k, base, given, trials, 3, out);
	rs_tune_candidates(k, base, given, trials, 3, again);
	CHECK(memcmp(out, again, sizeof(double) * trials * k->n_options) == 0,
		  "%s: candidates differ for one seed", k->name);
	CHECK(memcmp(out, base, sizeof(double) * k->n_options) == 0, "%s: base not first", k->name);
	for (int d = 0; d < k->n_search; d++)
	{
		const rs_search_dim *dim = &k->search[d];
		double		scale = dim->relative ? base[dim->option] : 1.0,
					low = dim->low * scale,
					high = dim->high * scale,
					mid = sqrt(low * high);
		int			below = 0;

		for (int t = 1; t < trials; t++)
		{
			double		v = out[t * k->n_options + dim->option];

			if (given[dim->option])
				CHECK(v == base[dim->option], "%s: given %s searched", k->name,
					  k->options[dim->option].name);
			else
				CHECK(v >= floor(low) && v <= ceil(high), "%s: %s = %g out of range",
					  k->name, k->options[dim->option].name, v);
			below += v < mid;
		}
		/* stratified: as many draws on each side of the range's middle */
		if (!given[dim->option])
			CHECK(abs(2 * below - (trials - 1)) <= 1, "%s: %s %d of %d below the middle",
				  k->name, k->options[dim->option].name, below, trials - 1);
	}
}

int
main(void)
{
	make_planted();
	check_split(false);
	check_split(true);
	check_ranking_score();
	for (int a = 1; a < RS_ALGO_COUNT; a++)
		if (rs_kind_of(a)->n_search > 0)
			check_candidates(a);
	return unit_done();
}
