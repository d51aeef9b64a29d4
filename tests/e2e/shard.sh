#!/usr/bin/env bash
# Sharding: the Cranfield collection in one store and in 3 shards
# (lode-index --shard K/3) gives the same hits for every query, searched as
# one (lode-query -s A -s B -s C) and in three steps across "hosts"
# (--emit-stats, --global-stats, --merge): BM25 ids and scores, exact dense,
# hybrid. Then the shard bookkeeping and its errors.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
M=$SHARED/models/tiny-bert-f32
C=$DATA/retrieval/cranfield

jq -c '{id: ._id, source: ._id, text: ([.title // "", .text // ""] | map(select(. != "")) | join(" "))}' \
    "$C/corpus.jsonl" > docs.ndjson
jq -c '{qid: ._id, q: .text}' "$C/queries.jsonl" > q.ndjson
nq=$(wc -l < q.ndjson)
lode-embed -m "$M" < docs.ndjson > emb.ndjson 2> /dev/null
lode-index -s one < emb.ndjson 2> /dev/null
for k in 0 1 2; do
    lode-index -s s$k --shard $k/3 --echo < emb.ndjson > echo.$k 2> idx.$k
done
expect_eq "the 3 shards hold every chunk once" 1400 \
    "$(for k in 0 1 2; do lode-index -s s$k --stats | jq .chunks; done | paste -sd+ | bc)"
expect_eq "...no source in two shards" 1400 "$(cat echo.0 echo.1 echo.2 | jq -r .source | sort -u | wc -l)"
check "...each shard got a share (none empty)" \
    jqe -s 'map(.chunks) | min > 300' <(for k in 0 1 2; do lode-index -s s$k --stats; done)
check "--echo writes only the records the shard took" \
    test "$(wc -l < echo.0)" = "$(lode-index -s s0 --stats | jq .chunks)"
check "the summary counts the records of other shards" has idx.1 "records of other shards left out"
expect_eq "--stats shows the shard" '"1/3" null' \
    "$(lode-index -s s1 --stats | jq .shard) $(lode-index -s one --stats | jq .shard)"

