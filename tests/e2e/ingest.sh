#!/usr/bin/env bash
# pipelines/ingest.mk and pipelines/cron.sh on a folder of documents: every
# lode program is a shim that logs its start, so the test sees what ran.
# First run, second run (nothing runs), a touched file (nothing), a changed
# file (only it), a deleted file and an archive member (they leave the
# store), a damaged PDF (reported, the rest indexed, exit status), a fatal
# error (retried next run); cron.sh's JSON log, metrics and lock.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
MK=$ROOT/pipelines/ingest.mk
EX=$ROOT/examples

mkdir -p shim docs/sub
for p in extract ocr chunk embed index; do
    cat > shim/lode-$p << EOF
#!/bin/bash
echo "$p \$(date +%s.%N) \$*" >> "$PWD/ran.log"
[ "$p" != extract ] || [ -z "\${SLOW:-}" ] || sleep "\$SLOW"
exec "$BIN/lode-$p" "\$@"
EOF
    chmod +x shim/lode-$p
done
cp "$EX/guide.md" "$EX/lode-chunk.pdf" "$EX/release-notes.docx" "$EX/formats.csv" docs/
cp "$EX/lode-records.html" "docs/sub/it's a \$weird #name (1).html"
mkdir -p arc/backup && cp "$EX/guide.md" arc/backup/a.md && cp "$EX/formats.csv" arc/backup/b.csv
tar -C arc -czf docs/backup.tar.gz backup
ingest() { make -s -f "$MK" DOCS=docs STORE=kb LODE_BIN="$PWD/shim" "$@" > out.log 2> err.log; }
sources() { lode-index -s kb --dump | jq -r .source | sort -u | paste -sd'|'; }
ran() { cut -d' ' -f1 ran.log 2> /dev/null | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }'; }

# ---- first run, in parallel ----
SLOW=0.4 ingest -j 4
expect_eq "first run: exit 0" 0 $?
expect_eq "...every document extracted, OCR'd and chunked once, one index run" \
    "chunk=6 extract=6 index=1 ocr=6" "$(ran)"
expect_eq "...every source in the store (archive members too, odd names too)" \
    "docs/backup.tar.gz!/backup/a.md|docs/backup.tar.gz!/backup/b.csv|docs/formats.csv|docs/guide.md|docs/lode-chunk.pdf|docs/release-notes.docx|docs/sub/it's a \$weird #name (1).html" \
    "$(sources)"
# starts and ends of the slowed extractions: two at once at least
overlap=$(awk '$1 == "extract" { print $2 }' ran.log | sort -n | awk '{ t[NR] = $1 } END { n = 0; for (i = 2; i <= NR; i++) if (t[i] - t[i - 1] < 0.4) n++; print n }')
expect_ge "...documents run side by side under make -j 4 (extractions started within 0.4 s of another)" 1 "$overlap"

# ---- nothing changed ----
rm -f ran.log
ingest -j 4
expect_eq "second run: exit 0" 0 $?
expect_eq "...no lode program runs at all" "" "$(ran)"
touch docs/guide.md docs/lode-chunk.pdf
ingest -j 4
expect_eq "touched, same bytes: nothing runs (content decides, not mtime)" "" "$(ran)"

# ---- one document changed ----
printf '\n## Zanzibar\n\nThe quokka protocol rotates zanzibar keys.\n' >> docs/guide.md
ingest -j 4
expect_eq "one file changed: only it is processed and indexed" "chunk=1 extract=1 index=1 ocr=1" "$(ran)"
check "...the extraction was of that file" grep -q "^extract .* docs/guide.md\$" ran.log
expect_eq "...its new text is searchable" "docs/guide.md" \
    "$(echo 'zanzibar quokka' | lode-query -s kb -k 1 2> /dev/null | jq -r '.hits[0].source')"
expect_eq "...and not twice (the old version replaced)" 1 \
    "$(lode-index -s kb --dump | jq -r 'select(.source == "docs/guide.md") | .doc' | sort -u | wc -l)"

# ---- deleted document, and a member gone from an archive ----
rm -f ran.log
rm docs/formats.csv
rm arc/backup/b.csv && tar -C arc -czf docs/backup.tar.gz backup
ingest -j 4
expect_eq "a file deleted and an archive changed: exit 0" 0 $?
expect_eq "...only the archive is processed" "chunk=1 extract=1 index=2 ocr=1" "$(ran)"
check "...the extraction was of the archive" grep -q "^extract .* docs/backup.tar.gz\$" ran.log
expect_eq "...the deleted file and the archive's lost member left the store" \
    "docs/backup.tar.gz!/backup/a.md|docs/guide.md|docs/lode-chunk.pdf|docs/release-notes.docx|docs/sub/it's a \$weird #name (1).html" \
    "$(sources)"
