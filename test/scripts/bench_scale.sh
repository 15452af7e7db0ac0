#!/usr/bin/env bash
# The scale benchmark: implicit ALS on ROWS generated clicks (default 100
# million: 1,048,576 users x 100,000 items, long-tailed popularity on both
# sides, test/bench/generate.sql), stored both ways:
#
#   keep      users and their history kept (the default)
#   fold_in   "users": "fold_in", the items alone
#
# For each: the seconds to collect and arrange the rows, per iteration and
# in all, the backend's peak memory (VmHWM growth) against the input, and
# the model's size, or how soon an over-large model is refused.  Then the
# fold-in model serves: recommend for a user with 80-120 clicks read from
# the table in the same statement, one pgbench client and 8, p50 and p99;
# and the same as the first query of a new connection (pgbench -C) against
# SELECT 1 with a new connection.
#
#   ROWS=10000000 ITERATIONS=5 make bench-scale      a smaller run
#
# Not part of make test: at 100 million rows it takes about half an hour on
# 2 cores and needs about 22 GB of memory (sixteen backends holding their
# own copy of the 1.2 GB decoded model) and 10 GB of disk.  Prints one
# Markdown table, also written to test/bench/scale.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source test/scripts/bench_common.sh
bench_begin bench-scale
rows=${ROWS:-100000000}
iterations=${ITERATIONS:-15}
users=1048576
items=100000

step "build and install"
make
"${sudo[@]}" make install PG_CONFIG="$(command -v pg_config)"

step "cluster and $rows candidate clicks ($users users x $items items)"
cluster_start "$tmp/cluster" 5495
cat <<'EOF' | as_pg tee -a "$PGHOST/data/postgresql.conf" >/dev/null
shared_buffers = '2GB'
max_wal_size = '16GB'
max_parallel_workers_per_gather = 0
EOF
as_pg "$(pg_config --bindir)/pg_ctl" -D "$PGHOST/data" -l "$PGHOST/server.log" -w restart >/dev/null
sql -c 'CREATE EXTENSION recsys'
sql -f test/bench/generate.sql
started=$(date +%s)
sql <<EOF
SET work_mem = '4GB';
CREATE UNLOGGED TABLE clicks AS
SELECT user_id, item_id, 1::real AS value FROM bench_interactions($users, $items, $rows, 7);
CREATE INDEX ON clicks (user_id, item_id);
VACUUM ANALYZE clicks;
CREATE TABLE models (name text PRIMARY KEY, model bytea NOT NULL);
ALTER TABLE models ALTER COLUMN model SET STORAGE EXTERNAL;
CREATE TABLE served_users AS
SELECT row_number() OVER (ORDER BY user_id) AS k, user_id
FROM clicks GROUP BY user_id HAVING count(*) BETWEEN 80 AND 120;
CREATE UNIQUE INDEX ON served_users (k);
EOF
interactions=$(sql -At -c 'SELECT count(*) FROM clicks')
served=$(sql -At -c 'SELECT count(*) FROM served_users')
say "$interactions distinct clicks in $(( $(date +%s) - started )) s; $served users with 80-120 clicks"

table=()
for form in keep fold_in; do
    step "implicit ALS, 64 factors, $iterations iterations, \"users\": \"$form\""
    # VmHWM after a plain scan, so that shared buffers count in the baseline
    sql >"$tmp/$form.out" 2>"$tmp/$form.txt" <<EOF || true
SELECT sum(value) FROM clicks;
SELECT pg_backend_pid() AS pid \gset
\setenv BACKEND :pid
\! awk '/^VmHWM/ { print "before_kb", \$2 }' /proc/\$BACKEND/status
\! date +"started %s.%N"
\set ON_ERROR_STOP off
INSERT INTO models
SELECT '$form', recsys.train_als(user_id, item_id, value,
                                 '{"feedback": "implicit", "factors": 64, "iterations": $iterations,
                                   "verbose": true, "users": "$form"}')
