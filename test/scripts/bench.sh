#!/usr/bin/env bash
# Benchmarks: builds and installs recsys, starts a throwaway cluster,
# generates interaction data of MovieLens-1M and MovieLens-20M shape in the
# database (test/bench/generate.sql), and measures every speed against a
# reference measured in the same run, so results compare across machines as
# ratios, never as absolute time limits.
#
#   machine   sgemm peak on 1 and all cores; the cost of a page fault
#   1. collection: train_* transition over ML-20M rows vs SELECT sum(value);
#      the same with 2 parallel workers vs none
#   2. explicit ALS, ML-1M, 64 factors: s/iteration in SQL, GFLOP/s vs sgemm
#   3. implicit ALS, ML-1M and ML-20M, 64 factors: s/iteration vs the
#      `implicit` library's published figure; peak memory of the ML-20M run
#   4. BPR, kNN, EASE, NCF on ML-1M: time and their own rate; the hybrid
#      model's WARP and BPR samples/s against BPR's, and predict by tags vs
#      by id over 10,000 items; implicit ALS's
#      defaults against one fit with their setting given, "tune" against
#      one default fit
#   5. serving a 27k-item, 64-factor model: recommend under pgbench, ORDER BY
#      predict vs a trivial ORDER BY, recommend_batch vs recommend per user,
#      the first predict in a new connection, a network with subnormal
#      weights vs ordinary ones
#      the sequence model's training throughput and recommend from a history
#   6. train_mlp vs scikit-learn's MLPClassifier on the same million rows
#
# Prints one Markdown table, also written to test/bench/results.md.  Takes
# about ten minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source test/scripts/bench_common.sh

# scikit-learn is the peer of the reference network (Debian's, outside any virtualenv)
bash test/scripts/install-deps.sh python3-sklearn
bench_begin bench

# holds EXPR: "yes" if the awk condition is true, else "no"
holds() { awk "BEGIN { print ($1) ? \"yes\" : \"no\" }"; }
# info_key JSON NAME: a number from model_info's JSON
info_key() { sed -nE "s/.*\"$2\": ([0-9.e+-]+).*/\\1/p" <<<"$1"; }
# best_ms RUNS SETUP QUERY: best wall time in ms of RUNS runs in one session
best_ms() {
    local runs=$1 setup=$2 query=$3
    { echo "$setup"; echo '\o /dev/null'; echo '\timing on'
      for _ in $(seq "$runs"); do echo "$query"; done
    } | sql | awk '/^Time: / { t = $2 + 0; if (best == "" || t < best) best = t }
                   END { if (best == "") exit 1; printf "%.3f", best }'
}
# iteration_seconds FILE: the fastest iteration of the verbose NOTICEs in FILE
# ("iteration N of M: loss L, S s; E s elapsed, about R s left")
iteration_seconds() {
    sed -nE 's/.*NOTICE:  iteration [0-9]+ of [0-9]+: loss [^,]+, ([0-9.]+) s;.*/\1/p' "$1" |
        awk '{ s = $1 + 0; if (best == "" || s < best) best = s }
             END { if (best == "") exit 1; printf "%.3f", best }'
}

rows=()     # table rows, in order
# row MEASUREMENT MEASURED REFERENCE RATIO TARGET MET
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }

cores=$(nproc)

step "build and install"
make
"${sudo[@]}" make install PG_CONFIG="$(command -v pg_config)"
make bench-tools
tools=test/bench/obj

# --- the machine ---------------------------------------------------------------------
step "sgemm peak: best of 10 timed runs of a 1024 x 1024 float product, 1 thread and $cores threads"
"$tools/sgemm_peak" 1024 | tee "$tmp/sgemm.txt" | sed 's/^/    /'
peak1=$(key "$tmp/sgemm.txt" sgemm.gflops_1thread)
peak=$(key "$tmp/sgemm.txt" sgemm.gflops_all)
step "first write to fresh memory (a page fault per page) against rewriting it: 64 MiB, best of 3"
"$tools/memory_touch" 64 | tee "$tmp/touch.txt" | sed 's/^/    /'
touch_first=$(key "$tmp/touch.txt" touch.first_us_per_page)
touch_again=$(key "$tmp/touch.txt" touch.again_us_per_page)
touch_page=$(( $(key "$tmp/touch.txt" touch.page_bytes) / 1024 ))
fault_ms_per_mib=$(calc "$touch_first * 1024 / $touch_page / 1000")

