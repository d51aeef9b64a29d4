#!/usr/bin/env bash
# Broken input gives records or error records naming the source, never a
# crash, a hang or a silent drop, and the exit status says so.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
D=$DATA/docs
M=$DATA/pdf-malformed

# Every malformed PDF: records or an error record, the run goes on.
lode-extract -j 2 --errors errs.ndjson "$M" > mal.ndjson 2> mal.err
rc=$?
expect_eq "malformed PDFs: exit status 1 (some failed, the rest processed)" 1 "$rc"
missing=0
for f in $(find "$M" -name '*.pdf' | sort); do
    if ! jq -n -e --arg s "$f" 'any(inputs; .source == $s)' mal.ndjson errs.ndjson > /dev/null; then
        echo "# nothing for $f"
        missing=$((missing + 1))
    fi
done
expect_eq "malformed PDFs: every file has a record or an error record" 0 "$missing"
expect_eq "error records have stage, source and error" "true" \
    "$(jq -s 'all(.[]; .stage == "extract" and (.source | length > 0) and (.error | length > 0))' errs.ndjson)"
check "the summary line counts documents" grep -qE '^lode-extract: [0-9]+ ok, [0-9]+ failed; [0-9]+ records$' mal.err
check "an encrypted PDF fails with 'encrypted'" \
    jqe -s 'any(.[]; (.source | endswith("/password.pdf")) and (.error | test("encrypted")))' errs.ndjson
check "a PDF with an owner password only is read" \
    jqe -s 'any(.[]; (.source | endswith("/copy-protected.pdf")) and (.text | length > 100))' mal.ndjson
check "a damaged page fails alone, with its page number" \
    jqe -s 'any(.[]; (.source | endswith("poppler-742-0-fuzzed.pdf")) and .page == 1)' errs.ndjson

# Type by content, not by name.
cp "$D/pdf/multi_page.pdf" renamed.docx
expect_eq "a PDF named .docx is read as a PDF" "pdf" "$(lode-extract renamed.docx 2>/dev/null | jq -r .type | sort -u)"
head -c 3000 /dev/urandom > junk.txt
printf '\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0' | cat - junk.txt > elf.txt
: > empty.txt
printf '\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' > legacy.doc
head -c 4000 /dev/zero >> legacy.doc
# (a DOCX cut after its main part still gives that part's text: cut inside it)
head -c 2000 "$D/docx/word_sample.docx" > truncated.docx
head -c 1500 "$D/archives/simple.zip" > truncated.zip
mkfifo fifo.txt
ln -s loop-b loop-a
ln -s loop-a loop-b
mkdir -p dirloop/sub
ln -s .. dirloop/sub/up
timeout 60 lode-extract --errors bad.ndjson junk.txt elf.txt empty.txt legacy.doc \
    truncated.docx truncated.zip fifo.txt loop-a dirloop does-not-exist.pdf > bad.out 2> bad.err
rc=$?
expect_eq "bad files: exit status 1, no hang" 1 "$rc"
check "binary junk named .txt is refused" grep -q '"source":"junk.txt".*unsupported binary' bad.ndjson
check "an executable named .txt is refused" grep -q '"source":"elf.txt".*unsupported binary' bad.ndjson
check "an empty file fails with 'empty file'" grep -q '"source":"empty.txt".*empty file' bad.ndjson
check "a legacy .doc says how to convert it" grep -q '"source":"legacy.doc".*libreoffice' bad.ndjson
check "a truncated DOCX fails with a reason" grep -q '"source":"truncated.docx"' bad.ndjson
check "a truncated zip fails with a reason" grep -q '"source":"truncated.zip"' bad.ndjson
check "a FIFO is refused without blocking" grep -q '"source":"fifo.txt".*not a regular file' bad.ndjson
check "a symbolic link loop is reported" grep -q '"source":"loop-a".*loop' bad.ndjson
check "a directory that links to itself is reported, not walked forever" grep -q '"source":"dirloop/sub/up".*loop' bad.ndjson
check "a missing file is reported" grep -q '"source":"does-not-exist.pdf".*No such file' bad.ndjson
expect_eq "bad files: no records on stdout" 0 "$(wc -l < bad.out)"
expect_eq "bad files: an error record each (the truncated zip: its member and itself)" 11 \
    "$(wc -l < bad.ndjson)"
check "bad files: the summary counts each document once (the zip's member is one)" \
    grep -q '^lode-extract: 0 ok, 11 failed' bad.err

# An unreadable file (run as an unprivileged user when we are root; the
# program and the file go to a directory that user can reach).
nobody_dir=$(mktemp -d)
chmod 755 "$nobody_dir"
cp "$BIN/lode-extract" "$nobody_dir/"
cp "$D/md/wiki.md" "$nobody_dir/secret.md"
chmod 000 "$nobody_dir/secret.md"
if [ "$(id -u)" = 0 ]; then
    run_as() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
    run_as() { "$@"; }
