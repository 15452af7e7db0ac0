/*
 * bpr.c - Bayesian personalised ranking: matrix factorisation with item
 * bias, learned by stochastic gradient steps on sampled triples.
 *
 * Rendle, Freudenthaler, Gantner, Schmidt-Thieme 2009, "BPR: Bayesian
 * personalized ranking from implicit feedback" (UAI), BPR-MF with an item
 * bias.  The model scores
 *
 *   score(u,i) = x_u . y_i + b_i
 *
 * and BPR-Opt asks that a user's items outrank the items they have not
 * touched: it maximises the sum over triples (u, i, j), i a training item of
 * u and j not, of ln sigma(x_uij) - lambda |Theta|^2, where
 * x_uij = score(u,i) - score(u,j).  LearnBPR draws one triple at a time and
 * steps along its gradient; with g = sigma(-x_uij) = 1 / (1 + e^x_uij),
 * learning rate eta and regularisation lambda:
 *
 *   x_u += eta (g (y_i - y_j) - lambda x_u)
 *   y_i += eta ( g x_u        - lambda y_i)
 *   y_j += eta (-g x_u        - lambda y_j)
 *   b_i += eta ( g            - lambda_b b_i)
 *   b_j += eta (-g            - lambda_b b_j)
 *
 * The item bias has its own, much stronger regularisation lambda_b: left
 * free, it learns popularity faster than the factors learn anything else,
 * and on sparse real data the model then ranks no better than popularity.
 *
 * the item steps using x_u as it was before its own step.  The values of the
 * interactions are not used: every training pair is a positive.
 *
 * Sampling.  An epoch draws nnz triples.  (u, i) is uniform over training
 * interactions: a random position in the user CSR, whose user is found by
 * binary search of user_ptr.  j is uniform over items, or ("popularity")
 * the item at another random position of the CSR, which draws each item in
 * proportion to its number of users at no cost in memory.  A j the user has
 * interacted with (binary search of the user's ascending items) is drawn
 * again, at most NEGATIVE_TRIES times; a triple that finds none - a user of
 * nearly every item - is skipped.  The loss of an epoch is the mean of
 * -ln sigma(x_uij) over its triples, each taken before its step.
 *
 * Threads.  Hogwild (Recht, Re, Wright, Niu 2011): the epoch is cut into
 * chunks of SAMPLES_PER_CHUNK triples that threads take in turn, updating
 * the shared factors without locks; one step touches three rows of many, so
 * collisions are rare and harmless to convergence.  Every chunk draws from
 * its own generator seeded by (seed, epoch, chunk), so on one thread a seed
 * gives the same model bit for bit.  On more threads the chunks' steps
 * interleave differently from run to run: the model is of the same quality
 * but not bit-identical.
 */
#include "bpr.h"

#include "epoch_loss.h"
#include "factor_model.h"
#include "fp_mode.h"
#include "interactions.h"
#include "kind.h"
#include "lapack.h"
#include "random.h"
#include "scoring.h"
#include "thread_pool.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define FOLD_IN_EPOCHS 100		/* passes over the history when folding in */
#define FOLD_IN_NEGATIVE_TRIES 16

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "seen_ptr is stored as uint64");

static const char *const negatives_choices[] = {"uniform", "popularity", NULL};

/*
 * learning_rate and regularization: the best ranking on MovieTweetings 100K
 * (implicit, a few interactions per user) among settings that train the
 * factors, and on the planted sets of `make bench-defaults`.  Smaller steps
 * leave the factors near their random start, the item bias alone ranking;
 * larger ones fit noise.  The epochs' default follows the data
 * (adapt_options); 40 is what a fit without data to go by would use.
 */
const rs_option_spec rs_bpr_option_specs[RS_BPR_OPTION_COUNT] = {
	[RS_BPR_FACTORS] = {"factors", RS_OPT_INT, 64, 1, RS_MODEL_MAX_FACTORS, false, NULL},
	[RS_BPR_EPOCHS] = {"epochs", RS_OPT_INT, 40, 1, 10000, false, NULL},
	[RS_BPR_LEARNING_RATE] = {"learning_rate", RS_OPT_REAL, 0.02, 0, 1e6, true, NULL},
	[RS_BPR_REGULARIZATION] = {"regularization", RS_OPT_REAL, 0.001, 0, 1e6, false, NULL},
	[RS_BPR_BIAS_REGULARIZATION] = {"bias_regularization", RS_OPT_REAL, 1, 0, 1e6, false, NULL},
	[RS_BPR_NEGATIVES] = {"negatives", RS_OPT_CHOICE, RS_NEGATIVES_UNIFORM, 0, 0, false, negatives_choices},
	[RS_BPR_SEED] = {"seed", RS_OPT_INT, 42, 0, 2147483647, false, NULL},
	[RS_BPR_THREADS] = {"threads", RS_OPT_INT, 0, 0, 1024, false, NULL},
	[RS_BPR_VERBOSE] = {"verbose", RS_OPT_BOOL, 0, 0, 1, false, NULL},
	[RS_BPR_USERS] = {"users", RS_OPT_CHOICE, RS_USERS_KEEP, 0, 0, false, rs_users_choices},
};

