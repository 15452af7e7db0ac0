/*
 * ease.c - EASE: the item-item weights B = I - P diag(1/diag(P)) with
 * P = (X'X + lambda I)^-1, and the scores that sum rows of B over a
 * history (Steck 2019, "Embarrassingly shallow autoencoders for sparse
 * data", WWW).
 *
 * Items.  max_items keeps the most popular items (training users, ties to
 * the lower index), mapped to 0..m-1 in ascending order; every
 * interaction with another item is ignored, and the model keeps only the
 * modelled items and the training interactions with them (a user may be
 * left with none).  Restricting the seen lists needs new arrays, so the
 * result owns copies of them either way, and the model view only wires
 * pointers.
 *
 * Gram matrix.  G = X'X counts the users two items share.  Row i is a
 * sparse row times a sparse matrix, item-item similarities without
 * normalisation: for each user u of i and each (modelled) item j <= i of u,
 * add 1 to a per-thread accumulator of m ints; then write the row as floats
 * and reset it.  Only the lower triangle is built (u's items are
 * ascending, so the walk stops at i): half the work, and all LAPACK reads.
 * Counts are exact integers, so the result is the same on any number of
 * threads; they convert to float exactly below 2^24 common users.
 *
 * Inverse.  The matrix is row-major; BLAS reads it column-major, where the
 * row-major lower triangle is the upper one: rs_spd_invert factors
 * G = U'U in place and overwrites U by the upper triangle of G^-1, the
 * row-major lower triangle of P, which is then copied across the diagonal.
 * It is LAPACK's blocked spotrf and spotri written out over the pool
 * (spd_inverse.c): O(m^3) flops on every core, polling for a cancel, where
 * the two LAPACK calls took 11 s on one core at 10,000 items, deaf to a
 * cancel.  G is positive definite for lambda > 0, so the factorisation
 * fails only on NaN.
 *
 * B.  B_ij = -P_ij / P_jj, B_jj = 0, computed in place over P for a dense
 * model: one m x m float matrix is the whole of training's memory.  Pruned,
 * target j keeps the sources i with the largest |B_ij| (a bounded heap,
 * ties to the lower i), read from row j of P (P is symmetric, so column j
 * of B is row j of P over P_jj, contiguous); exact zeros (items in
 * separate components of the co-occurrence graph) are never kept.  Both
 * compute every weight by the one expression, so a pruned weight is its
 * dense counterpart to the bit.
 *
 * Precision.  G and P are floats: the relative error of P grows with the
 * condition number of G, about the largest item popularity over lambda;
 * the default lambda (500) keeps it small on typical data.
 *
 * Limits.  The dense model must fit a bytea (1 GB less room for the rest),
 * so m is at most 16,375 unpruned; pruned, the neighbour lists must fit
 * it and the m x m matrix training's 8 GB (m <= 46,340, where m^2 still
 * fits LAPACK's int).  All are checked before anything is allocated.
 *
 * Cancellation is polled between the pool's chunks of work: building G,
 * inverting it, copying P across, and computing or pruning B.
 *
 * Scoring.  A user's score of j is sum over their items i of B_ij, summed
 * in float in ascending i: dense, one saxpy of row i per history item;
 * pruned, each target's source list against a marker of the history.
 * predict and explain add in the same order, so they agree to the bit.
 */
#include "ease.h"

#include "factor_model.h"
#include "fp_mode.h"
#include "kind.h"
#include "scoring.h"
#include "spd_inverse.h"
#include "thread_pool.h"
#include "top_k.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows per chunk of the pool: a popular item's row of G costs a pass over many users. */
#define GRAM_ROWS_PER_CHUNK 8
/* Rows per chunk of the O(m^2) passes over the matrix: one cache line of floats. */
#define MATRIX_ROWS_PER_CHUNK 16

const rs_option_spec rs_ease_option_specs[RS_EASE_OPTION_COUNT] = {
	[RS_EASE_LAMBDA] = {"lambda", RS_OPT_REAL, 500, 0, 1e12, true, NULL},
	[RS_EASE_MAX_ITEMS] = {"max_items", RS_OPT_INT, 0, 0, 2147483647, false, NULL},
	[RS_EASE_PRUNE] = {"prune", RS_OPT_INT, 0, 0, 2147483647, false, NULL},
	[RS_EASE_THREADS] = {"threads", RS_OPT_INT, 0, 0, 1024, false, NULL},
	[RS_EASE_VERBOSE] = {"verbose", RS_OPT_BOOL, 0, 0, 1, false, NULL},
};

