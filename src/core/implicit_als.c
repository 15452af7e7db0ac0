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
 *
 * Where the time goes: each pass over a row's other-side factors is one
 * fused loop, read in place through the row's indices (a dot product and an
 * axpy per factor row while it is in L1, the next rows prefetched): the
 * first pass gives the residual b - A x of the warm start, each CG step one
 * more pass.  Copying the rows into a buffer first costs more than it saves:
 * a short row stays in cache between passes anyway, and a long one does not
 * fit in L2 either way.  The training loss comes out of the same steps (see solve_cg), so it
 * costs no pass of its own.  Rows are handed to the workers in chunks of
 * about equal work, as popularity makes some rows thousands of times longer
 * than others, and a chunk is a millisecond or two of work whichever the
 * solver: a cancel is polled between chunks.
 */
#include "implicit_als.h"

#include "factor_model.h"
#include "fp_mode.h"
#include "kind.h"
#include "lapack.h"
#include "random.h"
#include "scoring.h"
#include "thread_pool.h"
#include "vector_isa.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#define BLOCK 512				/* rows gathered per ssyrk call */
#define CHUNK_FLOPS 40000000.0	/* about a millisecond of one worker's time */
#define INIT_SCALE 0.01


/*
 * The fused kernel is plain C on eight-float vectors (GCC's vector
 * extension: two SSE registers on the baseline, one AVX register in the
 * variants RS_KERNEL adds, see vector_isa.h).
 */

typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));

typedef struct scratch
{
	float	   *r;				/* CG residual; the right-hand side of an exact solve */
	float	   *p;				/* CG direction */
	float	   *ap;				/* A p */
	float	   *b;				/* right-hand side, then the exact solution */
	float	   *a;				/* system matrix, f x f */
	float	   *z;				/* gathered rows, column-major f x BLOCK */
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
	float		lambda;
	int			cg_steps;
	bool		exact;
	scratch    *scratch;
	const size_t *chunks;		/* row ranges of about equal work */
	double	   *loss;			/* per row, or NULL: the loss of the new factors */
	atomic_int	failed;
} half_step;

static size_t
scratch_size(int f)
{
	return 4 * (size_t) f + (size_t) f * f + (size_t) f * BLOCK;
}

static scratch
carve_scratch(float *base, int f)
{
	scratch		s;

	s.r = base;
	s.p = s.r + f;
	s.ap = s.p + f;
	s.b = s.ap + f;
	s.a = s.b + f;
	s.z = s.a + (size_t) f * f;
	return s;
}

/* by pointer: a vector argument by value would change the ABI between variants */
static inline float
sum_lanes(const v8f *v)
{
	return (((*v)[0] + (*v)[4]) + ((*v)[1] + (*v)[5])) +
		(((*v)[2] + (*v)[6]) + ((*v)[3] + (*v)[7]));
}

static inline float
dot(const float *x, const float *y, int f)
{
	v8f			acc = {0};
	float		sum;
	int			k = 0;

	for (; k + 8 <= f; k += 8)
		acc += *(const v8f *) (x + k) * *(const v8f *) (y + k);
	sum = sum_lanes(&acc);
	for (; k < f; k++)
		sum += x[k] * y[k];
	return sum;
}

#define ROW(j) (other + (size_t) index[j] * f)
#define PREFETCH 8				/* rows ahead */

/*
 * out += sum_j (coef_j + weight_j (z_j . v)) z_j over the n factor rows
 * z_j = other[index[j]]: with coef = c p and weight = -(c - 1) it adds
 * b - sum (c - 1)(y . v) y (the sparse part of a residual), with coef = 0
 * and weight = c - 1 the sparse part of A v.  Returns sum_j coef_j (z_j . v).
 * Four rows at a time, so that four dot products are in flight at once.
 */
