-- "users": "fold_in": a factor model stored without its users, whose size
-- follows the catalogue alone, serving every user from the history passed
-- at query time.  Uses planted.sql's ratings.
CREATE TABLE fold_models AS
SELECT 'als' AS name, o AS users,
       recsys.train_als(user_id, item_id, rating, jsonb_build_object('factors', 8, 'users', o)) AS model
FROM planted, unnest(ARRAY['keep', 'fold_in']) o WHERE NOT held_out GROUP BY o
UNION ALL
SELECT 'implicit', o,
       recsys.train_als(user_id, item_id, 1, jsonb_build_object('feedback', 'implicit', 'factors', 8, 'users', o))
FROM planted, unnest(ARRAY['keep', 'fold_in']) o WHERE NOT held_out GROUP BY o
UNION ALL
SELECT 'bpr', o,
       recsys.train_bpr(user_id, item_id, jsonb_build_object('factors', 8, 'threads', 1, 'epochs', 5, 'users', o))
FROM planted, unnest(ARRAY['keep', 'fold_in']) o WHERE NOT held_out GROUP BY o;

-- The fold-in form keeps the items, and knows how many interactions it was
-- trained on, but no users and no history: a fraction of the size (a tenth
-- here for ratings, with 60 interactions per user; a quarter for clicks,
-- whose history the full model stores in about a byte an interaction).
SELECT f.name, i->'users' AS users, i->'items' AS items, i->'interactions' AS interactions,
       i->'options'->>'users' AS option,
       length(f.model) < 0.3 * length(k.model) AS under_a_third_of_the_size
FROM fold_models f JOIN fold_models k ON k.name = f.name AND k.users = 'keep',
     LATERAL (SELECT recsys.model_info(f.model) AS i) x
WHERE f.users = 'fold_in' ORDER BY f.name;

-- The same fit: the item side is the same as the full model's, byte for byte.
SELECT f.name, bool_and(recsys.item_vector(f.model, i) = recsys.item_vector(k.model, i)) AS same_items
FROM fold_models f JOIN fold_models k ON k.name = f.name AND k.users = 'keep',
     generate_series(1, 300) i
WHERE f.users = 'fold_in' GROUP BY f.name ORDER BY f.name;

-- Every training user, served from their history read from the table in
-- the same statement, gets what the full model gives them: ALS's last user
-- half-step is exact, so the solve repeats it (scores within 1e-4, the same
-- items).  BPR's fold-in learns a new row by SGD, so it is compared with
-- the full model's answer from the same history.
CREATE TABLE fold_lists AS
SELECT f.name, u.user_id, r.item_id, r.score, row_number() OVER w AS rank
FROM fold_models f, (SELECT DISTINCT user_id FROM planted) u,
     LATERAL recsys.recommend(f.model,
                              (SELECT array_agg(item_id ORDER BY item_id) FROM planted p
                               WHERE p.user_id = u.user_id AND NOT held_out),
                              (SELECT array_agg(CASE f.name WHEN 'als' THEN rating ELSE 1 END ORDER BY item_id)
                               FROM planted p WHERE p.user_id = u.user_id AND NOT held_out),
                              5) r
WHERE f.users = 'fold_in'
WINDOW w AS (PARTITION BY f.name, u.user_id ORDER BY r.score DESC, r.item_id);
CREATE TABLE keep_lists AS
SELECT k.name, u.user_id, r.item_id, r.score, row_number() OVER w AS rank
FROM fold_models k, (SELECT DISTINCT user_id FROM planted) u,
     LATERAL recsys.recommend(k.model, u.user_id, 5) r
WHERE k.users = 'keep' AND k.name <> 'bpr'
WINDOW w AS (PARTITION BY k.name, u.user_id ORDER BY r.score DESC, r.item_id)
UNION ALL
SELECT k.name, u.user_id, r.item_id, r.score, row_number() OVER w
FROM fold_models k, (SELECT DISTINCT user_id FROM planted) u,
     LATERAL recsys.recommend(k.model,
                              (SELECT array_agg(item_id ORDER BY item_id) FROM planted p
                               WHERE p.user_id = u.user_id AND NOT held_out),
                              (SELECT array_fill(1::real, ARRAY[count(*)::int]) FROM planted p
                               WHERE p.user_id = u.user_id AND NOT held_out),
                              5) r