/* One thread's scratch. */
typedef struct ease_scratch
{
	int32_t    *count;			/* m, zero between rows of G */
	rs_scored  *heap;			/* pruned: the best k sources so far */
} ease_scratch;

/* The work shared by the threads. */
typedef struct ease_job
{
	const rs_interactions *data;
	const int32_t *items;		/* modelled index -> the data's */
	const uint64_t *seen_ptr;	/* the restricted user-major CSR */
	const int32_t *seen_items;
	int32_t		m;
	double		lambda;
	float	   *matrix;			/* G, then P, then (dense) B */
	const float *diagonal;		/* P_jj */
	size_t		k;				/* pruned: sources kept per target */
	int32_t    *slot_items;		/* pruned: target j's at j * k */
	float	   *slot_weights;
	int32_t    *row_length;
	ease_scratch *scratch;		/* one per worker */
} ease_job;

/* B_ij from P_ij and P_jj: every weight, dense or pruned, by this expression. */
static inline float
ease_weight(float p_ij, float p_jj)
{
	return -(p_ij / p_jj);
}

/* Rows [begin, end) of the lower triangle of G = X'X + lambda I. */
static void
gram_rows(void *arg, int worker, size_t begin, size_t end)
{
	const ease_job *job = arg;
	const rs_interactions *d = job->data;
	/* locals: the stores to the counts cannot be taken to move them */
	const uint64_t *seen_ptr = job->seen_ptr;
	const int32_t *seen_items = job->seen_items;
	int32_t    *count = job->scratch[worker].count;

	for (int32_t i = (int32_t) begin; i < (int32_t) end; i++)
	{
		int32_t		orig = job->items[i];
		float	   *row = job->matrix + (size_t) i * (size_t) job->m;

		for (size_t q = d->item_ptr[orig]; q < d->item_ptr[orig + 1]; q++)
		{
			int32_t		u = d->item_users[q];

			/* u's modelled items are ascending, and include i itself */
			for (uint64_t p = seen_ptr[u]; p < seen_ptr[u + 1] && seen_items[p] <= i; p++)
				count[seen_items[p]]++;
		}
		for (int32_t j = 0; j < i; j++)
		{
			row[j] = (float) count[j];
			count[j] = 0;
		}
		row[i] = (float) ((double) count[i] + job->lambda);
		count[i] = 0;
	}
}

/* Copies the lower triangle of P across the diagonal, rows [begin, end) of the upper. */
static void
symmetrise_rows(void *arg, int worker, size_t begin, size_t end)
{
	const ease_job *job = arg;
	size_t		m = (size_t) job->m;
	float	   *p = job->matrix;

	(void) worker;
	/* a segment of each later row i to column i of the chunk's rows */
	for (size_t i = begin + 1; i < m; i++)
	{
		size_t		stop = end < i ? end : i;

		for (size_t j = begin; j < stop; j++)
			p[j * m + i] = p[i * m + j];
	}
}

/* Dense B over P in place, rows [begin, end). */
static void
dense_rows(void *arg, int worker, size_t begin, size_t end)
{
	const ease_job *job = arg;
	size_t		m = (size_t) job->m;
	const float *diagonal = job->diagonal;

	(void) worker;
	for (size_t i = begin; i < end; i++)
	{
		float	   *row = job->matrix + i * m;

		for (size_t j = 0; j < m; j++)
			row[j] = ease_weight(row[j], diagonal[j]);
		row[i] = 0.0f;
	}
}

/* Targets [begin, end): the k sources of largest |B_ij|, ascending, into their slots. */
static void
pruned_rows(void *arg, int worker, size_t begin, size_t end)
{
	const ease_job *job = arg;
	size_t		m = (size_t) job->m;
	rs_scored  *heap = job->scratch[worker].heap;

	for (size_t j = begin; j < end; j++)
	{
		/* column j of P is row j: P is symmetric */
		const float *row = job->matrix + j * m;
		float		p_jj = job->diagonal[j];
		size_t		size = 0;

		for (size_t i = 0; i < m; i++)
		{
			float		w = ease_weight(row[i], p_jj);

			if (i != j && w != 0.0f)
				rs_top_k_offer(heap, &size, job->k, (rs_scored) {fabsf(w), (int32_t) i});
		}
		rs_top_k_sort_by_index(heap, size);
		for (size_t t = 0; t < size; t++)
		{
			job->slot_items[j * job->k + t] = heap[t].index;
			job->slot_weights[j * job->k + t] = ease_weight(row[heap[t].index], p_jj);
		}
		job->row_length[j] = (int32_t) size;
	}
}

