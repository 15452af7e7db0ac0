-- recsys 0.6.0 -> 0.7.0
\echo Use "ALTER EXTENSION recsys UPDATE TO '0.7.0'" to load this file. \quit

-- A hybrid model of behaviour and features (LightFM-style): users and items
-- are sums of the vectors of their tags and identities, so items and users
-- that arrive with tags alone are served.

CREATE FUNCTION recsys._hybrid_trans(internal, bigint, bigint, real, text[], text[])
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_hybrid_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._hybrid_trans(internal, bigint, bigint, real, text[], text[], jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_hybrid_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._hybrid_trans(internal, bigint, bigint, double precision, text[], text[])
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_hybrid_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._hybrid_trans(internal, bigint, bigint, double precision, text[], text[], jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_hybrid_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._hybrid_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_hybrid_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._hybrid_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_hybrid_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys._hybrid_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_hybrid_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys._train_hybrid_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_train_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._hybrid_trans(internal, bigint, bigint, real, text[], text[]) IS
'transition function of train_hybrid: appends one row and keeps its user''s and item''s tags once per id';
COMMENT ON FUNCTION recsys._hybrid_trans(internal, bigint, bigint, real, text[], text[], jsonb) IS
'transition function of train_hybrid with options: appends one row and keeps its user''s and item''s tags once per id';
COMMENT ON FUNCTION recsys._hybrid_trans(internal, bigint, bigint, double precision, text[], text[]) IS
'transition function of train_hybrid for double precision values: appends one row and keeps its user''s and item''s tags once per id';
COMMENT ON FUNCTION recsys._hybrid_trans(internal, bigint, bigint, double precision, text[], text[], jsonb) IS
'transition function of train_hybrid for double precision values, with options: appends one row and keeps its user''s and item''s tags once per id';
COMMENT ON FUNCTION recsys._hybrid_combine(internal, internal) IS
'combine function of train_hybrid: merges a parallel worker''s rows and tags';
COMMENT ON FUNCTION recsys._hybrid_serialize(internal) IS
'serialise function of train_hybrid: a parallel worker''s rows and tags as bytea';
COMMENT ON FUNCTION recsys._hybrid_deserialize(bytea, internal) IS
'deserialise function of train_hybrid: a parallel worker''s rows and tags back from bytea';
COMMENT ON FUNCTION recsys._train_hybrid_final(internal) IS
'final function of train_hybrid: fits the hybrid model and encodes it';

CREATE AGGREGATE recsys.train_hybrid(user_id bigint, item_id bigint, value real,
                                     user_tags text[], item_tags text[]) (
    SFUNC = recsys._hybrid_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_hybrid_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._hybrid_combine,
    SERIALFUNC = recsys._hybrid_serialize,
    DESERIALFUNC = recsys._hybrid_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_hybrid(user_id bigint, item_id bigint, value real,
                                     user_tags text[], item_tags text[], options jsonb) (
    SFUNC = recsys._hybrid_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_hybrid_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._hybrid_combine,
    SERIALFUNC = recsys._hybrid_serialize,
    DESERIALFUNC = recsys._hybrid_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_hybrid(user_id bigint, item_id bigint, value double precision,
                                     user_tags text[], item_tags text[]) (
    SFUNC = recsys._hybrid_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_hybrid_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._hybrid_combine,
    SERIALFUNC = recsys._hybrid_serialize,
    DESERIALFUNC = recsys._hybrid_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_hybrid(user_id bigint, item_id bigint, value double precision,
                                     user_tags text[], item_tags text[], options jsonb) (
    SFUNC = recsys._hybrid_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_hybrid_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._hybrid_combine,
    SERIALFUNC = recsys._hybrid_serialize,
    DESERIALFUNC = recsys._hybrid_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_hybrid(bigint, bigint, real, text[], text[]) IS
'trains a hybrid ranking model on interactions and the tags of their users and items (each id keeps the union of the tags of its rows; NULL means none); returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_hybrid(bigint, bigint, real, text[], text[], jsonb) IS
'trains a hybrid ranking model with options such as {"loss": "bpr", "identity": "none", "epochs": 30}; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_hybrid(bigint, bigint, double precision, text[], text[]) IS
'trains a hybrid ranking model on interactions with double precision values and the tags of their users and items; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_hybrid(bigint, bigint, double precision, text[], text[], jsonb) IS
'trains a hybrid ranking model on interactions with double precision values, with options; returns the model as bytea';

CREATE FUNCTION recsys.predict(model bytea, user_id bigint, item_tags text[])
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_predict_item_tags'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;

COMMENT ON FUNCTION recsys.predict(bytea, bigint, text[]) IS
'a hybrid model''s score for a known user and an item given by its tags (a new item): the sum of its known tags'' vectors and biases; NULL when the user or every tag is unknown';

CREATE FUNCTION recsys.user_vector(model bytea, user_tags text[])
RETURNS real[]
AS 'MODULE_PATHNAME', 'recsys_user_vector_tags'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;

COMMENT ON FUNCTION recsys.user_vector(bytea, text[]) IS
'the vector of a user given by tags in a hybrid model (the sum of the known tags'' vectors) as real[]; NULL when no tag is known';

CREATE FUNCTION recsys.item_vector(model bytea, item_tags text[])
RETURNS real[]
AS 'MODULE_PATHNAME', 'recsys_item_vector_tags'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;

COMMENT ON FUNCTION recsys.item_vector(bytea, text[]) IS
'the vector of an item given by tags in a hybrid model (the sum of the known tags'' vectors) as real[], for a vector index; NULL when no tag is known';

CREATE FUNCTION recsys.recommend(model bytea, user_tags text[], k int DEFAULT 10)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend_user_tags'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10 COST 10000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.recommend(bytea, text[], int) IS
'the k best items of a hybrid model for a new user given by tags; unknown tags are ignored with a NOTICE';

CREATE FUNCTION recsys.recommend(model bytea, user_tags text[], item_ids bigint[], "values" real[],
                                 k int DEFAULT 10)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend_user_tags_history'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10 COST 10000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.recommend(bytea, text[], bigint[], real[], int) IS
'the k best items of a hybrid model for a new user given by tags and a live history, folded in from the tags'' vector; the history''s items are left out';

CREATE FUNCTION recsys.explain_features(model bytea, user_id bigint, item_id bigint, k int DEFAULT 5)
RETURNS TABLE (feature text, contribution float8)
AS 'MODULE_PATHNAME', 'recsys_explain_features'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 6 COST 1000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.explain_features(bytea, bigint, bigint, int) IS
'the k tags of the item that add most to a hybrid model''s score for the user, then a row with a NULL feature for the item''s own vector; all contributions add up to the score';
