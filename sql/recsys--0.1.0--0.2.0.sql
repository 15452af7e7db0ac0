-- recsys 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION recsys UPDATE TO '0.2.0'" to load this file. \quit

-- Ranking metrics: a ranked list of recommended ids against the set of ids
-- that were relevant (binary relevance), cut at position k.  The same rules
-- hold for all five:
-- * an item repeated in recommended counts once, at its first position; a
--   later repeat is never a hit but still takes up its position;
-- * repeats in relevant count once;
-- * a list shorter than k is padded with misses (precision divides by k);
-- * an empty relevant array gives NULL (undefined), which avg() skips;
-- * k < 1 and NULL elements are errors.

CREATE FUNCTION recsys.ndcg(recommended bigint[], relevant bigint[], k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_ndcg'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys.precision_at_k(recommended bigint[], relevant bigint[], k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_precision_at_k'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys.recall_at_k(recommended bigint[], relevant bigint[], k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_recall_at_k'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys.hit_rate(recommended bigint[], relevant bigint[], k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_hit_rate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys.average_precision(recommended bigint[], relevant bigint[], k int)
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_average_precision'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION recsys.ndcg(bigint[], bigint[], int) IS
'normalised discounted cumulative gain at k (binary relevance): the sum of 1/log2(position+1) over the relevant items among the first k recommended, divided by the same sum for a perfect list; an item repeated in recommended counts at its first position only, a list shorter than k counts as misses, NULL when relevant is empty';
COMMENT ON FUNCTION recsys.precision_at_k(bigint[], bigint[], int) IS
'precision at k: the distinct relevant items among the first k recommended, divided by k (a list shorter than k counts as misses); NULL when relevant is empty';
COMMENT ON FUNCTION recsys.recall_at_k(bigint[], bigint[], int) IS
'recall at k: the distinct relevant items among the first k recommended, divided by the number of distinct relevant items; NULL when relevant is empty';
COMMENT ON FUNCTION recsys.hit_rate(bigint[], bigint[], int) IS
'hit rate at k: 1 if any of the first k recommended items is relevant, else 0; NULL when relevant is empty';
COMMENT ON FUNCTION recsys.average_precision(bigint[], bigint[], int) IS
'average precision at k: the precision at each position (up to k) that holds a relevant item not seen before, summed and divided by min(k, number of distinct relevant items); NULL when relevant is empty';

-- BPR: pairwise ranking from implicit interactions (no values).

CREATE FUNCTION recsys._interactions_trans(internal, bigint, bigint)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_interactions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._interactions_trans(internal, bigint, bigint, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_interactions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._train_bpr_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_train_bpr_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._interactions_trans(internal, bigint, bigint) IS
'transition function of the interaction-training aggregates without values: appends one row';
COMMENT ON FUNCTION recsys._interactions_trans(internal, bigint, bigint, jsonb) IS
'transition function of the interaction-training aggregates without values, with options: appends one row';
COMMENT ON FUNCTION recsys._train_bpr_final(internal) IS
'final function of train_bpr: fits the BPR model and encodes it';

CREATE AGGREGATE recsys.train_bpr(user_id bigint, item_id bigint) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_bpr_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_bpr(user_id bigint, item_id bigint, options jsonb) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_bpr_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_bpr(bigint, bigint) IS
'trains a BPR ranking model (matrix factorisation with item bias) on implicit interactions; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_bpr(bigint, bigint, jsonb) IS
'trains a BPR ranking model with options such as {"factors": 64, "epochs": 30, "negatives": "popularity"}; returns the model as bytea';

COMMENT ON AGGREGATE recsys.train_als(bigint, bigint, real, jsonb) IS
'trains a matrix-factorisation model by ALS: ratings ({"feedback": "explicit"}, the default) or implicit feedback ({"feedback": "implicit", "alpha": 1}); returns the model as bytea';

-- Serving for every model with user and item factors.

CREATE FUNCTION recsys.recommend(model bytea, item_ids bigint[], "values" real[], k int DEFAULT 10)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend_history'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION recsys.recommend(bytea, bigint[], real[], int) IS
'the k best items for a user given by a history of items and values, folded in at query time by the model''s own solve for a user; the history''s items are left out';

CREATE FUNCTION recsys.similar_items(model bytea, item_id bigint, k int DEFAULT 10)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_similar_items'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION recsys.similar_items(bytea, bigint, int) IS
'the k items whose factors have the highest cosine similarity to the item''s, without the item itself';

CREATE FUNCTION recsys.explain(model bytea, user_id bigint, item_id bigint, k int DEFAULT 5)
RETURNS TABLE (item_id bigint, contribution float8)
AS 'MODULE_PATHNAME', 'recsys_explain'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 6;

COMMENT ON FUNCTION recsys.explain(bytea, bigint, bigint, int) IS
'the k items of the user''s training history that contribute most to predict(model, user_id, item_id), then a row with a NULL item_id for the part no item explains (biases); all contributions add up to the score';

CREATE FUNCTION recsys.user_vector(model bytea, user_id bigint)
RETURNS real[]
AS 'MODULE_PATHNAME', 'recsys_user_vector'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION recsys.user_vector(bytea, bigint) IS
'the user''s factors (embedding) as real[]; NULL for a user the model does not know';

CREATE FUNCTION recsys.item_vector(model bytea, item_id bigint)
RETURNS real[]
AS 'MODULE_PATHNAME', 'recsys_item_vector'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION recsys.item_vector(bytea, bigint) IS
'the item''s factors (embedding) as real[]; NULL for an item the model does not know';

COMMENT ON FUNCTION recsys.predict(bytea, bigint, bigint) IS
'the model''s estimate for a user and an item; for unknown ids a rating model falls back to the global mean plus the known bias, a ranking model (implicit ALS, BPR) returns NULL';

-- Dense neural networks on feature vectors.

CREATE FUNCTION recsys._features_trans(internal, real[], real)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_features_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._features_trans(internal, real[], real, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_features_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._features_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_features_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._features_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_features_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys._features_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_features_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION recsys._train_mlp_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_train_mlp_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._features_trans(internal, real[], real) IS
'transition function of the feature-training aggregates: appends one row';
COMMENT ON FUNCTION recsys._features_trans(internal, real[], real, jsonb) IS
'transition function of the feature-training aggregates with options: appends one row';
COMMENT ON FUNCTION recsys._features_combine(internal, internal) IS
'combine function of the feature-training aggregates: concatenates two partial states';
COMMENT ON FUNCTION recsys._features_serialize(internal) IS
'serialise function of the feature-training aggregates, for parallel workers';
COMMENT ON FUNCTION recsys._features_deserialize(bytea, internal) IS
'deserialise function of the feature-training aggregates, for parallel workers';
COMMENT ON FUNCTION recsys._train_mlp_final(internal) IS
'final function of train_mlp: fits the network and encodes it';

CREATE AGGREGATE recsys.train_mlp(features real[], label real) (
    SFUNC = recsys._features_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_mlp_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._features_combine,
    SERIALFUNC = recsys._features_serialize,
    DESERIALFUNC = recsys._features_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_mlp(features real[], label real, options jsonb) (
    SFUNC = recsys._features_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_mlp_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._features_combine,
    SERIALFUNC = recsys._features_serialize,
    DESERIALFUNC = recsys._features_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_mlp(real[], real) IS
'trains a dense neural network (hidden [128] ReLU, sigmoid output, binary cross-entropy, Adam, 10 epochs, batches of 32) on feature vectors and 0/1 labels; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_mlp(real[], real, jsonb) IS
'trains a dense neural network with options such as {"hidden": [64, 32], "loss": "mse", "optimizer": "sgd"}; returns the model as bytea';

CREATE FUNCTION recsys.predict(model bytea, features real[])
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_predict_features'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION recsys.predict(bytea, real[]) IS
'the output of a model trained by train_mlp for a feature vector: a probability for cross-entropy, a value for mse';
