#!/usr/bin/env bash
# tests/run.sh BIN BUILD - runs every test and ends with "N passed, N failed".
#
# C unit tests are $BUILD/unit/test_*; end-to-end tests are tests/e2e/*.sh. Each
# prints TAP-like lines, "ok - what" or "not ok - what"; a test program
# that ends without printing any, or exits non-zero with no failure line,
# counts as one failure. With LODE_SAN=1 the binaries are the sanitizer
# build, and any AddressSanitizer or UBSan report in any process (forked
# workers included) is a failure.
set -u
BIN=$(cd "${1:-bin}" && pwd)
BUILD=$(cd "${2:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${LODE_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
if [ ! -d "$SHARED/data" ]; then
    echo "not ok - the shared test data is not at $SHARED (set LODE_SHARED)"
    echo "0 passed, 1 failed"
    exit 1
fi
OUT=$ROOT/tests/out/$(basename "$BIN")
rm -rf "$OUT"
mkdir -p "$OUT"
export LODE_BIN=$BIN LODE_BUILD=$BUILD LODE_ROOT=$ROOT LODE_SHARED=$SHARED LODE_OUT=$OUT
export LC_ALL=C.UTF-8
if [ "${LODE_SAN:-0}" = 1 ]; then
    mkdir -p "$OUT/san"
    export ASAN_OPTIONS="log_path=$OUT/san/asan:detect_leaks=1:abort_on_error=0:exitcode=99"
    export UBSAN_OPTIONS="log_path=$OUT/san/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=99"
    export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"
fi

passed=0
failed=0
record() { # NAME LOGFILE STATUS SECONDS
    local name=$1 log=$2 status=$3 secs=${4:-0} n_ok n_bad
    n_ok=$(grep -c '^ok - ' "$log")
    n_bad=$(grep -c '^not ok - ' "$log")
    grep '^not ok - ' "$log" | sed "s|^|$name: |"
    if [ "$n_ok" -eq 0 ] && [ "$n_bad" -eq 0 ]; then
        echo "$name: not ok - printed no result (exit $status); see $log"
        n_bad=1
    elif [ "$status" -ne 0 ] && [ "$n_bad" -eq 0 ]; then
        echo "$name: not ok - exited with status $status; see $log"
        n_bad=1
    fi
    passed=$((passed + n_ok))
    failed=$((failed + n_bad))
    printf '%-28s %3d ok, %d failed %6ss\n' "$name" "$n_ok" "$n_bad" "$secs"
}

for t in "$BUILD"/unit/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    log=$OUT/$name.log
    start=$SECONDS
    (cd "$OUT" && "$t") > "$log" 2>&1
    record "$name" "$log" $? $((SECONDS - start))
done
# The kernels' other paths on this machine: the kernel tests again with the
# CPU level lowered (LODE_CPU, lib/base/cpu.h); on a CPU without AVX-512 the
# avx2 run repeats the first.
for level in avx2 portable; do
    for t in test_quant test_sgemm; do
        name="${t}[$level]"
        log=$OUT/$name.log
        start=$SECONDS
        (cd "$OUT" && LODE_CPU=$level "$BUILD/unit/$t") > "$log" 2>&1
        record "$name" "$log" $? $((SECONDS - start))
    done
done
for t in "$ROOT"/tests/e2e/*.sh; do
    name=$(basename "$t" .sh)
    # a test that runs no lode program says so in its head, and runs in the
    # normal pass only: the sanitizer build would check nothing new; so does
    # one that runs the normal build by name (the README's bin/)
    if [ "${LODE_SAN:-0}" = 1 ] && head -12 "$t" | grep -q '^# runs no lode program\|^# normal pass only'; then
        continue
    fi
    log=$OUT/$name.log
    mkdir -p "$OUT/$name"
    start=$SECONDS
    (cd "$OUT/$name" && bash "$t") > "$log" 2>&1
    record "$name" "$log" $? $((SECONDS - start))
done
if [ "${LODE_SAN:-0}" = 1 ]; then
    reports=$(ls "$OUT"/san 2>/dev/null)
    if [ -n "$reports" ]; then
        echo "not ok - sanitizer reports:"
        for f in "$OUT"/san/*; do echo "== $f"; head -40 "$f"; done
        failed=$((failed + 1))
    else
        echo "ok - no sanitizer reports"
        passed=$((passed + 1))
    fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
