/*
 * hybrid.c - the hybrid model (hybrid.h): users and items as sums of the
 * vectors of their features, trained by a ranking loss with Adagrad.
 *
 * Parameters.  Each side (users, items) has a table of rows of factors + 1
 * floats, a vector and a bias: one row per entity when identities are on,
 * then one per tag.  An entity's features are (row, weight) pairs, its
 * identity and each of its tags with weight 1 (the weights leave room for
 * weighted tags).  Users' biases
 * stay 0: a ranking loss compares items for one user, so a user's bias has
 * no gradient.
 *
 * Losses, for a user u, a training item i and a sampled item j, with
 * s = x_u . y + b:
 *   BPR   -ln sigma(s_i - s_j), j uniform over the items u has not touched
 *         (or, "negatives": "popularity", drawn in proportion to their
 *         interactions: an item at a random position of the CSR, as BPR's);
 *   WARP  L(N) max(0, 1 - s_i + s_j) for the first of up to max_sampled
 *         draws j that violates the margin, where N draws found it and
 *         L(N) = ln floor((n_items - 1) / N) estimates the rank of i the
 *         number of draws implies (Weston, Bengio, Usunier 2011, "WSABIE");
 *         no violating draw: no step.
 * Both step along c (y_j - y_i) for x_u, -c x_u for y_i and c x_u for y_j
 * (c = sigma(s_j - s_i), or L(N)), each feature's row taking its weight's
 * share, and every row used adds regularization times itself.  The
 * interaction's value weighs its triples (LightFM's sample weights),
 * relative to the mean value: 1 for every row of clicks, more for a
 * stronger signal, none for 0.
 *
 * Identity dropout (after DropoutNet, Volkovs, Yu, Poutanen 2017): in a
 * share identity_dropout of the samples an item that has tags is its tags
 * alone, its identity neither read nor stepped.  A new item is nothing but
 * its tags; trained only beside identities, which take up what is
 * particular to each item, the tags learn less than they could alone.  On
 * MovieTweetings with a fifth of the movies held out as new, 0.2 raised
 * their HR@10 from 0.123 to 0.141 (AUC 0.758 to 0.775) and left the known
 * movies' within the noise of Hogwild threads (0.137 against 0.135); 0.5
 * raised it to 0.145 but cost the known movies 5 %.
 *
 * Adagrad (Duchi, Hazan, Singer 2011), as LightFM uses it: each parameter
 * keeps the sum of its squared gradients, from 1, and steps by
 * learning_rate / sqrt(sum).  Rare features (a new item's tags, a user's
 * identity) keep large steps while frequent ones (a common genre) settle.
 *
 * Threads.  As BPR's (bpr.c): Hogwild over chunks of samples, each chunk
 * with its own generator seeded by (seed, epoch, chunk), so one thread gives
 * the same model for a seed bit for bit.  Tags shared by many items collide
 * more often than BPR's rows do; the updates are small and the collisions
 * lose a step now and then, not the model.
 */
#include "hybrid.h"

#include "bpr.h"
#include "epoch_loss.h"
#include "factor_model.h"
#include "fp_mode.h"
#include "kind.h"
#include "lapack.h"
#include "random.h"
#include "scoring.h"
#include "thread_pool.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const loss_choices[] = {"warp", "bpr", "squared", NULL};
static const char *const identity_choices[] = {"both", "users", "items", "none", NULL};
static const char *const negatives_choices[] = {"uniform", "popularity", NULL};

/*
 * max_sampled 10 is LightFM's.  learning_rate 0.02 ranked best or within
 * 3 % of the best of 0.005, 0.01, 0.02 and 0.05 on planted data dense and
 * sparse and on MovieTweetings (README, Tuning); LightFM's 0.05 was the
 * worst on all of them, fitting a sparse user's few items.
 *
 * regularization 0.1, against LightFM's 0: on six planted shapes it was
 * within 0.5 % of 1e-6 or better (noisy data +4 %), and on MovieTweetings
 * it keeps a user of a few items from pulling far from what the tags say:
 * new movies' HR@10 +12 % for the users of 20 or more interactions, known
 * movies' +13 %, ratings' RMSE 1.59 against 1.73.  The BPR loss keeps 1e-6
 * (adapt_options): it pays the penalty on every sample, where WARP pays it
 * only on a violation, and collapses under 0.1 (planted NDCG@10 0.070
 * against 0.125; 0.001 and 0.01 cost it 1 % and 14 % on sparse data).
 */
