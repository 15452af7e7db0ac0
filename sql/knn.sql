-- Item-kNN on planted clusters: 4 classes of 50 users and 30 items; each
-- user has 12 items of their class and one item chosen regardless of class
-- (the data of the implicit test).  Item models need no solve: a history's
-- scores come straight from the neighbourhoods, for known users and
-- visitors alike.
CREATE TABLE knn_clusters AS
SELECT u::bigint AS user_id, (u % 4 * 30 + (u * 7 + j * 11) % 30)::bigint AS item_id
FROM generate_series(0, 199) u, generate_series(1, 12) j
UNION
SELECT u::bigint, (u * 37 % 120)::bigint FROM generate_series(0, 199) u;

CREATE TABLE knn_models (name text PRIMARY KEY, model bytea);
INSERT INTO knn_models SELECT 'cosine', recsys.train_knn(user_id, item_id, 1) FROM knn_clusters;
INSERT INTO knn_models
SELECT 'jaccard', recsys.train_knn(user_id, item_id, 1, '{"similarity": "jaccard", "neighbors": 20}')
FROM knn_clusters;
-- ratings: 1 to 5 by item, so each item has its own mean
INSERT INTO knn_models
SELECT 'explicit', recsys.train_knn(user_id, item_id, (1 + item_id % 5)::real,
                                    '{"feedback": "explicit", "similarity": "adjusted_cosine"}')
FROM knn_clusters;

-- Not given, the neighbour count is measured on held-out interactions.
SELECT name, info ->> 'algorithm' AS algorithm, info -> 'users' AS users, info -> 'items' AS items,
       info -> 'options' ->> 'similarity' AS similarity, info -> 'options' -> 'neighbors' AS neighbors
FROM (SELECT name, recsys.model_info(model) AS info FROM knn_models) s ORDER BY name;

-- Every user's top 5 unseen items are of the user's class.
SELECT m.name, avg((r.item_id / 30 = u % 4)::int) >= 0.9 AS in_class
FROM knn_models m, generate_series(0, 199) u, recsys.recommend(m.model, u, 5) r
WHERE m.name <> 'explicit'
GROUP BY m.name ORDER BY m.name;

-- An item's neighbours are stored: of its class, best first, never the item,
-- at most `neighbors` of them, similarities in (0, 1].
SELECT m.name, bool_and(s.item_id / 30 = 1) AS same_class, bool_and(s.item_id <> 45) AS not_itself,
       array_agg(s.score ORDER BY s.n) = array_agg(s.score ORDER BY s.score DESC) AS best_first,
       bool_and(s.score > 0 AND s.score <= 1.000001) AS in_range, count(*) AS k
FROM knn_models m, recsys.similar_items(m.model, 45, 8) WITH ORDINALITY s(item_id, score, n)
GROUP BY m.name ORDER BY m.name;
SELECT count(*) AS at_most_neighbors FROM knn_models m, recsys.similar_items(m.model, 45, 100) s
WHERE m.name = 'jaccard';

-- Explanations are the neighbours from the user's history, and with the
-- baseline (explicit: mu + b_u + b_i) they add up to the score.
SELECT m.name,
       abs(sum(e.contribution) - recsys.predict(m.model, 5, 33)) < 1e-5 AS adds_up,
       count(*) FILTER (WHERE e.item_id IS NULL) AS baseline_rows,
       bool_and(e.item_id IS NULL OR e.item_id IN (SELECT item_id FROM knn_clusters WHERE user_id = 5))
         AS from_history
FROM knn_models m, recsys.explain(m.model, 5, 33, 1000) e
GROUP BY m.name, m.model ORDER BY m.name;
SELECT bool_and(e.item_id / 30 = 1) AS same_class, count(*) AS k
FROM knn_models m, recsys.explain(m.model, 5, 33, 3) e WHERE m.name = 'cosine';

-- A visitor's history is scored directly: a class-2 history gets class 2,
-- never the history itself; a known user's own history gives exactly their
-- recommendations.
SELECT m.name, bool_and(r.item_id / 30 = 2) AS class_2,
       bool_and(r.item_id NOT IN (60, 61, 62, 63)) AS history_left_out, count(*) AS k
FROM knn_models m,
     recsys.recommend(m.model, ARRAY[60, 61, 62, 63, 123456]::bigint[], ARRAY[1, 1, 1, 1, 1]::real[], 5) r
WHERE m.name <> 'explicit'
GROUP BY m.name ORDER BY m.name;
SELECT m.name,
       (SELECT array_agg(item_id ORDER BY score DESC, item_id) FROM recsys.recommend(m.model, 17, 10)) =
       (SELECT array_agg(item_id ORDER BY score DESC, item_id)
        FROM recsys.recommend(m.model,
                              (SELECT array_agg(item_id) FROM knn_clusters WHERE user_id = 17),
                              (SELECT array_agg((1 + item_id % 5)::real) FROM knn_clusters WHERE user_id = 17),
                              10)) AS same
FROM knn_models m ORDER BY m.name;

-- Unknown ids: a preference model has no score (NULL), a rating model falls
-- back to its baseline: the global mean plus the known side's bias.
SELECT m.name, recsys.predict(m.model, 9999, 33) AS unknown_user,
       recsys.predict(m.model, 5, 9999) IS NULL AS unknown_item_null
FROM knn_models m ORDER BY m.name;

-- A user the model does not know, or an empty history: the most popular
-- items for preferences; for ratings the items of highest baseline, scored
-- as predict scores them.
SELECT m.name,
       array_agg(r.item_id ORDER BY r.score DESC, r.item_id) =
       (SELECT array_agg(item_id ORDER BY n DESC, item_id)
        FROM (SELECT item_id, count(*) AS n FROM knn_clusters GROUP BY item_id
              ORDER BY n DESC, item_id LIMIT 5) p) AS most_popular,
       array_agg(r.item_id ORDER BY r.score DESC, r.item_id) =
       (SELECT array_agg(h.item_id ORDER BY h.score DESC, h.item_id)
        FROM recsys.recommend(m.model, '{}'::bigint[], '{}'::real[], 5) h) AS empty_history_too
FROM knn_models m, recsys.recommend(m.model, 9999, 5) r
WHERE m.name <> 'explicit' GROUP BY m.name, m.model ORDER BY m.name;
SELECT bool_and(abs(r.score - recsys.predict(m.model, 9999, r.item_id)) < 1e-5) AS scored_as_predict,
       count(*) AS k
FROM knn_models m, recsys.recommend(m.model, 9999, 5) r WHERE m.name = 'explicit';

-- No embeddings, and the errors of the options and values.
\set VERBOSITY default
SELECT recsys.user_vector(model, 5) FROM knn_models WHERE name = 'cosine';
SELECT recsys.train_knn(user_id, item_id, 1, '{"similarity": "pearson"}') FROM knn_clusters;
SELECT recsys.train_knn(user_id, item_id, 1, '{"neighbors": 0}') FROM knn_clusters;
SELECT recsys.train_knn(user_id, item_id, 1, '{"shrinkage": -1}') FROM knn_clusters;
SELECT recsys.train_knn(user_id, item_id, 1, '{"min_support": 0}') FROM knn_clusters;
SELECT recsys.train_knn(user_id, item_id, 1, '{"factors": 8}') FROM knn_clusters;
SELECT recsys.train_knn(user_id, item_id, -1) FROM knn_clusters;
\set VERBOSITY terse
SELECT recsys.train_knn(user_id, item_id, 1) IS NULL AS empty FROM knn_clusters WHERE false;
