-- retrain: a model trained from a query replaces the one stored under its
-- name, every version is kept in a history table with what it learned from
-- and how it did on held-out pairs, and nothing changes when it fails.
-- Uses eval_train and eval_test of evaluate.sql.  The NOTICE it prints
-- carries timings, so it is silenced here.
SET client_min_messages = warning;

-- Names that need quoting, to show they are quoted.
CREATE SCHEMA "Serving";
CREATE TABLE "Serving"."Models" (name text PRIMARY KEY, model bytea NOT NULL,
                                 trained_at timestamptz);
CREATE TABLE "Serving".history (name text, version int, model bytea,
                                trained_at timestamptz, info jsonb,
                                PRIMARY KEY (name, version));

CALL recsys.retrain('"Serving"."Models"', 'it''s knn',
                    'SELECT recsys.train_knn(user_id, item_id, 1) FROM eval_train',
                    history => '"Serving".history',
                    holdout_query => 'SELECT user_id, item_id FROM eval_test;');
CALL recsys.retrain('"Serving"."Models"', 'it''s knn',
                    $$SELECT recsys.train_knn(user_id, item_id, 1, '{"neighbors": 20}') FROM eval_train$$,
                    history => '"Serving".history',
                    holdout_query => 'SELECT user_id, item_id FROM eval_test');
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train',
                    history => '"Serving".history');

-- The stored model is the last version, trained_at set; the history has
-- every version with its description and, where asked, its metrics, equal
-- to evaluate's.
SELECT m.name, h.version, m.model = h.model AS served,
       m.trained_at = h.trained_at AS trained_at_set,
       h.info ->> 'algorithm' AS algorithm,
       (h.info ->> 'interactions')::bigint = (SELECT count(*) FROM eval_train) AS interactions,
       h.info ->> 'model_id' = recsys.model_info(h.model) ->> 'model_id' AS model_id,
       h.info ? 'training_seconds' AND h.info ? 'seconds' AS timed,
       h.info -> 'holdout' ->> 'k' AS k,
       abs((h.info -> 'holdout' ->> 'ndcg')::float8 - e.ndcg) < 1e-12 AS ndcg_recorded
FROM "Serving"."Models" m
JOIN "Serving".history h ON h.name = m.name
                        AND h.version = (SELECT max(version) FROM "Serving".history WHERE name = m.name)
LEFT JOIN LATERAL recsys.evaluate(h.model, (SELECT array_agg(user_id) FROM eval_test),
                                  (SELECT array_agg(item_id) FROM eval_test)) e
       ON h.info ? 'holdout'
ORDER BY m.name;

SELECT name, version, recsys.model_info(model) -> 'options' -> 'neighbors' AS neighbors
FROM "Serving".history ORDER BY name, version;

-- keep: only the newest versions stay.
CALL recsys.retrain('"Serving"."Models"', 'it''s knn',
                    'SELECT recsys.train_knn(user_id, item_id, 1) FROM eval_train',
                    history => '"Serving".history', keep => 2);
SELECT name, version FROM "Serving".history ORDER BY name, version;

-- Rolling back to an earlier version is one UPDATE from the history.
UPDATE "Serving"."Models" m SET model = h.model, trained_at = h.trained_at
FROM "Serving".history h
WHERE h.name = m.name AND m.name = 'it''s knn' AND h.version = 2;
SELECT recsys.model_info(model) -> 'options' -> 'neighbors' AS neighbors
FROM "Serving"."Models" WHERE name = 'it''s knn';

-- Without a history or a trained_at column: only the swap.
CREATE TABLE plain_models (name text UNIQUE, model bytea);
CALL recsys.retrain('plain_models', 'bpr',
                    $$SELECT recsys.train_bpr(user_id, item_id, '{"epochs": 2}') FROM eval_train$$);
CALL recsys.retrain('plain_models', 'bpr',
                    $$SELECT recsys.train_bpr(user_id, item_id, '{"epochs": 3}') FROM eval_train$$);
SELECT name, recsys.model_info(model) -> 'options' -> 'epochs' AS epochs FROM plain_models;