#define SAMPLES_PER_CHUNK 1024	/* triples a thread takes at a time */
#define NEGATIVE_TRIES 32		/* draws of j before a triple is skipped */

/*
 * The initial factors are N(0, sigma^2) with sigma = INIT_NORM / sqrt(f):
 * every vector starts with a norm near INIT_NORM whatever the number of
 * factors, so the first scores are near 0 (spread INIT_NORM^2 / sqrt(f)),
 * every sigmoid starts unsaturated and the random start does not outweigh
 * what the first epochs learn.  Biases start at 0.  On real data a norm of
 * 0.01 or 0.3 ranks about as well, 1 and more worse.
 */
#define INIT_NORM 0.1

/* One epoch's work, shared by the threads. */
typedef struct epoch
{
	const rs_interactions *data;
	float	   *user_factors;
	float	   *item_factors;
	float	   *item_bias;
	int			f;
	float		eta;
	float		lambda;
	float		lambda_bias;
	int			negatives;
	uint64_t	seed;
	int			number;
	rs_chunk_loss *loss;		/* one per chunk: -ln sigma(x_uij) */
} epoch;

/* A negative item for user u, or -1 if NEGATIVE_TRIES draws found none. */
static inline int32_t
draw_negative(const epoch *e, rs_random *rng, int32_t u)
{
	const rs_interactions *d = e->data;
	const int32_t *seen = d->user_items + d->user_ptr[u];
	size_t		n_seen = d->user_ptr[u + 1] - d->user_ptr[u];

	for (int t = 0; t < NEGATIVE_TRIES; t++)
	{
		int32_t		j;

		if (e->negatives == RS_NEGATIVES_POPULARITY)
			j = d->user_items[rs_random_below(rng, d->nnz)];
		else
			j = (int32_t) rs_random_below(rng, (size_t) d->n_items);
		if (!rs_sorted_contains(seen, n_seen, j))
			return j;
	}
	return -1;
}

/*
 * One step on the triple (u, i, j); returns -ln sigma(x_uij) before it.
 * The three rows never overlap (i != j, and users and items are apart),
 * hence restrict.  The time goes to fetching the rows from memory, not to
 * the arithmetic.
 */
static inline double
step(const epoch *e, int32_t u, int32_t i, int32_t j)
{
	int			f = e->f;
	float		eta = e->eta,
				lambda = e->lambda;
	float	   *restrict xu = e->user_factors + (size_t) u * f;
	float	   *restrict yi = e->item_factors + (size_t) i * f;
	float	   *restrict yj = e->item_factors + (size_t) j * f;
	float		x = e->item_bias[i] - e->item_bias[j];
	float		z,
				g;

	for (int k = 0; k < f; k++)
		x += xu[k] * (yi[k] - yj[k]);

	/* g = sigma(-x) and -ln sigma(x) from one exp(-|x|), stable for any x */
	z = expf(-fabsf(x));
	g = x >= 0.0f ? z / (1.0f + z) : 1.0f / (1.0f + z);

	for (int k = 0; k < f; k++)
	{
		float		xk = xu[k],
					ik = yi[k],
					jk = yj[k];

		xu[k] = xk + eta * (g * (ik - jk) - lambda * xk);
		yi[k] = ik + eta * (g * xk - lambda * ik);
		yj[k] = jk + eta * (-g * xk - lambda * jk);
	}
	e->item_bias[i] += eta * (g - e->lambda_bias * e->item_bias[i]);
	e->item_bias[j] += eta * (-g - e->lambda_bias * e->item_bias[j]);

	return (double) log1pf(z) + (x < 0.0f ? -(double) x : 0.0);
}

