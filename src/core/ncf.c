/*
 * ncf.c - NeuMF: training by mini-batch Adam on sampled negatives, and
 * scoring.
 *
 * He et al. 2017 fuse two models of a (user, item) pair.  GMF multiplies a
 * user and an item embedding element-wise (matrix factorisation with a
 * learned weighting of the factors); an MLP tower reads the concatenation
 * of two other embeddings through ReLU layers.  The output layer reads both:
 *
 *   z = h_G . (p_u * q_i) + h_M . a_L + b,   score = sigmoid(z),
 *   a_0 = [m_u; n_i],  a_l = relu(W_l a_{l-1} + b_l)
 *
 * Training minimises binary cross-entropy with every training interaction a
 * positive (label 1) and, per positive, `negatives` items the user has not
 * interacted with (label 0), drawn uniformly and afresh every epoch.  The
 * embeddings start N(0, 0.01^2) and the layers Glorot-uniform, as in the
 * paper's code, without pre-training.
 *
 * A batch.  An epoch visits the positives in a random order, batch_size /
 * (1 + negatives) of them per batch, each with its negatives.  The batch is
 * cut into at most MAX_PARTS parts that threads take in turn: each part
 * forwards and back-propagates its rows through the tower with sgemm
 * (neural_layers.c) and writes its share of the layer gradient to a buffer
 * of its own, and each row's embedding gradients to the row's own place.  The
 * calling thread then adds the parts in order and takes one Adam step: dense
 * for the layers, lazy for the embeddings (only the rows the batch touched,
 * their moments left as they were otherwise, as sparse Adam does).  The
 * parts depend on the batch alone, never on the number of threads, so a
 * seed gives the same model bit for bit on any number of threads.
 *
 * Scoring a user's items reuses the first layer's split: W_1 [m_u; n_i] =
 * W_1u m_u + W_1i n_i, so the user's half is computed once and the items go
 * through the tower in blocks of sgemm; the GMF half is one sgemv,
 * q_i . (p_u * h_G) for every item.
 */
#include "ncf.h"

#include "factor_model.h"
#include "fp_mode.h"
#include "kind.h"
#include "random.h"
#include "scoring.h"
#include "thread_pool.h"

#include <cblas.h>
#include <string.h>

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "seen_ptr is stored as uint64");

/*
 * The defaults are the paper's (no penalty).  On very sparse, long-tailed
 * data NeuMF then memorises the training pairs and ranks below popularity;
 * l2 (about 0.01 on MovieTweetings 100K, see README), taken once per step on
 * every row and layer the step touches, holds the many rows with little
 * data near 0.  Too much of it shrinks everything to 0, where the products
 * in the model leave no gradient: the loss then stays at the base rate's,
 * which rs_ncf_result reports so that the host can say so.
 */
const rs_option_spec rs_ncf_option_specs[RS_NCF_OPTION_COUNT] = {
	[RS_NCF_FACTORS] = {"factors", RS_OPT_INT, 16, 1, RS_NCF_MAX_WIDTH, false, NULL},
	[RS_NCF_NEGATIVES] = {"negatives", RS_OPT_INT, 4, 1, 100, false, NULL},
	[RS_NCF_EPOCHS] = {"epochs", RS_OPT_INT, 20, 1, 10000, false, NULL},
	[RS_NCF_LEARNING_RATE] = {"learning_rate", RS_OPT_REAL, 0.001, 0, 1e6, true, NULL},
	[RS_NCF_BATCH_SIZE] = {"batch_size", RS_OPT_INT, 256, 2, RS_NCF_MAX_BATCH, false, NULL},
	[RS_NCF_L2] = {"l2", RS_OPT_REAL, 0, 0, 1e6, false, NULL},
	[RS_NCF_SEED] = {"seed", RS_OPT_INT, 42, 0, 2147483647, false, NULL},
	[RS_NCF_THREADS] = {"threads", RS_OPT_INT, 0, 0, 1024, false, NULL},
	[RS_NCF_VERBOSE] = {"verbose", RS_OPT_BOOL, 0, 0, 1, false, NULL},
};

#define EMBEDDING_SCALE 0.01	/* standard deviation of the initial embeddings */
#define NEGATIVE_TRIES 32		/* draws of a negative before it is skipped */
#define MAX_PARTS 16			/* of a batch, each one task */
#define PART_GRADIENT_FLOATS (16 << 20) /* fewer parts for very wide networks */
#define MIN_PART_ROWS 64		/* fewer rows per part are not worth a task */
#define SCORE_BLOCK 256			/* items forwarded together when scoring */
#define FOLD_IN_NEGATIVES 4		/* per history item */
#define FOLD_IN_EPOCHS 100		/* full-batch steps */
#define FOLD_IN_RATE 0.01		/* Adam's step: a few units of change over the epochs */
#define FOLD_IN_BLOCK 256		/* samples forwarded together */