/* An item and its training users, for choosing the most popular. */
typedef struct ease_popular
{
	size_t		users;
	int32_t		index;
} ease_popular;

/* Most users first, ties to the lower index. */
static int
by_popularity(const void *x, const void *y)
{
	const ease_popular *a = x,
			   *b = y;

	if (a->users != b->users)
		return a->users > b->users ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

void
rs_ease_result_free(rs_ease_result *r, const rs_allocator *a)
{
	rs_free(a, r->items);
	rs_free(a, r->matrix);
	rs_free(a, r->neighbor_ptr);
	rs_free(a, r->neighbor_items);
	rs_free(a, r->neighbor_weights);
	rs_free(a, r->item_popularity);
	rs_free(a, r->item_ids);
	rs_free(a, r->seen_ptr);
	rs_free(a, r->seen_items);
	rs_free(a, r->seen_values);
	memset(r, 0, sizeof(*r));
}

/*
 * Chooses the modelled items (into map: the data's index -> the modelled
 * one, or -1) and fills the result's items, ids, popularity and the
 * restricted seen CSR.
 */
static rs_status
choose_items(const rs_interactions *d, int32_t m, const rs_allocator *a, int32_t *map,
			 rs_ease_result *r)
{
	int32_t		n = d->n_items,
				next = 0;
	uint64_t	total = 0;

	if (m < n)
	{
		ease_popular *order = rs_alloc(a, sizeof(ease_popular) * (size_t) n);

		if (!order)
			return RS_NO_MEMORY;
		for (int32_t i = 0; i < n; i++)
			order[i] = (ease_popular) {d->item_ptr[i + 1] - d->item_ptr[i], i};
		qsort(order, (size_t) n, sizeof(ease_popular), by_popularity);
		for (int32_t t = 0; t < n; t++)
			map[order[t].index] = t < m;
		rs_free(a, order);
	}
	else
		for (int32_t i = 0; i < n; i++)
			map[i] = 1;

	/* the chosen in ascending order: the map becomes the new indices */
	for (int32_t i = 0; i < n; i++)
	{
		if (!map[i])
		{
			map[i] = -1;
			continue;
		}
		map[i] = next;
		r->items[next] = i;
		r->item_ids[next] = d->item_ids[i];
		r->item_popularity[next] = (float) (d->item_ptr[i + 1] - d->item_ptr[i]);
		next++;
	}

	r->seen_ptr[0] = 0;
	for (int32_t u = 0; u < d->n_users; u++)
	{
		for (size_t p = d->user_ptr[u]; p < d->user_ptr[u + 1]; p++)
			total += map[d->user_items[p]] >= 0;
		r->seen_ptr[u + 1] = total;
	}
	r->seen_items = rs_alloc(a, sizeof(int32_t) * total);
	r->seen_values = rs_alloc(a, sizeof(float) * total);
	if (!r->seen_items || !r->seen_values)
		return RS_NO_MEMORY;
	total = 0;
	for (int32_t u = 0; u < d->n_users; u++)
		for (size_t p = d->user_ptr[u]; p < d->user_ptr[u + 1]; p++)
			if (map[d->user_items[p]] >= 0)
			{
				r->seen_items[total] = map[d->user_items[p]];
				r->seen_values[total++] = d->user_values[p];
			}
	return RS_OK;
}

static rs_status
ease_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
		rs_ease_result *r)
{
	const rs_allocator *a = &rt->alloc;
	double		started = rs_now();
	double		lambda = opt[RS_EASE_LAMBDA];
	int64_t		max_items = (int64_t) opt[RS_EASE_MAX_ITEMS],
				prune = (int64_t) opt[RS_EASE_PRUNE];
	bool		pruned = prune > 0;
	int32_t		m = max_items > 0 && max_items < d->n_items ? (int32_t) max_items : d->n_items;
	size_t		k = 0,
				chunks = ((size_t) m + GRAM_ROWS_PER_CHUNK - 1) / GRAM_ROWS_PER_CHUNK;
	uint64_t	matrix_bytes = (uint64_t) m * (uint64_t) m * sizeof(float);
	int			threads = rt->threads < 1 ? 1 : rt->threads;
	int32_t    *map = NULL,
			   *slot_items = NULL,
			   *row_length = NULL;
	float	   *matrix = NULL,
			   *diagonal = NULL,
			   *slot_weights = NULL;
	ease_scratch *scratch = NULL;
	rs_pool    *pool = NULL;
	ease_job	job;
	rs_status	status = RS_OK;

	memset(r, 0, sizeof(*r));
	/* a target has at most m - 1 sources */
	if (pruned)
		k = (size_t) (prune < m - 1 ? prune : (m > 0 ? m - 1 : 0));

	/* the shape alone says whether it fits: nothing allocated yet */
	if (matrix_bytes > RS_EASE_MAX_TRAINING_BYTES ||
		(!pruned && matrix_bytes > RS_EASE_MAX_MODEL_BYTES) ||
		(pruned && (uint64_t) m * k * (sizeof(int32_t) + sizeof(float)) >
		 RS_EASE_MAX_MODEL_BYTES))
		return RS_TOO_LARGE;

	r->n_items = m;
	r->lambda = lambda;
	r->prune = (int) prune;
	/* no more threads than chunks: each costs m ints of scratch */
	if ((size_t) threads > chunks)
		threads = chunks > 0 ? (int) chunks : 1;

	map = rs_alloc(a, sizeof(int32_t) * (size_t) d->n_items);
	r->items = rs_alloc(a, sizeof(int32_t) * (size_t) m);
	r->item_ids = rs_alloc(a, sizeof(int64_t) * (size_t) m);
	r->item_popularity = rs_alloc(a, sizeof(float) * (size_t) m);
	r->seen_ptr = rs_alloc(a, sizeof(uint64_t) * ((size_t) d->n_users + 1));
	if (!map || !r->items || !r->item_ids || !r->item_popularity || !r->seen_ptr)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	if ((status = choose_items(d, m, a, map, r)) != RS_OK)
		goto done;

	/* everything else before the long computation, which then cannot run out */
	matrix = rs_alloc(a, (size_t) matrix_bytes);
	diagonal = rs_alloc(a, sizeof(float) * (size_t) m);
	if (pruned)
	{
		r->neighbor_ptr = rs_alloc(a, sizeof(uint64_t) * ((size_t) m + 1));
		slot_items = rs_alloc(a, sizeof(int32_t) * (size_t) m * k);
		slot_weights = rs_alloc(a, sizeof(float) * (size_t) m * k);
		row_length = rs_alloc(a, sizeof(int32_t) * (size_t) m);
	}
	scratch = rs_alloc(a, sizeof(ease_scratch) * (size_t) threads);
	if (scratch)
		memset(scratch, 0, sizeof(ease_scratch) * (size_t) threads);
	if (!matrix || !diagonal || !scratch ||
		(pruned && (!r->neighbor_ptr || !slot_items || !slot_weights || !row_length)))
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	for (int w = 0; w < threads; w++)
	{
		scratch[w].count = rs_alloc(a, sizeof(int32_t) * (size_t) m);
		if (!scratch[w].count ||
			(pruned && !(scratch[w].heap = rs_alloc(a, sizeof(rs_scored) * k))))
		{
			status = RS_NO_MEMORY;
			goto done;
		}
		memset(scratch[w].count, 0, sizeof(int32_t) * (size_t) m);
	}
	pool = rs_pool_create(threads, a);
	if (!pool)
	{
		status = RS_NO_MEMORY;
		goto done;
	}

	job = (ease_job) {d, r->items, r->seen_ptr, r->seen_items, m, lambda, matrix, diagonal,
		k, slot_items, slot_weights, row_length, scratch};
	if ((status = rs_pool_run(pool, rt, (size_t) m, GRAM_ROWS_PER_CHUNK, gram_rows,
							  &job)) != RS_OK)
		goto done;

	/* P = G^-1, the row-major lower triangle */
	if ((status = rs_spd_invert(matrix, m, pool, rt)) != RS_OK)
		goto done;
	if ((status = rs_pool_run(pool, rt, (size_t) m, MATRIX_ROWS_PER_CHUNK, symmetrise_rows,
							  &job)) != RS_OK)
		goto done;
	for (int32_t j = 0; j < m; j++)
		diagonal[j] = matrix[(size_t) j * (size_t) m + (size_t) j];

	if (!pruned)
	{
		if ((status = rs_pool_run(pool, rt, (size_t) m, MATRIX_ROWS_PER_CHUNK, dense_rows,
								  &job)) != RS_OK)
			goto done;
		r->matrix = matrix;
		matrix = NULL;
	}
	else
	{
		if ((status = rs_pool_run(pool, rt, (size_t) m, MATRIX_ROWS_PER_CHUNK, pruned_rows,
								  &job)) != RS_OK)
			goto done;
		/* P is done with: free it before the lists are packed */
		rs_free(a, matrix);
		matrix = NULL;
		if ((status = rs_top_k_pack(m, NULL, k, row_length, slot_items, slot_weights, a,
									r->neighbor_ptr, &r->neighbor_items,
									&r->neighbor_weights)) != RS_OK)
			goto done;
	}
	/* one solve and no loss: the report says when it is done */
	if (rt->progress)
		rt->progress(rt->arg, 1, NAN, rs_now() - started);

done:
	rs_pool_destroy(pool, a);
	if (scratch)
		for (int w = 0; w < threads; w++)
		{
			rs_free(a, scratch[w].count);
			rs_free(a, scratch[w].heap);
		}
	rs_free(a, scratch);
	rs_free(a, slot_items);
	rs_free(a, slot_weights);
	rs_free(a, row_length);
	rs_free(a, diagonal);
	rs_free(a, matrix);
	rs_free(a, map);
	if (status != RS_OK)
		rs_ease_result_free(r, a);
	return status;
}

