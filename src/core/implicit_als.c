/*
 * implicit_als.c - matrix factorisation of implicit feedback by alternating
 * least squares (Hu, Koren & Volinsky 2008, "Collaborative filtering for
 * implicit feedback datasets").
 *
 * An observed (u, i, r) gives preference p = 1 if r > 0 with confidence
 * c = 1 + alpha r (eq. 1-2); every unobserved pair has p = 0 and c = 1.
 * The model minimises (eq. 3)
 *
 *   sum over all (u, i) of c_ui (p_ui - x_u . y_i)^2 + lambda (sum |x_u|^2 + sum |y_i|^2)
 *
 * and with the items fixed each user solves (eq. 4)
 *
 *   (Y'Y + lambda I + sum_{i in I_u} (c_ui - 1) y_i y_i') x_u = sum_{i in I_u} c_ui p_ui y_i
 *
 * Y'Y is computed once per half-step, so a row costs O(f^2 + n_u f) per
 * conjugate-gradient step: cg_steps steps warm-started from the previous
 * factors (Takacs, Pilaszy & Tikk 2011, "Applications of the conjugate
 * gradient method for implicit feedback collaborative filtering").  With
 * solver "cholesky" - and always in the last user half-step, so that fold-in
 * and explanations reproduce the stored user factors exactly - the system
 * is formed (ssyrk over blocks of gathered rows) and solved by Cholesky.
 */
#include "als.h"

#include "lapack.h"
#include "random.h"
#include "thread_pool.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#define BLOCK 512				/* rows gathered per ssyrk call */
#define ROWS_PER_CHUNK 64
#define INIT_SCALE 0.01

typedef struct scratch
{
	float	   *r;				/* CG residual */
	float	   *p;				/* CG direction */
	float	   *ap;				/* A p */
	float	   *b;				/* right-hand side, then the exact solution */
	float	   *z;				/* gathered rows, column-major f x BLOCK */
	float	   *t;				/* per gathered row: y . v, then weighted */
	float	   *a;				/* system matrix, f x f */
} scratch;

typedef struct half_step
{
	const size_t *ptr;
	const int32_t *index;
	const float *value;
	const float *other;			/* the fixed side's factors */
	const float *gram;			/* other' other + lambda I, full */
	float	   *factors;		/* the side being solved; also the warm start */
	int			f;
	float		alpha;
	int			cg_steps;
	bool		exact;
	scratch    *scratch;
	atomic_int	failed;
} half_step;

static size_t
scratch_size(int f)
{
	return 4 * (size_t) f + (size_t) f * BLOCK + BLOCK + (size_t) f * f;
}

static scratch
carve_scratch(float *base, int f)
{
	scratch		s;

	s.r = base;
	s.p = s.r + f;
	s.ap = s.p + f;
	s.b = s.ap + f;
	s.z = s.b + f;
	s.t = s.z + (size_t) f * BLOCK;
	s.a = s.t + BLOCK;
	return s;
}

/* Copies the factors of rows [begin, begin + n) of the row's items into z. */
static void
gather(const half_step *h, size_t begin, int n, float *z)
{
	for (int j = 0; j < n; j++)
		memcpy(z + (size_t) j * h->f, h->other + (size_t) h->index[begin + j] * h->f,
			   sizeof(float) * h->f);
}

/*
 * out = A v = gram v + sum (c - 1)(y . v) y over the row's items, as two
 * matrix-vector products per block of gathered rows.  A row that fits one
 * block was gathered once by the caller (gathered = true).
 */
static void
apply_system(const half_step *h, scratch *s, size_t begin, size_t n, bool gathered,
			 const float *v, float *out)
{
	int			f = h->f;

	cblas_sgemv(CblasColMajor, CblasNoTrans, f, f, 1.0f, h->gram, f, v, 1, 0.0f, out, 1);
	for (size_t done = 0; done < n; done += BLOCK)
	{
		int			rows = (int) (n - done < BLOCK ? n - done : BLOCK);

		if (!gathered)
			gather(h, begin + done, rows, s->z);
		cblas_sgemv(CblasColMajor, CblasTrans, f, rows, 1.0f, s->z, f, v, 1, 0.0f, s->t, 1);
		for (int j = 0; j < rows; j++)
			s->t[j] *= h->alpha * h->value[begin + done + j];
		cblas_sgemv(CblasColMajor, CblasNoTrans, f, rows, 1.0f, s->z, f, s->t, 1, 1.0f, out, 1);
	}
}

