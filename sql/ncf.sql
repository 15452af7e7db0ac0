-- Neural collaborative filtering (NeuMF) on planted clusters: 4 classes of
-- 50 users and 30 items; each user has 12 items of their class and one item
-- chosen regardless of class (the data of the implicit test).
CREATE TABLE ncf_clusters AS
SELECT u::bigint AS user_id, (u % 4 * 30 + (u * 7 + j * 11) % 30)::bigint AS item_id
FROM generate_series(0, 199) u, generate_series(1, 12) j
UNION
SELECT u::bigint, (u * 37 % 120)::bigint FROM generate_series(0, 199) u;

CREATE TABLE ncf_models (name text PRIMARY KEY, model bytea);
-- default options, on two threads (recsys.threads, which the option overrides)
SET recsys.threads = 2;
INSERT INTO ncf_models SELECT 'default', recsys.train_ncf(user_id, item_id) FROM ncf_clusters;
RESET recsys.threads;
INSERT INTO ncf_models
SELECT 'one_thread', recsys.train_ncf(user_id, item_id, '{"threads": 1}') FROM ncf_clusters;
INSERT INTO ncf_models
SELECT 'three_threads', recsys.train_ncf(user_id, item_id, '{"threads": 3}') FROM ncf_clusters;
-- no hidden tower layer: the concatenated embeddings go straight to the output
INSERT INTO ncf_models
SELECT 'flat', recsys.train_ncf(user_id, item_id, '{"layers": [16]}')
FROM ncf_clusters;

SELECT name, info ->> 'algorithm' AS algorithm, info -> 'users' AS users, info -> 'items' AS items,
       info -> 'factors' AS factors, info -> 'options' -> 'layers' AS layers,
       info -> 'iterations' AS epochs,
       (info -> 'loss' ->> -1)::float8 < (info -> 'loss' ->> 0)::float8 / 2 AS loss_falls
FROM (SELECT name, recsys.model_info(model) AS info FROM ncf_models) s ORDER BY name;

-- Every user's top 5 unseen items are of the user's class (each user has one
-- training item outside it, which the model may follow).
SELECT m.name, avg((r.item_id / 30 = u % 4)::int) >= 0.9 AS in_class
FROM ncf_models m, generate_series(0, 199) u, recsys.recommend(m.model, u, 5) r
GROUP BY m.name ORDER BY m.name;

-- The parts of a batch do not depend on the threads: a seed gives the same
-- model on any number of them.
SELECT bool_and(recsys.predict(a.model, c.user_id, c.item_id) =
                recsys.predict(b.model, c.user_id, c.item_id)) AS same_on_1_2_3_threads,
       bool_and(recsys.predict(a.model, c.user_id, c.item_id) =
                recsys.predict(t.model, c.user_id, c.item_id)) AS same_on_3
FROM ncf_clusters c, ncf_models a, ncf_models b, ncf_models t
WHERE a.name = 'default' AND b.name = 'one_thread' AND t.name = 'three_threads';

-- Scores are probabilities; recommend's score is predict's, computed in
-- batches; the training items rank high, so they are what exclude_seen leaves
-- out.
SELECT bool_and(r.score > 0 AND r.score < 1) AS probabilities,
       max(abs(r.score - recsys.predict(m.model, 17, r.item_id))) < 1e-6 AS recommend_is_predict
FROM ncf_models m, recsys.recommend(m.model, 17, 120, false) r WHERE m.name = 'default';
SELECT count(*) FILTER (WHERE c.item_id IS NOT NULL) AS seen_in_top_13, count(*) AS k
FROM ncf_models m CROSS JOIN recsys.recommend(m.model, 17, 13, false) r
LEFT JOIN ncf_clusters c ON c.user_id = 17 AND c.item_id = r.item_id
WHERE m.name = 'default';
SELECT count(*) FILTER (WHERE c.item_id IS NOT NULL) AS seen, count(*) AS k
FROM ncf_models m CROSS JOIN recsys.recommend(m.model, 17, 10) r
LEFT JOIN ncf_clusters c ON c.user_id = 17 AND c.item_id = r.item_id
WHERE m.name = 'default';

