#!/usr/bin/env bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Sourced by tests/e2e/*.sh: paths and the check helpers.
# Every check prints "ok - WHAT" or "not ok - WHAT" (tests/run.sh counts them).
set -u
BIN=${LODE_BIN:?run through tests/run.sh}
BUILD=${LODE_BUILD:?}
ROOT=${LODE_ROOT:?}
SHARED=${LODE_SHARED:?}
DATA=$SHARED/data
export PATH="$BIN:$PATH"

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
# check WHAT COMMAND...: passes when the command succeeds
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else notok "$what"; fi
}
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else notok "$1 (expected [$2], got [$3])"; fi
}
# expect_ge WHAT MIN VALUE (decimal numbers)
expect_ge() {
    if awk -v a="$3" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; then
        ok "$1 ($3 >= $2)"
    else
        notok "$1 ($3 < $2)"
    fi
}
# expect_le WHAT MAX VALUE
expect_le() {
    if awk -v a="$3" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; then
        ok "$1 ($3 <= $2)"
    else
        notok "$1 ($3 > $2)"
    fi
}
# has FILE PATTERN: a line of the file matches the fixed string
has() { grep -qF -- "$2" "$1"; }
# jqe FILTER FILE...: jq -e, quietly (for check)
jqe() { jq -e "$@" > /dev/null; }
# text of the records whose source ends with NAME
text_of() { jq -r --arg n "$2" 'select(.source | endswith($n)) | .text' "$1"; }
# consistent STORE: lode-index --check finds nothing
consistent() { lode-index -s "$1" --check > /dev/null 2>&1; }
# sanitizer builds are slower: tests may scale work down
san() { [ "${LODE_SAN:-0}" = 1 ]; }
# same_records A B: the same records in the same order, every field equal
# but the vectors ("vec"), which are a float comparison: within 1e-6 of each
# other. A batch of other texts may change how BLAS sums a text's products
# (OpenBLAS's Haswell/Zen kernels do), which moves a vector by float32
# rounding (measured up to 2e-7); 1e-6 is far below what a wrong vector or a
# record paired with another's vector gives.
same_records() {
    cmp -s <(jq -c 'del(.vec)' "$1") <(jq -c 'del(.vec)' "$2") || return 1
    grep -q '"vec"' "$1" || return 0
    "$BUILD/tools/embcmp" "$1" "$2" | awk '{ exit !($6 + 0 <= 1e-6) }'
}
