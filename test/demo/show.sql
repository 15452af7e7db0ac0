-- Recommendations for the two most active training users, and the model's
-- error on the held-out ratings.

-- Chosen by data, not by hand: ties broken by id, so the pick is stable.
WITH ranked AS (
    SELECT user_id, row_number() OVER (ORDER BY count(*) DESC, user_id) AS n
    FROM ratings_train GROUP BY user_id
)
SELECT max(user_id) FILTER (WHERE n = 1) AS user_a,
       max(user_id) FILTER (WHERE n = 2) AS user_b
FROM ranked \gset

\set user :user_a
\ir user.sql
\set user :user_b
\ir user.sql

\echo
\echo '=== Error on the held-out ratings (0..10 scale), against always predicting the training mean'
WITH scored AS (
    SELECT t.rating, recsys.predict(m.model, t.user_id, t.movie_id) AS predicted
    FROM ratings_test t CROSS JOIN models m
    WHERE m.name = 'movies'
), mean AS (
    SELECT avg(rating) AS mu FROM ratings_train
)
SELECT count(*)          AS held_out,
       count(predicted)  AS predicted,
       round(sqrt(avg((predicted - rating) ^ 2))::numeric, 3) AS rmse,
       round(sqrt(avg((mu - rating) ^ 2) FILTER (WHERE predicted IS NOT NULL))::numeric, 3)
                         AS rmse_of_mean
FROM scored, mean;

\echo
\echo '=== A new visitor, not in the model, who rated The Matrix 10, The Dark Knight 9 and'
\echo '    The Dark Knight Rises 9: recommendations folded in from that history at query time'
SELECT r.item_id, m.title, round(r.score::numeric, 2) AS predicted
FROM models, recsys.recommend(models.model, ARRAY[133093, 468569, 1345836]::bigint[],
                              ARRAY[10, 9, 9]::real[], 10) r
     JOIN movies m ON m.movie_id = r.item_id
WHERE models.name = 'movies'
ORDER BY r.score DESC;

\echo
\echo '=== Why user' :user_a 'gets their top recommendation: the rated movies that contribute most'
\echo '    (the row without a title is the baseline: mean plus biases)'
SELECT e.item_id, m.title, round(e.contribution::numeric, 3) AS contribution
FROM models,
     LATERAL (SELECT item_id FROM recsys.recommend(models.model, :user_a, 1)) top,
     recsys.explain(models.model, :user_a, top.item_id, 5) e
     LEFT JOIN movies m ON m.movie_id = e.item_id
WHERE models.name = 'movies';

\echo
\echo '=== The same, phrased for an application: each user''s top 3 recommendations and the movies'
\echo '    they rated above their own average that contribute most to each'
WITH top AS (
    SELECT u.user_id, r.item_id, r.rank
    FROM models mo,
         (VALUES (:user_a), (:user_b)) u(user_id),
         recsys.recommend(mo.model, u.user_id, 3) WITH ORDINALITY r(item_id, score, rank)
    WHERE mo.name = 'movies'
), reasons AS (
    -- explain ranks the whole history (k above its length); only positive
    -- contributions from movies the user liked make a reason to show
    SELECT top.user_id, top.item_id, top.rank,
           format('%s (%s/10)', m.title, t.rating) AS reason,
           row_number() OVER (PARTITION BY top.user_id, top.item_id
                              ORDER BY e.contribution DESC) AS n
    FROM models mo, top,
         recsys.explain(mo.model, top.user_id, top.item_id, 1000) e
         JOIN ratings_train t ON t.movie_id = e.item_id
         JOIN movies m ON m.movie_id = e.item_id
    WHERE mo.name = 'movies' AND t.user_id = top.user_id AND e.contribution > 0
      AND t.rating > (SELECT avg(a.rating) FROM ratings_train a WHERE a.user_id = top.user_id)
), phrased AS (
    SELECT user_id, item_id, rank, array_agg(reason ORDER BY n) AS reasons
    FROM reasons WHERE n <= 3
    GROUP BY user_id, item_id, rank
)
SELECT p.user_id AS "user", m.title AS recommended,
       'Because you rated '
       || CASE WHEN cardinality(p.reasons) = 1 THEN p.reasons[1]
               ELSE array_to_string(p.reasons[1:cardinality(p.reasons) - 1], ', ')
                    || ' and ' || p.reasons[cardinality(p.reasons)] END AS why
FROM phrased p JOIN movies m ON m.movie_id = p.item_id
ORDER BY p.user_id = :user_b, p.rank;

\echo
\echo '=== Movies most similar to The Matrix (cosine of item factors)'
SELECT s.item_id, m.title, round(s.score::numeric, 3) AS similarity
FROM models, recsys.similar_items(models.model, 133093, 5) s
     JOIN movies m ON m.movie_id = s.item_id
WHERE models.name = 'movies'
ORDER BY s.score DESC;
