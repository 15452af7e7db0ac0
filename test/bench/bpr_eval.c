/*
 * bpr_eval.c - BPR against most-popular on MovieTweetings 100K as implicit
 * feedback, by leave-latest-out.
 *
 * Every rating is an interaction of value 1.  For each user with at least
 * MIN_RATINGS ratings the latest one (the largest timestamp; of equal ones,
 * the larger item id) is held out and the rest train; users with fewer keep
 * all their ratings in training.  Each held-out user gets every item they
 * have not seen in training ranked, as recommend would (rs_top_k: equal
 * scores rank the smaller id first), and
 *
 *   HR@10    1 if the held-out item is in the top 10, else 0
 *   NDCG@10  1 / log2(rank + 1) if it is, else 0
 *
 * are averaged over held-out users (an item nobody trained on is a miss for
 * every method).  The baseline ranks items by their number of training users.
 * Training time is the wall time of rs_bpr_fit.
 *
 * From the repository's root:
 *
 *   gcc -O2 -Isrc test/bench/bpr_eval.c src/core/[a-z]*.c -lopenblas -lpthread -lm
 *   ./a.out [name=value ...]
 *
 * name is a BPR option (factors, epochs, learning_rate, regularization,
 * negatives, seed) or one of
 *
 *   threads=N          training threads (2)
 *   holdout=validation hold out each such user's second-latest rating instead,
 *                      training without the latest: for tuning, so that the
 *                      test item is never looked at while choosing defaults
 *   curve=1            the metrics after every epoch too
 *   data=PATH          the ratings file
 *
 * The defaults of bpr.c were chosen with holdout=validation, seeds 1 to 5.
 */
#include "core/bpr.h"
#include "core/top_k.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_RATINGS 5
#define K 10

typedef struct rating
{
	int64_t		user;
	int64_t		item;
	int64_t		time;
} rating;

typedef struct holdout
{
	int64_t		user;
	int64_t		item;
} holdout;

typedef struct scores
{
	double		hr;
	double		ndcg;
} scores;

_Noreturn static void
die(const char *what)
{
	fprintf(stderr, "bpr_eval: %s\n", what);
	exit(2);
}

/* By user, then time, then item: a user's latest rating comes last. */
static int
by_user_time_item(const void *x, const void *y)
{
	const rating *a = x,
			   *b = y;

	if (a->user != b->user)
		return a->user < b->user ? -1 : 1;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->item != b->item)
		return a->item < b->item ? -1 : 1;
	return 0;
}

static rating *
read_ratings(const char *path, size_t *count)
{
	FILE	   *file = fopen(path, "r");
	size_t		n = 0,
				capacity = 1 << 17;
	rating	   *rows = malloc(sizeof(rating) * capacity);
	long long	user,
				item,
				time;
	int			value;

	if (!file)
		die("cannot open the ratings file");
	while (fscanf(file, "%lld::%lld::%d::%lld", &user, &item, &value, &time) == 4)
	{
		if (n == capacity)
			rows = realloc(rows, sizeof(rating) * (capacity *= 2));
		if (!rows)
			die("out of memory");
		rows[n++] = (rating) {user, item, time};
	}
	fclose(file);
	*count = n;
	return rows;
}

/*
 * Splits sorted ratings into a training buffer and held-out pairs.  With
 * skip_latest, each eligible user's latest rating is dropped first and the
 * one before it is held out.
 */
static size_t
split(const rating *rows, size_t n, bool skip_latest, rs_interaction_buffer *train,
	  holdout *held)
{
	size_t		n_held = 0;

	for (size_t begin = 0, end; begin < n; begin = end)
	{
		size_t		last;

		for (end = begin; end < n && rows[end].user == rows[begin].user; end++)
			;
		last = end - 1;
		if (end - begin >= MIN_RATINGS)
		{
			if (skip_latest)
				last--;
			held[n_held++] = (holdout) {rows[last].user, rows[last].item};
		}
		else
			last = end;
		for (size_t k = begin; k < last; k++)
			if (!rs_buffer_append(train, &rs_malloc_allocator, rows[k].user, rows[k].item, 1.0f))
				die("out of memory");
	}
	return n_held;
}

