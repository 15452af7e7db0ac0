-- recsys 0.4.0 -> 0.5.0
\echo Use "ALTER EXTENSION recsys UPDATE TO '0.5.0'" to load this file. \quit

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

COMMENT ON AGGREGATE recsys.train_als(bigint, bigint, real) IS
'trains a matrix-factorisation model by ALS: ratings ({"feedback": "explicit"}, the default) or implicit feedback ({"feedback": "implicit"}, confidence 1 + alpha * value with alpha 40 by default); returns the model as bytea';
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

-- evaluate also says how many held-out users and pairs the model does not
-- know: scored on fallbacks, they make a join mistake visible.
DROP FUNCTION recsys.evaluate(bytea, bigint[], bigint[], int);

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

-- retrain can keep the model it would replace when the new one does worse
-- on the held-out rows, and checks the shape of the tables it writes.
DROP PROCEDURE recsys.retrain(regclass, text, text, text, regclass, int, int);

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
