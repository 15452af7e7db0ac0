-- The hybrid model on real data: MovieTweetings 100K (mt_ratings, loaded by
-- movietweetings.sql), each movie tagged with its genres and its decade from
-- movies.dat ('genre:Drama', 'decade:1990s'); users have no tags.
--
-- 1. New items.  Every interaction with a fifth of the movies (by a hash of
--    the id) is held out; the models learn from the rest.  For each user with
--    a held-out interaction, the held-out movies, and only they, are ranked:
--    HR@10, Recall@10 and AUC (a held-out movie of the user's against one the
--    user did not touch, ties counting half).  The hybrid model scores a new
--    movie by its tags alone, predict(model, user_id, item_tags); against it,
--    the popularity of the movie's tags, the user's own tag profile, and a
--    random order.  Measured for a sample of the test users and for those
--    with 20 or more interactions, over all the new movies and without the
--    one that holds 6 % of the held-out interactions.
-- 2. Known items.  Leave-latest-out, as movietweetings_implicit.sql splits:
--    the hybrid model against implicit ALS and the most popular items.
--
-- The hybrid models' HR@10 and Recall@10 move in the second decimal with
-- the seed, so they are shown as comparisons with wide margins; the
-- baselines' scores are integers and hashes, the same on every machine, and
-- are shown rounded.
-- WARP and BPR update shared vectors without locks on more threads: one
-- thread is exactly reproducible, so the test fixes it.
CREATE TEMP TABLE mth_lines (line text);
\copy mth_lines FROM 'test/data/movietweetings-100k/movies.dat' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
-- "movie_id::Title (Year)::Genre1|Genre2"; a few movies have no genre, every
-- title ends in its year.
CREATE TABLE mth_movies AS
SELECT split_part(line, '::', 1)::bigint AS movie_id,
       ARRAY(SELECT 'genre:' || g
             FROM unnest(string_to_array(nullif(split_part(line, '::', 3), ''), '|')) g ORDER BY g)
       || ('decade:' || substring(split_part(line, '::', 2) FROM '\((\d{3})\d\)$') || '0s') AS tags,
       abs(hashint8(split_part(line, '::', 1)::bigint)) % 5 = 0 AS new_item
FROM mth_lines;

SELECT count(*) AS movies, count(*) FILTER (WHERE new_item) AS new_movies,
       count(*) FILTER (WHERE tags[cardinality(tags)] IS NULL) AS without_decade,
       count(*) FILTER (WHERE cardinality(tags) = 1) AS without_genre,
       (SELECT count(DISTINCT t) FROM mth_movies, unnest(tags) t) AS tags,
       (SELECT count(*) FROM mt_ratings r WHERE NOT EXISTS
           (SELECT 1 FROM mth_movies m WHERE m.movie_id = r.movie_id)) AS ratings_of_unknown_movies
FROM mth_movies;

-- 1. New items.  Test users: those with a held-out interaction who have
-- interactions in training.
CREATE TABLE mth_train AS
SELECT r.user_id, r.movie_id, m.tags
FROM mt_ratings r JOIN mth_movies m USING (movie_id) WHERE NOT m.new_item;
CREATE TABLE mth_test AS
SELECT r.user_id, r.movie_id
FROM mt_ratings r JOIN mth_movies m USING (movie_id)
WHERE m.new_item AND r.user_id IN (SELECT user_id FROM mth_train);

SELECT (SELECT count(*) FROM mth_train) AS train, (SELECT count(*) FROM mth_test) AS held_out,
       (SELECT count(DISTINCT user_id) FROM mth_test) AS test_users;

CREATE TABLE mth_models (name text, model bytea);
INSERT INTO mth_models
SELECT 'hybrid', recsys.train_hybrid(user_id, movie_id, 1, NULL, tags, '{"threads": 1}') FROM mth_train;
INSERT INTO mth_models
SELECT 'hybrid_bpr', recsys.train_hybrid(user_id, movie_id, 1, NULL, tags, '{"threads": 1, "loss": "bpr"}')
FROM mth_train;
-- A model of the tags alone: no user has a vector, so it warns and gives
-- every user the same ranking, a learned popularity of the tags.
INSERT INTO mth_models
SELECT 'tags_only', recsys.train_hybrid(user_id, movie_id, 1, NULL, tags, '{"threads": 1, "identity": "none"}')
FROM mth_train;