fi
(cd "$nobody_dir" && run_as ./lode-extract secret.md) > unreadable.out 2> unreadable.err
check "an unreadable file fails with 'Permission denied'" grep -q 'secret.md: Permission denied' unreadable.err
rm -rf "$nobody_dir"

# A reader that crashes takes down only the page it was on; the rest of the
# PDF is read by a fresh worker. (LODE_FAULT_PAGE makes the worker crash.)
LODE_FAULT_PAGE=3 "$BUILD/hooks/lode-extract" --errors crash.ndjson "$D/pdf/multi_page.pdf" > crash.out 2> crash.err
expect_eq "crash on page 3: pages 1, 2, 4, 5 extracted" "1 2 4 5" "$(jq -r .page crash.out | tr '\n' ' ' | sed 's/ $//')"
check "crash on page 3: an error record for page 3" \
    jqe -s 'any(.[]; .page == 3 and (.error | test("crashed \\(signal 11")))' crash.ndjson
check "crash: the document counts as failed" grep -q '0 ok, 1 failed' crash.err
# The hook is compiled only into build/hooks/: bin/ ignores it.
LODE_FAULT_PAGE=3 lode-extract "$D/pdf/multi_page.pdf" > nohook.out 2> /dev/null
expect_eq "bin/lode-extract has no fault hook: all 5 pages" 5 "$(wc -l < nohook.out)"

# A document that takes too long fails alone (LODE_FAULT_PAGE=2:hang makes
# the worker hang before page 2); the pages before are kept.
LODE_FAULT_PAGE=2:hang "$BUILD/hooks/lode-extract" --timeout 1 --errors slow.ndjson "$D/pdf/multi_page.pdf" "$D/md/wiki.md" > slow.out 2> slow.err
rc=$?
expect_eq "timeout: exit status 1" 1 "$rc"
check "timeout: an error record says which pages were lost" jqe -s 'any(.[]; (.source | endswith("multi_page.pdf")) and .page == 2 and (.error | test("timed out after 1 s.*pages 2-5")))' slow.ndjson
expect_eq "timeout: the page before the hang is kept" "1" "$(jq -r 'select(.source | endswith("multi_page.pdf")) | .page' slow.out)"
check "timeout: counted once" grep -q '^lode-extract: 1 ok, 1 failed' slow.err
check "timeout: the next document is still read" jqe -s 'any(.[]; .source | endswith("wiki.md"))' slow.out

# Standard input: records, plain paths, invalid JSON, over-long lines.
{
    printf '{"path":"%s","collection":"docs","meta":{"owner":"ops"}}\n' "$D/md/wiki.md"
    printf '{"path": broken\n'
    printf '{"nopath":1}\n'
    printf '%s\n' "$D/csv/csv-comma.csv"
    printf '{"path":"%s","pad":"%s"}\n' "$D/md/wiki.md" "$(head -c 3000 /dev/zero | tr '\0' x)"
    printf '[1,2]\n'
    printf '{"path":"%s"}' "$D/md/umlauts-non-utf8.md" # no final newline
} > input.ndjson
lode-extract --max-line 2K --tag project=lode --errors stdin-err.ndjson < input.ndjson > stdin.out 2> stdin.err
rc=$?
expect_eq "stdin: exit status 1" 1 "$rc"
expect_eq "stdin: three documents read" 3 "$(wc -l < stdin.out)"
expect_eq "stdin: four failures" 4 "$(wc -l < stdin-err.ndjson)"
check "stdin: invalid JSON names its line" grep -q '"source":"<stdin>:2".*invalid JSON' stdin-err.ndjson
check "stdin: a record without path fails" grep -q '"source":"<stdin>:3".*path' stdin-err.ndjson
check "stdin: an over-long line fails alone" grep -q '"source":"<stdin>:5".*max-line' stdin-err.ndjson
check "stdin: a JSON array is not a record" grep -q '"source":"<stdin>:6".*not a JSON object' stdin-err.ndjson
check "stdin: fields of the input record pass through" \
    jqe -s 'any(.[]; .collection == "docs" and .meta.owner == "ops" and (has("path") | not))' stdin.out
check "stdin: --tag is added to every record's meta" jqe -s 'all(.[]; .meta.project == "lode")' stdin.out
check "stdin: a last line without newline is read" jqe -s 'any(.[]; .source | endswith("umlauts-non-utf8.md"))' stdin.out

# Usage errors.
expect_eq "an unknown option exits 2" 2 "$(lode-extract --frobnicate 2> /dev/null; echo $?)"
expect_eq "a bad -j exits 2" 2 "$(lode-extract -j 0 x 2> /dev/null; echo $?)"
expect_eq "--tag without = exits 2" 2 "$(lode-extract --tag foo x 2> /dev/null; echo $?)"

# an empty folder tree: no records, exit 0 (UBSan once stopped at qsort(NULL, 0))
mkdir -p emptydir/sub
lode-extract emptydir > emptydir.out 2> emptydir.err
expect_eq "an empty folder: exit 0, no records" "0 0" "$? $(wc -l < emptydir.out)"