check "...no trace of it left in WORK" test ! -e kb.work/rec/formats.csv.ndjson -a ! -e kb.work/sum/formats.csv.sha

# ---- a damaged PDF ----
rm -f ran.log
cp "$DATA/pdf-malformed/pdfjs/REDHAT-1531897-0.pdf" docs/damaged.pdf
printf 'A new note about walruses.\n' > docs/note.txt
ingest -j 4
expect_eq "a damaged PDF beside a new note: the run fails (make exits 2)" 2 $?
check "...the damaged PDF's error record, in WORK/errors.ndjson" \
    jqe -s 'length == 1 and .[0].source == "docs/damaged.pdf" and (.[0].error | test("damaged"))' kb.work/errors.ndjson
check "...the note is indexed all the same" has <(sources | tr '|' '\n') "docs/note.txt"
check "...the make target errors prints them" \
    jqe -s 'length == 1' <(make -s -f "$MK" DOCS=docs STORE=kb errors)
rm -f ran.log
ingest -j 4
expect_eq "...the next run does not try it again, and succeeds" "0 " "$? $(ran)"
ingest retry
expect_eq "...until asked to: make retry" "2 chunk=1 extract=1 index=1 ocr=1" "$? $(ran)"
rm docs/damaged.pdf

# ---- a fatal error is retried next run ----
rm -f ran.log
ingest -j 2 MODEL=/nonexistent STORE=kbv WORK=kbv.work
expect_eq "a model that does not load: the run fails" 2 $?
check "...one error record per document, naming the cause" \
    jqe -s 'length == 6 and all(.error | test("exit status 3: lode-embed: fatal: cannot load the model"))' kbv.work/errors.ndjson
rm -f ran.log
ingest -j 2 MODEL="$SHARED/models/tiny-bert-f32" STORE=kbv WORK=kbv.work
expect_eq "...with the model, the next run does them all" "0 chunk=6 embed=6 extract=6 index=1 ocr=6" "$? $(ran)"
expect_eq "...with vectors" "$(lode-index -s kbv --stats | jq .chunks)" "$(lode-index -s kbv --stats | jq .vectors)"

# ---- cron.sh: JSON log, metrics, one run at a time ----
C=$ROOT/pipelines/cron.sh
mkdir -p prom
printf 'Cron wrote this.\n' > docs/cron.txt
LODE_BIN=$PWD/shim LODE_CRON_METRICS=prom "$C" docs kb > cron1.log 2> cron1.err
expect_eq "cron.sh: exit 0, nothing on stderr" "0 " "$? $(cat cron1.err)"
check "...a JSON log: start, the document, index, end" \
    jqe -s 'map(.event) == ["start", "document", "index", "message", "end"] and .[1].source == "docs/cron.txt" and .[-1].status == 0 and .[-1].documents == 1 and all(.time and .pid)' cron1.log
check "...metrics for the textfile collector" \
    jqe -n --rawfile m prom/lode_cron.prom '$m | test("lode_cron_documents_processed 1\n") and test("lode_cron_exit_status 0\n") and test("lode_cron_store_chunks [0-9]+\n")'
check "...and lode-index's own" has prom/lode_index.prom 'lode_index_chunks_added_total{stage="index"}'
cp "$DATA/pdf-malformed/pdfjs/poppler-67295-0.pdf" docs/damaged2.pdf
LODE_BIN=$PWD/shim LODE_CRON_METRICS=prom "$C" docs kb > cron2.log 2> /dev/null
expect_eq "cron.sh with a damaged document: exit 1" 1 $?
check "...its failure logged with the error record" \
    jqe -s 'map(select(.event == "failed"))[0].record.source == "docs/damaged2.pdf" and .[-1].failed == 1' cron2.log
check "...the failure in the metrics; the last success kept" \
    jqe -n --rawfile m prom/lode_cron.prom '$m | test("lode_cron_exit_status 1\n") and test("lode_cron_documents_failed 1\n") and (test("lode_cron_last_success_timestamp_seconds 0\n") | not)'
rm docs/damaged2.pdf

# two at once: the second skips while the first holds the lock
printf 'Slow one.\n' > docs/slow.txt
(SLOW=2 LODE_BIN=$PWD/shim "$C" docs kb > first.log 2>&1) &
first=$!
for _ in $(seq 50); do grep -q '"start"' first.log 2> /dev/null && break; sleep 0.1; done
LODE_BIN=$PWD/shim LODE_CRON_METRICS=prom "$C" docs kb > second.log 2>&1
expect_eq "a second start while one runs: exit 0 at once" 0 $?
check "...logged as skipped" jqe -s 'length == 1 and .[0].event == "skipped"' second.log
check "...and counted in the metrics" has prom/lode_cron.prom "lode_cron_skipped_total 1"
printf 'Waiting one.\n' > docs/wait.txt
LODE_CRON_WAIT=60 LODE_BIN=$PWD/shim "$C" docs kb > third.log 2>&1
wait $first
expect_eq "with LODE_CRON_WAIT it waits, and both succeed" "0" "$?"
s3=$(jq -r 'select(.event == "start") | .time' third.log)
e1=$(jq -r 'select(.event == "end") | .time' first.log)
check "...it starts only after the first ended ($e1 <= $s3)" test "$e1" \< "$s3" -o "$e1" = "$s3"
check "...and did the rest" jqe -s 'map(select(.event == "document") | .source) == ["docs/wait.txt"]' third.log