RS_KERNEL_BODY float
fused_pass_body(const float *other, const int32_t *index, size_t n, int f, const float *value,
		   float alpha, bool residual, const float *v, float *out)
{
	float		coef_dot = 0.0f;
	size_t		j = 0;

	for (; j + 4 <= n; j += 4)
	{
		const float *z0 = ROW(j),
				   *z1 = ROW(j + 1),
				   *z2 = ROW(j + 2),
				   *z3 = ROW(j + 3);
		v8f			d0 = {0},
					d1 = {0},
					d2 = {0},
					d3 = {0};
		float		t[4],
					c[4];
		int			k = 0;

		if (j + PREFETCH + 4 <= n)
			for (int q = 0; q < 4; q++)
				for (int line = 0; line < f; line += 16)
					__builtin_prefetch(ROW(j + PREFETCH + q) + line);

		for (; k + 8 <= f; k += 8)
		{
			v8f			vk = *(const v8f *) (v + k);

			d0 += *(const v8f *) (z0 + k) * vk;
			d1 += *(const v8f *) (z1 + k) * vk;
			d2 += *(const v8f *) (z2 + k) * vk;
			d3 += *(const v8f *) (z3 + k) * vk;
		}
		t[0] = sum_lanes(&d0);
		t[1] = sum_lanes(&d1);
		t[2] = sum_lanes(&d2);
		t[3] = sum_lanes(&d3);
		for (; k < f; k++)
		{
			t[0] += z0[k] * v[k];
			t[1] += z1[k] * v[k];
			t[2] += z2[k] * v[k];
			t[3] += z3[k] * v[k];
		}
		for (int q = 0; q < 4; q++)
		{
			float		w = alpha * value[j + q];

			c[q] = residual && value[j + q] > 0 ? 1.0f + w : 0.0f;
			coef_dot += c[q] * t[q];
			t[q] = residual ? c[q] - w * t[q] : w * t[q];
		}
		k = 0;
		for (; k + 8 <= f; k += 8)
			*(v8f *) (out + k) += ((*(const v8f *) (z0 + k) * t[0] + *(const v8f *) (z1 + k) * t[1]) +
								   (*(const v8f *) (z2 + k) * t[2] + *(const v8f *) (z3 + k) * t[3]));
		for (; k < f; k++)
			out[k] += (z0[k] * t[0] + z1[k] * t[1]) + (z2[k] * t[2] + z3[k] * t[3]);
	}
	for (; j < n; j++)
	{
		const float *zj = ROW(j);
		float		t = dot(zj, v, f),
					w = alpha * value[j],
					c = residual && value[j] > 0 ? 1.0f + w : 0.0f;
		int			k = 0;

		coef_dot += c * t;
		t = residual ? c - w * t : w * t;
		for (; k + 8 <= f; k += 8)
			*(v8f *) (out + k) += *(const v8f *) (zj + k) * t;
		for (; k < f; k++)
			out[k] += zj[k] * t;
	}
	return coef_dot;
}

RS_KERNEL(float, fused_pass, (const float *other, const int32_t *index, size_t n, int f,
								const float *value, float alpha, bool residual, const float *v,
								float *out),
		  (other, index, n, f, value, alpha, residual, v, out))

#undef ROW

static inline void
axpy(float a, const float *x, float *y, int f)
{
	int			k = 0;

	for (; k + 8 <= f; k += 8)
		*(v8f *) (y + k) += *(const v8f *) (x + k) * a;
	for (; k < f; k++)
		y[k] += x[k] * a;
}

/* sum over the row of c p, which the loss needs: sum c (p - s)^2 expanded */
static double
confidence_sum(const half_step *h, size_t begin, size_t n)
{
	double		sum = 0.0;

	for (size_t k = begin; k < begin + n; k++)
		if (h->value[k] > 0)
			sum += 1.0 + (double) h->alpha * h->value[k];
	return sum;
}

/*
 * CG on A x = b from the warm start x.  The loss of the new x over all
 * items, sum c (p - s)^2 with s = x . y, is sum c p^2 + q(x) - lambda |x|^2
 * where q(x) = x'Ax - 2 b.x; q of the warm start is -x.r - b.x, and a step
 * x += a p changes q by -a (2 p.r - a p'Ap), so the loss takes no pass over
 * the row's items beyond CG's own.
 */
