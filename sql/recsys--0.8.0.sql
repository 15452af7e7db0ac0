-- recsys 0.8.0: recommendation models trained by aggregates and served in
-- SQL.  The whole surface of this version; the upgrade scripts beside it
-- (recsys--A--B.sql) bring an older install to the same objects.
\echo Use "CREATE EXTENSION recsys" to load this file. \quit

-- The schema named in the control file is found or created by CREATE
-- EXTENSION; found, it may belong to a role that could then add overloads
-- of these functions for every caller.  Refuse a schema recsys whose owner
-- is neither the extension's owner nor a superuser (the whole command is
-- undone).
DO $check$
DECLARE
    schema_owner pg_catalog.oid;
    extension_owner pg_catalog.oid;
BEGIN
    SELECT n.nspowner INTO schema_owner
    FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'recsys';
    SELECT e.extowner INTO extension_owner
    FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'recsys';
    IF schema_owner OPERATOR(pg_catalog.<>) extension_owner
       AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                WHERE r.oid OPERATOR(pg_catalog.=) schema_owner) THEN
        RAISE EXCEPTION 'schema "recsys" is owned by role %, not by the extension''s owner %',
                        schema_owner::pg_catalog.regrole, extension_owner::pg_catalog.regrole
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Its owner could add functions to it that calls to recsys functions would reach.',
                  HINT = 'Drop or rename that schema before creating the extension, or let its owner create the extension.';
    END IF;
END
$check$;

-- Serving functions declare a COST, in units of cpu_operator_cost (one
-- built-in operator), from measurements: predict is a dot product of the
-- factors after two id lookups (about twenty operators); recommend,
-- similar_items and the fold-in score the whole catalogue.  With a cost above ten operators the planner
-- evaluates an expression only for the rows that survive a LIMIT, and it
-- tests cheaper conditions of a WHERE clause first.

-- The row estimate of the list functions follows a constant k.
CREATE FUNCTION recsys._rows_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_rows_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION recsys._rows_support(internal) IS
'planner support of recommend, similar_items and explain: estimates their rows from a constant k';

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
'trains a matrix-factorisation model by ALS: ratings ({"feedback": "explicit"}, the default) or implicit feedback ({"feedback": "implicit"}, confidence 1 + alpha * value with alpha 40 by default); returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_als(bigint, bigint, real, jsonb) IS
'trains a matrix-factorisation model by ALS: ratings ({"feedback": "explicit"}, the default) or implicit feedback ({"feedback": "implicit", "alpha": 1}); returns the model as bytea';

CREATE FUNCTION recsys.predict(model bytea, user_id bigint, item_id bigint)
RETURNS float8
AS 'MODULE_PATHNAME', 'recsys_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20;

COMMENT ON FUNCTION recsys.predict(bytea, bigint, bigint) IS
'the model''s estimate for a user and an item (a probability for ncf); for unknown ids a rating model (ALS, item-kNN on ratings) falls back to the global mean plus the known bias, a ranking model (implicit ALS, BPR, NCF, implicit item-kNN, EASE) returns NULL';

CREATE FUNCTION recsys.recommend(model bytea, user_id bigint, k int DEFAULT 10,
                                 exclude_seen bool DEFAULT true)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10 COST 10000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.recommend(bytea, bigint, int, bool) IS
'the k best items for a user, best first, optionally without the items the user had in training';

