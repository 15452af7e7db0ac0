-- What protects a careless user: an empty training cannot replace a model,
-- a brand-new visitor gets recommendations, options cannot change between
-- rows, double precision values train as real ones do, a model too large
-- for the cache says so, one larger than recsys.max_model_size is refused
-- before it trains, and a database owner cannot start more threads than a
-- superuser allows.  Uses planted.sql's ratings.
CREATE TABLE guard_models (name text PRIMARY KEY, model bytea NOT NULL);
INSERT INTO guard_models
SELECT 'als', recsys.train_als(user_id, item_id, rating, '{"factors": 4, "iterations": 3}')
FROM planted WHERE NOT held_out;

-- An upsert from a training over no rows fails on the NOT NULL column, and
-- the stored model stays (README's "A first model").
SELECT recsys.model_info(model) ->> 'model_id' AS before_id FROM guard_models WHERE name = 'als' \gset
INSERT INTO guard_models (name, model)
SELECT 'als', recsys.train_als(user_id, item_id, rating) FROM planted WHERE user_id < 0
ON CONFLICT (name) DO UPDATE SET model = excluded.model;
SELECT recsys.model_info(model) ->> 'model_id' = :'before_id' AS model_kept
FROM guard_models WHERE name = 'als';

-- The first page of a visitor from this session's clicks, as README writes
-- it: a visitor with no clicks yet gets what an unknown user gets, not
-- nothing; one with clicks gets a list of their own.
CREATE TABLE session_clicks (session text, item_id bigint);
INSERT INTO session_clicks VALUES ('s1', 3), ('s1', 17), ('s1', 42);
PREPARE first_page(text) AS
SELECT r.item_id, r.score
FROM guard_models m,
     recsys.recommend(m.model,
                      (SELECT coalesce(array_agg(item_id), '{}') FROM session_clicks WHERE session = $1),
                      (SELECT coalesce(array_agg(1::real), '{}') FROM session_clicks WHERE session = $1),
                      20) r
WHERE m.name = 'als';
CREATE TEMP TABLE new_visitor AS EXECUTE first_page('brand-new-visitor');
CREATE TEMP TABLE clicking_visitor AS EXECUTE first_page('s1');
SELECT (SELECT count(*) FROM new_visitor) AS brand_new_visitor,
       (SELECT array_agg(item_id ORDER BY score DESC, item_id) FROM new_visitor) =
       (SELECT array_agg(item_id ORDER BY score DESC, item_id)
        FROM guard_models m, recsys.recommend(m.model, -1, 20) WHERE m.name = 'als') AS as_unknown_user,
       (SELECT count(*) FROM clicking_visitor WHERE item_id IN (3, 17, 42)) AS clicked_left_out;
-- Without coalesce the history is NULL, and a STRICT function gives no rows.
SELECT count(*) AS null_history
FROM guard_models m,
     recsys.recommend(m.model, (SELECT array_agg(item_id) FROM session_clicks WHERE false),
                      (SELECT array_agg(1::real) FROM session_clicks WHERE false), 20)
WHERE m.name = 'als';

-- Options that differ between rows are an error, not the first row's (in
-- a serial plan, so that the first row is the table's first).
SET max_parallel_workers_per_gather = 0;
SELECT recsys.train_als(user_id, item_id, rating,
                        CASE WHEN user_id < 200 THEN '{"factors": 4}' ELSE '{"factors": 8}' END::jsonb)
FROM planted;
SELECT recsys.train_bpr(user_id, item_id,
                        CASE WHEN user_id < 200 THEN '{"epochs": 2}'::jsonb END)
FROM planted;
SELECT recsys.train_mlp(ARRAY[user_id, item_id]::real[], rating,
                        CASE WHEN user_id < 200 THEN '{"epochs": 1}' ELSE '{"epochs": 2}' END::jsonb)
FROM planted;
-- the same options in every row, however written, are one training
SELECT length(recsys.train_als(user_id, item_id, rating,
                               CASE WHEN user_id < 200 THEN '{"factors": 4, "iterations": 2}'
                                    ELSE '{"iterations": 2, "factors": 4}' END::jsonb)) > 0 AS same_options
FROM planted;
RESET max_parallel_workers_per_gather;

-- Double precision training values (a float8 column, avg()) train as real
-- ones do: the same rows give the same model, to the bit.
CREATE TABLE planted_float8 AS
SELECT user_id, item_id, rating::float8 AS rating FROM planted WHERE NOT held_out;
SELECT bool_and(recsys.predict(r.m, p.user_id, p.item_id) = recsys.predict(d.m, p.user_id, p.item_id))
         AS same_model
FROM (SELECT recsys.train_als(user_id, item_id, rating, '{"factors": 4, "iterations": 3}') AS m
      FROM planted WHERE NOT held_out) r,
     (SELECT recsys.train_als(user_id, item_id, rating, '{"factors": 4, "iterations": 3}') AS m
      FROM planted_float8) d,
     planted p
WHERE p.held_out AND p.user_id < 40;
SELECT length(recsys.train_als(user_id, item_id, rating)) > 0 AS from_avg
FROM (SELECT user_id, item_id, avg(rating) AS rating FROM planted GROUP BY 1, 2) s;
SELECT recsys.model_info(recsys.train_knn(user_id, item_id, rating, '{"feedback": "explicit"}')) ->> 'algorithm' AS knn_on_float8
FROM planted_float8;
-- a double beyond real's range is an error, not an infinity
SELECT recsys.train_als(user_id, item_id, 1e300::float8) FROM planted;
-- a double precision label; features stay real[] (an array overload would
-- make a literal such as '{0.5, 0.25}' ambiguous), and a literal array
-- still finds predict(model, real[])
CREATE TABLE float8_rows AS
SELECT ARRAY[sin(g), cos(g), (g % 7)]::real[] AS f, (g % 2)::float8 AS label
FROM generate_series(1, 400) g;
SELECT recsys.predict(m, '{0.5, 0.25, 3}') BETWEEN 0 AND 1 AS literal_features
FROM (SELECT recsys.train_mlp(f, label, '{"epochs": 1}') AS m FROM float8_rows) s;
SELECT count(*) AS literal_history
FROM guard_models m, recsys.recommend(m.model, '{3, 17}', '{1.5, 2}', 5)
WHERE m.name = 'als';

-- A model larger than recsys.model_cache_size: a NOTICE the first time a
-- backend meets it, with the size to set, and none after.
SET recsys.model_cache_size = '1MB';
CREATE TABLE big_model AS
SELECT recsys.train_als(user_id, item_id, rating, '{"factors": 512, "iterations": 1}') AS model
FROM planted;
SELECT length(model) > 1024 * 1024 AS over_1mb FROM big_model;
SELECT recsys.predict(model, 1, 1) IS NOT NULL AS served FROM big_model;
SELECT recsys.predict(model, 1, 2) IS NOT NULL AS served_again FROM big_model;
RESET recsys.model_cache_size;

-- recsys.max_threads: only a superuser sets it; a training asking for more
-- runs on that many, with a NOTICE.
SET recsys.max_threads = 2;
SELECT length(recsys.train_als(user_id, item_id, rating, '{"threads": 64, "iterations": 1}')) > 0 AS trained
FROM planted;
SET recsys.threads = 100;
SELECT length(recsys.train_bpr(user_id, item_id, '{"epochs": 1}')) > 0 AS trained
FROM planted;
RESET recsys.threads;
CREATE ROLE guard_owner;
SET ROLE guard_owner;
SET recsys.max_threads = 1000;
SHOW recsys.max_threads;
RESET ROLE;
DROP ROLE guard_owner;
RESET recsys.max_threads;

-- recsys.max_model_size: a model that would be larger is refused as soon
-- as the rows are arranged, saying how large it would be, before any
-- iteration: this training (1,000 iterations of 1,024 factors) would run
-- for many minutes, and the refusal comes within the statement timeout.
SET recsys.max_model_size = '512kB';
SET statement_timeout = '60s';
SELECT recsys.train_als(user_id, item_id, rating, '{"factors": 1024, "iterations": 1000}')
FROM planted;
SELECT length(recsys.train_bpr(user_id, item_id, '{"factors": 1024, "epochs": 1000}'))
FROM planted;
SELECT length(recsys.train_als(user_id, item_id, rating, '{"factors": 8, "iterations": 1}'))
       < 512 * 1024 AS smaller_trains
FROM planted;
-- Item-kNN's neighbour lists are known only after its pass: the model is
-- refused when encoded.
-- (terse: the size in the detail includes the description's timings)
SET recsys.max_model_size = '100kB';
\set VERBOSITY terse
SELECT recsys.train_knn(user_id, item_id, 1, '{"neighbors": 50}') FROM planted;
\set VERBOSITY default
RESET statement_timeout;
-- No more than a bytea holds.
SET recsys.max_model_size = '2GB';
RESET recsys.max_model_size;

-- has_user and has_item
SELECT recsys.has_user(model, 1) AS user_1, recsys.has_user(model, -1) AS user_minus_1,
       recsys.has_item(model, 1) AS item_1, recsys.has_item(model, 100000) AS item_100000
FROM guard_models WHERE name = 'als';
SELECT recsys.has_user(recsys.train_mlp(f, label, '{"epochs": 1}'), 1) FROM float8_rows;