/* Where everything of one training lives; parts read it, the caller writes. */
typedef struct trainer
{
	const rs_interactions *data;
	rs_dense	net;			/* tower and output layer */
	int			f;				/* GMF factors */
	int			e;				/* tower embedding size */
	int			width;			/* f + e: an embedding row, GMF part first */
	size_t		n_params;		/* net.n_weights + f (h_G) */
	float		l2;
	float	   *params;			/* the network, then h_G */
	float	   *param_m,
			   *param_v;
	float	   *users,
			   *items;			/* embedding rows, n x width */
	float	   *user_m,
			   *user_v,
			   *item_m,
			   *item_v;
	/* the current batch */
	int32_t    *batch_users,
			   *batch_items;
	float	   *batch_labels;
	int			rows;
	int			part_rows;
	float	   *user_grad,
			   *item_grad;		/* per row, width each */
	float	   *part_grad;		/* per part, n_params each */
	double	   *part_loss;
	rs_dense_workspace *work;	/* per thread */
	float	   *gmf;			/* per thread, part_rows x f */
	/* rows touched by the batch, for the lazy step */
	int32_t    *user_slot,
			   *item_slot;		/* index in touched, or -1 */
	int32_t    *touched;
	float	   *touched_grad;
} trainer;

/* Forward and backward of one part of the batch (part_end is part + 1). */
static void
learn_part(void *arg, int worker, size_t part, size_t part_end)
{
	trainer    *t = arg;
	rs_dense_workspace *w = &t->work[worker];
	int			f = t->f,
				e = t->e,
				width = t->width;
	int			first = (int) part * t->part_rows;
	int			rows = t->rows - first < t->part_rows ? t->rows - first : t->part_rows;
	float	   *grad = t->part_grad + part * t->n_params;
	const float *h_gmf = t->params + t->net.n_weights;
	float	   *gmf = t->gmf + (size_t) worker * t->part_rows * f;
	const float *output = w->act[t->net.layers];
	const float *input_delta;
	double		loss = 0.0;
	float		scale = 1.0f / (float) t->rows;

	(void) part_end;
	memset(grad, 0, sizeof(float) * t->n_params);
	for (int r = 0; r < rows; r++)
	{
		const float *p = t->users + (size_t) t->batch_users[first + r] * width;
		const float *q = t->items + (size_t) t->batch_items[first + r] * width;

		memcpy(w->act[0] + (size_t) r * 2 * e, p + f, sizeof(float) * e);
		memcpy(w->act[0] + (size_t) r * 2 * e + e, q + f, sizeof(float) * e);
		for (int k = 0; k < f; k++)
			gmf[(size_t) r * f + k] = p[k] * q[k];
	}
	rs_dense_forward(&t->net, t->params, w, rows);
	for (int r = 0; r < rows; r++)
	{
		const float *p = t->users + (size_t) t->batch_users[first + r] * width;
		const float *q = t->items + (size_t) t->batch_items[first + r] * width;
		float	   *gp = t->user_grad + (size_t) (first + r) * width;
		float	   *gq = t->item_grad + (size_t) (first + r) * width;
		const float *g_r = gmf + (size_t) r * f;
		double		z = output[r],
					dz;
		float		d;

		for (int k = 0; k < f; k++)
			z += (double) h_gmf[k] * g_r[k];
		loss += rs_logistic_loss(z, t->batch_labels[first + r], &dz);
		d = (float) dz * scale;
		w->delta[r] = d;
		for (int k = 0; k < f; k++)
		{
			grad[t->net.n_weights + k] += d * g_r[k];
			gp[k] = d * h_gmf[k] * q[k];
			gq[k] = d * h_gmf[k] * p[k];
		}
	}
	rs_dense_backward(&t->net, t->params, w, rows, grad, &input_delta);
	for (int r = 0; r < rows; r++)
		for (int k = 0; k < e; k++)
		{
			t->user_grad[(size_t) (first + r) * width + f + k] = input_delta[(size_t) r * 2 * e + k];
			t->item_grad[(size_t) (first + r) * width + f + k] = input_delta[(size_t) r * 2 * e + e + k];
		}
	t->part_loss[part] = loss;
}

/*
 * Sums the batch's rows' gradients per embedding row (in row order) and
 * takes the step on each row touched, with the l2 penalty's gradient on the
 * row: once per step, however many of the batch's samples it is in, so rows
 * with little data (most of them, on long-tailed data) are held close to 0.
 */
static void
step_embeddings(trainer *t, const rs_optimizer *o, const int32_t *ids,
				const float *row_grad, int32_t *slot, float *table, float *m, float *v)
{
	int			width = t->width;
	int			n_touched = 0;

	for (int r = 0; r < t->rows; r++)
	{
		int32_t		id = ids[r];
		float	   *acc;

		if (slot[id] < 0)
		{
			slot[id] = n_touched;
			t->touched[n_touched++] = id;
			memset(t->touched_grad + (size_t) slot[id] * width, 0, sizeof(float) * width);
		}
		acc = t->touched_grad + (size_t) slot[id] * width;
		for (int k = 0; k < width; k++)
			acc[k] += row_grad[(size_t) r * width + k];
	}
	for (int s = 0; s < n_touched; s++)
	{
		size_t		at = (size_t) t->touched[s] * width;
		float	   *g = t->touched_grad + (size_t) s * width;

		for (int k = 0; k < width && t->l2 > 0.0f; k++)
			g[k] += t->l2 * table[at + k];
		rs_optimizer_update(o, table + at, m + at, v + at, g, width);
		slot[t->touched[s]] = -1;
	}
}

