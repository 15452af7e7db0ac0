-- Real data: MovieTweetings 100K (MIT licence, test/data/movietweetings-100k).
-- A tenth of the ratings, chosen by a hash of the pair, is held out.  ALS
-- (and item-kNN, below) with default options must beat the bias-only
-- baseline (global mean plus user and item biases shrunk with lambda = 3)
-- computed here on the same split.
CREATE TEMP TABLE raw_lines (line text);
\copy raw_lines FROM 'test/data/movietweetings-100k/ratings.dat' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TABLE mt_ratings AS
SELECT split_part(line, '::', 1)::bigint AS user_id,
       split_part(line, '::', 2)::bigint AS movie_id,
       split_part(line, '::', 3)::real AS rating,
       split_part(line, '::', 4)::bigint AS rated_at,
       abs(hashint8(split_part(line, '::', 1)::bigint * 100003
                    + split_part(line, '::', 2)::bigint)) % 10 = 0 AS held_out
FROM raw_lines;

SELECT count(*) AS ratings, count(*) FILTER (WHERE held_out) AS held_out,
       count(DISTINCT user_id) AS users, count(DISTINCT movie_id) AS movies
FROM mt_ratings;

CREATE TABLE mt_baseline AS
WITH mu AS (SELECT avg(rating) AS mu FROM mt_ratings WHERE NOT held_out),
item_bias AS (
    SELECT movie_id, sum(rating - mu) / (3 + count(*)) AS bi
    FROM mt_ratings, mu WHERE NOT held_out GROUP BY movie_id),
user_bias AS (
    SELECT user_id, sum(rating - mu - coalesce(bi, 0)) / (3 + count(*)) AS bu
    FROM mt_ratings r CROSS JOIN mu LEFT JOIN item_bias USING (movie_id)
    WHERE NOT held_out GROUP BY user_id)
SELECT sqrt(avg((mu + coalesce(bu, 0) + coalesce(bi, 0) - rating) ^ 2)) AS rmse
FROM mt_ratings r CROSS JOIN mu
LEFT JOIN item_bias USING (movie_id) LEFT JOIN user_bias USING (user_id)
WHERE held_out;

SELECT round(rmse::numeric, 3) AS baseline_rmse FROM mt_baseline;

CREATE TABLE mt_model AS
SELECT recsys.train_als(user_id, movie_id, rating) AS model FROM mt_ratings WHERE NOT held_out;

SELECT als.rmse < b.rmse AS beats_baseline, als.rmse < 1.526 AS below_1_526
FROM mt_baseline b,
     (SELECT sqrt(avg((recsys.predict(m.model, r.user_id, r.movie_id) - r.rating) ^ 2)) AS rmse
      FROM mt_ratings r, mt_model m WHERE r.held_out) als;

SELECT info -> 'users' AS users, info -> 'items' AS items, info -> 'interactions' AS interactions,
       info -> 'factors' AS factors, info -> 'iterations' AS iterations
FROM (SELECT recsys.model_info(model) AS info FROM mt_model) s;

-- Item-kNN on ratings (kNN with baselines) must beat the same baseline.
CREATE TABLE mt_knn AS
SELECT recsys.train_knn(user_id, movie_id, rating, '{"feedback": "explicit"}') AS model
FROM mt_ratings WHERE NOT held_out;

SELECT knn.rmse < b.rmse AS knn_beats_baseline
FROM mt_baseline b,
     (SELECT sqrt(avg((recsys.predict(m.model, r.user_id, r.movie_id) - r.rating) ^ 2)) AS rmse
      FROM mt_ratings r, mt_knn m WHERE r.held_out) knn;
