#!/bin/bash
# run.sh BUILD SECONDS: make fuzz's loop: every libFuzzer target in
# BUILD/fuzz for SECONDS each, from a corpus that starts as the seeds
# (seeds.sh) and keeps what the fuzzer adds between runs
# (BUILD/corpus/NAME); a crash is kept in BUILD/crashes/NAME and copied to
# tests/fuzz/regressions/NAME, where seeds.sh makes it a seed for good.
# Prints one line per target: executions, corpus size, crashes (with
# leaks, hangs, memory beyond the limit and inputs slower than 10 s).
set -u
build=$1 seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export LODE_SHARED=${LODE_SHARED:-$root/../shared} LODE_BIN=${LODE_BIN:-$root/bin} LODE_BUILD=${LODE_BUILD:-$root/build}
seeds=$build/seeds
rm -rf "$seeds"
"$here/seeds.sh" "$seeds" || exit 3
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
found=0
printf '%-16s %12s %8s %8s\n' target executions corpus crashes
for t in "$build"/fuzz/fuzz_*; do
    name=$(basename "$t")
    n=${name#fuzz_}
    corpus=$build/corpus/$n crashes=$build/crashes/$n
    rm -rf "$crashes"
    mkdir -p "$corpus" "$crashes"
    log=$build/fuzz-$n.log
    "$t" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$corpus" "$seeds/$n" > "$log" 2>&1
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    # crashes, leaks, hangs past -timeout and memory past -rss_limit_mb;
    # slow units (over 10 s) are kept too
    ncrash=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | wc -l)
    if [ "$ncrash" -gt 0 ]; then
        mkdir -p "$here/regressions/$n"
        cp "$crashes"/* "$here/regressions/$n/"
        found=$((found + ncrash))
    fi
    printf '%-16s %12s %8s %8s\n' "$n" "${execs:-?}" "$(find "$corpus" -type f | wc -l)" "$ncrash"
done
[ "$found" -eq 0 ] || { echo "crashes kept in tests/fuzz/regressions (see $build/fuzz-*.log)"; exit 1; }
