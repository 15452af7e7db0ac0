#!/usr/bin/env bash
# How far the defaults are from the best setting of a grid, on data of very
# different shapes: MovieTweetings 100K (real, very sparse), its dense core
# (users with 20 ratings or more, items with 5 or more), a denser core
# (items with 30 or more, users with 15 or more) and planted taste
# clusters (test/bench/defaults.sql) at densities from 0.0005 to 0.04, flat
# and steep popularity, clean and noisy.  Every model is scored by NDCG@10
# of one held-out interaction per user (full ranking, training items left
# out), the metric of evaluate.  Explicit ALS is scored by the RMSE of a
# held-out tenth of MovieTweetings' ratings and of planted low-rank ratings
# of several ranks, densities, skews and noise levels.
#
# Prints two Markdown tables, also written to test/bench/defaults.md (the
# README's Tuning section quotes it).  Takes about half an hour on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source test/scripts/bench_common.sh
bench_begin bench-defaults

step "build and install"
make
"${sudo[@]}" make install PG_CONFIG="$(command -v pg_config)"

step "cluster and data"
cluster_start "$tmp/cluster" 5496
sql -c 'CREATE EXTENSION recsys'
sql -f test/bench/generate.sql
sql -f test/bench/defaults.sql
sql <<'EOF'
CREATE TABLE raw_lines (line text);
\copy raw_lines FROM 'test/data/movietweetings-100k/ratings.dat' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TABLE mt AS
SELECT split_part(line, '::', 1)::bigint AS user_id, split_part(line, '::', 2)::bigint AS item_id,
       1::real AS value
FROM raw_lines GROUP BY 1, 2;
CREATE TABLE mt_core AS SELECT * FROM mt;
DELETE FROM mt_core WHERE user_id IN (SELECT user_id FROM mt_core GROUP BY 1 HAVING count(*) < 20);
DELETE FROM mt_core WHERE item_id IN (SELECT item_id FROM mt_core GROUP BY 1 HAVING count(*) < 5);
DELETE FROM mt_core WHERE user_id IN (SELECT user_id FROM mt_core GROUP BY 1 HAVING count(*) < 20);
DELETE FROM mt_core WHERE item_id IN (SELECT item_id FROM mt_core GROUP BY 1 HAVING count(*) < 5);
CREATE TABLE mt_dense_core AS SELECT * FROM mt;
DELETE FROM mt_dense_core WHERE item_id IN (SELECT item_id FROM mt_dense_core GROUP BY 1 HAVING count(*) < 30);
DELETE FROM mt_dense_core WHERE user_id IN (SELECT user_id FROM mt_dense_core GROUP BY 1 HAVING count(*) < 15);
DELETE FROM mt_dense_core WHERE item_id IN (SELECT item_id FROM mt_dense_core GROUP BY 1 HAVING count(*) < 30);
DELETE FROM mt_dense_core WHERE user_id IN (SELECT user_id FROM mt_dense_core GROUP BY 1 HAVING count(*) < 15);
-- name, users, items, interactions drawn per user, skew, noise, seed
CREATE TABLE planted_very_sparse AS SELECT * FROM planted_clicks(30000, 6000, 5, 3.0, 0.2, 12);
CREATE TABLE planted_sparse AS SELECT * FROM planted_clicks(10000, 3000, 12, 2.5, 0.2, 2);
CREATE TABLE planted_mid AS SELECT * FROM planted_clicks(5000, 4000, 40, 1.8, 0.3, 11);
CREATE TABLE planted_dense AS SELECT * FROM planted_clicks(3000, 2000, 100, 2.5, 0.2, 1);
CREATE TABLE planted_flat AS SELECT * FROM planted_clicks(3000, 2000, 100, 1.0, 0.2, 3);
CREATE TABLE planted_noisy AS SELECT * FROM planted_clicks(3000, 2000, 100, 2.5, 0.6, 4);
CREATE TABLE planted_ml1m AS SELECT * FROM planted_clicks(6000, 3700, 260, 2.5, 0.3, 5);
EOF
sets=(mt mt_core mt_dense_core planted_very_sparse planted_sparse planted_mid planted_dense planted_flat
      planted_noisy planted_ml1m)
for s in "${sets[@]}"; do sql -c "CALL split_one_per_user('$s')"; done