# --- the cluster and the data --------------------------------------------------------
step "cluster and data: ML-1M shape (6,040 x 3,706, ~1M rows) and ML-20M shape (138,493 x 26,744, ~20M rows)"
cluster_start "$tmp/cluster" 5497
cat <<'EOF' | as_pg tee -a "$PGHOST/data/postgresql.conf" >/dev/null
shared_buffers = '2GB'
max_wal_size = '8GB'
EOF
as_pg "$(pg_config --bindir)/pg_ctl" -D "$PGHOST/data" -l "$PGHOST/server.log" -w restart >/dev/null
sql -c 'CREATE EXTENSION recsys'
sql -f test/bench/generate.sql
sql <<'EOF'
SET work_mem = '1GB';
CREATE UNLOGGED TABLE ml1m AS SELECT * FROM bench_interactions(6040, 3706, 1172000, 1);
CREATE UNLOGGED TABLE ml20m AS SELECT * FROM bench_interactions(138493, 26744, 20850000, 2);
-- the catalogue in key order, as a table loaded by its key is: a query that
-- scores items in scan order then reads the model's item rows in order too
CREATE TABLE bench_items AS SELECT DISTINCT item_id FROM ml20m ORDER BY item_id;
CREATE TABLE models (name text PRIMARY KEY, model bytea NOT NULL);
-- as README advises: models are hardly compressible, and an uncompressed
-- out-of-line value loads in one copy
ALTER TABLE models ALTER COLUMN model SET STORAGE EXTERNAL;
VACUUM ANALYZE ml1m, ml20m, bench_items;
EOF
shape() {
    sql -At -F ' ' -c "SELECT count(*), count(DISTINCT user_id), count(DISTINCT item_id) FROM $1"
}
read -r ml1m_rows ml1m_users ml1m_items < <(shape ml1m)
read -r ml20m_rows ml20m_users ml20m_items < <(shape ml20m)
say "ml1m:  $ml1m_rows rows, $ml1m_users users, $ml1m_items items"
say "ml20m: $ml20m_rows rows, $ml20m_users users, $ml20m_items items"
serial='SET max_parallel_workers_per_gather = 0;'

# --- 1. collection -------------------------------------------------------------------
step "1. collection: train_als over the $ml20m_rows ML-20M rows, time to reach the final function"
say "(model_info's collect_seconds: planning, the scan and the transition function), against"
say "SELECT sum(value) over the same rows; 1 factor and 1 iteration keep the fitting short"
scan_ms=$(best_ms 3 "$serial" 'SELECT sum(value) FROM ml20m;')
collect_query="SELECT recsys.model_info(recsys.train_als(user_id, item_id, value,
    '{\"feedback\": \"implicit\", \"factors\": 1, \"iterations\": 1}')) FROM ml20m"
collect_ms() {   # SETUP: best collect_seconds of 2 runs, in ms
    for _ in 1 2; do
        info_key "$(sql -At -c "$1" -c "$collect_query")" collect_seconds
    done | sort -g | head -1 | awk '{ printf "%.1f", $1 * 1000 }'
}
collect_serial_ms=$(collect_ms "$serial")
parallel='SET max_parallel_workers_per_gather = 2;'
sql -c "$parallel" -c "EXPLAIN (COSTS OFF) $collect_query" | tee "$tmp/explain.txt" | sed 's/^/    /'
partial=no; grep -q 'Partial Aggregate' "$tmp/explain.txt" && partial=yes
collect_parallel_ms=$(collect_ms "$parallel")
say "sum(value): $scan_ms ms; collection serial $collect_serial_ms ms, 2 workers $collect_parallel_ms ms"
row "collection: train_als transition over $ml20m_rows rows (collect_seconds)" \
    "$collect_serial_ms ms" "SELECT sum(value): $scan_ms ms" \
    "$(calc "$collect_serial_ms / $scan_ms" %.2f)" "≤ 1.5" \
    "$(holds "$collect_serial_ms <= 1.5 * $scan_ms")"
row "parallel collection, 2 workers (EXPLAIN shows Partial Aggregate: $partial)" \
    "$collect_parallel_ms ms" "parallelism off: $collect_serial_ms ms" \
    "$(calc "$collect_parallel_ms / $collect_serial_ms" %.2f)" "< 1, Partial Aggregate" \
    "$(holds "$collect_parallel_ms < $collect_serial_ms && \"$partial\" == \"yes\"")"

# --- 2. explicit ALS -----------------------------------------------------------------
step "2. explicit ALS on ML-1M, 64 factors, $cores threads: s/iteration in SQL (verbose NOTICEs),"
say "operations per iteration counted by test/bench/als_flops.c on the same rows"
sql -c "$serial" -c "SELECT length(recsys.train_als(user_id, item_id, value, '{\"iterations\": 5, \"verbose\": true}')) FROM ml1m" \
    >/dev/null 2>"$tmp/als_explicit.txt"