static void
solve_cg(const half_step *h, scratch *s, size_t begin, size_t n, float *x, double *loss)
{
	int			f = h->f;
	const float *value = h->value + begin;
	double		q;
	float		rs;

	const int32_t *index = h->index + begin;

	cblas_sgemv(CblasColMajor, CblasNoTrans, f, f, -1.0f, h->gram, f, x, 1, 0.0f, s->r, 1);
	q = -(double) fused_pass(h->other, index, n, f, value, h->alpha, true, x, s->r);
	q -= dot(x, s->r, f);
	memcpy(s->p, s->r, sizeof(float) * f);
	rs = dot(s->r, s->r, f);
	for (int step = 0; step < h->cg_steps && rs > 1e-20f; step++)
	{
		float		step_size,
					rs_next,
					pap;

		cblas_sgemv(CblasColMajor, CblasNoTrans, f, f, 1.0f, h->gram, f, s->p, 1, 0.0f, s->ap, 1);
		fused_pass(h->other, index, n, f, value, h->alpha, false, s->p, s->ap);
		pap = dot(s->p, s->ap, f);
		step_size = rs / pap;
		q -= step_size * (2.0 * dot(s->p, s->r, f) - (double) step_size * pap);
		axpy(step_size, s->p, x, f);
		axpy(-step_size, s->ap, s->r, f);
		rs_next = dot(s->r, s->r, f);
		for (int k = 0; k < f; k++)
			s->p[k] = s->r[k] + (rs_next / rs) * s->p[k];
		rs = rs_next;
	}
	if (loss)
		*loss = confidence_sum(h, begin, n) + q - (double) h->lambda * dot(x, x, f);
}

static void
solve_exact(const half_step *h, scratch *s, size_t begin, size_t n, float *x, double *loss)
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
	memset(s->b, 0, sizeof(float) * f);
	for (size_t k = begin; k < begin + n; k++)
		if (h->value[k] > 0)
			axpy(1.0f + h->alpha * h->value[k], h->other + (size_t) h->index[k] * f, s->b, f);
	if (!rs_cholesky_solve(s->a, f, s->b))
	{
		atomic_store(&((half_step *) h)->failed, 1);
		return;
	}
	memcpy(x, s->b, sizeof(float) * f);
	if (loss)
	{
		/* x'(Y'Y)x - sum s^2 + sum c (p - s)^2, as the stored factors give it */
		double		sum;

		cblas_sgemv(CblasColMajor, CblasNoTrans, f, f, 1.0f, h->gram, f, x, 1, 0.0f, s->r, 1);
		sum = (double) dot(x, s->r, f) - (double) h->lambda * dot(x, x, f);
		for (size_t k = begin; k < begin + n; k++)
		{
			double		sk = dot(x, h->other + (size_t) h->index[k] * f, f);
			double		p = h->value[k] > 0 ? 1.0 : 0.0;
			double		c = 1.0 + (double) h->alpha * h->value[k];

			sum += c * (p - sk) * (p - sk) - sk * sk;
		}
		*loss = sum;
	}
}

static void
solve_rows(void *arg, int worker, size_t first, size_t last)
{
	half_step  *h = arg;

	for (size_t row = h->chunks[first]; row < h->chunks[last]; row++)
	{
		size_t		begin = h->ptr[row],
					n = h->ptr[row + 1] - begin;
		float	   *x = h->factors + row * h->f;
		double	   *loss = h->loss ? h->loss + row : NULL;

		if (h->exact)
			solve_exact(h, &h->scratch[worker], begin, n, x, loss);
		else
			solve_cg(h, &h->scratch[worker], begin, n, x, loss);
	}
}

/*
 * Cuts rows [0, n_rows) into consecutive chunks of about CHUNK_FLOPS: chunk
 * k is rows [chunks[k], chunks[k + 1]).  A row of n interactions costs
 * about (n + f/3) f^2 flops solved exactly (its Gram update and Cholesky
 * factorisation), 2 cg_steps (n + f) f by conjugate gradient.  Returns the
 * number of chunks.  Rows are solved one by one, so chunks change no
 * arithmetic, only how often a cancel is polled and how work is shared.
 */
