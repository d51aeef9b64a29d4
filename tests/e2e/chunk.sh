#!/usr/bin/env bash
# lode-chunk on every page of the real documents: exact spans, coverage,
# sizes, stable ids, structure-aware breaks, and bad input.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
D=$DATA/docs
lode-extract "$D" > pages.ndjson 2> /dev/null
jq -c 'select(.ocr != "needed")' pages.ndjson > text-pages.ndjson
for sz in "256 32" "64 16" "16 4" "3 1"; do
    # shellcheck disable=SC2086 # the pair splits into size and overlap
    set -- $sz
    lode-chunk --size "$1" --overlap "$2" < text-pages.ndjson > "chunks-$1.ndjson" 2> "chunks-$1.err"
    expect_eq "size $1: exit status 0" 0 $?
    "$BUILD/tools/checkchunks" text-pages.ndjson "chunks-$1.ndjson" "$1" > "check-$1.txt"
    check "size $1 overlap $2: text == page_text[span] byte for byte, chunks cover every non-blank byte, at most $1 tokens, page fields kept ($(tail -1 "check-$1.txt"))" \
        grep -q ' 0 problems$' "check-$1.txt"
done
lode-chunk < text-pages.ndjson > again.ndjson 2> /dev/null
check "chunk ids and text are stable across runs" cmp -s chunks-256.ndjson again.ndjson
expect_eq "chunk ids are the page id and the chunk number" "true" \
    "$(jq -s 'all(.[]; .id | test("^[0-9a-f]{16}-[0-9]+-[0-9]+$"))' chunks-256.ndjson)"
expect_eq "ids are unique" "$(wc -l < chunks-16.ndjson)" "$(jq -r .id chunks-16.ndjson | sort -u | wc -l)"
expect_ge "default size: most chunks are well filled (median tokens)" 150 \
    "$(jq -s '[.[] | select(.chunk > 0) | .tokens] | sort | .[length / 2 | floor]' chunks-256.ndjson)"

# Headings: a section that does not fit with the text before it starts a chunk.
{
    printf '# Guide\n\n'
    for s in Install Configure Run; do
        printf '## %s\n\n' "$s"
        for i in $(seq 1 12); do printf 'Sentence %d of the %s section explains one thing. ' "$i" "$s"; done
        printf '\n\n'
    done
} > guide.md
lode-extract guide.md 2> /dev/null | lode-chunk --size 120 --overlap 20 > guide.ndjson 2> /dev/null
expect_eq "each section starts a chunk" "# Guide|## Configure|## Run|" \
    "$(jq -r '.text | split("\n")[0] | select(startswith("#"))' guide.ndjson | tr '\n' '|')"
check "chunks inside a section end at sentence ends" \
    jqe -s '[.[] | .text | select(startswith("#") | not)] | all(endswith("."))' guide.ndjson

# Overlap: a chunk that continues a section repeats the end of the one before.
expect_eq "consecutive chunks of a section overlap" "true" \
    "$(jq -s '[range(1; length) as $i | select(.[$i].text | startswith("#") | not) | .[$i].span[0] < .[$i - 1].span[1]] | all' guide.ndjson)"

# Bad input fails alone; blank pages give no chunks and are counted.
{
    printf '{"id":"a-1","text":"Good text here."}\n'
    printf '{"id":"b-1","text":""}\n'
    printf '{"id":"c-1","text":"","ocr":"needed","source":"scan.pdf"}\n'
    printf '{"id":"d-1"}\n'
    printf 'not json\n'
    printf '{"text":"No id at all, so one is made from the text."}\n'
} > mixed.ndjson
lode-chunk --errors errors.ndjson < mixed.ndjson > mixed.out 2> mixed.err
expect_eq "bad input: exit status 1" 1 $?
expect_eq "bad input: the good records are chunked" "a-1-1 $(printf '%s' 'No id at all, so one is made from the text.' | sha256sum | cut -c1-16)-1-1" \
    "$(jq -r .id mixed.out | tr '\n' ' ' | sed 's/ $//')"