als_s=$(iteration_seconds "$tmp/als_explicit.txt")
sql -At -c "COPY (SELECT user_id || '::' || item_id || '::' || value || '::0' FROM ml1m) TO STDOUT" >"$tmp/ml1m.dat"
"$tools/als_flops" "$tmp/ml1m.dat" 5 1 | tee "$tmp/als.txt" | sed 's/^/    /'
als_gflop=$(key "$tmp/als.txt" mt.gflop_per_iteration)
als_gflops=$(calc "$als_gflop / $als_s" %.1f)
say "SQL: $als_s s per iteration, $als_gflop GFLOP per iteration: $als_gflops GFLOP/s"
row "explicit ALS, ML-1M shape, 64 factors: $als_s s/iteration (target ≤ 0.10 s: $(holds "$als_s <= 0.10"))" \
    "$als_gflops GFLOP/s" "sgemm, $cores threads: $(calc "$peak" %.1f) GFLOP/s" \
    "$(calc "$als_gflops / $peak" %.3f)" "≥ 0.45" "$(holds "$als_gflops >= 0.45 * $peak")"

# --- 3. implicit ALS -----------------------------------------------------------------
step "3. implicit ALS (conjugate gradient), 64 factors, $cores threads: s/iteration"
say "reference: the implicit library's published ~6.7 core-seconds per iteration on ML-20M"
say "at 64 factors, i.e. $(calc "6.7 / $cores" %.2f) s on $cores cores"
sql -c "SELECT length(recsys.train_als(user_id, item_id, value, '{\"feedback\": \"implicit\", \"iterations\": 5, \"verbose\": true}')) FROM ml1m" \
    >/dev/null 2>"$tmp/implicit_ml1m.txt"
implicit1m_s=$(iteration_seconds "$tmp/implicit_ml1m.txt")
# The ML-20M run is also the serving model of step 5, and its backend's peak
# memory (VmHWM, after a plain scan so that shared buffers count in the baseline)
# is compared with its input (rows x 20 bytes: two bigints and a real) plus the model.
sql >"$tmp/implicit_ml20m.out" 2>"$tmp/implicit_ml20m.txt" <<'EOF'
SET max_parallel_workers_per_gather = 0;
SELECT sum(value) FROM ml20m;
SELECT pg_backend_pid() AS pid \gset
\setenv BACKEND :pid
\! awk '/^VmHWM/ { print "before_kb", $2 }' /proc/$BACKEND/status
INSERT INTO models
SELECT 'serving', recsys.train_als(user_id, item_id, value,
                                   '{"feedback": "implicit", "iterations": 3, "verbose": true}')
FROM ml20m;
\! awk '/^VmHWM/ { print "after_kb", $2 }' /proc/$BACKEND/status
SELECT 'model_bytes', length(model) FROM models WHERE name = 'serving';
EOF
sed -i 's/|/ /' "$tmp/implicit_ml20m.out"
implicit20m_s=$(iteration_seconds "$tmp/implicit_ml20m.txt")
grep -E 'collected|iteration' "$tmp/implicit_ml20m.txt" | sed 's/^.*NOTICE: */    /'
peak_mib=$(calc "($(key "$tmp/implicit_ml20m.out" after_kb) - $(key "$tmp/implicit_ml20m.out" before_kb)) / 1024" %.0f)
serving_bytes=$(key "$tmp/implicit_ml20m.out" model_bytes)
input_mib=$(calc "$ml20m_rows * 20 / 1048576" %.0f)
serving_mib=$(calc "$serving_bytes / 1048576" %.0f)
say "ML-1M: $implicit1m_s s/iteration; ML-20M: $implicit20m_s s/iteration"
say "ML-20M training: backend peak grew by $peak_mib MiB; input $input_mib MiB, model $serving_mib MiB"
row "implicit ALS, ML-1M shape, 64 factors" "$implicit1m_s s/iteration" "—" "—" "reported" "—"
row "implicit ALS, ML-20M shape, 64 factors" "$implicit20m_s s/iteration" \
    "implicit: 6.7 core-s / $cores cores = $(calc "6.7 / $cores" %.2f) s" \
    "$(calc "$implicit20m_s * $cores / 6.7" %.2f)" "≤ 1.0 s/iteration" "$(holds "$implicit20m_s <= 1.0")"
row "training peak memory, implicit ALS on ML-20M (backend VmHWM growth)" "$peak_mib MiB" \
    "input $input_mib MiB + model $serving_mib MiB" "$(calc "$peak_mib / ($input_mib + $serving_mib)" %.2f)" \
    "≤ 2" "$(holds "$peak_mib <= 2 * ($input_mib + $serving_mib)")"