static size_t
plan_chunks(const size_t *ptr, int32_t n_rows, int f, bool exact, int cg_steps,
			size_t *chunks)
{
	size_t		count = 0;
	double		work = 0.0;

	chunks[0] = 0;
	for (int32_t row = 0; row < n_rows; row++)
	{
		double		n = (double) (ptr[row + 1] - ptr[row]);

		work += exact ? (n + f / 3.0) * f * f : 2.0 * cg_steps * (n + f) * f;
		if (work >= CHUNK_FLOPS || row == n_rows - 1)
		{
			chunks[++count] = (size_t) row + 1;
			work = 0.0;
		}
	}
	return count;
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
 * A fit in progress: the result being improved and what its iterations
 * need, so that a regularisation path (als_regularization.c) can go on from
 * one setting's factors with the next.  alpha is the one of begin's options
 * throughout.
 */
struct rs_implicit_als_solver
{
	const rs_interactions *d;
	rs_als_result *r;
	int			loss_room;		/* entries of r->loss */
	float		alpha;
	int			cg_steps;
	bool		cholesky;
	double		total_weight;	/* of all pairs' confidences: the loss's scale */
	scratch    *scratch;
	float	   *arena;
	float	   *gram;
	double	   *user_loss;
	size_t	   *user_chunks;
	size_t	   *last_user_chunks;	/* the last users' pass is exact */
	size_t	   *item_chunks;
	size_t		user_chunk_count;
	size_t		last_user_chunk_count;
	size_t		item_chunk_count;
	rs_pool    *pool;
};

void
rs_implicit_als_solver_end(rs_implicit_als_solver *s, const rs_allocator *a)
{
	if (s == NULL)
		return;
	rs_pool_destroy(s->pool, a);
	rs_free(a, s->gram);
	rs_free(a, s->user_loss);
	rs_free(a, s->scratch);
	rs_free(a, s->arena);
	rs_free(a, s->user_chunks);
	rs_free(a, s->last_user_chunks);
	rs_free(a, s->item_chunks);
	rs_free(a, s);
}

rs_status
rs_implicit_als_solver_begin(const rs_interactions *d, const double *opt, int max_iterations,
							 const rs_runtime *rt, rs_als_result *r,
							 rs_implicit_als_solver **out)
{
	const rs_allocator *a = &rt->alloc;
	int			f = (int) opt[RS_ALS_FACTORS];
	rs_random	rng = {(uint64_t) opt[RS_ALS_SEED]};
	int			threads = rt->threads < 1 ? 1 : rt->threads;
	size_t		per_thread = scratch_size(f);
	rs_implicit_als_solver *s = rs_alloc(a, sizeof(*s));

	memset(r, 0, sizeof(*r));
	*out = NULL;
	if (!s)
		return RS_NO_MEMORY;
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->r = r;
	s->loss_room = max_iterations;
	s->alpha = (float) opt[RS_ALS_ALPHA];
	s->cg_steps = (int) opt[RS_ALS_CG_STEPS];
	s->cholesky = opt[RS_ALS_SOLVER] == RS_SOLVER_CHOLESKY;
	r->factors = f;
	r->user_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_users * f);
	r->item_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_items * f);
	r->item_gram = rs_alloc(a, sizeof(float) * (size_t) f * f);
	r->item_popularity = rs_item_popularity(d, a);
	r->loss = rs_alloc(a, sizeof(double) * (size_t) max_iterations);
	s->gram = rs_alloc(a, sizeof(float) * (size_t) f * f);
	s->user_loss = rs_alloc(a, sizeof(double) * (size_t) d->n_users);
	s->scratch = rs_alloc(a, sizeof(*s->scratch) * (size_t) threads);
	s->arena = rs_alloc(a, sizeof(float) * per_thread * (size_t) threads);
	s->user_chunks = rs_alloc(a, sizeof(size_t) * ((size_t) d->n_users + 1));
	s->last_user_chunks = rs_alloc(a, sizeof(size_t) * ((size_t) d->n_users + 1));
	s->item_chunks = rs_alloc(a, sizeof(size_t) * ((size_t) d->n_items + 1));
	s->pool = rs_pool_create(threads, a);
	if (!r->user_factors || !r->item_factors || !r->item_gram || !r->item_popularity ||
		!r->loss || !s->gram || !s->user_loss || !s->scratch || !s->arena || !s->user_chunks ||
		!s->last_user_chunks || !s->item_chunks || !s->pool)
	{
		rs_implicit_als_solver_end(s, a);
		rs_als_result_free(r, a);
		return RS_NO_MEMORY;
	}
	for (int w = 0; w < threads; w++)
		s->scratch[w] = carve_scratch(s->arena + per_thread * (size_t) w, f);
	s->user_chunk_count = plan_chunks(d->user_ptr, d->n_users, f, s->cholesky, s->cg_steps,
									  s->user_chunks);
	s->last_user_chunk_count = plan_chunks(d->user_ptr, d->n_users, f, true, s->cg_steps,
										   s->last_user_chunks);
	s->item_chunk_count = plan_chunks(d->item_ptr, d->n_items, f, s->cholesky, s->cg_steps,
									  s->item_chunks);
	s->total_weight = (double) d->n_users * (double) d->n_items;
	for (size_t k = 0; k < d->nnz; k++)
		s->total_weight += s->alpha * d->user_values[k];
	for (size_t k = 0; k < (size_t) d->n_users * f; k++)
		r->user_factors[k] = (float) (INIT_SCALE * rs_random_normal(&rng));
	for (size_t k = 0; k < (size_t) d->n_items * f; k++)
		r->item_factors[k] = (float) (INIT_SCALE * rs_random_normal(&rng));
	*out = s;
	return RS_OK;
}

