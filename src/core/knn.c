/*
 * knn.c - item-based collaborative filtering: every item's nearest items by
 * a similarity of their users, and the scores that sum over them.
 *
 * Sarwar, Karypis, Konstan, Riedl 2001, "Item-based collaborative filtering
 * recommendation algorithms" (WWW); shrinkage of the similarities as in
 * Koren 2008/2010 ("Factor in the neighbors", TKDD); ratings scored with
 * baseline predictors as in Koren 2008, "Factorization meets the
 * neighborhood" (KDD), section 2.2 (Surprise's KNNBaseline).
 *
 * Similarities.  For items i and j, U_i the users of i, U_ij = U_i & U_j
 * and n_ij = |U_ij|:
 *
 *   cosine           sum_{U_ij} r_ui r_uj / (|r_.i| |r_.j|)
 *   adjusted_cosine  the same on r_ui - mean_u, the user's mean value
 *   jaccard          n_ij / (|U_i| + |U_j| - n_ij)
 *
 * the norms |r_.i| taken over each item's own users, so that sharing a few
 * users with a popular item counts for little.  Each is then shrunk towards
 * 0 by n_ij / (n_ij + shrinkage): a similarity resting on two common users
 * is mostly noise.  Pairs with n_ij < min_support get none.  Only positive
 * similarities are kept: a negative neighbour would push an item down for
 * having something in common with the user, which hurts a top-N ranking,
 * and with mixed signs the normalising sum of |s| no longer makes the
 * explicit prediction a (shrunk) weighted mean.  Each item keeps its `neighbors`
 * best by weight (the float stored, ties to the lower item index), stored
 * in ascending item order so that scoring merges them with a history.
 *
 * Computation.  Row i of the similarity matrix is a sparse row times a
 * sparse matrix: for each user u of i and each item j of u, add r_ui r_uj to
 * a dense accumulator of n_items doubles, and note j the first time it is
 * touched; then turn the touched entries into similarities, keep the best
 * in a bounded heap and reset only what was touched.  Row i costs
 * sum_{u in U_i} |I_u|, the whole sum_u |I_u|^2.  For every j the terms are
 * added in ascending user order whoever computes the row, so the result is
 * identical on any number of threads: each thread has its own accumulator,
 * writes rows into slots of per-item scratch sized by a bound on the row,
 * and the rows are packed into the CSR in item order afterwards.
 *
 * Scoring.  The similarity is symmetric but the truncation to the top k is
 * not: j may be among i's neighbours and i not among j's.  An item is
 * scored from its own neighbours (Sarwar's definition), the user's items j
 * among the neighbours of i.  So scoring every item walks every neighbour
 * row once against a dense marker of the history, O(n_items * neighbors)
 * whatever the history, and needs no inverted index.
 *
 * Preferences (implicit feedback) score i by sum_j s_ij: the more of the
 * user's items resemble i, and the closer, the higher.
 *
 * Ratings (explicit feedback) are scored against baseline predictors:
 *
 *   score(u, i) = b_ui + sum_j s_ij (r_uj - b_uj) / (sum_j s_ij + lambda_w)
 *   b_ui = mu + b_u + b_i
 *
 * b_ui alone when the user has none of i's neighbours (whatever lambda_w:
 * there is no 0 / 0).  mu is the mean of every training value, then, one
 * pass each,
 *
 *   b_i = sum_{u in U_i} (r_ui - mu) / (lambda + |U_i|)
 *   b_u = sum_{i in I_u} (r_ui - mu - b_i) / (lambda + |I_u|)
 *
 * lambda the bias_shrinkage: an item or a user known from a rating or two
 * keeps a bias near 0 rather than that rating's whim.  On sparse ratings
 * the baseline carries most of what they say, how generous a user is and
 * how well liked an item; the few co-rated neighbours are noisy, so they
 * only add the user's own deviations from the baseline on items like i.
 * Sarwar's item-mean-centred average (i's raw mean plus the neighbours'
 * deviations from their raw means) has no user bias and unshrunk means,
 * and on real ratings (MovieTweetings) did worse than the bias baseline
 * alone: RMSE 1.73 against 1.54.
 *
 * lambda_w, the weight_shrinkage, makes the deviation term a shrunk mean,
 * as the biases are: the user's deviations on i's neighbours, weighted by
 * similarity, pulled towards 0 (the baseline) by lambda_w as though it were
 * the weight of one more neighbour with no deviation.  Koren's plain
 * normalised mean (lambda_w = 0) gives a neighbour set of one weak
 * neighbour the full weight of its deviation: however little alike the two
 * items are, the score moves by all of it.  Shrunk, a few weak neighbours (sum s_ij well below lambda_w)
 * move the baseline little and many strong ones (sum s_ij well above it)
 * almost fully.  On MovieTweetings the plain mean gave RMSE 1.635, worse
 * than the baseline alone (1.543); lambda_w = 1, the default, gives 1.537.
 *
 * A newcomer's b_u comes from their history by the function training
 * used for everyone's, with mu, the stored b_i and lambda from the model;
 * training computes with the lambda as the model stores it, a float.  So a
 * known user's own history gives back their stored b_u to the bit, and the
 * same scores as rs_knn_predict.  lambda_w is stored as a float too (the
 * model's params.regularization), and every scoring function reads it
 * from the model: a decoded model scores as the one in memory.
 */
