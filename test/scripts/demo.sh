#!/usr/bin/env bash
# Demo: builds and installs recsys, starts a cluster that stays up, loads
# MovieTweetings 100K, trains an ALS model and shows recommendations and
# their explanations, compares ranking models on held-out data and retrains
# one as a scheduled job would.
# Stop it with `make demo-stop`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"    # the \copy paths in test/demo/*.sql are relative to the repository root
source test/scripts/cluster.sh

source test/scripts/build_log.sh

bash test/scripts/install-deps.sh
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
echo "recsys: building and installing (output in $build_log)"
logged make -j"$(nproc)"
logged "${sudo[@]}" make install PG_CONFIG="$(command -v pg_config)"

# A fixed place, so that demo-stop can find it; start afresh each time.
dir=${TMPDIR:-/tmp}/recsys-demo
port=5498
cluster_stop "$dir" || true
rm -rf "$dir"
cluster_start "$dir" "$port"
echo "demo cluster running in $dir"

sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
sql -c 'CREATE EXTENSION recsys'
for f in load train show compare retrain; do
    sql -f "test/demo/$f.sql"
done

cat <<MSG

The demo cluster is still running. Connect with:
    psql -h $dir -p $port -U postgres
Stop it and remove its files with:
    make demo-stop
MSG
