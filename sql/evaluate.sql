-- evaluate: a model's ranking metrics on held-out pairs, equal to the
-- metrics computed by hand from recommend; an unknown user is scored on
-- the list recommend gives such a user;
-- bad arguments are refused.  Uses the planted classes of ease.sql (each
-- user's items mostly from one class of 30), holding out each user's
-- largest item.
CREATE TABLE eval_train AS
SELECT user_id, item_id FROM ease_clusters c
WHERE item_id <> (SELECT max(p.item_id) FROM ease_clusters p WHERE p.user_id = c.user_id);
CREATE TABLE eval_test AS
SELECT user_id, max(item_id) AS item_id FROM ease_clusters GROUP BY user_id;
-- a second held-out item for the first ten users, and a user nobody knows
INSERT INTO eval_test
SELECT user_id, min(item_id) FROM eval_train WHERE user_id <= 10 GROUP BY user_id;
INSERT INTO eval_test VALUES (-1, 5);

CREATE TABLE eval_models AS
SELECT 'knn' AS name, recsys.train_knn(user_id, item_id, 1) AS model FROM eval_train
UNION ALL
SELECT 'ease', recsys.train_ease(user_id, item_id, '{"lambda": 100}') FROM eval_train;

-- The same numbers by hand: each user's top 10 (seen items left out, so a
-- held-out item still in training is never recommended), the held-out
-- items as the relevant set, the average over users.
CREATE TABLE eval_by_hand AS
SELECT m.name, count(*) AS users,
       avg(recsys.hit_rate(r.top, t.relevant, 10)) AS hit_rate,
       avg(recsys.precision_at_k(r.top, t.relevant, 10)) AS precision_at_k,
       avg(recsys.recall_at_k(r.top, t.relevant, 10)) AS recall_at_k,
       avg(recsys.ndcg(r.top, t.relevant, 10)) AS ndcg,
       avg(recsys.average_precision(r.top, t.relevant, 10)) AS average_precision
FROM eval_models m
CROSS JOIN (SELECT user_id, array_agg(item_id) AS relevant FROM eval_test GROUP BY user_id) t
CROSS JOIN LATERAL (SELECT coalesce(array_agg(item_id ORDER BY ordinality), '{}') AS top
                    FROM recsys.recommend(m.model, t.user_id, 10) WITH ORDINALITY) r
GROUP BY m.name;

SELECT m.name, e.users,
       abs(e.hit_rate - h.hit_rate) < 1e-12 AS hit_rate,
       abs(e.precision_at_k - h.precision_at_k) < 1e-12 AS precision_at_k,
       abs(e.recall_at_k - h.recall_at_k) < 1e-12 AS recall_at_k,
       abs(e.ndcg - h.ndcg) < 1e-12 AS ndcg,
       abs(e.average_precision - h.average_precision) < 1e-12 AS average_precision,
       e.hit_rate > 0.3 AS learned_something
FROM eval_models m
JOIN eval_by_hand h USING (name),
     recsys.evaluate(m.model, (SELECT array_agg(user_id) FROM eval_test),
                     (SELECT array_agg(item_id) FROM eval_test)) e
ORDER BY m.name;

-- The unknown user is scored on the fallback list recommend gives it.
SELECT m.name, e.users, e.hit_rate = recsys.hit_rate(
           ARRAY(SELECT item_id FROM recsys.recommend(m.model, -1, 10)), '{5}', 10) AS as_recommend
FROM eval_models m, recsys.evaluate(m.model, '{-1}', '{5}') e
ORDER BY m.name;
SELECT m.name, e.users, e.hit_rate AS hit_rate_of_popular
FROM eval_models m,
     LATERAL (SELECT item_id FROM recsys.recommend(m.model, -1, 1)) top,
     recsys.evaluate(m.model, '{-1}', ARRAY[top.item_id]) e
ORDER BY m.name;

-- A perfect list: a user's held-out item is the model's own first choice.
SELECT e.* FROM eval_models m,
     LATERAL (SELECT item_id FROM recsys.recommend(m.model, 3, 1)) top,
     recsys.evaluate(m.model, ARRAY[3]::bigint[], ARRAY[top.item_id]) e
WHERE m.name = 'knn';

-- Held-out users and items the model does not know are counted: the one
-- unknown user of eval_test; every user when the ids are shifted, as a
-- join on the wrong column would; the pairs of never-trained items.
SELECT m.name, e.users, e.unknown_users, e.unknown_items,
       e.unknown_items = (SELECT count(*) FROM eval_test t
                          WHERE NOT EXISTS (SELECT FROM eval_train r WHERE r.item_id = t.item_id))
         AS unknown_items_right
FROM eval_models m,
     recsys.evaluate(m.model, (SELECT array_agg(user_id) FROM eval_test),
                     (SELECT array_agg(item_id) FROM eval_test)) e
ORDER BY m.name;
SELECT e.users, e.unknown_users
FROM eval_models m,
     recsys.evaluate(m.model, (SELECT array_agg(user_id + 1000000000) FROM eval_test),
                     (SELECT array_agg(item_id) FROM eval_test)) e
WHERE m.name = 'knn';

-- Nothing held out: no users, metrics undefined.
SELECT e.* FROM eval_models m, recsys.evaluate(m.model, '{}', '{}') e WHERE m.name = 'knn';

-- Bad arguments.
SELECT * FROM recsys.evaluate((SELECT model FROM eval_models WHERE name = 'knn'), '{1, 2}', '{1}');
SELECT * FROM recsys.evaluate((SELECT model FROM eval_models WHERE name = 'knn'), '{1, NULL}', '{1, 2}');
SELECT * FROM recsys.evaluate((SELECT model FROM eval_models WHERE name = 'knn'), '{1}', '{1}', 0);
SELECT * FROM recsys.evaluate('\x00'::bytea, '{1}', '{1}');
SELECT * FROM recsys.evaluate((SELECT recsys.train_mlp(ARRAY[g % 3, g % 5]::real[], (g % 2)::real,
                                                       '{"hidden": [2], "epochs": 1}')
                               FROM generate_series(1, 50) g), '{1}', '{1}');