/* The batch of positives order[begin, end) with their negatives. */
static void
draw_batch(trainer *t, const size_t *order, const int32_t *row_user, size_t begin,
		   size_t end, int negatives, rs_random *rng)
{
	const rs_interactions *d = t->data;

	t->rows = 0;
	for (size_t k = begin; k < end; k++)
	{
		size_t		position = order[k];
		int32_t		u = row_user[position];
		const int32_t *seen = d->user_items + d->user_ptr[u];
		size_t		n_seen = d->user_ptr[u + 1] - d->user_ptr[u];

		t->batch_users[t->rows] = u;
		t->batch_items[t->rows] = d->user_items[position];
		t->batch_labels[t->rows++] = 1.0f;
		for (int s = 0; s < negatives; s++)
			for (int tries = 0; tries < NEGATIVE_TRIES; tries++)
			{
				int32_t		j = (int32_t) rs_random_below(rng, (size_t) d->n_items);

				if (rs_sorted_contains(seen, n_seen, j))
					continue;
				t->batch_users[t->rows] = u;
				t->batch_items[t->rows] = j;
				t->batch_labels[t->rows++] = 0.0f;
				break;
			}
	}
}

void
rs_ncf_result_free(rs_ncf_result *r, const rs_allocator *a)
{
	rs_free(a, r->sizes);
	rs_free(a, r->user_factors);
	rs_free(a, r->item_factors);
	rs_free(a, r->weights);
	rs_free(a, r->item_popularity);
	rs_free(a, r->loss);
	memset(r, 0, sizeof(*r));
}

uint64_t
rs_ncf_weight_count(int n_sizes, const int32_t *sizes, int factors, int32_t n_users,
					int32_t n_items)
{
	uint64_t	count = (uint64_t) factors;

	for (int l = 0; l + 1 < n_sizes; l++)
		count += (uint64_t) sizes[l + 1] * ((uint64_t) sizes[l] + 1);
	return count + ((uint64_t) n_users + (uint64_t) n_items) * (uint64_t) (sizes[0] / 2);
}

static bool
shape_supported(const rs_interactions *d, const int *layers, int n_layers, int f)
{
	if (n_layers < 1 || n_layers > RS_NCF_MAX_LAYERS || layers[0] < 2 || layers[0] % 2 != 0)
		return false;
	for (int l = 0; l < n_layers; l++)
		if (layers[l] < 1 || layers[l] > RS_NCF_MAX_WIDTH)
			return false;
	return f >= 1 && f <= RS_NCF_MAX_WIDTH && d->n_items > 0;
}

/* Allocates everything training needs; false without memory. */
static bool
trainer_alloc(trainer *t, const rs_allocator *a, int threads, int batch_rows)
{
	const rs_interactions *d = t->data;
	size_t		users = (size_t) d->n_users * t->width,
				items = (size_t) d->n_items * t->width;
	int			parts = MAX_PARTS;

	/* the parts depend on the shape alone, never on the threads */
	while (parts > 1 && (size_t) parts * t->n_params > PART_GRADIENT_FLOATS)
		parts /= 2;
	t->part_rows = batch_rows < MIN_PART_ROWS * parts ?
		MIN_PART_ROWS : (batch_rows + parts - 1) / parts;
	t->params = rs_alloc(a, sizeof(float) * t->n_params);
	t->param_m = rs_alloc(a, sizeof(float) * t->n_params);
	t->param_v = rs_alloc(a, sizeof(float) * t->n_params);
	t->users = rs_alloc(a, sizeof(float) * users);
	t->user_m = rs_alloc(a, sizeof(float) * users);
	t->user_v = rs_alloc(a, sizeof(float) * users);
	t->items = rs_alloc(a, sizeof(float) * items);
	t->item_m = rs_alloc(a, sizeof(float) * items);
	t->item_v = rs_alloc(a, sizeof(float) * items);
	t->batch_users = rs_alloc(a, sizeof(int32_t) * batch_rows);
	t->batch_items = rs_alloc(a, sizeof(int32_t) * batch_rows);
	t->batch_labels = rs_alloc(a, sizeof(float) * batch_rows);
	t->user_grad = rs_alloc(a, sizeof(float) * batch_rows * t->width);
	t->item_grad = rs_alloc(a, sizeof(float) * batch_rows * t->width);
	t->part_grad = rs_alloc(a, sizeof(float) * parts * t->n_params);
	t->part_loss = rs_alloc(a, sizeof(double) * parts);
	t->gmf = rs_alloc(a, sizeof(float) * threads * t->part_rows * t->f);
	t->user_slot = rs_alloc(a, sizeof(int32_t) * d->n_users);
	t->item_slot = rs_alloc(a, sizeof(int32_t) * d->n_items);
	t->touched = rs_alloc(a, sizeof(int32_t) * batch_rows);
	t->touched_grad = rs_alloc(a, sizeof(float) * batch_rows * t->width);
	t->work = rs_alloc(a, sizeof(rs_dense_workspace) * threads);
	if (t->work)
		memset(t->work, 0, sizeof(rs_dense_workspace) * threads);
	if (!t->params || !t->param_m || !t->param_v || !t->users || !t->user_m ||
		!t->user_v || !t->items || !t->item_m || !t->item_v || !t->batch_users ||
		!t->batch_items || !t->batch_labels || !t->user_grad || !t->item_grad ||
		!t->part_grad || !t->part_loss || !t->gmf || !t->user_slot || !t->item_slot ||
		!t->touched || !t->touched_grad || !t->work)
		return false;
	for (int k = 0; k < threads; k++)
		if (!rs_dense_workspace_init(&t->work[k], &t->net, t->part_rows, a))
			return false;
	return true;
}