-- Every method but random scores a movie by its tags alone, so the new
-- movies with the same tags tie.  Each user's ranking is computed over the
-- distinct tag sets (911 of them for 2,112 movies), each with its movies in
-- the order of a hash of the id: the same ranks as over the movies, ties
-- broken by that hash (between sets, by the hash of their first movie).
--
-- One new movie holds 6 % of the held-out interactions (World War Z, 2013,
-- with five genres), so a method that puts its tags in the top 10 gains
-- HR@10 from that one movie.  Each measurement is made twice: over all the
-- new movies, and without that movie (removed from the candidates and from
-- every user's held-out ones).
CREATE TABLE mth_top_movie AS
SELECT movie_id FROM mth_test GROUP BY movie_id ORDER BY count(*) DESC, movie_id LIMIT 1;
SELECT m.movie_id, mm.tags, count(*) AS held_out,
       round(count(*) / (SELECT count(*) FROM mth_test)::numeric, 3) AS share
FROM mth_top_movie m JOIN mth_movies mm USING (movie_id) JOIN mth_test USING (movie_id)
GROUP BY m.movie_id, mm.tags;

CREATE TABLE mth_variants AS
SELECT 'all_new_movies'::text AS variant, NULL::bigint AS excluded
UNION ALL SELECT 'without_top_movie', movie_id FROM mth_top_movie;

CREATE TABLE mth_tag_sets AS
SELECT row_number() OVER (ORDER BY min(hashint8(movie_id)), tags)::int AS set_id, tags
FROM mth_movies WHERE new_item GROUP BY tags;
CREATE TABLE mth_set_tags AS SELECT set_id, tag FROM mth_tag_sets, unnest(tags) tag;
-- Each variant's sets: the same set ids (a set left empty has no movies).
CREATE TABLE mth_sets AS
SELECT v.variant, s.set_id,
       ARRAY(SELECT m.movie_id FROM mth_movies m
             WHERE m.new_item AND m.tags = s.tags AND m.movie_id IS DISTINCT FROM v.excluded
             ORDER BY hashint8(m.movie_id), m.movie_id) AS movies
FROM mth_variants v, mth_tag_sets s;
ALTER TABLE mth_sets ADD COLUMN n int;
UPDATE mth_sets SET n = cardinality(movies);
ALTER TABLE mth_sets ADD PRIMARY KEY (variant, set_id);

-- Each held-out interaction with its movie's set, in each variant.
CREATE TABLE mth_held_out AS
SELECT s.variant, t.user_id, t.movie_id, s.set_id
FROM mth_test t JOIN (SELECT variant, set_id, unnest(movies) AS movie_id FROM mth_sets) s USING (movie_id);
CREATE INDEX ON mth_held_out (variant, user_id);

-- Two groups of users.  "sampled": a fifth of the test users, by a hash of
-- the id (the measurement takes about 2 ms a user and method).  "dense":
-- every test user with at least 20 training interactions, the denser part of
-- the data.  For each user and variant: how many held-out movies the user
-- has in each set (in set order) and which they are.
CREATE TABLE mth_test_users AS
SELECT user_id, abs(hashint8(user_id)) % 5 = 0 AS sampled, count(*) >= 20 AS dense
FROM mth_train WHERE user_id IN (SELECT user_id FROM mth_test) GROUP BY user_id;
DELETE FROM mth_test_users WHERE NOT sampled AND NOT dense;
CREATE TABLE mth_users AS
SELECT v.variant, u.user_id, u.sampled, u.dense,
       ARRAY(SELECT coalesce(h.n, 0)::int
             FROM mth_tag_sets s
             LEFT JOIN (SELECT set_id, count(*) AS n FROM mth_held_out
                        WHERE variant = v.variant AND user_id = u.user_id GROUP BY set_id) h
               USING (set_id)
             ORDER BY s.set_id) AS positives,
       ARRAY(SELECT movie_id FROM mth_held_out
             WHERE variant = v.variant AND user_id = u.user_id ORDER BY movie_id) AS relevant
FROM mth_variants v, mth_test_users u;
-- Without the top movie, a user who held out nothing else has nothing to find.
DELETE FROM mth_users WHERE relevant = '{}';

SELECT variant, count(*) FILTER (WHERE sampled) AS sampled_users, count(*) FILTER (WHERE dense) AS dense_users,
       sum(cardinality(relevant)) AS held_out,
       bool_and((SELECT sum(p) FROM unnest(positives) p) = cardinality(relevant)) AS every_one_in_a_set
FROM mth_users GROUP BY variant ORDER BY variant;

-- A user's AUC and top 10 from the scores of the sets (in set order) and the
-- user's held-out movies in each: the sets grouped by score, each positive
-- counting the negatives of the lower scores and half those of its own.
CREATE FUNCTION mth_rank(variant text, scores float8[], positives int[], OUT auc float8, OUT top10 bigint[])
LANGUAGE sql STABLE AS $$
    WITH s AS (
        SELECT x.set_id, x.score, x.pos, s.n
        FROM unnest(scores, positives) WITH ORDINALITY x(score, pos, set_id)
        JOIN mth_sets s ON s.variant = mth_rank.variant AND s.set_id = x.set_id
        WHERE s.n > 0),
    levels AS (
        SELECT pos, neg, sum(neg) OVER (ORDER BY score ROWS UNBOUNDED PRECEDING) - neg AS neg_below
        FROM (SELECT score, sum(pos) AS pos, sum(n - pos) AS neg FROM s GROUP BY score) l)
    SELECT (SELECT sum(pos * (neg_below + 0.5 * neg)) / (sum(pos) * sum(neg)) FROM levels),
           ARRAY(SELECT m
                 FROM (SELECT set_id, score FROM s ORDER BY score DESC, set_id LIMIT 10) b
                 JOIN mth_sets ms ON ms.variant = mth_rank.variant AND ms.set_id = b.set_id,
                      unnest(ms.movies) WITH ORDINALITY x(m, o)
                 ORDER BY b.score DESC, b.set_id, x.o LIMIT 10)
$$;

-- Popularity of a set: the training interactions of its tags, summed.  (The
-- mean of them ranks worse by far, HR@10 0.003: how many tags of common
-- kinds a movie has is a signal of its own.)
CREATE TABLE mth_tag_counts AS
SELECT tag, count(*) AS n FROM mth_train, unnest(tags) tag GROUP BY tag;
CREATE TABLE mth_popularity AS
SELECT ARRAY(SELECT coalesce(sum(c.n), 0)::float8
             FROM mth_set_tags st LEFT JOIN mth_tag_counts c USING (tag)
             GROUP BY st.set_id ORDER BY st.set_id) AS scores;
-- A user's tag profile: how many of the user's training interactions carry
-- each tag (the share of them ranks the same).
CREATE TABLE mth_user_tags AS
SELECT user_id, tag, count(*) AS n
FROM mth_train, unnest(tags) tag
WHERE user_id IN (SELECT user_id FROM mth_test_users) GROUP BY user_id, tag;
CREATE INDEX ON mth_user_tags (user_id);

-- Not a score lost: every new movie has a tag the models know.
SELECT m.name, count(*) FILTER (WHERE recsys.predict(m.model, u.user_id, s.tags) IS NULL) AS null_scores
FROM mth_models m, (SELECT user_id FROM mth_test_users ORDER BY user_id LIMIT 10) u, mth_tag_sets s
GROUP BY m.name ORDER BY m.name;

-- Each user's scores of the sets, once for both variants.
CREATE TABLE mth_scores AS
SELECT m.name AS method, u.user_id,
       ARRAY(SELECT recsys.predict(m.model, u.user_id, s.tags) FROM mth_tag_sets s ORDER BY s.set_id) AS scores
FROM mth_test_users u, mth_models m
UNION ALL
SELECT 'genre_popularity', u.user_id, p.scores
FROM mth_test_users u, mth_popularity p
UNION ALL
SELECT 'tag_profile', u.user_id,
       ARRAY(SELECT coalesce(sum(c.n), 0)::float8
             FROM mth_set_tags st LEFT JOIN mth_user_tags c ON c.tag = st.tag AND c.user_id = u.user_id
             GROUP BY st.set_id ORDER BY st.set_id)
FROM mth_test_users u;

CREATE TABLE mth_ranked AS
SELECT u.variant, s.method, u.user_id, u.sampled, u.dense, u.relevant, r.auc, r.top10
FROM mth_users u JOIN mth_scores s USING (user_id), mth_rank(u.variant, s.scores, u.positives) r;

-- Random: the new movies in the order of a hash, each user starting at a
-- place of the user's own hash (a cyclic shift); a held-out movie outranks
-- the negatives after it (those after it, less the held-out movies after
-- it).  No ties.
CREATE TABLE mth_order AS
SELECT v.variant, m.movie_id,
       (row_number() OVER (PARTITION BY v.variant ORDER BY hashint8(m.movie_id), m.movie_id) - 1)::int AS place,
       count(*) OVER (PARTITION BY v.variant)::int AS n
FROM mth_variants v JOIN mth_movies m ON m.new_item AND m.movie_id IS DISTINCT FROM v.excluded;
INSERT INTO mth_ranked
SELECT u.variant, 'random', u.user_id, u.sampled, u.dense, u.relevant,
       (SELECT sum(n - 1 - rank - (count - k)) / (max(count) * (max(n) - max(count)))::float8
        FROM (SELECT o.n, (o.place + o.n - s.start) % o.n AS rank,
                     row_number() OVER (ORDER BY (o.place + o.n - s.start) % o.n) AS k,
                     count(*) OVER () AS count
              FROM mth_held_out h JOIN mth_order o USING (variant, movie_id)
              WHERE h.variant = u.variant AND h.user_id = u.user_id) p),
       ARRAY(SELECT o.movie_id FROM mth_order o
             WHERE o.variant = u.variant AND (o.place + o.n - s.start) % o.n < 10
             ORDER BY (o.place + o.n - s.start) % o.n)
FROM mth_users u,
     LATERAL (SELECT (abs(hashint8(u.user_id + 1000003))
                      % (SELECT count(*) FROM mth_order o WHERE o.variant = u.variant))::int AS start) s;

-- The measurement over sets is the measurement over movies: for 20 users,
-- the hybrid model's AUC and top 10 computed movie by movie, pair by pair,
-- in both variants.
CREATE TABLE mth_movie_scores AS
SELECT u.variant, u.user_id, s.set_id, x.m AS movie_id, x.o,
       recsys.predict(mo.model, u.user_id, t.tags) AS score, x.m = ANY (u.relevant) AS positive
FROM (SELECT * FROM mth_users WHERE sampled ORDER BY user_id, variant LIMIT 40) u, mth_models mo,
     mth_sets s JOIN mth_tag_sets t USING (set_id), unnest(s.movies) WITH ORDINALITY x(m, o)
WHERE mo.name = 'hybrid' AND s.variant = u.variant;
SELECT count(*) AS user_variants,
       bool_and(abs(r.auc - d.auc) < 1e-12) AS same_auc, bool_and(r.top10 = d.top10) AS same_top10
FROM mth_ranked r JOIN (
    SELECT p.variant, p.user_id,
           avg(CASE WHEN n.score < p.score THEN 1 WHEN n.score = p.score THEN 0.5 ELSE 0 END) AS auc,
           (SELECT array_agg(movie_id ORDER BY score DESC, set_id, o)
            FROM (SELECT * FROM mth_movie_scores a WHERE a.variant = p.variant AND a.user_id = p.user_id
                  ORDER BY score DESC, set_id, o LIMIT 10) t) AS top10
    FROM mth_movie_scores p
    JOIN mth_movie_scores n ON n.variant = p.variant AND n.user_id = p.user_id AND NOT n.positive
    WHERE p.positive GROUP BY p.variant, p.user_id) d USING (variant, user_id)
WHERE r.method = 'hybrid';

CREATE TABLE mth_cold AS
SELECT variant, g.users_group, method, count(*) AS users,
       avg(recsys.hit_rate(top10, relevant, 10)) AS hr10,
       avg(recsys.recall_at_k(top10, relevant, 10)) AS recall10,
       avg(auc) AS auc
FROM mth_ranked,
     LATERAL (SELECT 'sampled' AS users_group WHERE sampled UNION ALL SELECT 'dense' WHERE dense) g
GROUP BY variant, g.users_group, method;

-- The baselines, exactly.
SELECT variant, users_group, method, users, round(hr10::numeric, 3) AS hr10,
       round(recall10::numeric, 3) AS recall10, round(auc::numeric, 3) AS auc
FROM mth_cold WHERE method NOT LIKE 'hybrid%' AND method <> 'tags_only'
ORDER BY variant, users_group DESC, method;

-- Both hybrid models rank the new movies far better than chance (three
-- times random's HR@10 and Recall@10, AUC above 0.7) and, on AUC, as well as
-- the popularity of the tags or better (within 0.01), in every measurement.
-- Over all the new movies they find fewer of the user's movies in the top 10
-- than the popularity of the tags does; without the one movie, more.
SELECT h.variant, h.users_group, h.method,
       h.hr10 > 3 * r.hr10 AS hr10_3x_random, h.recall10 > 3 * r.recall10 AS recall10_3x_random,
       h.auc > 0.7 AS auc_above_0_7, h.auc > p.auc - 0.01 AS auc_as_genre_popularity_or_above,
       h.hr10 > p.hr10 AS beats_genre_popularity_hr10
FROM mth_cold h JOIN mth_cold r USING (variant, users_group) JOIN mth_cold p USING (variant, users_group)
WHERE h.method LIKE 'hybrid%' AND r.method = 'random' AND p.method = 'genre_popularity'
ORDER BY h.variant, h.users_group DESC, h.method;

-- The default model against the user's own tag profile on the top 10:
-- below it over all the new movies, above it without the one movie, for
-- the sampled users (most with a handful of interactions) and the dense ones
-- alike (seeds 1-3 agree; the BPR loss is as good as the profile there,
-- within the seeds' spread).
SELECT h.variant, h.users_group, h.hr10 > t.hr10 AS beats_tag_profile_hr10
FROM mth_cold h JOIN mth_cold t USING (variant, users_group)
WHERE h.method = 'hybrid' AND t.method = 'tag_profile'
ORDER BY h.variant, h.users_group DESC;

-- For the users with 20 or more interactions both models order the new
-- movies better than either baseline (AUC).
SELECT h.variant, h.method, h.auc > p.auc AS beats_genre_popularity_auc, h.auc > t.auc AS beats_tag_profile_auc
FROM mth_cold h JOIN mth_cold p USING (variant, users_group) JOIN mth_cold t USING (variant, users_group)
WHERE h.users_group = 'dense' AND h.method LIKE 'hybrid%' AND p.method = 'genre_popularity'
  AND t.method = 'tag_profile'
ORDER BY h.variant, h.method;

-- For the users of 20 or more interactions the model of the tags alone
-- orders the new movies worse than the personal model (AUC), yet without
-- the one movie its top 10 is the best of all: on this data the top of the
-- list is popularity (README, "On real data").
SELECT o.variant, o.hr10 > h.hr10 AND o.hr10 > p.hr10 AND o.hr10 > t.hr10 AS best_hr10,
       o.auc < h.auc - 0.03 AS auc_below_hybrid
FROM mth_cold o JOIN mth_cold h USING (variant, users_group) JOIN mth_cold p USING (variant, users_group)
JOIN mth_cold t USING (variant, users_group)
WHERE o.users_group = 'dense' AND o.method = 'tags_only' AND h.method = 'hybrid'
  AND p.method = 'genre_popularity' AND t.method = 'tag_profile'
ORDER BY o.variant;

-- 2. Known items, leave-latest-out: for each user with at least 5 ratings
-- the latest is held out, and all items the user has not seen are ranked.
CREATE TABLE mth_warm_sequence AS
SELECT user_id, movie_id,
       row_number() OVER (PARTITION BY user_id ORDER BY rated_at DESC, movie_id DESC) AS recency,
       count(*) OVER (PARTITION BY user_id) AS ratings
FROM mt_ratings;
CREATE TABLE mth_warm_train AS
SELECT s.user_id, s.movie_id, m.tags
FROM mth_warm_sequence s JOIN mth_movies m USING (movie_id) WHERE s.recency > 1 OR s.ratings < 5;
CREATE TABLE mth_warm_test AS
SELECT user_id, movie_id FROM mth_warm_sequence WHERE recency = 1 AND ratings >= 5;
SELECT (SELECT count(*) FROM mth_warm_train) AS train, (SELECT count(*) FROM mth_warm_test) AS test_users;

CREATE TABLE mth_warm_models (name text, model bytea);
INSERT INTO mth_warm_models
SELECT 'hybrid', recsys.train_hybrid(user_id, movie_id, 1, NULL, tags, '{"threads": 1}') FROM mth_warm_train;
INSERT INTO mth_warm_models
SELECT 'implicit_als', recsys.train_als(user_id, movie_id, 1, '{"feedback": "implicit"}') FROM mth_warm_train;

CREATE TABLE mth_warm_popular AS
SELECT movie_id, count(*) AS n FROM mth_warm_train GROUP BY movie_id;
CREATE INDEX ON mth_warm_train (user_id, movie_id);

CREATE TABLE mth_warm_ranked AS
SELECT m.name, t.user_id, t.movie_id,
       ARRAY(SELECT r.item_id FROM recsys.recommend(m.model, t.user_id, 10) r ORDER BY r.score DESC) AS top10
FROM mth_warm_test t, mth_warm_models m
UNION ALL
SELECT 'most_popular', t.user_id, t.movie_id,
       ARRAY(SELECT p.movie_id FROM mth_warm_popular p
             WHERE NOT EXISTS (SELECT 1 FROM mth_warm_train s WHERE s.user_id = t.user_id AND s.movie_id = p.movie_id)
             ORDER BY p.n DESC, p.movie_id LIMIT 10)
FROM mth_warm_test t;

CREATE TABLE mth_warm AS
SELECT name, count(*) AS users, avg(recsys.hit_rate(top10, ARRAY[movie_id], 10)) AS hr10,
       avg(recsys.ndcg(top10, ARRAY[movie_id], 10)) AS ndcg10
FROM mth_warm_ranked GROUP BY name;

SELECT users, round(hr10::numeric, 3) AS popular_hr10, round(ndcg10::numeric, 3) AS popular_ndcg10
FROM mth_warm WHERE name = 'most_popular';

-- On known items the hybrid model learns the popularity that drives this
-- data (HR@10 and NDCG@10 above 0.8 times the most popular items'), and
-- ranks as implicit ALS does, within 0.01 (seeds 1-3 fall below it by
-- 0.003-0.007, this one lands above; README, "On real data").
SELECT h.users, h.hr10 > 0.8 * p.hr10 AS hr10_above_0_8_popular,
       h.ndcg10 > 0.8 * p.ndcg10 AS ndcg10_above_0_8_popular,
       abs(h.hr10 - a.hr10) < 0.01 AS hr10_near_implicit_als,
       abs(h.ndcg10 - a.ndcg10) < 0.01 AS ndcg10_near_implicit_als,
       a.hr10 > p.hr10 AS implicit_als_beats_popular_hr10
FROM mth_warm h, mth_warm p, mth_warm a
WHERE h.name = 'hybrid' AND p.name = 'most_popular' AND a.name = 'implicit_als';
