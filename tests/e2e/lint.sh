#!/usr/bin/env bash
# make lint inside make check: every shell script passes shellcheck, every C
# file is laid out as .clang-format says, every script has its #! line; and
# the check catches a planted warning of each kind.
# runs no lode program (the normal pass only: tests/run.sh)
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
"$ROOT/tests/lint.sh" "$ROOT" > lint.txt 2>&1
status=$?
cat lint.txt
expect_eq "make lint passes on the tree" 0 "$status"

# a copy with one of each fault: the check must fail and name them
mkdir -p planted/tests
cp -R "$ROOT/lib" "$ROOT/cmd" "$ROOT/pipelines" "$ROOT/.clang-format" "$ROOT/.shellcheckrc" planted/
cp -R "$ROOT/tests/unit" "$ROOT/tests/tools" "$ROOT/tests/e2e" "$ROOT/tests/lib.sh" planted/tests/
printf 'x=$1\nrm -rf $x/*\n' > planted/pipelines/bad.sh
printf 'int planted(void) { return 1; }\n' > planted/lib/base/planted.c
"$ROOT/tests/lint.sh" "$PWD/planted" > planted.txt 2>&1
expect_eq "a planted unquoted rm and a one-line function fail make lint" 1 $?
check "...shellcheck names the script" grep -q 'pipelines/bad.sh:2:.*SC2086' planted.txt
check "...clang-format names the C file" grep -q 'lib/base/planted.c' planted.txt
check "...and the script without #!" grep -q 'scripts without #!: pipelines/bad.sh' planted.txt