/* Adds the hit of one held-out item given every item's score for its user. */
static void
rank_one(const float *score, const rs_interactions *d, int32_t u, int32_t item,
		 scores *total)
{
	const int32_t *seen = d->user_items + d->user_ptr[u];
	size_t		n_seen = d->user_ptr[u + 1] - d->user_ptr[u];
	rs_scored	top[K];
	size_t		n = rs_top_k(score, d->n_items, seen, n_seen, K, top);

	for (size_t r = 0; r < n; r++)
		if (top[r].index == item)
		{
			total->hr += 1.0;
			total->ndcg += 1.0 / log2((double) r + 2.0);
			break;
		}
}

/* What is evaluated: the data, the held-out pairs, and scratch for scores. */
typedef struct evaluation
{
	const rs_interactions *data;
	const holdout *held;
	size_t		n_held;
	size_t		cold;			/* held-out items not in training */
	float	   *score;
	const rs_bpr_result *model; /* for a curve: the fit in progress */
} evaluation;

/*
 * Mean HR@K and NDCG@K of a model (NULL: most popular) over the held-out
 * users.
 */
static scores
evaluate(evaluation *ev, const rs_bpr_result *r)
{
	const rs_interactions *d = ev->data;
	scores		total = {0, 0};

	ev->cold = 0;
	for (size_t h = 0; h < ev->n_held; h++)
	{
		int32_t		u = rs_find_id(d->user_ids, d->n_users, ev->held[h].user);
		int32_t		i = rs_find_id(d->item_ids, d->n_items, ev->held[h].item);

		if (u < 0)
			die("a held-out user has no training ratings");
		if (i < 0)
		{
			ev->cold++;
			continue;
		}
		if (r)
		{
			/* BPR: Y x_u + b */
			memcpy(ev->score, r->item_bias, sizeof(float) * (size_t) d->n_items);
			cblas_sgemv(CblasRowMajor, CblasNoTrans, d->n_items, r->factors, 1.0f,
						r->item_factors, r->factors,
						r->user_factors + (size_t) u * r->factors, 1, 1.0f, ev->score, 1);
		}
		else
			for (int32_t j = 0; j < d->n_items; j++)
				ev->score[j] = (float) (d->item_ptr[j + 1] - d->item_ptr[j]);
		rank_one(ev->score, d, u, i, &total);
	}
	total.hr /= (double) (ev->n_held ? ev->n_held : 1);
	total.ndcg /= (double) (ev->n_held ? ev->n_held : 1);
	return total;
}

static double
option_value(const rs_option_spec *spec, const char *text)
{
	if (spec->type == RS_OPT_CHOICE)
	{
		for (int c = 0; spec->choices[c]; c++)
			if (strcmp(spec->choices[c], text) == 0)
				return c;
		die("unknown choice");
	}
	return atof(text);
}

/*
 * The host's progress report: loss, and with curve=1 the metrics so far (it
 * runs on the calling thread between epochs, when no thread is stepping).
 */
typedef struct watch
{
	evaluation *ev;
	bool		curve;
	double		first_loss;
	double		last_loss;
	double		eval_seconds;	/* spent evaluating inside the fit */
} watch;

static void
progress(void *arg, int epoch, double loss, double seconds)
{
	watch	   *w = arg;

	if (epoch == 1)
		w->first_loss = loss;
	w->last_loss = loss;
	if (w->curve)
	{
		double		started = rs_now();
		scores		s = evaluate(w->ev, w->ev->model);

		printf("epoch %4d  loss %.4f  %.3f s  HR@%d %.4f  NDCG@%d %.4f\n", epoch, loss,
			   seconds, K, s.hr, K, s.ndcg);
		w->eval_seconds += rs_now() - started;
	}
}