#include "knn.h"

#include "factor_model.h"
#include "fp_mode.h"
#include "kind.h"
#include "scoring.h"
#include "thread_pool.h"
#include "top_k.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "seen_ptr is stored as uint64");

/*
 * Items per chunk of the pool, hence between two polls for a cancel: the
 * most popular items each cost a pass over millions of interactions.
 */
#define ITEMS_PER_CHUNK 8

static const char *const similarity_choices[] = {"cosine", "adjusted_cosine", "jaccard", NULL};
static const char *const feedback_choices[] = {"implicit", "explicit", NULL};

const rs_option_spec rs_knn_option_specs[RS_KNN_OPTION_COUNT] = {
	[RS_KNN_SIMILARITY] = {"similarity", RS_OPT_CHOICE, RS_KNN_COSINE, 0, 0, false,
	similarity_choices},
	[RS_KNN_FEEDBACK] = {"feedback", RS_OPT_CHOICE, RS_KNN_FEEDBACK_IMPLICIT, 0, 0, false,
	feedback_choices},
	[RS_KNN_NEIGHBORS] = {"neighbors", RS_OPT_INT, 50, 1, 10000, false, NULL},
	[RS_KNN_SHRINKAGE] = {"shrinkage", RS_OPT_REAL, 10, 0, 1e9, false, NULL},
	[RS_KNN_MIN_SUPPORT] = {"min_support", RS_OPT_INT, 1, 1, 2147483647, false, NULL},
	[RS_KNN_BIAS_SHRINKAGE] = {"bias_shrinkage", RS_OPT_REAL, 3, 0, 1e9, false, NULL},
	[RS_KNN_WEIGHT_SHRINKAGE] = {"weight_shrinkage", RS_OPT_REAL, 1, 0, 1e9, false, NULL},
	[RS_KNN_THREADS] = {"threads", RS_OPT_INT, 0, 0, 1024, false, NULL},
	[RS_KNN_VERBOSE] = {"verbose", RS_OPT_BOOL, 0, 0, 1, false, NULL},
};

/* One thread's scratch for computing rows. */
typedef struct knn_scratch
{
	double	   *dot;			/* n_items, zero between rows; NULL for jaccard */
	int32_t    *support;		/* n_items common users, zero between rows */
	int32_t    *touched;		/* items with support > 0 in the current row */
	rs_scored  *heap;			/* the best k so far, worst at the root */
} knn_scratch;

/* The work shared by the threads. */
typedef struct knn_job
{
	const rs_interactions *data;
	int			similarity;
	double		shrinkage;
	int64_t		min_support;
	size_t		k;
	const double *user_mean;	/* adjusted cosine: subtracted from values */
	const double *norm;			/* cosine, adjusted cosine: per item */
	const size_t *slot_ptr;		/* where each item's row goes in the slots */
	int32_t    *slot_items;
	float	   *slot_weights;
	int32_t    *row_length;
	knn_scratch *scratch;		/* one per worker */
} knn_job;

/* A value as the similarity sees it: centred on the user's mean or not. */
static inline double
centred(float value, const double *user_mean, int32_t u)
{
	return user_mean ? (double) value - user_mean[u] : (double) value;
}

