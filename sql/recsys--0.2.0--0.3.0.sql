-- recsys 0.2.0 -> 0.3.0
\echo Use "ALTER EXTENSION recsys UPDATE TO '0.3.0'" to load this file. \quit

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

COMMENT ON FUNCTION recsys.predict(bytea, bigint, bigint) IS
'the model''s estimate for a user and an item (a probability for ncf); for unknown ids a rating model (ALS, item-kNN on ratings) falls back to the global mean plus the known bias, a ranking model (implicit ALS, BPR, NCF, implicit item-kNN, EASE) returns NULL';
COMMENT ON FUNCTION recsys.recommend(bytea, bigint[], real[], int) IS
'the k best items for a user given by a history of items and values: folded in at query time by the model''s own solve for a user, or for item models (item-kNN, EASE) scored directly; the history''s items are left out';
COMMENT ON FUNCTION recsys.similar_items(bytea, bigint, int) IS
'the k items most similar to the item, without the item itself: by cosine of their factors, or an item model''s stored neighbours (item-kNN) or largest weights (EASE); not for ncf models';
COMMENT ON FUNCTION recsys.explain(bytea, bigint, bigint, int) IS
'the k items of the user''s training history that contribute most to predict(model, user_id, item_id), then a row with a NULL item_id for the part no item explains (biases); all contributions add up to the score; not for ncf models';
COMMENT ON FUNCTION recsys.user_vector(bytea, bigint) IS
'the user''s factors (embedding; the GMF embedding for ncf) as real[]; NULL for a user the model does not know';
COMMENT ON FUNCTION recsys.item_vector(bytea, bigint) IS
'the item''s factors (embedding; the GMF embedding for ncf) as real[]; NULL for an item the model does not know';

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
