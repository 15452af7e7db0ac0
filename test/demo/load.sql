-- Loads MovieTweetings 100K into movies / ratings and splits off a held-out test set.
-- Run from the repository root: the \copy paths are relative to it.

SET client_min_messages = warning;    -- no notices from the DROP on a first run
DROP TABLE IF EXISTS movies, ratings, ratings_train, ratings_test;

-- Each file line goes whole into one text column: \x01 / \x02 never occur in the
-- data, so CSV mode with them as delimiter and quote does no splitting or unescaping.
CREATE TEMP TABLE raw (line text);

\copy raw(line) FROM 'test/data/movietweetings-100k/movies.dat' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TABLE movies (
    movie_id bigint PRIMARY KEY,    -- IMDb id; the leading zeros of the file go away
    title    text NOT NULL,
    genres   text[] NOT NULL        -- empty for the few movies without genres
);
INSERT INTO movies
SELECT split_part(line, '::', 1)::bigint,
       split_part(line, '::', 2),
       string_to_array(split_part(line, '::', 3), '|')
FROM raw;

TRUNCATE raw;
\copy raw(line) FROM 'test/data/movietweetings-100k/ratings.dat' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TABLE ratings (
    user_id  bigint NOT NULL,
    movie_id bigint NOT NULL,
    rating   real NOT NULL,         -- 0..10
    rated_at timestamptz NOT NULL
);
INSERT INTO ratings
SELECT split_part(line, '::', 1)::bigint,
       split_part(line, '::', 2)::bigint,
       split_part(line, '::', 3)::real,
       to_timestamp(split_part(line, '::', 4)::bigint)
FROM raw;
DROP TABLE raw;

-- A deterministic ~10% hold-out by hashing the (user, movie) pair.
CREATE TABLE ratings_test AS
SELECT * FROM ratings WHERE abs(hashint8(user_id * 100003 + movie_id)) % 10 = 0;
CREATE TABLE ratings_train AS
SELECT * FROM ratings WHERE abs(hashint8(user_id * 100003 + movie_id)) % 10 <> 0;
ANALYZE movies, ratings, ratings_train, ratings_test;

\echo
\echo '=== MovieTweetings 100K loaded'
SELECT (SELECT count(*) FROM movies)                   AS movies,
       (SELECT count(*) FROM ratings)                  AS ratings,
       (SELECT count(DISTINCT user_id) FROM ratings)   AS users,
       (SELECT count(*) FROM ratings_train)            AS train,
       (SELECT count(*) FROM ratings_test)             AS held_out;
