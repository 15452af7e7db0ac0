-- recsys: recommendation models trained by aggregates and served in SQL.
\echo Use "CREATE EXTENSION recsys" to load this file. \quit

-- Aggregate support shared by every interaction trainer.  The transition
-- functions are not STRICT: rows with a NULL are counted, not silently lost.

CREATE FUNCTION recsys._interactions_trans(internal, bigint, bigint, real)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_interactions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._interactions_trans(internal, bigint, bigint, real, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_interactions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._interactions_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_interactions_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._interactions_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_interactions_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys._interactions_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_interactions_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Volatile: every model gets a new random id and its creation time.
CREATE FUNCTION recsys._train_als_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_train_als_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._interactions_trans(internal, bigint, bigint, real) IS
'transition function of the interaction-training aggregates: appends one row';
COMMENT ON FUNCTION recsys._interactions_trans(internal, bigint, bigint, real, jsonb) IS
'transition function of the interaction-training aggregates with options: appends one row';
COMMENT ON FUNCTION recsys._interactions_combine(internal, internal) IS
'combine function of the interaction-training aggregates: concatenates two partial states';
COMMENT ON FUNCTION recsys._interactions_serialize(internal) IS
'serialise function of the interaction-training aggregates, for parallel workers';
COMMENT ON FUNCTION recsys._interactions_deserialize(bytea, internal) IS
'deserialise function of the interaction-training aggregates, for parallel workers';
COMMENT ON FUNCTION recsys._train_als_final(internal) IS
'final function of train_als: fits the ALS model and encodes it';

CREATE AGGREGATE recsys.train_als(user_id bigint, item_id bigint, value real) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_als_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_als(user_id bigint, item_id bigint, value real, options jsonb) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_als_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_als(bigint, bigint, real) IS
'trains a matrix-factorisation model (ALS with biases) on ratings; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_als(bigint, bigint, real, jsonb) IS
'trains a matrix-factorisation model (ALS with biases) with options such as {"factors": 64, "iterations": 15, "regularization": 0.1}; returns the model as bytea';

CREATE FUNCTION recsys.predict(model bytea, user_id bigint, item_id bigint)
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION recsys.predict(bytea, bigint, bigint) IS
'the model''s estimate for a user and an item; unknown ids fall back to the global mean plus the known bias';

CREATE FUNCTION recsys.recommend(model bytea, user_id bigint, k int DEFAULT 10,
                                 exclude_seen bool DEFAULT true)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION recsys.recommend(bytea, bigint, int, bool) IS
'the k best items for a user, best first, optionally without the items the user had in training';

CREATE FUNCTION recsys.model_info(model bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'recsys_model_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION recsys.model_info(bytea) IS
'describes a model: algorithm, id, sizes, options used, training loss per iteration, timings';