static void
right_hand_side(const half_step *h, size_t begin, size_t n, float *b)
{
	int			f = h->f;

	memset(b, 0, sizeof(float) * f);
	for (size_t k = 0; k < n; k++)
		if (h->value[begin + k] > 0)
			cblas_saxpy(f, 1.0f + h->alpha * h->value[begin + k],
						h->other + (size_t) h->index[begin + k] * f, 1, b, 1);
}

static void
solve_cg(const half_step *h, scratch *s, size_t begin, size_t n, float *x)
{
	int			f = h->f;
	bool		gathered = n <= BLOCK;
	float		rs;

	if (gathered)
		gather(h, begin, (int) n, s->z);
	right_hand_side(h, begin, n, s->b);
	apply_system(h, s, begin, n, gathered, x, s->ap);
	for (int k = 0; k < f; k++)
		s->p[k] = s->r[k] = s->b[k] - s->ap[k];
	rs = cblas_sdot(f, s->r, 1, s->r, 1);
	for (int step = 0; step < h->cg_steps && rs > 1e-20f; step++)
	{
		float		step_size,
					rs_next;

		apply_system(h, s, begin, n, gathered, s->p, s->ap);
		step_size = rs / cblas_sdot(f, s->p, 1, s->ap, 1);
		cblas_saxpy(f, step_size, s->p, 1, x, 1);
		cblas_saxpy(f, -step_size, s->ap, 1, s->r, 1);
		rs_next = cblas_sdot(f, s->r, 1, s->r, 1);
		for (int k = 0; k < f; k++)
			s->p[k] = s->r[k] + (rs_next / rs) * s->p[k];
		rs = rs_next;
	}
}

static void
solve_exact(const half_step *h, scratch *s, size_t begin, size_t n, float *x)
{
	int			f = h->f;

	memcpy(s->a, h->gram, sizeof(float) * f * f);
	for (size_t done = 0; done < n; done += BLOCK)
	{
		int			rows = (int) (n - done < BLOCK ? n - done : BLOCK);

		for (int j = 0; j < rows; j++)
		{
			const float *y = h->other + (size_t) h->index[begin + done + j] * f;
			float		scale = sqrtf(h->alpha * h->value[begin + done + j]);

			for (int k = 0; k < f; k++)
				s->z[(size_t) j * f + k] = scale * y[k];
		}
		cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, f, rows, 1.0f, s->z, f,
					1.0f, s->a, f);
	}
	right_hand_side(h, begin, n, s->b);
	if (!rs_cholesky_solve(s->a, f, s->b))
	{
		atomic_store(&((half_step *) h)->failed, 1);
		return;
	}
	memcpy(x, s->b, sizeof(float) * f);
}

static void
solve_rows(void *arg, int worker, size_t first, size_t last)
{
	half_step  *h = arg;

	for (size_t row = first; row < last; row++)
	{
		size_t		begin = h->ptr[row],
					n = h->ptr[row + 1] - begin;
		float	   *x = h->factors + row * h->f;

		if (h->exact)
			solve_exact(h, &h->scratch[worker], begin, n, x);
		else
			solve_cg(h, &h->scratch[worker], begin, n, x);
	}
}

/*
 * Copies the upper triangle of a column-major f x f matrix to the lower:
 * a full matrix takes sgemv, much faster than ssymv at these sizes.
 */
static void
mirror_upper(float *matrix, int f)
{
	for (int col = 0; col < f; col++)
		for (int row = col + 1; row < f; row++)
			matrix[(size_t) col * f + row] = matrix[(size_t) row * f + col];
}

