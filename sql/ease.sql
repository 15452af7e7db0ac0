-- EASE on planted clusters (the data of the implicit test): the closed-form
-- item-item weights recommend within the class, explanations add up, and a
-- pruned model ranks as the dense one does.
CREATE TABLE ease_clusters AS
SELECT u::bigint AS user_id, (u % 4 * 30 + (u * 7 + j * 11) % 30)::bigint AS item_id
FROM generate_series(0, 199) u, generate_series(1, 12) j
UNION
SELECT u::bigint, (u * 37 % 120)::bigint FROM generate_series(0, 199) u;

CREATE TABLE ease_models (name text PRIMARY KEY, model bytea);
INSERT INTO ease_models SELECT 'dense', recsys.train_ease(user_id, item_id, '{"lambda": 100}')
FROM ease_clusters;
INSERT INTO ease_models SELECT 'pruned', recsys.train_ease(user_id, item_id, '{"lambda": 100, "prune": 40}')
FROM ease_clusters;
-- only the 60 most popular items are modelled
INSERT INTO ease_models SELECT 'limited', recsys.train_ease(user_id, item_id, '{"lambda": 100, "max_items": 60}')
FROM ease_clusters;

SELECT name, info ->> 'algorithm' AS algorithm, info -> 'users' AS users, info -> 'items' AS items,
       info -> 'options' -> 'lambda' AS lambda, info -> 'options' -> 'prune' AS prune
FROM (SELECT name, recsys.model_info(model) AS info FROM ease_models) s ORDER BY name;

-- Every user's top 5 unseen items are of the user's class (with lambda 10
-- the one off-class item of each history pulls in its own class: 0.82).
SELECT m.name, avg((r.item_id / 30 = u % 4)::int) >= 0.9 AS in_class
FROM ease_models m, generate_series(0, 199) u, recsys.recommend(m.model, u, 5) r
WHERE m.name <> 'limited'
GROUP BY m.name ORDER BY m.name;

-- A limited model knows only its 60 items: it scores no other and
-- recommends none.
SELECT count(*) FILTER (WHERE recsys.predict(m.model, 0, i) IS NOT NULL) AS scored_items,
       (SELECT bool_and(recsys.predict(m.model, u, r.item_id) IS NOT NULL)
        FROM generate_series(0, 199) u, recsys.recommend(m.model, u, 5) r) AS recommends_them_only
FROM ease_models m, generate_series(0, 119) i
WHERE m.name = 'limited'
GROUP BY m.model;

-- Explanations: the history's weights towards the item, adding up to the score.
SELECT m.name, abs(sum(e.contribution) - recsys.predict(m.model, 5, 33)) < 1e-4 AS adds_up,
       count(*) FILTER (WHERE e.item_id IS NULL) AS baseline_rows,
       bool_and(e.item_id IN (SELECT item_id FROM ease_clusters WHERE user_id = 5)) AS from_history
FROM ease_models m, recsys.explain(m.model, 5, 33, 1000) e
WHERE m.name <> 'limited'
GROUP BY m.name, m.model ORDER BY m.name;

-- Similar items are of the class; a visitor's class-2 history gets class 2;
-- a known user's own history gives exactly their recommendations.
SELECT m.name, bool_and(s.item_id / 30 = 1) AS same_class, bool_and(s.item_id <> 45) AS not_itself
FROM ease_models m, recsys.similar_items(m.model, 45, 5) s
WHERE m.name <> 'limited' GROUP BY m.name ORDER BY m.name;
SELECT m.name, bool_and(r.item_id / 30 = 2) AS class_2,
       bool_and(r.item_id NOT IN (60, 61, 62, 63)) AS history_left_out, count(*) AS k
FROM ease_models m,
     recsys.recommend(m.model, ARRAY[60, 61, 62, 63]::bigint[], ARRAY[1, 1, 1, 1]::real[], 5) r
WHERE m.name <> 'limited' GROUP BY m.name ORDER BY m.name;
SELECT m.name,
       (SELECT array_agg(item_id ORDER BY score DESC, item_id) FROM recsys.recommend(m.model, 17, 10)) =
       (SELECT array_agg(item_id ORDER BY score DESC, item_id)
        FROM recsys.recommend(m.model,
                              (SELECT array_agg(item_id) FROM ease_clusters WHERE user_id = 17),
                              (SELECT array_agg(1::real) FROM ease_clusters WHERE user_id = 17), 10)) AS same
FROM ease_models m WHERE m.name <> 'limited' ORDER BY m.name;

-- A user the model does not know, or an empty history, gets the most
-- popular items.
SELECT m.name,
       array_agg(r.item_id ORDER BY r.score DESC, r.item_id) =
       (SELECT array_agg(item_id ORDER BY n DESC, item_id)
        FROM (SELECT item_id, count(*) AS n FROM ease_clusters GROUP BY item_id
              ORDER BY n DESC, item_id LIMIT 5) p) AS most_popular,
       array_agg(r.item_id ORDER BY r.score DESC, r.item_id) =
       (SELECT array_agg(h.item_id ORDER BY h.score DESC, h.item_id)
        FROM recsys.recommend(m.model, '{}'::bigint[], '{}'::real[], 5) h) AS empty_history_too
FROM ease_models m, recsys.recommend(m.model, 9999, 5) r
WHERE m.name <> 'limited' GROUP BY m.name, m.model ORDER BY m.name;

-- Unknown ids have no score.
SELECT recsys.predict(model, 9999, 33) IS NULL AS unknown_user,
       recsys.predict(model, 5, 9999) IS NULL AS unknown_item
FROM ease_models WHERE name = 'dense';

\set VERBOSITY default
SELECT recsys.item_vector(model, 5) FROM ease_models WHERE name = 'dense';
SELECT recsys.train_ease(user_id, item_id, '{"lambda": 0}') FROM ease_clusters;
SELECT recsys.train_ease(user_id, item_id, '{"prune": -1}') FROM ease_clusters;
SELECT recsys.train_ease(user_id, item_id, '{"max_items": -5}') FROM ease_clusters;
SELECT recsys.train_ease(user_id, item_id, '{"neighbors": 5}') FROM ease_clusters;
-- Sizes are checked before anything is allocated: 16,400 items do not fit
-- a dense bytea, 46,341 do not fit in training at all, unless max_items
-- leaves fewer.
SELECT recsys.train_ease(i, i) FROM generate_series(1, 16400) i;
SELECT recsys.train_ease(i, i, '{"prune": 10}') FROM generate_series(1, 46341) i;
SELECT recsys.train_ease(i, i, '{"prune": 10000}') FROM generate_series(1, 20000) i;
SELECT recsys.model_info(recsys.train_ease(i, i, '{"max_items": 100}')) -> 'items' AS items
FROM generate_series(1, 46341) i;
\set VERBOSITY terse
SELECT recsys.train_ease(user_id, item_id) IS NULL AS empty FROM ease_clusters WHERE false;
