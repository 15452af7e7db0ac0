-- Ranking metrics: hand-computed values, the rules for repeats, short lists
-- and empty sets, every error, and averaging over users.

-- The five are immutable, strict, parallel safe and documented.
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments,
       p.prorettype::regtype AS returns, p.provolatile, p.proisstrict, p.proparallel,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS has_comment
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'recsys'
  AND p.proname IN ('ndcg', 'precision_at_k', 'recall_at_k', 'hit_rate', 'average_precision')
ORDER BY 1;

-- One relevant item, recommended second of three: DCG = 1/log2(3), IDCG = 1.
SELECT abs(recsys.ndcg(ARRAY[5,2,7], ARRAY[2], 3) - 1 / log(2, 3)::float8) < 1e-15 AS ndcg_is_1_over_log2_3,
       recsys.precision_at_k(ARRAY[5,2,7], ARRAY[2], 3) = 1 / 3::float8 AS precision_is_1_3,
       recsys.recall_at_k(ARRAY[5,2,7], ARRAY[2], 3) AS recall,
       recsys.hit_rate(ARRAY[5,2,7], ARRAY[2], 3) AS hit_rate,
       recsys.average_precision(ARRAY[5,2,7], ARRAY[2], 3) AS ap;

-- Each case with its expected values worked out by hand (g(i) = 1/log2(i+1):
-- g(1) = 1, g(2) = 0.630930, g(3) = 0.5, g(4) = 0.430677, g(5) = 0.386853).
CREATE TEMP TABLE cases (name text, recommended bigint[], relevant bigint[], k int,
                         ndcg float8, prec float8, recall float8, hit float8, ap float8);
INSERT INTO cases VALUES
    -- hits at 1, 3, 5 of four relevant: DCG = g(1)+g(3)+g(5), IDCG = g(1)+..+g(4),
    -- AP = (1/1 + 2/3 + 3/5) / 4
    ('hits at 1, 3, 5',      '{1,2,3,4,5}', '{1,3,5,7}', 5,
     (1 + 0.5 + 0.386853) / (1 + 0.630930 + 0.5 + 0.430677), 3/5., 3/4., 1, (1 + 2/3. + 3/5.) / 4),
    -- a perfect ranking is exactly 1, whatever order relevant is given in
    ('perfect',              '{1,2,3}', '{3,1,2}', 3, 1, 1, 1, 1, 1),
    -- k = 2 of 3 relevant: still ideal for two positions, recall 2/3
    ('perfect, k = 2',       '{1,2,3}', '{3,1,2}', 2, 1, 1, 2/3., 1, 1),
    -- a repeated hit counts once, at its first position; the repeat keeps its place
    ('repeated hit',         '{2,2,5}', '{2,5}', 3,
     (1 + 0.5) / (1 + 0.630930), 2/3., 1, 1, (1 + 2/3.) / 2),
    -- ... so with k = 2 the repeat pushed 5 out
    ('repeated hit, k = 2',  '{2,2,5}', '{2,5}', 2,
     1 / (1 + 0.630930), 1/2., 1/2., 1, 1/2.),
    -- a repeated miss is one more miss
    ('repeated miss',        '{9,9,4}', '{4}', 3, 0.5, 1/3., 1, 1, 1/3.),
    -- duplicates in relevant count once: two relevant items, 3 and 4
    ('duplicate relevant',   '{1,2,3,4}', '{4,3,4,3,3}', 4,
     (0.5 + 0.430677) / (1 + 0.630930), 2/4., 1, 1, (1/3. + 2/4.) / 2),
    -- one item recommended, k = 5: the four missing positions are misses
    ('short list',           '{4}', '{4,9}', 5, 1 / (1 + 0.630930), 1/5., 1/2., 1, 1/2.),
    -- k beyond both lists: IDCG stops at |relevant|, precision divides by k
    ('k beyond both',        '{1,2}', '{2}', 10, 0.630930, 1/10., 1, 1, 1/2.),
    -- cut before the only hit
    ('cut before the hit',   '{5,2,7}', '{2}', 1, 0, 0, 0, 0, 0),
    ('no hits',              '{1,2,3}', '{9}', 3, 0, 0, 0, 0, 0),
    ('nothing recommended',  '{}', '{9}', 3, 0, 0, 0, 0, 0),
    -- negative and extreme ids are ids like any other
    ('extreme ids',          '{-9223372036854775808,-1,0,9223372036854775807}',
                             '{9223372036854775807,0,-9223372036854775808}', 4,
     (1 + 0.5 + 0.430677) / (1 + 0.630930 + 0.5), 3/4., 1, 1, (1 + 2/3. + 3/4.) / 3);