const rs_option_spec rs_hybrid_option_specs[RS_HYBRID_OPTION_COUNT] = {
	[RS_HYBRID_FACTORS] = {"factors", RS_OPT_INT, 64, 1, RS_MODEL_MAX_FACTORS, false, NULL},
	[RS_HYBRID_EPOCHS] = {"epochs", RS_OPT_INT, 30, 1, 10000, false, NULL},
	[RS_HYBRID_LOSS] = {"loss", RS_OPT_CHOICE, RS_HYBRID_LOSS_WARP, 0, 0, false, loss_choices},
	[RS_HYBRID_LEARNING_RATE] = {"learning_rate", RS_OPT_REAL, 0.02, 0, 1e3, true, NULL},
	[RS_HYBRID_REGULARIZATION] = {"regularization", RS_OPT_REAL, 0.1, 0, 1e3, false, NULL},
	[RS_HYBRID_MAX_SAMPLED] = {"max_sampled", RS_OPT_INT, 10, 1, 10000, false, NULL},
	[RS_HYBRID_NEGATIVES] = {"negatives", RS_OPT_CHOICE, RS_NEGATIVES_UNIFORM, 0, 0, false, negatives_choices},
	[RS_HYBRID_IDENTITY] = {"identity", RS_OPT_CHOICE, RS_IDENTITY_BOTH, 0, 0, false, identity_choices},
	[RS_HYBRID_IDENTITY_DROPOUT] = {"identity_dropout", RS_OPT_REAL, 0.2, 0, 1, false, NULL},
	[RS_HYBRID_SEED] = {"seed", RS_OPT_INT, 42, 0, 2147483647, false, NULL},
	[RS_HYBRID_THREADS] = {"threads", RS_OPT_INT, 0, 0, 1024, false, NULL},
	[RS_HYBRID_VERBOSE] = {"verbose", RS_OPT_BOOL, 0, 0, 1, false, NULL},
	[RS_HYBRID_USERS] = {"users", RS_OPT_CHOICE, RS_USERS_KEEP, 0, 0, false, rs_users_choices},
};

#define SAMPLES_PER_CHUNK 1024
#define NEGATIVE_TRIES 32		/* BPR: draws of j before a triple is skipped */
#define INIT_NORM 0.1			/* as BPR's: first scores near 0 */
#define ADAGRAD_START 1.0f		/* each parameter's sum of squares at first */
#define MAX_WARP_WEIGHT 10.0f	/* L(N) at most, as LightFM clips it */
#define BPR_REGULARIZATION 1e-6	/* the BPR loss's default (see the options) */

/* Fold-in of a newcomer (rs_hybrid_fold_in_from): BPR's SGD, plain steps */
#define FOLD_IN_RATE 0.05f
#define FOLD_IN_REGULARIZATION 0.01f
/* and of a newcomer to a model of ratings: a ridge in rating units squared */
#define FOLD_IN_RIDGE 1.0f

static rs_status fold_in_ratings_from(const rs_model *m, const float *prior, float prior_bias,
									  const int32_t *items, const float *values, size_t n,
									  const rs_allocator *a, float *x, float *bias);

/* One side's features and parameters during training. */
typedef struct side
{
	int32_t		n;				/* users or items */
	int32_t		n_rows;			/* parameter rows: identities, then tags */
	int32_t		first_tag;		/* the row of tag 0 */
	size_t	   *ptr;			/* n + 1: entity e's features */
	int32_t    *rows;
	float	   *weights;
	float	   *params;			/* n_rows x (f + 1) */
	float	   *squares;		/* Adagrad's sums, the same shape */
} side;

typedef struct epoch
{
	const rs_interactions *data;
	side	   *users;
	side	   *items;
	int			f;
	int			loss;
	float		eta;
	float		lambda;
	int			max_sampled;
	int			negatives;
	float		dropout;		/* identity_dropout */
	float		value_scale;	/* 1 / the mean value */
	float		mean;			/* of the values: ratings' global mean */
	uint64_t	seed;
	int			number;
	rs_chunk_loss *losses;		/* one per chunk */
} epoch;

/* out (f + 1 floats) = the weighted sum of entity e's rows. */
static inline void
compose(const side *s, int32_t e, int f, float *restrict out, int from)
{
	memset(out, 0, sizeof(float) * (f + 1));
	for (size_t k = s->ptr[e] + from; k < s->ptr[e + 1]; k++)
	{
		const float *restrict row = s->params + (size_t) s->rows[k] * (f + 1);
		float		w = s->weights[k];

		for (int c = 0; c <= f; c++)
			out[c] += w * row[c];
	}
}

/*
 * Adagrad steps on entity e's rows for the gradient grad (width floats: the
 * vector, and the bias when width is f + 1) of its sum.
 */
static inline void
learn(side *s, int32_t e, int f, int width, const float *restrict grad, float eta, float lambda,
	  int from)
{
	for (size_t k = s->ptr[e] + from; k < s->ptr[e + 1]; k++)
	{
		float	   *restrict row = s->params + (size_t) s->rows[k] * (f + 1);
		float	   *restrict sq = s->squares + (size_t) s->rows[k] * (f + 1);
		float		w = s->weights[k];

		for (int c = 0; c < width; c++)
		{
			float		g = w * grad[c] + lambda * row[c];

			sq[c] += g * g;
			row[c] -= eta * g / sqrtf(sq[c]);
		}
	}
}

static inline float
score(const float *x, const float *y, int f)
{
	float		s = y[f];

	for (int c = 0; c < f; c++)
		s += x[c] * y[c];
	return s;
}

/* The steps of one triple, c its weight (see the top of the file). */
static void
step(const epoch *e, int32_t u, int32_t i, int32_t j, const float *xu, const float *yi,
	 const float *yj, float c, float *grad, int from_i, int from_j)
{
	int			f = e->f;

	for (int k = 0; k < f; k++)
		grad[k] = c * (yj[k] - yi[k]);
	learn(e->users, u, f, f, grad, e->eta, e->lambda, 0);
	for (int k = 0; k < f; k++)
		grad[k] = -c * xu[k];
	grad[f] = -c;
	learn(e->items, i, f, f + 1, grad, e->eta, e->lambda, from_i);
	for (int k = 0; k <= f; k++)
		grad[k] = -grad[k];
	learn(e->items, j, f, f + 1, grad, e->eta, e->lambda, from_j);
}

