/*
 * als.c - explicit-feedback matrix factorisation with biases, by alternating
 * least squares.
 *
 * Model:  r(u,i) ~ mu + b_u + b_i + p_u . q_i
 *
 * With the item side fixed, each user's unknowns x = [p_u; b_u] solve a
 * ridge regression over the items the user rated, with features
 * z_i = [q_i; 1] and targets t_i = r(u,i) - mu - b_i:
 *
 *   (Z'Z + D) x = Z't,   D = diag(lambda (n_u + n0), ..., lambda (n_u + n0), lambda_b)
 *
 * This is weighted-lambda regularisation (ALS-WR: Zhou et al. 2008,
 * "Large-scale parallel collaborative filtering for the Netflix prize") with
 * n0 = prior_count pseudo-interactions added to every count: pure ALS-WR
 * (n0 = 0) barely regularises a user with one rating, and on long-tailed
 * data those users' factors then fit noise.  The bias term has its own
 * unweighted lambda_b and shrinks towards the mean bias of its side, as in
 * the shrunk baseline of Koren 2010.  Then the same for items with the user
 * side fixed, and so on.
 *
 * Users who rate little rate differently from those who rate a lot (on
 * MovieTweetings the one-rating users half a point above the mean), and it
 * is the light users whose bias the prior decides.  So after the last
 * iteration the users are solved once more against the final items, each
 * bias held towards what users of that activity have: a line in
 * ln(ratings) fitted by least squares to the users' mean residuals, its
 * slope shrunk by its standard error (to 0 where activity says nothing
 * about the bias).  A newcomer's bias is the line at one rating (no
 * extrapolation past the data), and fold-in holds a history's towards the
 * line at its length.
 *
 * Rows longer than the number of unknowns use the normal equations.  Each
 * block of gathered rows carries its target as one more feature, w_i =
 * [q_i; 1; t_i], so one symmetric rank-k update accumulates the Gram matrix
 * Z'Z and the right-hand side Z't together; the Cholesky factorisation of
 * that bordered matrix leaves the forward substitution's result in its last
 * row, and one back substitution gives x.  Both are hand-written kernels:
 * at 65 unknowns LAPACK's blocking and call overheads cost more than the
 * arithmetic.  Shorter rows - most users of long-tailed data - use the
 * equivalent dual form, which is smaller:
 *
 *   x = D^-1 Z' a,   (I + Z D^-1 Z') a = t
 *
 * Every row is solved independently from the previous half-step's factors,
 * so the result does not depend on the thread count or on scheduling.
 */
#include "als.h"

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

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "seen_ptr is stored as uint64");

static const char *const feedback_choices[] = {"explicit", "implicit", NULL};
static const char *const solver_choices[] = {"cg", "cholesky", NULL};

/* Options of one kind of feedback: naming one for the other is a mistake. */
#define EXPLICIT_ONLY .only_with = RS_ALS_FEEDBACK + 1, .only_with_value = RS_FEEDBACK_EXPLICIT
#define IMPLICIT_ONLY .only_with = RS_ALS_FEEDBACK + 1, .only_with_value = RS_FEEDBACK_IMPLICIT

const rs_option_spec rs_als_option_specs[RS_ALS_OPTION_COUNT] = {
	[RS_ALS_FEEDBACK] = {"feedback", RS_OPT_CHOICE, RS_FEEDBACK_EXPLICIT, 0, 0, false, feedback_choices},
	[RS_ALS_FACTORS] = {"factors", RS_OPT_INT, 64, 1, RS_MODEL_MAX_FACTORS, false, NULL},
	[RS_ALS_ITERATIONS] = {"iterations", RS_OPT_INT, 15, 1, 10000, false, NULL},
	[RS_ALS_REGULARIZATION] = {"regularization", RS_OPT_REAL, 0.05, 0, 1e6, true, NULL},
	[RS_ALS_PRIOR_COUNT] = {"prior_count", RS_OPT_REAL, 10, 0, 1e9, false, NULL, EXPLICIT_ONLY},
	[RS_ALS_BIAS_REGULARIZATION] = {"bias_regularization", RS_OPT_REAL, 2, 0, 1e6, true, NULL,
	EXPLICIT_ONLY},
	[RS_ALS_ALPHA] = {"alpha", RS_OPT_REAL, 40, 0, 1e6, false, NULL, IMPLICIT_ONLY},
	[RS_ALS_CG_STEPS] = {"cg_steps", RS_OPT_INT, 3, 1, 100, false, NULL, IMPLICIT_ONLY},
	[RS_ALS_SOLVER] = {"solver", RS_OPT_CHOICE, RS_SOLVER_CG, 0, 0, false, solver_choices,
	IMPLICIT_ONLY},
	[RS_ALS_SEED] = {"seed", RS_OPT_INT, 42, 0, 2147483647, false, NULL},
	[RS_ALS_THREADS] = {"threads", RS_OPT_INT, 0, 0, 1024, false, NULL},
	[RS_ALS_VERBOSE] = {"verbose", RS_OPT_BOOL, 0, 0, 1, false, NULL},
	[RS_ALS_USERS] = {"users", RS_OPT_CHOICE, RS_USERS_KEEP, 0, 0, false, rs_users_choices},
};

#define BLOCK 512				/* rows gathered at a time */
#define ROWS_PER_CHUNK 64		/* rows a thread takes at a time */
#define INIT_SCALE 0.1			/* std. deviation of the initial factors */
#define BASELINE_ROUNDS 3		/* rounds of shrunk means that seed the biases */