check "a page still waiting for OCR is an error naming its source" grep -q '"source":"scan.pdf".*run lode-ocr first' errors.ndjson
check "a record without text is an error" grep -q '"id":"d-1".*no \\"text\\"' errors.ndjson
check "invalid JSON is an error naming its line" grep -q '"source":"<stdin>:5".*invalid JSON' errors.ndjson
check "the summary counts blank pages" grep -q '^lode-chunk: 3 ok, 3 failed; 2 chunks, 1 blank pages$' mixed.err

# A 2 GB line: skipped without being held in memory, the next record read.
if san; then big=200M; else big=2G; fi
{ head -c "$big" /dev/zero | tr '\0' 'a'; printf '\n{"id":"after","text":"Still here."}\n'; } |
    /usr/bin/time -f '%M' -o rss.txt lode-chunk --max-line 1M --errors long.ndjson > long.out 2> long.err
check "a $big line fails with a clear error" grep -q 'longer than --max-line' long.ndjson
expect_eq "the record after it is chunked" "after-1" "$(jq -r .id long.out)"
san || expect_le "memory stays bounded while skipping it (KiB)" 65536 "$(tail -1 rss.txt)"

# Usage
lode-chunk --size 10 --overlap 10 < /dev/null 2> /dev/null
expect_eq "--overlap must be below --size" 2 $?
lode-chunk somefile < /dev/null 2> /dev/null
expect_eq "operands are refused: records come on stdin" 2 $?

# Tables: split between rows; a chunk that starts below a table's header
# carries the header (table_header), counted against --size, and lode-index
# and lode-embed read it with the rows: "moons" is only in the planets'
# header, "25" in a row of each table, and the planets' row wins.
{
    echo '<html><body><p>Two tables.</p><table><tr><th>Planet</th><th>Moons</th></tr>'
    for i in $(seq 1 30); do echo "<tr><td>Planet $i</td><td>$i</td></tr>"; done
    echo '</table><p>Then countries.</p><table><tr><th>Country</th><th>Cities</th></tr>'
    for i in $(seq 1 30); do echo "<tr><td>Country $i</td><td>$i</td></tr>"; done
    echo '</table></body></html>'
} > tables.html
lode-extract tables.html 2> /dev/null > tables-page.ndjson
lode-chunk --size 48 --overlap 0 < tables-page.ndjson > tables.ndjson 2> /dev/null
"$BUILD/tools/checkchunks" tables-page.ndjson tables.ndjson 48 > check-tables.txt
check "tables: text == page_text[span] with headers carried ($(tail -1 check-tables.txt))" \
    grep -q ' 0 problems$' check-tables.txt
expect_eq "tables: chunks that start in a table's rows start at a row and carry its header" \
    "true" "$(jq -s '[.[] | select(.table_header)] | length > 2 and all(.text | startswith("| Planet") or startswith("| Country"))' tables.ndjson)"
expect_eq "tables: the header is the table's own (two lines)" \
    "| Planet | Moons |
| --- | --- |
| Country | Cities |
| --- | --- |" "$(jq -rs '[.[] | .table_header // empty] | unique | reverse | .[]' tables.ndjson)"
htok=$(jq -c 'select(.table_header) | {text: .table_header}' tables.ndjson | head -1 | lode-chunk --size 48 2> /dev/null | jq .tokens)
expect_le "tables: a chunk's tokens and its header's fit --size" 48 \
    "$(jq -s --argjson h "$htok" '[.[] | select(.table_header) | .tokens + $h] | max' tables.ndjson)"
lode-index -s tables.kb < tables.ndjson > /dev/null 2>&1
echo 'moons 25' | lode-query -s tables.kb --mode bm25 -k 1 > tables-hit.ndjson 2> /dev/null
check "tables: a query naming a column and a value finds the row under that header (BM25 over the header)" \
    jqe '.hits[0].text | test("\\| Planet 25 \\| 25 \\|")' tables-hit.ndjson
check "tables: the hit carries the header, for lode-generate and lode-rerank" \
    jqe '.hits[0].table_header | startswith("| Planet | Moons |")' tables-hit.ndjson