rs_status
rs_implicit_als_solver_iterate(rs_implicit_als_solver *s, const double *opt, bool last,
							   const rs_runtime *rt)
{
	const rs_interactions *d = s->d;
	rs_als_result *r = s->r;
	int			f = r->factors;
	float		lambda = (float) opt[RS_ALS_REGULARIZATION];
	double		iteration_started = rs_now();
	half_step	items = {d->item_ptr, d->item_users, d->item_values, r->user_factors,
		s->gram, r->item_factors, f, s->alpha, lambda, s->cg_steps, s->cholesky, s->scratch,
	s->item_chunks, NULL, 0};
	half_step	users = {d->user_ptr, d->user_items, d->user_values, r->item_factors,
		s->gram, r->user_factors, f, s->alpha, lambda, s->cg_steps, s->cholesky || last,
		s->scratch, last ? s->last_user_chunks : s->user_chunks, s->user_loss, 0};
	double		total = 0.0;
	rs_status	status;

	/* items, then users: users last, against the final items (see als.c) */
	gram_matrix(r->user_factors, d->n_users, f, lambda, s->gram);
	if ((status = rs_pool_run(s->pool, rt, s->item_chunk_count, 1, solve_rows, &items)) != RS_OK)
		return status;
	gram_matrix(r->item_factors, d->n_items, f, 0.0f, r->item_gram);
	memcpy(s->gram, r->item_gram, sizeof(float) * f * f);
	for (int k = 0; k < f; k++)
		s->gram[(size_t) k * f + k] += lambda;
	if ((status = rs_pool_run(s->pool, rt,
							  last ? s->last_user_chunk_count : s->user_chunk_count, 1,
							  solve_rows, &users)) != RS_OK)
		return status;
	if (atomic_load(&items.failed) || atomic_load(&users.failed))
		return RS_NUMERICAL_FAILURE;
	for (int32_t u = 0; u < d->n_users; u++)
		total += s->user_loss[u];
	rs_als_record_iteration(r, s->loss_room, total / s->total_weight, iteration_started, rt);
	return RS_OK;
}

static rs_status
implicit_als_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
				 rs_als_result *r)
{
	int			iterations = (int) opt[RS_ALS_ITERATIONS];
	rs_implicit_als_solver *solver;
	rs_status	status = rs_implicit_als_solver_begin(d, opt, iterations, rt, r, &solver);

	for (int it = 0; status == RS_OK && it < iterations; it++)
		status = rs_implicit_als_solver_iterate(solver, opt, it == iterations - 1, rt);
	rs_implicit_als_solver_end(solver, &rt->alloc);
	if (status != RS_OK)
		rs_als_result_free(r, &rt->alloc);
	return status;
}

/* The fit with subnormals flushed (fp_mode.h). */
rs_status
rs_implicit_als_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
					rs_als_result *r)
{
	rs_fp_scope scope;
	rs_status	status = implicit_als_fit(d, opt, rs_fp_scope_begin(&scope, rt), r);

	rs_fp_scope_end(&scope);
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
		m->params.alpha, m->params.regularization, 0, true, &s, NULL, NULL, 0};
	float	   *gram;

	if (!arena)
		return RS_NO_MEMORY;
	s = carve_scratch(arena, f);
	gram = arena + scratch_size(f);
	memcpy(gram, m->item_gram, sizeof(float) * f * f);
	for (int k = 0; k < f; k++)
		gram[(size_t) k * f + k] += m->params.regularization;
	h.gram = gram;
	solve_exact(&h, &s, 0, n, factors, NULL);
	rs_free(a, arena);
	return atomic_load(&h.failed) ? RS_NUMERICAL_FAILURE : RS_OK;
}

static rs_status
fold_in(const rs_model *m, const int32_t *items, const float *values, size_t n,
		const rs_allocator *a, float *factors, float *bias)
{
	return rs_implicit_als_fold_in(m, items, values, n, a, factors);
}