WHERE k.users = 'keep' AND k.name = 'bpr'
WINDOW w AS (PARTITION BY k.name, u.user_id ORDER BY r.score DESC, r.item_id);
SELECT f.name, count(*) AS rows,
       count(*) FILTER (WHERE f.item_id = k.item_id) AS same_item,
       max(abs(f.score - k.score)) < 1e-4 AS same_scores
FROM fold_lists f JOIN keep_lists k USING (name, user_id, rank)
GROUP BY f.name ORDER BY f.name;

-- Clicks need no values: recommend(model, item_ids, k) is the history with
-- every value 1, for every user; a model of ratings needs its values.
SELECT f.name, count(*) AS users, count(*) FILTER (WHERE a.list = b.list) AS same_lists
FROM fold_models f, (SELECT DISTINCT user_id FROM planted) u,
     LATERAL (SELECT array_agg(item_id ORDER BY item_id) AS items FROM planted p
              WHERE p.user_id = u.user_id AND NOT held_out) h,
     LATERAL (SELECT string_agg(r.item_id || ':' || r.score, ',') AS list
              FROM recsys.recommend(f.model, h.items, 5) r) a,
     LATERAL (SELECT string_agg(r.item_id || ':' || r.score, ',') AS list
              FROM recsys.recommend(f.model, h.items, array_fill(1::real, ARRAY[cardinality(h.items)]), 5) r) b
WHERE f.users = 'fold_in' AND f.name <> 'als' AND h.items IS NOT NULL
GROUP BY f.name ORDER BY f.name;
SELECT * FROM recsys.recommend((SELECT model FROM fold_models WHERE name = 'als' AND users = 'fold_in'),
                               ARRAY[1, 2]::bigint[], 5);

-- What needs the users says so, and what does not works.
SELECT recsys.predict(model, 1, 1) FROM fold_models WHERE name = 'als' AND users = 'fold_in';
SELECT * FROM recsys.recommend((SELECT model FROM fold_models WHERE name = 'implicit' AND users = 'fold_in'), 1);
SELECT * FROM recsys.recommend_batch((SELECT model FROM fold_models WHERE name = 'bpr' AND users = 'fold_in'),
                                     ARRAY[1, 2]::bigint[]);
\set VERBOSITY terse
SELECT * FROM recsys.evaluate((SELECT model FROM fold_models WHERE name = 'als' AND users = 'fold_in'),
                              ARRAY[1]::bigint[], ARRAY[2]::bigint[]);
\set VERBOSITY default
SELECT * FROM recsys.explain((SELECT model FROM fold_models WHERE name = 'als' AND users = 'fold_in'), 1, 2);
SELECT recsys.user_vector(model, 1) FROM fold_models WHERE name = 'implicit' AND users = 'fold_in';
SELECT name, recsys.has_user(model, 1) AS has_user_1, recsys.has_item(model, 1) AS has_item_1,
       (SELECT count(*) FROM recsys.similar_items(model, 1, 5)) AS similar
FROM fold_models WHERE users = 'fold_in' ORDER BY name;
SELECT recsys.train_als(user_id, item_id, rating, '{"users": "drop"}') FROM planted;

-- Its size follows the items: where the full model would exceed
-- recsys.max_model_size, the error says so and the fold-in form fits.
SET recsys.max_model_size = '200kB';
SELECT recsys.train_als(user_id, item_id, rating, '{"factors": 32}') FROM planted;
SELECT length(recsys.train_als(user_id, item_id, rating, '{"factors": 32, "users": "fold_in"}')) < 200 * 1024
       AS fold_in_fits
FROM planted;
RESET recsys.max_model_size;
