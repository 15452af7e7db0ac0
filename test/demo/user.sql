-- One user's profile, top-10 recommendations and held-out ratings next to the
-- model's predictions. Included by show.sql with :user set.

\echo
\echo '=== User' :user
SELECT count(*) AS training_ratings, round(avg(rating)::numeric, 2) AS mean_rating
FROM ratings_train WHERE user_id = :user;

\echo 'Highest rated in training:'
SELECT m.title, t.rating
FROM ratings_train t JOIN movies m USING (movie_id)
WHERE t.user_id = :user
ORDER BY t.rating DESC, t.rated_at DESC, m.title
LIMIT 5;

\echo 'Top-10 recommendations (movies not yet rated):'
SELECT r.item_id, m.title, round(r.score::numeric, 2) AS predicted
FROM models, recsys.recommend(models.model, :user, 10) r
     JOIN movies m ON m.movie_id = r.item_id
WHERE models.name = 'movies'
ORDER BY r.score DESC;

\echo 'Held-out ratings against predictions:'
SELECT m.title, t.rating AS actual,
       round(recsys.predict(mo.model, t.user_id, t.movie_id)::numeric, 2) AS predicted
FROM ratings_test t JOIN movies m USING (movie_id) CROSS JOIN models mo
WHERE mo.name = 'movies' AND t.user_id = :user
ORDER BY t.rated_at, m.title
LIMIT 8;
