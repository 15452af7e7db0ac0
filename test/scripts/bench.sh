#!/usr/bin/env bash
# Benchmarks: builds and installs recsys, starts a throwaway cluster, and
# measures every speed against a reference measured in the same run, so the
# numbers compare across machines as ratios, never as absolute time limits.
#
#   1. ALS training in C (src/core linked directly): GFLOP/s against the sgemm peak
#   2. train_als in SQL: the cost of collecting the rows against a plain scan
#   3. predict per row against a trivial built-in function per row
#   4. recommend against ORDER BY predict ... LIMIT 10
#   5. recommend under pgbench (2 clients) against a trivial SELECT
#   6. train_mlp in SQL against scikit-learn's MLPClassifier on the same rows
#   7. train_ncf's arithmetic rate against the sgemm peak
#   8. train_knn against a plain scan, train_ease's LAPACK rate against the sgemm peak
#   and, for context, what a page fault costs here against rewriting memory
#
# Prints one Markdown table at the end, also written to test/bench/results.md.
# Takes about a minute or two on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"    # test/demo/load.sql reads its data by paths relative to the root
source test/scripts/cluster.sh
export LC_ALL=C     # psql's "Time: 1.234 ms" and awk's numbers with a decimal point

# scikit-learn is the peer of the reference network (Debian's, outside any virtualenv)
bash test/scripts/install-deps.sh python3-sklearn
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/recsys-bench.XXXXXX")
chmod 755 "$tmp"    # as root, the server runs as postgres and must reach inside
cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ -f "$tmp/cluster/server.log" ]; then
        echo "--- server log (tail)"; tail -n 30 "$tmp/cluster/server.log"
        echo "recsys bench: FAILED" >&2
    fi
    cluster_stop "$tmp/cluster" || true
    rm -rf "$tmp"
}
trap cleanup EXIT

step() { echo; echo "=== recsys bench: $*"; }
say() { echo "    $*"; }
# calc EXPR [FORMAT]: floating-point arithmetic in awk
calc() { awk "BEGIN { printf \"${2:-%.3f}\", $1 }"; }
# key FILE NAME: the value of a `name value` line
key() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"; }

sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# best_ms RUNS SETUP QUERY: best wall time in ms of RUNS runs of QUERY in one
# session, after SETUP; the results are thrown away.
best_ms() {
    local runs=$1 setup=$2 query=$3
    { echo "$setup"; echo '\o /dev/null'; echo '\timing on'
      for _ in $(seq "$runs"); do echo "$query"; done
    } | sql | awk '/^Time: / { t = $2 + 0; if (best == "" || t < best) best = t }
                   END { if (best == "") exit 1; printf "%.3f", best }'
}

rows=()     # table rows, in order
row() { rows+=("| $1 | $2 | $3 | $4 |"); }

cores=$(nproc)

