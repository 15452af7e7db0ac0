-- The sequence model: a user's next item from the order of their events.
-- Planted data: 300 items in a ring; each of 600 users starts somewhere and
-- moves to the next item of the ring (i -> i + 1 mod 300) with probability
-- 0.7, else to any item.  Order predicts the next item; which items a user
-- has seen, without their order, predicts it much worse.
CREATE TABLE sq_events AS
WITH RECURSIVE walk(user_id, at, item_id, length) AS (
    SELECT u::bigint, 0::bigint, (abs(hashint4(u)) % 300)::bigint, 15 + abs(hashint4(u * 7)) % 20
    FROM generate_series(1, 600) u
  UNION ALL
    SELECT user_id, at + 1,
           CASE WHEN abs(hashint8(user_id * 1000 + at)) % 100 < 70 THEN (item_id + 1) % 300
                ELSE abs(hashint8(user_id * 7919 + at)) % 300 END,
           length
    FROM walk WHERE at + 1 < length)
SELECT user_id, item_id, at FROM walk;
-- each user's last event is held out
CREATE TABLE sq_test AS
SELECT DISTINCT ON (user_id) user_id, item_id, at FROM sq_events ORDER BY user_id, at DESC;
CREATE TABLE sq_train AS
SELECT e.* FROM sq_events e JOIN sq_test t USING (user_id) WHERE e.at < t.at;
SELECT count(*) AS events, count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items
FROM sq_train;

CREATE TABLE sq_models AS
SELECT 'sequence' AS name,
       recsys.train_sequence(user_id, item_id, at, '{"factors": 32, "epochs": 100}') AS model
FROM sq_train
UNION ALL
SELECT 'implicit_als', recsys.train_als(user_id, item_id, 1, '{"feedback": "implicit"}')
FROM sq_train;

SELECT j->>'algorithm' AS algorithm, j->'users' AS users, j->'items' AS items,
       j->'factors' AS factors, j->'options'->'blocks' AS blocks, j->'options'->'heads' AS heads,
       j->'options'->'max_length' AS max_length, j->'iterations' AS epochs,
       (j->'training_memory_mb'->>0)::float8 > 0 AS memory_reported,
       (j->'loss'->>99)::float8 < (j->'loss'->>0)::float8 AS loss_fell
FROM sq_models, recsys.model_info(model) j WHERE name = 'sequence';

-- Without "epochs" the data chooses them: the last events of some users are
-- held out and scored every 5 epochs; given, "epochs" is what is trained,
-- unless "validation" is asked for too, when it is the most.
SELECT j->'options'->'validation' AS validation, j->'options'->'epochs' AS most_epochs,
       (j->>'iterations')::int % 5 = 0 AND (j->>'iterations')::int <= 20 AS chose_epochs,
       jsonb_array_length(j->'validation_ndcg') BETWEEN 1 AND 4 AS scores_listed
FROM (SELECT recsys.model_info(recsys.train_sequence(user_id, item_id, at,
             '{"factors": 16, "epochs": 20, "validation": true}')) AS j FROM sq_train) x;
SELECT j->'options'->'validation' AS validation, j->'validation_ndcg' AS scores
FROM sq_models, recsys.model_info(model) j WHERE name = 'sequence';

-- Each user's history, most recent first, as an application reads it.
CREATE TABLE sq_history AS
SELECT user_id, array_agg(item_id ORDER BY at DESC) AS history
FROM sq_train GROUP BY user_id;

-- Hit rate at 10 of the held-out next item: the sequence model from the
-- live history, implicit ALS from the user, and the most popular items.
CREATE TABLE sq_ranked AS
SELECT 'sequence' AS name, t.user_id, t.item_id,
       ARRAY(SELECT r.item_id FROM recsys.recommend(m.model, h.history, 10) r ORDER BY r.score DESC) AS top10
FROM sq_test t JOIN sq_history h USING (user_id), sq_models m WHERE m.name = 'sequence'
UNION ALL
SELECT 'implicit_als', t.user_id, t.item_id,
       ARRAY(SELECT r.item_id FROM recsys.recommend(m.model, t.user_id, 10) r ORDER BY r.score DESC)
FROM sq_test t, sq_models m WHERE m.name = 'implicit_als'
UNION ALL
SELECT 'most_popular', t.user_id, t.item_id,
       ARRAY(SELECT p.item_id FROM sq_train p
             WHERE p.item_id <> ALL (h.history)
             GROUP BY p.item_id ORDER BY count(*) DESC, p.item_id LIMIT 10)
