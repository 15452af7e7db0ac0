/*
 * test_sampled_softmax.c - the sequence model's loss against a reference
 * in double precision: the loss, and its gradient with respect to the
 * outputs, the embedding rows and the biases against central differences
 * of that reference.  Some positions' next item is also among the
 * negatives, twice, so the draws that must be left out are there to be
 * left out; the gradients are added to what the buffers held, scaled
 * exactly, and stay finite when the logits are in the thousands.
 */
#include "core/random.h"
#include "core/sampled_softmax.h"

#include "unit.h"

#define POSITIONS 7
#define FACTORS 5
#define NEGATIVES 6
#define ROWS (NEGATIVES + 4)
#define STEP 1e-3				/* of the central differences */

/* items 3 and 12 are drawn as negatives; 3 twice */
static const int32_t row_items[ROWS] = {3, 8, 3, 12, 5, 9, 20, 21, 22, 23};
static const int32_t targets[POSITIONS] = {6, 0, 7, 3, 9, 2, 8};

typedef struct sample
{
	double		out[POSITIONS * FACTORS];
	double		rows[ROWS * FACTORS];
	double		bias[ROWS];
} sample;

static double
dot(const double *a, const double *b)
{
	double		sum = 0.0;

	for (int f = 0; f < FACTORS; f++)
		sum += a[f] * b[f];
	return sum;
}

/* -log softmax(target) summed over the positions, from the definition */
static double
reference_loss(const sample *s)
{
	double		loss = 0.0;

	for (int k = 0; k < POSITIONS; k++)
	{
		const double *h = s->out + k * FACTORS;
		int32_t		t = targets[k];
		double		positive = s->bias[t] + dot(h, s->rows + t * FACTORS);
		double		sum = exp(positive);

		for (int j = 0; j < NEGATIVES; j++)
			if (row_items[j] != row_items[t])
				sum += exp(s->bias[j] + dot(h, s->rows + j * FACTORS));
		loss += log(sum) - positive;
	}
	return loss;
}

/* the derivative of the reference loss in *x */
static double
central_difference(sample *s, double *x)
{
	double		kept = *x,
				up,
				down;

	*x = kept + STEP;
	up = reference_loss(s);
	*x = kept - STEP;
	down = reference_loss(s);
	*x = kept;
	return (up - down) / (2 * STEP);
}

typedef struct gradients
{
	float		out[POSITIONS * FACTORS];
	float		rows[ROWS * FACTORS];
	float		bias[ROWS];
	double		loss;
} gradients;

/* rs_sampled_softmax on s in floats, adding to buffers that held `held` */
static void
analytic(const sample *s, float scale, float held, gradients *g)
{
	float		out[POSITIONS * FACTORS],
				rows[ROWS * FACTORS],
				bias[ROWS],
				logits[POSITIONS * NEGATIVES];
	rs_softmax_batch b = {POSITIONS, FACTORS, NEGATIVES, out, targets, rows, bias, row_items};

	for (int c = 0; c < POSITIONS * FACTORS; c++)
		out[c] = (float) s->out[c];
	for (int c = 0; c < ROWS * FACTORS; c++)
	{
		rows[c] = (float) s->rows[c];
		g->rows[c] = held;
	}
	for (int r = 0; r < ROWS; r++)
	{
		bias[r] = (float) s->bias[r];
		g->bias[r] = held;
	}
	g->loss = rs_sampled_softmax(&b, scale, logits, g->out, g->rows, g->bias);
}

static void
fill(sample *s, double scale, uint64_t seed)
{
	rs_random	rng = {seed};

	for (int c = 0; c < POSITIONS * FACTORS; c++)
		s->out[c] = scale * rs_random_normal(&rng);
	for (int c = 0; c < ROWS * FACTORS; c++)
		s->rows[c] = scale * rs_random_normal(&rng);
	for (int r = 0; r < ROWS; r++)
		s->bias[r] = rs_random_normal(&rng);
	/* the sample is what the floats hold, so both sides see one input */
	for (int c = 0; c < POSITIONS * FACTORS; c++)
		s->out[c] = (float) s->out[c];
	for (int c = 0; c < ROWS * FACTORS; c++)
		s->rows[c] = (float) s->rows[c];
	for (int r = 0; r < ROWS; r++)
		s->bias[r] = (float) s->bias[r];
}

/* one group of parameters: analytic against central differences */
static void
check_group(sample *s, double *x, const float *g, int count, float held, const char *name)
{
	int			off = 0;
	double		worst = 0.0,
				largest = 0.0;

	for (int c = 0; c < count; c++)
	{
		double		fd = central_difference(s, &x[c]);
		double		error = fabs((g[c] - held) - fd);

		if (error > 1e-4 + 1e-3 * fabs(fd))
			off++;
		worst = fmax(worst, error);
		largest = fmax(largest, fabs(fd));
	}
	CHECK(off == 0, "%s: %d of %d derivatives off, worst by %g", name, off, count, worst);
	CHECK(largest > 1e-2, "%s: every derivative checked is about 0", name);
}

static void
test_gradients(uint64_t seed)
{
	sample		s;
	gradients	g;
	const float held = 0.25f;

	fill(&s, 0.7, seed);
	analytic(&s, 1.0f, held, &g);
	CHECK(fabs(g.loss - reference_loss(&s)) < 1e-5 * fabs(g.loss),
		  "seed %llu: loss %.9g, reference %.9g", (unsigned long long) seed, g.loss,
		  reference_loss(&s));
	check_group(&s, s.out, g.out, POSITIONS * FACTORS, 0.0f, "outputs");
	check_group(&s, s.rows, g.rows, ROWS * FACTORS, held, "rows");
	check_group(&s, s.bias, g.bias, ROWS, held, "biases");
}

static void
test_scale_and_range(void)
{
	sample		s;
	gradients	one,
				half;
	bool		exact = true,
				finite = true;

	fill(&s, 0.7, 9);
	analytic(&s, 1.0f, 0.0f, &one);
	analytic(&s, 0.5f, 0.0f, &half);
	for (int c = 0; c < POSITIONS * FACTORS; c++)
		exact &= half.out[c] == 0.5f * one.out[c];
	for (int c = 0; c < ROWS * FACTORS; c++)
		exact &= half.rows[c] == 0.5f * one.rows[c];
	CHECK(exact && half.loss == one.loss, "scale 0.5 does not halve the gradients exactly");

	/* logits of thousands: exp of the raw logits would overflow */
	fill(&s, 30.0, 13);
	analytic(&s, 1.0f, 0.0f, &one);
	for (int c = 0; c < POSITIONS * FACTORS; c++)
		finite &= isfinite(one.out[c]);
	for (int c = 0; c < ROWS * FACTORS; c++)
		finite &= isfinite(one.rows[c]);
	CHECK(finite && isfinite(one.loss) && one.loss > 100.0,
		  "large logits: loss %g, gradients %s", one.loss, finite ? "finite" : "not finite");
}

int
main(void)
{
	rs_blas_single_threaded();
	for (uint64_t seed = 1; seed <= 4; seed++)
		test_gradients(seed);
	test_scale_and_range();
	return unit_done();
}
