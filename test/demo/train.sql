-- Trains an ALS model on the training split and stores it as a bytea.

SET client_min_messages = warning;
DROP TABLE IF EXISTS models;
CREATE TABLE models (
    name       text PRIMARY KEY,
    model      bytea NOT NULL,
    trained_at timestamptz DEFAULT now()
);

\echo
\echo '=== Training ALS on ratings_train'
\timing on
INSERT INTO models(name, model)
SELECT 'movies', recsys.train_als(user_id, movie_id, rating) FROM ratings_train;
\timing off

\echo
\echo '=== Model summary'
-- Bare output, so the JSON reads as JSON.
\pset tuples_only on
\pset format unaligned
SELECT jsonb_pretty(recsys.model_info(model)) FROM models WHERE name = 'movies';
\pset tuples_only off
\pset format aligned
