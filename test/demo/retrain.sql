-- Scheduled retraining in one CALL: recsys.retrain trains the EASE model of
-- compare.sql afresh, evaluates it on the held-out ratings, keeps the version
-- with its description and metrics in a history table and swaps it into
-- models in one transaction.  This is what a nightly pg_cron job would run.

SET client_min_messages = warning;    -- its NOTICE repeats what the history row shows
DROP TABLE IF EXISTS model_history;
CREATE TABLE model_history (
    name       text,
    version    int,
    model      bytea,
    trained_at timestamptz,
    info       jsonb,
    PRIMARY KEY (name, version)
);

\echo
\echo '=== Retraining the ease model as a scheduled job would, keeping its last 7 versions'
\set ECHO queries
CALL recsys.retrain('models', 'ease',
                    $$SELECT recsys.train_ease(user_id, movie_id, '{"max_items": 3000, "prune": 100}')
                      FROM implicit_train$$,
                    holdout_query => 'SELECT user_id, movie_id FROM implicit_test',
                    history => 'model_history', keep => 7);
\set ECHO none

\echo 'The version it recorded, now the one served:'
\x on
SELECT h.name, h.version, date_trunc('second', h.trained_at) AS trained_at,
       m.model = h.model AS served,
       h.info ->> 'algorithm' AS algorithm,
       (h.info ->> 'users')::int AS users,
       (h.info ->> 'items')::int AS items,
       (h.info ->> 'interactions')::int AS interactions,
       pg_size_pretty(length(h.model)::bigint) AS size,
       round((h.info ->> 'seconds')::numeric, 1) AS seconds,
       (h.info -> 'holdout' ->> 'users')::int AS held_out_users,
       round((h.info -> 'holdout' ->> 'hit_rate')::numeric, 3) AS hr10,
       round((h.info -> 'holdout' ->> 'ndcg')::numeric, 3) AS ndcg10
FROM model_history h JOIN models m USING (name)
ORDER BY h.version DESC
LIMIT 1;
\x off
