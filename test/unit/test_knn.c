/*
 * test_knn.c - item-kNN: neighbour lists against a brute-force computation
 * on dense matrices, the same result on any number of threads, ranking on
 * planted clustered data, the biases of ratings against an independent
 * computation, the scores against the formula (its deviation term divided
 * by sum s + lambda_w), predict, score_items and explain agreeing (a known user's
 * history to the bit), the same scores after encoding and decoding, ratings
 * that are biases alone predicted, unknown ids, degenerate data,
 * cancellation and running out of memory without leaks.
 */
#include "core/knn.h"
#include "core/random.h"
#include "core/tuning.h"

#include "unit.h"
#include "planted.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static rs_status
fit(const rs_interactions *d, const double *opt, int threads, host *h, counter *c,
	rs_knn_result *r)
{
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, threads);

	return rs_knn_fit(d, opt, &rt, r);
}

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_KNN_OPTION_COUNT; k++)
		opt[k] = rs_knn_option_specs[k].default_value;
}

static void
build(rs_interaction_buffer *buf, rs_interactions *d)
{
	if (rs_interactions_build(buf, &rs_malloc_allocator, d) != RS_OK)
	{
		fprintf(stderr, "cannot build the data\n");
		exit(2);
	}
	rs_buffer_free(buf, &rs_malloc_allocator);
}

static void
append(rs_interaction_buffer *buf, int64_t user, int64_t item, float value)
{
	if (!rs_buffer_append(buf, &rs_malloc_allocator, user, item, value))
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
}

/*
 * Random data with ties: integer ratings 1..5 (or all 1), item `items - 1`
 * a copy of item 0 (so the two have equal similarities to every other
 * item), and an item whose only user has nothing else.
 */
static void
make_random(rs_interactions *d, uint64_t seed, int users, int items, double density,
			bool ratings)
{
	rs_random	rng = {seed};
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < users; u++)
		for (int i = 0; i < items - 1; i++)
			if (rs_random_uniform(&rng) < density)
			{
				float		v = ratings ? (float) (1 + rs_random_next(&rng) % 5) : 1.0f;

				append(&buf, u, i, v);
				if (i == 0)
					append(&buf, u, items - 1, v);
			}
	append(&buf, users, items, ratings ? 3.0f : 1.0f);
	build(&buf, d);
}

/* Neighbour lists in CSR form, as the brute force computes them. */
typedef struct lists
{
	uint64_t   *ptr;
	int32_t    *items;
	float	   *weights;
	int			boundary_ties;	/* rows cut between two equal weights */
	int			cut;			/* rows with more candidates than neighbours */
} lists;

typedef struct candidate
{
	float		w;
	int32_t		j;
} candidate;

static int
best_first(const void *x, const void *y)
{
	const candidate *a = x,
			   *b = y;

	if (a->w != b->w)
		return a->w > b->w ? -1 : 1;
	return (a->j > b->j) - (a->j < b->j);
}

static int
ascending(const void *x, const void *y)
{
	const candidate *a = x,
			   *b = y;

	return (a->j > b->j) - (a->j < b->j);
}

/*
 * Every pair of items on dense n_users x n_items matrices, straight from
 * the definitions: O(n_items^2 n_users).
 */
static void
brute_force(const rs_interactions *d, const double *opt, lists *out)
{
	int			nu = d->n_users,
				ni = d->n_items;
	int			similarity = (int) opt[RS_KNN_SIMILARITY];
	int			k = (int) opt[RS_KNN_NEIGHBORS];
	double		shrinkage = opt[RS_KNN_SHRINKAGE];
	int			min_support = (int) opt[RS_KNN_MIN_SUPPORT];
	double	   *v = calloc((size_t) nu * ni, sizeof(double));
	bool	   *has = calloc((size_t) nu * ni, sizeof(bool));
	double	   *norm = calloc(ni, sizeof(double));
	int		   *count = calloc(ni, sizeof(int));
	candidate  *cand = malloc(sizeof(candidate) * ni);
	size_t		total = 0;

	out->ptr = calloc(ni + 1, sizeof(uint64_t));
	out->items = malloc(sizeof(int32_t) * ((size_t) ni * ni + 1));
	out->weights = malloc(sizeof(float) * ((size_t) ni * ni + 1));
	out->boundary_ties = out->cut = 0;
	for (int u = 0; u < nu; u++)
		for (size_t p = d->user_ptr[u]; p < d->user_ptr[u + 1]; p++)
		{
			v[(size_t) u * ni + d->user_items[p]] = d->user_values[p];
			has[(size_t) u * ni + d->user_items[p]] = true;
		}
	for (int u = 0; u < nu; u++)
	{
		double		sum = 0.0;
		int			n = 0;

		for (int i = 0; i < ni; i++)
			if (has[(size_t) u * ni + i])
			{
				sum += v[(size_t) u * ni + i];
				n++;
			}
		if (similarity == RS_KNN_ADJUSTED_COSINE)
			for (int i = 0; i < ni; i++)
				if (has[(size_t) u * ni + i])
					v[(size_t) u * ni + i] -= sum / n;
	}
	for (int i = 0; i < ni; i++)
	{
		for (int u = 0; u < nu; u++)
			if (has[(size_t) u * ni + i])
			{
				norm[i] += v[(size_t) u * ni + i] * v[(size_t) u * ni + i];
				count[i]++;
			}
		norm[i] = sqrt(norm[i]);
	}
	for (int i = 0; i < ni; i++)
	{
		int			nc = 0,
					keep;

		for (int j = 0; j < ni; j++)
		{
			double		dot = 0.0,
						s;
			int			n = 0;
			float		w;

			if (j == i)
				continue;
			for (int u = 0; u < nu; u++)
				if (has[(size_t) u * ni + i] && has[(size_t) u * ni + j])
				{
					dot += v[(size_t) u * ni + i] * v[(size_t) u * ni + j];
					n++;
				}
			if (n == 0 || n < min_support)
				continue;
			if (similarity == RS_KNN_JACCARD)
				s = (double) n / (count[i] + count[j] - n);
			else if (norm[i] * norm[j] > 0.0)
				s = dot / (norm[i] * norm[j]);
			else
				continue;
			w = (float) (s * n / (n + shrinkage));
			if (w > 0.0f)
				cand[nc++] = (candidate) {w, j};
		}
		qsort(cand, nc, sizeof(candidate), best_first);
		keep = nc < k ? nc : k;
		if (nc > k)
		{
			out->cut++;
			out->boundary_ties += cand[k - 1].w == cand[k].w;
		}
		qsort(cand, keep, sizeof(candidate), ascending);
		for (int t = 0; t < keep; t++)
		{
			out->items[total] = cand[t].j;
			out->weights[total++] = cand[t].w;
		}
		out->ptr[i + 1] = total;
	}
	free(v);
	free(has);
	free(norm);
	free(count);
	free(cand);
}

static void
free_lists(lists *l)
{
	free(l->ptr);
	free(l->items);
	free(l->weights);
}

/* Rows of r that differ from the brute force's, with the largest weight error. */
static int
compare(const rs_knn_result *r, const lists *b, int32_t n_items, double *max_error)
{
	int			wrong = 0;

	*max_error = 0.0;
	for (int32_t i = 0; i < n_items; i++)
	{
		bool		same = r->neighbor_ptr[i + 1] - r->neighbor_ptr[i] == b->ptr[i + 1] - b->ptr[i];

		for (uint64_t p = 0; same && p < b->ptr[i + 1] - b->ptr[i]; p++)
		{
			double		e = fabs((double) r->neighbor_weights[r->neighbor_ptr[i] + p] -
								 (double) b->weights[b->ptr[i] + p]);

			same = r->neighbor_items[r->neighbor_ptr[i] + p] == b->items[b->ptr[i] + p] &&
				e <= 1e-6 * fabs((double) b->weights[b->ptr[i] + p]);
			if (e > *max_error)
				*max_error = e;
		}
		wrong += !same;
	}
	return wrong;
}

/* What must hold of any fit: the CSR's shape, order, weights and no self. */
static bool
well_formed(const rs_knn_result *r, int32_t n_items, int neighbors)
{
	if (r->neighbor_ptr[0] != 0)
		return false;
	for (int32_t i = 0; i < n_items; i++)
	{
		uint64_t	b = r->neighbor_ptr[i],
					e = r->neighbor_ptr[i + 1];

		if (e < b || e - b > (uint64_t) neighbors)
			return false;
		for (uint64_t p = b; p < e; p++)
			if (r->neighbor_items[p] < 0 || r->neighbor_items[p] >= n_items ||
				r->neighbor_items[p] == i || !(r->neighbor_weights[p] > 0.0f) ||
				(p > b && r->neighbor_items[p] <= r->neighbor_items[p - 1]))
				return false;
	}
	return true;
}