/*
 * The kernels work on vectors of LANES floats, written with GCC's vector
 * extensions so that they compile everywhere; RS_KERNEL compiles them for
 * AVX-512 and AVX2 as well as the baseline (vector_isa.h).
 */
#define LANES 16
#define TILE_COLS 6				/* Gram columns per register tile */
#define TILE_BLOCKS 4			/* vectors of rows per register tile */

typedef float vfloat __attribute__((vector_size(LANES * sizeof(float)), aligned(sizeof(float))));

#define ALIGN_UP(n, to) (((n) + (to) - 1) / (to) * (to))

/*
 * Width of a gathered row [0...0, q_i, 1, t_i] of the primal path: f + 2
 * features padded in front to a whole number of vectors, and to at least
 * whole Gram tiles.
 */
static int
padded_width(int f)
{
	/* so the padding in front, width - (f + 2), is less than 2 LANES */
	_Static_assert(TILE_COLS - 1 < LANES, "a tile is narrower than a vector");

	return ALIGN_UP(ALIGN_UP(f + 2, TILE_COLS), LANES);
}

typedef struct scratch
{
	float	   *z;				/* gathered rows: primal row-major BLOCK x width,
								 * dual column-major m x BLOCK */
	float	   *t;				/* dual targets, then its solution */
	float	   *a;				/* Gram matrix, width x width (dual n x n) */
	float	   *x;				/* solution, width */
} scratch;

/* Floats one thread's scratch needs for m unknowns, with room to align. */
static size_t
scratch_size(int m)
{
	size_t		w = padded_width(m - 1);

	return ALIGN_UP(w * BLOCK, LANES) + ALIGN_UP(m > BLOCK ? m : BLOCK, LANES) +
		w * w + w + LANES;
}

static scratch
carve_scratch(float *base, int m)
{
	size_t		w = padded_width(m - 1);
	uintptr_t	misaligned = (uintptr_t) base % (LANES * sizeof(float));
	scratch		s;

	/* start every array on a vector boundary (base is float-aligned) */
	s.z = misaligned ? base + (LANES * sizeof(float) - misaligned) / sizeof(float) : base;
	s.t = s.z + ALIGN_UP(w * BLOCK, LANES);
	s.a = s.t + ALIGN_UP(m > BLOCK ? m : BLOCK, LANES);
	s.x = s.a + w * w;
	return s;
}

/* macros, not functions: vectors as arguments would differ by ABI per variant */
#define load(p) (*(const vfloat *) (p))
#define store(p, v) (*(vfloat *) (p) = (v))

/*
 * One register tile of g += Z'Z over `rows` gathered rows of width ld:
 * columns c0 .. c0+TILE_COLS-1, rows 16 b0 .. 16 (b0 + nb) - 1.  Every row
 * of Z is loaded once as nb vectors and multiplied by TILE_COLS of its own
 * features: nb * TILE_COLS accumulators that stay in registers.
 */
static inline __attribute__((always_inline)) void
gram_tile(const float *z, int ld, int rows, int c0, int b0, int nb, bool first, float *g)
{
	vfloat		acc[TILE_COLS][TILE_BLOCKS];

#pragma GCC unroll 8
	for (int c = 0; c < TILE_COLS; c++)
#pragma GCC unroll 8
		for (int b = 0; b < nb; b++)
			acc[c][b] = first ? (vfloat) {0} : load(g + (size_t) (c0 + c) * ld + (b0 + b) * LANES);
	for (int k = 0; k < rows; k++)
	{
		const float *row = z + (size_t) k * ld;
		vfloat		v[TILE_BLOCKS];

#pragma GCC unroll 8
		for (int b = 0; b < nb; b++)
			v[b] = load(row + (b0 + b) * LANES);
#pragma GCC unroll 8
		for (int c = 0; c < TILE_COLS; c++)
		{
			float		w = row[c0 + c];

#pragma GCC unroll 8
			for (int b = 0; b < nb; b++)
				acc[c][b] += v[b] * w;
		}
	}
#pragma GCC unroll 8
	for (int c = 0; c < TILE_COLS; c++)
#pragma GCC unroll 8
		for (int b = 0; b < nb; b++)
			store(g + (size_t) (c0 + c) * ld + (b0 + b) * LANES, acc[c][b]);
}

/*
 * g += Z'Z (g = Z'Z if first) for the lower triangle of columns `from` ..
 * ld-1, g column-major with leading dimension ld; Z is `rows` rows of ld
 * floats.  Entries above the diagonal within a vector of it are written too.
 */
RS_KERNEL_BODY void
gram_update_body(const float *z, int ld, int from, int rows, bool first, float *g)
{
	int			tiles = (ld - from + TILE_COLS - 1) / TILE_COLS;

	for (int c0 = ld - tiles * TILE_COLS; c0 < ld; c0 += TILE_COLS)
	{
		for (int b0 = c0 / LANES; b0 < ld / LANES; b0 += TILE_BLOCKS)
		{
			switch (ld / LANES - b0 < TILE_BLOCKS ? ld / LANES - b0 : TILE_BLOCKS)
			{
				case 1:
					gram_tile(z, ld, rows, c0, b0, 1, first, g);
					break;
				case 2:
					gram_tile(z, ld, rows, c0, b0, 2, first, g);
					break;
				case 3:
					gram_tile(z, ld, rows, c0, b0, 3, first, g);
					break;
				default:
					gram_tile(z, ld, rows, c0, b0, 4, first, g);
					break;
			}
		}
	}
}

RS_KERNEL(void, gram_update, (const float *z, int ld, int from, int rows, bool first, float *g),
		  (z, ld, from, rows, first, g))