/* The fit with subnormals flushed (fp_mode.h). */
rs_status
rs_ease_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
			rs_ease_result *r)
{
	rs_fp_scope scope;
	rs_status	status = ease_fit(d, opt, rs_fp_scope_begin(&scope, rt), r);

	rs_fp_scope_end(&scope);
	return status;
}

void
rs_ease_model(const rs_interactions *d, const rs_ease_result *r, rs_model *m)
{
	/* the users, and the modelled items with their interactions only */
	rs_model_of_interactions(d, RS_ALGO_EASE, m);
	m->n_items = r->n_items;
	m->n_interactions = r->seen_ptr[d->n_users];
	m->item_ids = r->item_ids;
	m->seen_ptr = r->seen_ptr;
	m->seen_items = r->seen_items;
	m->seen_values = r->seen_values;
	m->item_popularity = r->item_popularity;
	m->item_matrix = r->matrix;
	m->neighbor_ptr = r->neighbor_ptr;
	m->neighbor_items = r->neighbor_items;
	m->neighbor_weights = r->neighbor_weights;
	/* kept for the record: scoring needs only B */
	m->params.regularization = (float) r->lambda;
}

/*
 * item's score for a history (ascending): dense, its column of B down the
 * history's rows; pruned, a merge of its source list with the history.
 */