/* The first field in which two results differ, or NULL if none does. */
static const char *
result_difference(const rs_knn_result *x, const rs_knn_result *y, const rs_interactions *d)
{
	int32_t		n_items = d->n_items;
	uint64_t	nnz = x->neighbor_ptr[n_items];

	if (memcmp(x->neighbor_ptr, y->neighbor_ptr, sizeof(uint64_t) * (n_items + 1)) != 0)
		return "neighbor_ptr";
	if (memcmp(x->neighbor_items, y->neighbor_items, sizeof(int32_t) * nnz) != 0)
		return "neighbor_items";
	if (memcmp(x->neighbor_weights, y->neighbor_weights, sizeof(float) * nnz) != 0)
		return "neighbor_weights";
	if ((x->item_bias == NULL) != (y->item_bias == NULL) ||
		(x->item_bias && memcmp(x->item_bias, y->item_bias, sizeof(float) * n_items) != 0))
		return "item_bias";
	if ((x->user_bias == NULL) != (y->user_bias == NULL) ||
		(x->user_bias && memcmp(x->user_bias, y->user_bias, sizeof(float) * d->n_users) != 0))
		return "user_bias";
	if (memcmp(x->item_popularity, y->item_popularity, sizeof(float) * n_items) != 0)
		return "item_popularity";
	if (memcmp(&x->global_mean, &y->global_mean, sizeof(double)) != 0 ||
		x->bias_shrinkage != y->bias_shrinkage || x->weight_shrinkage != y->weight_shrinkage ||
		x->similarity != y->similarity || x->feedback != y->feedback)
		return "the scalars";
	return NULL;
}

static const char *const similarity_names[] = {"cosine", "adjusted_cosine", "jaccard"};

/*
 * The baseline predictors of ratings straight from their definitions, in
 * double throughout, over the item-major copy of the data where the fit
 * goes user-major for mu and b_u:
 *
 *   mu  = the mean of every value
 *   b_i = sum_{u in U_i} (r_ui - mu) / (lambda + |U_i|)
 *   b_u = sum_{i in I_u} (r_ui - mu - b_i) / (lambda + |I_u|)
 */
typedef struct biases
{
	double		mu;
	double	   *item;			/* n_items */
	double	   *user;			/* n_users */
} biases;

static void
independent_biases(const rs_interactions *d, double lambda, biases *b)
{
	double	   *deviation = calloc(d->n_users + 1, sizeof(double));
	int		   *count = calloc(d->n_users + 1, sizeof(int));
	double		sum = 0.0;

	b->item = calloc(d->n_items + 1, sizeof(double));
	b->user = calloc(d->n_users + 1, sizeof(double));
	for (int32_t i = 0; i < d->n_items; i++)
		for (size_t q = d->item_ptr[i]; q < d->item_ptr[i + 1]; q++)
			sum += d->item_values[q];
	b->mu = d->nnz ? sum / d->nnz : 0.0;
	for (int32_t i = 0; i < d->n_items; i++)
	{
		double		s = 0.0;
		int			n = 0;

		for (size_t q = d->item_ptr[i]; q < d->item_ptr[i + 1]; q++, n++)
			s += d->item_values[q] - b->mu;
		b->item[i] = n ? s / (lambda + n) : 0.0;
		for (size_t q = d->item_ptr[i]; q < d->item_ptr[i + 1]; q++)
		{
			deviation[d->item_users[q]] += d->item_values[q] - b->mu - b->item[i];
			count[d->item_users[q]]++;
		}
	}
	for (int32_t u = 0; u < d->n_users; u++)
		b->user[u] = count[u] ? deviation[u] / (lambda + count[u]) : 0.0;
	free(deviation);
	free(count);
}

static void
free_biases(biases *b)
{
	free(b->item);
	free(b->user);
}

/* The largest difference between a fit's biases and the independent ones. */
static double
bias_error(const rs_knn_result *r, const rs_interactions *d, const biases *b)
{
	double		worst = fabs(r->global_mean - b->mu);

	for (int32_t i = 0; i < d->n_items; i++)
		worst = fmax(worst, fabs((double) r->item_bias[i] - b->item[i]));
	for (int32_t u = 0; u < d->n_users; u++)
		worst = fmax(worst, fabs((double) r->user_bias[u] - b->user[u]));
	return worst;
}

