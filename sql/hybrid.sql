-- The hybrid model: behaviour and tags together.  Planted data: five classes.
-- An item's class decides its tag 'class:c' (its other tag, 'noise:n', says
-- nothing); a user's class decides its tag 'likes:c' (every tenth user has
-- none) and the items it touches, all of its class.  One item in five of
-- each class is cold: it has tags and no interactions at all.
CREATE TABLE hy_items AS
SELECT i::bigint AS item_id, i % 5 AS class, (i / 5) % 5 = 1 AS cold,
       ARRAY['class:' || i % 5, 'noise:' || (i * 7 / 3) % 10] AS tags
FROM generate_series(1, 250) i;
CREATE TABLE hy_users AS
SELECT u::bigint AS user_id, u % 5 AS class,
       CASE WHEN u % 10 <> 0 THEN ARRAY['likes:' || u % 5] END AS tags
FROM generate_series(1, 300) u;
CREATE TABLE hy_clicks AS
SELECT u.user_id, i.item_id
FROM hy_users u JOIN hy_items i ON i.class = u.class AND NOT i.cold
WHERE hashint8(u.user_id * 1000 + i.item_id) % 100 < 40;
SELECT count(*) AS clicks, count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items
FROM hy_clicks;

-- One thread: the same model on every run (Hogwild threads are not bit-reproducible).
CREATE TABLE hy_models AS
SELECT 'hybrid' AS name,
       recsys.train_hybrid(c.user_id, c.item_id, 1, u.tags, i.tags,
                           '{"factors": 16, "epochs": 20, "threads": 1}') AS model
FROM hy_clicks c JOIN hy_users u USING (user_id) JOIN hy_items i USING (item_id)
UNION ALL
SELECT 'bpr', recsys.train_bpr(user_id, item_id, '{"factors": 16, "threads": 1}') FROM hy_clicks;

SELECT j->>'algorithm' AS algorithm, j->'user_tags' AS user_tags, j->'item_tags' AS item_tags,
       j->'users' AS users, j->'items' AS items, j->'items_with_varying_tags' AS varying,
       j->'options'->>'loss' AS loss, j->'options'->>'identity' AS identity
FROM hy_models, recsys.model_info(model) j WHERE name = 'hybrid';

-- Cold items, ranked by their tags for every user: of each user's top 5,
-- nearly all are of the user's class.  BPR has never seen them: no score.
CREATE TABLE hy_cold_top AS
SELECT u.user_id, u.class, i.class AS item_class,
       row_number() OVER (PARTITION BY u.user_id
                          ORDER BY recsys.predict(m.model, u.user_id, i.tags) DESC, i.item_id) AS rank
FROM hy_models m, hy_users u, hy_items i
WHERE m.name = 'hybrid' AND i.cold AND u.user_id IN (SELECT user_id FROM hy_clicks);
SELECT avg((class = item_class)::int) >= 0.9 AS cold_items_in_class
FROM hy_cold_top WHERE rank <= 5;
SELECT count(*) AS cold_items, count(recsys.predict(m.model, 1, i.item_id)) AS bpr_scores
FROM hy_models m, hy_items i WHERE m.name = 'bpr' AND i.cold;

-- Known items and users score as every factor model does.
SELECT count(*) FILTER (WHERE i.class = u.class) >= 9 * count(*) / 10 AS known_users_in_class
FROM hy_models m, hy_users u, recsys.recommend(m.model, u.user_id, 5) r
     JOIN hy_items i ON i.item_id = r.item_id
WHERE m.name = 'hybrid' AND u.user_id IN (SELECT user_id FROM hy_clicks);

-- A new user given by a tag alone; tags the model does not know are
-- ignored, with a NOTICE.
SELECT c AS likes, count(*) FILTER (WHERE i.class = c) AS in_class, count(*) AS answers
FROM hy_models m, generate_series(0, 4) c,
     recsys.recommend(m.model, ARRAY['likes:' || c, 'likes:nothing'], 5) r
     JOIN hy_items i ON i.item_id = r.item_id
WHERE m.name = 'hybrid'
GROUP BY c ORDER BY c;

-- Tags and a live history: the history (four items of class 3) moves a
-- user who says 'likes:1' towards class 3, and its items are left out.
SELECT count(*) FILTER (WHERE i.class = 3) >= 3 AS moved_to_history,
       count(*) FILTER (WHERE r.item_id IN (18, 23, 28, 38)) AS history_items_returned
FROM hy_models m,
     recsys.recommend(m.model, ARRAY['likes:1'], ARRAY[18, 23, 28, 38]::bigint[],
                      ARRAY[1, 1, 1, 1]::real[], 5) r
     JOIN hy_items i ON i.item_id = r.item_id
WHERE m.name = 'hybrid';

-- Which tags drive a score: for a user and an item of the same class, the
-- class tag comes first; the tags and the item's own row add up to the score.
SELECT e.feature, e.contribution > 0 AS positive
FROM hy_models m, recsys.explain_features(m.model, 7, 12, 1) e WHERE m.name = 'hybrid';
SELECT abs(sum(e.contribution) - recsys.predict(m.model, 7, 12)) < 1e-4 AS adds_up,
       count(*) AS rows, count(e.feature) AS tags