step "build and install"
make
"${sudo[@]}" make install PG_CONFIG="$(command -v pg_config)"
ccflags=(-std=gnu11 -O2 -Wall -Wextra -Isrc)
cc "${ccflags[@]}" -o "$tmp/sgemm_peak" test/bench/sgemm_peak.c -lopenblas -lpthread -lm
cc "${ccflags[@]}" -o "$tmp/als_flops" test/bench/als_flops.c src/core/*.c -lopenblas -lpthread -lm
cc "${ccflags[@]}" -o "$tmp/memory_touch" test/bench/memory_touch.c
cc "${ccflags[@]}" -o "$tmp/implicit_flops" test/bench/implicit_flops.c src/core/*.c -lopenblas -lpthread -lm
cc "${ccflags[@]}" -o "$tmp/mlp_reference" test/bench/mlp_reference.c src/core/*.c -lopenblas -lpthread -lm

# --- the machine: page faults -----------------------------------------------------
step "first write to fresh memory (a page fault per page) against rewriting it: 64 MiB, best of 3"
say "(every copy of a model - encoding it after training, loading it into a backend's cache - pays this)"
"$tmp/memory_touch" 64 | tee "$tmp/touch.txt" | sed 's/^/    /'
touch_first=$(key "$tmp/touch.txt" touch.first_us_per_page)
touch_again=$(key "$tmp/touch.txt" touch.again_us_per_page)
touch_page=$(( $(key "$tmp/touch.txt" touch.page_bytes) / 1024 ))

# --- 1. ALS in C against the sgemm peak ----------------------------------------
step "1. sgemm peak: best of 10 timed runs of a 1024 x 1024 float product, 1 thread and $cores threads"
"$tmp/sgemm_peak" 1024 | tee "$tmp/sgemm.txt" | sed 's/^/    /'
peak1=$(key "$tmp/sgemm.txt" sgemm.gflops_1thread)
peak=$(key "$tmp/sgemm.txt" sgemm.gflops_all)

step "1. ALS training in C, default options, $cores worker threads (BLAS single-threaded inside)"
say "flops per iteration counted row by row as src/core/als.c does them (dual path for rows"
say "shorter than factors+1: syrk n(n+1)m + Cholesky n^3/3 + solves 2n^2 + gemv 2nm; primal path:"
say "syrk m(m+1)n + gemv 2nm + Cholesky m^3/3 + solves 2m^2; plus the RMSE pass 2*nnz*factors);"
say "GFLOP/s from the fastest iteration. MovieTweetings 100K for 5 iterations, then a synthetic"
say "set (50k users x 20k items, 2M distinct ratings, Zipf-like popularity on both sides) for 4."
"$tmp/als_flops" test/data/movietweetings-100k/ratings.dat 5 4 | tee "$tmp/als.txt" | sed 's/^/    /'
row "sgemm 1024³, 1 thread vs $cores threads" "$(calc "$peak1" %.1f) GFLOP/s" \
    "$(calc "$peak" %.1f) GFLOP/s" "$(calc "$peak1 / $peak" %.2f)"
for set in mt synth; do
    g=$(key "$tmp/als.txt" $set.gflops)
    case $set in
        mt) label="ALS fit in C, MovieTweetings 100K" ;;
        synth) label="ALS fit in C, synthetic Zipf" ;;
    esac
    row "$label ($(key "$tmp/als.txt" $set.users) users, $(key "$tmp/als.txt" $set.items) items, $(key "$tmp/als.txt" $set.nnz) ratings, $(key "$tmp/als.txt" $set.factors) factors, $cores threads) vs sgemm peak on $cores threads" \
        "$(calc "$g" %.1f) GFLOP/s ($(calc "$(key "$tmp/als.txt" $set.best_seconds_per_iteration) * 1000" %.0f) ms/iteration, $(calc "$(key "$tmp/als.txt" $set.gflop_per_iteration)" %.2f) GFLOP)" \
        "$(calc "$peak" %.1f) GFLOP/s" "$(calc "$g / $peak" %.3f)"
done

step "1. implicit ALS in C, default options (64 factors, 15 iterations, CG), $cores worker threads,"
say "on a synthetic set of MovieLens-1M shape: 6,040 users x 3,706 items, 1,000,000 interactions"
"$tmp/implicit_flops" ml1m "$cores" | tee "$tmp/implicit.txt" | sed 's/^/    /'
row "implicit ALS fit in C, ML-1M shape (6,040 users, 3,706 items, 1M interactions, 64 factors, 15 iterations, $cores threads): $(key "$tmp/implicit.txt" train_seconds) s, vs sgemm peak on $cores threads" \
    "$(calc "$(key "$tmp/implicit.txt" gflops)" %.1f) GFLOP/s" "$(calc "$peak" %.1f) GFLOP/s" \
    "$(calc "$(key "$tmp/implicit.txt" gflops) / $peak" %.3f)"

step "1. the reference network in C (train_mlp defaults: 10 features, 128 ReLU units, Adam,"
say "10 epochs of batches of 32) on 1,000,000 rows, one thread; accuracy and AUC on 100,000 more"
"$tmp/mlp_reference" 1000000 | tee "$tmp/mlp.txt" | sed 's/^/    /'
row "train_mlp reference network in C, 1M rows x 10 features, 10 epochs, 1 thread: $(key "$tmp/mlp.txt" train_seconds) s, held-out AUC $(key "$tmp/mlp.txt" auc), vs sgemm peak on 1 thread" \
    "$(calc "$(key "$tmp/mlp.txt" gflops)" %.1f) GFLOP/s" "$(calc "$peak1" %.1f) GFLOP/s" \
    "$(calc "$(key "$tmp/mlp.txt" gflops) / $peak1" %.3f)"

# --- the cluster and the data ----------------------------------------------------
step "cluster, MovieTweetings 100K, a stored model"
cluster_start "$tmp/cluster" 5497
sql -c 'CREATE EXTENSION recsys'
sql -f test/demo/load.sql >/dev/null
sql -f test/bench/setup.sql
n_ratings=$(sql -At -c 'SELECT count(*) FROM ratings')
n_movies=$(sql -At -c 'SELECT count(*) FROM movies')
n_users=$(sql -At -c 'SELECT count(*) FROM bench_users')
sql -At -F ' ' -c "
    SELECT 'model_bytes', length(model), 'stored_inline_bytes', pg_column_size(model),
           'toast_bytes', pg_total_relation_size(reltoastrelid)
    FROM models, pg_class WHERE name = 'mt100k' AND pg_class.oid = 'models'::regclass" >"$tmp/model.txt"
read -r _ model_bytes _ inline_bytes _ toast_bytes <"$tmp/model.txt"
say "$n_ratings ratings, $n_movies movies, $n_users users"
say "stored model: $model_bytes bytes, $inline_bytes bytes stored (uncompressed if equal), out of line in a TOAST relation of $toast_bytes bytes"

# Serial plans throughout: per-row costs are what is compared, not the planner's
# choice of parallelism, which could differ between a query and its reference.
serial='SET max_parallel_workers_per_gather = 0;'

# --- 2. collecting rows in train_als against a plain scan ------------------------
step "2. train_als in SQL against a plain scan of the same table (serial plans; best of 5, of 3 for 15 iterations)"
scan_ms=$(best_ms 3 "$serial" 'SELECT count(*), sum(rating) FROM ratings;')
say "SELECT count(*), sum(rating) FROM ratings: $scan_ms ms"
# A model's training_seconds runs from the start of the final function (building
# the CSR layout) to describing the model; the rest of a query's time is the
# scan, the transition function collecting rows, and encoding the model.
# Whole-query times come from runs under length(), which does not look inside
# the model.  The split comes from runs under model_info(), whose wall time
# also holds decoding a copy of the model; with 1 factor the model is eight
# times smaller, so what remains outside training_seconds is mostly the scan
# and the collection.
train_wall_ms() {    # RUNS OPTIONS: best wall time
    best_ms "$1" "$serial" "SELECT length(recsys.train_als(user_id, movie_id, rating, '$2')) FROM ratings;"
}
train_split_ms() {   # RUNS OPTIONS: "wall training_seconds model_bytes" of the fastest run
    { echo "$serial"; echo '\timing on'
      for _ in $(seq "$1"); do
          echo "SELECT (i->>'training_seconds')::float8 * 1000, length(m)
                FROM (SELECT m, recsys.model_info(m) AS i
                      FROM (SELECT recsys.train_als(user_id, movie_id, rating, '$2') AS m FROM ratings) t
                      OFFSET 0) s;"
      done
    } | sql -At -F ' ' | awk '/^Time: / { w = $2 + 0; if (best == "" || w < best) { best = w; bt = t; bb = b } next }
                              { t = $1; b = $2 }
                              END { if (best == "") exit 1; printf "%.3f %.3f %d\n", best, bt, bb }'
}
train1_ms=$(train_wall_ms 5 '{"iterations": 1}')
read -r split1_ms split1_inner_ms _ < <(train_split_ms 5 '{"iterations": 1}')
outside1_ms=$(calc "$split1_ms - $split1_inner_ms")
read -r small_ms small_inner_ms small_bytes < <(train_split_ms 5 '{"iterations": 1, "factors": 1}')
outside_small_ms=$(calc "$small_ms - $small_inner_ms")
train_ms=$(train_wall_ms 3 '{}')
read -r split_ms split_inner_ms _ < <(train_split_ms 3 '{}')
outside_share=$(calc "100 * ($split_ms - $split_inner_ms) / $split_ms" %.1f)
say "train_als, 1 iteration: $train1_ms ms"
say "    under model_info: $split1_ms ms, of which training_seconds $split1_inner_ms ms, outside it $outside1_ms ms"
say "train_als, 1 iteration, 1 factor, under model_info: $small_ms ms, of which training_seconds"
say "    $small_inner_ms ms, outside it $outside_small_ms ms (model of $small_bytes bytes)"
say "train_als, default options (15 iterations, 64 factors): $train_ms ms"
say "    under model_info: $split_ms ms, of which training_seconds $split_inner_ms ms: ${outside_share}% outside it"
row "train_als, 1 iteration, whole query vs SELECT count(*), sum(rating) on the same $n_ratings rows" \
    "$train1_ms ms" "$scan_ms ms" "$(calc "$train1_ms / $scan_ms" %.1f)"
row "train_als, 1 iteration, time outside training_seconds (scan + collecting rows + encoding the $(calc "$model_bytes / 1048576" %.1f) MiB model + model_info decoding it) vs the same scan" \
    "$outside1_ms ms" "$scan_ms ms" "$(calc "$outside1_ms / $scan_ms" %.1f)"
row "train_als, 1 iteration, 1 factor: time outside training_seconds (scan + collecting rows + encoding and decoding a $(calc "$small_bytes / 1048576" %.1f) MiB model) vs the same scan" \
    "$outside_small_ms ms" "$scan_ms ms" "$(calc "$outside_small_ms / $scan_ms" %.1f)"
row "train_als, default options (15 iterations), whole query vs the same scan" \
    "$(calc "$train_ms / 1000" %.2f) s, ${outside_share}% outside training_seconds" "$scan_ms ms" "$(calc "$train_ms / $scan_ms" %.0f)"

# --- 3. predict per row ----------------------------------------------------------
step "3. predict per row, model in a table (TOASTed), against int8larger per row (serial, best of 3)"
join="FROM ratings r JOIN models m ON m.name = 'mt100k'"
predict_ms=$(best_ms 3 "$serial" "SELECT sum(recsys.predict(m.model, r.user_id, r.movie_id)) $join;")
trivial_ms=$(best_ms 3 "$serial" "SELECT sum(int8larger(r.user_id, r.movie_id)) $join;")
predict_us=$(calc "$predict_ms * 1000 / $n_ratings")
trivial_us=$(calc "$trivial_ms * 1000 / $n_ratings")
say "sum(recsys.predict(m.model, r.user_id, r.movie_id)): $predict_ms ms for $n_ratings rows = $predict_us µs/row"
say "sum(int8larger(r.user_id, r.movie_id)):              $trivial_ms ms = $trivial_us µs/row"
say "so one predict call costs $(calc "$predict_us - $trivial_us") µs more than a trivial call"
row "predict per row (sum over $n_ratings ratings × stored model) vs int8larger per row" \
    "$predict_us µs/row" "$trivial_us µs/row" "$(calc "$predict_us / $trivial_us" %.2f)"

# --- 4. recommend against ORDER BY predict ----------------------------------------
step "4. recommend(model, user, 10) against ORDER BY predict(...) DESC LIMIT 10 over $n_movies movies, 200 users"
say "one query per user, mean of the psql-timed queries; one untimed query first loads the model"
say "(recommend leaves out the user's rated movies by default; ORDER BY predict scores them all)"
model_expr="(SELECT model FROM models WHERE name = 'mt100k')"
sql -At -c 'SELECT user_id FROM bench_users ORDER BY hashint8(user_id) LIMIT 200' >"$tmp/users.txt"
mean_ms() {
    local template=$1
    { echo '\o /dev/null'
      sed -n 1p "$tmp/users.txt" | sed "s/.*/$template/"
      echo '\timing on'
      sed "s/.*/$template/" "$tmp/users.txt"
    } | sql | awk '/^Time: / { sum += $2; n++ } END { if (!n) exit 1; printf "%.3f", sum / n }'
}
rec_ms=$(mean_ms "SELECT item_id, score FROM recsys.recommend($model_expr, &, 10);")
order_ms=$(mean_ms "SELECT movie_id FROM movies ORDER BY recsys.predict($model_expr, &, movie_id) DESC LIMIT 10;")
say "recommend: $rec_ms ms/query; ORDER BY predict: $order_ms ms/query"
row "recommend top 10 vs ORDER BY predict DESC LIMIT 10 ($n_movies movies, 200 users)" \
    "$rec_ms ms/query" "$order_ms ms/query" "$(calc "$rec_ms / $order_ms") ($(calc "$order_ms / $rec_ms" %.0f)× faster)"