/*
 * Gathers rows [0..0, q_i, 1, .] of `width` floats for the given other-side
 * rows; the last float, the target, is the caller's.
 */
RS_KERNEL_BODY void
gather_rows_body(const float *factors, int f, const int32_t *index, int rows, float *z, int width)
{
	int			from = width - (f + 2);

	for (int j = 0; j < rows; j++)
	{
		const float *q = factors + (size_t) index[j] * f;
		float	   *row = z + (size_t) j * width;

		int			k = 0;

		/* whole vectors of zeros (from < 2 LANES), partly overwritten by q_i */
		store(row, (vfloat) {0});
		if (from > LANES)
			store(row + LANES, (vfloat) {0});
		for (; k + LANES <= f; k += LANES)
			store(row + from + k, load(q + k));
		for (; k < f; k++)
			row[from + k] = q[k];
		row[from + f] = 1.0f;
	}
}

RS_KERNEL(void, gather_rows, (const float *factors, int f, const int32_t *index, int rows,
							   float *z, int width),
		  (factors, f, index, rows, z, width))

/*
 * Solves the system in rows and columns `from` .. ld-2 of the lower
 * triangle of g (column-major, leading dimension ld, vector-aligned) whose
 * right-hand side is its last row ld-1: the bordered matrix [A b; b' .].
 * Its Cholesky factor is [L 0; y' .] with L y = b, so after the
 * factorisation one back substitution L'x = y is left.  x gets ld floats:
 * the solution in from .. ld-2.  Returns false if A is not positive
 * definite.
 *
 * Right-looking, PANEL columns at a time: the panel is factored, then each
 * column to its right is read and written once for all PANEL rank-1
 * updates.  Vectors start at a multiple of LANES, so the factor's columns
 * hold zeros above the diagonal within their first vector.
 */
#define PANEL 4

RS_KERNEL_BODY bool
cholesky_bordered_body(float *g, int ld, int from, float *x)
{
	int			last = ld - 1;

	for (int k0 = from; k0 < last; k0 += PANEL)
	{
		int			k1 = k0 + PANEL < last ? k0 + PANEL : last;

		for (int k = k0; k < k1; k++)
		{
			float	   *ck = g + (size_t) k * ld;
			int			start = k & ~(LANES - 1);
			float		d = ck[k];
			float		inv;

			if (!(d > 0.0f))	/* also NaN */
				return false;
			d = sqrtf(d);
			inv = 1.0f / d;
			for (int i = start; i < ld; i += LANES)
				store(ck + i, load(ck + i) * inv);
			for (int i = start; i < k; i++)
				ck[i] = 0.0f;
			ck[k] = d;
			for (int j = k + 1; j < k1; j++)
			{
				float	   *cj = g + (size_t) j * ld;
				float		l = ck[j];

				for (int i = j & ~(LANES - 1); i < ld; i += LANES)
					store(cj + i, load(cj + i) - load(ck + i) * l);
			}
		}
		if (k1 - k0 == PANEL)
		{
			const float *c0 = g + (size_t) k0 * ld,
					   *c1 = c0 + ld,
					   *c2 = c1 + ld,
					   *c3 = c2 + ld;

			for (int j = k1; j < last; j++)
			{
				float	   *cj = g + (size_t) j * ld;
				float		l0 = c0[j],
							l1 = c1[j],
							l2 = c2[j],
							l3 = c3[j];

				for (int i = j & ~(LANES - 1); i < ld; i += LANES)
					store(cj + i, load(cj + i) - load(c0 + i) * l0 - load(c1 + i) * l1 -
						  load(c2 + i) * l2 - load(c3 + i) * l3);
			}
		}
		else
		{
			for (int k = k0; k < k1; k++)
			{
				const float *ck = g + (size_t) k * ld;

				for (int j = k1; j < last; j++)
				{
					float	   *cj = g + (size_t) j * ld;
					float		l = ck[j];

					for (int i = j & ~(LANES - 1); i < ld; i += LANES)
						store(cj + i, load(cj + i) - load(ck + i) * l);
				}
			}
		}
	}

	/*
	 * L'x = y, the last row.  Row k of L is strided, but only x[k-1] waits
	 * for its update: the others overlap.
	 */
	for (int k = from; k < last; k++)
		x[k] = g[(size_t) k * ld + last];
	for (int k = last - 1; k >= from; k--)
	{
		float		xk = x[k] / g[(size_t) k * ld + k];

		x[k] = xk;
		for (int i = k - 1; i >= from; i--)
			x[i] -= g[(size_t) i * ld + k] * xk;
	}
	return true;
}

RS_KERNEL(bool, cholesky_bordered, (float *g, int ld, int from, float *x),
		  (g, ld, from, x))

/* One half-step: solve every row of one side with the other side fixed. */
typedef struct half_step
{
	const size_t *ptr;
	const int32_t *index;
	const float *value;
	const float *other_factors;
	const float *other_bias;
	float	   *factors;
	float	   *bias;
	int			f;
	float		lambda;
	float		prior_count;
	float		lambda_bias;
	float		mean;
	float		bias_prior;		/* biases shrink towards this, not 0 */
	scratch    *scratch;
	atomic_int	failed;
	float		prior_slope;	/* per ln of a row's length (activity_bias_prior) */
} half_step;

/* The bias prior of a row of n ratings: the line at ln n, at 1 for none. */
static inline float
activity_bias_prior(float prior, float slope, size_t n)
{
	return n > 1 ? prior + slope * logf((float) n) : prior;
}