# --- 4. the other trainers -----------------------------------------------------------
step "4. BPR, item-kNN, EASE and NCF on ML-1M, $cores threads, with their own rates"
trainer_info() { sql -At -c "SELECT recsys.model_info(recsys.$1) FROM ml1m"; }
bpr_info=$(trainer_info "train_bpr(user_id, item_id)")
bpr_s=$(info_key "$bpr_info" training_seconds)
bpr_epochs=$(sed -nE 's/.*"epochs": ([0-9]+).*/\1/p' <<<"$bpr_info")
knn_s=$(info_key "$(trainer_info "train_knn(user_id, item_id, value)")" training_seconds)
ease_s=$(info_key "$(trainer_info "train_ease(user_id, item_id)")" training_seconds)
ncf_s=$(info_key "$(trainer_info "train_ncf(user_id, item_id, '{\"epochs\": 2}')")" training_seconds)
ncf_samples=$(calc "$ml1m_rows * 5 * 2" %.0f)   # 1 positive + 4 negatives, 2 epochs
ncf_gflops=$(calc "$ncf_samples * 3 * 2 * (64*32 + 32*16 + 16*8 + 8 + 16) / $ncf_s / 1e9" %.2f)
say "BPR $bpr_s s ($bpr_epochs epochs), kNN $knn_s s, EASE $ease_s s, NCF $ncf_s s (2 epochs)"
row "BPR, ML-1M shape, defaults ($bpr_epochs epochs)" "$bpr_s s" \
    "$(calc "$bpr_epochs * $ml1m_rows / $bpr_s / 1e6" %.1f) M samples/s" "—" "reported" "—"
row "item-kNN, ML-1M shape, defaults" "$knn_s s" \
    "$(calc "$ml1m_rows / $knn_s / 1e6" %.1f) M rows/s" "—" "reported" "—"
row "EASE, ML-1M shape ($ml1m_items items), defaults: items³ flops" "$ease_s s" \
    "$(calc "$ml1m_items ^ 3 / $ease_s / 1e9" %.1f) GFLOP/s; sgemm, $cores threads: $(calc "$peak" %.1f)" \
    "$(calc "$ml1m_items ^ 3 / $ease_s / 1e9 / $peak" %.2f)" "reported" "—"
row "NCF, ML-1M shape, 2 epochs ($ncf_samples samples)" "$ncf_s s" \
    "$(calc "$ncf_samples / $ncf_s / 1e6" %.2f) M samples/s, $ncf_gflops GFLOP/s" "—" "reported" "—"
# The hybrid model on ML-1M with tags of each id (18 genres and 9 decades an
# item, 7 groups a user): its WARP and BPR epochs as samples per second,
# against BPR's (one step per sample, no tags).
sql -c "CREATE TABLE ml1m_tagged AS
        SELECT user_id, item_id, value, ARRAY['group:' || user_id % 7] AS user_tags,
               ARRAY['genre:' || item_id % 18, 'decade:' || item_id % 9] AS item_tags FROM ml1m"
hybrid_rate() {   # LOSS: M samples per second of train_hybrid's epochs
    local info
    info=$(sql -At -c "SELECT recsys.model_info(recsys.train_hybrid(user_id, item_id, value,
                           user_tags, item_tags, '{\"loss\": \"$1\", \"epochs\": 10}')) FROM ml1m_tagged")
    calc "10 * $ml1m_rows / $(info_key "$info" training_seconds) / 1e6" %.2f
}
bpr_rate=$(calc "$bpr_epochs * $ml1m_rows / $bpr_s / 1e6" %.2f)
warp_rate=$(hybrid_rate warp)
hybrid_bpr_rate=$(hybrid_rate bpr)
say "hybrid: WARP $warp_rate M samples/s, BPR loss $hybrid_bpr_rate M samples/s; BPR $bpr_rate M samples/s"
row "hybrid, ML-1M shape with tags, WARP (up to 10 negatives a sample)" "$warp_rate M samples/s" \
    "BPR: $bpr_rate M samples/s" "$(calc "$warp_rate / $bpr_rate" %.2f)" "reported" "—"
row "hybrid, ML-1M shape with tags, BPR loss" "$hybrid_bpr_rate M samples/s" \
    "BPR: $bpr_rate M samples/s" "$(calc "$hybrid_bpr_rate / $bpr_rate" %.2f)" "reported" "—"
# Serving new items by their tags: ORDER BY predict(model, user, tags) over
# 10,000 items the model has not seen, against the same over 10,000 known ids.
sql <<'EOF'
INSERT INTO models SELECT 'hybrid', recsys.train_hybrid(user_id, item_id, value, user_tags, item_tags,
                                                         '{"epochs": 5}') FROM ml1m_tagged;
