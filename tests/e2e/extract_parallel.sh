#!/usr/bin/env bash
# -j N: the same records in the same order as one worker, byte for byte,
# including a long PDF whose pages are shared among workers.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
D=$DATA/docs
lode-extract -j 1 "$D" "$DATA/pdf-malformed" > j1.ndjson 2> j1.err
lode-extract -j 4 "$D" "$DATA/pdf-malformed" > j4.ndjson 2> j4.err
check "-j 4 writes what -j 1 writes, in the same order" cmp -s j1.ndjson j4.ndjson
expect_eq "-j 4 reports what -j 1 reports" "$(tail -1 j1.err)" "$(tail -1 j4.err)"
# failure-after-repair.pdf has 76 pages: with 2 workers it is read in parts
big=$DATA/pdf-malformed/unstructured/failure-after-repair.pdf
lode-extract -j 1 "$big" > big1.ndjson 2> /dev/null
lode-extract -j 2 "$big" > big2.ndjson 2> big2.err
check "a PDF read in parts by 2 workers equals the whole" cmp -s big1.ndjson big2.ndjson
expect_eq "a PDF read in parts counts as one document" "lode-extract: 1 ok, 0 failed; 76 records" "$(tail -1 big2.err)"
LODE_FAULT_PAGE=40 "$BUILD/hooks/lode-extract" -j 2 "$big" > bigcrash.ndjson 2> bigcrash.err
expect_eq "a crash in one part loses only its page" "75 40" \
    "$(jq -r .page bigcrash.ndjson | wc -l) $(grep -o 'page [0-9]*: the reader crashed' bigcrash.err | grep -o '[0-9]*')"
check "pages stay in order around the crash" bash -c "jq -r .page bigcrash.ndjson | sort -n -c"
# stdin as well as operands; order is input order
printf '%s\n' "$D/md/wiki.md" "$D/csv/csv-tab.csv" "$D/docx/word_sample.docx" | lode-extract -j 3 > stdin3.ndjson 2> /dev/null
expect_eq "stdin with -j 3 keeps input order" "md csv docx" "$(jq -r .type stdin3.ndjson | tr '\n' ' ' | sed 's/ $//')"
# ids are stable across runs
lode-extract "$D" > again.ndjson 2> /dev/null
expect_eq "ids are stable across runs" "$(jq -r .id j1.ndjson | head -83 | md5sum)" "$(jq -r .id again.ndjson | md5sum)"
