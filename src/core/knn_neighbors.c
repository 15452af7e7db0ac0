/*
 * knn_neighbors.c - item-kNN's neighbour count, chosen on the data.
 *
 * How many neighbours an item should keep depends on how many items are
 * really alike in the data, which no rule of its shape tells: real film
 * data (MovieTweetings, and its dense core) ranked best with 25 to 100,
 * planted taste clusters of a few hundred items with 400, and any one
 * count lost up to 17 % somewhere (`make bench-defaults`).  So when the
 * user gives none it is measured, as explicit ALS's regularisation is.
 * One interaction of each sampled user (or, for ratings, a tenth of the
 * ratings) is held out, the split "tune" uses (tuning.h); the neighbours
 * are computed once on the rest at the largest count tried; and each count
 * k is scored with every item keeping its best k of them, which is exactly
 * what a fit with k keeps (the same order: weight, ties to the lower
 * index).  The best count wins, ties to the smaller.  A fit's time hardly
 * depends on k, but scoring the held-out users at the largest count does:
 * the measurement costs a few fits (MovieTweetings 0.6 s, its fit 0.1 s).
 *
 * Preferences are scored by NDCG@10 of the held-out item among the items
 * the user has not, as evaluate computes it, through an index from each
 * item to the items that keep it as a neighbour: a user's scores then cost
 * their history times the neighbours, not every item's neighbour list.
 * Ratings are scored by RMSE, the model's own predictions.
 */
#include "knn.h"

#include "fp_mode.h"
#include "scoring.h"
#include "top_k.h"
#include "tuning.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const int counts[] = {10, 25, 50, 100, 200, 400};

#define N_COUNTS ((int) (sizeof(counts) / sizeof(counts[0])))

/*
 * Neighbours kept at most while measuring, over all items: the largest
 * counts are not tried on a catalogue too large for them.  Each entry
 * costs 8 bytes in the lists and 12 in their index, so 2^23 entries keep
 * the measurement near 170 MB, where a default model of 50 neighbours
 * over 20,000 items takes 8 MB.
 */
#define MEASURED_ENTRIES ((size_t) 1 << 23)

/*
 * Orders each of r's rows best first: by weight, ties to the lower index,
 * as a fit chooses them, so that a row's first k are what a fit with k
 * keeps.
 */
static void
order_best_first(rs_knn_result *r, int32_t n_items, rs_scored *scratch)
{
	for (int32_t i = 0; i < n_items; i++)
	{
		uint64_t	begin = r->neighbor_ptr[i];
		size_t		n = (size_t) (r->neighbor_ptr[i + 1] - begin),
					kept = 0;

		for (size_t q = 0; q < n; q++)
			rs_top_k_offer(scratch, &kept, n,
						   (rs_scored) {r->neighbor_weights[begin + q],
							r->neighbor_items[begin + q]});
		rs_top_k_sort(scratch, kept);
		for (size_t q = 0; q < kept; q++)
		{
			r->neighbor_items[begin + q] = scratch[q].index;
			r->neighbor_weights[begin + q] = scratch[q].score;
		}
	}
}

/* Each item's first k of r's ordered rows into t, ascending as a fit stores them. */
static void
keep_first(const rs_knn_result *r, int32_t n_items, size_t k, rs_scored *scratch,
		   rs_knn_result *t)
{
	uint64_t	out = 0;

	t->neighbor_ptr[0] = 0;
	for (int32_t i = 0; i < n_items; i++)
	{
		uint64_t	begin = r->neighbor_ptr[i];
		size_t		n = (size_t) (r->neighbor_ptr[i + 1] - begin);

		if (n > k)
			n = k;
		for (size_t q = 0; q < n; q++)
			scratch[q] = (rs_scored) {r->neighbor_weights[begin + q], r->neighbor_items[begin + q]};
		rs_top_k_sort_by_index(scratch, n);
		for (size_t q = 0; q < n; q++)
		{
			t->neighbor_items[out] = scratch[q].index;
			t->neighbor_weights[out++] = scratch[q].score;
		}
		t->neighbor_ptr[i + 1] = out;
	}
}

/* Which items keep item j, and where in their ordered rows. */
typedef struct kept_by
{
	uint64_t   *ptr;			/* n_items + 1 */
	int32_t    *items;			/* per j ascending rank */
	float	   *weights;
	int32_t    *rank;
} kept_by;

static void
kept_by_free(kept_by *b, const rs_allocator *a)
{
	rs_free(a, b->ptr);
	rs_free(a, b->items);
	rs_free(a, b->weights);
	rs_free(a, b->rank);
}