FROM sq_test t JOIN sq_history h USING (user_id);
CREATE TABLE sq_scores AS
SELECT name, avg(recsys.hit_rate(top10, ARRAY[item_id], 10)) AS hr10 FROM sq_ranked GROUP BY name;
SELECT s.hr10 >= 0.6 AS sequence_hr10_at_least_0_6,
       s.hr10 >= a.hr10 + 0.15 AS far_above_implicit_als,
       s.hr10 >= p.hr10 + 0.3 AS far_above_popular
FROM sq_scores s, sq_scores a, sq_scores p
WHERE s.name = 'sequence' AND a.name = 'implicit_als' AND p.name = 'most_popular';

-- The order is what counts: after 10, 9, 8 (10 the most recent) comes 11;
-- the same items in the other order lead elsewhere.
SELECT (SELECT r.item_id FROM recsys.recommend(m.model, ARRAY[10, 9, 8]::bigint[], 1) r) AS after_8_9_10,
       (SELECT r.item_id FROM recsys.recommend(m.model, ARRAY[8, 9, 10]::bigint[], 1) r) <> 11 AS reversed_not_11
FROM sq_models m WHERE m.name = 'sequence';

-- A known user is their stored encoding: recommend(model, user_id) and
-- predict(model, user_id, item) give what the history gives, and the
-- history's items are never recommended.
SELECT count(*) AS users,
       count(*) FILTER (WHERE by_user = by_history) >= 0.95 * count(*) AS same_top10,
       count(*) FILTER (WHERE by_history && history) AS recommends_history
FROM (SELECT h.history,
             ARRAY(SELECT r.item_id FROM recsys.recommend(m.model, h.user_id, 10) r ORDER BY r.score DESC, r.item_id) AS by_user,
             ARRAY(SELECT r.item_id FROM recsys.recommend(m.model, h.history, 10) r ORDER BY r.score DESC, r.item_id) AS by_history
      FROM sq_history h, sq_models m WHERE m.name = 'sequence') x;
SELECT max(abs(recsys.predict(m.model, h.user_id, i) - recsys.predict(m.model, h.history, i))) < 1e-4
       AS user_equals_history
FROM sq_models m, sq_history h, generate_series(0, 299, 7) i
WHERE m.name = 'sequence' AND h.user_id <= 50;

-- predict over a candidate set with one history (its encoding kept between
-- rows) scores every candidate as recommend does.
SELECT count(*) AS candidates,
       max(abs(r.score - recsys.predict(m.model, ARRAY[40, 39, 38]::bigint[], r.item_id))) < 1e-4
       AS predict_scores_as_recommend
FROM sq_models m, recsys.recommend(m.model, ARRAY[40, 39, 38]::bigint[], 400) r
WHERE m.name = 'sequence';

-- Histories with items the model does not know: those are ignored with a
-- NOTICE; none known at all ranks by popularity, as for a new user.
SELECT count(*) AS answers
FROM sq_models m, recsys.recommend(m.model, ARRAY[10, 123456, 9]::bigint[], 3) r WHERE m.name = 'sequence';
SELECT array_agg(r.score ORDER BY r.score DESC) =
       ARRAY(SELECT count(DISTINCT user_id)::float8 FROM sq_train GROUP BY item_id ORDER BY 1 DESC LIMIT 3)
       AS empty_history_is_popularity
FROM sq_models m, recsys.recommend(m.model, '{}'::bigint[], 3) r WHERE m.name = 'sequence';
SELECT recsys.predict(m.model, ARRAY[10, 9]::bigint[], 123456) AS unknown_item
FROM sq_models m WHERE m.name = 'sequence';

-- Explanations: where the last position's attention went, over the history
-- as given (position 1 the most recent); the weights add up to 1.
SELECT count(*) AS entries, round(sum(weight)::numeric, 4) AS total_weight,
       min(position) AS first_position, max(position) AS last_position,
       bool_and(weight >= 0) AS non_negative
FROM sq_models m, recsys.explain(m.model, ARRAY[12, 11, 10, 9, 8]::bigint[], 13, 10) e
WHERE m.name = 'sequence';
SELECT e.item_id, e.position
FROM sq_models m, recsys.explain(m.model, ARRAY[12, 999999, 11]::bigint[], 13, 10) e
WHERE m.name = 'sequence' ORDER BY e.position;

-- recommend_batch ranks as recommend does, a user the model does not know
-- by popularity in both.
SELECT b.user_id, array_agg(b.item_id ORDER BY b.score DESC, b.item_id) =
       (SELECT array_agg(r.item_id ORDER BY r.score DESC, r.item_id)
        FROM recsys.recommend(m.model, b.user_id, 5) r) AS same_as_recommend
FROM sq_models m, recsys.recommend_batch(m.model, ARRAY[7, 999999]::bigint[], 5) b
WHERE m.name = 'sequence' GROUP BY b.user_id, m.model ORDER BY b.user_id;

