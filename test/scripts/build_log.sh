# Sourced by test.sh and demo.sh: commands whose output a person does not
# need to read (compiler and install lines) write to build.log in the
# repository root, which is printed only when one of them fails.
#
#   logged COMMAND...   runs COMMAND with its output appended to $build_log

build_log=${build_log:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build.log}
: >"$build_log"

logged() {
    if ! "$@" >>"$build_log" 2>&1; then
        tail -n 80 "$build_log"
        echo "recsys: '$*' failed; its whole output is in $build_log" >&2
        exit 1
    fi
}