/*
 * Where item e's features start for one sample: past its identity, with
 * probability identity_dropout, when it has one and tags to stand for it.
 */
static inline int
item_features_from(const epoch *e, int32_t item, rs_random *rng)
{
	const side *s = e->items;

	if (e->dropout <= 0.0f || s->first_tag == 0 || s->ptr[item + 1] - s->ptr[item] < 2)
		return 0;
	return rs_random_uniform(rng) < e->dropout ? 1 : 0;
}

/*
 * Ratings: one Adagrad step on the squared error of mu + b_u + b_i +
 * x_u . y_i for the rating r; returns the squared error before it.
 */
static double
learn_rating(const epoch *e, int32_t u, int32_t i, float r, float *xu, float *yi, float *grad)
{
	int			f = e->f;
	float		err;

	compose(e->users, u, f, xu, 0);
	compose(e->items, i, f, yi, 0);
	err = e->mean + xu[f] + score(xu, yi, f) - r;
	for (int k = 0; k < f; k++)
		grad[k] = err * yi[k];
	grad[f] = err;
	learn(e->users, u, f, f + 1, grad, e->eta, e->lambda, 0);
	for (int k = 0; k < f; k++)
		grad[k] = err * xu[k];
	learn(e->items, i, f, f + 1, grad, e->eta, e->lambda, 0);
	return (double) err * err;
}

static void
learn_chunk(void *arg, int worker, size_t first, size_t last)
{
	const epoch *e = arg;
	const rs_interactions *d = e->data;
	int			f = e->f;
	size_t		chunk = first / SAMPLES_PER_CHUNK;
	rs_random	rng = rs_random_for(e->seed, e->number, chunk);
	rs_chunk_loss loss = {0.0, 0};
	float		xu[RS_MODEL_MAX_FACTORS + 1],
				yi[RS_MODEL_MAX_FACTORS + 1],
				yj[RS_MODEL_MAX_FACTORS + 1],
				grad[RS_MODEL_MAX_FACTORS + 1];
	float		rank_scale = (float) (d->n_items - 1);

	(void) worker;
	for (size_t s = first; s < last; s++)
	{
		size_t		k = rs_random_below(&rng, d->nnz);
		int32_t		u = rs_row_of_position(d->user_ptr, d->n_users, k);
		int32_t		i = d->user_items[k];
		const int32_t *seen = d->user_items + d->user_ptr[u];
		size_t		n_seen = d->user_ptr[u + 1] - d->user_ptr[u];
		int			tries = e->loss == RS_HYBRID_LOSS_WARP ? e->max_sampled : NEGATIVE_TRIES;
		float		weight = d->user_values[k] * e->value_scale;
		int			from_i,
					from_j;
		float		si;

		if (e->loss == RS_HYBRID_LOSS_SQUARED)
		{
			loss.sum += learn_rating(e, u, i, d->user_values[k], xu, yi, grad);
			loss.samples++;
			continue;
		}
		if (n_seen >= (size_t) d->n_items || weight == 0.0f)
			continue;
		from_i = item_features_from(e, i, &rng);
		compose(e->users, u, f, xu, 0);
		compose(e->items, i, f, yi, from_i);
		si = score(xu, yi, f);
		for (int t = 1; t <= tries; t++)
		{
			int32_t		j = e->negatives == RS_NEGATIVES_POPULARITY ?
				d->user_items[rs_random_below(&rng, d->nnz)] :
				(int32_t) rs_random_below(&rng, (size_t) d->n_items);
			float		sj,
						c;

			if (rs_sorted_contains(seen, n_seen, j))
				continue;
			from_j = item_features_from(e, j, &rng);
			compose(e->items, j, f, yj, from_j);
			sj = score(xu, yj, f);
			if (e->loss == RS_HYBRID_LOSS_BPR)
			{
				float		x = si - sj,
							z = expf(-fabsf(x));

				/* c = sigma(-x), the loss -ln sigma(x), from one exp */
				c = weight * (x >= 0.0f ? z / (1.0f + z) : 1.0f / (1.0f + z));
				loss.sum += weight * ((double) log1pf(z) + (x < 0.0f ? -(double) x : 0.0));
				loss.samples++;
				step(e, u, i, j, xu, yi, yj, c, grad, from_i, from_j);
				break;
			}
			if (sj > si - 1.0f)
			{
				c = weight * fminf(logf(fmaxf(floorf(rank_scale / (float) t), 1.0f)),
								   MAX_WARP_WEIGHT);
				loss.sum += (double) (c * (1.0f - si + sj));
				step(e, u, i, j, xu, yi, yj, c, grad, from_i, from_j);
				break;
			}
		}
		if (e->loss == RS_HYBRID_LOSS_WARP)
			loss.samples++;
	}
	e->losses[chunk] = loss;
}

static void
side_free(side *s, const rs_allocator *a)
{
	rs_free(a, s->ptr);
	rs_free(a, s->rows);
	rs_free(a, s->weights);
	rs_free(a, s->params);
	rs_free(a, s->squares);
	memset(s, 0, sizeof(*s));
}