-- Ids the model never saw: NULL from predict and the vectors; an unknown
-- user is recommended the most popular items.
SELECT recsys.predict(model, 9999, 0) IS NULL AS unknown_user,
       recsys.predict(model, 0, 9999) IS NULL AS unknown_item,
       recsys.user_vector(model, 9999) IS NULL AS no_user_vector,
       array_length(recsys.user_vector(model, 0), 1) AS user_factors,
       array_length(recsys.item_vector(model, 0), 1) AS item_factors
FROM ncf_models WHERE name = 'default';
SELECT array_agg(r.item_id ORDER BY r.score DESC, r.item_id) =
       (SELECT array_agg(item_id ORDER BY n DESC, item_id)
        FROM (SELECT item_id, count(*) AS n FROM ncf_clusters GROUP BY item_id
              ORDER BY n DESC, item_id LIMIT 5) p) AS most_popular
FROM ncf_models m, recsys.recommend(m.model, 9999, 5) r WHERE m.name = 'default';

-- Fold-in: a new visitor whose history is four items of class 2 gets a row
-- of their own, learned with the network fixed, and is recommended class 2,
-- never the history itself; the same history gives the same answer.
SELECT bool_and(r.item_id / 30 = 2) AS class_2,
       bool_and(r.item_id NOT IN (60, 61, 62, 63)) AS history_left_out, count(*) AS k
FROM ncf_models m,
     recsys.recommend(m.model, ARRAY[60, 61, 62, 63, 123456]::bigint[], ARRAY[1, 1, 1, 1, 1]::real[], 5) r
WHERE m.name = 'default';
SELECT (SELECT array_agg(item_id ORDER BY score DESC)
        FROM recsys.recommend(m.model, ARRAY[60, 61, 62, 63]::bigint[], ARRAY[1, 1, 1, 1]::real[], 5)) =
       (SELECT array_agg(item_id ORDER BY score DESC)
        FROM recsys.recommend(m.model, ARRAY[63, 62, 61, 60]::bigint[], ARRAY[1, 1, 1, 1]::real[], 5))
       AS same_history_same_answer
FROM ncf_models m WHERE m.name = 'default';
-- Folding in a known user's training history comes close to their stored
-- row: most of the top 10 agree for every one of ten users.
SELECT bool_and(overlap >= 5) AS close_to_stored
FROM (SELECT (SELECT count(*)
              FROM recsys.recommend(m.model, u, 10) a
              JOIN recsys.recommend(m.model,
                                    (SELECT array_agg(item_id) FROM ncf_clusters c WHERE c.user_id = u),
                                    (SELECT array_agg(1::real) FROM ncf_clusters c WHERE c.user_id = u),
                                    10) b USING (item_id)) AS overlap
      FROM ncf_models m, generate_series(0, 9) u WHERE m.name = 'default') s;

-- What NeuMF does not offer says so, and what to use instead.
SELECT * FROM ncf_models m, recsys.similar_items(m.model, 1, 5) WHERE m.name = 'default';
SELECT * FROM ncf_models m, recsys.explain(m.model, 1, 2) WHERE m.name = 'default';
SELECT recsys.predict(model, ARRAY[1, 2]::real[]) FROM ncf_models WHERE name = 'default';

-- Options.
SELECT recsys.train_ncf(user_id, item_id, '{"layers": [15, 8]}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"layers": []}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"layers": 64}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"layers": [64, 2048]}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"layers": [8, 8, 8, 8, 8, 8, 8, 8, 8]}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"factors": 0}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"negatives": 0}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"batch_size": 1}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"learning_rate": 0}') FROM ncf_clusters;
SELECT recsys.train_ncf(user_id, item_id, '{"hidden": [8]}') FROM ncf_clusters;
-- too large a penalty shrinks the model to nothing: a warning says so
SELECT recsys.train_ncf(user_id, item_id, '{"l2": 1, "epochs": 3}') IS NOT NULL AS trained
FROM ncf_clusters;
-- nothing to train on: NULL, as for every trainer
SELECT recsys.train_ncf(user_id, item_id) IS NULL AS empty FROM ncf_clusters WHERE false;