# --- 5. recommend under pgbench -----------------------------------------------------
pgbench=$(pg_config --bindir)/pgbench
[ -x "$pgbench" ] || { echo "recsys bench: $pgbench is missing" >&2; exit 1; }
step "5. pgbench -c 2 -j 2 -T 10 -M prepared: recommend for a random user against a trivial SELECT :n"
run_pgbench() {
    "$pgbench" -n -c 2 -j 2 -T 10 -M prepared -D users="$n_users" -f "$1" >"$2" 2>&1 ||
        { cat "$2" >&2; return 1; }
    grep -E '^(tps|latency average|number of (transactions|failed))' "$2" | sed 's/^/    /'
}
say "recommend:"
run_pgbench test/bench/recommend.pgbench "$tmp/pgbench-recommend.txt"
say "SELECT :n (reference):"
run_pgbench test/bench/select1.pgbench "$tmp/pgbench-select.txt"
tps() { sed -nE 's/^tps = ([0-9.]+) .*without initial connection time.*/\1/p' "$1"; }
latency() { sed -nE 's/^latency average = ([0-9.]+) ms.*/\1/p' "$1"; }
rec_tps=$(tps "$tmp/pgbench-recommend.txt"); ref_tps=$(tps "$tmp/pgbench-select.txt")
rec_lat=$(latency "$tmp/pgbench-recommend.txt"); ref_lat=$(latency "$tmp/pgbench-select.txt")
row "pgbench recommend for a random user, 2 clients: throughput vs trivial SELECT :n" \
    "$(calc "$rec_tps" %.0f) TPS" "$(calc "$ref_tps" %.0f) TPS" "$(calc "$rec_tps / $ref_tps")"
