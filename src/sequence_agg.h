/*
 * sequence_agg.h - the state of train_sequence: the interaction rows, as
 * every interaction aggregate collects them (each of weight 1), and beside
 * each row the order its third argument gave (a timestamptz's microseconds,
 * or the bigint itself).
 */
#ifndef RECSYS_SEQUENCE_AGG_H
#define RECSYS_SEQUENCE_AGG_H

#include "interactions_agg.h"

typedef struct sequence_state
{
	interactions_state base;	/* first: the shared final function reads it as interactions_state */
	int64	   *at;				/* base.buffer.count of them */
	Size		at_capacity;
} sequence_state;

#endif