FROM hy_models m, recsys.explain_features(m.model, 7, 12) e WHERE m.name = 'hybrid'
GROUP BY m.model;

-- Vectors of entities given by tags, for a vector index; NULL when no tag is known.
SELECT array_length(recsys.item_vector(m.model, ARRAY['class:2', 'noise:4']), 1) AS item_length,
       array_length(recsys.user_vector(m.model, ARRAY['likes:2']), 1) AS user_length,
       recsys.item_vector(m.model, ARRAY['nothing']) IS NULL AS unknown_item,
       recsys.predict(m.model, 7, ARRAY['nothing', NULL]) IS NULL AS unknown_tags,
       recsys.predict(m.model, 100000, ARRAY['class:2']) IS NULL AS unknown_user,
       recsys.predict(m.model, 7, ARRAY['class:2']) =
       recsys.predict(m.model, 7, ARRAY['class:2', 'class:2', 'other']) AS repeats_and_unknowns_ignored
FROM hy_models m WHERE m.name = 'hybrid';

-- Without identities the model is of tags alone: items with the same tags
-- are the same item to it.
CREATE TABLE hy_content AS
SELECT recsys.train_hybrid(c.user_id, c.item_id, 1, u.tags, i.tags,
                           '{"factors": 16, "epochs": 20, "threads": 1, "identity": "none"}') AS model
FROM hy_clicks c JOIN hy_users u USING (user_id) JOIN hy_items i USING (item_id);
SELECT recsys.item_vector(model, 2) = recsys.item_vector(model, 62) AS same_tags_same_vector,
       recsys.item_vector(model, 2) = recsys.item_vector(model, ARRAY['class:2', 'noise:4'])
           AS known_item_is_its_tags
FROM hy_content;

-- An id whose rows carry different tags keeps their union, and says so.
CREATE TABLE hy_varying AS
SELECT recsys.train_hybrid(user_id, item_id, 1, NULL,
                           CASE WHEN item_id = 2 AND user_id % 2 = 0 THEN ARRAY['extra'] ELSE i.tags END,
                           '{"factors": 4, "epochs": 2}') AS model
FROM hy_clicks c JOIN hy_items i USING (item_id);
SELECT j->'items_with_varying_tags' AS varying_items, j->'user_tags' AS user_tags,
       j->'item_tags' AS item_tags
FROM hy_varying, recsys.model_info(model) j;

-- Items alone, for serving every user from tags and history.
CREATE TABLE hy_fold_in AS
SELECT recsys.train_hybrid(c.user_id, c.item_id, 1, u.tags, i.tags,
                           '{"factors": 16, "epochs": 20, "threads": 1, "users": "fold_in"}') AS model
FROM hy_clicks c JOIN hy_users u USING (user_id) JOIN hy_items i USING (item_id);
SELECT count(*) FILTER (WHERE i.class = 4) AS in_class, count(*) AS answers
FROM hy_fold_in m, recsys.recommend(m.model, ARRAY['likes:4'], 5) r
     JOIN hy_items i ON i.item_id = r.item_id;
SELECT recsys.predict(model, 7, ARRAY['class:2']) FROM hy_fold_in;

-- Parallel workers collect the rows and tags; the model is the serial one.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE hy_rows AS
SELECT c.user_id, c.item_id, u.tags AS user_tags, i.tags AS item_tags
FROM hy_clicks c JOIN hy_users u USING (user_id) JOIN hy_items i USING (item_id);
ANALYZE hy_rows;
EXPLAIN (COSTS OFF)
SELECT recsys.train_hybrid(user_id, item_id, 1, user_tags, item_tags) FROM hy_rows;
CREATE TABLE hy_parallel AS
SELECT recsys.train_hybrid(user_id, item_id, 1, user_tags, item_tags,
                           '{"factors": 16, "epochs": 20, "threads": 1}') AS model
FROM hy_rows;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT bool_and(recsys.predict(p.model, u.user_id, i.tags) = recsys.predict(m.model, u.user_id, i.tags))
           AS parallel_is_serial
FROM hy_parallel p, hy_models m, hy_users u, hy_items i
WHERE m.name = 'hybrid' AND u.user_id <= 20 AND i.item_id <= 20;

-- "tune" searches the learning rate and regularization on held-out clicks,
-- each user's tags and items' tags kept with the training part.
-- (The first setting and the best two finish: 8 or 9 trials.)
SELECT jsonb_array_length(j->'tuning'->'trials') BETWEEN 8 AND 9 AS trials,
       j->'tuning'->>'metric' AS metric,
       (j->'tuning'->'chosen') ?& ARRAY['learning_rate', 'regularization'] AS chose,
       (j->'options'->>'factors')::int AS factors_kept
FROM (SELECT recsys.model_info(recsys.train_hybrid(c.user_id, c.item_id, 1, u.tags, i.tags,
                                 '{"factors": 8, "epochs": 4, "tune": true, "threads": 1}')) AS j
      FROM hy_clicks c JOIN hy_users u USING (user_id) JOIN hy_items i USING (item_id)) s;

