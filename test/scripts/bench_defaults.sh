#!/usr/bin/env bash
# How far the defaults are from the best setting of a grid, on data of very
# different shapes: MovieTweetings 100K (real, very sparse), its dense core
# (users with 20 ratings or more, items with 5 or more) and planted taste
# clusters (test/bench/defaults.sql) at densities from 0.0005 to 0.04, flat
# and steep popularity, clean and noisy.  Every model is scored by NDCG@10
# of one held-out interaction per user (full ranking, training items left
# out), the metric of evaluate.
#
# Prints one Markdown table, also written to test/bench/defaults.md (the
# README's Tuning section quotes it).  Takes about fifteen minutes on 2 cores.
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
-- name, users, items, interactions drawn per user, skew, noise, seed
CREATE TABLE planted_very_sparse AS SELECT * FROM planted_clicks(30000, 6000, 5, 3.0, 0.2, 12);
CREATE TABLE planted_sparse AS SELECT * FROM planted_clicks(10000, 3000, 12, 2.5, 0.2, 2);
CREATE TABLE planted_mid AS SELECT * FROM planted_clicks(5000, 4000, 40, 1.8, 0.3, 11);
CREATE TABLE planted_dense AS SELECT * FROM planted_clicks(3000, 2000, 100, 2.5, 0.2, 1);
CREATE TABLE planted_flat AS SELECT * FROM planted_clicks(3000, 2000, 100, 1.0, 0.2, 3);
CREATE TABLE planted_noisy AS SELECT * FROM planted_clicks(3000, 2000, 100, 2.5, 0.6, 4);
CREATE TABLE planted_ml1m AS SELECT * FROM planted_clicks(6000, 3700, 260, 2.5, 0.3, 5);
EOF
sets=(mt mt_core planted_very_sparse planted_sparse planted_mid planted_dense planted_flat
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
    FROM unnest(ARRAY[10, 25, 50, 100, 200, 400]) n)
SELECT '$s', to_char(users, 'FM999,999') || ' × ' || to_char(items, 'FM999,999'),
       to_char(n::float8 / users / items, 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_als', '{"feedback": "implicit", "alpha": 40, "regularization": 400}'),
               'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_als', '{"feedback": "implicit"}'), 'FM0.0000'),
       to_char(ials.best, 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_ease', '{"max_items": 4000}'), 'FM0.0000'),
       to_char(ease.best, 'FM0.0000'),
       to_char(held_out_ndcg('$s', 'train_knn', '{}'), 'FM0.0000'),
       to_char(knn.best, 'FM0.0000')
FROM shape, ials, ease, knn;
EOF
)
    echo "    $line"
    rows+=("| $line |")
done

{
    echo "NDCG@10 of one held-out interaction per user (full ranking). Implicit ALS"
    echo "before: alpha 40, regularization 400; grid: alpha 1-80 x regularization"
    echo "5-20 x (1 + alpha). EASE grid: lambda 30-3000. Item-kNN grid: neighbors"
    echo "10-400."
    echo
    echo "| data | users × items | density | implicit ALS before | implicit ALS defaults | implicit ALS best of grid | EASE default | EASE best of grid | item-kNN default | item-kNN best of grid |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} | tee test/bench/defaults.md