/*
 * b_u of a history (ascending, distinct items; values its ratings): the
 * user's mean deviation from mu + b_i, shrunk towards 0 by lambda; 0 for
 * an empty history.  Training and every scoring function get b_u from
 * here alone, so that they agree to the last bit.  Items the model lacks
 * are passed over.
 */
static double
history_user_bias(double mu, const float *item_bias, int32_t n_items, double lambda,
				  const int32_t *items, const float *values, size_t n)
{
	double		deviation = 0.0;
	size_t		used = 0;

	for (size_t k = 0; k < n; k++)
	{
		if (items[k] < 0 || items[k] >= n_items)
			continue;
		deviation += (double) values[k] - mu - (double) item_bias[items[k]];
		used++;
	}
	return used > 0 ? deviation / (lambda + (double) used) : 0.0;
}

/* Computes item i's neighbours into its slot. */
static void
neighbour_row(const knn_job *job, knn_scratch *s, int32_t i)
{
	const rs_interactions *d = job->data;
	/*
	 * Locals, so that the stores to the accumulator need not be taken to
	 * change the pointers (the build disables strict aliasing).
	 */
	const size_t *user_ptr = d->user_ptr;
	const int32_t *user_items = d->user_items;
	const float *user_values = d->user_values;
	double	   *dot = s->dot;
	int32_t    *support = s->support;
	int32_t    *touched_items = s->touched;
	size_t		touched = 0,
				kept = 0;
	int64_t		users_i = (int64_t) (d->item_ptr[i + 1] - d->item_ptr[i]);

	/* row i of R'R, and the common users, over the items of i's users */
	for (size_t q = d->item_ptr[i]; q < d->item_ptr[i + 1]; q++)
	{
		int32_t		u = d->item_users[q];
		double		mean = job->user_mean ? job->user_mean[u] : 0.0;
		double		vi = (double) d->item_values[q] - mean;
		size_t		end = user_ptr[u + 1];

		/* one loop per case: this is where the time goes */
		if (dot)
			for (size_t p = user_ptr[u]; p < end; p++)
			{
				int32_t		j = user_items[p];

				if (j == i)
					continue;
				if (support[j]++ == 0)
					touched_items[touched++] = j;
				dot[j] += vi * ((double) user_values[p] - mean);
			}
		else
			for (size_t p = user_ptr[u]; p < end; p++)
			{
				int32_t		j = user_items[p];

				if (j != i && support[j]++ == 0)
					touched_items[touched++] = j;
			}
	}

	for (size_t t = 0; t < touched; t++)
	{
		int32_t		j = touched_items[t];
		int64_t		n = support[j];
		double		sim;
		rs_scored	cand;

		support[j] = 0;
		if (job->similarity == RS_KNN_JACCARD)
			sim = (double) n /
				(double) (users_i + (int64_t) (d->item_ptr[j + 1] - d->item_ptr[j]) - n);
		else
		{
			double		denominator = job->norm[i] * job->norm[j];

			sim = denominator > 0.0 ? dot[j] / denominator : 0.0;
			dot[j] = 0.0;		/* reset as it is read */
		}
		if (n < job->min_support)
			continue;
		sim *= (double) n / ((double) n + job->shrinkage);
		cand.score = (float) sim;
		cand.index = j;
		/* also drops a NaN or a weight that rounds to 0 */
		if (!(cand.score > 0.0f) || !isfinite(cand.score))
			continue;
		/* the best by weight, ties to the lower index (top_k.c) */
		rs_top_k_offer(s->heap, &kept, (size_t) job->k, cand);
	}

	rs_top_k_sort_by_index(s->heap, kept);
	for (size_t t = 0; t < kept; t++)
	{
		job->slot_items[job->slot_ptr[i] + t] = s->heap[t].index;
		job->slot_weights[job->slot_ptr[i] + t] = s->heap[t].score;
	}
	job->row_length[i] = (int32_t) kept;
}

static void
neighbour_rows(void *arg, int worker, size_t begin, size_t end)
{
	const knn_job *job = arg;

	for (size_t i = begin; i < end; i++)
		neighbour_row(job, &job->scratch[worker], (int32_t) i);
}