row "pgbench recommend for a random user, 2 clients: mean latency vs trivial SELECT :n" \
    "$rec_lat ms" "$ref_lat ms" "$(calc "$rec_lat / $ref_lat" %.1f)"

step "6. the reference network in SQL (train_mlp defaults) against scikit-learn's MLPClassifier"
say "on the same 1,000,000 rows (10 features uniform in [-1, 1], label x1 x2 + x3^2 > 1/3),"
say "exported with COPY; both on one thread, AUC on 100,000 more rows; training time alone"
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
# AUC by the rank-sum formula, tied scores sharing their mean rank (many held-out
# rows get a probability of exactly 1: the network is that sure of them)
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
row "train_mlp in SQL, reference network, 1M rows, 10 epochs, 1 thread (held-out AUC $mlp_auc) vs scikit-learn MLPClassifier on the same rows (AUC $(key "$tmp/sklearn.txt" auc))" \
    "$(calc "$mlp_seconds" %.1f) s" "$(calc "$(key "$tmp/sklearn.txt" train_seconds)" %.1f) s" \
    "$(calc "$mlp_seconds / $(key "$tmp/sklearn.txt" train_seconds)" %.2f)"
sql -c "DROP TABLE mlp_rows, mlp_model"

step "7. train_ncf on MovieTweetings (defaults but 10 epochs and l2 0.01, $cores threads)"
say "tower and GMF arithmetic per sample: forward 2 x (64*32 + 32*16 + 16*8 + 8 + 16) flops,"
say "backward twice that; 1 + 4 negatives samples per interaction and epoch"
ncf_info=$(sql -At -c "SELECT recsys.model_info(recsys.train_ncf(user_id, movie_id, '{\"l2\": 0.01, \"epochs\": 10}')) FROM ratings")
ncf_seconds=$(sed -nE 's/.*"training_seconds": ([0-9.]+).*/\1/p' <<<"$ncf_info")
ncf_nnz=$(sed -nE 's/.*"interactions": ([0-9]+).*/\1/p' <<<"$ncf_info")
ncf_samples=$(calc "$ncf_nnz * 5 * 10" %.0f)
ncf_gflops=$(calc "$ncf_samples * 3 * 2 * (64*32 + 32*16 + 16*8 + 8 + 16) / $ncf_seconds / 1e9" %.2f)
say "train_ncf: $ncf_seconds s for $ncf_samples samples, $ncf_gflops GFLOP/s"
row "train_ncf, MovieTweetings ($ncf_nnz interactions, 10 epochs, $ncf_samples samples, $cores threads): $ncf_seconds s, vs sgemm peak on $cores threads" \
    "$ncf_gflops GFLOP/s" "$(calc "$peak" %.1f) GFLOP/s" "$(calc "$ncf_gflops / $peak" %.3f)"

