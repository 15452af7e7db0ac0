#!/usr/bin/env bash
# Prints a digest of the model each kind trains (test/digest/model_digests.sql)
# from the recsys that is installed, in a throwaway cluster.  Build and
# install first (make && make install); compare two builds' output on one
# machine.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"    # the \copy path in the script is relative to the repository root
source test/scripts/cluster.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/recsys-digests.XXXXXX")
chmod 755 "$tmp"
trap 'cluster_stop "$tmp/cluster" || true; rm -rf "$tmp"' EXIT
cluster_start "$tmp/cluster" 5497 >/dev/null
psql -X -q -A -F ' ' -t -f test/digest/model_digests.sql