void
rs_knn_result_free(rs_knn_result *r, const rs_allocator *a)
{
	rs_free(a, r->neighbor_ptr);
	rs_free(a, r->neighbor_items);
	rs_free(a, r->neighbor_weights);
	rs_free(a, r->item_bias);
	rs_free(a, r->user_bias);
	rs_free(a, r->item_popularity);
	memset(r, 0, sizeof(*r));
}

static rs_status
knn_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
		rs_knn_result *r)
{
	const rs_allocator *a = &rt->alloc;
	double		started = rs_now();
	int32_t		n_items = d->n_items;
	int			similarity = (int) opt[RS_KNN_SIMILARITY];
	bool		rating = (int) opt[RS_KNN_FEEDBACK] == RS_KNN_FEEDBACK_EXPLICIT;
	size_t		k = (size_t) opt[RS_KNN_NEIGHBORS];
	size_t		chunks = ((size_t) n_items + ITEMS_PER_CHUNK - 1) / ITEMS_PER_CHUNK;
	int			threads = rt->threads < 1 ? 1 : rt->threads;
	double		sum = 0.0,
				lambda;
	double	   *user_mean = NULL,
			   *norm = NULL;
	size_t	   *slot_ptr = NULL;
	int32_t    *slot_items = NULL,
			   *row_length = NULL;
	float	   *slot_weights = NULL;
	knn_scratch *scratch = NULL;
	rs_pool    *pool = NULL;
	knn_job		job;
	rs_status	status = RS_OK;

	memset(r, 0, sizeof(*r));
	r->similarity = similarity;
	r->feedback = rating ? RS_KNN_FEEDBACK_EXPLICIT : RS_KNN_FEEDBACK_IMPLICIT;
	/* the float the model will store: a newcomer's b_u is computed with it */
	r->bias_shrinkage = rating ? (float) opt[RS_KNN_BIAS_SHRINKAGE] : 0.0f;
	/* stored for scoring alone: fitting needs no lambda_w */
	r->weight_shrinkage = rating ? (float) opt[RS_KNN_WEIGHT_SHRINKAGE] : 0.0f;
	lambda = (double) r->bias_shrinkage;
	/* an item has at most n_items - 1 neighbours */
	if (k > (size_t) (n_items > 0 ? n_items - 1 : 0))
		k = (size_t) (n_items > 0 ? n_items - 1 : 0);
	/* no more threads than chunks: each costs n_items of scratch */
	if ((size_t) threads > chunks)
		threads = chunks > 0 ? (int) chunks : 1;

	r->neighbor_ptr = rs_alloc(a, sizeof(uint64_t) * ((size_t) n_items + 1));
	r->item_popularity = rs_item_popularity(d, a);
	if (rating)
	{
		r->item_bias = rs_alloc(a, sizeof(float) * (size_t) n_items);
		r->user_bias = rs_alloc(a, sizeof(float) * (size_t) d->n_users);
	}
	if (similarity == RS_KNN_ADJUSTED_COSINE)
		user_mean = rs_alloc(a, sizeof(double) * (size_t) d->n_users);
	if (similarity != RS_KNN_JACCARD)
		norm = rs_alloc(a, sizeof(double) * (size_t) n_items);
	slot_ptr = rs_alloc(a, sizeof(size_t) * ((size_t) n_items + 1));
	row_length = rs_alloc(a, sizeof(int32_t) * (size_t) n_items);
	if (!r->neighbor_ptr || !r->item_popularity ||
		(rating && (!r->item_bias || !r->user_bias)) ||
		(similarity == RS_KNN_ADJUSTED_COSINE && !user_mean) ||
		(similarity != RS_KNN_JACCARD && !norm) || !slot_ptr || !row_length)
	{
		status = RS_NO_MEMORY;
		goto done;
	}

	for (size_t p = 0; p < d->nnz; p++)
		sum += d->user_values[p];
	r->global_mean = d->nnz ? sum / (double) d->nnz : 0.0;
	if (user_mean)
		for (int32_t u = 0; u < d->n_users; u++)
		{
			double		s = 0.0;

			for (size_t p = d->user_ptr[u]; p < d->user_ptr[u + 1]; p++)
				s += d->user_values[p];
			user_mean[u] = d->user_ptr[u + 1] > d->user_ptr[u] ?
				s / (double) (d->user_ptr[u + 1] - d->user_ptr[u]) : 0.0;
		}

	/*
	 * Per item: its bias, its norm, and a bound on its row: the neighbours
	 * kept, and no more than the other items of its users.
	 */
	slot_ptr[0] = 0;
	for (int32_t i = 0; i < n_items; i++)
	{
		double		deviation = 0.0,
					squares = 0.0;
		size_t		others = 0,
					users_i = d->item_ptr[i + 1] - d->item_ptr[i];

		for (size_t q = d->item_ptr[i]; q < d->item_ptr[i + 1]; q++)
		{
			int32_t		u = d->item_users[q];
			double		v = centred(d->item_values[q], user_mean, u);

			deviation += (double) d->item_values[q] - r->global_mean;
			squares += v * v;
			others += d->user_ptr[u + 1] - d->user_ptr[u] - 1;
		}
		/* an item without users (and lambda 0) must not divide 0 by 0 */
		if (r->item_bias)
			r->item_bias[i] = users_i > 0 ?
				(float) (deviation / (lambda + (double) users_i)) : 0.0f;
		if (norm)
			norm[i] = sqrt(squares);
		slot_ptr[i + 1] = slot_ptr[i] + (others < k ? others : k);
	}
	/* b_u after every b_i, from the b_i as stored, as scoring will compute it */
	if (r->user_bias)
		for (int32_t u = 0; u < d->n_users; u++)
			r->user_bias[u] = (float)
				history_user_bias(r->global_mean, r->item_bias, n_items, lambda,
								  d->user_items + d->user_ptr[u],
								  d->user_values + d->user_ptr[u],
								  d->user_ptr[u + 1] - d->user_ptr[u]);
	slot_items = rs_alloc(a, sizeof(int32_t) * slot_ptr[n_items]);
	slot_weights = rs_alloc(a, sizeof(float) * slot_ptr[n_items]);
	scratch = rs_alloc(a, sizeof(knn_scratch) * (size_t) threads);
	if (scratch)
		memset(scratch, 0, sizeof(knn_scratch) * (size_t) threads);
	if (!slot_items || !slot_weights || !scratch)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	for (int w = 0; w < threads; w++)
	{
		knn_scratch *s = &scratch[w];

		if (similarity != RS_KNN_JACCARD &&
			!(s->dot = rs_alloc(a, sizeof(double) * (size_t) n_items)))
		{
			status = RS_NO_MEMORY;
			goto done;
		}
		s->support = rs_alloc(a, sizeof(int32_t) * (size_t) n_items);
		s->touched = rs_alloc(a, sizeof(int32_t) * (size_t) n_items);
		s->heap = rs_alloc(a, sizeof(rs_scored) * k);
		if (!s->support || !s->touched || !s->heap)
		{
			status = RS_NO_MEMORY;
			goto done;
		}
		if (s->dot)
			memset(s->dot, 0, sizeof(double) * (size_t) n_items);
		memset(s->support, 0, sizeof(int32_t) * (size_t) n_items);
	}

	pool = rs_pool_create(threads, a);
	if (!pool)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	job = (knn_job) {d, similarity, opt[RS_KNN_SHRINKAGE], (int64_t) opt[RS_KNN_MIN_SUPPORT],
		k, user_mean, norm, slot_ptr, slot_items, slot_weights, row_length, scratch};
	if ((status = rs_pool_run(pool, rt, (size_t) n_items, ITEMS_PER_CHUNK, neighbour_rows,
							  &job)) != RS_OK)
		goto done;

	/* pack the rows, in item order */
	if ((status = rs_top_k_pack(n_items, slot_ptr, 0, row_length, slot_items, slot_weights, a,
								r->neighbor_ptr, &r->neighbor_items,
								&r->neighbor_weights)) != RS_OK)
		goto done;
	/* one pass and no loss: the report says when it is done */
	if (rt->progress)
		rt->progress(rt->arg, 1, NAN, rs_now() - started);

done:
	rs_pool_destroy(pool, a);
	if (scratch)
		for (int w = 0; w < threads; w++)
		{
			rs_free(a, scratch[w].dot);
			rs_free(a, scratch[w].support);
			rs_free(a, scratch[w].touched);
			rs_free(a, scratch[w].heap);
		}
	rs_free(a, scratch);
	rs_free(a, slot_items);
	rs_free(a, slot_weights);
	rs_free(a, slot_ptr);
	rs_free(a, row_length);
	rs_free(a, norm);
	rs_free(a, user_mean);
	if (status != RS_OK)
		rs_knn_result_free(r, a);
	return status;
}

