#!/usr/bin/env bash
# What the benchmark scripts share, sourced after `cd` to the repository:
#
#   bench_begin NAME   a temporary directory $tmp (the cluster lives in
#                      $tmp/cluster), removed on exit, with the server log's
#                      tail when the run fails; NAME labels the output
#   step, say          headed and indented output lines
#   sql                psql that stops at the first error
#   calc EXPR [FMT]    floating-point arithmetic in awk
#   key FILE NAME      the value of a `name value` line
#   sudo               ("sudo") unless root, for make install
source test/scripts/cluster.sh
export LC_ALL=C     # psql's "Time: 1.234 ms" and awk's numbers with a decimal point
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi

bench_begin() {
    bench_name=$1
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/recsys-$bench_name.XXXXXX")
    chmod 755 "$tmp"    # as root, the server runs as postgres and must reach inside
    trap bench_cleanup EXIT
}
bench_cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ -f "$tmp/cluster/server.log" ]; then
        echo "--- server log (tail)"; tail -n 30 "$tmp/cluster/server.log"
        echo "recsys $bench_name: FAILED" >&2
    fi
    cluster_stop "$tmp/cluster" || true
    rm -rf "$tmp"
}

step() { echo; echo "=== recsys $bench_name: $*"; }
say() { echo "    $*"; }
sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
calc() { awk "BEGIN { printf \"${2:-%.3f}\", $1 }"; }
key() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"; }