/* The inverse of r's ordered rows, each list by ascending rank. */
static rs_status
invert(const rs_knn_result *r, int32_t n_items, size_t largest, const rs_allocator *a,
	   kept_by *b)
{
	uint64_t	n = r->neighbor_ptr[n_items];

	b->ptr = rs_alloc(a, sizeof(uint64_t) * ((size_t) n_items + 1));
	b->items = rs_alloc(a, sizeof(int32_t) * (n ? n : 1));
	b->weights = rs_alloc(a, sizeof(float) * (n ? n : 1));
	b->rank = rs_alloc(a, sizeof(int32_t) * (n ? n : 1));
	if (!b->ptr || !b->items || !b->weights || !b->rank)
		return RS_NO_MEMORY;
	memset(b->ptr, 0, sizeof(uint64_t) * ((size_t) n_items + 1));
	for (uint64_t p = 0; p < n; p++)
		b->ptr[r->neighbor_items[p] + 1]++;
	for (int32_t j = 0; j < n_items; j++)
		b->ptr[j + 1] += b->ptr[j];
	/* rank by rank, so that every list comes out in ascending rank */
	for (size_t q = 0; q < largest; q++)
		for (int32_t i = 0; i < n_items; i++)
			if (r->neighbor_ptr[i] + q < r->neighbor_ptr[i + 1])
			{
				uint64_t	p = r->neighbor_ptr[i] + q,
							at = b->ptr[r->neighbor_items[p]]++;

				b->items[at] = i;
				b->weights[at] = r->neighbor_weights[p];
				b->rank[at] = (int32_t) q;
			}
	for (int32_t j = n_items; j > 0; j--)
		b->ptr[j] = b->ptr[j - 1];
	b->ptr[0] = 0;
	return RS_OK;
}

/*
 * Mean NDCG@10 of the held-out pairs when every item keeps its first k
 * neighbours.  The score of item i is the sum of those weights over the
 * user's items (rs_knn_score_items), added here from the inverted lists:
 * each holds i at most once and the user's items come in ascending order,
 * as there, so each sum is the same double.  The held-out item's rank
 * counts the items the user has not that score higher, or as high with a
 * lower index (top_k.h); a score of 0 is no recommendation.  m is the
 * model of the measuring fit, for its ids and training items.
 */
static double
ranking_score(const rs_model *m, const kept_by *b, int32_t k, const rs_interaction_buffer *held,
			  double *sum, int32_t *touched, bool *seen)
{
	double		total = 0.0;

	for (size_t h = 0; h < held->count; h++)
	{
		int32_t		user = rs_model_user_index(m, held->users[h]),
					target = rs_model_item_index(m, held->items[h]);
		size_t		n_seen = 0,
					n_touched = 0,
					rank = 0;
		const int32_t *items;
		float		target_score;

		if (user < 0 || target < 0)
			continue;			/* the model cannot rank it: a miss */
		items = rs_seen_items(m, user, &n_seen);
		for (size_t s = 0; s < n_seen; s++)
		{
			int32_t		j = items[s];

			seen[j] = true;
			for (uint64_t p = b->ptr[j]; p < b->ptr[j + 1] && b->rank[p] < k; p++)
			{
				if (sum[b->items[p]] == 0.0)
					touched[n_touched++] = b->items[p];
				sum[b->items[p]] += (double) b->weights[p];
			}
		}
		target_score = (float) sum[target];
		for (size_t t = 0; t < n_touched && target_score > 0.0f; t++)
		{
			int32_t		i = touched[t];
			float		s = (float) sum[i];

			rank += !seen[i] && i != target && (s > target_score ||
												(s == target_score && i < target));
		}
		if (target_score > 0.0f && !seen[target] && rank < RS_TUNE_K)
			total += 1.0 / log2((double) rank + 2.0);
		for (size_t t = 0; t < n_touched; t++)
			sum[touched[t]] = 0.0;
		for (size_t s = 0; s < n_seen; s++)
			seen[items[s]] = false;
	}
	return held->count ? total / (double) held->count : 0.0;
}

/*
 * Scores each count on held, the best into *best; *tried how many.  r has
 * the neighbours of train at the largest count, and is reordered.
 */