FROM clicks;
\! date +"ended %s.%N"
\! awk '/^VmHWM/ { print "after_kb", \$2 }' /proc/\$BACKEND/status
SELECT 'model_bytes', length(model) FROM models WHERE name = '$form';
EOF
    sed -i 's/|/ /' "$tmp/$form.out"
    grep -E 'collected|chosen|iteration|ERROR|DETAIL' "$tmp/$form.txt" | sed 's/^.*\(NOTICE\|ERROR\|DETAIL\): */    /' || true
    seconds=$(calc "$(key "$tmp/$form.out" ended) - $(key "$tmp/$form.out" started)" %.0f)
    peak_mib=$(calc "($(key "$tmp/$form.out" after_kb) - $(key "$tmp/$form.out" before_kb)) / 1024" %.0f)
    input_mib=$(calc "$interactions * 20 / 1048576" %.0f)
    collect=$(sed -nE 's/.*collected [0-9]+ rows in ([0-9.]+) s, arranged by user and item in ([0-9.]+) s.*/\1 s + \2 s/p' "$tmp/$form.txt")
    per_iteration=$(sed -nE 's/.*iteration [0-9]+ of [0-9]+: loss [^,]+, ([0-9.]+) s;.*/\1/p' "$tmp/$form.txt" |
        awk '{ s += $1; n++ } END { if (n) printf "%.1f s", s / n; else print "—" }')
    if bytes=$(key "$tmp/$form.out" model_bytes 2>/dev/null); then
        outcome="$(calc "$bytes / 1048576" %.0f) MiB"
    else
        outcome="refused after $seconds s: $(grep -m1 ERROR "$tmp/$form.txt" | sed 's/^.*ERROR: *//')"
    fi
    table+=("| \`\"users\": \"$form\"\` | ${collect:-—} | $per_iteration | $seconds s | $peak_mib MiB (input $input_mib MiB) | $outcome |")
done

pgbench=$(pg_config --bindir)/pgbench
# latency NAME SCRIPT [OPTIONS...]: "p50_ms p99_ms" from pgbench's per-transaction log
latency() {
    local name=$1 script=$2; shift 2
    (cd "$tmp" && "$pgbench" -n -M prepared -D served="$served" -l --log-prefix="$name" \
        -f "$script" "$@" >"$tmp/$name.out" 2>&1) || { cat "$tmp/$name.out" >&2; return 1; }
    cat "$tmp/$name".[0-9]* | awk '{ print $3 / 1000 }' | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.3f %.3f\n", v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1] }'
    rm -f "$tmp/$name".[0-9]*
}
serving=()
if sql -At -c "SELECT count(*) FROM models WHERE name = 'fold_in'" | grep -q 1 && [ "$served" -gt 0 ]; then
    step "serving the fold-in model: recommend from the live history, 8 clients, 20 s"
    cat >"$tmp/history.pgbench" <<'EOF'
\set k random(1, :served)
SELECT r.item_id, r.score
FROM models m,
     LATERAL (SELECT user_id FROM served_users WHERE k = :k) u,
     recsys.recommend(m.model,
                      ARRAY(SELECT item_id FROM clicks c WHERE c.user_id = u.user_id ORDER BY item_id),
                      ARRAY(SELECT 1::real FROM clicks c WHERE c.user_id = u.user_id ORDER BY item_id),
                      10) r
WHERE m.name = 'fold_in';
EOF
    echo 'SELECT 1;' >"$tmp/select1.pgbench"
    read -r solo_p50 solo_p99 < <(latency history_solo "$tmp/history.pgbench" -c 1 -j 1 -T 10)
    read -r warm_p50 warm_p99 < <(latency history "$tmp/history.pgbench" -c 8 -j 2 -T 20)
    read -r one_p50 one_p99 < <(latency select1 "$tmp/select1.pgbench" -c 8 -j 2 -T 10)
    read -r new_p50 new_p99 < <(latency history_new "$tmp/history.pgbench" -c 2 -j 2 -T 20 -C)
    read -r newone_p50 newone_p99 < <(latency select1_new "$tmp/select1.pgbench" -c 2 -j 2 -T 10 -C)
    say "recommend from history: one client p50 $solo_p50 ms, p99 $solo_p99 ms"
    say "recommend from history: 8 clients p50 $warm_p50 ms, p99 $warm_p99 ms (SELECT 1: $one_p50 / $one_p99 ms)"
    say "first query of a new connection: p50 $new_p50 ms (SELECT 1 on a new connection: $newone_p50 ms)"
    serving+=("| recommend from an 80-120-click history read in the same statement, $items items, one client | p50 $solo_p50 ms, p99 $solo_p99 ms | |")
    serving+=("| the same, 8 clients on the 2 cores | p50 $warm_p50 ms, p99 $warm_p99 ms | SELECT 1: p50 $one_p50 ms, p99 $one_p99 ms |")
    serving+=("| the same as the first query of a new connection | p50 $new_p50 ms, p99 $new_p99 ms | SELECT 1 on a new connection: p50 $newone_p50 ms |")
fi