# snapshots after the runs that changed the store (LODE_CRON_SNAPSHOTS)
printf 'Snapshot me.\n' > docs/snap1.txt
LODE_CRON_SNAPSHOTS=2 LODE_BIN=$PWD/shim "$C" docs kb > snap1.log 2> /dev/null
expect_eq "LODE_CRON_SNAPSHOTS=2: a run that indexed a document exits 0" 0 $?
check "...and logs a snapshot of the store in kb.snapshots/" \
    jqe -s 'map(select(.event == "snapshot"))[0].snapshot | (.snapshot | test("/kb.snapshots/20[0-9]+T[0-9]+Z$")) and .chunks > 0' snap1.log
LODE_CRON_SNAPSHOTS=2 LODE_BIN=$PWD/shim "$C" docs kb > snap2.log 2> /dev/null
check "...a run that changed nothing takes none" jqe -s 'map(select(.event == "snapshot")) == []' snap2.log
for i in 2 3; do
    sleep 1.1 # snapshots are named by the second
    printf 'Snapshot %s.\n' "$i" > "docs/snap$i.txt"
    LODE_CRON_SNAPSHOTS=2 LODE_BIN=$PWD/shim "$C" docs kb > "snap$i.log" 2> /dev/null
done
expect_eq "...after three that did, the newest two are kept" 2 "$(lode-index -s kb --snapshots | grep -c .)"
expect_eq "...the newest holds what the store holds" "$(lode-index -s kb --stats | jq .chunks)" \
    "$(lode-index -s kb --snapshots | tail -1 | jq .chunks)"
check "...and each one passes --check" \
    bash -c 'for d in $(lode-index -s kb --snapshots | jq -r .path); do lode-index -s "$d" --check > /dev/null 2>&1 || exit 1; done'
LODE_CRON_SNAPSHOTS=x "$C" docs kb > /dev/null 2>&1
expect_eq "LODE_CRON_SNAPSHOTS=x: a usage error" 2 $?

# ---- the programs found beside the pipelines, under cron's environment ----
mkdir -p plain
printf 'Found without PATH.\n' > plain/p.txt
env -i PATH=/usr/bin:/bin HOME="$HOME" make -s -f "$MK" DOCS=plain STORE=plainkb > plain.out 2> plain.err
expect_eq "ingest.mk from the checkout with PATH=/usr/bin:/bin: exit 0, the document indexed" "0 1" \
    "$? $(lode-index -s plainkb --stats 2> /dev/null | jq .chunks)"
printf 'And from cron.\n' > plain/q.txt
env -i PATH=/usr/bin:/bin HOME="$HOME" "$C" plain plainkb > plaincron.log 2> plaincron.err
expect_eq "cron.sh with cron's environment: exit 0, nothing on stderr" "0 " "$? $(cat plaincron.err)"
check "...the new document indexed" jqe -s 'map(select(.event == "document") | .source) == ["plain/q.txt"]' plaincron.log
LODE_BIN=/nonexistent "$C" plain plainkb > /dev/null 2> missing.err
expect_eq "cron.sh with LODE_BIN naming a folder without the programs: exit 3 at once" 3 $?
check "...naming the missing program and LODE_BIN" has missing.err "lode-extract not found in /nonexistent"
LODE_BIN=/nonexistent make -s -f "$MK" DOCS=plain STORE=plainkb > /dev/null 2> missing.err
check "ingest.mk likewise: stops before any document, naming the program" has missing.err "lode-extract not found in \"/nonexistent\""
for s in parallel.sh finetune-qa.sh shard.sh sql.sh watch.sh; do
    case $s in
    parallel.sh) args=(plain) ;;
    finetune-qa.sh) args=(plainkb m out) ;;
    shard.sh) args=(0/1 plain out) ;;
    sql.sh) args=(--db sqlite:x --table t --key k --text t kb) ;;
    watch.sh) args=(plain plainkb) ;;
    esac
    LODE_BIN=/nonexistent "$ROOT/pipelines/$s" "${args[@]}" > /dev/null 2> missing.err
    expect_eq "$s without its programs: exit 3, naming one" "3 1" "$? $(grep -c 'not found in /nonexistent' missing.err)"
done
