-- Benchmark fixtures, after test/demo/load.sql: a model of all MovieTweetings
-- 100K ratings stored in a table (several MB, so TOASTed out of line, as a
-- real deployment would keep it), and the distinct users numbered 1..N so a
-- benchmark can pick one at random by number.

SET client_min_messages = warning;
DROP TABLE IF EXISTS models, bench_users;

CREATE TABLE models (
    name  text PRIMARY KEY,
    model bytea NOT NULL
);
INSERT INTO models
SELECT 'mt100k', recsys.train_als(user_id, movie_id, rating) FROM ratings;

CREATE TABLE bench_users (
    n       int PRIMARY KEY,
    user_id bigint NOT NULL
);
INSERT INTO bench_users
SELECT row_number() OVER (ORDER BY user_id), user_id
FROM (SELECT DISTINCT user_id FROM ratings) u;

VACUUM ANALYZE models, bench_users;