/* The fit with subnormals flushed (fp_mode.h). */
rs_status
rs_knn_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
		   rs_knn_result *r)
{
	rs_fp_scope scope;
	rs_status	status = knn_fit(d, opt, rs_fp_scope_begin(&scope, rt), r);

	rs_fp_scope_end(&scope);
	return status;
}

void
rs_knn_model(const rs_interactions *d, const rs_knn_result *r, rs_model *m)
{
	bool		rating = r->feedback == RS_KNN_FEEDBACK_EXPLICIT;

	rs_model_of_interactions(d, RS_ALGO_KNN, m);
	m->global_mean = r->global_mean;
	m->item_popularity = r->item_popularity;
	m->neighbor_ptr = r->neighbor_ptr;
	m->neighbor_items = r->neighbor_items;
	m->neighbor_weights = r->neighbor_weights;
	/* the biases only for ratings: the item biases mark an explicit model */
	m->item_bias = rating ? r->item_bias : NULL;
	m->user_bias = rating ? r->user_bias : NULL;
	/* a newcomer's b_u is shrunk by the same lambda */
	m->params.bias_regularization = rating ? r->bias_shrinkage : 0.0f;
	/* every explicit score divides by sum s + lambda_w: stored with the model */
	m->params.regularization = rating ? r->weight_shrinkage : 0.0f;
}