/* Solves a short row in the dual form; returns its solution x (m floats). */
static const float *
solve_dual(const half_step *h, scratch *s, size_t begin, int n, float prior)
{
	int			f = h->f,
				m = f + 1;
	float		inv_sqrt_d = 1.0f / sqrtf(h->lambda * ((float) n + h->prior_count));
	float		inv_sqrt_db = 1.0f / sqrtf(h->lambda_bias);

	for (int j = 0; j < n; j++)
	{
		int32_t		other = h->index[begin + j];
		const float *q = h->other_factors + (size_t) other * f;
		float	   *col = s->z + (size_t) j * m;

		for (int k = 0; k < f; k++)
			col[k] = q[k] * inv_sqrt_d;
		col[f] = inv_sqrt_db;
		s->t[j] = h->value[begin + j] - h->mean - h->other_bias[other] - prior;
	}
	/* K = Z~' Z~ + I, with Z~ = Z D^-1/2 */
	cblas_ssyrk(CblasColMajor, CblasUpper, CblasTrans, n, m, 1.0f, s->z, m, 0.0f, s->a, n);
	for (int j = 0; j < n; j++)
		s->a[(size_t) j * n + j] += 1.0f;
	if (!rs_cholesky_solve(s->a, n, s->t))
	{
		atomic_store(&((half_step *) h)->failed, 1);
		return s->x;
	}
	cblas_sgemv(CblasColMajor, CblasNoTrans, m, n, 1.0f, s->z, m, s->t, 1, 0.0f, s->x, 1);
	for (int k = 0; k < f; k++)
		s->x[k] *= inv_sqrt_d;
	s->x[f] *= inv_sqrt_db;
	return s->x;
}

/*
 * Solves a row by the normal equations; returns its solution x (m floats).
 * The gathered rows are [0..0, q_i, 1, t_i], the features right-aligned in
 * `width` floats, so the Gram kernel's bordered matrix has the system in
 * rows and columns `from` .. width-2 and Z't in its last row.
 */
static const float *
solve_primal(const half_step *h, scratch *s, size_t begin, size_t n, float prior)
{
	int			f = h->f,
				width = padded_width(f),
				from = width - (f + 2);
	float	   *g = s->a;

	for (size_t done = 0; done < n; done += BLOCK)
	{
		int			rows = (int) (n - done < BLOCK ? n - done : BLOCK);

		gather_rows(h->other_factors, f, h->index + begin + done, rows, s->z, width);
		for (int j = 0; j < rows; j++)
			s->z[(size_t) j * width + width - 1] = h->value[begin + done + j] - h->mean -
				h->other_bias[h->index[begin + done + j]] - prior;
		gram_update(s->z, width, from, rows, done == 0, g);
	}
	for (int k = from; k < from + f; k++)
		g[(size_t) k * width + k] += h->lambda * ((float) n + h->prior_count);
	g[(size_t) (from + f) * width + from + f] += h->lambda_bias;
	if (!cholesky_bordered(g, width, from, s->x))
		atomic_store(&((half_step *) h)->failed, 1);
	return s->x + from;
}

static void
solve_rows(void *arg, int worker, size_t first, size_t last)
{
	half_step  *h = arg;
	scratch    *s = &h->scratch[worker];
	int			f = h->f;

	for (size_t row = first; row < last; row++)
	{
		size_t		begin = h->ptr[row];
		size_t		n = h->ptr[row + 1] - begin;
		const float *x;
		float		prior = activity_bias_prior(h->bias_prior, h->prior_slope, n);

		if (n == 0)
		{
			memset(h->factors + row * f, 0, sizeof(float) * f);
			h->bias[row] = prior;
			continue;
		}
		if (n < (size_t) f + 1 && n <= BLOCK)
			x = solve_dual(h, s, begin, (int) n, prior);
		else
			x = solve_primal(h, s, begin, n, prior);
		memcpy(h->factors + row * f, x, sizeof(float) * f);
		h->bias[row] = prior + x[f];
	}
}

/* Squared training error per user, summed later in user order (deterministic). */
typedef struct error_pass
{
	const rs_interactions *data;
	const rs_als_result *model;
	double	   *user_sse;
} error_pass;

/*
 * Squared error of one user's n ratings, base = mu + b_u; the dot products
 * in vectors, summed lane by lane.
 */
RS_KERNEL_BODY double
row_sse_body(const float *p, int f, const float *item_factors, const float *item_bias,
		const int32_t *items, const float *values, size_t n, double base)
{
	double		sse = 0.0;

	for (size_t k = 0; k < n; k++)
	{
		const float *q = item_factors + (size_t) items[k] * f;
		vfloat		acc = {0};
		float		lane[LANES];
		float		dot = 0.0f;
		int			j = 0;
		double		err;

		for (; j + LANES <= f; j += LANES)
			acc += load(p + j) * load(q + j);
		for (; j < f; j++)
			dot += p[j] * q[j];
		store(lane, acc);
		for (int l = 0; l < LANES; l++)
			dot += lane[l];
		err = values[k] - (base + item_bias[items[k]] + dot);
		sse += err * err;
	}
	return sse;
}

RS_KERNEL(double, row_sse, (const float *p, int f, const float *item_factors,
							 const float *item_bias, const int32_t *items,
							 const float *values, size_t n, double base),
		  (p, f, item_factors, item_bias, items, values, n, base))

static void
user_errors(void *arg, int worker, size_t first, size_t last)
{
	error_pass *e = arg;
	const rs_interactions *d = e->data;
	const rs_als_result *r = e->model;
	int			f = r->factors;

	(void) worker;
	for (size_t u = first; u < last; u++)
		e->user_sse[u] = row_sse(r->user_factors + u * f, f, r->item_factors, r->item_bias,
								 d->user_items + d->user_ptr[u], d->user_values + d->user_ptr[u],
								 d->user_ptr[u + 1] - d->user_ptr[u],
								 r->global_mean + r->user_bias[u]);
}

