#!/usr/bin/env bash
# Installs the Debian packages needed to build and test recsys, only those missing.
# Usage: bash test/scripts/install-deps.sh [PACKAGE...]   (PG_MAJOR=NN to pick a server version)
# Packages named on the command line are wanted too (e.g. the benchmarks' peers).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# Build against the server that is already there, if any; else PostgreSQL 15 (Debian 12).
if [ -z "${PG_MAJOR:-}" ]; then
    if command -v pg_config >/dev/null 2>&1 && v=$(pg_config --version 2>/dev/null); then
        PG_MAJOR=$(sed -E 's/^PostgreSQL ([0-9]+).*/\1/' <<<"$v")
    elif servers=$(compgen -G '/usr/lib/postgresql/*/bin/postgres'); then
        PG_MAJOR=$(sort -V <<<"$servers" | tail -n1 | cut -d/ -f5)
    else
        PG_MAJOR=15
    fi
fi

# gcc only recommends libc6-dev, and we install without recommends.
# libipc-run-perl (plus perl's own Test::More and prove) is what PostgreSQL::Test::Cluster needs;
# python3-psycopg runs the client application's test, pg_cron the scheduled retraining test;
# clang and its sanitizer runtimes (libFuzzer among them) build the fuzzer, and
# clang does not pull the runtimes in by itself.
wanted=(gcc libc6-dev make perl "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR"
        libopenblas-dev libipc-run-perl python3-psycopg "postgresql-$PG_MAJOR-cron"
        clang libclang-rt-dev procps "$@")

missing=()
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all present (PostgreSQL $PG_MAJOR)"
else
    echo "install-deps: installing ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo DEBIAN_FRONTEND=noninteractive)
    else
        echo "install-deps: missing packages (${missing[*]}) and not root, and sudo is not available;" >&2
        echo "install-deps: run this script as root or install sudo." >&2
        exit 1
    fi
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The TAP framework fails in obscure ways without these modules; say so plainly.
perl -MIPC::Run -MTest::More -MTime::HiRes -e1 ||
    { echo "install-deps: perl modules IPC::Run / Test::More missing" >&2; exit 1; }