-- Vectors, neighbours and evaluation work as for every factor model.
SELECT array_length(recsys.item_vector(m.model, 5), 1) AS item_dims,
       array_length(recsys.user_vector(m.model, 1), 1) AS user_dims,
       (SELECT count(*) FROM recsys.similar_items(m.model, 5, 4)) AS similar
FROM sq_models m WHERE m.name = 'sequence';
SELECT e.users, e.hit_rate >= 0.6 AS evaluate_hr10_at_least_0_6
FROM sq_models m,
     recsys.evaluate(m.model, (SELECT array_agg(user_id ORDER BY user_id) FROM sq_test),
                     (SELECT array_agg(item_id ORDER BY user_id) FROM sq_test), 10) e
WHERE m.name = 'sequence';

-- timestamptz and bigint orders give the same model: the same seed, the
-- same order of events, whichever order the rows arrive in; ties are
-- broken by item id.
CREATE TABLE sq_order_models AS
SELECT recsys.train_sequence(user_id, item_id, at, '{"factors": 8, "epochs": 2, "threads": 2}') AS by_bigint,
       recsys.train_sequence(user_id, item_id, timestamptz '2020-01-01' + at * interval '1 hour',
                             '{"factors": 8, "epochs": 2, "threads": 1}') AS by_time,
       recsys.train_sequence(user_id, item_id, at / 3, '{"factors": 8, "epochs": 2}') AS with_ties
FROM (SELECT * FROM sq_train ORDER BY md5(user_id::text || at::text)) shuffled;
CREATE TABLE sq_tie_models AS
SELECT recsys.train_sequence(user_id, item_id, at / 3, '{"factors": 8, "epochs": 2}') AS with_ties
FROM (SELECT * FROM sq_train ORDER BY user_id DESC, at DESC) reordered;
SELECT recsys.item_vector(by_bigint, 7) = recsys.item_vector(by_time, 7) AS same_on_any_threads,
       recsys.item_vector(o.with_ties, 7) = recsys.item_vector(t.with_ties, 7) AS ties_by_item_id
FROM sq_order_models o, sq_tie_models t;

-- In parallel workers each collects its share of the events with their
-- order (Partial Aggregate) and the leader combines them: the same model.
ANALYZE sq_train;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT recsys.train_sequence(user_id, item_id, at, '{"factors": 8, "epochs": 2}') FROM sq_train;
CREATE TABLE sq_parallel_model AS
SELECT recsys.train_sequence(user_id, item_id, at, '{"factors": 8, "epochs": 2}') AS model
FROM sq_train;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT recsys.item_vector(p.model, 7) = recsys.item_vector(o.by_bigint, 7) AS parallel_is_serial,
       recsys.model_info(p.model)->'users' AS users
FROM sq_parallel_model p, sq_order_models o;

-- Rows missing a column are skipped and counted.
SELECT j->'skipped_rows' AS skipped
FROM (SELECT recsys.train_sequence(user_id, item_id, CASE WHEN at = 3 THEN NULL ELSE at END,
                                   '{"factors": 4, "epochs": 1}') AS model FROM sq_train) x,
     recsys.model_info(x.model) j;

-- Bad input.
SELECT recsys.train_sequence(user_id, item_id, at, '{"factors": 30, "heads": 4}') FROM sq_train;
SELECT recsys.train_sequence(user_id, item_id, at, '{"max_length": 0}') FROM sq_train;
SELECT recsys.train_sequence(user_id, item_id, at, '{"dropout": 1}') FROM sq_train;
SELECT recsys.train_sequence(user_id, item_id, at, '{"windows": 3}') FROM sq_train;
SELECT recsys.train_sequence(user_id, item_id, at) FROM sq_train WHERE at = 0;
SELECT recsys.train_sequence(user_id, item_id, at) FROM sq_train WHERE false;
SELECT r.* FROM sq_models m, recsys.recommend(m.model, ARRAY[1, NULL]::bigint[], 3) r WHERE m.name = 'sequence';
SELECT r.* FROM sq_models m, recsys.recommend(m.model, ARRAY[1, 2]::bigint[], ARRAY[1, 1]::real[], 3) r
WHERE m.name = 'sequence';
SELECT recsys.predict(m.model, ARRAY[1, 2]::bigint[], 3) FROM sq_models m WHERE m.name = 'implicit_als';
SELECT e.* FROM sq_models m, recsys.explain(m.model, ARRAY[1, 2]::bigint[], 3) e WHERE m.name = 'implicit_als';
SELECT e.* FROM sq_models m, recsys.explain(m.model, 1, 3) e WHERE m.name = 'sequence';
