/*
 * test_ease.c - EASE: B against the closed form computed independently
 * (Gauss-Jordan inversion in double, no LAPACK), values ignored, the same
 * bits on any number of threads, ranking on planted clustered data, pruned
 * lists against the dense result, max_items against an independent choice
 * of the most popular items, predict, score_items, explain and similar
 * agreeing (a known user's history to the bit), the same scores after
 * encoding and decoding, unknown ids, shapes too large refused before
 * anything is allocated, degenerate data, cancellation and running out of
 * memory without leaks, and pruning a larger model: every list cut, and the
 * top 10 mostly the dense one's.
 */
#include "core/ease.h"
#include "core/random.h"
#include "core/top_k.h"

#include "unit.h"
#include "planted.h"

#include <stdlib.h>
#include <string.h>

static rs_status
fit(const rs_interactions *d, const double *opt, int threads, host *h, counter *c,
	rs_ease_result *r)
{
	rs_runtime	rt = unit_runtime((rs_allocator) {counting_alloc, counting_free, c, NULL}, h, threads);

	return rs_ease_fit(d, opt, &rt, r);
}

static void
default_options(double *opt)
{
	for (int k = 0; k < RS_EASE_OPTION_COUNT; k++)
		opt[k] = rs_ease_option_specs[k].default_value;
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

/*
 * Random data with values 1..5 (which EASE must ignore), item `items - 1` a
 * copy of item 0, and a last item whose only user has nothing else (no
 * co-occurrence: exact zeros in B).  Ids are spread out and descending, so
 * that dense indices differ from them.
 */
static void
make_random(rs_interactions *d, uint64_t seed, int users, int items, double density)
{
	rs_random	rng = {seed};
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < users; u++)
		for (int i = 0; i < items - 1; i++)
			if (rs_random_uniform(&rng) < density * (0.4 + (double) (i % 7) / 5.0))
			{
				float		v = (float) (1 + rs_random_next(&rng) % 5);

				append(&buf, 10 * u + 3, 5000 - 7 * i, v);
				if (i == 0)
					append(&buf, 10 * u + 3, 5000 - 7 * (items - 1), v);
			}
	append(&buf, 10 * users + 3, 5000 - 7 * items, 2.0f);
	build(&buf, d);
}

/*
 * B from its definition in double, over the data's items `items` (m of
 * them, ascending): X binary from the user-major CSR, G = X'X + lambda I
 * inverted by Gauss-Jordan with partial pivoting, B_ij = -P_ij / P_jj,
 * B_jj = 0.  Row-major, m x m (malloc'd).
 */
static double *
closed_form(const rs_interactions *d, const int32_t *items, int32_t m, double lambda)
{
	int32_t    *column = malloc(sizeof(int32_t) * (d->n_items + 1));
	double	   *x = calloc((size_t) d->n_users * m + 1, sizeof(double));
	double	   *g = calloc((size_t) m * 2 * m + 1, sizeof(double));	/* [G | I] */
	double	   *b = malloc(sizeof(double) * ((size_t) m * m + 1));
	size_t		w = 2 * (size_t) m;

	for (int32_t i = 0; i < d->n_items; i++)
		column[i] = -1;
	for (int32_t t = 0; t < m; t++)
		column[items[t]] = t;
	for (int32_t u = 0; u < d->n_users; u++)
		for (size_t p = d->user_ptr[u]; p < d->user_ptr[u + 1]; p++)
			if (column[d->user_items[p]] >= 0)
				x[(size_t) u * m + column[d->user_items[p]]] = 1.0;
	for (int32_t i = 0; i < m; i++)
	{
		for (int32_t j = 0; j < m; j++)
		{
			double		s = 0.0;

			for (int32_t u = 0; u < d->n_users; u++)
				s += x[(size_t) u * m + i] * x[(size_t) u * m + j];
			g[i * w + j] = s + (i == j ? lambda : 0.0);
		}
		g[i * w + m + i] = 1.0;
	}
	for (int32_t col = 0; col < m; col++)
	{
		int32_t		pivot = col;
		double		scale;

		for (int32_t r = col + 1; r < m; r++)
			if (fabs(g[r * w + col]) > fabs(g[pivot * w + col]))
				pivot = r;
		if (pivot != col)
			for (size_t c = 0; c < w; c++)
			{
				double		t = g[col * w + c];

				g[col * w + c] = g[pivot * w + c];
				g[pivot * w + c] = t;
			}
		scale = 1.0 / g[col * w + col];
		for (size_t c = 0; c < w; c++)
			g[col * w + c] *= scale;
		for (int32_t r = 0; r < m; r++)
		{
			double		f = g[r * w + col];

			if (r == col || f == 0.0)
				continue;
			for (size_t c = 0; c < w; c++)
				g[r * w + c] -= f * g[col * w + c];
		}
	}
	for (int32_t i = 0; i < m; i++)
		for (int32_t j = 0; j < m; j++)
			b[(size_t) i * m + j] = i == j ? 0.0 : -g[i * w + m + j] / g[j * w + m + j];
	free(column);
	free(x);
	free(g);
	return b;
}

/*
 * The largest error of an entry relative to itself, floored at 1e-3 of
 * the largest |B| (the float solve's error is absolute, about eps cond(G)
 * times the largest, and entries much smaller than it carry little).
 */
static double
relative_error(const float *matrix, const double *b, int32_t m)
{
	double		largest = 0.0,
				worst = 0.0;

	for (size_t k = 0; k < (size_t) m * m; k++)
		largest = fmax(largest, fabs(b[k]));
	for (size_t k = 0; k < (size_t) m * m; k++)
		if (b[k] != 0.0 || matrix[k] != 0.0f)
			worst = fmax(worst, fabs((double) matrix[k] - b[k]) /
						 fmax(fabs(b[k]), 1e-3 * largest));
	return worst;
}

/* Whether the diagonal of a dense B is exactly 0. */
static bool
zero_diagonal(const float *matrix, int32_t m)
{
	for (int32_t i = 0; i < m; i++)
		if (matrix[(size_t) i * m + i] != 0.0f)
			return false;
	return true;
}

