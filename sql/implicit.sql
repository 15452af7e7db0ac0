-- Implicit feedback (implicit ALS, BPR) and the serving toolkit on planted
-- clusters: 4 classes of 50 users and 30 items; each user has 12 items of
-- their class and one item chosen regardless of class.  The right answers
-- are known: a user's recommendations, a folded-in history's
-- recommendations and an item's neighbours all stay in the class.
CREATE TABLE clusters AS
SELECT u::bigint AS user_id, (u % 4 * 30 + (u * 7 + j * 11) % 30)::bigint AS item_id
FROM generate_series(0, 199) u, generate_series(1, 12) j
UNION
SELECT u::bigint, (u * 37 % 120)::bigint FROM generate_series(0, 199) u;

CREATE TABLE cluster_models (name text PRIMARY KEY, model bytea);
INSERT INTO cluster_models
SELECT 'implicit', recsys.train_als(user_id, item_id, 1, '{"feedback": "implicit", "factors": 8}')
FROM clusters;
INSERT INTO cluster_models
SELECT 'cholesky', recsys.train_als(user_id, item_id, 1,
                                    '{"feedback": "implicit", "factors": 8, "solver": "cholesky"}')
FROM clusters;
INSERT INTO cluster_models
SELECT 'bpr', recsys.train_bpr(user_id, item_id, '{"factors": 8, "threads": 1}') FROM clusters;
INSERT INTO cluster_models
SELECT 'explicit', recsys.train_als(user_id, item_id, (1 + item_id % 5)::real, '{"factors": 8}')
FROM clusters;

SELECT name, recsys.model_info(model) ->> 'algorithm' AS algorithm,
       recsys.model_info(model) -> 'interactions' AS interactions
FROM cluster_models ORDER BY name;

-- Users' top 5 (unseen) items are of the user's class: at least 95 % of
-- them (98 % to 100 % measured).
SELECT m.name, avg((r.item_id / 30 = u % 4)::int) >= 0.95 AS in_class
FROM cluster_models m, generate_series(0, 199) u, recsys.recommend(m.model, u, 5) r
WHERE m.name <> 'explicit'
GROUP BY m.name ORDER BY m.name;

-- A ranking model has no score for what it never saw: NULL, not a guess.
SELECT m.name, recsys.predict(m.model, 0, 0) IS NOT NULL AS known,
       recsys.predict(m.model, 9999, 0) IS NULL AS unknown_user,
       recsys.predict(m.model, 0, 9999) IS NULL AS unknown_item
FROM cluster_models m WHERE m.name <> 'explicit' ORDER BY m.name;

-- An unknown user gets the most popular items (implicit ALS) or the highest
-- item biases (BPR).
SELECT count(*) AS k FROM cluster_models m, recsys.recommend(m.model, 9999, 5) r
WHERE m.name = 'implicit';

-- Fold-in: a new visitor whose history is four items of class 2 is
-- recommended class 2, never the history itself; unknown ids are ignored
-- and counted.
SELECT m.name, bool_and(r.item_id / 30 = 2) AS class_2,
       bool_and(r.item_id NOT IN (60, 61, 62, 63)) AS history_left_out, count(*) AS k
FROM cluster_models m,
     recsys.recommend(m.model, ARRAY[60, 61, 62, 63, 123456]::bigint[], ARRAY[1, 1, 1, 1, 1]::real[], 5) r
WHERE m.name <> 'explicit'
GROUP BY m.name ORDER BY m.name;

-- Folding in a known user's own training history gives back their stored
-- factors: the same recommendations as recommend by user id.
SELECT m.name,
       (SELECT array_agg(item_id ORDER BY score DESC) FROM recsys.recommend(m.model, 17, 10)) =
       (SELECT array_agg(item_id ORDER BY score DESC)
        FROM recsys.recommend(m.model,
                              (SELECT array_agg(item_id) FROM clusters WHERE user_id = 17),
                              (SELECT array_agg(1::real) FROM clusters WHERE user_id = 17), 10)) AS same
FROM cluster_models m WHERE m.name IN ('implicit', 'cholesky') ORDER BY m.name;

-- Similar items: the neighbours of an item are of its class, best first,
-- never the item itself; cosine similarity is at most 1.
SELECT m.name, bool_and(s.item_id / 30 = 1) AS same_class, bool_and(s.item_id <> 45) AS not_itself,
       array_agg(s.score ORDER BY s.n) = array_agg(s.score ORDER BY s.score DESC) AS best_first,
       bool_and(s.score <= 1.000001) AS cosine, count(*) AS k
FROM cluster_models m, recsys.similar_items(m.model, 45, 8) WITH ORDINALITY s(item_id, score, n)
GROUP BY m.name ORDER BY m.name;
SELECT count(*) AS unknown_item FROM cluster_models m, recsys.similar_items(m.model, 9999) s
WHERE m.name = 'implicit';

-- Explanations add up to the score: the contributions of every item of the
-- history, plus the baseline row (NULL item_id) where the model has one.
SELECT m.name,
       abs(sum(e.contribution) - recsys.predict(m.model, 5, 33)) < 1e-3 AS adds_up,
       count(*) FILTER (WHERE e.item_id IS NULL) AS baseline_rows,
       bool_and(e.item_id IS NULL OR e.item_id IN (SELECT item_id FROM clusters WHERE user_id = 5))
         AS from_history
