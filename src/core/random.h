/*
 * random.h - a small seeded generator (splitmix64): the same seed gives the
 * same model on every platform, unlike rand().
 */
#ifndef RECSYS_RANDOM_H
#define RECSYS_RANDOM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_random
{
	uint64_t	state;
} rs_random;

static inline uint64_t
rs_random_next(rs_random *r)
{
	uint64_t	z = (r->state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double
rs_random_uniform(rs_random *r)
{
	return ((double) (rs_random_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box-Muller (one of the pair is discarded: simplicity over speed). */
static inline double
rs_random_normal(rs_random *r)
{
	double		u1 = rs_random_uniform(r);
	double		u2 = rs_random_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* A number in [0, n) (n > 0); the modulo bias is below n / 2^64. */
static inline size_t
rs_random_below(rs_random *r, size_t n)
{
	return (size_t) (rs_random_next(r) % n);
}

/*
 * The generator of one piece of an epoch's work (a chunk of samples, a
 * batch): splitmix hashes of seed, epoch and piece, so that a piece draws
 * the same numbers whichever thread takes it.
 */
static inline rs_random
rs_random_for(uint64_t seed, int epoch, size_t piece)
{
	rs_random	r = {seed};

	r.state = rs_random_next(&r) ^ (uint64_t) epoch;
	r.state = rs_random_next(&r) ^ (uint64_t) piece;
	r.state = rs_random_next(&r);
	return r;
}

#endif
