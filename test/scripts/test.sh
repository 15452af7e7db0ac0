#!/usr/bin/env bash
# Full test run: dependencies, -Werror build, install, C unit tests (plain, under
# sanitizers, then a minute of fuzzing), pg_regress against a throwaway cluster,
# then the TAP tests. Exits non-zero on any failure. Compiler output goes to
# build.log, printed only if a build step fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source test/scripts/cluster.sh

bash test/scripts/install-deps.sh

# Installing into the server's directories needs root.
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/recsys-test.XXXXXX")
chmod 755 "$tmp"    # as root, the servers run as postgres and must reach inside
cleanup() {
    cluster_stop "$tmp/cluster" || true
    rm -rf "$tmp"
}
trap cleanup EXIT

started=$SECONDS
step() { echo; echo "=== recsys: $* ($((SECONDS - started)) s)"; }

source test/scripts/build_log.sh
jobs=$(nproc)
echo "recsys: build output goes to $build_log"

step build
logged make clean
logged make -j"$jobs" COPT='-Werror'

step install
logged "${sudo[@]}" make install PG_CONFIG="$(command -v pg_config)"

step unit tests
logged make -j"$jobs" unit-build bench-tools
make -s unit

step unit tests under sanitizers
logged make -j"$jobs" unit-sanitized-build
make -s unit-sanitized

step fuzzing
logged make -j"$jobs" test/fuzz/obj/fuzz_model test/fuzz/obj/make_seeds
# libFuzzer prints a line per discovery: they go to the log, its summary here
logged make -s fuzz FUZZ_SECONDS=60
grep -E '^(Done [0-9]+ runs|stat::(new_units_added|peak_rss_mb))' "$build_log"

step regression tests
cluster_start "$tmp/cluster" 5499
# TAP_TESTS= keeps installcheck to pg_regress; the TAP tests run separately below.
if ! make -s installcheck TAP_TESTS=; then
    [ -f regression.diffs ] && cat regression.diffs
    echo "--- server log (tail)"; tail -n 30 "$tmp/cluster/server.log"
    echo "recsys: regression tests FAILED" >&2
    exit 1
fi

step "client application (Python, psycopg)"
# Debian's python3 and psycopg, not whatever python3 comes first in PATH
/usr/bin/python3 test/clients/test_recommend_client.py
cluster_stop "$tmp/cluster"
unset PGHOST PGPORT PGUSER PGDATABASE

step TAP tests
if ! compgen -G 'test/t/*.pl' >/dev/null; then
    echo "no TAP tests in test/t, skipping"
else
    # The TAP framework starts its own servers and writes tmp_check/ in the tree,
    # so as root it runs as postgres in a copy of the tree that postgres owns.
    if [ "$(id -u)" -eq 0 ]; then
        tree=$tmp/tree
        cp -a "$root/." "$tree"
        chown -R postgres: "$tree"
    else
        tree=$root
    fi
    # The pg_cron test waits for cron's next minute, idle: it runs beside the
    # others, from a tree of its own (each run clears its tree's tmp_check),
    # the two taking ports from one lock directory.
    export PG_TEST_PORT_DIR=$tmp/portlock
    mkdir -p "$PG_TEST_PORT_DIR"
    cron_test=test/t/013_cron_retrain.pl
    cron_tree=$tmp/cron-tree
    cp -a "$tree/." "$cron_tree"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$cron_tree" "$PG_TEST_PORT_DIR"; fi
    as_pg make -s -C "$cron_tree" prove_installcheck PROVE_TESTS="$cron_test" \
        PROVE_FLAGS=--timer >"$tmp/cron.out" 2>&1 &
    cron_pid=$!
    others=$(cd "$tree" && ls test/t/*.pl | grep -vx "$cron_test" | tr '\n' ' ')
    tap_ok=true
    as_pg make -s -C "$tree" prove_installcheck PROVE_TESTS="$others" PROVE_FLAGS=--timer || tap_ok=false
    wait "$cron_pid" || tap_ok=false
    cat "$tmp/cron.out"
    if ! $tap_ok; then
        for f in "$tree"/tmp_check/log/* "$cron_tree"/tmp_check/log/*; do
            [ -f "$f" ] && { echo "--- $f (tail)"; tail -n 40 "$f"; }
        done
        echo "recsys: TAP tests FAILED" >&2
        exit 1
    fi
fi

echo
echo "recsys: all tests passed in $((SECONDS - started)) s"