static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	rs_als_result r;
	rs_status	status = rs_implicit_als_fit(in->data, in->options, rt, &r);

	if (status == RS_OK)
		rs_als_fit_done(in, &r, out);
	return status;
}

/*
 * Defaults that follow the data (README, Tuning: measured on real and
 * planted data of densities 0.0005 to 0.1 by `make bench-defaults`).
 *
 * alpha sets how much an observed pair outweighs an unobserved one.  Sparse
 * data needs it large, or the sea of unobserved pairs drowns the few
 * observed; dense data needs it small, or the negatives stop counting.  The
 * best alpha fell like 1 / sqrt(density) on every set, so the default is
 * ALPHA_SCALE / (mean value * sqrt(density)): values are strengths, so
 * scaling them all leaves the model as it is.
 *
 * lambda is a penalty against the data's own weight: each row's solve
 * weighs about items (or users) unit confidences plus its observed extra
 * confidence, and the best lambda stayed within a factor of four of
 * REGULARIZATION_SHARE of that weight averaged over all rows, where a
 * constant was 5 to 10 times off between sets.  That is the rule; the
 * default is the multiple of it measured on held-out interactions
 * (als_regularization.c), as the best multiple's neighbours a factor of two
 * heavier already collapse to popularity.
 */
#define ALPHA_SCALE 0.5
#define REGULARIZATION_SHARE 0.02

static double
value_sum(const rs_interactions *data)
{
	double		sum = 0.0;

	for (size_t k = 0; k < data->nnz; k++)
		sum += data->user_values[k];
	return sum;
}

double
rs_implicit_als_rule_regularization(const rs_interactions *data, double alpha)
{
	double		users = data->n_users,
				items = data->n_items;

	if (users + items == 0)
		return 0.0;
	return REGULARIZATION_SHARE * 2.0 * (users * items + alpha * value_sum(data)) /
		(users + items);
}

static void
adapt_options(double *options, const bool *given, const rs_interactions *data)
{
	double		sum = value_sum(data);

	if (data->nnz == 0)
		return;
	if (!given[RS_ALS_ALPHA] && sum > 0.0)
		options[RS_ALS_ALPHA] = ALPHA_SCALE * (double) data->nnz /
			(sum * sqrt((double) data->nnz / ((double) data->n_users * data->n_items)));
	if (!given[RS_ALS_REGULARIZATION])
		options[RS_ALS_REGULARIZATION] =
			rs_implicit_als_rule_regularization(data, options[RS_ALS_ALPHA]);
}

#define BIT RS_SECTION_BIT

const rs_kind rs_implicit_als_kind = {
	.algorithm = RS_ALGO_ALS_IMPLICIT,
	.name = "implicit_als",
	.trainer = "train_als",
	.training = "ALS training",
	.input = RS_INPUT_INTERACTIONS,
	.options = rs_als_option_specs,
	.n_options = RS_ALS_OPTION_COUNT,
	.threads_option = RS_ALS_THREADS,
	.factors_option = RS_ALS_FACTORS,
	.users_option = RS_ALS_USERS,
	.verbose_option = RS_ALS_VERBOSE,
	.iterations_option = RS_ALS_ITERATIONS,
	.chosen_by = {RS_ALS_FEEDBACK, RS_FEEDBACK_IMPLICIT},
	.search = {{RS_ALS_REGULARIZATION, 0.5, 2, true}, {RS_ALS_ALPHA, 0.125, 8, true}},
	.n_search = 2,
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_USER_FACTORS) | BIT(RS_SEC_ITEM_FACTORS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) |
	BIT(RS_SEC_ITEM_GRAM) | BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_INFO),
	.check_rows = rs_check_strengths,
	.adapt_options = adapt_options,
	.calibrate = rs_als_choose_regularization,
	.fit = fit,
	.predict = rs_factor_predict,
	.takes_strengths = rs_kind_yes,
	.score_items = rs_factor_score_items,
	.score_items_batch = rs_factor_score_batch,
	.score_history = rs_score_history_by_fold_in,
	.fold_in = fold_in,
	.score_row = rs_factor_score_row,
	.explain = rs_als_explain,
	.similar = rs_factor_similar,
	.user_vector = rs_factor_user_vector,
	.item_vector = rs_factor_item_vector,
};