FROM cluster_models m, recsys.explain(m.model, 5, 33, 1000) e
GROUP BY m.name, m.model ORDER BY m.name;

-- The top contributions to a same-class item come from that class, largest first.
SELECT bool_and(e.item_id / 30 = 1) AS same_class, count(*) AS k
FROM cluster_models m, recsys.explain(m.model, 5, 33, 3) e
WHERE m.name = 'implicit';
SELECT bool_and(contribution >= next) AS largest_first
FROM (SELECT e.contribution, lead(e.contribution) OVER (ORDER BY ordinality) AS next
      FROM cluster_models m, recsys.explain(m.model, 5, 33, 6) WITH ORDINALITY e
      WHERE m.name = 'implicit') s WHERE next IS NOT NULL;
SELECT count(*) AS nothing_to_explain
FROM cluster_models m, recsys.explain(m.model, 9999, 33) e WHERE m.name = 'implicit';

-- Embeddings for export.
SELECT m.name, array_length(recsys.user_vector(m.model, 5), 1) AS user_dims,
       array_length(recsys.item_vector(m.model, 33), 1) AS item_dims,
       recsys.user_vector(m.model, 9999) IS NULL AS unknown_user,
       recsys.item_vector(m.model, 9999) IS NULL AS unknown_item
FROM cluster_models m ORDER BY m.name;
SELECT abs((SELECT sum(a * b) FROM unnest(recsys.user_vector(m.model, 5), recsys.item_vector(m.model, 33)) t(a, b))
           - recsys.predict(m.model, 5, 33)) < 1e-5 AS dot_is_score
FROM cluster_models m WHERE m.name = 'implicit';

-- Errors.
\set VERBOSITY default
SELECT * FROM cluster_models m, recsys.recommend(m.model, ARRAY[1, 2]::bigint[], ARRAY[1]::real[]) WHERE m.name = 'implicit';
SELECT * FROM cluster_models m, recsys.recommend(m.model, ARRAY[1, NULL]::bigint[], ARRAY[1, 1]::real[]) WHERE m.name = 'implicit';
SELECT * FROM cluster_models m, recsys.recommend(m.model, ARRAY[1, 2]::bigint[], ARRAY[1, NULL]::real[]) WHERE m.name = 'implicit';
SELECT * FROM cluster_models m, recsys.recommend(m.model, ARRAY[1, 2]::bigint[], ARRAY[1, 'NaN']::real[]) WHERE m.name = 'implicit';
SELECT * FROM cluster_models m, recsys.recommend(m.model, ARRAY[1, 2]::bigint[], ARRAY[1, -1]::real[]) WHERE m.name = 'implicit';
SELECT * FROM cluster_models m, recsys.recommend(m.model, ARRAY[[1, 2]]::bigint[], ARRAY[[1, 1]]::real[]) WHERE m.name = 'implicit';
SELECT * FROM cluster_models m, recsys.recommend(m.model, ARRAY[1]::bigint[], ARRAY[1]::real[], 0) WHERE m.name = 'implicit';
SELECT * FROM cluster_models m, recsys.similar_items(m.model, 1, 0) WHERE m.name = 'implicit';
SELECT * FROM cluster_models m, recsys.explain(m.model, 1, 1, 0) WHERE m.name = 'implicit';
SELECT recsys.train_als(user_id, item_id, -1, '{"feedback": "implicit"}') FROM clusters;
SELECT recsys.train_als(user_id, item_id, 1, '{"feedback": "implicit", "prior_count": 3}') FROM clusters;
SELECT recsys.train_als(user_id, item_id, 1, '{"alpha": 3}') FROM clusters;
SELECT recsys.train_als(user_id, item_id, 1, '{"feedback": "implicit", "solver": "lu"}') FROM clusters;
SELECT recsys.train_als(user_id, item_id, 1, '{"feedback": "implicit", "cg_steps": 0}') FROM clusters;
SELECT recsys.train_bpr(user_id, item_id, '{"negatives": "hard"}') FROM clusters;
SELECT recsys.train_bpr(user_id, item_id, '{"learning_rate": 0}') FROM clusters;
SELECT recsys.train_bpr(user_id, item_id, '{"epoch": 3}') FROM clusters;
\set VERBOSITY terse
-- an empty history is allowed: nothing is known of the visitor, who gets
-- what an unknown user gets
SELECT array_agg(h.item_id ORDER BY h.score DESC) = array_agg(u.item_id ORDER BY u.score DESC) AS as_unknown_user
FROM cluster_models m, recsys.recommend(m.model, '{}'::bigint[], '{}'::real[], 3) WITH ORDINALITY h
JOIN recsys.recommend(m.model, -1, 3) WITH ORDINALITY u USING (ordinality)
WHERE m.name = 'implicit';

-- BPR options are reported; popularity-sampled negatives train too.
SELECT (recsys.model_info(recsys.train_bpr(user_id, item_id,
        '{"factors": 4, "epochs": 2, "negatives": "popularity", "seed": 3}')) -> 'options') - 'threads' AS options
FROM clusters;