static void
trainer_free(trainer *t, const rs_allocator *a, int threads)
{
	if (t->work)
		for (int k = 0; k < threads; k++)
			rs_free(a, t->work[k].block);
	rs_free(a, t->work);
	rs_free(a, t->params);
	rs_free(a, t->param_m);
	rs_free(a, t->param_v);
	rs_free(a, t->users);
	rs_free(a, t->user_m);
	rs_free(a, t->user_v);
	rs_free(a, t->items);
	rs_free(a, t->item_m);
	rs_free(a, t->item_v);
	rs_free(a, t->batch_users);
	rs_free(a, t->batch_items);
	rs_free(a, t->batch_labels);
	rs_free(a, t->user_grad);
	rs_free(a, t->item_grad);
	rs_free(a, t->part_grad);
	rs_free(a, t->part_loss);
	rs_free(a, t->gmf);
	rs_free(a, t->user_slot);
	rs_free(a, t->item_slot);
	rs_free(a, t->touched);
	rs_free(a, t->touched_grad);
}

static void
initialise(trainer *t, rs_random *rng)
{
	const rs_interactions *d = t->data;
	int			last = t->net.sizes[t->net.layers - 1];
	double		limit = sqrt(6.0 / (double) (t->f + last + 1));
	float	   *output = t->params + t->net.offset[t->net.layers - 1];

	for (size_t k = 0; k < (size_t) d->n_users * t->width; k++)
		t->users[k] = (float) (EMBEDDING_SCALE * rs_random_normal(rng));
	for (size_t k = 0; k < (size_t) d->n_items * t->width; k++)
		t->items[k] = (float) (EMBEDDING_SCALE * rs_random_normal(rng));
	rs_dense_glorot(&t->net, t->params, rng);
	/* the output layer reads the tower and the GMF product: one layer of f + last inputs */
	for (int k = 0; k < last; k++)
		output[k] = (float) (limit * (2.0 * rs_random_uniform(rng) - 1.0));
	for (int k = 0; k < t->f; k++)
		t->params[t->net.n_weights + k] = (float) (limit * (2.0 * rs_random_uniform(rng) - 1.0));
	memset(t->param_m, 0, sizeof(float) * t->n_params);
	memset(t->param_v, 0, sizeof(float) * t->n_params);
	memset(t->user_m, 0, sizeof(float) * (size_t) d->n_users * t->width);
	memset(t->user_v, 0, sizeof(float) * (size_t) d->n_users * t->width);
	memset(t->item_m, 0, sizeof(float) * (size_t) d->n_items * t->width);
	memset(t->item_v, 0, sizeof(float) * (size_t) d->n_items * t->width);
	for (int32_t u = 0; u < d->n_users; u++)
		t->user_slot[u] = -1;
	for (int32_t i = 0; i < d->n_items; i++)
		t->item_slot[i] = -1;
}

/* Moves the trained parameters into the result's layout (ncf.h). */
static void
store(const trainer *t, rs_ncf_result *r)
{
	const rs_interactions *d = t->data;
	float	   *after = r->weights + t->n_params;
	float	   *item_tower = after + (size_t) d->n_users * t->e;

	memcpy(r->weights, t->params, sizeof(float) * t->n_params);
	for (int32_t u = 0; u < d->n_users; u++)
	{
		memcpy(r->user_factors + (size_t) u * t->f, t->users + (size_t) u * t->width,
			   sizeof(float) * t->f);
		memcpy(after + (size_t) u * t->e, t->users + (size_t) u * t->width + t->f,
			   sizeof(float) * t->e);
	}
	for (int32_t i = 0; i < d->n_items; i++)
	{
		memcpy(r->item_factors + (size_t) i * t->f, t->items + (size_t) i * t->width,
			   sizeof(float) * t->f);
		memcpy(item_tower + (size_t) i * t->e, t->items + (size_t) i * t->width + t->f,
			   sizeof(float) * t->e);
	}
}

static bool
all_finite(const float *x, size_t count)
{
	for (size_t k = 0; k < count; k++)
		if (!isfinite(x[k]))
			return false;
	return true;
}