/* gram = F'F of n rows of f factors, plus lambda I, as a full matrix. */
static void
gram_matrix(const float *factors, int32_t n, int f, float lambda, float *gram)
{
	cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, f, n, 1.0f, factors, f,
				0.0f, gram, f);
	for (int k = 0; k < f; k++)
		gram[(size_t) k * f + k] += lambda;
	mirror_upper(gram, f);
}

/*
 * Weighted squared error of one user over all items, from the identity
 * sum_all c (p - s)^2 = x'(Y'Y)x - sum_obs s^2 + sum_obs c (p - s)^2.
 */
typedef struct loss_pass
{
	const rs_interactions *data;
	const float *user_factors;
	const float *item_factors;
	const float *item_gram;		/* Y'Y without lambda */
	int			f;
	float		alpha;
	double	   *user_loss;
	float	   *scratch;		/* f floats per worker */
} loss_pass;

static void
user_losses(void *arg, int worker, size_t first, size_t last)
{
	loss_pass  *e = arg;
	const rs_interactions *d = e->data;
	int			f = e->f;
	float	   *yx = e->scratch + (size_t) worker * f;

	for (size_t u = first; u < last; u++)
	{
		const float *x = e->user_factors + u * f;
		double		loss;

		cblas_sgemv(CblasColMajor, CblasNoTrans, f, f, 1.0f, e->item_gram, f, x, 1, 0.0f, yx, 1);
		loss = cblas_sdot(f, x, 1, yx, 1);
		for (size_t k = d->user_ptr[u]; k < d->user_ptr[u + 1]; k++)
		{
			double		s = cblas_sdot(f, x, 1, e->item_factors + (size_t) d->user_items[k] * f, 1);
			double		p = d->user_values[k] > 0 ? 1.0 : 0.0;
			double		c = 1.0 + e->alpha * d->user_values[k];

			loss += c * (p - s) * (p - s) - s * s;
		}
		e->user_loss[u] = loss;
	}
}