/* The mean bias of a side: what a newcomer to it is expected to have. */
static double
mean_bias(const float *bias, int32_t n)
{
	double		sum = 0.0;

	for (int32_t k = 0; k < n; k++)
		sum += bias[k];
	return n ? sum / n : 0.0;
}

/*
 * One side's biases given the other's: each the mean residual of its row,
 * shrunk by lambda_b towards the side's prior.
 */
static void
shrunk_biases(const size_t *ptr, const int32_t *index, const float *value, int32_t n,
			  const float *other_bias, double mean, double prior, float lambda_b,
			  float *bias)
{
	for (int32_t row = 0; row < n; row++)
	{
		double		sum = 0.0;

		for (size_t k = ptr[row]; k < ptr[row + 1]; k++)
			sum += value[k] - mean - other_bias[index[k]] - prior;
		bias[row] = (float) (prior + sum / (lambda_b + (double) (ptr[row + 1] - ptr[row])));
	}
}

/*
 * Shrunk baseline biases (Koren 2010, eq. 2-3) to start from, shrunk towards
 * the mean bias of their side rather than 0: on long-tailed data the many
 * light users rate differently from the few heavy ones who dominate mu.
 */
static void
baseline_biases(const rs_interactions *d, rs_als_result *r, float lambda_b)
{
	memset(r->user_bias, 0, sizeof(float) * d->n_users);
	r->new_user_bias = r->new_item_bias = 0.0;
	for (int round = 0; round < BASELINE_ROUNDS; round++)
	{
		shrunk_biases(d->item_ptr, d->item_users, d->item_values, d->n_items,
					  r->user_bias, r->global_mean, r->new_item_bias, lambda_b, r->item_bias);
		r->new_item_bias = mean_bias(r->item_bias, d->n_items);
		shrunk_biases(d->user_ptr, d->user_items, d->user_values, d->n_users,
					  r->item_bias, r->global_mean, r->new_user_bias, lambda_b, r->user_bias);
		r->new_user_bias = mean_bias(r->user_bias, d->n_users);
	}
}

void
rs_als_result_free(rs_als_result *r, const rs_allocator *a)
{
	rs_free(a, r->user_factors);
	rs_free(a, r->item_factors);
	rs_free(a, r->user_bias);
	rs_free(a, r->item_bias);
	rs_free(a, r->item_popularity);
	rs_free(a, r->item_gram);
	rs_free(a, r->loss);
	memset(r, 0, sizeof(*r));
}

/*
 * A fit in progress: the result being improved and what its iterations
 * need, so that a regularisation path (als_regularization.c) can go on from
 * one setting's factors with the next.
 */
struct rs_als_solver
{
	const rs_interactions *d;
	rs_als_result *r;
	int			loss_room;		/* entries of r->loss */
	scratch    *scratch;
	float	   *arena;
	double	   *user_sse;
	rs_pool    *pool;
};

void
rs_als_solver_end(rs_als_solver *s, const rs_allocator *a)
{
	if (s == NULL)
		return;
	rs_pool_destroy(s->pool, a);
	rs_free(a, s->user_sse);
	rs_free(a, s->scratch);
	rs_free(a, s->arena);
	rs_free(a, s);
}

rs_status
rs_als_solver_begin(const rs_interactions *d, const double *opt, int max_iterations,
					const rs_runtime *rt, rs_als_result *r, rs_als_solver **out)
{
	const rs_allocator *a = &rt->alloc;
	int			f = (int) opt[RS_ALS_FACTORS];
	int			m = f + 1;
	rs_random	rng = {(uint64_t) opt[RS_ALS_SEED]};
	int			threads = rt->threads < 1 ? 1 : rt->threads;
	size_t		scratch_floats = scratch_size(m);
	rs_als_solver *s = rs_alloc(a, sizeof(*s));
	double		sum = 0.0;

	memset(r, 0, sizeof(*r));
	*out = NULL;
	if (!s)
		return RS_NO_MEMORY;
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->r = r;
	s->loss_room = max_iterations;
	r->factors = f;
	r->user_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_users * f);
	r->item_factors = rs_alloc(a, sizeof(float) * (size_t) d->n_items * f);
	r->user_bias = rs_alloc(a, sizeof(float) * (size_t) d->n_users);
	r->item_bias = rs_alloc(a, sizeof(float) * (size_t) d->n_items);
	r->loss = rs_alloc(a, sizeof(double) * (size_t) max_iterations);
	s->user_sse = rs_alloc(a, sizeof(double) * (size_t) d->n_users);
	s->scratch = rs_alloc(a, sizeof(*s->scratch) * (size_t) threads);
	s->arena = rs_alloc(a, sizeof(float) * scratch_floats * (size_t) threads);
	r->item_popularity = rs_item_popularity(d, a);
	s->pool = rs_pool_create(threads, a);
	if (!r->user_factors || !r->item_factors || !r->user_bias || !r->item_bias ||
		!r->item_popularity || !r->loss || !s->user_sse || !s->scratch || !s->arena || !s->pool)
	{
		rs_als_solver_end(s, a);
		rs_als_result_free(r, a);
		return RS_NO_MEMORY;
	}
	for (int w = 0; w < threads; w++)
		s->scratch[w] = carve_scratch(s->arena + scratch_floats * (size_t) w, m);

	for (size_t k = 0; k < d->nnz; k++)
		sum += d->user_values[k];
	r->global_mean = d->nnz ? sum / (double) d->nnz : 0.0;
	/* items are solved first, so the users' factors are what starts random */
	memset(r->item_factors, 0, sizeof(float) * (size_t) d->n_items * f);
	for (size_t k = 0; k < (size_t) d->n_users * f; k++)
		r->user_factors[k] = (float) (INIT_SCALE * rs_random_normal(&rng));
	baseline_biases(d, r, (float) opt[RS_ALS_BIAS_REGULARIZATION]);
	*out = s;
	return RS_OK;
}