# integers out of their range are error records, never wrapped (lode-records(7))
printf '%s\n' '{"id":"a","source":"s.txt","page":99999999999,"text":"alpha beta"}' \
    '{"id":"b","source":"s.txt","page":0,"text":"alpha beta"}' '{"id":"c","source":"s.txt","page":"2","text":"alpha beta"}' \
    '{"id":"d","source":"s.txt","span":[9,3],"text":"alpha beta"}' '{"id":"e","source":"s.txt","page":2147483647,"text":"alpha beta"}' |
    lode-chunk --errors ints-err.ndjson > ints.ndjson 2> /dev/null
expect_eq "page 2^31-1 is chunked, its page kept" "2147483647" "$(jq -r .page ints.ndjson)"
expect_eq "page 99999999999, 0, \"2\" and a reversed span: four error records naming the field" \
    "page page page span" "$(jq -r '.error | capture("^\"(?<f>[a-z]+)\"").f' ints-err.ndjson | tr '\n' ' ' | sed 's/ $//')"
expect_eq "...the page beyond int range is quoted as given, not wrapped" "1" "$(grep -c '(99999999999)' ints-err.ndjson)"
printf '%s\n' '{"id":"a","source":"s.png","type":"image","page":99999999999,"text":""}' |
    lode-ocr --errors ocr-int.ndjson > /dev/null 2>&1
check "lode-ocr: the page beyond int range is an error record" grep -q '"page\\" must be an integer' ocr-int.ndjson

# one long page: chunked in linear time (once quadratic: each chunk copied
# the page). The times are reported, not compared; a page of 20 MB must
# finish well inside two minutes and its chunks must cover it.
for mb in 1 4 20; do
    python3 -c "
import json, sys
words = ('lode', 'chunks', 'pages', 'into', 'pieces', 'that', 'fit', 'a', 'model', 'window.')
n = $mb * 1000000 // 6
print(json.dumps({'id': 'long', 'source': 'long.txt', 'text': ' '.join(words[i % 10] for i in range(n))}))" > "long$mb.ndjson"
    start=$(date +%s.%N)
    timeout 120 lode-chunk < "long$mb.ndjson" > "long$mb.out" 2> /dev/null
    rc=$?
    echo "# a $mb MB page: $(echo "$(date +%s.%N) - $start" | bc) s, $(wc -l < "long$mb.out") chunks"
done
expect_eq "a 20 MB page: chunked within two minutes" 0 "$rc"
check "...its chunks tile the page (each starts where the last one's span allows, the last ends at its end)" \
    jqe -s --argjson n "$(jq '.text | utf8bytelength' long20.ndjson)" \
    '(.[0].span[0] == 0) and (.[-1].span[1] == $n) and ([range(1; length) as $i | .[$i].span[0] <= .[$i - 1].span[1]] | all)' long20.out

# ---- --tokenizer: counts by the model's own pieces ----
# XLM-R (Unigram): tiny-xlmr-cls's 44 texts; Hugging Face's piece counts
# (ref "pieces") are the sum of each text's chunk tokens, one chunk when it
# fits the default 256
jq -c '{id: ("t" + (input_line_number | tostring)), text: .input, want: .pieces}' \
    "$SHARED/ref/tiny-xlmr/tiny-xlmr-cls.expected.ndjson" > xt.ndjson
lode-chunk --tokenizer "$SHARED/models/tiny-xlmr-cls" --overlap 0 < xt.ndjson > xt.out 2> /dev/null
check "--tokenizer with XLM-R's Unigram: chunk tokens sum to Hugging Face's piece count (43 texts and the empty one)" \
    jqe -s --slurpfile in xt.ndjson '(group_by(.id | sub("-[0-9]+$"; "")) | map({w: .[0].want, n: length, s: (map(.tokens) | add)})) as $g |
      ($g | length) == 43 and ($g | all(.s == .w and (.w > 256 or .n == 1) and .n == ((.w + 255) / 256 | floor))) and ($in | length) == 44' xt.out
check "...each chunk's text is its span of the page's bytes" python3 -c '
import json, sys
page = {r["id"]: r["text"].encode() for r in map(json.loads, open("xt.ndjson"))}
for c in map(json.loads, open("xt.out")):
    s, e = c["span"]
    if page[c["id"].rsplit("-", 1)[0]][s:e].decode() != c["text"]:
        sys.exit(1)'
