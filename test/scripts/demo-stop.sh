#!/usr/bin/env bash
# Stops the cluster started by `make demo` and removes its directory.
set -euo pipefail
# shellcheck source=test/scripts/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
dir=${TMPDIR:-/tmp}/recsys-demo
if [ ! -d "$dir" ]; then
    echo "no demo cluster in $dir"
    exit 0
fi
cluster_stop "$dir"
rm -rf "$dir"
echo "demo cluster stopped and $dir removed"