rs_status
rs_als_solver_iterate(rs_als_solver *s, const double *opt, const rs_runtime *rt)
{
	const rs_interactions *d = s->d;
	rs_als_result *r = s->r;
	int			f = r->factors;
	float		lambda = (float) opt[RS_ALS_REGULARIZATION];
	float		prior_count = (float) opt[RS_ALS_PRIOR_COUNT];
	float		lambda_b = (float) opt[RS_ALS_BIAS_REGULARIZATION];
	double		iteration_started = rs_now();
	half_step	users = {d->user_ptr, d->user_items, d->user_values,
		r->item_factors, r->item_bias, r->user_factors, r->user_bias,
	f, lambda, prior_count, lambda_b, (float) r->global_mean, (float) r->new_user_bias, s->scratch, 0};
	half_step	items = {d->item_ptr, d->item_users, d->item_values,
		r->user_factors, r->user_bias, r->item_factors, r->item_bias,
	f, lambda, prior_count, lambda_b, (float) r->global_mean, (float) r->new_item_bias, s->scratch, 0};
	error_pass	errors = {d, r, s->user_sse};
	double		sse = 0.0;
	rs_status	status;

	/*
	 * Each side's biases shrink towards the mean of its previous ones; the
	 * model keeps the prior of the last solve, as fold-in repeats it.
	 */
	r->new_item_bias = mean_bias(r->item_bias, d->n_items);
	r->new_user_bias = mean_bias(r->user_bias, d->n_users);
	items.bias_prior = (float) r->new_item_bias;
	users.bias_prior = (float) r->new_user_bias;

	/*
	 * Items, then users: the users are solved last, against the final item
	 * factors, so folding in a user's training history at serving time gives
	 * back their stored factors, and explanations add up.
	 */
	if ((status = rs_pool_run(s->pool, rt, d->n_items, ROWS_PER_CHUNK, solve_rows, &items)) != RS_OK ||
		(status = rs_pool_run(s->pool, rt, d->n_users, ROWS_PER_CHUNK, solve_rows, &users)) != RS_OK ||
		(status = rs_pool_run(s->pool, rt, d->n_users, ROWS_PER_CHUNK, user_errors, &errors)) != RS_OK)
		return status;
	if (atomic_load(&users.failed) || atomic_load(&items.failed))
		return RS_NUMERICAL_FAILURE;
	for (int32_t u = 0; u < d->n_users; u++)
		sse += s->user_sse[u];
	rs_als_record_iteration(r, s->loss_room, sqrt(sse / (double) (d->nnz ? d->nnz : 1)),
							iteration_started, rt);
	return RS_OK;
}

void
rs_als_record_iteration(rs_als_result *r, int loss_room, double loss, double started,
						const rs_runtime *rt)
{
	if (r->iterations >= loss_room)
		return;
	r->loss[r->iterations++] = loss;
	if (rt->progress)
		rt->progress(rt->arg, r->iterations, loss, rs_now() - started);
}

/* A user's mean residual r - mu - b_i over their ratings (count > 0). */
static double
mean_residual(const rs_interactions *d, const rs_als_result *r, int32_t u)
{
	double		sum = 0.0;

	for (size_t k = d->user_ptr[u]; k < d->user_ptr[u + 1]; k++)
		sum += d->user_values[k] - r->global_mean - r->item_bias[d->user_items[k]];
	return sum / (double) (d->user_ptr[u + 1] - d->user_ptr[u]);
}

/*
 * The prior of the user biases as a line in ln(ratings): least squares
 * over the users' mean residuals, the slope shrunk by (1 - 1/t^2)+ for its
 * t statistic, so that a slope within its noise - data where every user
 * rates about as much, or where activity and bias are unrelated - gives
 * the mean.  The standard error is White's, robust to the light users'
 * means being noisier than the heavy users'.
 */
