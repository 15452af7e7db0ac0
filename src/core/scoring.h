/*
 * scoring.h - what a trained model answers: one score, every item's score
 * for a user, similar items, a user folded in from a history, and why.
 *
 * Every serving function goes through here, and from here through the
 * model's kind (kind.h).  Users and items are dense indices; -1 means an id
 * the model has not seen.
 */
#ifndef RECSYS_SCORING_H
#define RECSYS_SCORING_H

#include "model.h"
#include "runtime.h"

/*
 * The model's estimate for (user, item).  Rating models fall back to the
 * global mean plus the known bias and a newcomer's expected bias for the
 * unknown side; ranking models have no meaningful fallback and
 * return NaN for an unknown user or item.
 */
double		rs_predict(const rs_model *model, int32_t user, int32_t item);

/* Whether rs_predict answers for unknown ids (rating models) or not. */
bool		rs_model_predicts_unknown(const rs_model *model);

/* Whether rs_explain's baseline is part of the score (not for pure preferences). */
bool		rs_explain_has_baseline(const rs_model *model);

/* Whether the model's values are strengths (implicit feedback): never negative. */
bool		rs_model_takes_strengths(const rs_model *model);

/*
 * Scores of every item for a user (n_items entries), each equal to
 * rs_predict for that pair.  An unknown user gets every item's baseline: the
 * mean plus item bias for rating models, else the item bias where the model
 * has one, else popularity.  Fails only for want of memory.
 */
rs_status	rs_score_items(const rs_model *model, int32_t user, const rs_allocator *a,
						   float *scores);

/*
 * rs_score_items for n users at once: row r of scores (n × n_items) is the
 * scores of users[r], equal to rs_score_items' up to float rounding.  Known
 * users of a factor model are scored by one matrix product, the others one
 * by one.  Fails only for want of memory.
 */
rs_status	rs_score_items_batch(const rs_model *model, const int32_t *users, size_t n,
								 const rs_allocator *a, float *scores);

/* rs_score_items_batch for kinds with no faster way than one user at a time. */
rs_status	rs_score_items_each(const rs_model *model, const int32_t *users, size_t n,
								const rs_allocator *a, float *scores);

/*
 * The same for a user given by a row of rs_user_row_length floats (and a
 * bias, for rating models), e.g. from rs_fold_in.
 */
rs_status	rs_score_items_for(const rs_model *model, const float *user_row,
							   float user_bias, const rs_allocator *a, float *scores);

/* Floats in a user's row: the factors, and any more the kind keeps (kind.h). */
int			rs_user_row_length(const rs_model *model);

/*
 * Every item's score for a user not in the model, from a history as
 * rs_fold_in takes it: item models score the history directly, the others
 * fold the user in first.  An empty history scores as an unknown user.
 */
rs_status	rs_score_history(const rs_model *model, const int32_t *items, const float *values,
							 size_t n, const rs_allocator *a, float *scores);

/* rs_score_history for kinds that fold a newcomer in, then score the row. */
rs_status	rs_score_history_by_fold_in(const rs_model *model, const int32_t *items,
										const float *values, size_t n,
										const rs_allocator *a, float *scores);

/* The items a user interacted with in training: ascending dense indices. */
const int32_t *rs_seen_items(const rs_model *model, int32_t user, size_t *count);

/* Their training values (NULL for an unknown user). */
const float *rs_seen_values(const rs_model *model, int32_t user);

/*
 * Similarity of every item to item (n_items entries): the cosine of their
 * factors, or for item models their stored weights (0 for the others).
 * Returns how many of the best are answers (all, or an item model's stored
 * neighbours), 0 for a kind without similarities.
 */
size_t		rs_similar_items(const rs_model *model, int32_t item, float *scores);

/*
 * The row (and bias, rating models) of a user not in the model, from a
 * history of (item index, value) pairs with ascending, distinct items, by the
 * model's own solve for a user (gradient steps where training had no
 * closed form).  factors has rs_user_row_length entries.
 */
rs_status	rs_fold_in(const rs_model *model, const int32_t *items, const float *values,
					   size_t n, const rs_allocator *a, float *factors, float *bias);

/*
 * Why the model scores (user, item) as it does: contributions[k] is the
 * share of the score owed to the user's k-th training item (in rs_seen_items
 * order), and *baseline the share no item explains (biases, or the part of
 * the user vector outside the span of their items).  Contributions
 * plus baseline add up to rs_predict(user, item).  The user must be known,
 * and so must the item unless rs_model_predicts_unknown (rating models).
 */
rs_status	rs_explain(const rs_model *model, int32_t user, int32_t item,
					   const rs_allocator *a, double *contributions, double *baseline);

/*
 * A feature model's output for one vector of rs_feature_count(model)
 * features; scratch has rs_feature_scratch_floats(model) floats.  NaN for a
 * kind without features.
 */
double		rs_predict_features(const rs_model *model, const float *features, float *scratch);
int			rs_feature_count(const rs_model *model);
size_t		rs_feature_scratch_floats(const rs_model *model);

#endif