CREATE TABLE hybrid_new_items AS
SELECT 10000000 + n AS item_id, ARRAY['genre:' || n % 18, 'decade:' || n % 9] AS tags
FROM generate_series(1, 10000) n;
CREATE TABLE hybrid_known_items AS
SELECT d.item_id FROM generate_series(1, 10000) n
JOIN (SELECT item_id, row_number() OVER (ORDER BY item_id) - 1 AS k FROM (SELECT DISTINCT item_id FROM ml1m) i) d
  ON d.k = n % (SELECT count(DISTINCT item_id) FROM ml1m);
EOF
tags_ms=$(best_ms 5 "SELECT 1;" "SELECT i.item_id FROM models m, hybrid_new_items i WHERE m.name = 'hybrid'
    ORDER BY recsys.predict(m.model, 42, i.tags) DESC NULLS LAST LIMIT 10;")
ids_ms=$(best_ms 5 "SELECT 1;" "SELECT i.item_id FROM models m, hybrid_known_items i WHERE m.name = 'hybrid'
    ORDER BY recsys.predict(m.model, 42, i.item_id) DESC NULLS LAST LIMIT 10;")
say "ORDER BY predict over 10,000 items: by tags $tags_ms ms, by id $ids_ms ms"
row "ORDER BY predict(model, user, item_tags) LIMIT 10 over 10,000 new items" "$tags_ms ms" \
    "predict(model, user, item_id) over 10,000 known items: $ids_ms ms" \
    "$(calc "$tags_ms / $ids_ms" %.2f)" "≤ 3" "$(holds "$tags_ms <= 3 * $ids_ms")"
# implicit ALS's defaults (regularization measured, then the fit) against
# one fit with the measured setting given, and "tune" (measurement, search,
# final fit) against the defaults' statement, the one a user runs without it
ials_info=$(trainer_info "train_als(user_id, item_id, value, '{\"feedback\": \"implicit\"}')")
ials_default_s=$(info_key "$ials_info" training_seconds)
ials_given=$(printf '{"feedback": "implicit", "alpha": %s, "regularization": %s}' \
    "$(info_key "$ials_info" alpha)" "$(info_key "$ials_info" regularization)")
ials_fit_s=$(info_key "$(trainer_info "train_als(user_id, item_id, value, '$ials_given')")" training_seconds)
ials_tuned_s=$(info_key "$(trainer_info "train_als(user_id, item_id, value, '{\"feedback\": \"implicit\", \"tune\": true}')")" training_seconds)
say "implicit ALS on ML-1M: one fit $ials_fit_s s, defaults $ials_default_s s, tuned $ials_tuned_s s"
row "implicit ALS, ML-1M shape, defaults: regularization measured, then the fit" "$ials_default_s s" \
    "one fit, setting given: $ials_fit_s s" "$(calc "$ials_default_s / $ials_fit_s" %.1f)" "reported" "—"
row "\"tune\": implicit ALS, ML-1M shape, search and final fit" "$ials_tuned_s s" \
    "one default fit: $ials_default_s s" "$(calc "$ials_tuned_s / $ials_default_s" %.1f)" "≤ 6" \
    "$(holds "$ials_tuned_s <= 6 * $ials_default_s")"

# --- 5. serving ----------------------------------------------------------------------
pgbench=$(pg_config --bindir)/pgbench
[ -x "$pgbench" ] || { echo "recsys bench: $pgbench is missing" >&2; exit 1; }
step "5. serving the ML-20M model ($ml20m_items items, 64 factors, $serving_mib MiB):"
say "pgbench -c 2 -j 2 -T 10 -M prepared, per-transaction latencies from its log"
# run_pgbench NAME SCRIPT [OPTIONS...]: prints "p50_ms p99_ms mean_ms tps"
run_pgbench() {
    local name=$1 script=$2; shift 2
    (cd "$tmp" && "$pgbench" -n -c 2 -j 2 -T 10 -M prepared -D users="$ml20m_users" \
        -l --log-prefix="$name" -f "$root/$script" "$@" >"$tmp/$name.out" 2>&1) ||
        { cat "$tmp/$name.out" >&2; return 1; }
    grep -q '^number of failed transactions: 0' "$tmp/$name.out" ||
        ! grep -q '^number of failed transactions' "$tmp/$name.out" ||
        { cat "$tmp/$name.out" >&2; return 1; }
    cat "$tmp/$name".* | awk '{ print $3 / 1000 }' | sort -g | awk -v tps="$(
        sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$tmp/$name.out" | head -1)" '
        { v[NR] = $1; s += $1 }
        END { printf "%.3f %.3f %.3f %.0f\n", v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], s / NR, tps }'
    rm -f "$tmp/$name".*
}
read -r rec_p50 rec_p99 rec_mean rec_tps < <(run_pgbench recommend test/bench/recommend.pgbench)
read -r one_p50 one_p99 one_mean one_tps < <(run_pgbench select1 test/bench/select1.pgbench)
read -r ord_p50 ord_p99 ord_mean _ < <(run_pgbench order_predict test/bench/order_predict.pgbench)
read -r triv_p50 triv_p99 triv_mean _ < <(run_pgbench order_trivial test/bench/order_trivial.pgbench)
say "recommend:        p50 $rec_p50 ms, p99 $rec_p99 ms, $rec_tps TPS"
say "SELECT :u:        p50 $one_p50 ms, p99 $one_p99 ms, $one_tps TPS"
say "ORDER BY predict: p50 $ord_p50 ms; ORDER BY a trivial float8: p50 $triv_p50 ms"
rec_db=$(calc "$rec_p50 - $one_p50")
row "recommend(model, user, 10), $ml20m_items items, 64 factors, 2 clients: p50 (p99 $rec_p99 ms), $rec_tps TPS" \
    "$rec_p50 ms" "SELECT :u: $one_p50 ms (p99 $one_p99 ms)" "$rec_db ms in the database" \
    "≤ 1 ms p50 in the database" "$(holds "$rec_db <= 1.0")"
row "ORDER BY predict(...) DESC LIMIT 10 over $ml20m_items items, p50" "$ord_p50 ms" \
    "ORDER BY (item_id # user)::float8: $triv_p50 ms" "$(calc "$ord_p50 / $triv_p50" %.2f)" "≤ 2" \
    "$(holds "$ord_p50 <= 2 * $triv_p50")"
row "recommend vs ORDER BY predict LIMIT 10, p50" "$rec_p50 ms" "$ord_p50 ms" \
    "$(calc "$ord_p50 / $rec_p50" %.1f)× faster" "≥ 20× faster" "$(holds "$ord_p50 >= 20 * $rec_p50")"

# Top 10 for 10,000 users in one statement: recommend_batch against recommend
# called once per user (LATERAL), both in one warm session.
batch_users="(SELECT array_agg(u) FROM generate_series(1, 10000) u)"
batch_ms=$(best_ms 3 "SELECT count(*) FROM models m, recsys.recommend(m.model, 1) WHERE m.name = 'serving';" \
    "SELECT count(*) FROM models m, recsys.recommend_batch(m.model, $batch_users, 10) WHERE m.name = 'serving';")
lateral_ms=$(best_ms 3 "SELECT count(*) FROM models m, recsys.recommend(m.model, 1) WHERE m.name = 'serving';" \
    "SELECT count(*) FROM models m, generate_series(1, 10000) u, recsys.recommend(m.model, u, 10) WHERE m.name = 'serving';")
say "top 10 for 10,000 users: recommend_batch $batch_ms ms, recommend per user $lateral_ms ms"
row "recommend_batch: top 10 for 10,000 users, $ml20m_items items" "$batch_ms ms" \
    "recommend per user (LATERAL): $lateral_ms ms" "$(calc "$lateral_ms / $batch_ms" %.1f)× faster" \
    "reported" "—"

# A model of about 50 MB: every fourth user of ML-20M (the seen-item lists that
# recommend excludes are most of its size).
sql -c "INSERT INTO models SELECT 'large', recsys.train_als(user_id, item_id, value,
            '{\"feedback\": \"implicit\", \"iterations\": 1}') FROM ml20m WHERE user_id % 4 = 0"