-- regularization defaults to 0.1, and to 1e-6 under the BPR loss, which
-- pays it on every sample; a given value stands under either loss.
SELECT o.options, (recsys.model_info(recsys.train_hybrid(c.user_id, c.item_id, 1, NULL, NULL, o.options))
                   ->'options'->>'regularization')::float8 AS regularization
FROM (VALUES ('{"epochs": 1, "factors": 2, "threads": 1}'::jsonb),
             ('{"epochs": 1, "factors": 2, "threads": 1, "loss": "bpr"}'),
             ('{"epochs": 1, "factors": 2, "threads": 1, "loss": "bpr", "regularization": 0.05}'),
             ('{"epochs": 1, "factors": 2, "threads": 1, "regularization": 0.05}')) o(options),
     hy_clicks c
GROUP BY o.options ORDER BY o.options::text;

-- Ratings: "loss": "squared" trains a model of values (mu + b_u + b_i +
-- x_u . y_i).  Users rate their own class 8 and the others 2.
CREATE TABLE hy_ratings AS
SELECT u.user_id, i.item_id, CASE WHEN u.class = i.class THEN 8 ELSE 2 END::real AS rating,
       u.tags AS user_tags, i.tags AS item_tags
FROM hy_users u JOIN hy_items i ON NOT i.cold
WHERE hashint8(u.user_id * 1000 + i.item_id) % 100 < 10;
CREATE TABLE hy_rating_model AS
SELECT recsys.train_hybrid(user_id, item_id, rating, user_tags, item_tags,
                           '{"loss": "squared", "factors": 8, "epochs": 20, "threads": 1}') AS model
FROM hy_ratings;
SELECT recsys.model_info(model)->>'algorithm' AS algorithm,
       round((recsys.model_info(model)->>'global_mean')::numeric, 1) AS global_mean
FROM hy_rating_model;
-- new items by their tags, known users: their own class well above the others
SELECT avg(recsys.predict(m.model, u.user_id, i.tags)) FILTER (WHERE i.class = u.class) >
       avg(recsys.predict(m.model, u.user_id, i.tags)) FILTER (WHERE i.class <> u.class) + 3
           AS own_class_rated_higher
FROM hy_rating_model m, hy_users u, hy_items i WHERE i.cold AND u.user_id <= 50;
-- a newcomer with a tag and two ratings, folded in; the shares add up
SELECT count(*) FILTER (WHERE i.class = 3) >= 4 AS top_in_class, count(*) AS answers
FROM hy_rating_model m,
     recsys.recommend(m.model, ARRAY['likes:3'], ARRAY[18, 23]::bigint[], ARRAY[8, 8]::real[], 5) r
     JOIN hy_items i ON i.item_id = r.item_id;
SELECT abs(sum(e.contribution) - recsys.predict(m.model, 7, 12)) < 1e-3 AS adds_up
FROM hy_rating_model m, recsys.explain_features(m.model, 7, 12) e GROUP BY m.model;
SELECT * FROM recsys.explain((SELECT model FROM hy_rating_model), 7, 12);

-- Bad input.
SELECT recsys.train_hybrid(user_id, item_id, 1, NULL, ARRAY['']) FROM hy_clicks;
SELECT recsys.train_hybrid(user_id, item_id, 1, NULL, ARRAY[repeat('x', 1025)]) FROM hy_clicks;
SELECT recsys.train_hybrid(user_id, item_id, -1, NULL, NULL) FROM hy_clicks;
SELECT recsys.train_hybrid(user_id, item_id, 0, NULL, NULL) FROM hy_clicks;
SELECT recsys.train_hybrid(user_id, item_id, 1, NULL, NULL, '{"negatives": "rare"}') FROM hy_clicks;
SELECT recsys.train_hybrid(user_id, item_id, 1, NULL, NULL, '{"loss": "hinge"}') FROM hy_clicks;
SELECT recsys.train_hybrid(user_id, item_id, 1, NULL, NULL, '{"identity": true}') FROM hy_clicks;
SELECT recsys.predict(model, 1, ARRAY['class:1']) FROM hy_models WHERE name = 'bpr';
SELECT * FROM recsys.explain_features((SELECT model FROM hy_models WHERE name = 'bpr'), 1, 2);
SELECT * FROM recsys.recommend((SELECT model FROM hy_models WHERE name = 'hybrid'), ARRAY['likes:1'], 0);
-- Users with neither identities nor tags: a WARNING, every user ranked alike.
SELECT length(recsys.train_hybrid(user_id, item_id, 1, NULL, NULL, '{"identity": "items", "epochs": 1}')) > 0
FROM hy_clicks;
-- NULL tag elements are left out and counted; NULL tag arrays are no tags.
SELECT (recsys.model_info(recsys.train_hybrid(user_id, item_id, 1, ARRAY[NULL, 'a'], NULL,
                                              '{"factors": 2, "epochs": 1}'))->'null_tags_skipped')
FROM hy_clicks;