# The model that keeps its users, served by many connections: the server's
# memory (its processes' private pages and the machine's shared memory, less
# the same just after a restart) while 1 and 16 connections hold it, and the first
# predict of a new connection; once with each backend decoding its own copy,
# once with recsys preloaded and the one copy in shared memory.
sharing=()
if bytes=$(sql -At -c "SELECT length(model) FROM models WHERE name = 'keep'") && [ -n "$bytes" ]; then
    # room for the bytes and the expanded history (8 bytes a click), and some
    shared_mb=$(( (bytes + interactions * 8) / 1048576 * 11 / 10 + 64 ))
    conf="$PGHOST/data/postgresql.conf"
    # the server's memory: its processes' private pages, and all shared
    # memory (Shmem: the main segment's touched pages, whoever touched them)
    server_kb() {
        local pid total postmaster
        postmaster=$(head -1 "$PGHOST/data/postmaster.pid")
        total=$(awk '/^Shmem:/ { print $2 }' /proc/meminfo)
        for pid in "$postmaster" $(pgrep -P "$postmaster"); do
            total=$(( total + $(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' \
                "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0) ))
        done
        echo "$total"
    }
    # holding N: N sessions predict with the model, then wait; the growth in MiB
    holding() {
        local n=$1 pids=() k
        for k in $(seq 1 "$n"); do
            sql -c "SET recsys.model_cache_size = '4GB'" \
                -c "SELECT recsys.predict(model, $k, 1) FROM models WHERE name = 'keep'" \
                -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
            pids+=($!)
        done
        until [ "$(sql -At -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'")" -ge "$n" ]; do
            sleep 0.5
        done
        calc "($(server_kb) - $base_kb) / 1024" %.0f
        sql -At -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'" >/dev/null
        wait "${pids[@]}" 2>/dev/null || true
    }
    printf '%s\n' '\set u random(1, 100000)' \
        "SELECT recsys.predict(model, :u, 1) FROM models WHERE name = 'keep';" >"$tmp/predict_keep.pgbench"
    for mode in private shared; do
        step "the $((bytes / 1048576)) MiB model that keeps its users, $mode cache"
        as_pg sed -i '/^shared_preload_libraries\|^recsys.shared_cache_size/d' "$conf"
        if [ "$mode" = shared ]; then
            printf "shared_preload_libraries = 'recsys'\nrecsys.shared_cache_size = '%dMB'\n" "$shared_mb" |
                as_pg tee -a "$conf" >/dev/null
        fi
        as_pg "$(pg_config --bindir)/pg_ctl" -D "$PGHOST/data" -l "$PGHOST/server.log" -w restart >/dev/null
        base_kb=$(server_kb)
        # a first session reads the model once (and, shared, copies it in)
        sql -c "SET recsys.model_cache_size = '4GB'" \
            -c "SELECT recsys.predict(model, 1, 1) FROM models WHERE name = 'keep'" >/dev/null
        one=$(holding 1)
        sixteen=$(holding 16)
        read -r first_p50 first_p99 < <(latency "first_$mode" "$tmp/predict_keep.pgbench" -c 1 -j 1 -T 20 -C)
        say "1 connection: $one MiB, 16 connections: $sixteen MiB; first predict of a new connection p50 $first_p50 ms"
        sharing+=("| $mode | $one MiB | $sixteen MiB | $(calc "$sixteen / ($one > 0 ? $one : 1)" %.2f)× | p50 $first_p50 ms, p99 $first_p99 ms |")
    done
fi

{
    echo "Implicit ALS, 64 factors, $iterations iterations, on $interactions clicks of"
    echo "$users users x $items items; $(nproc) cores. Peak memory is the training"
    echo "backend's VmHWM growth."
    echo
    echo "| form | collect + arrange | per iteration | statement | peak memory | model |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${table[@]}"
    if [ ${#serving[@]} -gt 0 ]; then
        echo
        echo "| serving the fold-in model | measured | reference |"
        echo "|---|---|---|"
        printf '%s\n' "${serving[@]}"
    fi
    if [ ${#sharing[@]} -gt 0 ]; then
        echo
        echo "Serving the model that keeps its users ($((bytes / 1048576)) MiB): the server's memory"
        echo "growth from a restart while connections hold it (its processes' private pages and"
        echo "shared memory: the shared cache, and the buffers the model was read through), and"
        echo "predict as the first query of a new connection (SELECT 1 on a new connection: p50 ${newone_p50:-—} ms)."
        echo
        echo "| model cache | 1 connection | 16 connections | 16 / 1 | first predict of a new connection |"
        echo "|---|---|---|---|---|"
        printf '%s\n' "${sharing[@]}"
    fi
} | tee test/bench/scale.md
