#!/usr/bin/env bash
# lode-rerank against ../shared/ref/tiny-cross-encoder (a random-weight
# BertForSequenceClassification with the real MiniLM tokenizer; pairs
# encoded by Hugging Face tokenizers, truncated longest-first, scored by a
# float64 forward): ids and token types identical for every pair, scores
# within 1e-4. The same for ../shared/ref/tiny-xlmr's XLM-R re-ranker
# (XLMRobertaForSequenceClassification: <s> q </s></s> p </s>, RoBERTa's
# head). Then the re-ranking itself, through lode-query, and bad input.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
PY=/usr/bin/python3
M=$SHARED/models/tiny-cross-encoder
R=$SHARED/ref/tiny-cross-encoder/tiny-cross-encoder.expected.ndjson

# without_tensor MODEL COPY NAME: a copy of MODEL whose safetensors header
# misnames tensor NAME (its last "." becomes "X"), so that the loader misses it
without_tensor() {
    cp -r "$1" "$2"
    "$PY" -c '
import sys
p, name = sys.argv[1], sys.argv[2].encode()
b = bytearray(open(p, "rb").read())
n = int.from_bytes(b[:8], "little")
head, _, tail = name.rpartition(b".")
h = b[8:8 + n].replace(b"\"" + name + b"\"", b"\"" + head + b"X" + tail + b"\"")
open(p, "wb").write(b[:8] + h + b[8 + n:])' "$2/model.safetensors" "$3"
}

# each reference pair as a query with one hit
jq -c '{q: .query, hits: [{id: "p", text: .passage}]}' "$R" > pairs.ndjson
lode-rerank -m "$M" --tokenize < pairs.ndjson > tok.ndjson 2> tok.err
expect_eq "--tokenize: exit 0" 0 $?
expect_eq "every pair's ids and token types are Hugging Face's ([CLS] q [SEP] p [SEP], 0s then 1s, longest-first truncation)" \
    "$(jq -c '[.ids, .token_type_ids, .kept_query_pieces, .kept_passage_pieces, .truncated]' "$R")" \
    "$(jq -c '.hits[0] | [.ids, .token_type_ids, .kept_query_pieces, .kept_passage_pieces, .truncated]' tok.ndjson)"
expect_eq "the reference has truncated pairs, a long query among them" "5 1" \
    "$(jq -s '[.[] | select(.truncated)] | length' "$R") $(jq -s '[.[] | select(.kept_query_pieces < .query_pieces)] | length' "$R")"
lode-rerank -m "$M" -j 2 < pairs.ndjson > scored.ndjson 2> scored.err
expect_eq "scoring: exit 0" 0 $?
expect_le "every pair's score within 1e-4 of the float64 reference (the raw logit)" 1e-4 \
    "$(paste <(jq -r '.hits[0].score' scored.ndjson) <(jq -r .score "$R") |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g", m }')"
lode-rerank -m "$M" -j 1 --batch 1 < pairs.ndjson > alone.ndjson 2> /dev/null
expect_le "a pair scores the same alone as in a batch (packed, no padding)" 1e-5 \
    "$(paste <(jq -r '.hits[0].score' scored.ndjson) <(jq -r '.hits[0].score' alone.ndjson) |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g", m }')"

# XLM-R: a SentencePiece Unigram pair, RoBERTa's classification head
XM=$SHARED/models/tiny-xlmr-reranker
XR=$SHARED/ref/tiny-xlmr/tiny-xlmr-reranker.expected.ndjson
jq -c '{q: .query, hits: [{id: "p", text: .passage}]}' "$XR" > xpairs.ndjson
lode-rerank -m "$XM" --tokenize < xpairs.ndjson > xtok.ndjson 2> /dev/null
expect_eq "XLM-R: every pair's ids are Hugging Face's (<s> q </s></s> p </s>, longest-first to 512, one token type)" \
    "$(jq -c '[.ids, (.ids | map(0)), .kept_query_pieces, .kept_passage_pieces, .truncated]' "$XR")" \
    "$(jq -c '.hits[0] | [.ids, .token_type_ids, .kept_query_pieces, .kept_passage_pieces, .truncated]' xtok.ndjson)"
expect_eq "XLM-R: the reference has 16 multilingual pairs, 3 truncated, one with both sides cut" "16 3 1" \
    "$(jq -s 'length, ([.[] | select(.truncated)] | length), ([.[] | select(.kept_query_pieces < .query_pieces)] | length)' "$XR" | tr '\n' ' ' | sed 's/ $//')"
lode-rerank -m "$XM" -j 2 < xpairs.ndjson > xscored.ndjson 2> /dev/null
expect_le "XLM-R: every pair's score within 1e-4 of the float64 reference (out_proj(tanh(dense(h[<s>]))))" 1e-4 \
    "$(paste <(jq -r '.hits[0].score' xscored.ndjson) <(jq -r .score "$XR") |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g", m }')"
lode-rerank -m "$XM" --sigmoid < xpairs.ndjson > xsig.ndjson 2> /dev/null
expect_le "--sigmoid: within 1e-4 of the reference's sigmoid (sentence-transformers' CrossEncoder.predict)" 1e-4 \
    "$(paste <(jq -r '.hits[0].score' xsig.ndjson) <(jq -r .sigmoid "$XR") |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g", m }')"