static rs_status
ncf_fit(const rs_interactions *d, const int *layers, int n_layers, const double *opt,
		const rs_runtime *rt, rs_ncf_result *r)
{
	const rs_allocator *a = &rt->alloc;
	int			f = (int) opt[RS_NCF_FACTORS];
	int			negatives = (int) opt[RS_NCF_NEGATIVES];
	int			epochs = (int) opt[RS_NCF_EPOCHS];
	int			batch = (int) opt[RS_NCF_BATCH_SIZE];
	float		l2 = (float) opt[RS_NCF_L2];
	uint64_t	seed = (uint64_t) opt[RS_NCF_SEED];
	int			threads = rt->threads < 1 ? 1 : rt->threads;
	size_t		positives = (size_t) (batch / (1 + negatives));
	rs_random	rng = {seed};
	trainer		t = {0};
	rs_optimizer o = {.kind = RS_OPTIMIZER_ADAM, .rate = (float) opt[RS_NCF_LEARNING_RATE]};
	size_t	   *order = NULL;
	int32_t    *row_user = NULL;
	rs_pool    *pool = NULL;
	int			batch_rows;
	rs_status	status = RS_OK;

	memset(r, 0, sizeof(*r));
	if (!shape_supported(d, layers, n_layers, f))
		return RS_TOO_LARGE;
	if (positives < 1)
		positives = 1;
	batch_rows = (int) positives * (1 + negatives);

	r->factors = f;
	r->n_sizes = n_layers + 1;
	r->sizes = rs_alloc(a, sizeof(int32_t) * (size_t) r->n_sizes);
	if (!r->sizes)
		return RS_NO_MEMORY;
	memcpy(r->sizes, layers, sizeof(int32_t) * (size_t) n_layers);
	r->sizes[n_layers] = 1;

	t.data = d;
	rs_dense_init(&t.net, n_layers, r->sizes, RS_ACTIVATION_RELU);
	t.f = f;
	t.e = layers[0] / 2;
	t.width = f + t.e;
	t.n_params = t.net.n_weights + (size_t) f;
	t.l2 = l2;

	r->user_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_users * f);
	r->item_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_items * f);
	r->weights = rs_alloc(a, sizeof(float) *
						  rs_ncf_weight_count(r->n_sizes, r->sizes, f, d->n_users, d->n_items));
	r->item_popularity = rs_item_popularity(d, a);
	r->loss = rs_alloc(a, sizeof(double) * (size_t) epochs);
	order = rs_alloc(a, sizeof(size_t) * d->nnz);
	row_user = rs_alloc(a, sizeof(int32_t) * d->nnz);
	pool = rs_pool_create(threads, a);
	if (!r->user_factors || !r->item_factors || !r->weights || !r->item_popularity ||
		!r->loss || !order || !row_user || !pool ||
		!trainer_alloc(&t, a, threads, batch_rows))
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	initialise(&t, &rng);
	for (int32_t u = 0; u < d->n_users; u++)
		for (size_t k = d->user_ptr[u]; k < d->user_ptr[u + 1]; k++)
			row_user[k] = u;
	for (size_t k = 0; k < d->nnz; k++)
		order[k] = k;

	for (int ep = 0; ep < epochs; ep++)
	{
		double		started = rs_now(),
					sum = 0.0;
		size_t		samples = 0;

		/* a new order of the positives every epoch */
		for (size_t k = d->nnz; k > 1; k--)
		{
			size_t		j = rs_random_below(&rng, k);
			size_t		swap = order[k - 1];

			order[k - 1] = order[j];
			order[j] = swap;
		}
		for (size_t begin = 0, number = 0; begin < d->nnz; begin += positives, number++)
		{
			size_t		end = d->nnz - begin < positives ? d->nnz : begin + positives;
			rs_random	batch_rng = rs_random_for(seed, ep, number);
			size_t		parts;

			draw_batch(&t, order, row_user, begin, end, negatives, &batch_rng);
			parts = ((size_t) t.rows + t.part_rows - 1) / t.part_rows;
			if ((status = rs_pool_run(pool, rt, parts, 1, learn_part, &t)) != RS_OK)
				goto done;
			/* the parts' gradients, added in part order */
			for (size_t p = 1; p < parts; p++)
				cblas_saxpy((int) t.n_params, 1.0f, t.part_grad + p * t.n_params, 1,
							t.part_grad, 1);
			for (size_t p = 0; p < parts; p++)
				sum += t.part_loss[p];
			samples += (size_t) t.rows;
			rs_dense_penalty(&t.net, t.params, l2, t.part_grad);
			rs_optimizer_begin_step(&o);
			rs_optimizer_update(&o, t.params, t.param_m, t.param_v, t.part_grad, t.n_params);
			step_embeddings(&t, &o, t.batch_users, t.user_grad, t.user_slot, t.users,
							t.user_m, t.user_v);
			step_embeddings(&t, &o, t.batch_items, t.item_grad, t.item_slot, t.items,
							t.item_m, t.item_v);
		}
		r->loss[ep] = samples ? sum / (double) samples : 0.0;
		if (samples > 0)
		{
			/* the cross-entropy of predicting the share of positives for every sample */
			double		share = (double) d->nnz / (double) samples;

			r->base_rate_loss = share < 1.0 ?
				-(share * log(share) + (1.0 - share) * log1p(-share)) : 0.0;
		}
		/* a learning rate too large for the data sends the weights to infinity */
		if (!isfinite(r->loss[ep]))
		{
			status = RS_NUMERICAL_FAILURE;
			goto done;
		}
		r->epochs = ep + 1;
		if (rt->progress)
			rt->progress(rt->arg, ep + 1, r->loss[ep], rs_now() - started);
	}
	/* an epoch's loss is taken before its last step: that step must not have diverged */
	if (!all_finite(t.params, t.n_params) ||
		!all_finite(t.users, (size_t) d->n_users * t.width) ||
		!all_finite(t.items, (size_t) d->n_items * t.width))
	{
		status = RS_NUMERICAL_FAILURE;
		goto done;
	}
	store(&t, r);

done:
	rs_pool_destroy(pool, a);
	trainer_free(&t, a, threads);
	rs_free(a, order);
	rs_free(a, row_user);
	if (status != RS_OK)
		rs_ncf_result_free(r, a);
	return status;
}

/* The fit with subnormals flushed (fp_mode.h). */
rs_status
rs_ncf_fit(const rs_interactions *d, const int *layers, int n_layers, const double *opt,
		   const rs_runtime *rt, rs_ncf_result *r)
{
	rs_fp_scope scope;
	rs_status	status = ncf_fit(d, layers, n_layers, opt, rs_fp_scope_begin(&scope, rt), r);

	rs_fp_scope_end(&scope);
	return status;
}

void
rs_ncf_locate(rs_model *m)
{
	rs_dense	net;

	rs_dense_init(&net, m->mlp_layers, m->mlp_sizes, RS_ACTIVATION_RELU);
	m->ncf_embedding = m->mlp_sizes[0] / 2;
	m->ncf_output_gmf = m->mlp_weights + net.n_weights;
	m->ncf_user_embeddings = m->ncf_output_gmf + m->factors;
	m->ncf_item_embeddings = m->ncf_user_embeddings + (size_t) m->n_users * m->ncf_embedding;
}

