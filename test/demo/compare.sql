-- Ranking models compared on held-out data, as an analyst would: every rating
-- taken as an interaction (implicit feedback), each user's latest one held
-- out, four models trained on the rest and scored by recsys.evaluate in one
-- query, next to recommending the most popular movies.

SET client_min_messages = warning;
DROP TABLE IF EXISTS sequence, implicit_train, implicit_test, popular;

-- Leave-latest-out for the users with at least 5 ratings (ties on the
-- timestamp broken by id, so the split is stable); users with fewer keep
-- all their ratings in training.
CREATE TABLE sequence AS
SELECT user_id, movie_id,
       row_number() OVER (PARTITION BY user_id ORDER BY rated_at DESC, movie_id DESC) AS recency,
       count(*) OVER (PARTITION BY user_id) AS n
FROM ratings;
CREATE TABLE implicit_train AS
SELECT user_id, movie_id FROM sequence WHERE recency > 1 OR n < 5;
CREATE TABLE implicit_test AS
SELECT user_id, movie_id FROM sequence WHERE recency = 1 AND n >= 5;
CREATE INDEX ON implicit_train (user_id, movie_id);
ANALYZE sequence, implicit_train, implicit_test;

\echo
\echo '=== Ranking models on implicit feedback: every rating an interaction, each user''s latest'
\echo '    rating held out (users with 5 or more); training implicit ALS, BPR, item-kNN and EASE'
\timing on
-- BPR on one thread, which is exactly reproducible; EASE on the 3,000 most
-- popular movies with 100 weights kept per movie: small and fast, and
-- ranking as well as the dense model over all of them.
INSERT INTO models (name, model)
SELECT 'implicit_als', recsys.train_als(user_id, movie_id, 1, '{"feedback": "implicit"}') FROM implicit_train
UNION ALL
SELECT 'bpr', recsys.train_bpr(user_id, movie_id, '{"threads": 1}') FROM implicit_train
UNION ALL
SELECT 'knn', recsys.train_knn(user_id, movie_id, 1) FROM implicit_train
UNION ALL
SELECT 'ease', recsys.train_ease(user_id, movie_id, '{"max_items": 3000, "prune": 100}') FROM implicit_train
ON CONFLICT (name) DO UPDATE SET model = excluded.model, trained_at = now();
\timing off

-- The baseline: the most interacted-with movies the user has not seen.
CREATE TABLE popular AS
SELECT movie_id, count(*) AS n FROM implicit_train GROUP BY movie_id;
CREATE INDEX ON popular (n DESC, movie_id);    -- read in order until 10 unseen
ANALYZE popular;

\echo
\echo '=== Held-out top 10 of all unseen movies, per model, best first'
\echo '    (one held-out movie per user: hr10 = recall@10, precision@10 = hr10 / 10)'
WITH held_out AS (
    SELECT array_agg(user_id ORDER BY user_id) AS users,
           array_agg(movie_id ORDER BY user_id) AS items
    FROM implicit_test
), scored AS (
    SELECT m.name AS model, e.users, e.hit_rate, e.ndcg, e.average_precision,
           pg_size_pretty(length(m.model)::bigint) AS size,
           round((recsys.model_info(m.model) ->> 'training_seconds')::numeric, 1) AS train_s
    FROM models m, held_out h,
         LATERAL recsys.evaluate(m.model, h.users, h.items, 10) e
    WHERE m.name IN ('implicit_als', 'bpr', 'knn', 'ease')
    UNION ALL
    SELECT 'most popular', count(*),
           avg(recsys.hit_rate(p.top10, ARRAY[t.movie_id], 10)),
           avg(recsys.ndcg(p.top10, ARRAY[t.movie_id], 10)),
           avg(recsys.average_precision(p.top10, ARRAY[t.movie_id], 10)),
           NULL, NULL
    FROM implicit_test t
    CROSS JOIN LATERAL (
        SELECT ARRAY(SELECT pop.movie_id FROM popular pop
                     WHERE NOT EXISTS (SELECT 1 FROM implicit_train s
                                       WHERE s.user_id = t.user_id AND s.movie_id = pop.movie_id)
                     ORDER BY pop.n DESC, pop.movie_id LIMIT 10) AS top10) p
)
SELECT model, users,
       round(hit_rate::numeric, 3)          AS hr10,
       round(ndcg::numeric, 3)              AS ndcg10,
       round(average_precision::numeric, 3) AS map10,
       size, train_s
FROM scored
ORDER BY ndcg DESC;
