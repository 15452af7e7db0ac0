/*
 * tuning.h - what the "tune" option needs from the engine: a validation
 * split of the training interactions, the validation score of a model, and
 * the candidate settings a search tries.
 *
 * Ranking models hold out one interaction of each sampled user (at most
 * RS_TUNE_USERS users with three or more) and are scored by NDCG@10 of the
 * user's top 10 with their training items left out, the metric evaluate
 * reports; rating models hold out a tenth of the ratings of users with
 * three or more (at most RS_TUNE_RATINGS), and are scored by the RMSE of
 * their predictions.
 */
#ifndef RECSYS_TUNING_H
#define RECSYS_TUNING_H

#include "interactions.h"
#include "kind.h"
#include "model.h"

#define RS_TUNE_USERS 2000
#define RS_TUNE_K 10
#define RS_TUNE_RATINGS 200000	/* held-out ratings at most */

/*
 * Splits data into training rows and held-out pairs, both appended to
 * empty buffers; the same data and seed give the same split.
 */
rs_status	rs_holdout_split(const rs_interactions *data, bool ratings, uint64_t seed,
							 const rs_allocator *a, rs_interaction_buffer *train,
							 rs_interaction_buffer *held);

/*
 * The model's validation score, higher better: mean NDCG@10 (ranking; a
 * held-out pair the model cannot score counts 0) or minus the RMSE
 * (ratings).
 */
rs_status	rs_holdout_score(const rs_model *model, const rs_interaction_buffer *held, bool ratings,
							 const rs_allocator *a, double *score);

/*
 * The settings a search tries, trials x kind->n_options values: the first
 * is base itself, the others base with each searched option not given by
 * the user drawn log-uniformly from its range (stratified, so that a few
 * trials still cover it; a relative range is multiples of base's value),
 * rounded for integer options and kept within the option's bounds.
 */
void		rs_tune_candidates(const rs_kind *kind, const double *base, const bool *given,
							   int trials, uint64_t seed, double *out);

#endif