step "8. item models on MovieTweetings: train_knn (defaults) and train_ease (prune 100), $cores threads"
say "EASE's arithmetic is LAPACK's Cholesky and inverse of an items x items matrix, about items^3"
say "flops, on one thread in a backend (OpenBLAS's own threads would take the backend's signals)"
knn_seconds=$(sql -At -c "SELECT recsys.model_info(recsys.train_knn(user_id, movie_id, 1)) ->> 'training_seconds' FROM ratings")
ease_info=$(sql -At -c "SELECT recsys.model_info(recsys.train_ease(user_id, movie_id, '{\"prune\": 100}')) FROM ratings")
ease_seconds=$(sed -nE 's/.*"training_seconds": ([0-9.]+).*/\1/p' <<<"$ease_info")
ease_items=$(sed -nE 's/.*"items": ([0-9]+).*/\1/p' <<<"$ease_info")
ease_gflops=$(calc "$ease_items ^ 3 / $ease_seconds / 1e9" %.2f)
say "train_knn: $knn_seconds s; train_ease: $ease_seconds s for $ease_items items, $ease_gflops GFLOP/s"
row "train_knn, MovieTweetings (100,000 ratings, 50 neighbours, $cores threads): training_seconds vs the plain scan of step 2" \
    "$(calc "$knn_seconds * 1000" %.0f) ms" "$scan_ms ms" "$(calc "$knn_seconds * 1000 / $scan_ms" %.1f)"
row "train_ease, MovieTweetings ($ease_items items, prune 100): $ease_seconds s, items³ flops vs sgemm peak on 1 thread" \
    "$ease_gflops GFLOP/s" "$(calc "$peak1" %.1f) GFLOP/s" "$(calc "$ease_gflops / $peak1" %.3f)"

# the machine's page-fault cost goes last: context for the rows above
row "first write to fresh memory (page faults) vs rewriting it, 64 MiB" \
    "$touch_first µs per $touch_page KiB page" "$touch_again µs per page" "$(calc "$touch_first / $touch_again" %.0f)"

# --- the table --------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
    echo "# recsys benchmarks"
    echo
    echo "$(date -u +%Y-%m-%d), $cpu, $cores cores, $(pg_config --version), OpenBLAS core $(key "$tmp/sgemm.txt" sgemm.blas_core)."
    echo "Every ratio is measured / reference, both measured in the same run."
    echo
    echo "| benchmark | measured | reference | ratio |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >"$tmp/results.md"
cp "$tmp/results.md" test/bench/results.md
step "results (also in test/bench/results.md)"
echo
cat "$tmp/results.md"