/* The features of every entity of one side, and their first parameters. */
static rs_status
side_init(side *s, const rs_tag_table *tags, int32_t n, bool identity, int f, rs_random *rng,
		  const rs_allocator *a)
{
	size_t		features = (identity ? (size_t) n : 0) + (tags ? tags->ptr[n] : 0);
	size_t		width = (size_t) f + 1;
	float		sigma = INIT_NORM / sqrtf((float) f);
	size_t		at = 0;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->first_tag = identity ? n : 0;
	s->n_rows = s->first_tag + (tags ? tags->n_tags : 0);
	s->ptr = rs_alloc(a, sizeof(size_t) * ((size_t) n + 1));
	s->rows = rs_alloc(a, sizeof(int32_t) * features);
	s->weights = rs_alloc(a, sizeof(float) * features);
	s->params = rs_alloc(a, sizeof(float) * width * (size_t) s->n_rows);
	s->squares = rs_alloc(a, sizeof(float) * width * (size_t) s->n_rows);
	if (!s->ptr || !s->rows || !s->weights || !s->params || !s->squares)
		return RS_NO_MEMORY;

	for (int32_t e = 0; e < n; e++)
	{
		size_t		n_tags = tags ? tags->ptr[e + 1] - tags->ptr[e] : 0;

		s->ptr[e] = at;
		if (identity)
		{
			s->rows[at] = e;
			s->weights[at++] = 1.0f;
		}
		for (size_t k = 0; k < n_tags; k++)
		{
			s->rows[at] = s->first_tag + tags->tags[tags->ptr[e] + k];
			s->weights[at++] = 1.0f;
		}
	}
	s->ptr[n] = at;
	for (size_t r = 0; r < (size_t) s->n_rows; r++)
	{
		for (int c = 0; c < f; c++)
			s->params[r * width + c] = (float) (sigma * rs_random_normal(rng));
		s->params[r * width + f] = 0.0f;
	}
	for (size_t k = 0; k < width * (size_t) s->n_rows; k++)
		s->squares[k] = ADAGRAD_START;
	return RS_OK;
}

/* What a fit keeps: the sums of the known entities, and the tags' rows. */
typedef struct hybrid_result
{
	float	   *user_factors;
	float	   *item_factors;
	float	   *item_bias;
	float	   *item_popularity;
	float	   *user_bias;		/* ratings */
	float	   *user_tag_vectors;
	float	   *item_tag_vectors;
	double	   *loss;
	int			epochs;
} hybrid_result;

static void
result_free(hybrid_result *r, const rs_allocator *a)
{
	rs_free(a, r->user_factors);
	rs_free(a, r->item_factors);
	rs_free(a, r->item_bias);
	rs_free(a, r->item_popularity);
	rs_free(a, r->user_bias);
	rs_free(a, r->user_tag_vectors);
	rs_free(a, r->item_tag_vectors);
	rs_free(a, r->loss);
	memset(r, 0, sizeof(*r));
}

/* Every entity's sum into factors (n x f) and bias (NULL: not kept); the tags' rows. */
static rs_status
keep_side(const side *s, int f, float *factors, float *bias, float **tag_vectors,
		  const rs_allocator *a)
{
	size_t		width = (size_t) f + 1;
	size_t		n_tags = (size_t) (s->n_rows - s->first_tag);
	float		row[RS_MODEL_MAX_FACTORS + 1];

	for (int32_t e = 0; e < s->n; e++)
	{
		compose(s, e, f, row, 0);
		memcpy(factors + (size_t) e * f, row, sizeof(float) * f);
		if (bias)
			bias[e] = row[f];
	}
	*tag_vectors = rs_alloc(a, sizeof(float) * width * n_tags);
	if (!*tag_vectors)
		return RS_NO_MEMORY;
	memcpy(*tag_vectors, s->params + (size_t) s->first_tag * width, sizeof(float) * width * n_tags);
	return RS_OK;
}

