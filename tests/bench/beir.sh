#!/usr/bin/env bash
# Retrieval quality on a BEIR-layout collection: tests/bench/beir.sh DIR
# [lode-query options...]. DIR holds corpus.jsonl, queries.jsonl and
# qrels/test.tsv (BEIR's layout: SciFact, NFCorpus, ... unpacked from
# public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/). Default: the
# bundled Cranfield collection.
#
# Documents become chunk records whole (title and text joined as BEIR's
# baselines do, id = the corpus _id), are indexed into a fresh store, and
# every test query is answered with -k 100 (BM25 unless options say
# otherwise). tests/tools/ireval scores the run: nDCG@10, Recall@100, MRR@10.
# Published BM25 references: SciFact nDCG@10 0.665 (Elasticsearch) to 0.679
# (Anserini), NFCorpus 0.325.
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
DIR=${1:-$SHARED/data/retrieval/cranfield}
[ $# -gt 0 ] && shift
MODE=(--mode bm25)
[ $# -gt 0 ] && MODE=("$@")
QRELS=$DIR/qrels/test.tsv
[ -f "$QRELS" ] || { echo "beir.sh: $QRELS is missing" >&2; exit 2; }

jq -c '{id: ._id, source: ._id, text: ([.title // "", .text // ""] | map(select(. != "")) | join(" "))}' \
    "$DIR/corpus.jsonl" > "$W/docs.ndjson"
# only the queries that have judgements
cut -f1 "$QRELS" | tail -n +2 | sort -u > "$W/qids"
jq -c '{qid: ._id, q: .text}' "$DIR/queries.jsonl" |
    awk 'NR == FNR { want["\"" $1 "\""] = 1; next }
         { match($0, /"qid":"[^"]*"/); id = substr($0, RSTART + 6, RLENGTH - 6); if (id in want) print }' \
        "$W/qids" - > "$W/queries.ndjson"
ndocs=$(wc -l < "$W/docs.ndjson")
nq=$(wc -l < "$W/queries.ndjson")

/usr/bin/time -f '%e %M' -o "$W/t_index" "$BIN/lode-index" -s "$W/kb" < "$W/docs.ndjson" 2> "$W/index.log" ||
    { cat "$W/index.log" >&2; exit 1; }
/usr/bin/time -f '%e %M' -o "$W/t_query" "$BIN/lode-query" -s "$W/kb" -k 100 --no-text "${MODE[@]}" \
    < "$W/queries.ndjson" > "$W/run.ndjson" 2> "$W/query.log" || { cat "$W/query.log" >&2; exit 1; }
read -r iw im < "$W/t_index"
read -r qw qm < "$W/t_query"
echo "# $(basename "$DIR"): $ndocs documents, $nq judged queries; lode-query ${MODE[*]}"
cpu_line
echo "index: $iw s, peak $((im / 1024)) MB; $(jq -r '"\(.terms) terms, \(.bytes / 1048576 * 10 | floor / 10) MB on disk"' <("$BIN/lode-index" -s "$W/kb" --stats))"
awk -v w="$qw" -v n="$nq" -v m="$qm" 'BEGIN { printf "queries: %.2f ms each end to end (%d, loading included), peak %d MB\n", 1000 * w / n, n, m / 1024 }'
"$BUILD/tools/ireval" "$QRELS" "$W/run.ndjson"

# the knowledge graph's list fused in (lode-entities on the same documents,
# lode-query --graph): reported beside the plain run, no claim either way
"$BIN/lode-entities" < "$W/docs.ndjson" 2> /dev/null | "$BIN/lode-index" -s "$W/kb-graph" 2> /dev/null
"$BIN/lode-query" -s "$W/kb-graph" -k 100 --no-text --graph "${MODE[@]}" < "$W/queries.ndjson" \
    > "$W/run-graph.ndjson" 2> /dev/null
echo "# with --graph ($(jq -s 'map(select(.kind == "node")) | length' <("$BIN/lode-index" -s "$W/kb-graph" --dump-graph jsonl 2> /dev/null)) graph nodes)"
"$BUILD/tools/ireval" "$QRELS" "$W/run-graph.ndjson"

# BM25's top 100 re-ranked by a cross-encoder (RERANK=DIR; by default the
# random-weight tiny one of ../shared, which measures speed and shows the
# order changing but cannot improve quality: give a real one, such as
# cross-encoder/ms-marco-MiniLM-L6-v2, to measure that; RERANK=none: not)
RERANK=${RERANK:-$SHARED/models/tiny-cross-encoder}
[ "$RERANK" = none ] && exit 0
"$BIN/lode-query" -s "$W/kb" -k 100 "${MODE[@]}" < "$W/queries.ndjson" > "$W/run-text.ndjson" 2> /dev/null
/usr/bin/time -f '%e %M' -o "$W/t_rerank" "$BIN/lode-rerank" -m "$RERANK" < "$W/run-text.ndjson" \
    > "$W/reranked.ndjson" 2> "$W/rerank.log" || { cat "$W/rerank.log" >&2; exit 1; }
read -r rw rm < "$W/t_rerank"
pairs=$(jq -s '[.[].hits | length] | add' "$W/reranked.ndjson")
changed=$(jq -s '[.[] | select([.hits[].retrieval_rank] != [range(1; (.hits | length) + 1)])] | length' "$W/reranked.ndjson")
echo
echo "# re-ranked by $(basename "$RERANK") (lode-rerank -j $(nproc)): top 100 of each query"
awk -v w="$rw" -v p="$pairs" -v m="$rm" -v c="$changed" -v n="$nq" 'BEGIN {
    printf "rerank: %.1f s for %d pairs, %.0f pairs/s end to end (loading included), peak %d MB; order changed for %d of %d queries\n", w, p, p / w, m / 1024, c, n }'
"$BUILD/tools/ireval" "$QRELS" <(jq -c 'del(.hits[].text)' "$W/reranked.ndjson")
