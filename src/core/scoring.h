/*
 * scoring.h - what a trained model answers: one score, or all items for a user.
 *
 * Every serving function goes through here, so a model kind is added to the
 * SQL surface by teaching these functions its arithmetic.
 */
#ifndef RECSYS_SCORING_H
#define RECSYS_SCORING_H

#include "model.h"

/*
 * The model's estimate for (user, item), given as dense indices, -1 for an
 * id the model has not seen: rating models fall back to the global mean
 * plus whichever biases are known, and a newcomer's expected bias for the
 * side that is not.
 */
double		rs_predict(const rs_model *model, int32_t user, int32_t item);

/*
 * Scores of every item for a user (dense index, or -1 for an unknown user:
 * then the score is the item's baseline, mean plus item bias plus a
 * newcomer's bias).  scores has
 * n_items entries.  Each equals rs_predict for that pair.
 */
void		rs_score_items(const rs_model *model, int32_t user, float *scores);

/* The items a user interacted with in training: ascending dense indices. */
const int32_t *rs_seen_items(const rs_model *model, int32_t user, size_t *count);

#endif
