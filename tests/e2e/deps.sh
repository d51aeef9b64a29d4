#!/bin/bash
# The package lists of make deps, deps-test and deps-bench (tests/deps.sh):
# every package exists in this machine's Debian archive, `apt-get install
# --simulate` of each list resolves, and the number of packages each brings
# (its dependency closure without recommends, less the packages of
# priority required and important that every Debian system has) is printed.
# The first command's list holds no test or benchmark tool.
# runs no lode program (the normal pass only: tests/run.sh)
. "$LODE_ROOT/tests/lib.sh"
D=$ROOT/tests/deps.sh
if ! command -v apt-cache > /dev/null; then
    notok "apt-cache is not here (not a Debian system)"
    exit 0
fi
closure() { # LIST...: the packages they pull in, one a line
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "$@" 2> /dev/null | grep -v '^ ' | grep -v '^<' | LC_ALL=C sort -u
}
base() { # the packages of priority required or important: every system has them
    apt-cache dumpavail 2> /dev/null | awk '/^Package:/ { p = $2 } /^Priority: (required|important)/ { print p }' | LC_ALL=C sort -u
}
base > base.txt
prev=""
for k in build test bench; do
    read -r -a list <<< "$("$D" list "$k")"
    # one apt-cache call for the list: the names it knows, against the list
    missing=$(LC_ALL=C comm -23 <(printf '%s\n' "${list[@]}" | LC_ALL=C sort -u) \
        <(apt-cache show --no-all-versions "${list[@]}" 2> /dev/null | awk '/^Package:/ { print $2 }' | LC_ALL=C sort -u))
    expect_eq "deps $k: every package of the list is in the archive" "" "$missing"
    # shellcheck disable=SC2086 # the earlier lists, word by word
    closure $prev "${list[@]}" > "$k.txt"
    n=$(LC_ALL=C comm -23 "$k.txt" base.txt | grep -c .)
    case $k in build) target=deps ;; *) target=deps-$k ;; esac
    echo "# make $target: ${#list[@]} packages named, $n with what they need (beyond a base system)" >&2
    eval "count_$k=$n"
    check "...apt-get install --simulate resolves it" bash -c "apt-get install -s -q --no-install-recommends ${list[*]} > /dev/null 2>&1"
    prev="$prev ${list[*]}"
done
# shellcheck disable=SC2154 # set by eval above
check "the first command's list brings fewer packages than the tests' ($count_build < $count_test < $count_bench)" \
    test "$count_build" -lt "$count_test" -a "$count_test" -lt "$count_bench"
for p in python3-torch ocrmypdf openssh-server clang hyperfine postgresql shellcheck; do
    check "make deps (the first command) does not install $p" bash -c "! grep -qx '$p' <('$D' list build | tr ' ' '\n')"
done
check "make deps has jq (the first command pipes into it) and the OCR data" \
    bash -c "'$D' list build | tr ' ' '\n' | grep -qx jq && '$D' list build | grep -q tesseract-ocr-eng"
check ".ci/run installs what make check needs" grep -q '^make deps deps-test$' "$ROOT/.ci/run"