/* Draws and learns from the triples [first, last) of the epoch: one chunk. */
static void
learn_chunk(void *arg, int worker, size_t first, size_t last)
{
	const epoch *e = arg;
	const rs_interactions *d = e->data;
	size_t		chunk = first / SAMPLES_PER_CHUNK;
	rs_random	rng = rs_random_for(e->seed, e->number, chunk);
	rs_chunk_loss loss = {0.0, 0};

	(void) worker;
	for (size_t s = first; s < last; s++)
	{
		size_t		k = rs_random_below(&rng, d->nnz);
		int32_t		u = rs_row_of_position(d->user_ptr, d->n_users, k);
		int32_t		i = d->user_items[k];
		int32_t		j = draw_negative(e, &rng, u);

		if (j < 0)
			continue;
		loss.sum += step(e, u, i, j);
		loss.samples++;
	}
	e->loss[chunk] = loss;
}

void
rs_bpr_result_free(rs_bpr_result *r, const rs_allocator *a)
{
	rs_free(a, r->user_factors);
	rs_free(a, r->item_factors);
	rs_free(a, r->item_bias);
	rs_free(a, r->item_popularity);
	rs_free(a, r->loss);
	memset(r, 0, sizeof(*r));
}

static rs_status
bpr_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
		rs_bpr_result *r)
{
	const rs_allocator *a = &rt->alloc;
	int			f = (int) opt[RS_BPR_FACTORS];
	int			epochs = (int) opt[RS_BPR_EPOCHS];
	uint64_t	seed = (uint64_t) opt[RS_BPR_SEED];
	rs_random	rng = {seed};
	int			threads = rt->threads < 1 ? 1 : rt->threads;
	size_t		chunks = (d->nnz + SAMPLES_PER_CHUNK - 1) / SAMPLES_PER_CHUNK;
	double		sigma = INIT_NORM / sqrt((double) f);
	rs_chunk_loss *loss = NULL;
	rs_pool    *pool = NULL;
	rs_status	status = RS_OK;

	memset(r, 0, sizeof(*r));
	r->factors = f;
	r->user_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_users * f);
	r->item_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_items * f);
	r->item_bias = rs_alloc(a, sizeof(float) * (size_t) d->n_items);
	r->item_popularity = rs_item_popularity(d, a);
	r->loss = rs_alloc(a, sizeof(double) * (size_t) epochs);
	loss = rs_alloc(a, sizeof(rs_chunk_loss) * chunks);
	if (!r->user_factors || !r->item_factors || !r->item_bias || !r->item_popularity ||
		!r->loss || !loss)
	{
		status = RS_NO_MEMORY;
		goto done;
	}

	for (size_t k = 0; k < (size_t) d->n_users * f; k++)
		r->user_factors[k] = (float) (sigma * rs_random_normal(&rng));
	for (size_t k = 0; k < (size_t) d->n_items * f; k++)
		r->item_factors[k] = (float) (sigma * rs_random_normal(&rng));
	memset(r->item_bias, 0, sizeof(float) * (size_t) d->n_items);

	pool = rs_pool_create(threads, a);
	if (!pool)
	{
		status = RS_NO_MEMORY;
		goto done;
	}

	for (int it = 0; it < epochs; it++)
	{
		double		epoch_started = rs_now();
		epoch		e = {d, r->user_factors, r->item_factors, r->item_bias, f,
			(float) opt[RS_BPR_LEARNING_RATE], (float) opt[RS_BPR_REGULARIZATION],
			(float) opt[RS_BPR_BIAS_REGULARIZATION],
		(int) opt[RS_BPR_NEGATIVES], seed, it, loss};

		if ((status = rs_pool_run(pool, rt, d->nnz, SAMPLES_PER_CHUNK, learn_chunk, &e)) != RS_OK ||
			(status = rs_epoch_loss(loss, chunks, rt, it, epoch_started, &r->loss[it])) != RS_OK)
			goto done;
		r->epochs = it + 1;
	}

done:
	rs_pool_destroy(pool, a);
	rs_free(a, loss);
	if (status != RS_OK)
		rs_bpr_result_free(r, a);
	return status;
}

/* The fit with subnormals flushed (fp_mode.h). */
rs_status
rs_bpr_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
		   rs_bpr_result *r)
{
	rs_fp_scope scope;
	rs_status	status = bpr_fit(d, opt, rs_fp_scope_begin(&scope, rt), r);

	rs_fp_scope_end(&scope);
	return status;
}

void
rs_bpr_model(const rs_interactions *d, const rs_bpr_result *r,
			 const rs_model_params *params, rs_model *m)
{
	rs_model_of_interactions(d, RS_ALGO_BPR, m);
	m->factors = r->factors;
	if (params)
		m->params = *params;
	m->user_factors = r->user_factors;
	m->item_factors = r->item_factors;
	m->item_bias = r->item_bias;
	m->item_popularity = r->item_popularity;
}

