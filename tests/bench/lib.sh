#!/usr/bin/env bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Sourced by tests/bench/*.sh: the paths, a scratch folder removed at exit,
# the checks for the peers a benchmark needs, medians, and the line that
# says what the machine ran with. Benchmarks are not tests: nothing here
# passes or fails on time.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/bin
BUILD=$ROOT/build
SHARED=${LODE_SHARED:-$ROOT/../shared}
PY=/usr/bin/python3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# need_tools TOOL...: every one on PATH, or the benchmark stops saying which
need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" > /dev/null || { echo "$t is missing: run make deps" >&2; exit 1; }
    done
}
# need_python MODULE... (Debian's python3-MODULE packages)
need_python() {
    local m
    for m in "$@"; do
        "$PY" -c "import $m" 2> /dev/null || { echo "python3-$m is missing: run make deps" >&2; exit 1; }
    done
}
# the median of the numbers on standard input, one a line
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# what the kernels and BLAS ran with: the CPU, its vector extensions, the
# kernel path lode picks (LODE_CPU lowers it) and OPENBLAS_CORETYPE
cpu_line() {
    local model flags path=portable
    model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    flags=$(grep -m1 '^flags' /proc/cpuinfo)
    case "$flags" in *" avx2 "*) path=avx2 ;; esac
    case "$flags" in *avx512vl*avx512_vnni*|*avx512_vnni*avx512vl*) path=avx512 ;; esac
    case "${LODE_CPU:-}" in portable) path=portable ;; avx2) [ "$path" = avx512 ] && path=avx2 ;; esac
    echo "# cpu: ${model:-unknown}, $(nproc) cores; lode's kernel path: $path${LODE_CPU:+ (LODE_CPU=$LODE_CPU)}; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
}