/*
 * A known user's stored b_u.  A decoded model may lack the section (the
 * codec has both biases optional): its users then have none.
 */
static inline float
stored_user_bias(const rs_model *m, int32_t user)
{
	return m->user_bias ? m->user_bias[user] : 0.0f;
}

/* A history's b_u, rounded to a float as training stored everyone's. */
static float
score_user_bias(const rs_model *m, const int32_t *items, const float *values, size_t n)
{
	return (float) history_user_bias(m->global_mean, m->item_bias, m->n_items,
									 (double) m->params.bias_regularization,
									 items, values, n);
}

/*
 * An explicit model's lambda_w, as stored.  fit stores one in [0, 1e9]; a
 * decoded model's is only known to be a float, and a negative one (or NaN)
 * could bring the denominator sum |s| + lambda_w to 0 or below: taken as 0.
 */
static inline double
weight_shrinkage(const rs_model *m)
{
	double		lambda_w = (double) m->params.regularization;

	return lambda_w > 0.0 ? lambda_w : 0.0;
}

/* An explicit model's baseline b_ui = mu + b_u + b_i, the one expression of it. */
static inline double
knn_baseline(const rs_model *m, float user_bias, int32_t i)
{
	return m->global_mean + (double) user_bias + (double) m->item_bias[i];
}

/*
 * A score in the making.  Every scoring function below adds the neighbours
 * of an item that are in the history in ascending item order, through
 * these two, so they agree to the last bit.
 */
typedef struct knn_sum
{
	double		weighted;		/* implicit: sum s; explicit: sum s (r_j - b_uj) */
	double		weights;		/* explicit: sum |s| */
} knn_sum;

/*
 * The weights fit stores are all > 0, so sum |s| is sum s; a decoded
 * model's are only known to be finite, and with |s| a mixed-sign row still
 * cannot make the denominator vanish.
 */
static inline void
knn_add(knn_sum *sum, const rs_model *m, float user_bias, float weight, int32_t j,
		const float *value)
{
	if (m->item_bias)
	{
		sum->weighted += (double) weight * ((double) *value - knn_baseline(m, user_bias, j));
		sum->weights += fabs((double) weight);
	}
	else
		sum->weighted += (double) weight;
}

/*
 * Explicit: b_ui + sum s (r_j - b_uj) / (sum |s| + lambda_w); b_ui alone
 * without neighbours (sum |s| = 0, with lambda_w = 0 a 0 / 0).
 */
static inline double
knn_finish(const knn_sum *sum, const rs_model *m, float user_bias, int32_t i)
{
	if (!m->item_bias)
		return sum->weighted;
	if (sum->weights > 0.0)
		return knn_baseline(m, user_bias, i) +
			sum->weighted / (sum->weights + weight_shrinkage(m));
	return knn_baseline(m, user_bias, i);
}

