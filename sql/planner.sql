-- The scoring functions' costs tell the planner to call them no more than
-- needed: an expensive output column is computed only for the rows a LIMIT
-- keeps, and cheaper conditions are tested first.  Counted with
-- track_functions, per transaction.  Uses the model of serving.sql.
CREATE TABLE catalogue AS
SELECT i::bigint AS item_id, 10 * i AS stock FROM generate_series(1, 300) i;
ANALYZE catalogue;
SET track_functions = 'all';
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN plan;
END $$;
-- Calls of predict counted so far.  A transaction's count can still hold
-- calls of the previous one (statistics are flushed at most once a second),
-- so each test counts the difference around its query.
CREATE FUNCTION pg_temp.predict_calls() RETURNS bigint
LANGUAGE sql AS $$
    SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions
    WHERE funcid = 'recsys.predict(bytea, bigint, bigint)'::regprocedure
$$;
SET max_parallel_workers_per_gather = 0;

-- Titles in order, scores shown: predict runs for the ten rows shown, not
-- for all 300.
BEGIN;
SELECT pg_temp.predict_calls() AS calls_before \gset
SELECT count(score) AS rows_shown FROM (
    SELECT c.item_id, recsys.predict(m.model, 7, c.item_id) AS score
    FROM catalogue c, models m WHERE m.name = 'planted'
    ORDER BY c.item_id LIMIT 10) s;
SELECT pg_temp.predict_calls() - :calls_before AS calls;
COMMIT;

-- Only items in stock, written with the score test first: the stock test
-- (two operators) runs first, so predict sees the 100 items in stock only.
BEGIN;
SELECT pg_temp.predict_calls() AS calls_before \gset
SELECT count(*) AS in_stock_and_liked
FROM catalogue c
WHERE recsys.predict((SELECT model FROM models WHERE name = 'planted'), 7, c.item_id) > 0
  AND c.stock % 3 = 0;
SELECT pg_temp.predict_calls() - :calls_before AS calls;
COMMIT;

-- The plans that do it.
EXPLAIN (COSTS OFF, VERBOSE)
SELECT c.item_id, recsys.predict(m.model, 7, c.item_id) AS score
FROM catalogue c, models m WHERE m.name = 'planted'
ORDER BY c.item_id LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT c.item_id FROM catalogue c
WHERE recsys.predict((SELECT model FROM models WHERE name = 'planted'), 7, c.item_id) > 0
  AND c.stock % 3 = 0;

-- The row estimates of the list functions follow a constant k (explain:
-- k and the row no item explains); a parameter leaves the declared ROWS.
PREPARE top_k(int) AS SELECT * FROM recsys.recommend('\x', 1, $1);
SET plan_cache_mode = force_generic_plan;
SELECT p.f, (pg_temp.plan_of(p.q) -> 0 -> 'Plan' ->> 'Plan Rows')::int AS estimated_rows
FROM (VALUES ('recommend, k 37', $$SELECT * FROM recsys.recommend('\x', 1, 37)$$),
             ('recommend, default k', $$SELECT * FROM recsys.recommend('\x', 1)$$),
             ('recommend, k a parameter', 'EXECUTE top_k(500)'),
             ('recommend, history, k 3', $$SELECT * FROM recsys.recommend('\x', '{1}'::bigint[], '{1}'::real[], 3)$$),
             ('similar_items, k 250', $$SELECT * FROM recsys.similar_items('\x', 1, 250)$$),
             ('explain, k 8', $$SELECT * FROM recsys.explain('\x', 1, 2, 8)$$),
             ('explain, default k', $$SELECT * FROM recsys.explain('\x', 1, 2)$$)) AS p(f, q)
ORDER BY p.f;
RESET plan_cache_mode;
DEALLOCATE top_k;

RESET track_functions;
RESET max_parallel_workers_per_gather;
