#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for tests and the demo.
#
#   bash test/scripts/cluster.sh start DIR [PORT]   prints `export PG...=` lines for eval
#   bash test/scripts/cluster.sh stop DIR
#   source test/scripts/cluster.sh                  gives cluster_start / cluster_stop / as_pg
#
# DIR holds the data directory, the server log and the unix socket; the server
# listens on no TCP address, so a fixed port cannot clash with other servers.
# PostgreSQL refuses to run as root, so as root the server runs as `postgres`.

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        # cd / first: the caller's directory (e.g. under /root) may be unreadable to postgres
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# cluster_start DIR [PORT]: init and start a server in DIR (created if needed), export PG* for it.
cluster_start() {
    local dir=$1 port=${2:-5499} bindir
    bindir=$(pg_config --bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 ||
            { echo "cluster: user 'postgres' is missing (install postgresql)" >&2; return 1; }
        chown postgres: "$dir"
        runuser -u postgres -- test -w "$dir" ||
            { echo "cluster: user 'postgres' cannot write $dir (check its parents' permissions)" >&2; return 1; }
    fi
    # -N: no fsync during initdb; UTF8 + C locale keeps text handling and sort order predictable.
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -N \
        --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; return 1; }
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = off
full_page_writes = off
synchronous_commit = off
EOF
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
        { tail -n 50 "$dir/server.log" >&2; return 1; }
    export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

# cluster_stop DIR: stop the server in DIR if it is running (the directory is left in place).
cluster_stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_pg "$(pg_config --bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        start) cluster_start "${2:?DIR}" "${3:-5499}"
               echo "export PGHOST='$PGHOST' PGPORT=$PGPORT PGUSER=$PGUSER PGDATABASE=$PGDATABASE" ;;
        stop)  cluster_stop "${2:?DIR}" ;;
        *)     echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2 ;;
    esac
fi