/*
 * Item i's score for a history, by a merge of i's neighbours with it (both
 * ascending): a binary search per neighbour over what is left of the
 * history, O(k log n).
 */
static double
history_score(const rs_model *m, int32_t i, const int32_t *items, const float *values,
			  size_t n, float user_bias)
{
	knn_sum		sum = {0.0, 0.0};
	size_t		h = 0;

	for (uint64_t p = m->neighbor_ptr[i]; p < m->neighbor_ptr[i + 1] && h < n; p++)
	{
		int32_t		j = m->neighbor_items[p];

		h = rs_lower_bound(items, h, n, j);
		if (h < n && items[h] == j)
			knn_add(&sum, m, user_bias, m->neighbor_weights[p], j,
					values ? &values[h] : NULL);
	}
	return knn_finish(&sum, m, user_bias, i);
}

double
rs_knn_predict(const rs_model *m, int32_t user, int32_t item)
{
	float		user_bias;
	size_t		begin;

	if (!m->item_bias)
	{
		/* preferences: nothing is known of an unknown id */
		if (user < 0 || item < 0)
			return NAN;
		user_bias = 0.0f;
	}
	else
	{
		/* ratings: whatever is known of the baseline */
		user_bias = user >= 0 ? stored_user_bias(m, user) : 0.0f;
		if (item < 0)
			return m->global_mean + (double) user_bias;
		if (user < 0)
			return knn_baseline(m, 0.0f, item);
	}
	begin = m->seen_ptr[user];
	return history_score(m, item, m->seen_items + begin,
						 m->seen_values ? m->seen_values + begin : NULL,
						 m->seen_ptr[user + 1] - begin, user_bias);
}

rs_status
rs_knn_score_items(const rs_model *m, const int32_t *items, const float *values, size_t n,
				   const rs_allocator *a, float *scores)
{
	/* where each item is in the history, or -1 */
	int64_t    *position = rs_alloc(a, sizeof(int64_t) * (size_t) m->n_items);
	float		user_bias = m->item_bias ? score_user_bias(m, items, values, n) : 0.0f;

	if (!position)
		return RS_NO_MEMORY;
	for (int32_t i = 0; i < m->n_items; i++)
		position[i] = -1;
	for (size_t h = 0; h < n; h++)
		if (items[h] >= 0 && items[h] < m->n_items)
			position[items[h]] = (int64_t) h;

	for (int32_t i = 0; i < m->n_items; i++)
	{
		knn_sum		sum = {0.0, 0.0};

		for (uint64_t p = m->neighbor_ptr[i]; p < m->neighbor_ptr[i + 1]; p++)
		{
			int32_t		j = m->neighbor_items[p];

			if (position[j] >= 0)
				knn_add(&sum, m, user_bias, m->neighbor_weights[p], j,
						values ? &values[position[j]] : NULL);
		}
		scores[i] = (float) knn_finish(&sum, m, user_bias, i);
	}
	rs_free(a, position);
	return RS_OK;
}

rs_status
rs_knn_explain(const rs_model *m, const int32_t *items, const float *values, size_t n,
			   int32_t item, double *contributions, double *baseline)
{
	knn_sum		sum = {0.0, 0.0};
	float		user_bias = m->item_bias ? score_user_bias(m, items, values, n) : 0.0f;
	size_t		h;

	for (size_t k = 0; k < n; k++)
		contributions[k] = 0.0;
	if (item < 0)
	{
		*baseline = m->item_bias ? m->global_mean + (double) user_bias : NAN;
		return RS_OK;
	}
	*baseline = m->item_bias ? knn_baseline(m, user_bias, item) : 0.0;

	/*
	 * the weights first (explicit scores divide by their sum plus lambda_w),
	 * then the shares
	 */
	h = 0;
	for (uint64_t p = m->neighbor_ptr[item]; p < m->neighbor_ptr[item + 1] && h < n; p++)
	{
		int32_t		j = m->neighbor_items[p];

		h = rs_lower_bound(items, h, n, j);
		if (h < n && items[h] == j)
		{
			knn_add(&sum, m, user_bias, m->neighbor_weights[p], j,
					values ? &values[h] : NULL);
			contributions[h] = m->neighbor_weights[p];
		}
	}
	if (m->item_bias)
	{
		/* as knn_finish divides: a weight != 0 makes sum.weights > 0 */
		double		denominator = sum.weights + weight_shrinkage(m);

		for (size_t k = 0; k < n; k++)
			if (contributions[k] != 0.0)
				contributions[k] *= ((double) values[k] -
									 knn_baseline(m, user_bias, items[k])) / denominator;
	}
	return RS_OK;
}