static float
history_score(const rs_model *m, int32_t item, const int32_t *items, size_t n)
{
	float		sum = 0.0f;

	if (m->item_matrix)
	{
		for (size_t h = 0; h < n; h++)
			if (items[h] >= 0 && items[h] < m->n_items)
				sum += m->item_matrix[(size_t) items[h] * (size_t) m->n_items + (size_t) item];
		return sum;
	}
	for (uint64_t p = m->neighbor_ptr[item], h = 0; p < m->neighbor_ptr[item + 1] && h < n; p++)
	{
		h = rs_lower_bound(items, h, n, m->neighbor_items[p]);
		if (h < n && items[h] == m->neighbor_items[p])
			sum += m->neighbor_weights[p];
	}
	return sum;
}

double
rs_ease_predict(const rs_model *m, int32_t user, int32_t item)
{
	uint64_t	begin;

	if (user < 0 || item < 0 || user >= m->n_users || item >= m->n_items)
		return NAN;
	begin = m->seen_ptr[user];
	return (double) history_score(m, item, m->seen_items + begin,
								  m->seen_ptr[user + 1] - begin);
}

rs_status
rs_ease_score_items(const rs_model *m, const int32_t *items, size_t n, const rs_allocator *a,
					float *scores)
{
	int32_t		n_items = m->n_items;
	bool	   *in_history;

	memset(scores, 0, sizeof(float) * (size_t) n_items);
	if (m->item_matrix)
	{
		/* scores += row i of B for each history item i, in ascending order */
		for (size_t h = 0; h < n; h++)
			if (items[h] >= 0 && items[h] < n_items)
				cblas_saxpy(n_items, 1.0f, m->item_matrix + (size_t) items[h] * (size_t) n_items,
							1, scores, 1);
		return RS_OK;
	}

	in_history = rs_alloc(a, sizeof(bool) * (size_t) n_items);
	if (!in_history)
		return RS_NO_MEMORY;
	memset(in_history, 0, sizeof(bool) * (size_t) n_items);
	for (size_t h = 0; h < n; h++)
		if (items[h] >= 0 && items[h] < n_items)
			in_history[items[h]] = true;
	for (int32_t j = 0; j < n_items; j++)
	{
		float		sum = 0.0f;

		for (uint64_t p = m->neighbor_ptr[j]; p < m->neighbor_ptr[j + 1]; p++)
			if (in_history[m->neighbor_items[p]])
				sum += m->neighbor_weights[p];
		scores[j] = sum;
	}
	rs_free(a, in_history);
	return RS_OK;
}