large_mib=$(sql -At -c "SELECT round(length(model) / 1048576.0, 1) FROM models WHERE name = 'large'")
step "5. the first predict in a new connection (pgbench -C, 1 client), $large_mib MiB model, vs SELECT :u"
first_pgbench() {   # NAME SCRIPT: mean ms per transaction, connection included
    (cd "$tmp" && "$pgbench" -n -C -c 1 -j 1 -T 10 -D users="$((ml20m_users / 4))" -f "$root/$2" \
        >"$tmp/$1.out" 2>&1) || { cat "$tmp/$1.out" >&2; return 1; }
    sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$tmp/$1.out" |
        awk '{ printf "%.2f", 10000 / $1 }'
}
first_ms=$(first_pgbench predict_first test/bench/predict_first.pgbench)
conn_ms=$(first_pgbench select1_new test/bench/select1.pgbench)
say "new connection + predict: $first_ms ms; new connection + SELECT :u: $conn_ms ms"
row "first predict in a new connection, $large_mib MiB model (connection included)" "$first_ms ms" \
    "SELECT :u in a new connection: $conn_ms ms" "$(calc "$first_ms - $conn_ms" %.1f) ms extra" \
    "≤ 50 ms extra" "$(holds "$first_ms - $conn_ms <= 50")"