void
rs_knn_similar(const rs_model *m, int32_t item, float *scores)
{
	memset(scores, 0, sizeof(float) * (size_t) m->n_items);
	for (uint64_t p = m->neighbor_ptr[item]; p < m->neighbor_ptr[item + 1]; p++)
		scores[m->neighbor_items[p]] = m->neighbor_weights[p];
}

static bool
is_explicit(const rs_model *m)
{
	return rs_knn_explicit(m);
}

static bool
takes_strengths(const rs_model *m)
{
	return !rs_knn_explicit(m);
}

static bool
fits_ratings(const double *options)
{
	return options[RS_KNN_FEEDBACK] == RS_KNN_FEEDBACK_EXPLICIT;
}

static bool
check_rows(const rs_training_rows *rows, const double *options, rs_report *why)
{
	return options[RS_KNN_FEEDBACK] != RS_KNN_FEEDBACK_IMPLICIT ||
		rs_check_strengths(rows, options, why);
}

static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	rs_knn_result r;
	rs_status	status = rs_knn_fit(in->data, in->options, rt, &r);

	if (status == RS_OK)
		rs_knn_model(in->data, &r, &out->model);
	/* no iterations: the description's loss list stays empty */
	return status;
}

/*
 * A user's training history scored; explicit item-kNN's baseline for an
 * unknown user is its empty history's score, implicit's popularity.
 */
static rs_status
score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	size_t		n;
	const int32_t *items = rs_seen_items(m, user, &n);

	if (user < 0 && !rs_knn_explicit(m))
		return rs_factor_score_items(m, -1, a, scores);
	return rs_knn_score_items(m, items, rs_seen_values(m, user), n, a, scores);
}

static rs_status
explain(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
		double *contributions, double *baseline)
{
	size_t		n;
	const int32_t *items = rs_seen_items(m, user, &n);

	return rs_knn_explain(m, items, rs_seen_values(m, user), n, item, contributions, baseline);
}

/* An item model's answer is its stored neighbours, however many are asked for. */
static size_t
similar(const rs_model *m, int32_t item, float *scores)
{
	rs_knn_similar(m, item, scores);
	return (size_t) (m->neighbor_ptr[item + 1] - m->neighbor_ptr[item]);
}

#define BIT RS_SECTION_BIT

const rs_kind rs_knn_kind = {
	.algorithm = RS_ALGO_KNN,
	.name = "knn",
	.trainer = "train_knn",
	.training = "computing item neighbourhoods",
	.input = RS_INPUT_INTERACTIONS,
	.options = rs_knn_option_specs,
	.n_options = RS_KNN_OPTION_COUNT,
	.threads_option = RS_KNN_THREADS,
	.factors_option = -1,
	.users_option = -1,
	.verbose_option = RS_KNN_VERBOSE,
	.iterations_option = -1,
	.chosen_by = {-1, 0},
	.search = {{RS_KNN_NEIGHBORS, 10, 400}, {RS_KNN_SHRINKAGE, 1, 200}},
	.n_search = 2,
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) |
	BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_NEIGHBOR_PTR) | BIT(RS_SEC_NEIGHBOR_ITEMS) |
	BIT(RS_SEC_NEIGHBOR_WEIGHTS) | BIT(RS_SEC_INFO),
	/* the biases, for ratings only */
	.optional_sections = BIT(RS_SEC_USER_BIAS) | BIT(RS_SEC_ITEM_BIAS),
	.check_rows = check_rows,
	.calibrate = rs_knn_choose_neighbors,
	.fit = fit,
	.fits_ratings = fits_ratings,
	.predict = rs_knn_predict,
	.predicts_unknown = is_explicit,
	.takes_strengths = takes_strengths,
	.score_items = score_items,
	.score_items_batch = rs_score_items_each,
	.score_history = rs_knn_score_items,
	.explain = explain,
	.explain_has_baseline = is_explicit,
	.similar = similar,
};