# One table row per data set: the shape, then for each model the old or
# current defaults against the best of its grid.
rows=()
for s in "${sets[@]}"; do
    step "$s"
    line=$(sql -At -F ' | ' <<EOF
WITH shape AS (
    SELECT count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items, count(*) AS n
    FROM ${s}_train),
ials AS (
    SELECT max(held_out_ndcg('$s', 'train_als',
                             jsonb_build_object('feedback', 'implicit', 'alpha', a,
                                                'regularization', rho * (1 + a)))) AS best
    FROM unnest(ARRAY[1, 2.5, 5, 10, 20, 40, 80]) a, unnest(ARRAY[5, 10, 20]) rho),
ease AS (
    SELECT max(held_out_ndcg('$s', 'train_ease', jsonb_build_object('lambda', l, 'max_items', 4000))) AS best
    FROM unnest(ARRAY[30, 100, 300, 1000, 3000]) l),
knn AS (
    SELECT max(held_out_ndcg('$s', 'train_knn', jsonb_build_object('neighbors', n))) AS best
    FROM unnest(ARRAY[10, 25, 50, 100, 200, 400]) n),
bpr AS (
    SELECT max(held_out_ndcg('$s', 'train_bpr',
                             jsonb_build_object('epochs', e, 'regularization', r, 'threads', 1))) AS best
    FROM unnest(ARRAY[10, 20, 40, 80, 160]) e, unnest(ARRAY[0.001, 0.01]) r)
SELECT '$s', to_char(users, 'FM999,999') || ' × ' || to_char(items, 'FM999,999'),
       to_char(n::float8 / users / items, 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_als', '{"feedback": "implicit", "alpha": 40, "regularization": 400}'),
               'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_als', '{"feedback": "implicit"}'), 'FM0.0000'),
       to_char(ials.best, 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_ease', '{"max_items": 4000}'), 'FM0.0000'),
       to_char(ease.best, 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_knn', '{"neighbors": 50}'), 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_knn', '{}'), 'FM0.0000'),
       to_char(knn.best, 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_bpr', '{"epochs": 40, "threads": 1}'), 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_bpr', '{"threads": 1}'), 'FM0.0000'),
       to_char(bpr.best, 'FM0.0000')
FROM shape, ials, ease, knn, bpr;
EOF
)
    echo "    $line"
    rows+=("| $line |")
done

# Explicit ALS: the measured regularization against the fixed pair it
# replaced and a grid, on MovieTweetings' ratings and planted ratings.
sql <<'EOF'
CREATE TABLE ratings_mt AS
SELECT split_part(line, '::', 1)::bigint AS user_id, split_part(line, '::', 2)::bigint AS item_id,
       avg(split_part(line, '::', 3)::real)::real AS value
FROM raw_lines GROUP BY 1, 2;
-- users, items, rank, density, scale, bias, noise, skew, seed
CREATE TABLE ratings_clean AS SELECT * FROM planted_ratings(600, 400, 5, 0.125, 1, 0.5, 0.1, 1, 1);
CREATE TABLE ratings_noisy AS SELECT * FROM planted_ratings(600, 400, 5, 0.125, 1, 0.5, 1.0, 1, 2);
CREATE TABLE ratings_sparse AS SELECT * FROM planted_ratings(3000, 2000, 10, 0.01, 1, 0.5, 0.5, 2, 3);
CREATE TABLE ratings_skewed AS SELECT * FROM planted_ratings(2000, 1000, 3, 0.05, 2, 0.3, 0.1, 3, 4);
CREATE TABLE ratings_rank20 AS SELECT * FROM planted_ratings(1000, 800, 20, 0.2, 1, 0.5, 0.3, 1, 5);
EOF
rating_sets=(ratings_mt ratings_clean ratings_noisy ratings_sparse ratings_skewed ratings_rank20)
rating_rows=()
for s in "${rating_sets[@]}"; do
    step "$s"
    sql -c "CALL split_ratings('$s')"
    line=$(sql -At -F ' | ' <<EOF
WITH shape AS (
    SELECT count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items, count(*) AS n
    FROM ${s}_train),
grid AS (
    SELECT l, n0, (held_out_rmse('$s', jsonb_build_object('regularization', l, 'prior_count', n0))).rmse
    FROM unnest(ARRAY[0.003, 0.01, 0.03, 0.1, 0.3, 1]) l, unnest(ARRAY[0, 3, 10, 30, 100, 300]) n0),
measured AS (SELECT * FROM held_out_rmse('$s', '{}'))
SELECT '$s', to_char(users, 'FM999,999') || ' × ' || to_char(items, 'FM999,999'),
       to_char(n::float8 / users / items, 'FM0.0000'),
       to_char((held_out_rmse('$s', '{"regularization": 0.05, "prior_count": 100}')).rmse, 'FM0.0000'),
       to_char(measured.rmse, 'FM0.0000'), to_char(measured.regularization, 'FM0.0000'),
       (SELECT to_char(rmse, 'FM0.0000') || ' (' || l || ', ' || n0 || ')' FROM grid ORDER BY rmse LIMIT 1)
FROM shape, measured;
EOF
)
    echo "    $line"
    rating_rows+=("| $line |")
done

{
    echo "NDCG@10 of one held-out interaction per user (full ranking). Implicit ALS"
    echo "before: alpha 40, regularization 400; grid: alpha 1-80 x regularization"
    echo "5-20 x (1 + alpha). EASE grid: lambda 30-3000. Item-kNN before: 50"
    echo "neighbors; defaults: measured; grid: neighbors 10-400. BPR (one thread)"
    echo "before: 40 epochs; grid: epochs 10-160 x regularization 0.001, 0.01."
    echo
    echo "| data | users × items | density | implicit ALS before | implicit ALS defaults | implicit ALS best of grid | EASE default | EASE best of grid | item-kNN before | item-kNN defaults | item-kNN best of grid | BPR before | BPR defaults | BPR best of grid |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Explicit ALS, RMSE on a held-out tenth of the ratings. Before:"
    echo "regularization 0.05, prior_count 100; defaults: prior_count 10 and the"
    echo "regularization measured on held-out ratings; grid: regularization"
    echo "0.003-1 x prior_count 0-300 (best: regularization, prior_count)."
    echo
    echo "| data | users × items | density | explicit ALS before | explicit ALS defaults | measured regularization | best of grid |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rating_rows[@]}"
} | tee test/bench/defaults.md
