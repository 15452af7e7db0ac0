-- recommend_batch: many users' top k in one call, equal to recommend for
-- each of them (factor models score a block of users with one matrix
-- product, so scores agree to float rounding), users in the order given,
-- each user's best first.  Models of every kind on the planted classes of
-- ease.sql, and the explicit ALS model of serving.sql.
CREATE TABLE batch_models AS
SELECT 'implicit_als' AS name,
       recsys.train_als(user_id, item_id, 1, '{"feedback": "implicit", "factors": 8}') AS model
FROM ease_clusters
UNION ALL
SELECT 'bpr', recsys.train_bpr(user_id, item_id, '{"factors": 8, "epochs": 5}') FROM ease_clusters
UNION ALL
SELECT 'knn', recsys.train_knn(user_id, item_id, 1) FROM ease_clusters
UNION ALL
SELECT 'ease', recsys.train_ease(user_id, item_id, '{"lambda": 100}') FROM ease_clusters
UNION ALL
SELECT 'ncf', recsys.train_ncf(user_id, item_id, '{"factors": 4, "layers": [8], "epochs": 2}')
FROM ease_clusters
UNION ALL
SELECT 'als', model FROM models WHERE name = 'planted';

-- Users: known ones, one the models do not know, and a repeat.
CREATE TABLE batch_users AS
SELECT ARRAY[5, 17, -1, 3, 150, 5]::bigint[] AS ids;

CREATE TABLE batch_rows AS
SELECT m.name, b.user_id, b.item_id, b.score, b.ordinality AS position
FROM batch_models m, batch_users u,
     recsys.recommend_batch(m.model, u.ids, 7) WITH ORDINALITY b;
CREATE TABLE single_rows AS
SELECT m.name, s.ord AS slot, s.user_id, r.item_id, r.score
FROM batch_models m, batch_users u,
     unnest(u.ids) WITH ORDINALITY AS s(user_id, ord),
     recsys.recommend(m.model, s.user_id, 7) r;

-- The same lists: per model, as many rows, the same (user, item) pairs, the
-- same scores to float rounding.
SELECT b.name,
       (SELECT count(*) FROM batch_rows x WHERE x.name = b.name) AS batch_rows,
       (SELECT count(*) FROM single_rows x WHERE x.name = b.name) AS single_rows,
       (SELECT count(*) FROM (SELECT user_id, item_id FROM batch_rows x WHERE x.name = b.name
                              EXCEPT ALL
                              SELECT user_id, item_id FROM single_rows x WHERE x.name = b.name) d) AS differing,
       (SELECT max(abs(x.score - y.score) / (1 + abs(y.score)))
        FROM (SELECT DISTINCT user_id, item_id, score FROM batch_rows WHERE name = b.name) x
        JOIN (SELECT DISTINCT user_id, item_id, score FROM single_rows WHERE name = b.name) y
          USING (user_id, item_id)) < 1e-5 AS same_scores
FROM (SELECT DISTINCT name FROM batch_models) b
ORDER BY b.name;

-- In the users' order, each user's best first.
SELECT name, bool_and(best_first) AS best_first
FROM (SELECT name,
             lead(user_id) OVER w IS DISTINCT FROM user_id
             OR score >= lead(score) OVER w AS best_first
      FROM batch_rows WINDOW w AS (PARTITION BY name ORDER BY position)) s
GROUP BY name ORDER BY name;
SELECT name, string_agg(user_id::text, ',' ORDER BY first) AS users
FROM (SELECT name, user_id, min(position) AS first, count(*) AS n
      FROM (SELECT name, user_id, position,
                   position - row_number() OVER (PARTITION BY name, user_id ORDER BY position) AS run
            FROM batch_rows) r
      GROUP BY name, user_id, run) g
GROUP BY name ORDER BY name;

-- exclude_seen false, a k beyond the catalogue, no users.
SELECT count(*) FILTER (WHERE b.item_id IN (SELECT item_id FROM ease_clusters c WHERE c.user_id = b.user_id)) > 0 AS seen_included
FROM batch_models m, recsys.recommend_batch(m.model, '{5, 17}', 30, false) b WHERE m.name = 'ease';
SELECT count(*) = 2 * (SELECT count(DISTINCT item_id) FROM ease_clusters) AS whole_catalogue
FROM batch_models m, recsys.recommend_batch(m.model, '{-7, -8}', 100000) b WHERE m.name = 'knn';
SELECT count(*) AS no_users FROM batch_models m, recsys.recommend_batch(m.model, '{}', 10) b;

-- Bad arguments.
SELECT * FROM recsys.recommend_batch((SELECT model FROM batch_models WHERE name = 'knn'), '{1, NULL}', 5);
SELECT * FROM recsys.recommend_batch((SELECT model FROM batch_models WHERE name = 'knn'), '{{1}, {2}}', 5);
SELECT * FROM recsys.recommend_batch((SELECT model FROM batch_models WHERE name = 'knn'), '{1}', 0);
SELECT * FROM recsys.recommend_batch('\x0102', '{1}', 5);