-- It runs in the caller's transaction: rolled back, nothing happened.
BEGIN;
CALL recsys.retrain('plain_models', 'bpr',
                    $$SELECT recsys.train_bpr(user_id, item_id, '{"epochs": 1}') FROM eval_train$$);
ROLLBACK;
SELECT recsys.model_info(model) -> 'options' -> 'epochs' AS epochs FROM plain_models;

-- Failures leave the stored model and the history as they were.
CALL recsys.retrain('"Serving"."Models"', 'ease', 'SELECT NULL::bytea WHERE false',
                    history => '"Serving".history');
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train GROUP BY user_id % 2',
                    history => '"Serving".history');
CALL recsys.retrain('"Serving"."Models"', 'ease', 'SELECT NULL::bytea',
                    history => '"Serving".history');
CALL recsys.retrain('"Serving"."Models"', 'ease', $$SELECT '\x0102'::bytea$$,
                    history => '"Serving".history');
CALL recsys.retrain('"Serving"."Models"', 'ease', 'SELECT recsys.train_ease(user_id, item_id) FROM no_such_table',
                    history => '"Serving".history');
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train',
                    history => '"Serving".history', keep => 0);
CALL recsys.retrain('plain_models', 'bpr',
                    'SELECT recsys.train_bpr(user_id, item_id) FROM eval_train', keep => 1);
CALL recsys.retrain('"Serving"."Models"', NULL,
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train');
CALL recsys.retrain('no_such_table', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train');
-- a table without a unique name to swap on
CREATE TABLE loose_models (name text, model bytea);
CALL recsys.retrain('loose_models', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train');
SELECT count(*) AS loose FROM loose_models;

SELECT name, count(*) AS versions, max(version) AS latest
FROM "Serving".history GROUP BY name ORDER BY name;
SELECT m.name, m.model = h.model AS still_latest
FROM "Serving"."Models" m
JOIN "Serving".history h ON h.name = m.name AND h.version = 1
WHERE m.name = 'ease';


-- only_if_better: a model that does worse on the held-out rows than the
-- stored one is recorded but not swapped in, with a WARNING; within the
-- tolerance, or better, it is.
\set VERBOSITY terse
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    $$SELECT recsys.train_bpr(user_id, item_id, '{"epochs": 1, "threads": 1}') FROM eval_train$$,
                    holdout_query => 'SELECT user_id, item_id FROM eval_test',
                    history => '"Serving".history', only_if_better => true);
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    $$SELECT recsys.train_bpr(user_id, item_id, '{"epochs": 1, "threads": 1}') FROM eval_train$$,
                    holdout_query => 'SELECT user_id, item_id FROM eval_test',
                    history => '"Serving".history', only_if_better => true, tolerance => 1);
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train',
                    holdout_query => 'SELECT user_id, item_id FROM eval_test',
                    history => '"Serving".history', only_if_better => true, metric => 'hit_rate');
\set VERBOSITY default
SELECT h.version, h.info ->> 'algorithm' AS algorithm, h.info -> 'swapped' AS swapped,
       (h.info -> 'holdout' ->> 'ndcg')::float8 < (h.info -> 'replaced_holdout' ->> 'ndcg')::float8 AS worse,
       m.model = h.model AS served
FROM "Serving".history h, "Serving"."Models" m
WHERE h.name = 'ease' AND m.name = 'ease' AND h.version > 1
ORDER BY h.version;

-- Held-out rows the new model knows nothing of, a comparison without
-- held-out rows, an unknown metric, and tables of the wrong shape are
-- refused before anything is stored.
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train',
                    holdout_query => 'SELECT user_id + 1000000, item_id FROM eval_test');
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train',
                    holdout_query => 'SELECT user_id, item_id + 1000000 FROM eval_test');
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train', only_if_better => true);
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train',
                    holdout_query => 'SELECT user_id, item_id FROM eval_test', metric => 'rmse');
CREATE TABLE odd_history (name text, model bytea);
CALL recsys.retrain('"Serving"."Models"', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train', history => 'odd_history');
CREATE TABLE odd_models (id int, blob bytea);
CALL recsys.retrain('odd_models', 'ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM eval_train');
SELECT count(*) AS versions FROM "Serving".history WHERE name = 'ease';

RESET client_min_messages;