void
rs_ncf_model(const rs_interactions *d, const rs_ncf_result *r, rs_model *m)
{
	rs_model_of_interactions(d, RS_ALGO_NCF, m);
	m->factors = r->factors;
	m->user_factors = r->user_factors;
	m->item_factors = r->item_factors;
	m->item_popularity = r->item_popularity;
	m->mlp_layers = r->n_sizes - 1;
	m->mlp_sizes = r->sizes;
	m->mlp_weights = r->weights;
	m->activation = RS_ACTIVATION_RELU;
	rs_ncf_locate(m);
}

double
rs_ncf_predict(const rs_model *m, int32_t user, int32_t item)
{
	float		input[RS_NCF_MAX_WIDTH];
	float		scratch[2 * RS_NCF_MAX_WIDTH];
	int			e = m->ncf_embedding,
				f = m->factors;
	const float *p,
			   *q;
	rs_dense	net;
	double		z;

	/* rows only once both are known: an unknown index's row is no address */
	if (user < 0 || item < 0)
		return NAN;
	p = m->user_factors + (size_t) user * f;
	q = m->item_factors + (size_t) item * f;
	rs_dense_init(&net, m->mlp_layers, m->mlp_sizes, RS_ACTIVATION_RELU);
	memcpy(input, m->ncf_user_embeddings + (size_t) user * e, sizeof(float) * e);
	memcpy(input + e, m->ncf_item_embeddings + (size_t) item * e, sizeof(float) * e);
	z = rs_dense_forward_one(&net, m->mlp_weights, input, scratch)[0];
	for (int k = 0; k < f; k++)
		z += (double) m->ncf_output_gmf[k] * p[k] * q[k];
	return rs_sigmoid(z);
}

/* Every item's probability for a user given by a GMF row and a tower row. */
rs_status
rs_ncf_score_row(const rs_model *m, const float *gmf, const float *tower,
				 const rs_allocator *a, float *scores)
{
	int			e = m->ncf_embedding,
				f = m->factors,
				first = m->mlp_sizes[1];
	rs_dense	net;
	rs_dense_workspace w;
	const float *W1 = m->mlp_weights;
	float	   *user_half = rs_alloc(a, sizeof(float) * ((size_t) first + f));
	float	   *weighted = user_half + first;

	if (!user_half)
		return RS_NO_MEMORY;
	rs_dense_init(&net, m->mlp_layers, m->mlp_sizes, RS_ACTIVATION_RELU);
	if (!rs_dense_workspace_init(&w, &net, SCORE_BLOCK, a))
	{
		rs_free(a, user_half);
		return RS_NO_MEMORY;
	}

	/* GMF: q_i . (p_u * h_G) for every item */
	for (int k = 0; k < f; k++)
		weighted[k] = gmf[k] * m->ncf_output_gmf[k];
	cblas_sgemv(CblasRowMajor, CblasNoTrans, m->n_items, f, 1.0f, m->item_factors, f,
				weighted, 1, 0.0f, scores, 1);

	/* the user's half of the first layer, with its bias: W_1u m_u + b_1 */
	memcpy(user_half, W1 + (size_t) first * 2 * e, sizeof(float) * first);
	cblas_sgemv(CblasRowMajor, CblasNoTrans, first, e, 1.0f, W1, 2 * e, tower, 1, 1.0f,
				user_half, 1);
	for (int32_t begin = 0; begin < m->n_items; begin += SCORE_BLOCK)
	{
		int			rows = m->n_items - begin < SCORE_BLOCK ? m->n_items - begin : SCORE_BLOCK;
		float	   *z1 = w.act[1];
		const float *out = w.act[net.layers];

		/* the items' half, added to the user's: Z_1 = N W_1i' + user half */
		for (int r = 0; r < rows; r++)
			memcpy(z1 + (size_t) r * first, user_half, sizeof(float) * first);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, first, e, 1.0f,
					m->ncf_item_embeddings + (size_t) begin * e, e, W1 + e, 2 * e,
					1.0f, z1, first);
		if (net.layers > 1)
			rs_dense_activate(z1, (size_t) rows * first, RS_ACTIVATION_RELU);
		rs_dense_forward_from(&net, 1, m->mlp_weights, &w, rows);
		for (int r = 0; r < rows; r++)
			scores[begin + r] = (float) rs_sigmoid((double) scores[begin + r] + out[r]);
	}
	rs_free(a, w.block);
	rs_free(a, user_half);
	return RS_OK;
}

rs_status
rs_ncf_score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	return rs_ncf_score_row(m, m->user_factors + (size_t) user * m->factors,
							m->ncf_user_embeddings + (size_t) user * m->ncf_embedding, a,
							scores);
}

/*
 * Fold-in: a new user's row (GMF then tower embedding) learned with the
 * network and the items fixed, by the training's objective on the history's
 * items (positives) and FOLD_IN_NEGATIVES sampled negatives per positive,
 * full-batch Adam from 0.  The generator is seeded from the history alone,
 * so the same history always gives the same row.
 */
