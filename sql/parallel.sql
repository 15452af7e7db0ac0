-- The training aggregate runs in parallel workers: each collects its share of
-- the rows (Partial Aggregate), the leader combines them.  The parallel model
-- is the serial one.
CREATE TABLE ratings_big AS
SELECT u::bigint AS user_id, i::bigint AS item_id,
       (3 + sin(u * 0.37) * cos(i * 0.11) + (u + 2 * i) % 3)::real AS rating
FROM generate_series(1, 2000) u, generate_series(1, 100) i
WHERE (u * 7 + i * 13) % 4 = 0;
ANALYZE ratings_big;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

CREATE FUNCTION pg_temp.explain_analyze() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    FOR line IN EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
        SELECT recsys.train_als(user_id, item_id, rating, '{"factors": 4, "iterations": 3}') FROM ratings_big
    LOOP
        RETURN NEXT line;
    END LOOP;
END $$;

EXPLAIN (COSTS OFF)
SELECT recsys.train_als(user_id, item_id, rating, '{"factors": 4, "iterations": 3}') FROM ratings_big;

-- Workers really run (row counts are per worker: they vary, so not shown).
SELECT line FROM (
    SELECT regexp_replace(line, ' \(actual.*$', '') AS line
    FROM (VALUES (1)) v, LATERAL (SELECT * FROM pg_temp.explain_analyze()) e(line)) s
WHERE line ~ 'Workers|Aggregate|Gather';

CREATE TABLE parallel_models AS
SELECT 'parallel' AS name,
       recsys.train_als(user_id, item_id, rating, '{"factors": 4, "iterations": 3}') AS model
FROM ratings_big;

SET max_parallel_workers_per_gather = 0;
INSERT INTO parallel_models
SELECT 'serial', recsys.train_als(user_id, item_id, rating, '{"factors": 4, "iterations": 3}')
FROM ratings_big;
RESET max_parallel_workers_per_gather;

SELECT p.info -> 'interactions' = s.info -> 'interactions' AS same_interactions,
       p.info -> 'users' = s.info -> 'users' AS same_users,
       p.info -> 'loss' = s.info -> 'loss' AS same_loss
FROM (SELECT recsys.model_info(model) AS info FROM parallel_models WHERE name = 'parallel') p,
     (SELECT recsys.model_info(model) AS info FROM parallel_models WHERE name = 'serial') s;

SELECT max(abs(recsys.predict(p.model, r.user_id, r.item_id)
               - recsys.predict(s.model, r.user_id, r.item_id))) < 1e-9 AS same_scores
FROM ratings_big r, parallel_models p, parallel_models s
WHERE p.name = 'parallel' AND s.name = 'serial' AND r.user_id % 10 = 0;

-- The value-less form (train_bpr) collects in parallel the same way.
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT recsys.train_bpr(user_id, item_id, '{"epochs": 1}') FROM ratings_big;
CREATE TABLE parallel_bpr AS
SELECT recsys.model_info(recsys.train_bpr(user_id, item_id, '{"epochs": 1}')) AS info
FROM ratings_big;
SELECT info -> 'interactions' AS interactions, info -> 'users' AS users,
       info -> 'items' AS items, info -> 'options' -> 'epochs' AS epochs
FROM parallel_bpr;
RESET max_parallel_workers_per_gather;

RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
