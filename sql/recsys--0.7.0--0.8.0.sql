-- recsys 0.7.0 -> 0.8.0
\echo Use "ALTER EXTENSION recsys UPDATE TO '0.8.0'" to load this file. \quit

COMMENT ON FUNCTION recsys.recommend(bytea, bigint[], int) IS
'the k best items for a user given by the items of a history alone, each counting as one interaction (as recommend(model, item_ids, values, k) with every value 1); for sequence models the history in order, most recent first; not for models of ratings; the history''s items are left out';

-- A self-attentive sequence model (SASRec): each user's next item from the
-- order of their events, served from the live history.

CREATE FUNCTION recsys._sequence_trans(internal, bigint, bigint, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_sequence_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._sequence_trans(internal, bigint, bigint, timestamptz, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_sequence_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._sequence_trans(internal, bigint, bigint, bigint)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_sequence_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._sequence_trans(internal, bigint, bigint, bigint, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_sequence_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._sequence_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_sequence_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._sequence_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_sequence_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys._sequence_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_sequence_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys._train_sequence_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_train_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._sequence_trans(internal, bigint, bigint, timestamptz) IS
'transition function of train_sequence: appends one event and its time';
COMMENT ON FUNCTION recsys._sequence_trans(internal, bigint, bigint, timestamptz, jsonb) IS
'transition function of train_sequence with options: appends one event and its time';
COMMENT ON FUNCTION recsys._sequence_trans(internal, bigint, bigint, bigint) IS
'transition function of train_sequence with a bigint order: appends one event and its position';
COMMENT ON FUNCTION recsys._sequence_trans(internal, bigint, bigint, bigint, jsonb) IS
'transition function of train_sequence with a bigint order, with options: appends one event and its position';
COMMENT ON FUNCTION recsys._sequence_combine(internal, internal) IS
'combine function of train_sequence: merges a parallel worker''s events';
COMMENT ON FUNCTION recsys._sequence_serialize(internal) IS
'serialise function of train_sequence: a parallel worker''s events as bytea';
COMMENT ON FUNCTION recsys._sequence_deserialize(bytea, internal) IS
'deserialise function of train_sequence: a parallel worker''s events back from bytea';
COMMENT ON FUNCTION recsys._train_sequence_final(internal) IS
'final function of train_sequence: orders each user''s events, fits the sequence model and encodes it';

CREATE AGGREGATE recsys.train_sequence(user_id bigint, item_id bigint, at timestamptz) (
    SFUNC = recsys._sequence_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_sequence_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._sequence_combine,
    SERIALFUNC = recsys._sequence_serialize,
    DESERIALFUNC = recsys._sequence_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_sequence(user_id bigint, item_id bigint, at timestamptz,
                                       options jsonb) (
    SFUNC = recsys._sequence_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_sequence_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._sequence_combine,
    SERIALFUNC = recsys._sequence_serialize,
    DESERIALFUNC = recsys._sequence_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_sequence(user_id bigint, item_id bigint, at bigint) (
    SFUNC = recsys._sequence_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_sequence_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._sequence_combine,
    SERIALFUNC = recsys._sequence_serialize,
    DESERIALFUNC = recsys._sequence_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_sequence(user_id bigint, item_id bigint, at bigint,
                                       options jsonb) (
    SFUNC = recsys._sequence_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_sequence_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._sequence_combine,
    SERIALFUNC = recsys._sequence_serialize,
    DESERIALFUNC = recsys._sequence_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_sequence(bigint, bigint, timestamptz) IS
'trains a self-attentive sequence model (SASRec) on events ordered by their time per user (ties by item id); returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_sequence(bigint, bigint, timestamptz, jsonb) IS
'trains a self-attentive sequence model with options such as {"epochs": 100, "max_length": 50, "dropout": 0.5}; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_sequence(bigint, bigint, bigint) IS
'trains a self-attentive sequence model (SASRec) on events ordered by a bigint per user (ties by item id); returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_sequence(bigint, bigint, bigint, jsonb) IS
'trains a self-attentive sequence model on events ordered by a bigint per user, with options; returns the model as bytea';

CREATE FUNCTION recsys.predict(model bytea, history bigint[], item_id bigint)
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_predict_history'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;

COMMENT ON FUNCTION recsys.predict(bytea, bigint[], bigint) IS
'a sequence model''s score for the item after a history given most recent first; consecutive rows with the same history reuse its encoding; NULL for an unknown item';

CREATE FUNCTION recsys.explain(model bytea, history bigint[], item_id bigint, k int DEFAULT 5)
RETURNS TABLE (item_id bigint, "position" int, weight float8)
AS 'MODULE_PATHNAME', 'recsys_explain_history'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5 COST 1000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.explain(bytea, bigint[], bigint, int) IS
'the k entries of a history (most recent first; position 1 is the first) that a sequence model''s last position attended to most in its last block, with that attention weight (the weights of the known items add up to 1; the same for every item_id)';