# The sequence model: training on ML-1M's rows (each user's last 51 in an
# order of the rows' own) as sequences and tokens per second and as GFLOP/s
# against sgemm; then recommend from a live history of 50 items over the
# ML-20M catalogue, against reading that history alone.
step "5. the sequence model: training throughput (ML-1M shape, 2 epochs) and recommend from a history"
seq_info=$(sql -At -c "SELECT recsys.model_info(recsys.train_sequence(user_id, item_id,
                           abs(hashint8(user_id * 7919 + item_id)), '{\"epochs\": 2}')) FROM ml1m")
seq_s=$(info_key "$seq_info" training_seconds)
read -r seq_users seq_tokens < <(sql -At -F ' ' -c "
    SELECT count(*), sum(least(n, 51) - 1) FROM (SELECT count(*) AS n FROM ml1m GROUP BY user_id) u WHERE n >= 2")
# flops per token: 3 x (forward) per block, 12 d^2 in the projections and the
# feed-forward layer and 2 d L in attention, and the softmax's 6 d negatives
seq_flops=$(calc "2 * $seq_tokens * (3 * 2 * (12 * 64 * 64 + 2 * 64 * 50) + 6 * 64 * 128)" %.0f)
seq_gflops=$(calc "$seq_flops / $seq_s / 1e9" %.2f)
say "train_sequence: $seq_s s for 2 epochs of $seq_users sequences, $seq_tokens tokens: $seq_gflops GFLOP/s"
row "train_sequence, ML-1M shape, 2 epochs ($seq_users sequences of up to 50 + 1)" \
    "$(calc "2 * $seq_users / $seq_s" %.0f) sequences/s, $(calc "2 * $seq_tokens / $seq_s / 1000" %.0f)k tokens/s" \
    "sgemm, $cores threads: $(calc "$peak" %.1f) GFLOP/s" "$(calc "$seq_gflops / $peak" %.2f) ($seq_gflops GFLOP/s)" \
    "reported" "—"
sql <<'EOF2'
INSERT INTO models SELECT 'sequence', recsys.train_sequence(user_id, item_id,
    abs(hashint8(user_id * 7919 + item_id)), '{"epochs": 1}') FROM ml20m;
CREATE TABLE sequence_histories AS
SELECT n, ARRAY(SELECT 1 + abs(hashint8(n * 100 + j)) % (SELECT max(item_id) FROM ml20m)
                FROM generate_series(1, 50) j) AS history
FROM generate_series(1, 1000) n;
CREATE INDEX ON sequence_histories (n);
EOF2
seq_items=$(sql -At -c "SELECT recsys.model_info(model)->>'items' FROM models WHERE name = 'sequence'")
read -r sh_p50 sh_p99 _ sh_tps < <(run_pgbench recommend_history test/bench/recommend_history.pgbench -D users=1000)
read -r hs_p50 _ _ _ < <(run_pgbench select_history test/bench/select_history.pgbench -D users=1000)
sh_db=$(calc "$sh_p50 - $hs_p50")
say "recommend(model, history, 10): p50 $sh_p50 ms, p99 $sh_p99 ms; reading the history: p50 $hs_p50 ms"
row "recommend(model, history of 50, 10), sequence model of $seq_items items, 2 clients: p50 (p99 $sh_p99 ms), $sh_tps TPS" \
    "$sh_p50 ms" "reading the history alone: $hs_p50 ms" "$sh_db ms in the database" \
    "≤ 2 ms p50 in the database" "$(holds "$sh_db <= 2.0")"

step "5. scoring a network whose tower weights are subnormal vs the same with ordinary weights"
"$tools/subnormal_scoring" 200 | tee "$tmp/subnormal.txt" | sed 's/^/    /'
row "NCF scores for one user, $(key "$tmp/subnormal.txt" items) items, half the tower weights subnormal" \
    "$(key "$tmp/subnormal.txt" engine_tiny_ms) ms" \
    "ordinary weights: $(key "$tmp/subnormal.txt" engine_normal_ms) ms (unflushed, this CPU: $(key "$tmp/subnormal.txt" unflushed_ratio)×)" \
    "$(key "$tmp/subnormal.txt" engine_ratio)" "≤ 1.5" \
    "$(holds "$(key "$tmp/subnormal.txt" engine_ratio) <= 1.5")"

# --- 6. the reference network against scikit-learn -----------------------------------
step "6. train_mlp (defaults: 10 -> 128 ReLU -> sigmoid, Adam, batches of 32, 10 epochs, 1 thread)"
say "against scikit-learn's MLPClassifier on the same 1,000,000 rows (10 features uniform in"
say "[-1, 1], label x1 x2 + x3^2 > 1/3), exported with COPY; AUC on 100,000 more rows"
sql <<'EOF'
CREATE TABLE mlp_rows AS
SELECT id, ARRAY(SELECT (abs(hashint8(id * 16 + j)) % 2000001 / 1000000.0 - 1)::real
                 FROM generate_series(0, 9) j) AS features
FROM generate_series(1, 1100000) id;
ALTER TABLE mlp_rows ADD COLUMN label real;
UPDATE mlp_rows SET label = (features[1] * features[2] + features[3] ^ 2 > 1 / 3.0)::int;
CREATE TABLE mlp_model AS
SELECT recsys.train_mlp(features, label) AS model FROM mlp_rows WHERE id <= 1000000;
EOF
mlp_seconds=$(sql -At -c "SELECT recsys.model_info(model) ->> 'training_seconds' FROM mlp_model")
# AUC by the rank-sum formula, tied scores sharing their mean rank
mlp_auc=$(sql -At -c "
    WITH s AS (SELECT label, recsys.predict(m.model, features) AS p FROM mlp_rows, mlp_model m
               WHERE id > 1000000),
         r AS (SELECT label, rank() OVER (ORDER BY p) + (count(*) OVER (PARTITION BY p) - 1) / 2.0 AS rk
               FROM s)
    SELECT round(((sum(rk) FILTER (WHERE label = 1)
                   - count(*) FILTER (WHERE label = 1) * (count(*) FILTER (WHERE label = 1) + 1) / 2.0)
                  / (count(*) FILTER (WHERE label = 1) * count(*) FILTER (WHERE label = 0)))::numeric, 4)
    FROM r")
say "train_mlp: $mlp_seconds s, held-out AUC $mlp_auc"
sql -c "\copy (SELECT id, label, features[1], features[2], features[3], features[4], features[5], features[6], features[7], features[8], features[9], features[10] FROM mlp_rows ORDER BY id) TO '$tmp/mlp_rows.csv' WITH (FORMAT csv)"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 test/bench/mlp_sklearn.py \
    "$tmp/mlp_rows.csv" 1000000 | tee "$tmp/sklearn.txt" | sed 's/^/    /'
sk_seconds=$(key "$tmp/sklearn.txt" train_seconds)
sk_auc=$(key "$tmp/sklearn.txt" auc)
row "train_mlp, 1M rows, 10 epochs, 1 thread (held-out AUC $mlp_auc)" "$(calc "$mlp_seconds" %.1f) s" \
    "scikit-learn MLPClassifier, same rows (AUC $sk_auc): $(calc "$sk_seconds" %.1f) s" \
    "$(calc "$mlp_seconds / $sk_seconds" %.2f)" "≤ 0.5, AUC ± 0.01" \
    "$(holds "$mlp_seconds <= 0.5 * $sk_seconds && $mlp_auc - $sk_auc <= 0.01 && $sk_auc - $mlp_auc <= 0.01")"

# --- the table -----------------------------------------------------------------------
row "context: first write to fresh memory (a page fault) vs rewriting it" \
    "$touch_first µs per $touch_page KiB page ($fault_ms_per_mib ms per MiB)" "$touch_again µs per page" \
    "$(calc "$touch_first / $touch_again" %.0f)" "—" "—"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
blas=$(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)
{
    echo "# recsys benchmarks"
    echo
    echo "$(date -u +%Y-%m-%d): $cpu, $cores cores, Linux $(uname -r), $(pg_config --version),"
    echo "OpenBLAS $blas (core $(key "$tmp/sgemm.txt" sgemm.blas_core)); sgemm peak $(calc "$peak1" %.1f) GFLOP/s"
    echo "on 1 thread, $(calc "$peak" %.1f) GFLOP/s on $cores. Data: ML-1M shape $ml1m_rows rows"
    echo "($ml1m_users users, $ml1m_items items), ML-20M shape $ml20m_rows rows ($ml20m_users users,"
    echo "$ml20m_items items). Every ratio is measured / reference, both from this run."
    echo
    echo "| measurement | measured | reference in the same run | ratio | target | met |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >"$tmp/results.md"
cp "$tmp/results.md" test/bench/results.md
step "results (also in test/bench/results.md)"
echo
cat "$tmp/results.md"
