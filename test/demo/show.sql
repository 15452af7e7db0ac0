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
