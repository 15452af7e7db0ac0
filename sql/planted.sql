-- ALS recovers a planted low-rank matrix: ratings = 5 + rank-3 signal +
-- uniform noise with standard deviation 0.5, 25% of the entries observed,
-- a fifth of those held out.  Generated deterministically (no random()).
CREATE TABLE planted AS
WITH observed AS (
    SELECT u, i FROM generate_series(1, 400) u, generate_series(1, 300) i
    WHERE abs(hashint8(u * 1000 + i)) % 100 < 25)
SELECT u::bigint AS user_id, i::bigint AS item_id,
       (5 + 2 * (sin(u * 1.1) * sin(i * 0.7) + cos(u * 0.3) * cos(i * 1.3)
                 + sin(u * 0.5 + 1) * cos(i * 0.9 + 2))
          + 0.5 * sqrt(12) * ((abs(hashint8(u * 7919 + i * 104729)) % 10000) / 10000.0 - 0.5)
       )::real AS rating,
       abs(hashint8(u * 31 + i * 17)) % 5 = 0 AS held_out
FROM observed;

SELECT count(*) AS ratings, count(*) FILTER (WHERE held_out) AS held_out FROM planted;

CREATE TABLE planted_models AS
SELECT 'default' AS name, recsys.train_als(user_id, item_id, rating) AS model
FROM planted WHERE NOT held_out;

-- Held-out RMSE with default options: near the noise floor of 0.5, far
-- below predicting the mean.
SELECT rmse BETWEEN 0.5 AND 0.65 AS near_noise_floor, mean_rmse > 1.5 AS mean_is_far
FROM (SELECT sqrt(avg((recsys.predict(m.model, p.user_id, p.item_id) - p.rating) ^ 2)) AS rmse,
             sqrt(avg((5 - p.rating) ^ 2)) AS mean_rmse
      FROM planted p, planted_models m
      WHERE p.held_out AND m.name = 'default') s;

-- The training loss (RMSE) falls from the first iteration on and ends near
-- the noise; ALS minimises the regularised objective, so RMSE itself need not
-- fall at every step.
SELECT (info -> 'loss' ->> 14)::float8 < (info -> 'loss' ->> 0)::float8 AS loss_falls,
       (info -> 'loss' ->> 14)::float8 < 0.55 AS fits_training,
       info -> 'iterations' AS iterations, info -> 'users' AS users, info -> 'items' AS items,
       info -> 'factors' AS factors
FROM (SELECT recsys.model_info(model) AS info FROM planted_models WHERE name = 'default') s;