int
main(int argc, char **argv)
{
	const char *path = "test/data/movietweetings-100k/ratings.dat";
	bool		validation = false;
	int			threads = 2;
	double		opt[RS_BPR_OPTION_COUNT];
	rs_interaction_buffer buf;
	rs_interactions d;
	rs_bpr_result r;
	rs_runtime	rt;
	rs_status	status;
	rating	   *rows;
	holdout    *held;
	size_t		n_rows;
	evaluation	ev;
	watch		w;
	scores		bpr,
				popular;
	double		started,
				seconds;

	memset(&w, 0, sizeof(w));
	for (int k = 0; k < RS_BPR_OPTION_COUNT; k++)
		opt[k] = rs_bpr_option_specs[k].default_value;
	for (int a = 1; a < argc; a++)
	{
		char	   *eq = strchr(argv[a], '=');
		bool		known = true;

		if (!eq)
			die("arguments are name=value");
		*eq = '\0';
		if (strcmp(argv[a], "threads") == 0)
			threads = atoi(eq + 1);
		else if (strcmp(argv[a], "holdout") == 0)
			validation = strcmp(eq + 1, "validation") == 0;
		else if (strcmp(argv[a], "data") == 0)
			path = eq + 1;
		else if (strcmp(argv[a], "curve") == 0)
			w.curve = atoi(eq + 1) != 0;
		else
			known = false;
		for (int k = 0; k < RS_BPR_OPTION_COUNT && !known; k++)
			if (strcmp(argv[a], rs_bpr_option_specs[k].name) == 0)
			{
				opt[k] = option_value(&rs_bpr_option_specs[k], eq + 1);
				known = true;
			}
		if (!known)
			die("unknown argument");
	}

	rs_blas_single_threaded();
	rows = read_ratings(path, &n_rows);
	qsort(rows, n_rows, sizeof(rating), by_user_time_item);
	held = malloc(sizeof(holdout) * (n_rows ? n_rows : 1));
	memset(&buf, 0, sizeof(buf));
	memset(&ev, 0, sizeof(ev));
	ev.n_held = split(rows, n_rows, validation, &buf, held);
	if (rs_interactions_build(&buf, &rs_malloc_allocator, &d) != RS_OK)
		die("cannot build the interactions");
	rs_buffer_free(&buf, &rs_malloc_allocator);
	ev.data = &d;
	ev.held = held;
	ev.score = malloc(sizeof(float) * (size_t) (d.n_items ? d.n_items : 1));
	ev.model = &r;
	w.ev = &ev;

	memset(&rt, 0, sizeof(rt));
	rt.alloc = rs_malloc_allocator;
	rt.progress = progress;
	rt.arg = &w;
	rt.threads = threads;
	started = rs_now();
	status = rs_bpr_fit(&d, opt, &rt, &r);
	seconds = rs_now() - started - w.eval_seconds;
	if (status != RS_OK)
	{
		fprintf(stderr, "bpr_eval: fit failed with status %d\n", (int) status);
		return 1;
	}
	bpr = evaluate(&ev, &r);
	popular = evaluate(&ev, NULL);

	printf("MovieTweetings 100K, %s: %zu ratings, %d users, %d items in training; "
		   "%zu held-out users (%zu held-out items not in training)\n",
		   validation ? "validation (second-latest held out, latest dropped)" :
		   "test (latest held out)", d.nnz, d.n_users, d.n_items, ev.n_held, ev.cold);
	printf("BPR factors=%g epochs=%g learning_rate=%g regularization=%g negatives=%s "
		   "seed=%g, threads %d: trained in %.2f s, loss %.4f -> %.4f\n",
		   opt[RS_BPR_FACTORS], opt[RS_BPR_EPOCHS], opt[RS_BPR_LEARNING_RATE],
		   opt[RS_BPR_REGULARIZATION],
		   rs_bpr_option_specs[RS_BPR_NEGATIVES].choices[(int) opt[RS_BPR_NEGATIVES]],
		   opt[RS_BPR_SEED], threads, seconds, w.first_loss, w.last_loss);
	printf("%-14s HR@%d %.4f  NDCG@%d %.4f\n", "BPR", K, bpr.hr, K, bpr.ndcg);
	printf("%-14s HR@%d %.4f  NDCG@%d %.4f\n", "most popular", K, popular.hr, K, popular.ndcg);

	free(ev.score);
	free(held);
	free(rows);
	rs_bpr_result_free(&r, &rs_malloc_allocator);
	rs_interactions_free(&d, &rs_malloc_allocator);
	return 0;
}