-- Every metric agrees with the hand-computed value (to the six decimals of g above).
SELECT name,
       round(recsys.ndcg(recommended, relevant, k)::numeric, 6) AS ndcg,
       round(recsys.precision_at_k(recommended, relevant, k)::numeric, 6) AS prec,
       round(recsys.recall_at_k(recommended, relevant, k)::numeric, 6) AS recall,
       recsys.hit_rate(recommended, relevant, k) AS hit,
       round(recsys.average_precision(recommended, relevant, k)::numeric, 6) AS ap,
       abs(recsys.ndcg(recommended, relevant, k) - ndcg) < 1e-6
       AND abs(recsys.precision_at_k(recommended, relevant, k) - prec) < 1e-12
       AND abs(recsys.recall_at_k(recommended, relevant, k) - recall) < 1e-12
       AND recsys.hit_rate(recommended, relevant, k) = hit
       AND abs(recsys.average_precision(recommended, relevant, k) - ap) < 1e-12 AS as_expected
FROM cases;

-- A perfect ranking gives exactly 1, not nearly.
SELECT recsys.ndcg('{7,3,5,1}', '{1,3,5,7}', 4) = 1 AS ndcg_exactly_1,
       recsys.average_precision('{7,3,5,1}', '{1,3,5,7}', 4) = 1 AS ap_exactly_1;

-- Longer lists: every second of 1..1000 relevant (given backwards, twice).
-- Each hit is at position 2j with j hits so far, so AP = 1/2 exactly; NDCG is
-- the sum of g(2j) over j = 1..500 divided by the sum of g(i) over i = 1..500.
SELECT recsys.precision_at_k(rec, rel, 1000) AS prec,
       recsys.recall_at_k(rec, rel, 1000) AS recall,
       recsys.average_precision(rec, rel, 1000) AS ap,
       round(recsys.ndcg(rec, rel, 1000)::numeric, 6) AS ndcg,
       recsys.recall_at_k(rec, rel, 10) AS recall_at_10
FROM (SELECT array_agg(i ORDER BY i) AS rec FROM generate_series(1, 1000) i) r,
     (SELECT array_agg(i ORDER BY i DESC) || array_agg(i) AS rel
      FROM generate_series(2, 1000, 2) i) s;

-- The largest k: only the items there are can count.
SELECT recsys.recall_at_k('{1,2}', '{2}', 2147483647) AS recall,
       recsys.ndcg('{1,2}', '{2}', 2147483647) = recsys.ndcg('{1,2}', '{2}', 2) AS ndcg_same,
       recsys.precision_at_k('{1,2}', '{2}', 2147483647) > 0 AS prec_positive;

-- Integer arrays and arrays with other lower bounds are accepted.
SELECT recsys.hit_rate(ARRAY[1,2,3]::int[], ARRAY[3]::int[], 3) AS from_int,
       recsys.ndcg('[5:7]={1,2,3}'::bigint[], '[0:0]={3}'::bigint[], 3) AS lower_bounds;

-- No relevant items: every metric is undefined (NULL), whatever was recommended.
SELECT recsys.ndcg('{1,2}', '{}', 3) IS NULL AS ndcg,
       recsys.precision_at_k('{1,2}', '{}', 3) IS NULL AS prec,
       recsys.recall_at_k('{1,2}', '{}', 3) IS NULL AS recall,
       recsys.hit_rate('{1,2}', '{}', 3) IS NULL AS hit,
       recsys.average_precision('{}', '{}', 3) IS NULL AS ap;

-- STRICT: a NULL argument gives NULL.
SELECT recsys.ndcg(NULL, '{1}', 3) IS NULL AS null_recommended,
       recsys.precision_at_k('{1}', NULL, 3) IS NULL AS null_relevant,
       recsys.recall_at_k('{1}', '{1}', NULL) IS NULL AS null_k,
       recsys.hit_rate(NULL, NULL, NULL) IS NULL AS all_null,
       recsys.average_precision(NULL::bigint[], '{1}', 3) IS NULL AS null_ap;

-- Errors.
SELECT recsys.ndcg('{1,2}', '{1}', 0);
SELECT recsys.precision_at_k('{1,2}', '{1}', -1);
SELECT recsys.recall_at_k('{1,2}', '{}', 0);              -- k is checked before NULL for an empty relevant
SELECT recsys.hit_rate('{1,NULL,3}', '{1}', 3);
SELECT recsys.average_precision('{1,2}', '{2,NULL}', 3);
SELECT recsys.ndcg('{NULL}', '{}', 3);                     -- a NULL element is an error even then
SELECT recsys.ndcg('{{1,2},{3,4}}', '{1}', 3);
SELECT recsys.recall_at_k('{1,2}', '{{1},{2}}', 3);