/* (1) the neighbour lists equal the brute force's, for every similarity */
static void
test_brute_force(void)
{
	static const struct
	{
		double		shrinkage;
		int			min_support;
		int			neighbors;
	}			settings[] = {{0, 1, 4}, {10, 2, 4}, {2.5, 3, 50}, {0, 1, 1}, {100, 1, 7}};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	int			ties = 0,
				cut = 0,
				lists_checked = 0,
				kept = 0;
	double		worst = 0.0,
				started = rs_now();

	for (int data = 0; data < 2; data++)
	{
		rs_interactions d;

		make_random(&d, 11 + data, 40, 30, 0.25, data == 0);
		for (int sim = 0; sim < 3; sim++)
			for (size_t s = 0; s < sizeof(settings) / sizeof(settings[0]); s++)
			{
				double		opt[RS_KNN_OPTION_COUNT];
				rs_knn_result r;
				lists		b;
				rs_status	status;
				double		error;
				int			wrong;

				default_options(opt);
				opt[RS_KNN_SIMILARITY] = sim;
				opt[RS_KNN_FEEDBACK] = data == 0 ? RS_KNN_FEEDBACK_EXPLICIT :
					RS_KNN_FEEDBACK_IMPLICIT;
				opt[RS_KNN_SHRINKAGE] = settings[s].shrinkage;
				opt[RS_KNN_MIN_SUPPORT] = settings[s].min_support;
				opt[RS_KNN_NEIGHBORS] = settings[s].neighbors;
				status = fit(&d, opt, 2, NULL, &c, &r);
				if (!CHECK(status == RS_OK, "fit: status %d", (int) status))
					continue;
				brute_force(&d, opt, &b);
				wrong = compare(&r, &b, d.n_items, &error);
				CHECK(wrong == 0, "%s, %s, shrinkage %g, min_support %d, neighbors %d: "
					  "%d of %d rows differ from the brute force",
					  data == 0 ? "ratings" : "binary", similarity_names[sim],
					  settings[s].shrinkage, settings[s].min_support, settings[s].neighbors,
					  wrong, d.n_items);
				CHECK(well_formed(&r, d.n_items, settings[s].neighbors), "malformed CSR");
				if (error > worst)
					worst = error;
				ties += b.boundary_ties;
				cut += b.cut;
				kept += (int) r.neighbor_ptr[d.n_items];
				lists_checked += d.n_items;
				/* the lonely last item has no neighbours, nor is anyone's */
				CHECK(r.neighbor_ptr[d.n_items] == r.neighbor_ptr[d.n_items - 1],
					  "an item without co-occurrence has neighbours");
				free_lists(&b);
				rs_knn_result_free(&r, &a);
			}
		rs_interactions_free(&d, &rs_malloc_allocator);
	}
	printf("brute force: %d lists (%d neighbours) match, %d cut at the top k, "
		   "%d of them between equal weights; largest weight error %.3g; %.3f s\n",
		   lists_checked, kept, cut, ties, worst, rs_now() - started);
	CHECK(ties > 0 && cut > 0, "the data has no ties at the cut (%d) or no cut (%d)", ties, cut);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* (2) the same bits on 1, 2 and 3 threads */
static void
test_threads(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interactions d;

	make_random(&d, 5, 300, 150, 0.08, true);
	for (int data = 0; data < 2; data++)
	{
		const rs_interactions *x = data == 0 ? &P.train : &d;

		for (int sim = 0; sim < 3; sim++)
		{
			double		opt[RS_KNN_OPTION_COUNT];
			rs_knn_result one,
						more;
			host		h;

			default_options(opt);
			opt[RS_KNN_SIMILARITY] = sim;
			opt[RS_KNN_FEEDBACK] = data == 1 ? RS_KNN_FEEDBACK_EXPLICIT : RS_KNN_FEEDBACK_IMPLICIT;
			opt[RS_KNN_NEIGHBORS] = 20;
			if (!CHECK(fit(x, opt, 1, NULL, &c, &one) == RS_OK, "fit on 1 thread"))
				continue;
			for (int threads = 2; threads <= 3; threads++)
			{
				const char *differs;

				h = new_host(0);
				if (!CHECK(fit(x, opt, threads, &h, &c, &more) == RS_OK, "fit on %d", threads))
					continue;
				differs = result_difference(&one, &more, x);
				CHECK(differs == NULL, "%s on %d threads differs from 1 in %s",
					  similarity_names[sim], threads, differs);
				CHECK(!h.wrong_thread && !c.wrong_thread, "a host callback on a worker");
				CHECK(h.reports == 1 && h.iteration[0] == 1 && h.seconds[0] >= 0.0,
					  "%d progress reports, the first iteration %d", h.reports, h.iteration[0]);
				rs_knn_result_free(&more, &a);
			}
			rs_knn_result_free(&one, &a);
		}
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* planted_auc scores one (user, item) at a time: keep the user's row of scores */
static float planted_scores[ITEMS];
static int32_t planted_user = -1;

static double
score_by_items(const rs_model *m, int32_t u, int32_t i)
{
	if (u != planted_user)
	{
		size_t		n = m->seen_ptr[u + 1] - m->seen_ptr[u];

		if (rs_knn_score_items(m, m->seen_items + m->seen_ptr[u],
							   m->seen_values + m->seen_ptr[u], n, &rs_malloc_allocator,
							   planted_scores) != RS_OK)
			exit(2);
		planted_user = u;
	}
	return planted_scores[i];
}

/* (3) planted clusters: the neighbours are of the item's class, users' items too */
static void
test_planted(void)
{
	double		opt[RS_KNN_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	host		h = new_host(0);
	rs_knn_result r;
	rs_model	m;
	rs_status	status;
	double		held_auc,
				class_auc;
	size_t		same_class = 0;
	bool		popularity = true,
				similar = true;
	float		scores[ITEMS];
	int			number[ITEMS];

	/* adjusted cosine is for ratings: every planted value is 1, centred to 0 */
	for (int sim = 0; sim < 3; sim += 2)
	{
		default_options(opt);
		opt[RS_KNN_SIMILARITY] = sim;
		h = new_host(0);
		status = fit(&P.train, opt, 2, &h, &c, &r);
		if (!CHECK(status == RS_OK, "fit: status %d", (int) status))
			return;
		rs_knn_model(&P.train, &r, &m);
		/* the class of a dense item is its number's, found from its id */
		same_class = 0;
		for (int i = 0; i < ITEMS; i++)
			number[rs_model_item_index(&m, item_id(i))] = i;
		for (int32_t i = 0; i < ITEMS; i++)
			for (uint64_t p = r.neighbor_ptr[i]; p < r.neighbor_ptr[i + 1]; p++)
				same_class += class_of_item(number[r.neighbor_items[p]]) ==
					class_of_item(number[i]);
		planted_user = -1;
		planted_auc(&m, score_by_items, &held_auc, &class_auc);
		printf("planted, %s: %zu neighbours (%.1f%% of the item's class) in %.3f s; "
			   "AUC of held-out positives %.4f, of unseen same-class items %.4f\n",
			   similarity_names[sim], (size_t) r.neighbor_ptr[ITEMS],
			   100.0 * same_class / r.neighbor_ptr[ITEMS], h.seconds[0], held_auc, class_auc);
		CHECK(r.neighbor_ptr[ITEMS] == (uint64_t) ITEMS * 50, "%zu neighbours, want 50 each",
			  (size_t) r.neighbor_ptr[ITEMS]);
		CHECK(held_auc > 0.9, "%s: held-out AUC %.4f, want > 0.9", similarity_names[sim],
			  held_auc);
		CHECK(class_auc > 0.9, "%s: same-class AUC %.4f, want > 0.9", similarity_names[sim],
			  class_auc);
		CHECK(same_class > 0.9 * r.neighbor_ptr[ITEMS], "%zu of %zu neighbours in class",
			  same_class, (size_t) r.neighbor_ptr[ITEMS]);
		CHECK(h.reports == 1 && !h.wrong_thread && !c.wrong_thread, "callbacks");

		if (sim == RS_KNN_COSINE)
		{
			/* the model view */
			CHECK(m.algorithm == RS_ALGO_KNN && m.n_users == USERS &&
				  m.n_items == ITEMS && m.n_interactions == P.train.nnz && m.factors == 0,
				  "model shape");
			CHECK(m.user_ids == P.train.user_ids && m.item_ids == P.train.item_ids &&
				  m.seen_ptr == (const uint64_t *) P.train.user_ptr &&
				  m.seen_items == P.train.user_items && m.seen_values == P.train.user_values &&
				  m.item_popularity == r.item_popularity && m.neighbor_ptr == r.neighbor_ptr &&
				  m.neighbor_items == r.neighbor_items &&
				  m.neighbor_weights == r.neighbor_weights,
				  "the model views the result and the data");
			CHECK(m.item_bias == NULL && m.user_bias == NULL && m.user_factors == NULL &&
				  m.item_factors == NULL && !rs_knn_explicit(&m) && r.item_bias == NULL &&
				  r.user_bias == NULL && r.global_mean == 1.0 &&
				  m.params.bias_regularization == 0.0f && m.params.regularization == 0.0f &&
				  r.bias_shrinkage == 0.0f && r.weight_shrinkage == 0.0f &&
				  r.similarity == RS_KNN_COSINE && r.feedback == RS_KNN_FEEDBACK_IMPLICIT,
				  "an implicit model has no biases");
			for (int32_t i = 0; i < ITEMS; i++)
				popularity &= r.item_popularity[i] ==
					(float) (P.train.item_ptr[i + 1] - P.train.item_ptr[i]);
			CHECK(popularity, "item popularity is not the number of training users");
			/* similar items are the stored neighbours */
			for (int32_t i = 0; i < ITEMS; i += 13)
			{
				size_t		nonzero = 0;

				rs_knn_similar(&m, i, scores);
				for (int32_t j = 0; j < ITEMS; j++)
					nonzero += scores[j] != 0.0f;
				for (uint64_t p = r.neighbor_ptr[i]; p < r.neighbor_ptr[i + 1]; p++)
					similar &= scores[r.neighbor_items[p]] == r.neighbor_weights[p];
				similar &= nonzero == r.neighbor_ptr[i + 1] - r.neighbor_ptr[i] &&
					scores[i] == 0.0f;
			}
			CHECK(similar, "rs_knn_similar is not the neighbour row");
		}
		rs_knn_result_free(&r, &a);
	}
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/*
 * (4) predict, score_items and explain agree for every pair, on ratings and
 * on binary data (score_items to the bit for a known user's history, as is
 * the b_u explain recomputes from it); the biases are the independent
 * ones; and the scores are the formula computed again from rs_knn_similar's
 * weights and those biases,
 *
 *   b_ui + sum s (r - b_uj) / (sum s + lambda_w), b_ui without neighbours,
 *
 * for known users and a newcomer.  The bias shrinkage varies with the
 * similarity, 0.7 having no exact float, and for each the weight shrinkage
 * lambda_w is 0 (Koren's plain mean: no 0 / 0 without neighbours), 1 (the
 * default) and 2.5.
 */
static void
test_agreement(void)
{
	static const double lambdas[] = {3, 0, 0.7};
	static const double weight_lambdas[] = {0, 1, 2.5};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	long		pairs = 0,
				nonzero = 0;
	double		worst_explain = 0.0,
				worst_bias = 0.0;

	for (int data = 0; data < 2; data++)
	{
		rs_interactions d;

		make_random(&d, 77 + data, 60, 45, 0.2, data == 0);
		for (int feedback = 0; feedback < 2; feedback++)
			for (int sim = 0; sim < 3; sim++)
				for (int w = 0; w < 3; w++)
				{
					double		lambda_w = weight_lambdas[w];
					double		opt[RS_KNN_OPTION_COUNT];
					rs_knn_result r;
					rs_model	m;
					float	   *scores = malloc(sizeof(float) * d.n_items);
					float	   *similar = malloc(sizeof(float) * d.n_items);
					double	   *contributions = malloc(sizeof(double) * d.n_items);
					bool		equal = true,
								explained = true,
								summed = true,
								same_bias = true;
					biases		b = {0.0, NULL, NULL};

					default_options(opt);
					opt[RS_KNN_SIMILARITY] = sim;
					opt[RS_KNN_FEEDBACK] = feedback;
					opt[RS_KNN_NEIGHBORS] = 6;
					opt[RS_KNN_SHRINKAGE] = 3;
					opt[RS_KNN_BIAS_SHRINKAGE] = lambdas[sim];
					opt[RS_KNN_WEIGHT_SHRINKAGE] = lambda_w;
					if (!CHECK(fit(&d, opt, 1, NULL, &c, &r) == RS_OK, "fit"))
						continue;
					rs_knn_model(&d, &r, &m);
					CHECK(rs_knn_explicit(&m) == (feedback == RS_KNN_FEEDBACK_EXPLICIT),
						  "feedback as the model tells it");
					if (!m.item_bias)
						CHECK(r.bias_shrinkage == 0.0f && r.weight_shrinkage == 0.0f &&
							  m.params.bias_regularization == 0.0f &&
							  m.params.regularization == 0.0f,
							  "an implicit model keeps no lambda");
					if (m.item_bias)
					{
						double		error;

						independent_biases(&d, lambdas[sim], &b);
						error = bias_error(&r, &d, &b);
						worst_bias = fmax(worst_bias, error);
						CHECK(error < 1e-6, "%s, lambda %g: biases off the definitions by %.3g",
							  similarity_names[sim], lambdas[sim], error);
						CHECK(m.item_bias == r.item_bias && m.user_bias == r.user_bias &&
							  m.global_mean == r.global_mean &&
							  m.params.bias_regularization == (float) lambdas[sim] &&
							  r.bias_shrinkage == (float) lambdas[sim] &&
							  m.params.regularization == (float) lambda_w &&
							  r.weight_shrinkage == (float) lambda_w,
							  "the explicit model views the biases, lambda and lambda_w");
					}
					for (int32_t u = 0; u < d.n_users; u++)
					{
						const int32_t *items = m.seen_items + m.seen_ptr[u];
						const float *values = m.seen_values + m.seen_ptr[u];
						size_t		n = m.seen_ptr[u + 1] - m.seen_ptr[u];

						if (!CHECK(rs_knn_score_items(&m, items, values, n, &a, scores) == RS_OK,
								   "score_items"))
							break;
						for (int32_t i = 0; i < d.n_items; i++)
						{
							double		p = rs_knn_predict(&m, u, i),
										baseline,
										total;

							equal &= (float) p == scores[i];
							rs_knn_explain(&m, items, values, n, i, contributions, &baseline);
							total = baseline;
							for (size_t k = 0; k < n; k++)
								total += contributions[k];
							explained &= fabs(total - p) <= 1e-6 * fmax(1.0, fabs(p));
							if (fabs(total - p) > worst_explain)
								worst_explain = fabs(total - p);
							/* explain's b_u, recomputed from the history, is the stored one */
							if (m.item_bias)
								same_bias &= baseline == m.global_mean + (double) m.user_bias[u] +
									(double) m.item_bias[i];
							/* the definitions again, from the similar-items row */
							rs_knn_similar(&m, i, similar);
							{
								double		weighted = 0.0,
											weights = 0.0,
											s;

								for (size_t k = 0; k < n; k++)
								{
									double		w = similar[items[k]];

									if (m.item_bias)
										w *= values[k] - (b.mu + b.user[u] + b.item[items[k]]);
									weighted += w;
									weights += similar[items[k]];
								}
								if (!m.item_bias)
									s = weighted;
								else
								{
									s = b.mu + b.user[u] + b.item[i];
									if (weights > 0.0)
										s += weighted / (weights + lambda_w);
								}
								summed &= fabs(s - p) <= 1e-6 * fmax(1.0, fabs(p));
							}
							pairs++;
							nonzero += baseline != p;
						}
					}
					CHECK(equal, "%s, %s, lambda_w %g: predict differs from score_items",
						  similarity_names[sim], feedback ? "explicit" : "implicit",
						  lambda_w);
					CHECK(explained, "%s, %s, lambda_w %g: explain does not add up to "
						  "predict", similarity_names[sim],
						  feedback ? "explicit" : "implicit", lambda_w);
					CHECK(summed, "%s, %s, lambda_w %g: predict is not the formula on "
						  "rs_knn_similar's row", similarity_names[sim],
						  feedback ? "explicit" : "implicit", lambda_w);
					CHECK(same_bias, "%s, lambda_w %g: explain's baseline is not mu + b_u + b_i "
						  "as stored", similarity_names[sim], lambda_w);

					/* a newcomer's history: every third item with made-up values */
					{
						int32_t    *items = malloc(sizeof(int32_t) * d.n_items);
						float	   *values = malloc(sizeof(float) * d.n_items);
						size_t		n = 0;
						bool		folded = true,
									formula = true;
						double		user_bias = 0.0;

						for (int32_t i = 0; i < d.n_items; i += 3)
						{
							items[n] = i;
							values[n++] = (float) (1 + i % 5);
						}
						/* the newcomer's b_u by its definition */
						if (m.item_bias)
						{
							for (size_t k = 0; k < n; k++)
								user_bias += values[k] - b.mu - b.item[items[k]];
							user_bias /= lambdas[sim] + n;
						}
						CHECK(rs_knn_score_items(&m, items, values, n, &a, scores) == RS_OK,
							  "score_items");
						for (int32_t i = 0; i < d.n_items; i++)
						{
							double		baseline,
										total,
										weighted = 0.0,
										weights = 0.0,
										s;

							rs_knn_explain(&m, items, values, n, i, contributions, &baseline);
							total = baseline;
							for (size_t k = 0; k < n; k++)
								total += contributions[k];
							folded &= fabs(total - scores[i]) <= 1e-6 * fmax(1.0, fabs(total));
							if (!m.item_bias)
								continue;
							rs_knn_similar(&m, i, similar);
							for (size_t k = 0; k < n; k++)
							{
								weighted += similar[items[k]] *
									(values[k] - (b.mu + user_bias + b.item[items[k]]));
								weights += similar[items[k]];
							}
							s = b.mu + user_bias + b.item[i] +
								(weights > 0.0 ? weighted / (weights + lambda_w) : 0.0);
							formula &= fabs(s - scores[i]) <= 1e-6 * fmax(1.0, fabs(s));
						}
						CHECK(folded, "lambda_w %g: a newcomer's scores differ from explain",
							  lambda_w);
						CHECK(formula, "%s, lambda_w %g: a newcomer's scores are not the formula",
							  similarity_names[sim], lambda_w);
						/* no history: zeros, or mu + b_i (b_u is 0) */
						CHECK(rs_knn_score_items(&m, items, values, 0, &a, scores) == RS_OK,
							  "empty");
						for (int32_t i = 0; i < d.n_items; i++)
							folded &= scores[i] ==
								(m.item_bias ? (float) (m.global_mean + (double) m.item_bias[i]) :
								 0.0f);
						CHECK(folded, "scores for an empty history");
						free(items);
						free(values);
					}
					free(scores);
					free(similar);
					free(contributions);
					free_biases(&b);
					rs_knn_result_free(&r, &a);
				}
		rs_interactions_free(&d, &rs_malloc_allocator);
	}
	printf("agreement: %ld pairs (%ld with neighbours in the history), predict == "
		   "score_items, explain off by at most %.3g; biases off the definitions by at "
		   "most %.3g\n", pairs, nonzero, worst_explain, worst_bias);
	CHECK(nonzero > pairs / 4, "only %ld of %ld pairs use a neighbour", nonzero, pairs);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/*
 * (4b) a known user's training history through rs_knn_score_items gives
 * rs_knn_predict's scores to the bit: the b_u it recomputes is the stored
 * one, whatever lambda (0.7 and 1e-3 have no exact float, 1e6 shrinks b_u
 * to almost nothing), and the deviation term is divided alike whatever
 * lambda_w (0, 1 and 2.5).
 */
static void
test_known_history(void)
{
	static const double lambdas[] = {3, 0, 0.7, 1e-3, 1e6};
	static const double weight_lambdas[] = {0, 1, 2.5};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interactions d;
	long		pairs = 0,
				differ = 0;

	make_random(&d, 21, 300, 150, 0.08, true);
	for (size_t l = 0; l < sizeof(lambdas) / sizeof(lambdas[0]); l++)
		for (int sim = 0; sim < 3; sim++)
			for (int w = 0; w < 3; w++)
			{
				double		lambda_w = weight_lambdas[w];
				double		opt[RS_KNN_OPTION_COUNT];
				rs_knn_result r;
				rs_model	m;
				float	   *scores = malloc(sizeof(float) * d.n_items);
				double	   *contributions = malloc(sizeof(double) * d.n_items);
				long		scored = 0,
							wrong = 0,
							biases_differ = 0;

				default_options(opt);
				opt[RS_KNN_SIMILARITY] = sim;
				opt[RS_KNN_FEEDBACK] = RS_KNN_FEEDBACK_EXPLICIT;
				opt[RS_KNN_NEIGHBORS] = 20;
				opt[RS_KNN_BIAS_SHRINKAGE] = lambdas[l];
				opt[RS_KNN_WEIGHT_SHRINKAGE] = lambda_w;
				if (!CHECK(fit(&d, opt, 2, NULL, &c, &r) == RS_OK, "fit"))
					continue;
				rs_knn_model(&d, &r, &m);
				CHECK(m.params.regularization == (float) lambda_w,
					  "lambda_w %g not in the model", lambda_w);
				for (int32_t u = 0; u < d.n_users; u++)
				{
					const int32_t *items = m.seen_items + m.seen_ptr[u];
					const float *values = m.seen_values + m.seen_ptr[u];
					size_t		n = m.seen_ptr[u + 1] - m.seen_ptr[u];
					double		baseline;

					if (!CHECK(rs_knn_score_items(&m, items, values, n, &a, scores) == RS_OK,
							   "score_items"))
						break;
					for (int32_t i = 0; i < d.n_items; i++, scored++)
					{
						float		p = (float) rs_knn_predict(&m, u, i);

						wrong += memcmp(&p, &scores[i], sizeof(float)) != 0;
					}
					/* the baseline explain gives holds b_u exactly as stored */
					rs_knn_explain(&m, items, values, n, u % d.n_items, contributions, &baseline);
					biases_differ += baseline != m.global_mean + (double) m.user_bias[u] +
						(double) m.item_bias[u % d.n_items];
				}
				CHECK(wrong == 0, "%s, lambda %g, lambda_w %g: %ld of %ld scores of known "
					  "histories differ from predict", similarity_names[sim], lambdas[l],
					  lambda_w, wrong, scored);
				CHECK(biases_differ == 0, "%s, lambda %g: %ld users' recomputed b_u differ from "
					  "the stored", similarity_names[sim], lambdas[l], biases_differ);
				pairs += scored;
				differ += wrong;
				free(scores);
				free(contributions);
				rs_knn_result_free(&r, &a);
			}
	rs_interactions_free(&d, &rs_malloc_allocator);
	printf("known histories: %ld scores through score_items, %ld differing from predict\n",
		   pairs, differ);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/*
 * (4c) encoding and decoding keeps every score: predict, score_items and
 * explain of the decoded model are the bits of the model in memory, for
 * ratings (both biases stored as optional sections, lambda and lambda_w in
 * the header's params) and for preferences (no bias sections written, both
 * lambdas 0).
 */
static void
test_codec_round_trip(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interactions d;

	make_random(&d, 31, 80, 50, 0.2, true);
	for (int feedback = 0; feedback < 2; feedback++)
	{
		double		opt[RS_KNN_OPTION_COUNT];
		rs_knn_result r;
		rs_model	m,
					back;
		size_t		size;
		void	   *buf;
		const char *reason;
		float	   *scores = malloc(sizeof(float) * d.n_items),
				   *scores_back = malloc(sizeof(float) * d.n_items);
		double	   *contributions = malloc(sizeof(double) * d.n_items),
				   *contributions_back = malloc(sizeof(double) * d.n_items);
		long		differ = 0,
					pairs = 0;

		default_options(opt);
		opt[RS_KNN_FEEDBACK] = feedback;
		opt[RS_KNN_SIMILARITY] = RS_KNN_ADJUSTED_COSINE;
		opt[RS_KNN_NEIGHBORS] = 8;
		opt[RS_KNN_BIAS_SHRINKAGE] = 0.7;
		/* no exact float, and not the default: the decoded model must carry it */
		opt[RS_KNN_WEIGHT_SHRINKAGE] = 0.3;
		if (!CHECK(fit(&d, opt, 1, NULL, &c, &r) == RS_OK, "fit"))
			continue;
		rs_knn_model(&d, &r, &m);
		size = rs_model_encoded_size(&m);
		buf = malloc(size);
		if (!CHECK(size > 0 && buf, "encoded size %zu", size))
			continue;
		rs_model_encode(&m, buf);
		unit_check_rebase(buf, size, "knn");
		reason = unit_decode(buf, size, &back);
		if (!CHECK(reason == NULL, "%s model not decoded: %s",
				   feedback ? "explicit" : "implicit", reason))
		{
			free(buf);
			continue;
		}
		CHECK(rs_knn_explicit(&back) == (feedback == RS_KNN_FEEDBACK_EXPLICIT) &&
			  back.global_mean == m.global_mean &&
			  back.params.bias_regularization == m.params.bias_regularization &&
			  back.params.regularization == m.params.regularization,
			  "decoded: feedback, mu, lambda or lambda_w changed");
		if (feedback == RS_KNN_FEEDBACK_EXPLICIT)
			CHECK(back.item_bias && back.user_bias &&
				  memcmp(back.item_bias, r.item_bias, sizeof(float) * d.n_items) == 0 &&
				  memcmp(back.user_bias, r.user_bias, sizeof(float) * d.n_users) == 0 &&
				  back.params.bias_regularization == 0.7f &&
				  back.params.regularization == 0.3f,
				  "decoded explicit model: biases, lambda or lambda_w lost");
		else
			CHECK(back.item_bias == NULL && back.user_bias == NULL &&
				  back.params.bias_regularization == 0.0f && back.params.regularization == 0.0f,
				  "decoded implicit model has biases or lambdas");

		for (int32_t u = -1; u < d.n_users; u++)
		{
			const int32_t *items = u >= 0 ? m.seen_items + m.seen_ptr[u] : NULL;
			const float *values = u >= 0 ? m.seen_values + m.seen_ptr[u] : NULL;
			size_t		n = u >= 0 ? m.seen_ptr[u + 1] - m.seen_ptr[u] : 0;

			if (!CHECK(rs_knn_score_items(&m, items, values, n, &a, scores) == RS_OK &&
					   rs_knn_score_items(&back, items, values, n, &a, scores_back) == RS_OK,
					   "score_items"))
				break;
			differ += memcmp(scores, scores_back, sizeof(float) * d.n_items) != 0;
			for (int32_t i = -1; i < d.n_items; i++, pairs++)
			{
				double		p = rs_knn_predict(&m, u, i),
							p_back = rs_knn_predict(&back, u, i),
							baseline,
							baseline_back;

				rs_knn_explain(&m, items, values, n, i, contributions, &baseline);
				rs_knn_explain(&back, items, values, n, i, contributions_back, &baseline_back);
				differ += memcmp(&p, &p_back, sizeof(double)) != 0 ||
					memcmp(&baseline, &baseline_back, sizeof(double)) != 0 ||
					(n > 0 && memcmp(contributions, contributions_back, sizeof(double) * n) != 0);
				/* and the decoded model's known histories are its predictions */
				if (i >= 0)
				{
					float		f = (float) p_back;

					differ += u >= 0 && memcmp(&f, &scores_back[i], sizeof(float)) != 0;
				}
			}
		}
		CHECK(differ == 0, "%s: %ld of %ld scores change through the codec",
			  feedback ? "explicit" : "implicit", differ, pairs);
		printf("codec round trip, %s: %zu bytes, %ld pairs scored identically\n",
			   feedback ? "explicit" : "implicit", size, pairs);
		free(buf);
		free(scores);
		free(scores_back);
		free(contributions);
		free(contributions_back);
		rs_knn_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/*
 * (4d) ratings that are exactly mu + b_u + b_i, no interaction at all: the
 * baseline carries them, and what shrinkage and the one-pass estimate miss
 * of it the neighbours give back as the user's deviations, so held-out
 * pairs are predicted with an error small beside the ratings' spread.
 */
static void
test_additive(void)
{
	enum
	{
		A_USERS = 400, A_ITEMS = 80, A_HELD = 600
	};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_random	rng = {2024};
	rs_interaction_buffer buf;
	rs_interactions d;
	double		user_bias[A_USERS],
				item_bias[A_ITEMS],
				mean = 0.0,
				spread = 0.0;
	int			held_user[A_HELD],
				held_item[A_HELD],
				held = 0;

	for (int u = 0; u < A_USERS; u++)
		user_bias[u] = 2.0 * rs_random_uniform(&rng) - 1.0;
	for (int i = 0; i < A_ITEMS; i++)
		item_bias[i] = 2.0 * rs_random_uniform(&rng) - 1.0;
	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < A_USERS; u++)
		for (int i = 0; i < A_ITEMS; i++)
			if (rs_random_uniform(&rng) < 0.25)
			{
				/* every tenth pair held out, while there is room */
				if (held < A_HELD && rs_random_next(&rng) % 10 == 0)
				{
					held_user[held] = u;
					held_item[held++] = i;
				}
				else
					append(&buf, u, i, (float) (3.0 + user_bias[u] + item_bias[i]));
			}
	build(&buf, &d);
	for (int h = 0; h < held; h++)
		mean += 3.0 + user_bias[held_user[h]] + item_bias[held_item[h]];
	mean /= held;
	for (int h = 0; h < held; h++)
		spread += pow(3.0 + user_bias[held_user[h]] + item_bias[held_item[h]] - mean, 2);
	spread = sqrt(spread / held);

	for (int sim = 0; sim < 3; sim++)
	{
		double		opt[RS_KNN_OPTION_COUNT];
		rs_knn_result r;
		rs_model	m;
		double		error = 0.0,
					baseline_error = 0.0;

		default_options(opt);
		opt[RS_KNN_SIMILARITY] = sim;
		opt[RS_KNN_FEEDBACK] = RS_KNN_FEEDBACK_EXPLICIT;
		if (!CHECK(fit(&d, opt, 2, NULL, &c, &r) == RS_OK, "fit"))
			continue;
		rs_knn_model(&d, &r, &m);
		for (int h = 0; h < held; h++)
		{
			int32_t		u = rs_model_user_index(&m, held_user[h]),
						i = rs_model_item_index(&m, held_item[h]);
			double		truth = 3.0 + user_bias[held_user[h]] + item_bias[held_item[h]];

			error += pow(rs_knn_predict(&m, u, i) - truth, 2);
			baseline_error += pow(m.global_mean + m.user_bias[u] + m.item_bias[i] - truth, 2);
		}
		error = sqrt(error / held);
		baseline_error = sqrt(baseline_error / held);
		printf("additive ratings, %s: RMSE %.4f on %d held-out pairs (baseline alone %.4f, "
			   "ratings' spread %.4f)\n", similarity_names[sim], error, held, baseline_error,
			   spread);
		CHECK(error < 0.1 && error < 0.2 * spread, "%s: RMSE %.4f on additive ratings, "
			  "spread %.4f", similarity_names[sim], error, spread);
		rs_knn_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* (5) unknown users and items */
static void
test_unknown(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interactions d;

	make_random(&d, 3, 30, 20, 0.3, true);
	for (int feedback = 0; feedback < 2; feedback++)
	{
		double		opt[RS_KNN_OPTION_COUNT];
		rs_knn_result r;
		rs_model	m;
		double		contributions[4],
					baseline;
		int32_t		items[2] = {0, 3};
		float		values[2] = {4, 2};
		double		mean = 0.0;

		default_options(opt);
		opt[RS_KNN_FEEDBACK] = feedback;
		if (!CHECK(fit(&d, opt, 1, NULL, &c, &r) == RS_OK, "fit"))
			continue;
		rs_knn_model(&d, &r, &m);
		for (size_t p = 0; p < d.nnz; p++)
			mean += d.user_values[p];
		mean /= d.nnz;
		if (feedback == RS_KNN_FEEDBACK_IMPLICIT)
		{
			CHECK(isnan(rs_knn_predict(&m, -1, 2)), "implicit, unknown user: not NaN");
			CHECK(isnan(rs_knn_predict(&m, 2, -1)), "implicit, unknown item: not NaN");
			CHECK(isnan(rs_knn_predict(&m, -1, -1)), "implicit, both unknown: not NaN");
			rs_knn_explain(&m, items, values, 2, -1, contributions, &baseline);
			CHECK(isnan(baseline) && contributions[0] == 0.0 && contributions[1] == 0.0,
				  "implicit, explain an unknown item");
		}
		else
		{
			bool		known_items = true,
						known_users = true;
			biases		b;
			double		history_bias;

			/* an unknown user has b_u = 0: mu + b_i */
			independent_biases(&d, opt[RS_KNN_BIAS_SHRINKAGE], &b);
			for (int32_t i = 0; i < d.n_items; i++)
				known_items &= fabs(r.item_bias[i] - b.item[i]) < 1e-6 &&
					rs_knn_predict(&m, -1, i) == r.global_mean + (double) r.item_bias[i];
			CHECK(known_items, "explicit, unknown user: not mu + b_i");
			CHECK(fabs(r.global_mean - mean) < 1e-12 && m.global_mean == r.global_mean,
				  "global mean %g, want %g", r.global_mean, mean);
			/* an unknown item has b_i = 0: mu + b_u; both unknown, mu */
			for (int32_t u = 0; u < d.n_users; u++)
				known_users &= fabs(r.user_bias[u] - b.user[u]) < 1e-6 &&
					rs_knn_predict(&m, u, -1) == r.global_mean + (double) r.user_bias[u];
			CHECK(known_users, "explicit, unknown item: not mu + b_u");
			CHECK(rs_knn_predict(&m, -1, -1) == r.global_mean,
				  "explicit, both unknown: not the global mean");
			/* explain's b_u is the history's: (4 - mu - b_0 + 2 - mu - b_3) / (lambda + 2) */
			history_bias = (4.0 - b.mu - b.item[0] + 2.0 - b.mu - b.item[3]) /
				(opt[RS_KNN_BIAS_SHRINKAGE] + 2);
			rs_knn_explain(&m, items, values, 2, -1, contributions, &baseline);
			CHECK(fabs(baseline - (b.mu + history_bias)) < 1e-6 && contributions[0] == 0.0 &&
				  contributions[1] == 0.0, "explicit, explain an unknown item: baseline %g, "
				  "want mu + b_u = %g", baseline, b.mu + history_bias);
			CHECK(m.item_bias == r.item_bias && m.user_bias == r.user_bias &&
				  m.params.bias_regularization == 3.0f && m.params.regularization == 1.0f &&
				  r.weight_shrinkage == 1.0f,
				  "explicit: the model's biases are the fit's, its lambdas the defaults");
			free_biases(&b);
		}
		rs_knn_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* A fit on the planted data with options opt (ctx), freed if it succeeds. */
static rs_status
fit_and_free(void *ctx, int threads, host *h, counter *c)
{
	rs_knn_result r;
	rs_status	status = fit(&P.train, ctx, threads, h, c, &r);

	if (status == RS_OK)
		rs_knn_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, c, NULL});
	return status;
}

/* (6) a cancel at every poll, and every allocation failing in turn */
static void
test_cancel_and_memory(void)
{
	double		opt[RS_KNN_OPTION_COUNT];
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_knn_result r;
	int			polls;
	long		failures = 0;

	default_options(opt);
	polls = unit_cancel_at_every_poll("KNN", fit_and_free, unit_stops_at_once, opt, ITEMS / 8,
									  3, 3);
	printf("cancel: each of %d polls on 1 thread stops the fit\n", polls);

	/* every allocation failing in turn, for each similarity (each allocates its own) */
	for (int sim = 0; sim < 3; sim++)
	{
		char		what[64];

		default_options(opt);
		opt[RS_KNN_SIMILARITY] = sim;
		opt[RS_KNN_FEEDBACK] = sim == RS_KNN_JACCARD ? RS_KNN_FEEDBACK_IMPLICIT :
			RS_KNN_FEEDBACK_EXPLICIT;
		snprintf(what, sizeof(what), "KNN %s", similarity_names[sim]);
		failures += unit_fail_each_allocation(what, fit_and_free, opt, 2, 9);
	}

	/* scoring's one allocation */
	if (CHECK(fit(&P.train, opt, 1, NULL, &c, &r) == RS_OK, "fit"))
	{
		rs_model	m;
		float		scores[ITEMS];

		rs_knn_model(&P.train, &r, &m);
		c.calls = 0;
		c.fail_at = 0;
		CHECK(rs_knn_score_items(&m, m.seen_items, m.seen_values, 3, &a, scores) == RS_NO_MEMORY,
			  "score_items without memory");
		c.fail_at = -1;
		rs_knn_result_free(&r, &a);
	}
	printf("out of memory: %ld failing allocations, none leaked\n", failures);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* (7) degenerate data */
static void
test_degenerate(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer buf;
	rs_interactions d;
	rs_knn_result r;
	rs_model	m;
	double		opt[RS_KNN_OPTION_COUNT];
	float		scores[40];
	rs_status	status;

	/* a single item: nobody has neighbours */
	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < 10; u++)
		append(&buf, u, 5, (float) (1 + u % 3));
	build(&buf, &d);
	for (int feedback = 0; feedback < 2; feedback++)
		for (int sim = 0; sim < 3; sim++)
		{
			default_options(opt);
			opt[RS_KNN_FEEDBACK] = feedback;
			opt[RS_KNN_SIMILARITY] = sim;
			status = fit(&d, opt, 3, NULL, &c, &r);
			if (!CHECK(status == RS_OK, "a single item: status %d", (int) status))
				continue;
			rs_knn_model(&d, &r, &m);
			CHECK(r.neighbor_ptr[0] == 0 && r.neighbor_ptr[1] == 0, "a single item has neighbours");
			CHECK(r.item_popularity[0] == 10.0f, "popularity %g", r.item_popularity[0]);

			/*
			 * mu is the mean of 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 1.9, and b_i
			 * is 0; user 3 rated 1: b_u = (1 - 1.9) / (3 + 1) = -0.225.
			 */
			CHECK(feedback ? fabs(rs_knn_predict(&m, 3, 0) - 1.675) < 1e-6 :
				  rs_knn_predict(&m, 3, 0) == 0.0,
				  "a single item: predict %g", rs_knn_predict(&m, 3, 0));
			status = rs_knn_score_items(&m, m.seen_items + m.seen_ptr[3],
										m.seen_values + m.seen_ptr[3], 1, &a, scores);
			CHECK(status == RS_OK && scores[0] == (float) rs_knn_predict(&m, 3, 0),
				  "a single item: score %g", scores[0]);
			rs_knn_result_free(&r, &a);
		}
	rs_interactions_free(&d, &rs_malloc_allocator);

	/* one user of every item, the others of two each, a lonely user-item pair */
	memset(&buf, 0, sizeof(buf));
	for (int i = 0; i < 20; i++)
		append(&buf, 0, i, (float) (1 + i % 5));
	for (int u = 1; u < 30; u++)
	{
		append(&buf, u, u % 20, 4.0f);
		append(&buf, u, (u * 7 + 3) % 20, 2.0f);
	}
	append(&buf, 99, 99, 5.0f);
	build(&buf, &d);
	for (int sim = 0; sim < 3; sim++)
	{
		lists		b;
		double		error;
		bool		finite = true;

		default_options(opt);
		opt[RS_KNN_SIMILARITY] = sim;
		opt[RS_KNN_FEEDBACK] = RS_KNN_FEEDBACK_EXPLICIT;
		opt[RS_KNN_NEIGHBORS] = 5;
		status = fit(&d, opt, 2, NULL, &c, &r);
		if (!CHECK(status == RS_OK, "a user of every item: status %d", (int) status))
			continue;
		brute_force(&d, opt, &b);
		CHECK(compare(&r, &b, d.n_items, &error) == 0, "%s: a user of every item: "
			  "not the brute force", similarity_names[sim]);
		CHECK(r.neighbor_ptr[21] == r.neighbor_ptr[20], "the lonely item has neighbours");
		rs_knn_model(&d, &r, &m);
		for (int32_t u = 0; u < d.n_users; u++)
			for (int32_t i = 0; i < d.n_items; i++)
				finite &= isfinite(rs_knn_predict(&m, u, i));
		CHECK(finite, "a prediction is not finite");
		CHECK(rs_knn_predict(&m, d.n_users - 1, 0) ==
			  r.global_mean + (double) r.user_bias[d.n_users - 1] + (double) r.item_bias[0],
			  "a user with no neighbours of the item: not the baseline");
		free_lists(&b);
		rs_knn_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);

	/* every user has one item: no co-occurrence at all */
	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < 40; u++)
		append(&buf, u, u % 8, (float) (1 + u % 5));
	build(&buf, &d);
	for (int feedback = 0; feedback < 2; feedback++)
	{
		default_options(opt);
		opt[RS_KNN_FEEDBACK] = feedback;
		status = fit(&d, opt, 2, NULL, &c, &r);
		if (!CHECK(status == RS_OK, "no co-occurrence: status %d", (int) status))
			continue;
		rs_knn_model(&d, &r, &m);
		CHECK(r.neighbor_ptr[d.n_items] == 0, "no co-occurrence, yet %zu neighbours",
			  (size_t) r.neighbor_ptr[d.n_items]);
		CHECK(rs_knn_predict(&m, 0, 3) ==
			  (feedback ? r.global_mean + (double) r.user_bias[0] + (double) r.item_bias[3] : 0.0),
			  "no co-occurrence: predict %g", rs_knn_predict(&m, 0, 3));
		rs_knn_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);

	/* no data at all */
	memset(&buf, 0, sizeof(buf));
	if (rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK)
	{
		default_options(opt);
		opt[RS_KNN_FEEDBACK] = RS_KNN_FEEDBACK_EXPLICIT;
		status = fit(&d, opt, 4, NULL, &c, &r);
		if (CHECK(status == RS_OK, "no data: status %d", (int) status))
		{
			CHECK(r.neighbor_ptr[0] == 0 && r.global_mean == 0.0, "no data");
			rs_knn_result_free(&r, &a);
		}
		rs_interactions_free(&d, &rs_malloc_allocator);
	}
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/*
 * (8) A larger sparse data set, whose items the workers take in chunks in
 * no fixed order: 2 threads give the 1-thread result to the bit, in every
 * array (explicit feedback, so that the biases are there too).
 */
static void
test_threads_large(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer buf;
	rs_interactions d;
	rs_random	rng = {99};
	double		opt[RS_KNN_OPTION_COUNT];
	rs_knn_result one,
				two;
	const char *differs = "(no 2-thread fit)";
	double		started = rs_now();

	/* 20000 users, 5000 items, a skewed popularity: ~40 items a user, rated 1..5 */
	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < 20000; u++)
	{
		int			n = 10 + (int) (rs_random_next(&rng) % 60);

		for (int t = 0; t < n; t++)
		{
			double		x = rs_random_uniform(&rng);

			append(&buf, u, (int64_t) (5000 * x * x), (float) (1 + rs_random_next(&rng) % 5));
		}
	}
	build(&buf, &d);
	default_options(opt);
	opt[RS_KNN_FEEDBACK] = RS_KNN_FEEDBACK_EXPLICIT;
	if (CHECK(fit(&d, opt, 1, NULL, &c, &one) == RS_OK, "fit on 1 thread"))
	{
		/* not a trivial result: each item co-occurs with far more than its 50 */
		CHECK(well_formed(&one, d.n_items, 50) && one.item_bias && one.user_bias &&
			  one.neighbor_ptr[d.n_items] == (uint64_t) 50 * d.n_items,
			  "1 thread: %zu neighbours for %d items", (size_t) one.neighbor_ptr[d.n_items],
			  d.n_items);
		if (CHECK(fit(&d, opt, 2, NULL, &c, &two) == RS_OK, "fit on 2 threads"))
		{
			differs = result_difference(&one, &two, &d);
			CHECK(differs == NULL, "%d items: 2 threads differ from 1 in %s", d.n_items,
				  differs);
			rs_knn_result_free(&two, &a);
		}
		printf("threads, larger data: %d users, %d items, %zu interactions, %zu neighbours; "
			   "2 threads differ from 1 in %s; %.2f s\n", d.n_users, d.n_items, d.nnz,
			   (size_t) one.neighbor_ptr[d.n_items], differs ? differs : "nothing",
			   rs_now() - started);
		rs_knn_result_free(&one, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* The option table: names in enum order, and the documented ranges. */
static void
test_options(void)
{
	static const char *const names[RS_KNN_OPTION_COUNT] = {
		"similarity", "feedback", "neighbors", "shrinkage", "min_support", "bias_shrinkage",
		"weight_shrinkage", "threads", "verbose"
	};
	const rs_option_spec *s = rs_knn_option_specs;
	bool		named = true;

	for (int k = 0; k < RS_KNN_OPTION_COUNT; k++)
		named &= s[k].name && strcmp(s[k].name, names[k]) == 0;
	CHECK(named, "option names are not in enum order");
	CHECK(s[RS_KNN_SIMILARITY].type == RS_OPT_CHOICE &&
		  s[RS_KNN_SIMILARITY].default_value == RS_KNN_COSINE &&
		  strcmp(s[RS_KNN_SIMILARITY].choices[RS_KNN_COSINE], "cosine") == 0 &&
		  strcmp(s[RS_KNN_SIMILARITY].choices[RS_KNN_ADJUSTED_COSINE], "adjusted_cosine") == 0 &&
		  strcmp(s[RS_KNN_SIMILARITY].choices[RS_KNN_JACCARD], "jaccard") == 0 &&
		  s[RS_KNN_SIMILARITY].choices[3] == NULL, "similarity choices");
	CHECK(s[RS_KNN_FEEDBACK].type == RS_OPT_CHOICE &&
		  s[RS_KNN_FEEDBACK].default_value == RS_KNN_FEEDBACK_IMPLICIT &&
		  strcmp(s[RS_KNN_FEEDBACK].choices[RS_KNN_FEEDBACK_IMPLICIT], "implicit") == 0 &&
		  strcmp(s[RS_KNN_FEEDBACK].choices[RS_KNN_FEEDBACK_EXPLICIT], "explicit") == 0 &&
		  s[RS_KNN_FEEDBACK].choices[2] == NULL, "feedback choices");
	CHECK(s[RS_KNN_NEIGHBORS].type == RS_OPT_INT && s[RS_KNN_NEIGHBORS].default_value == 50 &&
		  s[RS_KNN_NEIGHBORS].min == 1 && s[RS_KNN_NEIGHBORS].max == 10000, "neighbors");
	CHECK(s[RS_KNN_SHRINKAGE].type == RS_OPT_REAL && s[RS_KNN_SHRINKAGE].default_value == 10 &&
		  s[RS_KNN_SHRINKAGE].min == 0 && !s[RS_KNN_SHRINKAGE].min_exclusive, "shrinkage");
	CHECK(s[RS_KNN_MIN_SUPPORT].type == RS_OPT_INT && s[RS_KNN_MIN_SUPPORT].default_value == 1 &&
		  s[RS_KNN_MIN_SUPPORT].min == 1, "min_support");
	CHECK(s[RS_KNN_BIAS_SHRINKAGE].type == RS_OPT_REAL &&
		  s[RS_KNN_BIAS_SHRINKAGE].default_value == 3 && s[RS_KNN_BIAS_SHRINKAGE].min == 0 &&
		  !s[RS_KNN_BIAS_SHRINKAGE].min_exclusive && s[RS_KNN_BIAS_SHRINKAGE].max == 1e9,
		  "bias_shrinkage");
	CHECK(RS_KNN_WEIGHT_SHRINKAGE == RS_KNN_BIAS_SHRINKAGE + 1 &&
		  s[RS_KNN_WEIGHT_SHRINKAGE].type == RS_OPT_REAL &&
		  s[RS_KNN_WEIGHT_SHRINKAGE].default_value == 1 &&
		  s[RS_KNN_WEIGHT_SHRINKAGE].min == 0 && !s[RS_KNN_WEIGHT_SHRINKAGE].min_exclusive &&
		  s[RS_KNN_WEIGHT_SHRINKAGE].max == 1e9 && s[RS_KNN_WEIGHT_SHRINKAGE].choices == NULL,
		  "weight_shrinkage");
	CHECK(s[RS_KNN_THREADS].default_value == 0 && s[RS_KNN_VERBOSE].type == RS_OPT_BOOL,
		  "threads, verbose");
}

/*
 * Clustered data of `classes` item classes over ITEMS items: a user of
 * class c has each item of c with probability in_class, any other with
 * off_class.
 */
static void
clustered(int classes, double in_class, double off_class, uint64_t seed, rs_interactions *d)
{
	rs_random	rng = {seed};
	rs_interaction_buffer buf = {0};

	for (int u = 0; u < 1000; u++)
		for (int i = 0; i < ITEMS; i++)
			if (rs_random_uniform(&rng) < (i % classes == u % classes ? in_class : off_class))
				append(&buf, u, i, 1.0f);
	build(&buf, d);
}

static rs_status
choose(const rs_interactions *d, double *opt, int threads, host *h, counter *c, rs_report *note)
{
	bool		given[RS_KNN_OPTION_COUNT] = {0};
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, threads);

	return rs_knn_choose_neighbors(opt, given, d, &rt, note);
}

static rs_status
choose_on_planted(void *ctx, int threads, host *h, counter *c)
{
	double		opt[RS_KNN_OPTION_COUNT];
	rs_report	note;

	memcpy(opt, ctx, sizeof(opt));
	return choose(&P.train, opt, threads, h, c, &note);
}

/*
 * The count chosen is the best of those a fit with each would give, scored
 * by the held-out score "tune" uses on the same split; *best_score that
 * count's score.
 */
static int
best_fitted_count(const rs_interactions *d, const double *base, double *best_score)
{
	static const int tried[] = {10, 25, 50, 100, 200, 400};
	bool		ratings = (int) base[RS_KNN_FEEDBACK] == RS_KNN_FEEDBACK_EXPLICIT;
	rs_interaction_buffer rows = {0},
				held = {0};
	rs_interactions train;
	counter		c = new_counter();
	int			best = 0;

	if (rs_holdout_split(d, ratings, 0, &rs_malloc_allocator, &rows, &held) != RS_OK)
		return -1;
	build(&rows, &train);
	for (int t = 0; t < 6; t++)
	{
		double		opt[RS_KNN_OPTION_COUNT],
					score;
		rs_knn_result r;
		rs_model	m;

		memcpy(opt, base, sizeof(opt));
		opt[RS_KNN_NEIGHBORS] = tried[t];
		if (fit(&train, opt, 2, NULL, &c, &r) != RS_OK)
			return -1;
		rs_knn_model(&train, &r, &m);
		if (rs_holdout_score(&m, &held, ratings, &rs_malloc_allocator, &score) != RS_OK)
			return -1;
		if (t == 0 || score > *best_score)
		{
			best = tried[t];
			*best_score = score;
		}
		rs_knn_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, &c, NULL});
	}
	rs_interactions_free(&train, &rs_malloc_allocator);
	rs_buffer_free(&held, &rs_malloc_allocator);
	return best;
}

/* (9) the neighbour count measured on held-out interactions */
static void
test_chosen_neighbors(void)
{
	rs_interactions small_classes,
				large_classes,
				ratings;
	const rs_interactions *sets[] = {&P.train, NULL, NULL};
	int			chosen[3];
	counter		c = new_counter();
	host		h = new_host(0);
	rs_report	note = {{0}};
	bool		given[RS_KNN_OPTION_COUNT] = {0};
	double		opt[RS_KNN_OPTION_COUNT];

	clustered(40, 0.6, 0.01, 71, &small_classes);
	clustered(2, 0.15, 0.005, 72, &large_classes);
	make_random(&ratings, 73, 300, 120, 0.15, true);
	sets[1] = &small_classes;
	sets[2] = &large_classes;
	for (int s = 0; s < 3; s++)
	{
		double		best_score = NAN,
					again[RS_KNN_OPTION_COUNT];
		int			best;
		char		expected[32];

		rs_status	status;

		default_options(opt);
		status = choose(sets[s], opt, 2, &h, &c, &note);
		CHECK(status == RS_OK && c.outstanding == 0, "choose: status %d, %ld outstanding",
			  (int) status, c.outstanding);
		printf("data %d: %s\n", s, note.message);
		chosen[s] = (int) opt[RS_KNN_NEIGHBORS];
		best = best_fitted_count(sets[s], opt, &best_score);
		snprintf(expected, sizeof(expected), "NDCG@10 %.4f ", best_score);
		CHECK(chosen[s] == best && strstr(note.message, expected) != NULL,
			  "chose %d, fits with each count: best %d at %.4f", chosen[s], best, best_score);
		default_options(again);
		choose(sets[s], again, 1, &h, &c, &note);
		CHECK(again[RS_KNN_NEIGHBORS] == chosen[s], "the same data chose %d, then %g",
			  chosen[s], again[RS_KNN_NEIGHBORS]);
	}
	CHECK(chosen[1] < chosen[2], "classes of 5 items chose %d neighbours, of 100 items %d",
		  chosen[1], chosen[2]);

	/* ratings are measured by RMSE, against the same fits */
	{
		double		best_score = NAN;
		int			best;

		default_options(opt);
		opt[RS_KNN_FEEDBACK] = RS_KNN_FEEDBACK_EXPLICIT;
		opt[RS_KNN_SIMILARITY] = RS_KNN_ADJUSTED_COSINE;
		CHECK(choose(&ratings, opt, 2, &h, &c, &note) == RS_OK, "choose on ratings");
		printf("ratings: %s\n", note.message);
		best = best_fitted_count(&ratings, opt, &best_score);
		CHECK((int) opt[RS_KNN_NEIGHBORS] == best && strstr(note.message, "RMSE") != NULL,
			  "chose %g for ratings, the fits' best %d", opt[RS_KNN_NEIGHBORS], best);
	}

	/* given: nothing to measure */
	default_options(opt);
	given[RS_KNN_NEIGHBORS] = true;
	opt[RS_KNN_NEIGHBORS] = 7;
	note.message[0] = '\0';
	CHECK(rs_knn_choose_neighbors(opt, given, &P.train,
								  &(rs_runtime) {.alloc = rs_malloc_allocator, .threads = 1},
								  &note) == RS_OK &&
		  opt[RS_KNN_NEIGHBORS] == 7 && note.message[0] == '\0',
		  "a given count was changed to %g", opt[RS_KNN_NEIGHBORS]);

	default_options(opt);
	unit_cancel_at_every_poll("KNN neighbors", choose_on_planted, NULL, opt, 4, 2, 5);
	unit_fail_each_allocation("KNN neighbors", choose_on_planted, opt, 2, 10);
	rs_interactions_free(&small_classes, &rs_malloc_allocator);
	rs_interactions_free(&large_classes, &rs_malloc_allocator);
	rs_interactions_free(&ratings, &rs_malloc_allocator);
}

int
main(void)
{
	make_planted();
	test_options();
	test_brute_force();
	test_threads();
	test_planted();
	test_agreement();
	test_known_history();
	test_codec_round_trip();
	test_additive();
	test_unknown();
	test_degenerate();
	test_cancel_and_memory();
	test_threads_large();
	test_chosen_neighbors();
	rs_interactions_free(&P.train, &rs_malloc_allocator);
	return unit_done();
}