/* (1) B is the closed form; values are ignored; the result copies the data */
static void
test_closed_form(void)
{
	static const double lambdas[] = {500, 20, 1, 0.05};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interactions d;

	make_random(&d, 17, 60, 25, 0.25);
	for (size_t l = 0; l < sizeof(lambdas) / sizeof(lambdas[0]); l++)
	{
		double		opt[RS_EASE_OPTION_COUNT];
		rs_ease_result r;
		host		h = new_host(0);
		int32_t		all[64];
		double	   *b,
					error;
		bool		identity = true,
					popularity = true;

		default_options(opt);
		opt[RS_EASE_LAMBDA] = lambdas[l];
		if (!CHECK(fit(&d, opt, 2, &h, &c, &r) == RS_OK, "fit, lambda %g", lambdas[l]))
			continue;
		for (int32_t i = 0; i < d.n_items; i++)
			all[i] = i;
		b = closed_form(&d, all, d.n_items, lambdas[l]);
		error = relative_error(r.matrix, b, d.n_items);
		/*
		 * float: the error grows with cond(G), about the largest popularity
		 * over lambda (X'X itself is singular here, an item being a copy)
		 */
		CHECK(error < (lambdas[l] >= 1 ? 1e-4 : 1e-3),
			  "lambda %g: B off the closed form by %.3g (relative)", lambdas[l], error);
		printf("closed form, lambda %g: largest relative error %.3g\n", lambdas[l], error);
		CHECK(zero_diagonal(r.matrix, d.n_items), "lambda %g: the diagonal is not 0",
			  lambdas[l]);
		CHECK(r.n_items == d.n_items && r.lambda == lambdas[l] && r.prune == 0 &&
			  r.neighbor_ptr == NULL && r.neighbor_items == NULL && r.neighbor_weights == NULL,
			  "shape of a dense result");
		for (int32_t i = 0; i < d.n_items; i++)
		{
			identity &= r.items[i] == i && r.item_ids[i] == d.item_ids[i];
			popularity &= r.item_popularity[i] == (float) (d.item_ptr[i + 1] - d.item_ptr[i]);
		}
		CHECK(identity, "every item modelled, in order");
		CHECK(popularity, "item popularity is not the number of training users");
		CHECK(memcmp(r.seen_ptr, d.user_ptr, sizeof(uint64_t) * (d.n_users + 1)) == 0 &&
			  memcmp(r.seen_items, d.user_items, sizeof(int32_t) * d.nnz) == 0 &&
			  memcmp(r.seen_values, d.user_values, sizeof(float) * d.nnz) == 0,
			  "the seen lists are not the data's");
		CHECK(h.reports == 1 && h.iteration[0] == 1 && isnan(h.loss[0]) && h.seconds[0] >= 0.0,
			  "%d progress reports", h.reports);
		/* the lonely last item: no co-occurrence, no weight either way */
		{
			int32_t		n = d.n_items,
						lonely = 0;
			bool		zero = true;

			/* ids descend: the lonely item (the largest number) has the smallest id */
			for (int32_t k = 0; k < n; k++)
				zero &= r.matrix[(size_t) lonely * n + k] == 0.0f &&
					r.matrix[(size_t) k * n + lonely] == 0.0f;
			CHECK(zero, "an item without co-occurrence has weights");
		}
		free(b);
		rs_ease_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

static bool
same_result(const rs_ease_result *x, const rs_ease_result *y, int32_t n_users)
{
	int32_t		m = x->n_items;
	uint64_t	seen = x->seen_ptr[n_users];

	if (x->n_items != y->n_items || memcmp(x->items, y->items, sizeof(int32_t) * m) != 0 ||
		memcmp(x->seen_ptr, y->seen_ptr, sizeof(uint64_t) * (n_users + 1)) != 0 ||
		memcmp(x->seen_items, y->seen_items, sizeof(int32_t) * seen) != 0 ||
		(x->matrix == NULL) != (y->matrix == NULL) ||
		(x->neighbor_ptr == NULL) != (y->neighbor_ptr == NULL))
		return false;
	if (x->matrix)
		return memcmp(x->matrix, y->matrix, sizeof(float) * m * m) == 0;
	return memcmp(x->neighbor_ptr, y->neighbor_ptr, sizeof(uint64_t) * (m + 1)) == 0 &&
		memcmp(x->neighbor_items, y->neighbor_items,
			   sizeof(int32_t) * x->neighbor_ptr[m]) == 0 &&
		memcmp(x->neighbor_weights, y->neighbor_weights,
			   sizeof(float) * x->neighbor_ptr[m]) == 0;
}

/* (2) the same bits on 1, 2 and 3 threads */
static void
test_threads(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interactions d;
	int			compared = 0;

	make_random(&d, 5, 300, 150, 0.08);
	for (int data = 0; data < 2; data++)
	{
		const rs_interactions *x = data == 0 ? &P.train : &d;

		for (int config = 0; config < 3; config++)
		{
			double		opt[RS_EASE_OPTION_COUNT];
			rs_ease_result one,
						more;

			default_options(opt);
			opt[RS_EASE_LAMBDA] = 30;
			opt[RS_EASE_PRUNE] = config == 1 ? 20 : 0;
			opt[RS_EASE_MAX_ITEMS] = config == 2 ? 77 : 0;
			if (!CHECK(fit(x, opt, 1, NULL, &c, &one) == RS_OK, "fit on 1 thread"))
				continue;
			for (int threads = 2; threads <= 3; threads++)
			{
				host		h = new_host(0);

				if (!CHECK(fit(x, opt, threads, &h, &c, &more) == RS_OK, "fit on %d", threads))
					continue;
				CHECK(same_result(&one, &more, x->n_users), "config %d on %d threads differs",
					  config, threads);
				CHECK(!h.wrong_thread && !c.wrong_thread, "a host callback on a worker");
				CHECK(h.reports == 1, "%d progress reports", h.reports);
				compared++;
				rs_ease_result_free(&more, &a);
			}
			rs_ease_result_free(&one, &a);
		}
	}
	printf("threads: %d fits on 2 and 3 threads identical to 1\n", compared);
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
		if (rs_ease_score_items(m, m->seen_items + m->seen_ptr[u],
								m->seen_ptr[u + 1] - m->seen_ptr[u], &rs_malloc_allocator,
								planted_scores) != RS_OK)
			exit(2);
		planted_user = u;
	}
	return planted_scores[i];
}

/* (3) planted clusters: held-out and unseen same-class items ranked first */
static void
test_planted(void)
{
	static const struct
	{
		double		lambda;
		int			prune;
	}			configs[] = {{500, 0}, {50, 0}, {500, 50}, {50, 10}};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};

	for (size_t k = 0; k < sizeof(configs) / sizeof(configs[0]); k++)
	{
		double		opt[RS_EASE_OPTION_COUNT];
		host		h = new_host(0);
		rs_ease_result r;
		rs_model	m;
		double		held_auc,
					class_auc;

		default_options(opt);
		opt[RS_EASE_LAMBDA] = configs[k].lambda;
		opt[RS_EASE_PRUNE] = configs[k].prune;
		if (!CHECK(fit(&P.train, opt, 2, &h, &c, &r) == RS_OK, "fit"))
			continue;
		rs_ease_model(&P.train, &r, &m);
		planted_user = -1;
		planted_auc(&m, score_by_items, &held_auc, &class_auc);
		printf("planted, lambda %g, prune %d: %.3f s; AUC of held-out positives %.4f, "
			   "of unseen same-class items %.4f\n", configs[k].lambda, configs[k].prune,
			   h.seconds[0], held_auc, class_auc);
		CHECK(held_auc > 0.9, "held-out AUC %.4f, want > 0.9", held_auc);
		CHECK(class_auc > 0.9, "same-class AUC %.4f, want > 0.9", class_auc);
		CHECK(m.algorithm == RS_ALGO_EASE && m.n_users == USERS && m.n_items == ITEMS &&
			  m.n_interactions == P.train.nnz && m.factors == 0, "model shape");
		CHECK(m.user_ids == P.train.user_ids && m.item_ids == r.item_ids &&
			  m.seen_ptr == r.seen_ptr && m.seen_items == r.seen_items &&
			  m.seen_values == r.seen_values && m.item_popularity == r.item_popularity &&
			  m.item_matrix == r.matrix && m.neighbor_ptr == r.neighbor_ptr &&
			  m.neighbor_items == r.neighbor_items && m.neighbor_weights == r.neighbor_weights,
			  "the model views the result");
		CHECK((m.item_matrix != NULL) == (configs[k].prune == 0) &&
			  (m.neighbor_ptr != NULL) == (configs[k].prune > 0), "dense or pruned");
		CHECK(m.user_factors == NULL && m.item_factors == NULL && m.user_bias == NULL &&
			  m.item_bias == NULL && m.params.regularization == (float) configs[k].lambda,
			  "no factors nor biases; lambda kept");
		rs_ease_result_free(&r, &a);
	}
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

typedef struct candidate
{
	float		w;
	int32_t		i;
} candidate;

/* Largest |w| first, ties to the lower index. */
static int
largest_first(const void *x, const void *y)
{
	const candidate *a = x,
			   *b = y;

	if (fabsf(a->w) != fabsf(b->w))
		return fabsf(a->w) > fabsf(b->w) ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

static int
ascending(const void *x, const void *y)
{
	const candidate *a = x,
			   *b = y;

	return (a->i > b->i) - (a->i < b->i);
}

/*
 * Rows of a pruned result that differ from the top k of the dense matrix
 * by sorting; *ties counts rows cut between two equal |B|.
 */
static int
compare_pruned(const rs_ease_result *r, const float *dense, int32_t m, int k, int *ties,
			   int *cut)
{
	candidate  *cand = malloc(sizeof(candidate) * (m + 1));
	int			wrong = 0;

	if (r->neighbor_ptr[0] != 0)
		wrong++;
	for (int32_t j = 0; j < m; j++)
	{
		int			n = 0,
					keep;
		bool		same;

		for (int32_t i = 0; i < m; i++)
			if (i != j && dense[(size_t) i * m + j] != 0.0f)
				cand[n++] = (candidate) {dense[(size_t) i * m + j], i};
		qsort(cand, n, sizeof(candidate), largest_first);
		keep = n < k ? n : k;
		if (n > k)
		{
			(*cut)++;
			*ties += fabsf(cand[k - 1].w) == fabsf(cand[k].w);
		}
		qsort(cand, keep, sizeof(candidate), ascending);
		same = r->neighbor_ptr[j + 1] - r->neighbor_ptr[j] == (uint64_t) keep;
		for (int t = 0; same && t < keep; t++)
			same = r->neighbor_items[r->neighbor_ptr[j] + t] == cand[t].i &&
				memcmp(&r->neighbor_weights[r->neighbor_ptr[j] + t], &cand[t].w,
					   sizeof(float)) == 0;
		wrong += !same;
	}
	free(cand);
	return wrong;
}

/*
 * A star: `spokes` items each shared by 3 users with a hub item, whose
 * index is the last.  The spokes are alike, and their weights equal to the
 * bit (Cholesky treats each spoke column alike): ties for pruning.
 */
static void
make_star(rs_interactions *d, int spokes)
{
	rs_interaction_buffer buf;

	memset(&buf, 0, sizeof(buf));
	for (int s = 0; s < spokes; s++)
		for (int k = 0; k < 3; k++)
		{
			append(&buf, 3 * s + k, 1000, 1.0f);
			append(&buf, 3 * s + k, s, 1.0f);
		}
	build(&buf, d);
}

/* (4) pruning keeps exactly the top |B| of each target, ascending, to the bit */
static void
test_prune(void)
{
	static const int ks[] = {1, 2, 3, 5, 23, 24, 30, 1000};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	int			ties = 0,
				cut = 0,
				rows = 0;

	for (int data = 0; data < 3; data++)
	{
		rs_interactions d;
		double		opt[RS_EASE_OPTION_COUNT];
		rs_ease_result dense;

		if (data < 2)
			make_random(&d, 23 + data, 60, 25, data == 0 ? 0.25 : 0.05);
		else
			make_star(&d, 30);
		default_options(opt);
		opt[RS_EASE_LAMBDA] = 5;
		if (!CHECK(fit(&d, opt, 2, NULL, &c, &dense) == RS_OK, "dense fit"))
			continue;
		for (size_t t = 0; t < sizeof(ks) / sizeof(ks[0]); t++)
		{
			rs_ease_result r;
			int			wrong;

			opt[RS_EASE_PRUNE] = ks[t];
			if (!CHECK(fit(&d, opt, 2, NULL, &c, &r) == RS_OK, "pruned fit"))
				continue;
			CHECK(r.matrix == NULL && r.neighbor_ptr && r.prune == ks[t] &&
				  r.n_items == d.n_items, "shape of a pruned result");
			wrong = compare_pruned(&r, dense.matrix, d.n_items, ks[t], &ties, &cut);
			CHECK(wrong == 0, "data %d, prune %d: %d of %d rows differ from the dense top k",
				  data, ks[t], wrong, d.n_items);
			if (data < 2)
			{
				/* the lonely item (index 0) is nobody's source and has none */
				for (uint64_t p = 0; p < r.neighbor_ptr[d.n_items]; p++)
					CHECK(r.neighbor_items[p] != 0, "the lonely item is a source");
				CHECK(r.neighbor_ptr[1] == 0, "the lonely item has sources");
			}
			else
			{
				/* the hub's equal spokes: the lowest indices kept */
				int32_t		hub = d.n_items - 1;
				uint64_t	b = r.neighbor_ptr[hub];
				bool		lowest = r.neighbor_ptr[hub + 1] - b ==
					(uint64_t) (ks[t] < hub ? ks[t] : hub);

				for (uint64_t p = b; lowest && p < r.neighbor_ptr[hub + 1]; p++)
					lowest = r.neighbor_items[p] == (int32_t) (p - b);
				CHECK(lowest, "star, prune %d: the hub keeps other than the first spokes",
					  ks[t]);
			}
			rows += d.n_items;
			rs_ease_result_free(&r, &a);
		}
		rs_ease_result_free(&dense, &a);
		rs_interactions_free(&d, &rs_malloc_allocator);
	}
	printf("prune: %d lists match the dense top k, %d cut, %d of them between equal |B|\n",
		   rows, cut, ties);
	CHECK(cut > 0 && ties > 0, "no list was cut (%d), or none between ties (%d)", cut, ties);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* (5) max_items: the most popular items (ties to the lower index), and only they */
static void
test_max_items(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interactions d;
	int			boundary_ties = 0,
				emptied = 0;
	double		worst = 0.0;

	make_random(&d, 41, 60, 25, 0.2);
	for (int max_items = 0; max_items <= d.n_items + 3; max_items++)
	{
		double		opt[RS_EASE_OPTION_COUNT];
		rs_ease_result r;
		rs_model	m;
		int32_t		want = max_items > 0 && max_items < d.n_items ? max_items : d.n_items;
		int32_t		chosen[64],
					new_index[64];
		int			n_chosen = 0;
		bool		same_seen = true,
					same_items = true;
		uint64_t	p_new = 0;
		double	   *b,
					error;

		default_options(opt);
		opt[RS_EASE_LAMBDA] = 10;
		opt[RS_EASE_MAX_ITEMS] = max_items;
		if (!CHECK(fit(&d, opt, 2, NULL, &c, &r) == RS_OK, "fit, max_items %d", max_items))
			continue;

		/* independently: item i is kept if fewer than want items beat it */
		for (int32_t i = 0; i < d.n_items; i++)
		{
			int			better = 0;
			size_t		pop_i = d.item_ptr[i + 1] - d.item_ptr[i];

			for (int32_t j = 0; j < d.n_items; j++)
			{
				size_t		pop_j = d.item_ptr[j + 1] - d.item_ptr[j];

				better += pop_j > pop_i || (pop_j == pop_i && j < i);
			}
			new_index[i] = -1;
			if (better < want)
			{
				new_index[i] = n_chosen;
				chosen[n_chosen++] = i;
			}
			/* a tie across the cut: an equal item kept and this one not, or the reverse */
			if (better == want)
				for (int32_t j = 0; j < i; j++)
					boundary_ties += d.item_ptr[j + 1] - d.item_ptr[j] == pop_i;
		}
		CHECK(r.n_items == want && n_chosen == want, "max_items %d: %d items, want %d",
			  max_items, r.n_items, want);
		for (int t = 0; t < n_chosen && t < r.n_items; t++)
			same_items &= r.items[t] == chosen[t] && r.item_ids[t] == d.item_ids[chosen[t]] &&
				r.item_popularity[t] ==
				(float) (d.item_ptr[chosen[t] + 1] - d.item_ptr[chosen[t]]);
		CHECK(same_items, "max_items %d: not the most popular items", max_items);

		/* seen lists: the user's modelled items, re-indexed, with their values */
		same_seen = r.seen_ptr[0] == 0;
		for (int32_t u = 0; u < d.n_users && same_seen; u++)
		{
			for (size_t p = d.user_ptr[u]; p < d.user_ptr[u + 1]; p++)
				if (new_index[d.user_items[p]] >= 0)
				{
					same_seen &= r.seen_items[p_new] == new_index[d.user_items[p]] &&
						r.seen_values[p_new] == d.user_values[p];
					p_new++;
				}
			same_seen &= r.seen_ptr[u + 1] == p_new;
			emptied += r.seen_ptr[u + 1] == r.seen_ptr[u] && d.user_ptr[u + 1] > d.user_ptr[u];
		}
		CHECK(same_seen, "max_items %d: seen lists not restricted to the modelled items",
			  max_items);

		/* B is the closed form over the modelled items alone */
		b = closed_form(&d, chosen, want, 10.0);
		error = relative_error(r.matrix, b, want);
		worst = fmax(worst, error);
		CHECK(error < 1e-4, "max_items %d: B off the closed form by %.3g", max_items, error);
		free(b);

		rs_ease_model(&d, &r, &m);
		CHECK(m.n_items == want && m.n_users == d.n_users && m.n_interactions == p_new &&
			  m.item_ids == r.item_ids && m.user_ids == d.user_ids, "max_items %d: model",
			  max_items);
		for (int32_t i = 0; i < d.n_items; i++)
			CHECK(rs_model_item_index(&m, d.item_ids[i]) == new_index[i],
				  "max_items %d: item id %lld at %d, want %d", max_items,
				  (long long) d.item_ids[i], rs_model_item_index(&m, d.item_ids[i]),
				  new_index[i]);
		/* a user left with nothing scores 0 everywhere */
		for (int32_t u = 0; u < d.n_users; u++)
			if (m.seen_ptr[u + 1] == m.seen_ptr[u] && want > 0)
				CHECK(rs_ease_predict(&m, u, 0) == 0.0, "an emptied user scores");
		rs_ease_result_free(&r, &a);
	}
	printf("max_items: 1..%d and beyond, %d ties across the cut, %d user histories emptied, "
		   "largest error %.3g\n", d.n_items, boundary_ties, emptied, worst);
	CHECK(boundary_ties > 0, "no tie in popularity across the cut");
	CHECK(emptied > 0, "no user was left without items");
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* A weight of a pruned or dense model: B_ij, 0 where not kept. */
static float
weight(const rs_model *m, int32_t i, int32_t j)
{
	if (m->item_matrix)
		return m->item_matrix[(size_t) i * m->n_items + j];
	for (uint64_t p = m->neighbor_ptr[j]; p < m->neighbor_ptr[j + 1]; p++)
		if (m->neighbor_items[p] == i)
			return m->neighbor_weights[p];
	return 0.0f;
}

/*
 * (6) predict == score_items (to the bit) == the sum of explain, for every
 * known user and item; explain and similar are the weights; a newcomer's
 * history sums its rows; unknown ids give NaN; a decoded model scores the
 * same
 */
static void
test_agreement(void)
{
	static const struct
	{
		int			prune;
		int			max_items;
	}			configs[] = {{0, 0}, {5, 0}, {0, 15}, {3, 15}, {100, 0}};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interactions d;
	long		pairs = 0;
	double		worst_explain = 0.0,
				worst_newcomer = 0.0;

	make_random(&d, 77, 60, 25, 0.2);
	for (size_t k = 0; k < sizeof(configs) / sizeof(configs[0]); k++)
	{
		double		opt[RS_EASE_OPTION_COUNT];
		rs_ease_result r;
		rs_model	m,
					back;
		float		scores[64],
					scores_back[64],
					similar[64];
		double		contributions[64];
		bool		bits = true,
					explained = true,
					similar_ok = true,
					decoded_same = true;
		int32_t		n;
		int32_t		newcomer[] = {-3, 0, 2, 3, 7, 11, 12, 64};
		size_t		size;
		void	   *buf;
		const char *reason;

		default_options(opt);
		opt[RS_EASE_LAMBDA] = 4;
		opt[RS_EASE_PRUNE] = configs[k].prune;
		opt[RS_EASE_MAX_ITEMS] = configs[k].max_items;
		if (!CHECK(fit(&d, opt, 1, NULL, &c, &r) == RS_OK, "fit"))
			continue;
		rs_ease_model(&d, &r, &m);
		n = m.n_items;
		for (int32_t u = 0; u < m.n_users; u++)
		{
			const int32_t *items = m.seen_items + m.seen_ptr[u];
			size_t		h = m.seen_ptr[u + 1] - m.seen_ptr[u];

			if (!CHECK(rs_ease_score_items(&m, items, h, &a, scores) == RS_OK, "score_items"))
				break;
			for (int32_t j = 0; j < n; j++, pairs++)
			{
				double		p = rs_ease_predict(&m, u, j),
							sum = 0.0;
				float		f = (float) p;

				bits &= memcmp(&f, &scores[j], sizeof(float)) == 0 && (double) f == p;
				rs_ease_explain(&m, items, h, j, contributions);
				for (size_t t = 0; t < h; t++)
				{
					sum += contributions[t];
					explained &= contributions[t] == (double) weight(&m, items[t], j);
				}
				worst_explain = fmax(worst_explain, fabs(sum - p));
			}
		}
		CHECK(bits, "config %zu: predict and score_items differ", k);
		CHECK(explained, "config %zu: explain is not the weights", k);

		/* similar: B_item,k, what having item adds to k */
		for (int32_t i = 0; i < n; i++)
		{
			rs_ease_similar(&m, i, similar);
			for (int32_t j = 0; j < n; j++)
				similar_ok &= similar[j] == (i == j ? 0.0f : weight(&m, i, j));
		}
		CHECK(similar_ok, "config %zu: similar is not the weights from the item", k);

		/* a newcomer: items out of range passed over, rows of B summed */
		if (CHECK(rs_ease_score_items(&m, newcomer, 8, &a, scores) == RS_OK, "newcomer"))
			for (int32_t j = 0; j < n; j++)
			{
				double		s = 0.0;

				for (int t = 0; t < 8; t++)
					if (newcomer[t] >= 0 && newcomer[t] < n)
						s += weight(&m, newcomer[t], j);
				worst_newcomer = fmax(worst_newcomer, fabs(s - scores[j]));
			}

		/* unknown ids */
		CHECK(isnan(rs_ease_predict(&m, -1, 0)) && isnan(rs_ease_predict(&m, 0, -1)) &&
			  isnan(rs_ease_predict(&m, -1, -1)) && isnan(rs_ease_predict(&m, 0, n)) &&
			  isnan(rs_ease_predict(&m, m.n_users, 0)), "config %zu: unknown ids not NaN", k);
		contributions[0] = contributions[1] = 1.0;
		CHECK(rs_ease_explain(&m, newcomer + 1, 2, -1, contributions) == RS_OK &&
			  contributions[0] == 0.0 && contributions[1] == 0.0,
			  "explaining an unknown item");

		/* encoded and decoded: the same scores */
		m.info = "{}";
		m.info_size = 2;
		size = rs_model_encoded_size(&m);
		buf = malloc(size);
		if (CHECK(size > 0 && buf, "encoded size %zu", size))
		{
			rs_model_encode(&m, buf);
			unit_check_rebase(buf, size, "ease");
			reason = unit_decode(buf, size, &back);
			if (CHECK(reason == NULL, "config %zu not decoded: %s", k, reason))
			{
				CHECK(back.algorithm == RS_ALGO_EASE && back.n_items == n &&
					  (back.item_matrix != NULL) == (m.item_matrix != NULL) &&
					  back.params.regularization == m.params.regularization,
					  "decoded shape");
				for (int32_t u = 0; u < m.n_users; u++)
				{
					const int32_t *items = m.seen_items + m.seen_ptr[u];
					size_t		h = m.seen_ptr[u + 1] - m.seen_ptr[u];

					if (rs_ease_score_items(&m, items, h, &a, scores) != RS_OK ||
						rs_ease_score_items(&back, items, h, &a, scores_back) != RS_OK)
						decoded_same = false;
					decoded_same &= memcmp(scores, scores_back, sizeof(float) * n) == 0;
					for (int32_t j = 0; j < n; j++)
						decoded_same &= rs_ease_predict(&m, u, j) == rs_ease_predict(&back, u, j);
				}
				for (int32_t i = 0; i < n; i++)
				{
					rs_ease_similar(&back, i, similar);
					rs_ease_similar(&m, i, scores);
					decoded_same &= memcmp(scores, similar, sizeof(float) * n) == 0;
				}
				CHECK(decoded_same, "config %zu: a decoded model scores differently", k);
			}
		}
		free(buf);
		rs_ease_result_free(&r, &a);
	}
	printf("agreement: %ld (user, item) pairs, predict == score_items to the bit, "
		   "|sum explain - predict| <= %.3g, newcomer off the sum of rows by %.3g\n",
		   pairs, worst_explain, worst_newcomer);
	/* float sums of the same weights: at most 7.5e-8 and 4.1e-8 under every kernel */
	CHECK(worst_explain < 1e-6, "explain adds up to predict only within %.3g", worst_explain);
	CHECK(worst_newcomer < 1e-6, "a newcomer's scores off by %.3g", worst_newcomer);
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* An allocator that counts and remembers the largest request. */
typedef struct tracking
{
	counter		c;
	size_t		largest;
} tracking;

static void *
tracking_alloc(void *ctx, size_t size)
{
	tracking   *t = ctx;

	if (size > t->largest)
		t->largest = size;
	return counting_alloc(&t->c, size);
}

static void
tracking_free(void *ctx, void *ptr)
{
	counting_free(&((tracking *) ctx)->c, ptr);
}

/* (7) shapes that would not fit are refused before anything is allocated */
static void
test_too_large(void)
{
	static const struct
	{
		int32_t		n_items;
		int			max_items;
		int			prune;
	}			shapes[] = {
		{16376, 0, 0},			/* dense: 1 GB less 1 MB is 16375 items */
		{20000, 0, 0},
		{100000, 16376, 0},		/* max_items counts, not the data's items */
		{46341, 0, 100},		/* pruned: the 8 GB of training */
		{2000000000, 0, 10},
		{40000, 0, 4000},		/* pruned lists of 1.28 GB */
		{2000000000, 2000000000, 0},
	};

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		tracking	t = {new_counter(), 0};
		rs_runtime	rt;
		rs_interactions d;
		rs_ease_result r;
		double		opt[RS_EASE_OPTION_COUNT];
		rs_status	status;

		/* no data at all: anything reading it would crash */
		memset(&d, 0, sizeof(d));
		d.n_items = shapes[s].n_items;
		d.n_users = 5;
		memset(&rt, 0, sizeof(rt));
		rt.alloc = (rs_allocator) {tracking_alloc, tracking_free, &t, NULL};
		rt.threads = 2;
		default_options(opt);
		opt[RS_EASE_MAX_ITEMS] = shapes[s].max_items;
		opt[RS_EASE_PRUNE] = shapes[s].prune;
		status = rs_ease_fit(&d, opt, &rt, &r);
		CHECK(status == RS_TOO_LARGE, "%d items, max_items %d, prune %d: status %d",
			  shapes[s].n_items, shapes[s].max_items, shapes[s].prune, (int) status);
		CHECK(t.c.calls == 0 && t.largest == 0 && t.c.outstanding == 0,
			  "%d items: %ld allocations before refusing, the largest %zu bytes",
			  shapes[s].n_items, t.c.calls, t.largest);
	}
}

/* no data; one item; max_items past the items; every user with one item */
static void
test_degenerate(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer buf;
	rs_interactions d;
	double		opt[RS_EASE_OPTION_COUNT];
	rs_ease_result r;
	rs_model	m;
	float		scores[4];

	/* no data at all */
	memset(&buf, 0, sizeof(buf));
	if (rs_interactions_build(&buf, &rs_malloc_allocator, &d) == RS_OK)
	{
		for (int prune = 0; prune <= 5; prune += 5)
		{
			default_options(opt);
			opt[RS_EASE_PRUNE] = prune;
			if (CHECK(fit(&d, opt, 3, NULL, &c, &r) == RS_OK, "no data"))
			{
				rs_ease_model(&d, &r, &m);
				CHECK(r.n_items == 0 && m.n_items == 0 && m.n_interactions == 0,
					  "no data: shape");
				rs_ease_result_free(&r, &a);
			}
		}
		rs_interactions_free(&d, &rs_malloc_allocator);
	}

	/* one item: B = 0, nothing to prune */
	memset(&buf, 0, sizeof(buf));
	append(&buf, 1, 9, 1.0f);
	append(&buf, 2, 9, 1.0f);
	build(&buf, &d);
	for (int prune = 0; prune <= 5; prune += 5)
	{
		default_options(opt);
		opt[RS_EASE_PRUNE] = prune;
		opt[RS_EASE_MAX_ITEMS] = 7;
		if (!CHECK(fit(&d, opt, 4, NULL, &c, &r) == RS_OK, "one item"))
			continue;
		rs_ease_model(&d, &r, &m);
		CHECK(r.n_items == 1 && (prune ? r.neighbor_ptr[1] == 0 : r.matrix[0] == 0.0f) &&
			  rs_ease_predict(&m, 0, 0) == 0.0, "one item");
		CHECK(rs_ease_score_items(&m, m.seen_items, 1, &a, scores) == RS_OK &&
			  scores[0] == 0.0f, "one item: score");
		rs_ease_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);

	/* no co-occurrence: B = 0 */
	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < 4; u++)
		append(&buf, u, u, 1.0f);
	build(&buf, &d);
	default_options(opt);
	if (CHECK(fit(&d, opt, 2, NULL, &c, &r) == RS_OK, "no co-occurrence"))
	{
		bool		zero = true;

		for (int k = 0; k < 16; k++)
			zero &= r.matrix[k] == 0.0f;
		CHECK(zero, "no co-occurrence, yet weights");
		rs_ease_result_free(&r, &a);
	}
	opt[RS_EASE_PRUNE] = 2;
	if (CHECK(fit(&d, opt, 2, NULL, &c, &r) == RS_OK, "no co-occurrence, pruned"))
	{
		CHECK(r.neighbor_ptr[4] == 0, "no co-occurrence, yet %zu weights",
			  (size_t) r.neighbor_ptr[4]);
		rs_ease_result_free(&r, &a);
	}
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* A fit on the planted data with options opt (ctx), freed if it succeeds. */
static rs_status
fit_and_free(void *ctx, int threads, host *h, counter *c)
{
	rs_ease_result r;
	rs_status	status = fit(&P.train, ctx, threads, h, c, &r);

	if (status == RS_OK)
		rs_ease_result_free(&r, &(rs_allocator) {counting_alloc, counting_free, c, NULL});
	return status;
}

/* (8) a cancel at each poll, and each allocation failing in turn, leak nothing */
static void
test_cancel_and_memory(void)
{
	static const struct
	{
		int			prune;
		int			max_items;
	}			configs[] = {{0, 0}, {20, 0}, {0, 150}, {7, 90}};
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	long		failures = 0;
	int			cancels = 0;

	for (size_t k = 0; k < sizeof(configs) / sizeof(configs[0]); k++)
	{
		double		opt[RS_EASE_OPTION_COUNT];
		rs_ease_result r;
		rs_status	status;
		int			max_items = configs[k].max_items;
		int32_t		modelled = max_items > 0 && max_items < P.train.n_items ? max_items :
			P.train.n_items;
		char		what[64];

		default_options(opt);
		opt[RS_EASE_PRUNE] = configs[k].prune;
		opt[RS_EASE_MAX_ITEMS] = max_items;
		snprintf(what, sizeof(what), "EASE config %zu (prune %d, max_items %d)", k,
				 configs[k].prune, max_items);
		cancels += unit_cancel_at_every_poll(what, fit_and_free, unit_stops_at_once, opt,
											 modelled / 8, 3, 5);
		failures += unit_fail_each_allocation(what, fit_and_free, opt, 2, 9);

		/* scoring: a pruned model's one allocation; a dense model needs none */
		if (CHECK(fit(&P.train, opt, 1, NULL, &c, &r) == RS_OK, "fit"))
		{
			rs_model	m;
			float		scores[ITEMS];

			rs_ease_model(&P.train, &r, &m);
			c.calls = 0;
			c.fail_at = 0;
			status = rs_ease_score_items(&m, m.seen_items, 3, &a, scores);
			CHECK(status == (configs[k].prune ? RS_NO_MEMORY : RS_OK),
				  "score_items without memory: status %d", (int) status);
			c.fail_at = -1;
			rs_ease_result_free(&r, &a);
		}
	}
	printf("cancel: %d stops at every poll on 1 thread; %ld allocation failures, no leak\n",
		   cancels, failures);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/*
 * (9) A larger sparse data set: prune 100 keeps at most 100 weights per
 * item, where the dense B has many more, and recommends mostly what the
 * dense model does.  Users favour a group of items (on data without any
 * structure the top 10 is noise, and pruning changes half of it).
 */
#define LARGE_USERS 8000
#define LARGE_ITEMS 2000
#define LARGE_GROUPS 20
#define LARGE_PRUNE 100
#define LARGE_TOP 10

static void
test_prune_large(void)
{
	counter		c = new_counter();
	rs_allocator a = {counting_alloc, counting_free, &c, NULL};
	rs_interaction_buffer buf;
	rs_interactions d;
	rs_random	rng = {99};
	double		opt[RS_EASE_OPTION_COUNT];
	rs_ease_result dense,
				pruned;
	rs_model	md,
				mp;
	float	   *sd = malloc(sizeof(float) * LARGE_ITEMS),
			   *sp = malloc(sizeof(float) * LARGE_ITEMS);
	int32_t    *nonzero = calloc(LARGE_ITEMS, sizeof(int32_t));
	long		wrong_length = 0,
				beyond = 0,
				common = 0,
				compared = 0;
	int			worst = LARGE_TOP;
	double		agreement,
				started = rs_now();

	/* a skewed popularity, ~40 items a user, 4 in 5 of them in the user's group */
	memset(&buf, 0, sizeof(buf));
	for (int u = 0; u < LARGE_USERS; u++)
	{
		int			n = 10 + (int) (rs_random_next(&rng) % 60);

		for (int t = 0; t < n; t++)
		{
			double		x = rs_random_uniform(&rng);
			int64_t		item = (int64_t) (LARGE_ITEMS * x * x);

			if (rs_random_uniform(&rng) < 0.8)
				item = item / LARGE_GROUPS * LARGE_GROUPS + u % LARGE_GROUPS;
			append(&buf, u, item, 1.0f);
		}
	}
	build(&buf, &d);
	default_options(opt);
	if (!CHECK(fit(&d, opt, 2, NULL, &c, &dense) == RS_OK, "dense fit"))
		goto done;
	opt[RS_EASE_PRUNE] = LARGE_PRUNE;
	if (!CHECK(fit(&d, opt, 2, NULL, &c, &pruned) == RS_OK, "pruned fit"))
	{
		rs_ease_result_free(&dense, &a);
		goto done;
	}
	CHECK(d.n_items == LARGE_ITEMS && dense.n_items == d.n_items &&
		  pruned.n_items == d.n_items && dense.matrix && pruned.neighbor_ptr,
		  "%d items, modelled %d and %d", d.n_items, dense.n_items, pruned.n_items);

	/*
	 * Each target keeps min(100, its nonzero dense weights); the items all
	 * co-occur, so B is dense and every list is cut.
	 */
	for (int32_t i = 0; i < d.n_items; i++)
		for (int32_t j = 0; j < d.n_items; j++)
			nonzero[j] += i != j && dense.matrix[(size_t) i * d.n_items + j] != 0.0f;
	for (int32_t j = 0; j < d.n_items; j++)
	{
		uint64_t	kept = pruned.neighbor_ptr[j + 1] - pruned.neighbor_ptr[j];
		bool		beyond_j = nonzero[j] > LARGE_PRUNE;

		beyond += beyond_j;
		wrong_length += kept != (uint64_t) (beyond_j ? LARGE_PRUNE : nonzero[j]);
	}
	CHECK(wrong_length == 0, "%ld items keep other than min(%d, their nonzero weights)",
		  wrong_length, LARGE_PRUNE);
	CHECK(beyond == d.n_items, "only %ld of %d items have more than %d dense weights", beyond,
		  d.n_items, LARGE_PRUNE);

	/* every 20th user's top 10 unseen items, dense and pruned */
	rs_ease_model(&d, &dense, &md);
	rs_ease_model(&d, &pruned, &mp);
	for (int32_t u = 0; u < d.n_users; u += 20)
	{
		const int32_t *items = md.seen_items + md.seen_ptr[u];
		size_t		h = md.seen_ptr[u + 1] - md.seen_ptr[u];
		rs_scored	td[LARGE_TOP],
					tp[LARGE_TOP];
		int			same = 0;

		if (!CHECK(rs_ease_score_items(&md, items, h, &a, sd) == RS_OK &&
				   rs_ease_score_items(&mp, items, h, &a, sp) == RS_OK, "score_items") ||
			!CHECK(rs_top_k(sd, d.n_items, items, h, LARGE_TOP, td) == LARGE_TOP &&
				   rs_top_k(sp, d.n_items, items, h, LARGE_TOP, tp) == LARGE_TOP,
				   "user %d: fewer than %d unseen items", u, LARGE_TOP))
			break;
		for (int x = 0; x < LARGE_TOP; x++)
			for (int y = 0; y < LARGE_TOP; y++)
				same += td[x].index == tp[y].index;
		common += same;
		compared++;
		worst = same < worst ? same : worst;
	}
	agreement = compared ? (double) common / ((double) compared * LARGE_TOP) : 0.0;
	printf("prune %d on %d users, %d items, %zu interactions: %ld lists cut; top %d of %ld "
		   "users %.3f as the dense model's (at worst %d of %d); %.2f s\n", LARGE_PRUNE,
		   d.n_users, d.n_items, d.nnz, beyond, LARGE_TOP, compared, agreement, worst,
		   LARGE_TOP, rs_now() - started);
	/* measured 0.962 under every kernel */
	CHECK(compared == d.n_users / 20 && agreement >= 0.9,
		  "pruned top %d agrees with the dense one for %.3f of %ld users", LARGE_TOP,
		  agreement, compared);
	rs_ease_result_free(&dense, &a);
	rs_ease_result_free(&pruned, &a);
done:
	free(sd);
	free(sp);
	free(nonzero);
	rs_interactions_free(&d, &rs_malloc_allocator);
	CHECK(c.outstanding == 0, "%ld allocations outstanding", c.outstanding);
}

/* The option table: names in enum order, and the documented ranges. */
static void
test_options(void)
{
	static const char *const names[RS_EASE_OPTION_COUNT] = {
		"lambda", "max_items", "prune", "threads", "verbose"
	};
	const rs_option_spec *s = rs_ease_option_specs;
	bool		named = true;

	for (int k = 0; k < RS_EASE_OPTION_COUNT; k++)
		named &= s[k].name && strcmp(s[k].name, names[k]) == 0;
	CHECK(named, "option names are not in enum order");
	CHECK(s[RS_EASE_LAMBDA].type == RS_OPT_REAL && s[RS_EASE_LAMBDA].default_value == 500 &&
		  s[RS_EASE_LAMBDA].min == 0 && s[RS_EASE_LAMBDA].min_exclusive &&
		  s[RS_EASE_LAMBDA].max == 1e12, "lambda");
	CHECK(s[RS_EASE_MAX_ITEMS].type == RS_OPT_INT && s[RS_EASE_MAX_ITEMS].default_value == 0 &&
		  s[RS_EASE_MAX_ITEMS].min == 0, "max_items");
	CHECK(s[RS_EASE_PRUNE].type == RS_OPT_INT && s[RS_EASE_PRUNE].default_value == 0 &&
		  s[RS_EASE_PRUNE].min == 0, "prune");
	CHECK(s[RS_EASE_THREADS].type == RS_OPT_INT && s[RS_EASE_THREADS].default_value == 0 &&
		  s[RS_EASE_VERBOSE].type == RS_OPT_BOOL, "threads, verbose");
}

int
main(void)
{
	double		started = rs_now();

	make_planted();
	test_options();
	test_closed_form();
	test_threads();
	test_planted();
	test_prune();
	test_max_items();
	test_agreement();
	test_too_large();
	test_degenerate();
	test_cancel_and_memory();
	test_prune_large();
	rs_interactions_free(&P.train, &rs_malloc_allocator);
	printf("%.2f s in all\n", rs_now() - started);
	return unit_done();
}