-- Evaluating a ranking over users: the recommendations (best first) and the
-- held-out items of each user, one row per user, averaged.  User 4 has no
-- held-out items: every metric is NULL for that user and avg() skips it.
CREATE TEMP TABLE scored (user_id bigint, item_id bigint, score float8);
INSERT INTO scored VALUES
    (1, 10, 0.9), (1, 11, 0.8), (1, 12, 0.7), (1, 13, 0.1),
    (2, 20, 0.5), (2, 21, 0.6), (2, 22, 0.4),
    (3, 30, 0.3), (3, 31, 0.2), (3, 32, 0.1),
    (4, 40, 0.9);
CREATE TEMP TABLE held_out (user_id bigint, item_id bigint);
INSERT INTO held_out VALUES (1, 10), (1, 12), (2, 20), (2, 29), (3, 39), (5, 50);

WITH ranked AS (
    SELECT user_id, array_agg(item_id ORDER BY score DESC, item_id) AS recommended
    FROM scored GROUP BY user_id
), truth AS (
    SELECT u.user_id, coalesce(array_agg(h.item_id ORDER BY h.item_id)
                               FILTER (WHERE h.item_id IS NOT NULL), '{}') AS relevant
    FROM (SELECT DISTINCT user_id FROM scored) u LEFT JOIN held_out h USING (user_id)
    GROUP BY u.user_id
)
SELECT user_id, recommended, relevant,
       round(recsys.ndcg(recommended, relevant, 2)::numeric, 6) AS ndcg,
       recsys.precision_at_k(recommended, relevant, 2) AS prec,
       recsys.recall_at_k(recommended, relevant, 2) AS recall,
       recsys.hit_rate(recommended, relevant, 2) AS hit,
       recsys.average_precision(recommended, relevant, 2) AS ap
FROM ranked JOIN truth USING (user_id)
ORDER BY user_id;

-- Per user at k = 2 (g(2) = 0.630930):
--   user 1: {10,11} against {10,12}: ndcg 1/(1+g(2)) = 0.613147, prec 1/2, recall 1/2, hit 1, ap 1/2
--   user 2: {21,20} against {20,29}: ndcg g(2)/(1+g(2)) = 0.386853, prec 1/2, recall 1/2, hit 1, ap 1/4
--   user 3: no hits: 0 everywhere
--   user 4: NULL everywhere
-- Means over users 1-3: ndcg 1/3, prec 1/3, recall 1/3, hit rate 2/3, ap 1/4.
WITH ranked AS (
    SELECT user_id, array_agg(item_id ORDER BY score DESC, item_id) AS recommended
    FROM scored GROUP BY user_id
), truth AS (
    SELECT u.user_id, coalesce(array_agg(h.item_id ORDER BY h.item_id)
                               FILTER (WHERE h.item_id IS NOT NULL), '{}') AS relevant
    FROM (SELECT DISTINCT user_id FROM scored) u LEFT JOIN held_out h USING (user_id)
    GROUP BY u.user_id
)
SELECT count(*) AS users,
       count(recsys.ndcg(recommended, relevant, 2)) AS evaluated,
       round(avg(recsys.ndcg(recommended, relevant, 2))::numeric, 6) AS ndcg,
       round(avg(recsys.precision_at_k(recommended, relevant, 2))::numeric, 6) AS prec,
       round(avg(recsys.recall_at_k(recommended, relevant, 2))::numeric, 6) AS recall,
       round(avg(recsys.hit_rate(recommended, relevant, 2))::numeric, 6) AS hit_rate,
       round(avg(recsys.average_precision(recommended, relevant, 2))::numeric, 6) AS map
FROM ranked JOIN truth USING (user_id);

-- The same metrics straight from VALUES rows.
SELECT round(avg(recsys.ndcg(rec, rel, 3))::numeric, 6) AS ndcg,
       round(avg(recsys.precision_at_k(rec, rel, 3))::numeric, 6) AS prec,
       round(avg(recsys.recall_at_k(rec, rel, 3))::numeric, 6) AS recall,
       round(avg(recsys.hit_rate(rec, rel, 3))::numeric, 6) AS hit_rate,
       round(avg(recsys.average_precision(rec, rel, 3))::numeric, 6) AS map
FROM (VALUES ('{5,2,7}'::bigint[], '{2}'::bigint[]),   -- 0.630930, 1/3, 1, 1, 1/2
             ('{1,2,3}', '{1,2,3}'),                   -- 1, 1, 1, 1, 1
             ('{4,5,6}', '{9}'),                       -- 0, 0, 0, 0, 0
             ('{4,5,6}', '{}')) AS t (rec, rel);       -- NULL: skipped
-- Expected means over three rows: ndcg (0.630930 + 1) / 3 = 0.543643,
-- prec (1/3 + 1) / 3 = 0.444444, recall 2/3, hit rate 2/3, map (1/2 + 1) / 3 = 1/2.

DROP TABLE cases, scored, held_out;