rs_status
rs_implicit_als_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
					rs_als_result *r)
{
	const rs_allocator *a = &rt->alloc;
	int			f = (int) opt[RS_ALS_FACTORS];
	int			iterations = (int) opt[RS_ALS_ITERATIONS];
	float		lambda = (float) opt[RS_ALS_REGULARIZATION];
	float		alpha = (float) opt[RS_ALS_ALPHA];
	int			cg_steps = (int) opt[RS_ALS_CG_STEPS];
	bool		cholesky = opt[RS_ALS_SOLVER] == RS_SOLVER_CHOLESKY;
	rs_random	rng = {(uint64_t) opt[RS_ALS_SEED]};
	int			threads = rt->threads < 1 ? 1 : rt->threads;
	size_t		per_thread = scratch_size(f);
	scratch    *scratch = NULL;
	float	   *arena = NULL;
	float	   *gram = NULL;
	float	   *loss_scratch = NULL;
	double	   *user_loss = NULL;
	rs_pool    *pool = NULL;
	rs_status	status = RS_OK;
	double		total_weight = (double) d->n_users * (double) d->n_items;

	memset(r, 0, sizeof(*r));
	r->factors = f;
	r->user_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_users * f);
	r->item_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_items * f);
	r->item_gram = rs_alloc(a, sizeof(float) * (size_t) f * f);
	r->item_popularity = rs_item_popularity(d, a);
	r->loss = rs_alloc(a, sizeof(double) * (size_t) iterations);
	gram = rs_alloc(a, sizeof(float) * (size_t) f * f);
	user_loss = rs_alloc(a, sizeof(double) * (size_t) d->n_users);
	scratch = rs_alloc(a, sizeof(*scratch) * (size_t) threads);
	arena = rs_alloc(a, sizeof(float) * per_thread * (size_t) threads);
	loss_scratch = rs_alloc(a, sizeof(float) * (size_t) f * threads);
	if (!r->user_factors || !r->item_factors || !r->item_gram || !r->item_popularity ||
		!r->loss || !gram || !user_loss || !scratch || !arena || !loss_scratch)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	for (int w = 0; w < threads; w++)
		scratch[w] = carve_scratch(arena + per_thread * (size_t) w, f);
	for (size_t k = 0; k < d->nnz; k++)
		total_weight += alpha * d->user_values[k];
	for (size_t k = 0; k < (size_t) d->n_users * f; k++)
		r->user_factors[k] = (float) (INIT_SCALE * rs_random_normal(&rng));
	for (size_t k = 0; k < (size_t) d->n_items * f; k++)
		r->item_factors[k] = (float) (INIT_SCALE * rs_random_normal(&rng));

	pool = rs_pool_create(threads, a);
	if (!pool)
	{
		status = RS_NO_MEMORY;
		goto done;
	}

	for (int it = 0; it < iterations; it++)
	{
		double		iteration_started = rs_now();
		bool		last = it == iterations - 1;
		half_step	items = {d->item_ptr, d->item_users, d->item_values, r->user_factors,
		gram, r->item_factors, f, alpha, cg_steps, cholesky, scratch, 0};
		half_step	users = {d->user_ptr, d->user_items, d->user_values, r->item_factors,
		gram, r->user_factors, f, alpha, cg_steps, cholesky || last, scratch, 0};
		loss_pass	losses = {d, r->user_factors, r->item_factors, r->item_gram, f, alpha,
		user_loss, loss_scratch};
		double		total = 0.0;

		/* items, then users: users last, against the final items (see als.c) */
		gram_matrix(r->user_factors, d->n_users, f, lambda, gram);
		if ((status = rs_pool_run(pool, rt, d->n_items, ROWS_PER_CHUNK, solve_rows, &items)) != RS_OK)
			goto done;
		gram_matrix(r->item_factors, d->n_items, f, 0.0f, r->item_gram);
		memcpy(gram, r->item_gram, sizeof(float) * f * f);
		for (int k = 0; k < f; k++)
			gram[(size_t) k * f + k] += lambda;
		mirror_upper(gram, f);
		if ((status = rs_pool_run(pool, rt, d->n_users, ROWS_PER_CHUNK, solve_rows, &users)) != RS_OK ||
			(status = rs_pool_run(pool, rt, d->n_users, ROWS_PER_CHUNK, user_losses, &losses)) != RS_OK)
			goto done;
		if (atomic_load(&items.failed) || atomic_load(&users.failed))
		{
			status = RS_NUMERICAL_FAILURE;
			goto done;
		}
		for (int32_t u = 0; u < d->n_users; u++)
			total += user_loss[u];
		r->loss[it] = total / total_weight;
		r->iterations = it + 1;
		if (rt->progress)
			rt->progress(rt->arg, it + 1, r->loss[it], rs_now() - iteration_started);
	}

done:
	rs_pool_destroy(pool, a);
	rs_free(a, gram);
	rs_free(a, user_loss);
	rs_free(a, scratch);
	rs_free(a, arena);
	rs_free(a, loss_scratch);
	if (status != RS_OK)
		rs_als_result_free(r, a);
	return status;
}

rs_status
rs_implicit_als_fold_in(const rs_model *m, const int32_t *items, const float *values,
						size_t n, const rs_allocator *a, float *factors)
{
	int			f = m->factors;
	float	   *arena = rs_alloc(a, sizeof(float) * (scratch_size(f) + (size_t) f * f));
	size_t		ptr[2] = {0, n};
	scratch		s;
	half_step	h = {ptr, items, values, m->item_factors, NULL, factors, f,
		m->params.alpha, 0, true, &s, 0};
	float	   *gram;

	if (!arena)
		return RS_NO_MEMORY;
	s = carve_scratch(arena, f);
	gram = arena + scratch_size(f);
	memcpy(gram, m->item_gram, sizeof(float) * f * f);
	for (int k = 0; k < f; k++)
		gram[(size_t) k * f + k] += m->params.regularization;
	h.gram = gram;
	solve_rows(&h, 0, 0, 1);
	rs_free(a, arena);
	return atomic_load(&h.failed) ? RS_NUMERICAL_FAILURE : RS_OK;
}