/*
 * BPR has no closed-form user step: run its SGD on the user's factors alone,
 * items fixed, over the history's (positive, sampled negative) pairs,
 * regularised towards prior (NULL: 0).  The generator is seeded from nothing
 * but the history, so the same history always gives the same factors.
 */
void
rs_bpr_fold_in_from(const rs_model *m, const int32_t *items, size_t n, float rate,
					float lambda, const float *prior, float *x)
{
	int			f = m->factors;
	rs_random	rng = {0x5eed ^ (uint64_t) n};

	if (prior)
		memcpy(x, prior, sizeof(float) * f);
	else
		memset(x, 0, sizeof(float) * f);
	if (n == 0 || (size_t) m->n_items <= n)
		return;
	for (size_t k = 0; k < n; k++)
		rng.state = rng.state * 31 + (uint64_t) items[k];
	for (int epoch = 0; epoch < FOLD_IN_EPOCHS; epoch++)
		for (size_t k = 0; k < n; k++)
		{
			int32_t		i = items[rs_random_next(&rng) % n];
			int32_t		j = -1;
			const float *yi,
					   *yj;
			float		diff,
						g;

			for (int t = 0; t < FOLD_IN_NEGATIVE_TRIES && j < 0; t++)
			{
				int32_t		candidate = (int32_t) (rs_random_next(&rng) % (uint64_t) m->n_items);

				if (!rs_sorted_contains(items, n, candidate))
					j = candidate;
			}
			if (j < 0)
				continue;
			yi = rs_factor_item_row(m, i);
			yj = rs_factor_item_row(m, j);
			diff = cblas_sdot(f, x, 1, yi, 1) + m->item_bias[i]
				- cblas_sdot(f, x, 1, yj, 1) - m->item_bias[j];
			g = 1.0f / (1.0f + expf(diff));
			for (int c = 0; c < f; c++)
				x[c] += rate * (g * (yi[c] - yj[c]) - lambda * (x[c] - (prior ? prior[c] : 0.0f)));
		}
}

rs_status
rs_bpr_fold_in(const rs_model *m, const int32_t *items, const float *values, size_t n,
			   const rs_allocator *a, float *x, float *bias)
{
	rs_bpr_fold_in_from(m, items, n, m->params.learning_rate, m->params.regularization, NULL, x);
	return RS_OK;
}

/*
 * Write the user vector as a combination of their items' vectors,
 * x_u ~ sum_j alpha_j y_j (least squares, lightly regularised), so item j
 * contributes alpha_j (y_j . y_i); the item bias and the part of x_u outside
 * that span form the baseline.
 *
 * With Y the f x n matrix of the history's vectors, alpha = (Y'Y + eps I)^-1 Y'x
 * = Y' (YY' + eps I)^-1 x: the second form solves f x f instead of n x n,
 * which a long history needs (its n x n system would take n^2 floats and n^3
 * time).  Both forms have the same trace, so the same eps.
 */
rs_status
rs_bpr_explain(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
			   double *contributions, double *baseline)
{
	int			f = m->factors;
	size_t		n;
	const int32_t *items = rs_seen_items(m, user, &n);
	const float *x = rs_factor_user_row(m, user);
	bool		by_items = n <= (size_t) f;	/* the smaller system */
	size_t		dim = by_items ? n : (size_t) f;
	float	   *y = rs_alloc(a, sizeof(float) * (size_t) f * (n ? n : 1));
	float	   *gram = rs_alloc(a, sizeof(float) * (dim ? dim * dim : 1));
	float	   *coef = rs_alloc(a, sizeof(float) * (n ? n : 1));
	float	   *rest = rs_alloc(a, sizeof(float) * (size_t) f);
	float		trace = 0.0f;
	rs_status	status = RS_OK;

	if (!y || !gram || !coef || !rest)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	for (size_t j = 0; j < n; j++)
		memcpy(y + j * f, rs_factor_item_row(m, items[j]), sizeof(float) * f);
	memcpy(rest, x, sizeof(float) * f);
	if (n > 0)
	{
		/* Y'Y (n x n) or YY' (f x f), Y column-major with leading dimension f */
		cblas_ssyrk(CblasColMajor, CblasUpper, by_items ? CblasTrans : CblasNoTrans,
					(int) dim, by_items ? f : (int) n, 1.0f, y, f, 0.0f, gram, (int) dim);
		for (size_t j = 0; j < dim; j++)
			trace += gram[j * dim + j];
		for (size_t j = 0; j < dim; j++)
			gram[j * dim + j] += 1e-4f * trace / (float) n + 1e-12f;
		if (by_items)
		{
			cblas_sgemv(CblasColMajor, CblasTrans, f, (int) n, 1.0f, y, f, x, 1, 0.0f, coef, 1);
			if (!rs_cholesky_solve(gram, (int) n, coef))
			{
				status = RS_NUMERICAL_FAILURE;
				goto done;
			}
		}
		else
		{
			/* v = (YY' + eps I)^-1 x in rest, then alpha = Y'v */
			if (!rs_cholesky_solve(gram, f, rest))
			{
				status = RS_NUMERICAL_FAILURE;
				goto done;
			}
			cblas_sgemv(CblasColMajor, CblasTrans, f, (int) n, 1.0f, y, f, rest, 1, 0.0f,
						coef, 1);
			memcpy(rest, x, sizeof(float) * f);
		}
		cblas_sgemv(CblasColMajor, CblasNoTrans, f, (int) n, -1.0f, y, f, coef, 1, 1.0f, rest, 1);
	}
	for (size_t j = 0; j < n; j++)
		contributions[j] = (double) coef[j] *
			cblas_sdot(f, y + j * f, 1, rs_factor_item_row(m, item), 1);
	*baseline = m->item_bias[item] + cblas_sdot(f, rest, 1, rs_factor_item_row(m, item), 1);

done:
	rs_free(a, y);
	rs_free(a, gram);
	rs_free(a, coef);
	rs_free(a, rest);
	return status;
}

