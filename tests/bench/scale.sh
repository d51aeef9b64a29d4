#!/usr/bin/env bash
# Benchmark: running at scale. Not a test: nothing here passes or fails on
# time.
#
# Ingestion: a folder of 400 Cranfield abstracts (one .txt each) and the
# shared test documents (PDF, HTML, DOCX, ODT, EPUB, Markdown), extracted,
# OCR'd where needed, chunked and embedded with a model of all-MiniLM-L6-v2's
# shape (random weights, tests/tools/mkbert), by the plain pipeline (every
# program with all cores), by pipelines/parallel.sh with 1, 2 and 4 GNU
# parallel jobs (one thread each), and by pipelines/ingest.mk under make -j
# 1, 2 and 4 (into a fresh store each time). Documents per second.
#
# Queries: the 1400 Cranfield abstracts, embedded, in one store and in 3
# shards; the 225 queries by BM25, dense (exact) and hybrid, searched in one
# store, in the 3 shards as one (lode-query -s A -s B -s C), and in the
# three steps of shards on separate hosts (--emit-stats, --global-stats,
# --merge, here one after another). Milliseconds per query, the median of 3.
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
DATA=$SHARED/data
export PATH=$BIN:$PATH
M=$W/minilm-shape
mkdir -p "$M"
"$BUILD/tools/mkbert" "$M" > /dev/null
cp "$SHARED"/models/all-MiniLM-L6-v2-tokenizer/{tokenizer.json,vocab.txt,tokenizer_config.json} "$M"/
now() { date +%s.%N; }

# ---- ingestion ----
D=$W/docs
mkdir -p "$D/cranfield"
head -400 "$DATA/retrieval/cranfield/corpus.jsonl" |
    jq -r '"\(._id)\t\(.title) \(.text)"' |
    while IFS=$'\t' read -r id text; do printf '%s\n' "$text" > "$D/cranfield/$id.txt"; done
for f in pdf html docx odt epub md; do
    [ -d "$DATA/docs/$f" ] && find "$DATA/docs/$f" -maxdepth 1 -type f -exec cp {} "$D/" \;
done
ndocs=$(find "$D" -type f | wc -l)
echo "# scale: $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
cpu_line
echo "# ingestion: $ndocs documents ($(du -sm "$D" | cut -f1) MB), MiniLM-shape model"
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }
t=$(now)
lode-extract "$D" 2> /dev/null | lode-ocr 2> /dev/null | lode-chunk 2> /dev/null |
    lode-embed -m "$M" > "$W/seq.ndjson" 2> /dev/null
s=$(echo "$(now) - $t" | bc)
nrec=$(wc -l < "$W/seq.ndjson")
printf '%-38s %7.2f s %8s docs/s %7s chunks/s\n' "plain pipeline (all cores each)" "$s" "$(rate "$ndocs" "$s")" "$(rate "$nrec" "$s")"
for j in 1 2 4; do
    t=$(now)
    "$ROOT/pipelines/parallel.sh" -m "$M" -j "$j" --block 16 "$D" > "$W/par.ndjson" 2> /dev/null
    s=$(echo "$(now) - $t" | bc)
    same=$(cmp -s "$W/seq.ndjson" "$W/par.ndjson" && echo "same records" || echo "DIFFERENT records")
    printf '%-38s %7.2f s %8s docs/s %7s chunks/s  %s\n' "parallel.sh -j $j (1 thread each)" "$s" \
        "$(rate "$ndocs" "$s")" "$(rate "$nrec" "$s")" "$same"
done
for j in 1 2 4; do
    rm -rf "$W/kb" "$W/kb.work"
    t=$(now)
    make -s -f "$ROOT/pipelines/ingest.mk" DOCS="$D" STORE="$W/kb" MODEL="$M" -j "$j" > /dev/null 2>&1 || true
    s=$(echo "$(now) - $t" | bc)
    printf '%-38s %7.2f s %8s docs/s  (into the store)\n' "ingest.mk, make -j $j (1 thread each)" "$s" "$(rate "$ndocs" "$s")"
done
t=$(now)
make -s -f "$ROOT/pipelines/ingest.mk" DOCS="$D" STORE="$W/kb" MODEL="$M" -j 4 > /dev/null 2>&1 || true
printf '%-38s %7.2f s\n' "ingest.mk again, nothing changed" "$(echo "$(now) - $t" | bc)"

# ---- queries ----
C=$DATA/retrieval/cranfield
jq -c '{id: ._id, source: ._id, text: ([.title // "", .text // ""] | map(select(. != "")) | join(" "))}' \
    "$C/corpus.jsonl" | lode-embed -m "$M" > "$W/emb.ndjson" 2> /dev/null
jq -c '{qid: ._id, q: .text}' "$C/queries.jsonl" > "$W/q.ndjson"
nq=$(wc -l < "$W/q.ndjson")
lode-index -s "$W/one" < "$W/emb.ndjson" 2> /dev/null
for k in 0 1 2; do lode-index -s "$W/s$k" --shard $k/3 < "$W/emb.ndjson" 2> /dev/null; done
echo "# queries: Cranfield, 1400 chunks, $nq queries; ms per query (median of 3), query embedding included"
ms() { # ARGS...: one lode-query run's milliseconds per query
    local t
    t=$(now)
    lode-query "$@" --no-text < "$W/q.ndjson" > "$W/out.ndjson" 2> /dev/null
    echo "($(now) - $t) * 1000 / $nq" | bc -l
}
three_steps() { # MODE: emit on each shard, answer on each, merge
    local t k
    t=$(now)
    for k in 0 1 2; do lode-query -s "$W/s$k" --emit-stats < "$W/q.ndjson" > "$W/st.$k" 2> /dev/null; done
    cat "$W"/st.[012] > "$W/stats"
    for k in 0 1 2; do
        lode-query -s "$W/s$k" -m "$M" --mode "$1" --no-text --global-stats "$W/stats" < "$W/q.ndjson" \
            > "$W/part.$k" 2> /dev/null
    done
    lode-query --merge "$W"/part.[012] > "$W/out.ndjson" 2> /dev/null
    echo "($(now) - $t) * 1000 / $nq" | bc -l
}
printf '%-8s %10s %12s %14s\n' mode "1 store" "3 shards" "3 steps"
for mode in bm25 dense hybrid; do
    a=$(for _ in 1 2 3; do ms -s "$W/one" -m "$M" --mode $mode; done | median)
    b=$(for _ in 1 2 3; do ms -s "$W/s0" -s "$W/s1" -s "$W/s2" -m "$M" --mode $mode; done | median)
    c=$(for _ in 1 2 3; do three_steps $mode; done | median)
    printf '%-8s %10.2f %12.2f %14.2f\n' "$mode" "$a" "$b" "$c"
done