rs_status
rs_ncf_fold_in(const rs_model *m, const int32_t *items, size_t n, const rs_allocator *a,
			   float *row)
{
	int			f = m->factors,
				e = m->ncf_embedding,
				width = f + e;
	size_t		samples = n * (1 + FOLD_IN_NEGATIVES);
	int			block = samples < FOLD_IN_BLOCK ? (int) samples : FOLD_IN_BLOCK;
	rs_dense	net;
	rs_dense_workspace w = {0};
	rs_optimizer o = {.kind = RS_OPTIMIZER_ADAM, .rate = FOLD_IN_RATE};
	rs_random	rng = {0x5eed ^ (uint64_t) n};
	int32_t    *sample_items = rs_alloc(a, sizeof(int32_t) * (samples ? samples : 1));
	float	   *labels = rs_alloc(a, sizeof(float) * (samples ? samples : 1));
	float	   *moments = rs_alloc(a, sizeof(float) * 3 * width);
	float	   *weight_grad;
	rs_status	status = RS_OK;

	memset(row, 0, sizeof(float) * width);
	rs_dense_init(&net, m->mlp_layers, m->mlp_sizes, RS_ACTIVATION_RELU);
	weight_grad = rs_alloc(a, sizeof(float) * net.n_weights);
	if (!sample_items || !labels || !moments || !weight_grad ||
		(samples > 0 && !rs_dense_workspace_init(&w, &net, block, a)))
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	if (n == 0 || (size_t) m->n_items <= n)
		goto done;
	memset(moments, 0, sizeof(float) * 2 * width);
	for (size_t k = 0; k < n; k++)
		rng.state = rng.state * 31 + (uint64_t) items[k];

	for (int epoch = 0; epoch < FOLD_IN_EPOCHS; epoch++)
	{
		float	   *grad = moments + 2 * width;
		size_t		count = 0;

		/* the positives, then fresh negatives */
		for (size_t k = 0; k < n; k++)
		{
			sample_items[count] = items[k];
			labels[count++] = 1.0f;
			for (int s = 0; s < FOLD_IN_NEGATIVES; s++)
				for (int tries = 0; tries < NEGATIVE_TRIES; tries++)
				{
					int32_t		j = (int32_t) rs_random_below(&rng, (size_t) m->n_items);

					if (rs_sorted_contains(items, n, j))
						continue;
					sample_items[count] = j;
					labels[count++] = 0.0f;
					break;
				}
		}
		memset(grad, 0, sizeof(float) * width);
		for (size_t begin = 0; begin < count; begin += (size_t) block)
		{
			int			rows = count - begin < (size_t) block ? (int) (count - begin) : block;
			const float *input_delta;

			for (int r = 0; r < rows; r++)
			{
				memcpy(w.act[0] + (size_t) r * 2 * e, row + f, sizeof(float) * e);
				memcpy(w.act[0] + (size_t) r * 2 * e + e,
					   m->ncf_item_embeddings + (size_t) sample_items[begin + r] * e,
					   sizeof(float) * e);
			}
			rs_dense_forward(&net, m->mlp_weights, &w, rows);
			for (int r = 0; r < rows; r++)
			{
				const float *q = m->item_factors + (size_t) sample_items[begin + r] * f;
				double		z = w.act[net.layers][r],
							dz;

				for (int k = 0; k < f; k++)
					z += (double) m->ncf_output_gmf[k] * row[k] * q[k];
				rs_logistic_loss(z, labels[begin + r], &dz);
				w.delta[r] = (float) (dz / (double) count);
				for (int k = 0; k < f; k++)
					grad[k] += w.delta[r] * m->ncf_output_gmf[k] * q[k];
			}
			/* the weights' gradient is a by-product here: only the input's is used */
			memset(weight_grad, 0, sizeof(float) * net.n_weights);
			rs_dense_backward(&net, m->mlp_weights, &w, rows, weight_grad, &input_delta);
			for (int r = 0; r < rows; r++)
				for (int k = 0; k < e; k++)
					grad[f + k] += input_delta[(size_t) r * 2 * e + k];
		}
		for (int k = 0; k < width; k++)
			grad[k] += m->params.regularization * row[k];
		rs_optimizer_begin_step(&o);
		rs_optimizer_update(&o, row, moments, moments + width, grad, width);
	}

done:
	rs_free(a, w.block);
	rs_free(a, sample_items);
	rs_free(a, labels);
	rs_free(a, moments);
	rs_free(a, weight_grad);
	return status;
}

static uint64_t
network_floats(const rs_model *m)
{
	return rs_ncf_weight_count(m->mlp_layers + 1, m->mlp_sizes, m->factors, m->n_users,
							   m->n_items);
}

/* The tower's shape, against the factors and the weights section. */
static const char *
check_sections(const rs_model_header *h, const unsigned char *bytes, rs_model *m)
{
	uint64_t	sizes_bytes = h->sections[RS_SEC_MLP_SIZES].size;
	int32_t		n_sizes;
	const int32_t *sizes;

	if (h->factors < 1 || h->factors > RS_NCF_MAX_WIDTH ||
		h->params.activation != RS_ACTIVATION_RELU || h->params.loss != 0)
		return "its dimensions are out of range";
	if (sizes_bytes % 4 != 0 || sizes_bytes / 4 < 2 || sizes_bytes / 4 > RS_NCF_MAX_LAYERS + 1)
		return "its network has an unsupported number of layers";
	n_sizes = (int32_t) (sizes_bytes / 4);
	sizes = (const int32_t *) (bytes + h->sections[RS_SEC_MLP_SIZES].offset);
	if (sizes[0] < 2 || sizes[0] % 2 != 0 || sizes[n_sizes - 1] != 1)
		return "its network's layer sizes are out of range";
	for (int32_t l = 0; l < n_sizes; l++)
		if (sizes[l] < 1 || sizes[l] > RS_NCF_MAX_WIDTH)
			return "its network's layer sizes are out of range";
	if (h->sections[RS_SEC_MLP_WEIGHTS].size !=
		rs_ncf_weight_count(n_sizes, sizes, h->factors, h->n_users, h->n_items) * 4)
		return "a section's size does not match the model's dimensions";
	m->mlp_layers = n_sizes - 1;
	m->mlp_sizes = sizes;
	m->mlp_weights = (const float *) (bytes + h->sections[RS_SEC_MLP_WEIGHTS].offset);
	m->activation = RS_ACTIVATION_RELU;
	rs_ncf_locate(m);
	return NULL;
}