CREATE FUNCTION recsys.model_info(model bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'recsys_model_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

COMMENT ON FUNCTION recsys.model_info(bytea) IS
'describes a model: algorithm, id, sizes, options used, training loss per iteration, timings';

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

-- Serving for every model with user and item factors.

CREATE FUNCTION recsys.recommend(model bytea, item_ids bigint[], "values" real[], k int DEFAULT 10)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend_history'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10 COST 10000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.recommend(bytea, bigint[], real[], int) IS
'the k best items for a user given by a history of items and values: folded in at query time by the model''s own solve for a user, or for item models (item-kNN, EASE) scored directly; the history''s items are left out';

-- A history of items alone, as clicks are: each counts as one interaction.
-- (With both recommend(model, user_id bigint, ...) and this, a bare NULL or
-- an untyped parameter in the second place is ambiguous: write NULL::bigint
-- or $2::bigint.)
CREATE FUNCTION recsys.recommend(model bytea, item_ids bigint[], k int DEFAULT 10)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend_items'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10 COST 10000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.recommend(bytea, bigint[], int) IS
'the k best items for a user given by the items of a history alone, each counting as one interaction (as recommend(model, item_ids, values, k) with every value 1); for sequence models the history in order, most recent first; not for models of ratings; the history''s items are left out';

CREATE FUNCTION recsys.similar_items(model bytea, item_id bigint, k int DEFAULT 10)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_similar_items'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10 COST 10000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.similar_items(bytea, bigint, int) IS
'the k items most similar to the item, without the item itself: by cosine of their factors, or an item model''s stored neighbours (item-kNN) or largest weights (EASE); not for ncf models';

CREATE FUNCTION recsys.explain(model bytea, user_id bigint, item_id bigint, k int DEFAULT 5)
RETURNS TABLE (item_id bigint, contribution float8)
AS 'MODULE_PATHNAME', 'recsys_explain'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 6 COST 1000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.explain(bytea, bigint, bigint, int) IS
'the k items of the user''s training history that contribute most to predict(model, user_id, item_id), then a row with a NULL item_id for the part no item explains (biases); all contributions add up to the score; not for ncf models';

CREATE FUNCTION recsys.user_vector(model bytea, user_id bigint)
RETURNS real[]
AS 'MODULE_PATHNAME', 'recsys_user_vector'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20;

COMMENT ON FUNCTION recsys.user_vector(bytea, bigint) IS
'the user''s factors (embedding; the GMF embedding for ncf) as real[]; NULL for a user the model does not know';

CREATE FUNCTION recsys.item_vector(model bytea, item_id bigint)
RETURNS real[]
AS 'MODULE_PATHNAME', 'recsys_item_vector'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20;

COMMENT ON FUNCTION recsys.item_vector(bytea, bigint) IS
'the item''s factors (embedding; the GMF embedding for ncf) as real[]; NULL for an item the model does not know';

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
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

COMMENT ON FUNCTION recsys.predict(bytea, real[]) IS
'the output of a model trained by train_mlp for a feature vector: a probability for cross-entropy, a value for mse';

-- Neural collaborative filtering (NeuMF) on implicit interactions.
CREATE FUNCTION recsys._train_ncf_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_train_ncf_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._train_ncf_final(internal) IS
'final function of train_ncf: fits the NeuMF model and encodes it';

CREATE AGGREGATE recsys.train_ncf(user_id bigint, item_id bigint) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_ncf_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_ncf(user_id bigint, item_id bigint, options jsonb) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_ncf_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_ncf(bigint, bigint) IS
'trains a NeuMF model (neural collaborative filtering: GMF and an MLP tower) on implicit interactions with sampled negatives; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_ncf(bigint, bigint, jsonb) IS
'trains a NeuMF model with options such as {"factors": 16, "layers": [64, 32, 16, 8], "negatives": 4, "epochs": 20}; returns the model as bytea';

-- Item-based collaborative filtering (item-kNN).
CREATE FUNCTION recsys._train_knn_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_train_knn_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._train_knn_final(internal) IS
'final function of train_knn: computes the item neighbourhoods and encodes the model';

CREATE AGGREGATE recsys.train_knn(user_id bigint, item_id bigint, value real) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_knn_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_knn(user_id bigint, item_id bigint, value real, options jsonb) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_knn_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_knn(bigint, bigint, real) IS
'trains an item-kNN model: each item''s most similar items (cosine by default) over the users who interacted with both; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_knn(bigint, bigint, real, jsonb) IS
'trains an item-kNN model with options such as {"similarity": "adjusted_cosine", "feedback": "explicit", "neighbors": 50, "shrinkage": 10}; returns the model as bytea';

-- EASE: a closed-form item-item model for implicit interactions.
CREATE FUNCTION recsys._train_ease_final(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'recsys_train_ease_final'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._train_ease_final(internal) IS
'final function of train_ease: solves for the item-item weights and encodes the model';

CREATE AGGREGATE recsys.train_ease(user_id bigint, item_id bigint) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_ease_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_ease(user_id bigint, item_id bigint, options jsonb) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_ease_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_ease(bigint, bigint) IS
'trains an EASE model (Steck 2019: the closed-form item-item weights B = I - P diag(1/diag P), P = (X''X + lambda I)^-1) on implicit interactions; returns the model as bytea';
COMMENT ON AGGREGATE recsys.train_ease(bigint, bigint, jsonb) IS
'trains an EASE model with options such as {"lambda": 500, "max_items": 20000, "prune": 100}; returns the model as bytea';

-- Many users' top k in one call: factor models score a block of users with
-- one matrix product (precomputing lists, evaluating).
CREATE FUNCTION recsys.recommend_batch(model bytea, user_ids bigint[], k int DEFAULT 10,
                                       exclude_seen bool DEFAULT true)
RETURNS TABLE (user_id bigint, item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend_batch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 1000;

COMMENT ON FUNCTION recsys.recommend_batch(bytea, bigint[], int, bool) IS
'the k best items for each user of user_ids, in their order, each user''s best first: the rows recommend gives for each, scored many users at a time';

-- Values in double precision, the type of a float8 column or of avg():
-- the same C functions read either type and compute in single precision.
-- Scalars only: for an unknown-type literal PostgreSQL prefers double
-- precision over real, but it has no preference between real[] and
-- double precision[], so array overloads would make a call such as
-- predict(model, '{0.2, 0.5}') ambiguous.

CREATE FUNCTION recsys._interactions_trans(internal, bigint, bigint, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_interactions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._interactions_trans(internal, bigint, bigint, double precision, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_interactions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._interactions_trans(internal, bigint, bigint, double precision) IS
'transition function of the interaction-training aggregates on double precision values: appends one row';
COMMENT ON FUNCTION recsys._interactions_trans(internal, bigint, bigint, double precision, jsonb) IS
'transition function of the interaction-training aggregates on double precision values, with options: appends one row';

CREATE AGGREGATE recsys.train_als(user_id bigint, item_id bigint, value double precision) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_als_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_als(user_id bigint, item_id bigint, value double precision, options jsonb) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_als_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_knn(user_id bigint, item_id bigint, value double precision) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_knn_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_knn(user_id bigint, item_id bigint, value double precision, options jsonb) (
    SFUNC = recsys._interactions_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_knn_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._interactions_combine,
    SERIALFUNC = recsys._interactions_serialize,
    DESERIALFUNC = recsys._interactions_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_als(bigint, bigint, double precision) IS
'train_als on double precision values (computed in single precision)';
COMMENT ON AGGREGATE recsys.train_als(bigint, bigint, double precision, jsonb) IS
'train_als on double precision values (computed in single precision), with options';
COMMENT ON AGGREGATE recsys.train_knn(bigint, bigint, double precision) IS
'train_knn on double precision values (computed in single precision)';
COMMENT ON AGGREGATE recsys.train_knn(bigint, bigint, double precision, jsonb) IS
'train_knn on double precision values (computed in single precision), with options';

CREATE FUNCTION recsys._features_trans(internal, real[], double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_features_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION recsys._features_trans(internal, real[], double precision, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_features_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION recsys._features_trans(internal, real[], double precision) IS
'transition function of the feature-training aggregates with a double precision label: appends one row';
COMMENT ON FUNCTION recsys._features_trans(internal, real[], double precision, jsonb) IS
'transition function of the feature-training aggregates with a double precision label, with options: appends one row';

CREATE AGGREGATE recsys.train_mlp(features real[], label double precision) (
    SFUNC = recsys._features_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_mlp_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._features_combine,
    SERIALFUNC = recsys._features_serialize,
    DESERIALFUNC = recsys._features_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE recsys.train_mlp(features real[], label double precision, options jsonb) (
    SFUNC = recsys._features_trans,
    STYPE = internal,
    FINALFUNC = recsys._train_mlp_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = recsys._features_combine,
    SERIALFUNC = recsys._features_serialize,
    DESERIALFUNC = recsys._features_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE recsys.train_mlp(real[], double precision) IS
'train_mlp with a double precision label (computed in single precision)';
COMMENT ON AGGREGATE recsys.train_mlp(real[], double precision, jsonb) IS
'train_mlp with a double precision label (computed in single precision), with options';

-- Whether a model knows an id: a newcomer is scored by fallbacks or fold-in.
CREATE FUNCTION recsys.has_user(model bytea, user_id bigint)
RETURNS bool
AS 'MODULE_PATHNAME', 'recsys_has_user'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20;

CREATE FUNCTION recsys.has_item(model bytea, item_id bigint)
RETURNS bool
AS 'MODULE_PATHNAME', 'recsys_has_item'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 20;

COMMENT ON FUNCTION recsys.has_user(bytea, bigint) IS
'whether the model was trained on the user (false: recommend and predict fall back, as for a newcomer)';
COMMENT ON FUNCTION recsys.has_item(bytea, bigint) IS
'whether the model knows the item (false: it cannot recommend it, and a ranking model''s predict is NULL)';

-- A model's ranking metrics on held-out pairs.  Everything is written with
-- its schema: the caller's search_path decides nothing here.
CREATE FUNCTION recsys.evaluate(model bytea, user_ids bigint[], item_ids bigint[],
                                k int DEFAULT 10)
RETURNS TABLE (users bigint, hit_rate float8, precision_at_k float8,
               recall_at_k float8, ndcg float8, average_precision float8,
               unknown_users bigint, unknown_items bigint)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 100000 ROWS 1
AS $body$
BEGIN
    IF pg_catalog.cardinality(user_ids) OPERATOR(pg_catalog.<>) pg_catalog.cardinality(item_ids) THEN
        RAISE EXCEPTION 'user_ids and item_ids must have the same length'
            USING ERRCODE = 'array_subscript_error',
                  DETAIL = pg_catalog.format('user_ids has %s elements and item_ids has %s.',
                                             pg_catalog.cardinality(user_ids),
                                             pg_catalog.cardinality(item_ids));
    END IF;
    IF pg_catalog.array_position(user_ids, NULL) IS NOT NULL
       OR pg_catalog.array_position(item_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'user_ids and item_ids must not contain nulls'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF k OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'k must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('k was %s.', k);
    END IF;

    -- refuses what is not a model, briefly, and a model that ranks nothing
    IF recsys.model_info(model) OPERATOR(pg_catalog.->>) 'algorithm' OPERATOR(pg_catalog.=) 'mlp' THEN
        RAISE EXCEPTION 'evaluate does not take a model trained by train_mlp'
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Evaluate a feature model with SQL over predict(model, features).';
    END IF;

    -- Each held-out user's relevant items against the model's top k for
    -- them (recommend_batch: seen items left out); a user the model does
    -- not know gets the list recommend gives such a user, as serving would.
    RETURN QUERY
    WITH pairs AS (
        SELECT p.user_id, p.item_id
        FROM ROWS FROM (pg_catalog.unnest(user_ids), pg_catalog.unnest(item_ids)) AS p(user_id, item_id)),
    held_out AS (
        SELECT p.user_id, pg_catalog.array_agg(DISTINCT p.item_id) AS relevant
        FROM pairs p
        GROUP BY p.user_id),
    lists AS (
        SELECT t.user_id, pg_catalog.array_agg(t.item_id ORDER BY t.rank) AS top
        FROM recsys.recommend_batch(model, (SELECT pg_catalog.array_agg(h.user_id) FROM held_out h), k)
             WITH ORDINALITY AS t(user_id, item_id, score, rank)
        GROUP BY t.user_id)
    SELECT pg_catalog.count(*),
           pg_catalog.avg(recsys.hit_rate(r.top, h.relevant, k)),
           pg_catalog.avg(recsys.precision_at_k(r.top, h.relevant, k)),
           pg_catalog.avg(recsys.recall_at_k(r.top, h.relevant, k)),
           pg_catalog.avg(recsys.ndcg(r.top, h.relevant, k)),
           pg_catalog.avg(recsys.average_precision(r.top, h.relevant, k)),
           pg_catalog.count(*) FILTER (WHERE NOT recsys.has_user(model, h.user_id)),
           (SELECT pg_catalog.count(*) FROM pairs p WHERE NOT recsys.has_item(model, p.item_id))
    FROM held_out AS h
    LEFT JOIN lists AS l ON l.user_id OPERATOR(pg_catalog.=) h.user_id
    CROSS JOIN LATERAL (SELECT coalesce(l.top, '{}') AS top) AS r;
END
$body$;

COMMENT ON FUNCTION recsys.evaluate(bytea, bigint[], bigint[], int) IS
'ranking metrics of the model on held-out (user_id, item_id) pairs: each user''s top k (seen items left out) against that user''s held-out items, averaged over users; a user the model does not know is scored on the list recommend gives such a user, and counted in unknown_users (held-out pairs of unknown items in unknown_items)';

-- Retrains a model from a query, stores it under its name and, with a
-- history table, keeps every version with what it was trained on and how it
-- did on held-out data.  Table names arrive as regclass and the name and the
-- model as parameters, so nothing the caller passes is spliced into SQL
-- except the two queries, which are the caller's own SQL, run with the
-- caller's privileges.
CREATE PROCEDURE recsys.retrain(models regclass, name text, training_query text,
                                holdout_query text DEFAULT NULL,
                                history regclass DEFAULT NULL,
                                keep int DEFAULT NULL, k int DEFAULT 10,
                                only_if_better bool DEFAULT false,
                                metric text DEFAULT 'ndcg',
                                tolerance float8 DEFAULT 0)
LANGUAGE plpgsql
AS $body$
DECLARE
    started pg_catalog.timestamptz := pg_catalog.clock_timestamp();
    new_model pg_catalog.bytea;
    current_model pg_catalog.bytea;
    description pg_catalog.jsonb;
    held_out_users pg_catalog.int8[];
    held_out_items pg_catalog.int8[];
    metrics pg_catalog.jsonb;
    current_metrics pg_catalog.jsonb;
    info pg_catalog.jsonb;
    new_version pg_catalog.int4;
    sets_trained_at pg_catalog.bool;
    swap pg_catalog.bool := true;
    missing pg_catalog.text;
BEGIN
    IF name IS NULL OR models IS NULL OR training_query IS NULL THEN
        RAISE EXCEPTION 'models, name and training_query must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF keep IS NOT NULL AND keep OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'keep must be at least 1'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('keep was %s.', keep);
    END IF;
    IF keep IS NOT NULL AND history IS NULL THEN
        RAISE EXCEPTION 'keep needs a history table'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF only_if_better AND holdout_query IS NULL THEN
        RAISE EXCEPTION 'only_if_better needs a holdout_query'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The models are compared on the held-out rows: give holdout_query, (user_id, item_id) pairs.';
    END IF;
    IF metric IS NULL OR metric OPERATOR(pg_catalog.<>) ALL (ARRAY['hit_rate', 'precision_at_k', 'recall_at_k', 'ndcg', 'average_precision']) THEN
        RAISE EXCEPTION 'unknown metric "%"', metric
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of hit_rate, precision_at_k, recall_at_k, ndcg, average_precision.';
    END IF;
    IF tolerance IS NULL OR tolerance OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'tolerance must be a number of at least 0'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The tables' shapes, checked before anything is trained or written.
    SELECT pg_catalog.string_agg(pg_catalog.format('%s %s', c.col, c.typ), ', ') INTO missing
    FROM (VALUES ('name', 'pg_catalog.text'::pg_catalog.regtype), ('model', 'pg_catalog.bytea'::pg_catalog.regtype)) AS c(col, typ)
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid OPERATOR(pg_catalog.=) models
                        AND a.attname OPERATOR(pg_catalog.=) c.col
                        AND a.atttypid OPERATOR(pg_catalog.=) c.typ
                        AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'table % is not a models table', models
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = pg_catalog.format('It lacks the columns %s.', missing),
                  HINT = 'A models table has columns name text UNIQUE and model bytea NOT NULL, and may have trained_at timestamptz.';
    END IF;
    IF history IS NOT NULL THEN
        SELECT pg_catalog.string_agg(pg_catalog.format('%s %s', c.col, c.typ), ', ') INTO missing
        FROM (VALUES ('name', 'pg_catalog.text'::pg_catalog.regtype), ('version', 'pg_catalog.int4'::pg_catalog.regtype),
                     ('model', 'pg_catalog.bytea'::pg_catalog.regtype), ('trained_at', 'pg_catalog.timestamptz'::pg_catalog.regtype),
                     ('info', 'pg_catalog.jsonb'::pg_catalog.regtype)) AS c(col, typ)
        WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid OPERATOR(pg_catalog.=) history
                            AND a.attname OPERATOR(pg_catalog.=) c.col
                            AND a.atttypid OPERATOR(pg_catalog.=) c.typ
                            AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped);
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'table % is not a model history table', history
                USING ERRCODE = 'wrong_object_type',
                      DETAIL = pg_catalog.format('It lacks the columns %s.', missing),
                      HINT = 'A history table has columns name text, version int, model bytea, trained_at timestamptz and info jsonb, with PRIMARY KEY (name, version).';
        END IF;
    END IF;

    BEGIN
        EXECUTE training_query INTO STRICT new_model;
    EXCEPTION
        WHEN no_data_found OR too_many_rows THEN
            RAISE EXCEPTION 'training_query must return exactly one row'
                USING ERRCODE = 'cardinality_violation',
                      HINT = 'Write it as one training aggregate over the rows, such as SELECT recsys.train_als(user_id, item_id, rating) FROM ratings.';
    END;
    IF new_model IS NULL THEN
        RAISE EXCEPTION 'training_query returned NULL instead of a model'
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = 'A training aggregate over no rows is NULL.',
                  HINT = 'Check that the query''s FROM and WHERE find the training rows; the stored model was left as it was.';
    END IF;
    description := recsys.model_info(new_model);    -- refuses what is not a model

    IF holdout_query IS NOT NULL THEN
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.array_agg(q.user_id), pg_catalog.array_agg(q.item_id) FROM (%s) AS q(user_id, item_id)',
            pg_catalog.regexp_replace(holdout_query, '[\s;]+$', ''))
            INTO held_out_users, held_out_items;
        SELECT pg_catalog.to_jsonb(e) INTO metrics
        FROM recsys.evaluate(new_model, coalesce(held_out_users, '{}'),
                             coalesce(held_out_items, '{}'), k) AS e;
        -- a hold-out the model knows nothing of measures nothing
        IF (metrics OPERATOR(pg_catalog.->>) 'users')::pg_catalog.int8 OPERATOR(pg_catalog.=) 0
           OR (metrics OPERATOR(pg_catalog.->>) 'unknown_users')::pg_catalog.int8
              OPERATOR(pg_catalog.=) (metrics OPERATOR(pg_catalog.->>) 'users')::pg_catalog.int8
           OR (metrics OPERATOR(pg_catalog.->>) 'unknown_items')::pg_catalog.int8
              OPERATOR(pg_catalog.=) pg_catalog.cardinality(held_out_items) THEN
            RAISE EXCEPTION 'the held-out rows share no user or no item with the new model'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = pg_catalog.format('The model does not know %s of the %s held-out users, nor the items of %s of the %s held-out pairs.',
                                                 metrics OPERATOR(pg_catalog.->>) 'unknown_users',
                                                 metrics OPERATOR(pg_catalog.->>) 'users',
                                                 metrics OPERATOR(pg_catalog.->>) 'unknown_items',
                                                 coalesce(pg_catalog.cardinality(held_out_items), 0)),
                      HINT = 'holdout_query must return (user_id, item_id) pairs of users and items of the training rows: check the order of its columns.';
        END IF;
        metrics := metrics OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('k', k);

        IF only_if_better THEN
            EXECUTE pg_catalog.format('SELECT m.model FROM %s AS m WHERE m.name OPERATOR(pg_catalog.=) $1', models)
                INTO current_model USING name;
            IF current_model IS NOT NULL THEN
                SELECT pg_catalog.to_jsonb(e) INTO current_metrics
                FROM recsys.evaluate(current_model, held_out_users, held_out_items, k) AS e;
                -- OPERATOR() forms all bind alike, left to right: parenthesised
                swap := (metrics OPERATOR(pg_catalog.->>) metric)::pg_catalog.float8
                        OPERATOR(pg_catalog.>=)
                        ((current_metrics OPERATOR(pg_catalog.->>) metric)::pg_catalog.float8
                         OPERATOR(pg_catalog.-) tolerance);
            END IF;
        END IF;
    END IF;

    info := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'algorithm', description OPERATOR(pg_catalog.->) 'algorithm',
        'model_id', description OPERATOR(pg_catalog.->) 'model_id',
        'users', description OPERATOR(pg_catalog.->) 'users',
        'items', description OPERATOR(pg_catalog.->) 'items',
        'interactions', description OPERATOR(pg_catalog.->) 'interactions',
        'collect_seconds', description OPERATOR(pg_catalog.->) 'collect_seconds',
        'training_seconds', description OPERATOR(pg_catalog.->) 'training_seconds',
        'seconds', pg_catalog.round(pg_catalog.date_part('epoch',
                       pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started)::pg_catalog.numeric, 3),
        'holdout', metrics,
        'replaced_holdout', current_metrics OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('k', k),
        'swapped', swap));

    IF history IS NOT NULL THEN
        -- One retraining at a time writes versions, so numbers never repeat.
        EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', history);
        EXECUTE pg_catalog.format(
            'SELECT coalesce(pg_catalog.max(h.version), 0) OPERATOR(pg_catalog.+) 1 FROM %s AS h WHERE h.name OPERATOR(pg_catalog.=) $1',
            history) INTO new_version USING name;
        EXECUTE pg_catalog.format(
            'INSERT INTO %s (name, version, model, trained_at, info) VALUES ($1, $2, $3, $4, $5)',
            history) USING name, new_version, new_model, pg_catalog.now(), info;
        IF keep IS NOT NULL THEN
            EXECUTE pg_catalog.format(
                'DELETE FROM %s AS h WHERE h.name OPERATOR(pg_catalog.=) $1 AND h.version OPERATOR(pg_catalog.<=) $2',
                history) USING name, new_version OPERATOR(pg_catalog.-) keep;
        END IF;
    END IF;

    IF NOT swap THEN
        RAISE WARNING 'model % kept: the new % model does worse on the held-out rows',
                      pg_catalog.quote_literal(name),
                      description OPERATOR(pg_catalog.->>) 'algorithm'
            USING DETAIL = pg_catalog.format('%s@%s: %s for the new model, %s for the current one (tolerance %s).',
                                             metric, k,
                                             pg_catalog.round((metrics OPERATOR(pg_catalog.->>) metric)::pg_catalog.numeric, 4),
                                             pg_catalog.round((current_metrics OPERATOR(pg_catalog.->>) metric)::pg_catalog.numeric, 4),
                                             tolerance);
        RETURN;
    END IF;

    -- The swap: readers see the old model until this transaction commits.
    SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 INTO sets_trained_at
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid OPERATOR(pg_catalog.=) models
      AND a.attname OPERATOR(pg_catalog.=) 'trained_at' AND a.attnum OPERATOR(pg_catalog.>) 0
      AND NOT a.attisdropped;
    BEGIN
        EXECUTE pg_catalog.format(
            'INSERT INTO %1$s AS m (name, model%2$s) VALUES ($1, $2%3$s) '
            'ON CONFLICT (name) DO UPDATE SET model = excluded.model%4$s',
            models,
            CASE WHEN sets_trained_at THEN ', trained_at' ELSE '' END,
            CASE WHEN sets_trained_at THEN ', $3' ELSE '' END,
            CASE WHEN sets_trained_at THEN ', trained_at = excluded.trained_at' ELSE '' END)
            USING name, new_model, pg_catalog.now();
    EXCEPTION
        WHEN invalid_column_reference THEN
            RAISE EXCEPTION 'table % has no unique index on its column name', models
                USING ERRCODE = 'invalid_column_reference',
                      HINT = 'A models table needs columns name text UNIQUE and model bytea NOT NULL.';
    END;

    RAISE NOTICE '%', pg_catalog.concat_ws('; ',
        pg_catalog.format('%s model %s%s trained on %s interactions in %s s',
                          description OPERATOR(pg_catalog.->>) 'algorithm',
                          pg_catalog.quote_literal(name),
                          CASE WHEN new_version IS NULL THEN ''
                               ELSE pg_catalog.format(' version %s', new_version) END,
                          coalesce(description OPERATOR(pg_catalog.->>) 'interactions', '?'),
                          info OPERATOR(pg_catalog.->>) 'seconds'),
        CASE WHEN metrics IS NOT NULL THEN
        pg_catalog.format('held out: %s users, hit_rate@%s %s, ndcg@%s %s',
                          metrics OPERATOR(pg_catalog.->>) 'users',
                          k, pg_catalog.round((metrics OPERATOR(pg_catalog.->>) 'hit_rate')::pg_catalog.numeric, 4),
                          k, pg_catalog.round((metrics OPERATOR(pg_catalog.->>) 'ndcg')::pg_catalog.numeric, 4))
        END,
        CASE WHEN current_metrics IS NOT NULL THEN
        pg_catalog.format('swapped in: %s@%s %s against %s for the model it replaces',
                          metric, k,
                          pg_catalog.round((metrics OPERATOR(pg_catalog.->>) metric)::pg_catalog.numeric, 4),
                          pg_catalog.round((current_metrics OPERATOR(pg_catalog.->>) metric)::pg_catalog.numeric, 4))
        END);
END
$body$;

COMMENT ON PROCEDURE recsys.retrain(regclass, text, text, text, regclass, int, int, bool, text, float8) IS
'trains a model by running training_query (one row, one model), stores it under name in the models table (upsert on name); with holdout_query ((user_id, item_id) pairs) records its ranking metrics, and with only_if_better swaps it in only if its metric is at least the current model''s minus tolerance; with a history table (name, version, model, trained_at, info) keeps every version, the last keep of them';

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