static void
activity_prior(const rs_interactions *d, const rs_als_result *r, double *intercept,
			   double *slope)
{
	double		n = 0.0,
				sx = 0.0,
				sy = 0.0,
				sxx = 0.0,
				sxy = 0.0,
				spread = 0.0;
	double		mean_x,
				vx,
				t2;

	for (int32_t u = 0; u < d->n_users; u++)
	{
		double		x,
					y;

		if (d->user_ptr[u + 1] == d->user_ptr[u])
			continue;
		x = log((double) (d->user_ptr[u + 1] - d->user_ptr[u]));
		y = mean_residual(d, r, u);
		n += 1.0;
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	*slope = 0.0;
	*intercept = n > 0.0 ? sy / n : r->new_user_bias;
	mean_x = n > 0.0 ? sx / n : 0.0;
	vx = sxx - sx * mean_x;
	if (n < 3.0 || vx <= 1e-9 * n)
		return;
	*slope = (sxy - mean_x * sy) / vx;
	*intercept = (sy - *slope * sx) / n;
	/* t^2 = slope^2 / Var(slope), Var = sum (x - mean x)^2 e^2 / vx^2 */
	for (int32_t u = 0; u < d->n_users; u++)
	{
		double		x,
					e;

		if (d->user_ptr[u + 1] == d->user_ptr[u])
			continue;
		x = log((double) (d->user_ptr[u + 1] - d->user_ptr[u]));
		e = mean_residual(d, r, u) - *intercept - *slope * x;
		spread += (x - mean_x) * (x - mean_x) * e * e;
	}
	t2 = spread > 0.0 ? *slope * *slope * vx * vx / spread : INFINITY;
	*slope *= t2 > 1.0 ? 1.0 - 1.0 / t2 : 0.0;
	*intercept = (sy - *slope * sx) / n;
}

/*
 * The users once more against the final items, their biases held towards
 * the activity prior: what fold-in repeats for a history.
 */
static rs_status
settle_users(rs_als_solver *s, const double *opt, const rs_runtime *rt)
{
	const rs_interactions *d = s->d;
	rs_als_result *r = s->r;
	half_step	users = {d->user_ptr, d->user_items, d->user_values,
		r->item_factors, r->item_bias, r->user_factors, r->user_bias,
		r->factors, (float) opt[RS_ALS_REGULARIZATION], (float) opt[RS_ALS_PRIOR_COUNT],
	(float) opt[RS_ALS_BIAS_REGULARIZATION], (float) r->global_mean, 0.0f, s->scratch, 0};
	double		intercept,
				slope;
	rs_status	status;

	activity_prior(d, r, &intercept, &slope);
	r->new_user_bias = (float) intercept;
	r->user_bias_slope = (float) slope;
	users.bias_prior = (float) intercept;
	users.prior_slope = (float) slope;
	if ((status = rs_pool_run(s->pool, rt, d->n_users, ROWS_PER_CHUNK, solve_rows, &users)) != RS_OK)
		return status;
	return atomic_load(&users.failed) ? RS_NUMERICAL_FAILURE : RS_OK;
}

static rs_status
explicit_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
			 rs_als_result *r)
{
	int			iterations = (int) opt[RS_ALS_ITERATIONS];
	rs_als_solver *solver;
	rs_status	status = rs_als_solver_begin(d, opt, iterations, rt, r, &solver);

	for (int it = 0; status == RS_OK && it < iterations; it++)
		status = rs_als_solver_iterate(solver, opt, rt);
	if (status == RS_OK)
		status = settle_users(solver, opt, rt);
	rs_als_solver_end(solver, &rt->alloc);
	if (status != RS_OK)
		rs_als_result_free(r, &rt->alloc);
	return status;
}

/* The fit with subnormals flushed (fp_mode.h). */
rs_status
rs_als_fit(const rs_interactions *d, const double *opt, const rs_runtime *rt,
		   rs_als_result *r)
{
	rs_fp_scope scope;
	rs_status	status = explicit_fit(d, opt, rs_fp_scope_begin(&scope, rt), r);

	rs_fp_scope_end(&scope);
	return status;
}

void
rs_als_model(const rs_interactions *d, const rs_als_result *r, const double *opt, rs_model *m)
{
	rs_model_of_interactions(d, opt[RS_ALS_FEEDBACK] == RS_FEEDBACK_IMPLICIT ?
							 RS_ALGO_ALS_IMPLICIT : RS_ALGO_ALS_EXPLICIT, m);
	m->params.regularization = (float) opt[RS_ALS_REGULARIZATION];
	m->params.prior_count = (float) opt[RS_ALS_PRIOR_COUNT];
	m->params.bias_regularization = (float) opt[RS_ALS_BIAS_REGULARIZATION];
	m->params.alpha = (float) opt[RS_ALS_ALPHA];
	if (m->algorithm == RS_ALGO_ALS_EXPLICIT)
		m->params.activity_slope = (float) r->user_bias_slope;
	m->item_gram = r->item_gram;
	m->item_popularity = r->item_popularity;
	m->factors = r->factors;
	m->global_mean = r->global_mean;
	m->new_user_bias = r->new_user_bias;
	m->new_item_bias = r->new_item_bias;
	m->user_factors = r->user_factors;
	m->item_factors = r->item_factors;
	m->user_bias = m->algorithm == RS_ALGO_ALS_EXPLICIT ? r->user_bias : NULL;
	m->item_bias = m->algorithm == RS_ALGO_ALS_EXPLICIT ? r->item_bias : NULL;
}

rs_status
rs_als_fold_in(const rs_model *m, const int32_t *items, const float *values, size_t n,
			   const rs_allocator *a, float *factors, float *bias)
{
	float	   *arena = rs_alloc(a, sizeof(float) * scratch_size(m->factors + 1));
	size_t		ptr[2] = {0, n};
	scratch		s;
	half_step	h = {ptr, items, values, m->item_factors, m->item_bias, factors, bias,
		m->factors, m->params.regularization, m->params.prior_count,
		m->params.bias_regularization, (float) m->global_mean, (float) m->new_user_bias,
	&s, 0, m->params.activity_slope};

	if (!arena)
		return RS_NO_MEMORY;
	s = carve_scratch(arena, m->factors + 1);
	solve_rows(&h, 0, 0, 1);
	rs_free(a, arena);
	return atomic_load(&h.failed) ? RS_NUMERICAL_FAILURE : RS_OK;
}

/*
 * Explicit ALS: the user's solve is x = A^-1 Z' t with rows z_j = [q_j; 1],
 * targets t_j = r_j - mu - b_j - prior and A = Z'Z + D.  So
 * [q_i; 1] . x = sum_j (z_j . w) t_j with w = A^-1 [q_i; 1]: item j
 * contributes (z_j . w) t_j, and mu + b_i + prior is the baseline.
 *
 * Implicit ALS (Hu et al. 2008, section 5): x_u = W Y' C p with
 * W = (Y'Y + lambda I + Y'(C - I)Y)^-1, so y_i . x_u = sum_j c_j p_j (y_i' W y_j).
 */