rs_status
rs_ease_explain(const rs_model *m, const int32_t *items, size_t n, int32_t item,
				double *contributions)
{
	for (size_t h = 0; h < n; h++)
		contributions[h] = 0.0;
	if (item < 0 || item >= m->n_items)
		return RS_OK;
	if (m->item_matrix)
	{
		for (size_t h = 0; h < n; h++)
			if (items[h] >= 0 && items[h] < m->n_items)
				contributions[h] =
					m->item_matrix[(size_t) items[h] * (size_t) m->n_items + (size_t) item];
		return RS_OK;
	}
	for (uint64_t p = m->neighbor_ptr[item], h = 0; p < m->neighbor_ptr[item + 1] && h < n; p++)
	{
		h = rs_lower_bound(items, h, n, m->neighbor_items[p]);
		if (h < n && items[h] == m->neighbor_items[p])
			contributions[h] = m->neighbor_weights[p];
	}
	return RS_OK;
}

void
rs_ease_similar(const rs_model *m, int32_t item, float *scores)
{
	size_t		n_items = (size_t) m->n_items;

	if (m->item_matrix)
		memcpy(scores, m->item_matrix + (size_t) item * n_items, sizeof(float) * n_items);
	else
		/* item among the sources of each target k: a binary search per list */
		for (size_t k = 0; k < n_items; k++)
		{
			uint64_t	begin = m->neighbor_ptr[k],
						end = m->neighbor_ptr[k + 1];
			size_t		p = rs_lower_bound(m->neighbor_items, begin, end, item);

			scores[k] = p < end && m->neighbor_items[p] == item ? m->neighbor_weights[p] : 0.0f;
		}
	scores[item] = 0.0f;
}

/* Megabytes, rounded up, for messages. */
static unsigned long long
megabytes(uint64_t bytes)
{
	return (unsigned long long) ((bytes + (1 << 20) - 1) >> 20);
}

/*
 * The item-item matrix is items^2 floats: say before training whether it
 * fits, and what to do when it does not.
 */