static rs_status
hybrid_fit(const rs_fit_input *in, const rs_runtime *rt, hybrid_result *r)
{
	const rs_interactions *d = in->data;
	const double *opt = in->options;
	const rs_allocator *a = &rt->alloc;
	int			f = (int) opt[RS_HYBRID_FACTORS];
	int			epochs = (int) opt[RS_HYBRID_EPOCHS];
	int			identity = (int) opt[RS_HYBRID_IDENTITY];
	uint64_t	seed = (uint64_t) opt[RS_HYBRID_SEED];
	rs_random	rng = {seed};
	size_t		chunks = (d->nnz + SAMPLES_PER_CHUNK - 1) / SAMPLES_PER_CHUNK;
	side		users,
				items;
	rs_chunk_loss *losses = NULL;
	rs_pool    *pool = NULL;
	double		value_sum = 0.0;
	bool		ratings = (int) opt[RS_HYBRID_LOSS] == RS_HYBRID_LOSS_SQUARED;
	float		value_scale;
	rs_status	status;

	memset(r, 0, sizeof(*r));
	for (size_t k = 0; k < d->nnz; k++)
		value_sum += d->user_values[k];
	value_scale = value_sum > 0.0 ? (float) ((double) d->nnz / value_sum) : 0.0f;
	memset(&users, 0, sizeof(users));
	memset(&items, 0, sizeof(items));
	if ((status = side_init(&users, in->user_tags, d->n_users,
							identity == RS_IDENTITY_BOTH || identity == RS_IDENTITY_USERS,
							f, &rng, a)) != RS_OK ||
		(status = side_init(&items, in->item_tags, d->n_items,
							identity == RS_IDENTITY_BOTH || identity == RS_IDENTITY_ITEMS,
							f, &rng, a)) != RS_OK)
		goto done;
	r->loss = rs_alloc(a, sizeof(double) * (size_t) epochs);
	losses = rs_alloc(a, sizeof(rs_chunk_loss) * (chunks ? chunks : 1));
	pool = rs_pool_create(rt->threads < 1 ? 1 : rt->threads, a);
	if (!r->loss || !losses || !pool)
	{
		status = RS_NO_MEMORY;
		goto done;
	}

	for (int it = 0; it < epochs; it++)
	{
		double		started = rs_now();
		epoch		e = {d, &users, &items, f, (int) opt[RS_HYBRID_LOSS],
			(float) opt[RS_HYBRID_LEARNING_RATE], (float) opt[RS_HYBRID_REGULARIZATION],
			(int) opt[RS_HYBRID_MAX_SAMPLED], (int) opt[RS_HYBRID_NEGATIVES],
			(float) opt[RS_HYBRID_IDENTITY_DROPOUT], value_scale,
			(float) (d->nnz ? value_sum / (double) d->nnz : 0.0), seed, it, losses};

		if ((status = rs_pool_run(pool, rt, d->nnz, SAMPLES_PER_CHUNK, learn_chunk, &e)) != RS_OK ||
			(status = rs_epoch_loss(losses, chunks, rt, it, started, &r->loss[it])) != RS_OK)
			goto done;
		r->epochs = it + 1;
	}

	r->user_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_users * f);
	r->item_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_items * f);
	r->item_bias = rs_alloc(a, sizeof(float) * (size_t) d->n_items);
	r->item_popularity = rs_item_popularity(d, a);
	if (ratings)
		r->user_bias = rs_alloc(a, sizeof(float) * (size_t) d->n_users);
	if (!r->user_factors || !r->item_factors || !r->item_bias || !r->item_popularity ||
		(ratings && !r->user_bias))
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	if ((status = keep_side(&users, f, r->user_factors, r->user_bias, &r->user_tag_vectors,
							a)) != RS_OK ||
		(status = keep_side(&items, f, r->item_factors, r->item_bias, &r->item_tag_vectors,
							a)) != RS_OK)
		goto done;

done:
	rs_pool_destroy(pool, a);
	rs_free(a, losses);
	side_free(&users, a);
	side_free(&items, a);
	if (status != RS_OK)
		result_free(r, a);
	return status;
}

static double
mean_of(const float *values, int32_t n)
{
	double		sum = 0.0;

	for (int32_t k = 0; k < n; k++)
		sum += values[k];
	return n > 0 ? sum / n : 0.0;
}

/*
 * Users without identities or tags have no vector: every user then gets
 * the same ranking, by the items' biases, which a user would not expect.
 */
static void
warn_without_features(const rs_tag_table *user_tags, int identity, rs_fit *out)
{
	if (identity == RS_IDENTITY_BOTH || identity == RS_IDENTITY_USERS ||
		(user_tags->ptr && user_tags->ptr[user_tags->n_rows] > 0))
		return;
	out->warned = true;
	snprintf(out->warning.message, sizeof(out->warning.message),
			 "train_hybrid learned nothing personal: its users have no features");
	snprintf(out->warning.detail, sizeof(out->warning.detail),
			 "\"identity\" leaves users out and no row gave user tags, so every user gets the same ranking.");
	snprintf(out->warning.hint, sizeof(out->warning.hint),
			 "Pass user tags, or train with \"identity\": \"both\" or \"users\".");
}

static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	static const uint64_t no_names[1] = {0};
	rs_fit_input input = *in;
	rs_tag_table none_users = {0, no_names, "", in->data->n_users, NULL, NULL};
	rs_tag_table none_items = {0, no_names, "", in->data->n_items, NULL, NULL};
	rs_model   *m = &out->model;
	hybrid_result r;
	rs_fp_scope scope;
	rs_status	status;
	uint64_t   *zero_users = NULL,
			   *zero_items = NULL;

	/* no tags at all: an empty dictionary and empty rows */
	if (!in->user_tags || !in->item_tags)
	{
		size_t		n = (size_t) (in->data->n_users > in->data->n_items ?
								  in->data->n_users : in->data->n_items) + 1;

		zero_users = rs_alloc(&rt->alloc, sizeof(uint64_t) * n);
		zero_items = zero_users;
		if (!zero_users)
			return RS_NO_MEMORY;
		memset(zero_users, 0, sizeof(uint64_t) * n);
		none_users.ptr = zero_users;
		none_items.ptr = zero_items;
		if (!in->user_tags)
			input.user_tags = &none_users;
		if (!in->item_tags)
			input.item_tags = &none_items;
	}
	status = hybrid_fit(&input, rs_fp_scope_begin(&scope, rt), &r);
	rs_fp_scope_end(&scope);
	if (status != RS_OK)
		return status;

	rs_model_of_interactions(in->data, r.user_bias ? RS_ALGO_HYBRID_RATINGS : RS_ALGO_HYBRID, m);
	m->factors = (int32_t) in->options[RS_HYBRID_FACTORS];
	if (r.user_bias)
	{
		double		sum = 0.0;

		for (size_t k = 0; k < in->data->nnz; k++)
			sum += in->data->user_values[k];
		m->global_mean = in->data->nnz ? sum / (double) in->data->nnz : 0.0;
		m->user_bias = r.user_bias;
		/* a newcomer's bias: the mean of the known ones' */
		m->new_user_bias = mean_of(r.user_bias, in->data->n_users);
		m->new_item_bias = mean_of(r.item_bias, in->data->n_items);
	}
	m->params.learning_rate = FOLD_IN_RATE;
	m->params.regularization = FOLD_IN_REGULARIZATION;
	m->user_factors = r.user_factors;
	m->item_factors = r.item_factors;
	m->item_bias = r.item_bias;
	m->item_popularity = r.item_popularity;
	m->user_tags = *input.user_tags;
	m->item_tags = *input.item_tags;
	m->user_tag_vectors = r.user_tag_vectors;
	m->item_tag_vectors = r.item_tag_vectors;
	out->loss = r.loss;
	out->iterations = r.epochs;
	warn_without_features(input.user_tags, (int) in->options[RS_HYBRID_IDENTITY], out);
	return RS_OK;
}

