/*
 * tuning.c - validation split, validation score and candidate settings of
 * the "tune" option (tuning.h).
 */
#include "tuning.h"

#include "random.h"
#include "ranking_metrics.h"
#include "scoring.h"
#include "top_k.h"

#include <math.h>
#include <string.h>

rs_status
rs_holdout_split(const rs_interactions *d, bool ratings, uint64_t seed, const rs_allocator *a,
				 rs_interaction_buffer *train, rs_interaction_buffer *h)
{
	rs_random	rng = {seed * 0x9E3779B97F4A7C15ull + 1};
	size_t		eligible = 0,
				room;
	double		take_user;

	for (int32_t u = 0; u < d->n_users; u++)
		eligible += d->user_ptr[u + 1] - d->user_ptr[u] >= 3;
	take_user = eligible > RS_TUNE_USERS ? (double) RS_TUNE_USERS / (double) eligible : 1.0;
	room = ratings ? d->nnz / 8 + 64 : (eligible < RS_TUNE_USERS ? eligible : RS_TUNE_USERS) + 64;
	if (room > RS_TUNE_RATINGS)
		room = RS_TUNE_RATINGS;
	if (!rs_buffer_reserve(h, a, room) || !rs_buffer_reserve(train, a, d->nnz))
		return RS_NO_MEMORY;
	for (int32_t u = 0; u < d->n_users; u++)
	{
		size_t		begin = d->user_ptr[u],
					n = d->user_ptr[u + 1] - begin;
		/* ranking: one item of a sampled user; ratings: a tenth of a user's */
		bool		sampled = !ratings && n >= 3 && rs_random_uniform(&rng) < take_user;
		size_t		pick = sampled ? (size_t) (rs_random_next(&rng) % n) : n;

		for (size_t k = 0; k < n; k++)
		{
			int64_t		item = d->item_ids[d->user_items[begin + k]];
			float		value = d->user_values[begin + k];
			bool		hold = ratings ? n >= 3 && rs_random_uniform(&rng) < 0.1 : k == pick;

			if (!rs_buffer_append(hold && h->count < room ? h : train, a, d->user_ids[u], item,
								  value))
				return RS_NO_MEMORY;
		}
	}
	return RS_OK;
}

/* Users scored by one batch: about 64 MB of scores. */
static size_t
batch_users(int32_t n_items)
{
	size_t		n = ((size_t) 1 << 24) / ((size_t) n_items + 1);

	return n < 1 ? 1 : n > 256 ? 256 : n;
}

/*
 * Users are scored in batches, as a factor model's batch is one matrix
 * product where one user at a time would read every item's factors per
 * user.
 */
static rs_status
ranking_score(const rs_model *m, const rs_interaction_buffer *h, const rs_allocator *a, double *score)
{
	size_t		batch = batch_users(m->n_items);
	float	   *scores = rs_alloc(a, sizeof(float) * batch * ((size_t) m->n_items + 1));
	int32_t    *users = rs_alloc(a, sizeof(int32_t) * batch);
	size_t	   *pairs = rs_alloc(a, sizeof(size_t) * batch);
	rs_scored	best[RS_TUNE_K];
	int64_t		top[RS_TUNE_K];
	double		sum = 0.0;
	rs_status	status = scores && users && pairs ? RS_OK : RS_NO_MEMORY;

	for (size_t p = 0; p < h->count && status == RS_OK;)
	{
		size_t		n = 0;

		/* the next batch of pairs the model can rank; the others are misses */
		for (; p < h->count && n < batch; p++)
		{
			int32_t		user = rs_model_user_index(m, h->users[p]);

			if (user >= 0 && rs_model_item_index(m, h->items[p]) >= 0)
			{
				users[n] = user;
				pairs[n++] = p;
			}
		}
		if (n == 0 || (status = rs_score_items_batch(m, users, n, a, scores)) != RS_OK)
			continue;
		for (size_t r = 0; r < n && status == RS_OK; r++)
		{
			size_t		n_seen,
						count;
			const int32_t *seen = rs_seen_items(m, users[r], &n_seen);
			rs_ranking_metrics metrics;

			count = rs_top_k(scores + r * (size_t) m->n_items, m->n_items, seen, n_seen,
							 RS_TUNE_K, best);
			for (size_t k = 0; k < count; k++)
				top[k] = m->item_ids[best[k].index];
			status = rs_ranking_metrics_compute(top, count, &h->items[pairs[r]], 1, RS_TUNE_K,
												a, &metrics);
			sum += metrics.ndcg;
		}
	}
	rs_free(a, scores);
	rs_free(a, users);
	rs_free(a, pairs);
	*score = h->count ? sum / (double) h->count : 0.0;
	return status;
}

rs_status
rs_holdout_score(const rs_model *m, const rs_interaction_buffer *h, bool ratings, const rs_allocator *a,
				 double *score)
{
	double		sse = 0.0;
	size_t		n = 0;

	if (!ratings)
		return ranking_score(m, h, a, score);
	for (size_t p = 0; p < h->count; p++)
	{
		double		e = rs_predict(m, rs_model_user_index(m, h->users[p]),
								   rs_model_item_index(m, h->items[p])) - h->values[p];

		if (isfinite(e))
		{
			sse += e * e;
			n++;
		}
	}
	*score = n ? -sqrt(sse / (double) n) : -INFINITY;
	return RS_OK;
}

void
rs_tune_candidates(const rs_kind *k, const double *base, const bool *given, int trials,
				   uint64_t seed, double *out)
{
	rs_random	rng = {seed ^ 0x7E57ull};

	for (int t = 0; t < trials; t++)
		memcpy(out + (size_t) t * k->n_options, base, sizeof(double) * k->n_options);
	for (int d = 0; d < k->n_search; d++)
	{
		const rs_search_dim *dim = &k->search[d];
		const rs_option_spec *spec = &k->options[dim->option];
		int			others = trials - 1;
		int			order[64];
		double		low = dim->relative ? dim->low * base[dim->option] : dim->low,
					high = dim->relative ? dim->high * base[dim->option] : dim->high;

		if (given[dim->option] || others < 1 || !(low > 0.0))
			continue;
		/* one draw in each of `others` strata of the range, in a shuffled order */
		for (int t = 0; t < others; t++)
			order[t] = t;
		for (int t = others - 1; t > 0; t--)
		{
			int			j = (int) (rs_random_next(&rng) % (uint64_t) (t + 1));
			int			swap = order[t];

			order[t] = order[j];
			order[j] = swap;
		}
		for (int t = 0; t < others; t++)
		{
			double		at = (order[t] + rs_random_uniform(&rng)) / others;
			double		value = exp(log(low) + at * (log(high) - log(low)));

			if (spec->type == RS_OPT_INT)
				value = round(value);
			value = fmin(fmax(value, spec->min), spec->max);
			out[(size_t) (t + 1) * k->n_options + dim->option] = value;
		}
	}
}