/* The first width is of the user and item tower embeddings side by side. */
static bool
prepare_options(double *options, const bool *given, const int *widths, int n_widths,
				rs_report *why)
{
	if (widths[0] % 2 == 0)
		return true;
	snprintf(why->message, sizeof(why->message),
			 "the first entry of option \"layers\" of train_ncf must be even");
	snprintf(why->detail, sizeof(why->detail),
			 "It is the width of the user and item tower embeddings concatenated, %d.",
			 widths[0]);
	return false;
}

static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	rs_ncf_result r;
	rs_status	status = rs_ncf_fit(in->data, in->widths, in->n_widths, in->options, rt, &r);

	if (status != RS_OK)
		return status;
	/* shrunk to nothing, the model ranks items by chance: say so */
	if (r.epochs > 0 && r.loss[r.epochs - 1] >= 0.995 * r.base_rate_loss)
	{
		out->warned = true;
		snprintf(out->warning.message, sizeof(out->warning.message),
				 "train_ncf learned nothing beyond the share of positives");
		snprintf(out->warning.detail, sizeof(out->warning.detail),
				 "The last epoch's loss, %.2f, is no lower than that of predicting the same probability for every pair, %.2f.",
				 r.loss[r.epochs - 1], r.base_rate_loss);
		snprintf(out->warning.hint, sizeof(out->warning.hint), "%s",
				 in->options[RS_NCF_L2] > 0 ?
				 "Lower \"l2\": too large a penalty holds every embedding at 0." :
				 "Train for more \"epochs\", or use train_als or train_ease: on sparse data NCF may learn nothing.");
	}
	rs_ncf_model(in->data, &r, &out->model);
	/* what fold-in repeats for a new user */
	out->model.params.regularization = (float) in->options[RS_NCF_L2];
	out->model.params.learning_rate = (float) in->options[RS_NCF_LEARNING_RATE];
	out->loss = r.loss;
	out->iterations = r.epochs;
	return RS_OK;
}

/* A known user's probabilities; a newcomer's baseline is popularity. */
static rs_status
score_items(const rs_model *m, int32_t user, const rs_allocator *a, float *scores)
{
	if (user >= 0)
		return rs_ncf_score_items(m, user, a, scores);
	return rs_factor_score_items(m, -1, a, scores);
}

static rs_status
score_row(const rs_model *m, const float *row, float user_bias, const rs_allocator *a,
		  float *scores)
{
	return rs_ncf_score_row(m, row, row + m->factors, a, scores);
}

/* A user's row: the GMF factors, then the tower embedding. */
static int
row_length(const rs_model *m)
{
	return m->factors + m->ncf_embedding;
}

static rs_status
fold_in(const rs_model *m, const int32_t *items, const float *values, size_t n,
		const rs_allocator *a, float *row, float *bias)
{
	return rs_ncf_fold_in(m, items, n, a, row);
}

static const rs_widths_spec layer_widths = {
	.name = "layers",
	.min_count = 1,
	.max_count = RS_NCF_MAX_LAYERS,
	.max_width = RS_NCF_MAX_WIDTH,
	.defaults = {64, 32, 16, 8},
	.n_defaults = 4,
	.hint = "For example [64, 32, 16, 8]: the first is the width of the concatenated user and item embeddings, then the tower's layers.",
};

#define BIT RS_SECTION_BIT

const rs_kind rs_ncf_kind = {
	.algorithm = RS_ALGO_NCF,
	.name = "ncf",
	.trainer = "train_ncf",
	.training = "NCF training",
	.input = RS_INPUT_INTERACTIONS,
	.options = rs_ncf_option_specs,
	.n_options = RS_NCF_OPTION_COUNT,
	.threads_option = RS_NCF_THREADS,
	.factors_option = RS_NCF_FACTORS,
	.users_option = -1,
	.verbose_option = RS_NCF_VERBOSE,
	.iterations_option = RS_NCF_EPOCHS,
	.widths = &layer_widths,
	.chosen_by = {-1, 0},
	.search = {{RS_NCF_LEARNING_RATE, 3e-4, 1e-2}, {RS_NCF_L2, 1e-8, 1e-4}},
	.n_search = 2,
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_USER_FACTORS) | BIT(RS_SEC_ITEM_FACTORS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) |
	BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_MLP_SIZES) | BIT(RS_SEC_MLP_WEIGHTS) |
	BIT(RS_SEC_INFO),
	.prepare_options = prepare_options,
	.fit = fit,
	.check_sections = check_sections,
	.network_floats = network_floats,
	.predict = rs_ncf_predict,
	.score_items = score_items,
	.score_items_batch = rs_score_items_each,
	.score_history = rs_score_history_by_fold_in,
	.fold_in = fold_in,
	.score_row = score_row,
	.row_length = row_length,
	.user_vector = rs_factor_user_vector,
	.item_vector = rs_factor_item_vector,
};