int
rs_hybrid_row_of_tags(const rs_model *m, bool of_user, const int32_t *tags, int n, float *row,
					  float *bias)
{
	const rs_tag_table *t = of_user ? &m->user_tags : &m->item_tags;
	const float *vectors = of_user ? m->user_tag_vectors : m->item_tag_vectors;
	int			f = m->factors;
	int			known = 0;
	float		sum_bias = 0.0f;

	memset(row, 0, sizeof(float) * f);
	for (int k = 0; k < n; k++)
	{
		bool		repeat = false;

		if (tags[k] < 0 || tags[k] >= t->n_tags)
			continue;
		for (int p = 0; p < k && !repeat; p++)
			repeat = tags[p] == tags[k];
		if (repeat)
			continue;
		known++;
		cblas_saxpy(f, 1.0f, vectors + (size_t) tags[k] * (f + 1), 1, row, 1);
		sum_bias += vectors[(size_t) tags[k] * (f + 1) + f];
	}
	*bias = sum_bias;
	return known;
}

rs_status
rs_hybrid_fold_in_from(const rs_model *m, const float *prior, float prior_bias,
					   const int32_t *items, const float *values, size_t n,
					   const rs_allocator *a, float *row, float *bias)
{
	if (m->algorithm == RS_ALGO_HYBRID_RATINGS)
		return fold_in_ratings_from(m, prior, prior_bias, items, values, n, a, row, bias);
	rs_bpr_fold_in_from(m, items, n, m->params.learning_rate, m->params.regularization,
						prior, row);
	*bias = 0.0f;
	return RS_OK;
}

const int32_t *
rs_hybrid_item_tags(const rs_model *m, int32_t item, int *n)
{
	*n = (int) (m->item_tags.ptr[item + 1] - m->item_tags.ptr[item]);
	return m->item_tags.tags + m->item_tags.ptr[item];
}

void
rs_hybrid_explain_features(const rs_model *m, int32_t user, int32_t item,
						   double *contributions, double *identity)
{
	int			f = m->factors;
	int			n;
	const int32_t *tags = rs_hybrid_item_tags(m, item, &n);
	const float *x = rs_factor_user_row(m, user);
	double		rest = rs_kind_of(m->algorithm)->predict(m, user, item);

	for (int k = 0; k < n; k++)
	{
		const float *v = m->item_tag_vectors + (size_t) tags[k] * (f + 1);

		contributions[k] = (double) cblas_sdot(f, x, 1, v, 1) + v[f];
		rest -= contributions[k];
	}
	*identity = rest;
}

/* Decoding: the tag sections of one side, after the generic checks. */
static const char *
check_side(const rs_model_header *h, const unsigned char *bytes, bool users, rs_model *m)
{
	rs_section	ptr_s = users ? RS_SEC_USER_TAG_PTR : RS_SEC_ITEM_TAG_PTR,
				tags_s = users ? RS_SEC_USER_TAGS : RS_SEC_ITEM_TAGS,
				names_s = users ? RS_SEC_USER_TAG_NAMES : RS_SEC_ITEM_TAG_NAMES,
				vectors_s = users ? RS_SEC_USER_TAG_VECTORS : RS_SEC_ITEM_TAG_VECTORS;
	rs_section_ref ptr = h->sections[ptr_s],
				tags = h->sections[tags_s],
				names = h->sections[names_s],
				vectors = h->sections[vectors_s];
	uint64_t	rows = (uint64_t) (users ? h->n_users : h->n_items);
	uint64_t	width = ((uint64_t) h->factors + 1) * 4;
	uint64_t	n_tags;
	rs_tag_table *t = users ? &m->user_tags : &m->item_tags;
	const char *reason;
	const float *v;

	if (h->factors < 1 || vectors.size % width != 0)
		return "a section's size does not match the model's dimensions";
	n_tags = vectors.size / width;
	if (n_tags >= INT32_MAX || names.size < (n_tags + 1) * 8)
		return "a section's size does not match the model's dimensions";
	memset(t, 0, sizeof(*t));
	t->n_tags = (int32_t) n_tags;
	t->name_offsets = (const uint64_t *) (bytes + names.offset);
	t->names = (const char *) (t->name_offsets + n_tags + 1);
	/* a model of users given at query time keeps their dictionary alone */
	if (ptr.offset != 0 || tags.offset != 0)
	{
		if (ptr.size != (rows + 1) * 8 || tags.size % 4 != 0)
			return "a section's size does not match the model's dimensions";
		t->n_rows = (int32_t) rows;
		t->ptr = (const uint64_t *) (bytes + ptr.offset);
		t->tags = tags.size ? (const int32_t *) (bytes + tags.offset) : NULL;
		if (t->ptr[rows] != tags.size / 4)
			return "its tag index is inconsistent";
	}
	else if (!users || rows != 0)
		return "its tags are incomplete";
	{
		static const uint64_t no_rows[1] = {0};
		rs_tag_table checked = *t;

		if (!checked.ptr)
			checked.ptr = no_rows;
		if ((reason = rs_tag_table_check(&checked, names.size - (n_tags + 1) * 8)) != NULL)
			return reason;
	}
	v = vectors.size ? (const float *) (bytes + vectors.offset) : NULL;
	for (uint64_t k = 0; k < vectors.size / 4; k++)
		if (!isfinite(v[k]))
			return "its tag vectors are not finite";
	if (users)
		m->user_tag_vectors = v;
	else
		m->item_tag_vectors = v;
	return NULL;
}