# scores as jq prints them (%.17g), so "identical" means to the last bit
top() { jq -c '[.qid, [.hits[] | [.id, .score]]]' "$1"; }
# max |score difference| over same-rank hits, and the number of queries whose ids differ
cmp_hits() {
    jq -rn --slurpfile a <(top "$1") --slurpfile b <(top "$2") '
      [range(0; $a | length) as $i | $a[$i][1] as $x | $b[$i][1] as $y |
        {ids: (($x | map(.[0])) == ($y | map(.[0]))),
         d: ([range(0; [$x, $y] | map(length) | min) as $j | ($x[$j][1] - $y[$j][1]) | fabs] | max // 0)}] |
      "\(map(select(.ids | not)) | length) \(map(.d) | max)"'
}
lode-query -s one --mode bm25 --no-text < q.ndjson > one.bm25 2> /dev/null
lode-query -s s0 -s s1 -s s2 --mode bm25 --no-text < q.ndjson > three.bm25 2> /dev/null
expect_eq "all $nq queries answered by the 3 shards" "$nq" "$(jq -s 'map(select(.hits | length == 10)) | length' three.bm25)"
r=$(cmp_hits one.bm25 three.bm25)
expect_eq "BM25: 3 shards = 1 store, top-10 ids of every query" 0 "${r% *}"
expect_le "...and scores within 1e-6 (largest difference)" 0.000001 "${r#* }"
check "...byte for byte, in fact" cmp -s one.bm25 three.bm25
r=$(cmp_hits one.bm25 <(lode-query -s s0 --mode bm25 --no-text < q.ndjson 2> /dev/null))
check "a shard alone scores with its own statistics (the check can fail)" test "${r#* }" != 0

for mode in dense hybrid; do
    lode-query -s one -m "$M" --mode $mode --exact --no-text < q.ndjson > one.$mode 2> /dev/null
    lode-query -s s2 -s s0 -s s1 -m "$M" --mode $mode --exact --no-text < q.ndjson > three.$mode 2> /dev/null
    expect_eq "$mode (exact): 3 shards = 1 store, top-10 ids and scores of every query" "0 0" \
        "$(cmp_hits one.$mode three.$mode)"
done

# ---- three steps, as on three hosts ----
for k in 0 1 2; do lode-query -s s$k --emit-stats < q.ndjson > stats.$k 2> /dev/null; done
check "--emit-stats writes one record with the shard, chunks, tokens and df" \
    jqe -s 'length == 1 and .[0].shard == "0/3" and .[0].chunks > 0 and .[0].tokens > 0 and (.[0].df | length) > 100' stats.0
cat stats.0 stats.1 stats.2 > stats
for mode in bm25 hybrid; do
    for k in 0 1 2; do
        lode-query -s s$k -m "$M" --mode $mode --exact --no-text --global-stats stats < q.ndjson > part.$k 2> /dev/null
    done
    lode-query --merge --no-text part.0 part.1 part.2 > merged.$mode 2> merge.err
    expect_eq "three steps, $mode: merged = 1 store (ids and scores of every query)" "0 0" \
        "$(cmp_hits one.$mode merged.$mode)"
done
check "...hybrid shares carry both lists for the merge" jqe -s 'all(.bm25_hits and .dense_hits and (has("hits") | not))' part.0
check "--merge keeps the queries' fields" jqe -s 'length == '"$nq"' and all(.qid and .q)' merged.bm25

# the README's three steps with plain-text queries (no qid)
jq -r .q q.ndjson | head -20 > q.txt
for k in 0 1 2; do lode-query -s s$k --mode bm25 --emit-stats < q.txt > tstats.$k 2> /dev/null; done
cat tstats.0 tstats.1 tstats.2 > tstats
for k in 0 1 2; do lode-query -s s$k --mode bm25 --global-stats tstats < q.txt > thits.$k 2> /dev/null; done
lode-query --merge thits.0 thits.1 thits.2 > tmerged 2> tmerge.err
expect_eq "plain-text queries (no qid) through the three steps: every one merged, exit 0" "0 20" \
    "$? $(grep -c . tmerged)"
lode-query -s s0 -s s1 -s s2 --mode bm25 < q.txt > tone 2> /dev/null
check "...the hits those of the three shards searched as one" \
    cmp -s <(jq -c '[.hits[] | [.id, .score]]' tone) <(jq -c '[.hits[] | [.id, .score]]' tmerged)

# ---- errors ----
lode-query -s s0 --global-stats <(cat stats.0 stats.0) < q.ndjson > /dev/null 2> dup.err
expect_eq "the same shard's statistics twice: fatal (3)" 3 $?
check "...saying so" has dup.err "shard 0/3 again"
lode-query -s s0 --mode bm25 --global-stats stats.0 < q.ndjson > /dev/null 2> part.err
check "statistics of 1 of 3 shards: a warning" has part.err "1 of 3 shards"
head -5 part.0 > short
lode-query --merge part.1 short > /dev/null 2> short.err
expect_eq "--merge of files of different lengths: fatal (3)" 3 $?
tail -n +2 part.1 | head -5 > shifted
head -5 part.0 | lode-query --merge - shifted > /dev/null 2> shift.err
expect_eq "--merge of results of other queries: those fail (1)" 1 $?
check "...saying why" has shift.err "not of the same query"
lode-query --merge < q.ndjson > /dev/null 2>&1
expect_eq "--merge without files: usage (2)" 2 $?
lode-index -s other --bm25 1.2,0.75 < docs.ndjson 2> /dev/null
echo wing | lode-query -s one -s other > /dev/null 2> bm.err
expect_eq "stores with other BM25 parameters: refused (3)" 3 $?
check "...saying why" has bm.err "index them with the same --bm25"
lode-index -s s0 --shard 1/3 < docs.ndjson 2> wrong.err
expect_eq "another --shard into a shard: refused (3)" 3 $?
check "...naming the store's" has wrong.err "is shard 0/3"
lode-index -s s0 < docs.ndjson 2> none.err
expect_eq "no --shard into a shard: refused (3)" 3 $?
lode-index -s one --shard 0/3 < docs.ndjson 2> full.err
expect_eq "--shard into a store of every shard: refused (3)" 3 $?
for bad in 3/3 -1/2 1/0 a/b 2 1/5000; do
    lode-index -s x --shard "$bad" < /dev/null 2> /dev/null
    expect_eq "--shard $bad: usage (2)" 2 $?
done
before=$(lode-index -s s0 --stats | jq .chunks)
jq -c '{source}' echo.0 | head -3 > del
jq -c '{source}' echo.1 | head -3 >> del
lode-index -s s0 --delete < del 2> del.err
expect_eq "--delete in a shard needs no --shard; other shards' sources are left alone" \
    "$((before - 3)) 0" "$(lode-index -s s0 --stats | jq .chunks) $?"

# ---- splitting the documents before extraction, as the schedulers do ----
lode-extract "$ROOT/examples" 2> /dev/null | lode-chunk 2> /dev/null | jq -r .source | sort -u > all.sources
for k in 0 1 2; do
    lode-extract --list --shard $k/3 "$ROOT/examples" | lode-extract 2> /dev/null | lode-chunk 2> /dev/null |
        lode-index -s ex$k --shard $k/3 --echo 2> ex$k.err | jq -r .source
done | sort -u > split.sources
expect_eq "lode-extract --list --shard K/3 then lode-index --shard K/3: every source, none left out" \
    "$(cat all.sources) 0 0 0" \
    "$(cat split.sources) $(for k in 0 1 2; do grep -o '[0-9]* records of other shards' ex$k.err | cut -d' ' -f1; done | paste -sd' ')"
check "...an archive's members go with the archive" \
    test "$(for k in 0 1 2; do lode-index -s ex$k --dump | jq -r 'select(.source | contains("!/")) | .source' | sed 's/!.*//' | sort -u | sed "s/^/$k /"; done | wc -l)" = 1
lode-extract --shard 0/3 "$ROOT/examples" > /dev/null 2>&1
expect_eq "lode-extract --shard without --list: usage (2)" 2 $?