without_tensor "$XM" xno-head classifier.out_proj.weight
lode-rerank -m xno-head < xpairs.ndjson > /dev/null 2> xnohead.err
expect_eq "XLM-R without its head's out_proj: exit 3 naming the tensor" "3 1" "$? $(grep -c 'classifier.out_proj.weight' xnohead.err)"

# Re-ranking: one query, its hits in retrieval order with scores; the
# output is the hits by the re-ranker's score, retrieval score and rank kept.
jq -s -c '{q: .[0].query, k: 7, hits: [.[0:7][] | {id: .passage[0:12], text: .passage}] | to_entries | map(.value + {rank: (.key + 1), score: (10 - .key)})}' "$R" > one.ndjson
lode-rerank -m "$M" < one.ndjson > one-out.ndjson 2> /dev/null
expect_eq "hits best first by the re-ranker's score" "true" \
    "$(jq '[.hits[].score] | . == (sort | reverse)' one-out.ndjson)"
expect_eq "retrieval_score and retrieval_rank are lode-query's, rank is the new one" "true" \
    "$(jq -s '(.[0].hits | map({key: .id, value: [.score, .rank]}) | from_entries) as $was | .[1].hits | to_entries | all(.value.retrieval_score == $was[.value.id][0] and .value.retrieval_rank == $was[.value.id][1] and .value.rank == .key + 1)' one.ndjson one-out.ndjson)"
jq -c '.q as $q | .hits[] | {q: $q, hits: [.]}' one.ndjson | lode-rerank -m "$M" > singles.ndjson 2> /dev/null
expect_eq "each hit's score is its pair's, scored alone" "true" \
    "$(jq -s '(.[0:7] | map(.hits[0] | {key: .id, value: .score}) | from_entries) as $one | .[7].hits | all((.score - $one[.id]) | fabs < 1e-5)' singles.ndjson one-out.ndjson)"
check "the order changed (random weights: not the retrieval order)" \
    jqe '[.hits[].retrieval_rank] != [range(1; 8)]' one-out.ndjson
lode-rerank -m "$M" --top 3 < one.ndjson > top.ndjson 2> /dev/null
expect_eq "--top 3 keeps the best three" "$(jq -c '[.hits[0:3][].id]' one-out.ndjson)" "$(jq -c '[.hits[].id]' top.ndjson)"
jq -c '.hits += [{id: "notext", rank: 8, score: 2}]' one.ndjson | lode-rerank -m "$M" > nt.ndjson 2> /dev/null
check "a hit without text is kept at the end, marked" \
    jqe '.hits[-1] | .id == "notext" and .rerank == "no text" and .retrieval_rank == 8' nt.ndjson

# Through the programs: a store, lode-query's hits, re-ranked, answered.
lode-extract "$DATA/docs/md/wiki.md" 2> /dev/null | lode-chunk --size 64 2> /dev/null | lode-index -s kb > /dev/null 2>&1
echo 'which company is called Big Blue?' | lode-query -s kb --mode bm25 -k 5 2> /dev/null | lode-rerank -m "$M" > piped.ndjson 2> piped.err
expect_eq "lode-query | lode-rerank: five hits re-ranked" "5 5" \
    "$(jq '.hits | length' piped.ndjson) $(jq '[.hits[] | select(.retrieval_score and .retrieval_rank)] | length' piped.ndjson)"
lode-generate --extractive < piped.ndjson > answered.ndjson 2> /dev/null
check "... and lode-generate answers from them" jqe '.answer | length > 0' answered.ndjson

# Bad input: records, then models.
{
    echo '{"q":"no hits"}'
    echo '{"hits":[]}'
    echo 'not json'
    head -1 pairs.ndjson
} > bad.ndjson
lode-rerank -m "$M" --errors bad-err.ndjson < bad.ndjson > bad-out.ndjson 2> /dev/null
expect_eq "bad records: exit 1, one error each, the good query answered" "1 3 1" \
    "$? $(wc -l < bad-err.ndjson) $(wc -l < bad-out.ndjson)"
check "a query without hits names what is missing" grep -q 'no \\"hits\\" array' bad-err.ndjson
cp -r "$M" two-labels
jq '.id2label = {"0": "A", "1": "B"} | .label2id = {"A": 0, "B": 1}' "$M/config.json" > two-labels/config.json
lode-rerank -m two-labels < pairs.ndjson > /dev/null 2> two.err
expect_eq "a classifier of two labels: exit 3" 3 $?
check "... saying a re-ranker has one" grep -q 'a classifier of 2 labels' two.err
without_tensor "$M" no-classifier classifier.weight
lode-rerank -m no-classifier < pairs.ndjson > /dev/null 2> nocls.err
expect_eq "a cross-encoder without its classifier: exit 3" 3 $?
check "... naming the tensor" grep -q 'classifier.weight' nocls.err
cp -r "$M" misfit
jq '.hidden_size = 64' "$M/config.json" > misfit/config.json
lode-rerank -m misfit < pairs.ndjson > /dev/null 2> misfit.err
expect_eq "a config that does not fit the weights: exit 3" 3 $?
lode-rerank -m "$SHARED/models/tiny-bert-f32" < pairs.ndjson > /dev/null 2> enc.err
expect_eq "an embedding model is not a re-ranker: exit 3" 3 $?
check "... and says so" grep -q 'not a cross-encoder' enc.err
lode-rerank < pairs.ndjson > /dev/null 2> nomodel.err
expect_eq "no model: a usage error" 2 $?