static const char *
check_sections(const rs_model_header *h, const unsigned char *bytes, rs_model *m)
{
	const char *reason = check_side(h, bytes, true, m);

	return reason ? reason : check_side(h, bytes, false, m);
}

/* A value weighs an interaction: none is negative, and some must count. */
static bool
check_rows(const rs_training_rows *rows, const double *options, rs_report *why)
{
	const rs_interaction_buffer *b = rows->interactions;
	bool		some = false;

	for (size_t r = 0; r < b->count; r++)
	{
		if (b->values[r] < 0)
		{
			snprintf(why->message, sizeof(why->message),
					 "train_hybrid values must not be negative");
			snprintf(why->detail, sizeof(why->detail), "User %lld, item %lld has value %g.",
					 (long long) b->users[r], (long long) b->items[r], b->values[r]);
			snprintf(why->hint, sizeof(why->hint),
					 "A value weighs an interaction: 1 for a click, more for a stronger signal, 0 for none.");
			return false;
		}
		some = some || b->values[r] > 0;
	}
	if (!some)
	{
		snprintf(why->message, sizeof(why->message), "train_hybrid values are all 0");
		snprintf(why->detail, sizeof(why->detail), "A value weighs an interaction: 0 counts for nothing.");
		return false;
	}
	return true;
}

#define BIT RS_SECTION_BIT

/* The BPR loss's own default regularization (see the options' comment). */
static void
adapt_options(double *options, const bool *given, const rs_interactions *data)
{
	(void) data;
	if (!given[RS_HYBRID_REGULARIZATION] && options[RS_HYBRID_LOSS] == RS_HYBRID_LOSS_BPR)
		options[RS_HYBRID_REGULARIZATION] = BPR_REGULARIZATION;
}

const rs_kind rs_hybrid_kind = {
	.algorithm = RS_ALGO_HYBRID,
	.name = "hybrid",
	.trainer = "train_hybrid",
	.training = "hybrid training",
	.input = RS_INPUT_INTERACTIONS,
	.tagged = true,
	.options = rs_hybrid_option_specs,
	.n_options = RS_HYBRID_OPTION_COUNT,
	.threads_option = RS_HYBRID_THREADS,
	.factors_option = RS_HYBRID_FACTORS,
	.users_option = RS_HYBRID_USERS,
	.verbose_option = RS_HYBRID_VERBOSE,
	.iterations_option = RS_HYBRID_EPOCHS,
	.chosen_by = {-1, 0},
	.search = {{RS_HYBRID_LEARNING_RATE, 0.005, 0.1}, {RS_HYBRID_REGULARIZATION, 1e-7, 1.0}},
	.adapt_options = adapt_options,
	.n_search = 2,
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_USER_FACTORS) | BIT(RS_SEC_ITEM_FACTORS) | BIT(RS_SEC_ITEM_BIAS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) |
	BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_INFO) |
	BIT(RS_SEC_ITEM_TAG_PTR) | BIT(RS_SEC_ITEM_TAGS) |
	BIT(RS_SEC_USER_TAG_NAMES) | BIT(RS_SEC_ITEM_TAG_NAMES) |
	BIT(RS_SEC_USER_TAG_VECTORS) | BIT(RS_SEC_ITEM_TAG_VECTORS),
	.optional_sections = BIT(RS_SEC_USER_TAG_PTR) | BIT(RS_SEC_USER_TAGS),
	.check_rows = check_rows,
	.check_sections = check_sections,
	.fit = fit,
	.predict = rs_factor_predict,
	.score_items = rs_factor_score_items,
	.score_items_batch = rs_factor_score_batch,
	.score_history = rs_score_history_by_fold_in,
	.fold_in = rs_bpr_fold_in,
	.score_row = rs_factor_score_row,
	.explain = rs_bpr_explain,
	.explain_has_baseline = rs_kind_yes,
	.similar = rs_factor_similar,
	.user_vector = rs_factor_user_vector,
	.item_vector = rs_factor_item_vector,
	.row_of_tags = rs_hybrid_row_of_tags,
	.explain_features = rs_hybrid_explain_features,
};