static bool
check_size(const rs_interactions *d, const double *options, rs_report *why)
{
	int64_t		modelled = d->n_items;
	uint64_t	bytes;

	if (options[RS_EASE_MAX_ITEMS] > 0 && options[RS_EASE_MAX_ITEMS] < modelled)
		modelled = (int64_t) options[RS_EASE_MAX_ITEMS];
	bytes = (uint64_t) modelled * (uint64_t) modelled * sizeof(float);
	if (bytes > RS_EASE_MAX_TRAINING_BYTES)
	{
		snprintf(why->message, sizeof(why->message), "too many items for train_ease: %lld",
				 (long long) modelled);
		snprintf(why->detail, sizeof(why->detail),
				 "Training holds an item-item matrix of %llu MB; at most %llu MB are allowed.",
				 megabytes(bytes), megabytes(RS_EASE_MAX_TRAINING_BYTES));
		snprintf(why->hint, sizeof(why->hint),
				 "Set \"max_items\" to model only the most popular items.");
		return false;
	}
	if (options[RS_EASE_PRUNE] > 0)
	{
		/* each item keeps up to prune weights of the others: an index and a float each */
		int64_t		others = modelled > 1 ? modelled - 1 : 0;
		uint64_t	kept = (uint64_t) ((int64_t) options[RS_EASE_PRUNE] < others ?
									   (int64_t) options[RS_EASE_PRUNE] : others);
		uint64_t	list_bytes = (uint64_t) modelled * kept * (sizeof(int32_t) + sizeof(float));

		if (list_bytes <= RS_EASE_MAX_MODEL_BYTES)
			return true;
		snprintf(why->message, sizeof(why->message),
				 "an EASE model of %lld items pruned to %llu weights each would exceed the 1 GB limit of a bytea value",
				 (long long) modelled, (unsigned long long) kept);
		snprintf(why->detail, sizeof(why->detail), "Its weight lists take %llu MB.",
				 megabytes(list_bytes));
		snprintf(why->hint, sizeof(why->hint),
				 "Set a smaller \"prune\", or \"max_items\" to model only the most popular items.");
		return false;
	}
	if (bytes <= RS_EASE_MAX_MODEL_BYTES)
		return true;
	snprintf(why->message, sizeof(why->message),
			 "a dense EASE model of %lld items would exceed the 1 GB limit of a bytea value",
			 (long long) modelled);
	snprintf(why->detail, sizeof(why->detail), "Its item-item matrix takes %llu MB.",
			 megabytes(bytes));
	snprintf(why->hint, sizeof(why->hint),
			 "Set \"prune\" (e.g. 100) to keep the largest weights of each item as a sparse matrix, or \"max_items\" to model only the most popular items.");
	return false;
}

static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	rs_ease_result r;
	rs_status	status = rs_ease_fit(in->data, in->options, rt, &r);

	if (status == RS_OK)
		rs_ease_model(in->data, &r, &out->model);
	/* no iterations: the description's loss list stays empty */
	return status;
}

/* The weights are stored one way: dense, or pruned to lists. */
static const char *
check_sections(const rs_model_header *h, const unsigned char *bytes, rs_model *m)
{
	if (m->n_items > 0 && (m->item_matrix != NULL) == (m->neighbor_ptr != NULL))
		return "its item weights are missing or stored twice";
	return NULL;
}

/* A known user's history scored; an unknown one's baseline is popularity. */
static rs_status
score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	size_t		n;
	const int32_t *items = rs_seen_items(m, user, &n);

	if (user < 0)
		return rs_factor_score_items(m, -1, a, scores);
	return rs_ease_score_items(m, items, n, a, scores);
}

static rs_status
score_history(const rs_model *m, const int32_t *items, const float *values, size_t n,
			  const rs_allocator *a, float *scores)
{
	return rs_ease_score_items(m, items, n, a, scores);
}

static rs_status
explain(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
		double *contributions, double *baseline)
{
	size_t		n;
	const int32_t *items = rs_seen_items(m, user, &n);

	*baseline = 0.0;
	return rs_ease_explain(m, items, n, item, contributions);
}

static size_t
similar(const rs_model *m, int32_t item, float *scores)
{
	rs_ease_similar(m, item, scores);
	return (size_t) m->n_items;
}

#define BIT RS_SECTION_BIT

const rs_kind rs_ease_kind = {
	.algorithm = RS_ALGO_EASE,
	.name = "ease",
	.trainer = "train_ease",
	.training = "EASE training",
	.input = RS_INPUT_INTERACTIONS,
	.options = rs_ease_option_specs,
	.n_options = RS_EASE_OPTION_COUNT,
	.threads_option = RS_EASE_THREADS,
	.factors_option = -1,
	.users_option = -1,
	.verbose_option = RS_EASE_VERBOSE,
	.iterations_option = -1,
	.chosen_by = {-1, 0},
	.search = {{RS_EASE_LAMBDA, 10, 5000}},
	.n_search = 1,
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) |
	BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_INFO),
	/* the weights, dense or pruned to a neighbour list (check_sections) */
	.optional_sections = BIT(RS_SEC_ITEM_MATRIX) | BIT(RS_SEC_NEIGHBOR_PTR) |
	BIT(RS_SEC_NEIGHBOR_ITEMS) | BIT(RS_SEC_NEIGHBOR_WEIGHTS),
	.check_size = check_size,
	.fit = fit,
	.check_sections = check_sections,
	.predict = rs_ease_predict,
	.score_items = score_items,
	.score_items_batch = rs_score_items_each,
	.score_history = score_history,
	.explain = explain,
	.similar = similar,
};