static rs_status
score_counts(const rs_interactions *train, rs_knn_result *r, int largest, bool ratings,
			 const rs_interaction_buffer *held, const rs_runtime *rt, int *best,
			 double *best_score, int *tried)
{
	const rs_allocator *a = &rt->alloc;
	int32_t		n_items = train->n_items;
	uint64_t	n = r->neighbor_ptr[n_items];
	rs_knn_result t = {0};
	rs_model	measured;
	kept_by		b = {0};
	double	   *sum = NULL;
	int32_t    *touched = NULL;
	bool	   *seen = NULL;
	rs_scored  *scratch = rs_alloc(a, sizeof(rs_scored) * (size_t) counts[largest]);
	rs_status	status = scratch ? RS_OK : RS_NO_MEMORY;

	if (status == RS_OK)
		order_best_first(r, n_items, scratch);
	if (status == RS_OK && ratings)
	{
		t = *r;
		t.neighbor_ptr = rs_alloc(a, sizeof(uint64_t) * ((size_t) n_items + 1));
		t.neighbor_items = rs_alloc(a, sizeof(int32_t) * (n ? n : 1));
		t.neighbor_weights = rs_alloc(a, sizeof(float) * (n ? n : 1));
		if (!t.neighbor_ptr || !t.neighbor_items || !t.neighbor_weights)
			status = RS_NO_MEMORY;
	}
	else if (status == RS_OK)
	{
		sum = rs_alloc(a, sizeof(double) * (size_t) n_items);
		touched = rs_alloc(a, sizeof(int32_t) * (size_t) n_items);
		seen = rs_alloc(a, sizeof(bool) * (size_t) n_items);
		if (!sum || !touched || !seen)
			status = RS_NO_MEMORY;
		else
		{
			memset(sum, 0, sizeof(double) * (size_t) n_items);
			memset(seen, 0, sizeof(bool) * (size_t) n_items);
			status = invert(r, n_items, (size_t) counts[largest], a, &b);
		}
		/* the ids and training items alone: its rows are not in stored order */
		rs_knn_model(train, r, &measured);
	}
	*tried = 0;
	for (int c = 0; c <= largest && status == RS_OK; c++)
	{
		double		score;

		if (rt->should_stop && rt->should_stop(rt->arg))
		{
			status = RS_CANCELLED;
			break;
		}
		if (ratings)
		{
			rs_model	m;

			keep_first(r, n_items, (size_t) counts[c], scratch, &t);
			rs_knn_model(train, &t, &m);
			if ((status = rs_holdout_score(&m, held, true, a, &score)) != RS_OK)
				break;
		}
		else
			score = ranking_score(&measured, &b, counts[c], held, sum, touched, seen);
		if (*tried == 0 || score > *best_score)
		{
			*best = counts[c];
			*best_score = score;
		}
		(*tried)++;
	}
	rs_free(a, scratch);
	rs_free(a, t.neighbor_ptr);
	rs_free(a, t.neighbor_items);
	rs_free(a, t.neighbor_weights);
	kept_by_free(&b, a);
	rs_free(a, sum);
	rs_free(a, touched);
	rs_free(a, seen);
	return status;
}

rs_status
rs_knn_choose_neighbors(double *opt, const bool *given, const rs_interactions *d,
						const rs_runtime *rt, rs_report *note)
{
	const rs_allocator *a = &rt->alloc;
	bool		ratings = (int) opt[RS_KNN_FEEDBACK] == RS_KNN_FEEDBACK_EXPLICIT;
	rs_interaction_buffer rows = {0},
				held = {0};
	rs_interactions train = {0};
	rs_knn_result r = {0};
	rs_runtime	quiet = *rt;
	double		measure[RS_KNN_OPTION_COUNT],
				best_score = NAN,
				started = rs_now();
	int			largest = 0,
				best = (int) opt[RS_KNN_NEIGHBORS],
				tried = 0;
	rs_status	status;

	if (given[RS_KNN_NEIGHBORS] || d->n_items < 2)
		return RS_OK;
	while (largest + 1 < N_COUNTS &&
		   (size_t) counts[largest + 1] * (size_t) d->n_items <= MEASURED_ENTRIES)
		largest++;
	quiet.progress = NULL;		/* the measuring fit is not the fit */
	status = rs_holdout_split(d, ratings, 0, a, &rows, &held);
	if (status == RS_OK)
		status = rs_interactions_build(&rows, a, &train);
	rs_buffer_free(&rows, a);
	/* too little data to hold any out: keep the option's default */
	if (status == RS_OK && held.count > 0 && train.nnz > 0)
	{
		memcpy(measure, opt, sizeof(measure));
		measure[RS_KNN_NEIGHBORS] = counts[largest];
		status = rs_knn_fit(&train, measure, &quiet, &r);
		if (status == RS_OK)
		{
			rs_fp_scope scope;

			status = score_counts(&train, &r, largest, ratings, &held,
								  rs_fp_scope_begin(&scope, &quiet), &best, &best_score,
								  &tried);
			rs_fp_scope_end(&scope);
		}
		rs_knn_result_free(&r, a);
	}
	rs_interactions_free(&train, a);
	if (status == RS_OK && tried > 0)
	{
		opt[RS_KNN_NEIGHBORS] = best;
		snprintf(note->message, sizeof(note->message),
				 "neighbors %d chosen by the held-out %s %.4f of %zu %s, %d counts tried in %.3f s",
				 best, ratings ? "RMSE" : "NDCG@10", ratings ? -best_score : best_score,
				 held.count, ratings ? "ratings" : "users", tried, rs_now() - started);
	}
	rs_buffer_free(&held, a);
	return status;
}