/*
 * A newcomer to a model of ratings, from its ratings of known items: the
 * row and bias that fit r_j - mu - b_j by least squares with a ridge of
 * FOLD_IN_RIDGE towards prior and prior_bias (NULL: 0), one (f + 1)-square
 * Cholesky solve.  No history: the prior, so that a newcomer without
 * one is mu + b_i.
 */
static rs_status
fold_in_ratings_from(const rs_model *m, const float *prior, float prior_bias,
					 const int32_t *items, const float *values, size_t n,
					 const rs_allocator *a, float *x, float *bias)
{
	int			f = m->factors,
				d = f + 1;
	float	   *gram = rs_alloc(a, sizeof(float) * (size_t) d * d);
	float	   *rhs = rs_alloc(a, sizeof(float) * (size_t) d);
	float	   *z = rs_alloc(a, sizeof(float) * (size_t) d);
	rs_status	status = RS_OK;

	if (prior)
		memcpy(x, prior, sizeof(float) * f);
	else
		memset(x, 0, sizeof(float) * f);
	*bias = prior_bias;
	if (!gram || !rhs || !z)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	if (n == 0)
		goto done;
	memset(gram, 0, sizeof(float) * (size_t) d * d);
	memset(rhs, 0, sizeof(float) * (size_t) d);
	for (size_t k = 0; k < n; k++)
	{
		const float *y = rs_factor_item_row(m, items[k]);
		float		target = values[k] - (float) m->global_mean - m->item_bias[items[k]] -
			prior_bias - (prior ? cblas_sdot(f, prior, 1, y, 1) : 0.0f);

		memcpy(z, y, sizeof(float) * f);
		z[f] = 1.0f;
		cblas_ssyr(CblasColMajor, CblasUpper, d, 1.0f, z, 1, gram, d);
		cblas_saxpy(d, target, z, 1, rhs, 1);
	}
	for (int c = 0; c < d; c++)
		gram[c * d + c] += FOLD_IN_RIDGE;
	if (!rs_cholesky_solve(gram, d, rhs))
	{
		status = RS_NUMERICAL_FAILURE;
		goto done;
	}
	cblas_saxpy(f, 1.0f, rhs, 1, x, 1);
	*bias += rhs[f];

done:
	rs_free(a, gram);
	rs_free(a, rhs);
	rs_free(a, z);
	return status;
}

static rs_status
fold_in_ratings(const rs_model *m, const int32_t *items, const float *values, size_t n,
				const rs_allocator *a, float *x, float *bias)
{
	return fold_in_ratings_from(m, NULL, 0.0f, items, values, n, a, x, bias);
}

/*
 * "loss": "squared": the same model of ratings.  Newcomers get the mean
 * biases, as explicit ALS's do, and a history is folded in by least
 * squares; explain's items are BPR's ranking decomposition, so it is not
 * offered.
 */
const rs_kind rs_hybrid_ratings_kind = {
	.algorithm = RS_ALGO_HYBRID_RATINGS,
	.name = "hybrid_ratings",
	.trainer = "train_hybrid",
	.training = "hybrid training",
	.input = RS_INPUT_INTERACTIONS,
	.tagged = true,
	.options = rs_hybrid_option_specs,
	.n_options = RS_HYBRID_OPTION_COUNT,
	.threads_option = RS_HYBRID_THREADS,
	.factors_option = RS_HYBRID_FACTORS,
	.users_option = RS_HYBRID_USERS,
	.verbose_option = RS_HYBRID_VERBOSE,
	.iterations_option = RS_HYBRID_EPOCHS,
	.chosen_by = {RS_HYBRID_LOSS, RS_HYBRID_LOSS_SQUARED},
	.search = {{RS_HYBRID_LEARNING_RATE, 0.005, 0.1}, {RS_HYBRID_REGULARIZATION, 1e-7, 1.0}},
	.n_search = 2,
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_USER_FACTORS) | BIT(RS_SEC_ITEM_FACTORS) | BIT(RS_SEC_ITEM_BIAS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) |
	BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_INFO) |
	BIT(RS_SEC_ITEM_TAG_PTR) | BIT(RS_SEC_ITEM_TAGS) |
	BIT(RS_SEC_USER_TAG_NAMES) | BIT(RS_SEC_ITEM_TAG_NAMES) |
	BIT(RS_SEC_USER_TAG_VECTORS) | BIT(RS_SEC_ITEM_TAG_VECTORS),
	.optional_sections = BIT(RS_SEC_USER_TAG_PTR) | BIT(RS_SEC_USER_TAGS) |
	BIT(RS_SEC_USER_BIAS),
	.check_sections = check_sections,
	.fit = fit,
	.fits_ratings = rs_kind_options_yes,
	.predict = rs_factor_rating_predict,
	.predicts_unknown = rs_kind_yes,
	.score_items = rs_factor_score_items,
	.score_items_batch = rs_factor_score_batch,
	.score_history = rs_score_history_by_fold_in,
	.fold_in = fold_in_ratings,
	.score_row = rs_factor_score_row,
	.similar = rs_factor_similar,
	.user_vector = rs_factor_user_vector,
	.item_vector = rs_factor_item_vector,
	.row_of_tags = rs_hybrid_row_of_tags,
	.explain_features = rs_hybrid_explain_features,
};
