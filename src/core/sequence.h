/*
 * sequence.h - a self-attentive sequential model (SASRec: Kang and McAuley
 * 2018, "Self-Attentive Sequential Recommendation", ICDM): a user is the
 * causal self-attention network's output after the last of their ordered
 * events (attention.h), and an item scores its dot product with that
 * output plus a bias of its own, s_i = h . e_i + b_i, the item embeddings E
 * shared by input and output.  The bias, which SASRec lacks, takes the
 * items' popularity off the factors.
 *
 * Training predicts every next event of each user's last max_length + 1
 * from the events before it, with a softmax over the true next item and
 * `negatives` items drawn uniformly for the whole batch (a sampled softmax:
 * more negatives than SASRec's one per position sharpen the ranking, as
 * gSASRec showed); Adam, dense for the network and lazy for the embedding
 * rows a batch touched.  Unless told how many epochs, the fit chooses them
 * on held-out last events (sequence.c, "validation") and then trains on
 * every event for that many.
 *
 * The model keeps, besides the usual sections:
 *   ITEM_FACTORS     E, n_items x factors
 *   ITEM_BIAS        b
 *   USER_FACTORS     each training user's encoding h after their last events,
 *                    so that a known user is served as a factor model's is
 *   MLP_SIZES        int32[4]: factors, blocks, heads, max_length
 *   MLP_WEIGHTS      the network (attention.h's layout)
 *   SEQUENCE_PTR/ITEMS  each training user's last max_length events, oldest
 *                    first: what USER_FACTORS encodes
 *   ITEM_POPULARITY  training users per item, a newcomer's ranking
 */
#ifndef RECSYS_SEQUENCE_H
#define RECSYS_SEQUENCE_H

#include "attention.h"
#include "model.h"
#include "options.h"

#define RS_SEQUENCE_MAX_LENGTH 1000	/* attention costs max_length^2 per block */

/* Positions in rs_sequence_option_specs and in the values array the fit takes. */
typedef enum rs_sequence_option
{
	RS_SEQ_FACTORS,
	RS_SEQ_BLOCKS,
	RS_SEQ_HEADS,
	RS_SEQ_MAX_LENGTH,
	RS_SEQ_DROPOUT,
	RS_SEQ_EPOCHS,
	RS_SEQ_BATCH_SIZE,			/* sequences per Adam step */
	RS_SEQ_LEARNING_RATE,
	RS_SEQ_L2,
	RS_SEQ_NEGATIVES,			/* sampled items per batch in the softmax */
	RS_SEQ_VALIDATION,			/* choose the epochs on held-out last events */
	RS_SEQ_SEED,
	RS_SEQ_THREADS,
	RS_SEQ_VERBOSE,
	RS_SEQ_OPTION_COUNT
} rs_sequence_option;

extern const rs_option_spec rs_sequence_option_specs[RS_SEQ_OPTION_COUNT];

/* The network of a decoded sequence model. */
void		rs_sequence_network(const rs_model *model, rs_attention *net);

/* The user's stored events, oldest first (none for an unknown user). */
const int32_t *rs_sequence_of_user(const rs_model *model, int32_t user, size_t *count);

/*
 * Floats of scratch rs_sequence_encode needs, and the encoding of a history
 * (dense items, oldest first; only the last max_length count) into out
 * (factors floats).  attention, if not NULL, gets n weights: how much the
 * last position attended to each event in the last block, averaged over
 * heads, 0 for events before the last max_length.  n must be at least 1.
 */
size_t		rs_sequence_scratch_floats(const rs_model *model);
void		rs_sequence_encode(const rs_model *model, const int32_t *items, size_t n,
							   float *scratch, float *out, float *attention);

#endif
