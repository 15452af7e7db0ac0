-- recsys 0.3.0 -> 0.4.0
\echo Use "ALTER EXTENSION recsys UPDATE TO '0.4.0'" to load this file. \quit

-- The schema named in the control file is found or created by CREATE
-- EXTENSION; found, it may belong to a role that could then add overloads
-- of these functions for every caller.  Refuse a schema recsys whose owner
-- is neither the extension's owner nor a superuser (this script ends every
-- install and update, so the whole command is undone).
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

-- Costs, in units of cpu_operator_cost (one built-in operator), from
-- measurements: predict is a dot product of the factors after two id
-- lookups (about twenty operators); recommend, similar_items and the fold-in
-- score the whole catalogue.  With a cost above ten operators the planner
-- evaluates an expression only for the rows that survive a LIMIT, and it
-- tests cheaper conditions of a WHERE clause first.
ALTER FUNCTION recsys.predict(bytea, bigint, bigint) COST 20;
ALTER FUNCTION recsys.predict(bytea, real[]) COST 100;
ALTER FUNCTION recsys.recommend(bytea, bigint, int, bool) COST 10000;
ALTER FUNCTION recsys.recommend(bytea, bigint[], real[], int) COST 10000;
ALTER FUNCTION recsys.similar_items(bytea, bigint, int) COST 10000;
ALTER FUNCTION recsys.explain(bytea, bigint, bigint, int) COST 1000;
ALTER FUNCTION recsys.user_vector(bytea, bigint) COST 20;
ALTER FUNCTION recsys.item_vector(bytea, bigint) COST 20;
ALTER FUNCTION recsys.model_info(bytea) COST 100;

-- Many users' top k in one call: factor models score a block of users with
-- one matrix product (precomputing lists, evaluating).
CREATE FUNCTION recsys.recommend_batch(model bytea, user_ids bigint[], k int DEFAULT 10,
                                       exclude_seen bool DEFAULT true)
RETURNS TABLE (user_id bigint, item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend_batch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 1000;

COMMENT ON FUNCTION recsys.recommend_batch(bytea, bigint[], int, bool) IS
'the k best items for each user of user_ids, in their order, each user''s best first: the rows recommend gives for each, scored many users at a time';

-- The row estimate of the list functions follows a constant k.
CREATE FUNCTION recsys._rows_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'recsys_rows_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION recsys._rows_support(internal) IS
'planner support of recommend, similar_items and explain: estimates their rows from a constant k';

ALTER FUNCTION recsys.recommend(bytea, bigint, int, bool) SUPPORT recsys._rows_support;
ALTER FUNCTION recsys.recommend(bytea, bigint[], real[], int) SUPPORT recsys._rows_support;
ALTER FUNCTION recsys.similar_items(bytea, bigint, int) SUPPORT recsys._rows_support;
ALTER FUNCTION recsys.explain(bytea, bigint, bigint, int) SUPPORT recsys._rows_support;

-- A model's ranking metrics on held-out pairs.  Everything is written with
-- its schema: the caller's search_path decides nothing here.
CREATE FUNCTION recsys.evaluate(model bytea, user_ids bigint[], item_ids bigint[],
                                k int DEFAULT 10)
RETURNS TABLE (users bigint, hit_rate float8, precision_at_k float8,
               recall_at_k float8, ndcg float8, average_precision float8)
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
    WITH held_out AS (
        SELECT p.user_id, pg_catalog.array_agg(DISTINCT p.item_id) AS relevant
        FROM ROWS FROM (pg_catalog.unnest(user_ids), pg_catalog.unnest(item_ids)) AS p(user_id, item_id)
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
           pg_catalog.avg(recsys.average_precision(r.top, h.relevant, k))
    FROM held_out AS h
    LEFT JOIN lists AS l ON l.user_id OPERATOR(pg_catalog.=) h.user_id
    CROSS JOIN LATERAL (SELECT coalesce(l.top, '{}') AS top) AS r;
END
$body$;

COMMENT ON FUNCTION recsys.evaluate(bytea, bigint[], bigint[], int) IS
'ranking metrics of the model on held-out (user_id, item_id) pairs: each user''s top k (seen items left out) against that user''s held-out items, averaged over users; a user the model does not know is scored on the list recommend gives such a user';

-- Retrains a model from a query, stores it under its name and, with a
-- history table, keeps every version with what it was trained on and how it
-- did on held-out data.  Table names arrive as regclass and the name and the
-- model as parameters, so nothing the caller passes is spliced into SQL
-- except the two queries, which are the caller's own SQL, run with the
-- caller's privileges.
CREATE PROCEDURE recsys.retrain(models regclass, name text, training_query text,
                                holdout_query text DEFAULT NULL,
                                history regclass DEFAULT NULL,
                                keep int DEFAULT NULL, k int DEFAULT 10)
LANGUAGE plpgsql
AS $body$
DECLARE
    started pg_catalog.timestamptz := pg_catalog.clock_timestamp();
    new_model pg_catalog.bytea;
    description pg_catalog.jsonb;
    held_out_users pg_catalog.int8[];
    held_out_items pg_catalog.int8[];
    metrics pg_catalog.jsonb;
    info pg_catalog.jsonb;
    new_version pg_catalog.int4;
    sets_trained_at pg_catalog.bool;
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
            USING ERRCODE = 'null_value_not_allowed';
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
        metrics := metrics OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('k', k);
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
        'holdout', metrics));

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
                      HINT = 'A models table needs columns name text UNIQUE and model bytea.';
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
        END);
END
$body$;

COMMENT ON PROCEDURE recsys.retrain(regclass, text, text, text, regclass, int, int) IS
'trains a model by running training_query (one row, one model), stores it under name in the models table (upsert on name); with holdout_query ((user_id, item_id) pairs) records its ranking metrics, with a history table (name, version, model, trained_at, info) keeps every version, the last keep of them';
