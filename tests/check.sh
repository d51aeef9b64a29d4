#!/bin/sh
# make check: every test on the normal build, then again on the
# AddressSanitizer + UndefinedBehaviorSanitizer build; the last line sums
# both passes: "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2
# both builds on every core (a plain `make check` would compile one file at a time)
jobs=$(nproc 2> /dev/null || echo 2)
make --no-print-directory -j"$jobs" all > /dev/null || { echo "0 passed, 1 failed"; exit 1; }
tests/run.sh bin build | tee tests/out-normal.txt
make --no-print-directory -j"$jobs" SAN=1 all > /dev/null || { echo "0 passed, 1 failed"; exit 1; }
LODE_SAN=1 tests/run.sh bin/san build/san | tee tests/out-san.txt
tail -n 1 tests/out-normal.txt tests/out-san.txt | awk '
    /passed,/ { p += $1; f += $3 }
    END { print "sanitizer and normal passes together:"; printf "%d passed, %d failed\n", p, f; exit f > 0 }'