static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	rs_model_params params = {0};
	rs_bpr_result r;
	rs_status	status = rs_bpr_fit(in->data, in->options, rt, &r);

	if (status != RS_OK)
		return status;
	/* what fold-in repeats for a new user */
	params.regularization = (float) in->options[RS_BPR_REGULARIZATION];
	params.learning_rate = (float) in->options[RS_BPR_LEARNING_RATE];
	rs_bpr_model(in->data, &r, &params, &out->model);
	out->loss = r.loss;
	out->iterations = r.epochs;
	return RS_OK;
}

/*
 * Epochs that follow the data (README, Tuning).  An epoch draws one
 * triple per interaction, so it gives an item's factors about interactions
 * / items steps: the denser the data, the fewer epochs it needs.  The best
 * count fell from 160 on MovieTweetings (9 interactions an item) to 40 on
 * its densest core (69) and 10 on planted data of 268, and the fixed 40
 * lost up to 33 % of the held-out NDCG@10.  Between the real sets it fell
 * like the square root of items / interactions (80 at 19 interactions an
 * item, 40 at 69), and EPOCH_SCALE times that root kept every set of
 * `make bench-defaults` and the dense core within 10 % of its best; a
 * count proportional to items / interactions (a fixed number of steps per
 * item) fitted the planted sets better but lost 10 % on the dense core.
 * Fewer than MIN_EPOCHS passes leave the factors near their random start
 * on some data: on the flat and noisy planted sets 10 epochs gave
 * 0.031-0.038 against 0.048-0.056 at 20.
 */
#define EPOCH_SCALE 300.0
#define MIN_EPOCHS 20
#define MAX_EPOCHS 500

static void
adapt_options(double *options, const bool *given, const rs_interactions *data)
{
	if (given[RS_BPR_EPOCHS] || data->nnz == 0)
		return;
	options[RS_BPR_EPOCHS] = fmin(fmax(round(EPOCH_SCALE * sqrt(data->n_items / (double) data->nnz)),
									   MIN_EPOCHS), MAX_EPOCHS);
}

#define BIT RS_SECTION_BIT

const rs_kind rs_bpr_kind = {
	.algorithm = RS_ALGO_BPR,
	.name = "bpr",
	.trainer = "train_bpr",
	.training = "BPR training",
	.input = RS_INPUT_INTERACTIONS,
	.options = rs_bpr_option_specs,
	.n_options = RS_BPR_OPTION_COUNT,
	.threads_option = RS_BPR_THREADS,
	.factors_option = RS_BPR_FACTORS,
	.users_option = RS_BPR_USERS,
	.verbose_option = RS_BPR_VERBOSE,
	.iterations_option = RS_BPR_EPOCHS,
	.chosen_by = {-1, 0},
	.search = {{RS_BPR_LEARNING_RATE, 0.005, 0.1}, {RS_BPR_REGULARIZATION, 1e-4, 0.05}},
	.n_search = 2,
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_USER_FACTORS) | BIT(RS_SEC_ITEM_FACTORS) | BIT(RS_SEC_ITEM_BIAS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) |
	BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_INFO),
	.adapt_options = adapt_options,
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
};