rs_status
rs_als_explain(const rs_model *m, int32_t user, int32_t item, const rs_allocator *a,
			   double *contributions, double *baseline)
{
	bool		rating = m->algorithm == RS_ALGO_ALS_EXPLICIT;
	int			f = m->factors;
	int			dim = rating ? f + 1 : f;
	size_t		n;
	const int32_t *items = rs_seen_items(m, user, &n);
	const float *values = rs_seen_values(m, user);
	float	   *z = rs_alloc(a, sizeof(float) * (size_t) dim * (n ? n : 1));
	float	   *system = rs_alloc(a, sizeof(float) * (size_t) dim * dim);
	float	   *w = rs_alloc(a, sizeof(float) * (size_t) dim);
	rs_status	status = RS_OK;
	double		prior = activity_bias_prior((float) m->new_user_bias,
											m->params.activity_slope, n);

	if (!z || !system || !w)
	{
		status = RS_NO_MEMORY;
		goto done;
	}
	for (size_t j = 0; j < n; j++)
	{
		const float *y = rs_factor_item_row(m, items[j]);
		float	   *col = z + j * dim;
		float		scale = rating ? 1.0f : sqrtf(m->params.alpha * values[j]);

		for (int k = 0; k < f; k++)
			col[k] = scale * y[k];
		if (rating)
			col[f] = 1.0f;
	}
	cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, dim, (int) n, 1.0f, z, dim,
				0.0f, system, dim);
	if (rating)
	{
		for (int k = 0; k < f; k++)
			system[(size_t) k * dim + k] += m->params.regularization *
				((float) n + m->params.prior_count);
		system[(size_t) f * dim + f] += m->params.bias_regularization;
	}
	else
		for (int col = 0; col < f; col++)
			for (int row = 0; row <= col; row++)
				system[(size_t) col * f + row] += m->item_gram[(size_t) col * f + row] +
					(row == col ? m->params.regularization : 0.0f);

	if (item >= 0)
		memcpy(w, rs_factor_item_row(m, item), sizeof(float) * f);
	else
		memset(w, 0, sizeof(float) * f);
	if (rating)
		w[f] = 1.0f;
	if (!rs_cholesky_solve(system, dim, w))
	{
		status = RS_NUMERICAL_FAILURE;
		goto done;
	}

	for (size_t j = 0; j < n; j++)
	{
		const float *y = rs_factor_item_row(m, items[j]);
		double		along = cblas_sdot(f, y, 1, w, 1);

		if (rating)
			contributions[j] = (along + w[f]) *
				(values[j] - m->global_mean - m->item_bias[items[j]] - prior);
		else
			contributions[j] = values[j] > 0 ?
				(1.0 + m->params.alpha * values[j]) * along : 0.0;
	}
	*baseline = rating ?
		m->global_mean + (item >= 0 ? m->item_bias[item] : m->new_item_bias) + prior :
		0.0;

done:
	rs_free(a, z);
	rs_free(a, system);
	rs_free(a, w);
	return status;
}

void
rs_als_fit_done(const rs_fit_input *in, const rs_als_result *r, rs_fit *out)
{
	rs_als_model(in->data, r, in->options, &out->model);
	out->loss = r->loss;
	out->iterations = r->iterations;
}

static rs_status
fit(const rs_fit_input *in, const rs_runtime *rt, rs_fit *out)
{
	rs_als_result r;
	rs_status	status = rs_als_fit(in->data, in->options, rt, &r);

	if (status == RS_OK)
		rs_als_fit_done(in, &r, out);
	return status;
}

#define BIT RS_SECTION_BIT

/* Explicit ALS's operations; implicit_als.c shares the table of options. */
const rs_kind rs_als_kind = {
	.algorithm = RS_ALGO_ALS_EXPLICIT,
	.name = "als",
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
	.chosen_by = {RS_ALS_FEEDBACK, RS_FEEDBACK_EXPLICIT},
	.search = {{RS_ALS_REGULARIZATION, 0.25, 4, true}, {RS_ALS_PRIOR_COUNT, 1, 100}},
	.n_search = 2,
	.required_sections = BIT(RS_SEC_USER_IDS) | BIT(RS_SEC_ITEM_IDS) |
	BIT(RS_SEC_USER_FACTORS) | BIT(RS_SEC_ITEM_FACTORS) |
	BIT(RS_SEC_USER_BIAS) | BIT(RS_SEC_ITEM_BIAS) |
	BIT(RS_SEC_SEEN_PTR) | BIT(RS_SEC_SEEN_ITEMS) | BIT(RS_SEC_SEEN_VALUES) |
	BIT(RS_SEC_ITEM_POPULARITY) | BIT(RS_SEC_INFO),
	.calibrate = rs_als_choose_regularization,
	.fit = fit,
	.fits_ratings = rs_kind_options_yes,
	.predict = rs_factor_rating_predict,
	.predicts_unknown = rs_kind_yes,
	.score_items = rs_factor_score_items,
	.score_items_batch = rs_factor_score_batch,
	.score_history = rs_score_history_by_fold_in,
	.fold_in = rs_als_fold_in,
	.score_row = rs_factor_score_row,
	.explain = rs_als_explain,
	.explain_has_baseline = rs_kind_yes,
	.similar = rs_factor_similar,
	.user_vector = rs_factor_user_vector,
	.item_vector = rs_factor_item_vector,
};
