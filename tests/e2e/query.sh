#!/usr/bin/env bash
# lode-query: BM25 scores against the formula computed independently,
# Cranfield quality against its published sanity figures, nearest neighbours
# against numpy's brute force, hybrid fusion against an independent RRF,
# filters, query formats and bad queries.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
MK=$BUILD/tools/mkvecs
PY=/usr/bin/python3
M=$SHARED/models

# ---- BM25: lode's scores = Okapi BM25 computed here with awk ----
cat > tiny.ndjson << 'EOF'
{"id":"d1","text":"apple banana apple"}
{"id":"d2","text":"banana cherry"}
{"id":"d3","text":"cherry cherry cherry apple"}
{"id":"d4","text":"date"}
EOF
lode-index -s tiny < tiny.ndjson 2> /dev/null
# N 4, avgdl 10/4; "apple": df 2, tf 2 in d1 (3 terms), tf 1 in d3 (4 terms)
want() { # K1 B
    awk -v k1="$1" -v b="$2" 'BEGIN { N = 4; df = 2; avg = 2.5; idf = log(1 + (N - df + 0.5) / (df + 0.5))
        printf "d1 %.6f d3 %.6f\n", idf * 2 * (k1 + 1) / (2 + k1 * (1 - b + b * 3 / avg)),
                                    idf * 1 * (k1 + 1) / (1 + k1 * (1 - b + b * 4 / avg)) }'
}
got() { echo apple | lode-query -s tiny 2> /dev/null | jq -r '.hits[] | "\(.id) \(.score * 1000000 | round / 1000000)"' | paste -sd' ' | awk '{ printf "%s %.6f %s %.6f\n", $1, $2, $3, $4 }'; }
expect_eq "BM25 scores are Okapi BM25's (k1 0.9, b 0.4)" "$(want 0.9 0.4)" "$(got)"
lode-index -s tiny --bm25 1.2,0.75 < /dev/null 2> /dev/null
expect_eq "...and with --bm25 1.2,0.75" "$(want 1.2 0.75)" "$(got)"
expect_eq "a term twice in the query counts twice" \
    "$(echo apple | lode-query -s tiny 2> /dev/null | jq '.hits[0].score * 2 * 1000 | round')" \
    "$(echo 'apple apples' | lode-query -s tiny 2> /dev/null | jq '.hits[0].score * 1000 | round')"
expect_eq "stop words and unknown words find nothing" "0 0" \
    "$(printf 'the of and\nxylophone\n' | lode-query -s tiny 2> /dev/null | jq '.hits | length' | paste -sd' ')"

# ---- questions as people type them: question words out of BM25 queries ----
lode-extract "$ROOT/examples" 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s ex 2> /dev/null
expect_eq "the README's question ranks examples/formats.csv first" "formats.csv" \
    "$(echo 'which formats can lode read?' | lode-query -s ex -k 3 2> /dev/null | jq -r '.hits[0].source | split("/") | last')"
expect_eq "--keep-question-words: the words count again (another first hit)" "true" \
    "$(echo 'which formats can lode read?' | lode-query -s ex -k 3 --keep-question-words 2> /dev/null | jq '.hits[0].source | endswith("formats.csv") | not')"
expect_eq "a query of nothing but question words still finds what has them" "true" \
    "$(echo 'what do you do' | lode-query -s ex -k 1 2> /dev/null | jq '.hits | length == 1')"

# ---- duplicates: a file and its copy in an archive are one hit ----
echo 'which formats can lode read?' | lode-query -s ex -k 3 2> /dev/null > dup.ndjson
# (the file and the copy tie; which one is kept is the one whose id sorts first)
check "the copy inside backup.tar.gz and the file collapse into one hit, the other listed in duplicates" \
    jqe '.hits[0] | ([.source, .duplicates[0].source] | map(split("examples/") | last) | sort) == ["backup.tar.gz!/backup/formats.csv", "formats.csv"] and (.duplicates | length == 1)' dup.ndjson
expect_eq "...and k hits still come back, none the same chunk of the same document" "3 3" \
    "$(jq '.hits | length' dup.ndjson) $(jq '[.hits[] | "\(.doc) \(.page) \(.id | split("-") | last)"] | unique | length' dup.ndjson)"
expect_eq "lode-index --stats counts the chunks whose text another has (the archive's copies)" 4 \
    "$(lode-index -s ex --stats | jq .duplicate_chunks)"
echo 'which formats can lode read?' | lode-query -s ex -k 3 --keep-duplicates 2> /dev/null > keep.ndjson
check "--keep-duplicates: the file and the copy are hits of their own" \
    jqe '([.hits[0:2][].source | split("examples/") | last] | sort) == ["backup.tar.gz!/backup/formats.csv", "formats.csv"] and (.hits[0].duplicates == null)' keep.ndjson
para='The backup job copies the database to the archive server every night at two, keeps thirty days of copies, and mails the operator when a copy fails. A failed copy is tried again an hour later; after three failures the job stops and the operator must start it by hand. Copies older than their time are deleted by the same job, oldest first, so the archive never fills.'
mkdir -p editions
printf '# Backups\n\n%s\n' "$para" > editions/first.md
printf '# Backups\n\n%s\n' "${para/thirty/forty}" > editions/second.md
printf '# Notes\n\nThe archive server is in the basement; the database copies are mailed to nobody.\n' > editions/notes.md
lode-extract editions 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s ed 2> /dev/null
echo 'backup job database archive server copies' | lode-query -s ed -k 5 2> /dev/null > ed.ndjson
echo 'backup job database archive server copies' | lode-query -s ed -k 5 --dedup 2> /dev/null > ed-near.ndjson
expect_eq "two editions of a paragraph are two hits by default" 2 \
    "$(jq '[.hits[] | select(.text | contains("backup job"))] | length' ed.ndjson)"
check "--dedup: near-duplicates (one word apart) collapse into one, the other listed" \
    jqe '[.hits[] | select(.text | contains("backup job"))] | length == 1 and (.[0].duplicates | length == 1)' ed-near.ndjson
check "--dedup: other hits stay" jqe '[.hits[] | select(.text | contains("basement"))] | length == 1' ed-near.ndjson
# ---- diversity: maximal marginal relevance ----
mmr() { echo 'backup job database archive server copies' | lode-query -s ed -k 3 "$@" 2> /dev/null | jq -r '[.hits[].source | split("/") | last] | join(" ")'; }
expect_eq "by score: both editions first" "first.md second.md notes.md" "$(mmr)"
expect_eq "--mmr 0.3: the second edition, most like the first, after the other document" \
    "first.md notes.md second.md" "$(mmr --mmr 0.3)"
expect_eq "--mmr 1: the ranking as it is" "first.md second.md notes.md" "$(mmr --mmr 1)"
expect_eq "--mmr with --no-text: the same order, no text" "first.md notes.md second.md true" \
    "$(mmr --mmr 0.3 --no-text) $(echo backup | lode-query -s ed --mmr 0.3 --no-text 2> /dev/null | jq '[.hits[] | has("text")] | any | not')"
lode-query -s ed --mmr 2 < /dev/null > /dev/null 2> /dev/null
expect_eq "--mmr 2: a usage error" 2 $?
lode-query -s ex --dedup --keep-duplicates < /dev/null > /dev/null 2> opp.err
expect_eq "--dedup with --keep-duplicates: a usage error" 2 $?

# ---- Cranfield: at least the collection's BM25 sanity figures ----
RERANK=none "$ROOT/tests/bench/beir.sh" "$DATA/retrieval/cranfield" > cran.txt 2> cran.err
q=$(tail -1 cran.txt)
expect_ge "Cranfield BM25 nDCG@10 (reference 0.317)" 0.317 "$(echo "$q" | jq '."ndcg@10"')"
expect_ge "Cranfield BM25 Recall@100 (reference 0.687)" 0.687 "$(echo "$q" | jq '."recall@100"')"
expect_eq "Cranfield: all 225 judged queries answered" 225 "$(echo "$q" | jq .answered)"

# ---- nearest neighbours against numpy ----
N=12000
"$MK" records $N 32 11 300 > v.ndjson
"$MK" raw $N 32 11 v.f32
"$MK" queries 40 32 12 q.f32 > q.ndjson
lode-index -s vec < v.ndjson 2> /dev/null
"$PY" - v.f32 q.f32 > truth.txt << 'EOF'
import sys
import numpy as np
d = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, 32).astype(np.float64)
q = np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, 32).astype(np.float64)
d /= np.linalg.norm(d, axis=1, keepdims=True)
q /= np.linalg.norm(q, axis=1, keepdims=True)
s = q @ d.T
for row in s:
    top = np.argsort(-row, kind="stable")[:10]
    print(" ".join(f"{i}:{row[i]:.6f}" for i in top))
EOF
# ids are s<source>-<row>
lode-query -s vec --mode dense --exact < q.ndjson 2> /dev/null |
    jq -r '[.hits[] | "\(.id | sub("^s[0-9]+-"; "")):\(.score)"] | join(" ")' > exact.txt
"$PY" - truth.txt exact.txt > cmp.txt << 'EOF'
import sys
t = [[x.split(":") for x in l.split()] for l in open(sys.argv[1])]
e = [[x.split(":") for x in l.split()] for l in open(sys.argv[2])]
same = all([a[0] for a in x] == [b[0] for b in y] for x, y in zip(t, e)) and len(t) == len(e)
err = max(abs(float(a[1]) - float(b[1])) for x, y in zip(t, e) for a, b in zip(x, y))
print(int(same), f"{err:.2e}")
EOF
read -r same err < cmp.txt
expect_eq "--exact: the same top 10 as numpy's brute force (40 queries)" 1 "$same"
expect_le "--exact: cosines within 1e-5 of numpy's float64" 0.00001 "$err"
lode-query -s vec --mode dense < q.ndjson 2> /dev/null | jq -r '[.hits[].id | sub("^s[0-9]+-"; "")] | join(" ")' > ann.txt
recall=$(paste -d'|' truth.txt ann.txt | awk -F'|' '{ n = split($1, t, " "); split($2, a, " ")
    for (i = 1; i <= n; i++) { sub(/:.*/, "", t[i]); want[t[i]] = 1 }
    for (i in a) if (a[i] in want) hit++; total += n; delete want } END { printf "%.3f", hit / total }')
expect_ge "HNSW at the default ef: recall@10 against numpy" 0.95 "$recall"

# ---- --mmr over the candidates' vectors: numpy's MMR over the same candidates ----
# the candidates are the 40 best (four times k, at least 40) as --mmr 1 -k 40 lists them
for m in "dense --exact" bm25; do
    head -5 q.ndjson | jq -c --argjson t '["pressure river","engine wing","shock wave plate","heat transfer","nozzle jet vortex"]' '. + {q: $t[input_line_number - 1]}' > mq.ndjson
    # shellcheck disable=SC2086
    lode-query -s vec --mode $m -k 40 < mq.ndjson 2> /dev/null | jq -r '[.hits[] | "\(.id | sub("^s[0-9]+-"; "")):\(.score)"] | join(" ")' > mcand.txt
    # shellcheck disable=SC2086
    lode-query -s vec --mode $m -k 5 --mmr 0.5 < mq.ndjson 2> /dev/null | jq -r '[.hits[].id | sub("^s[0-9]+-"; "")] | join(" ")' > mgot.txt
    "$PY" - v.f32 mcand.txt > mwant.txt << 'EOF'
import sys
import numpy as np
d = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, 32).astype(np.float64)
d /= np.linalg.norm(d, axis=1, keepdims=True)
for line in open(sys.argv[2]):
    c = [(int(a), float(b)) for a, b in (x.split(":") for x in line.split())]
    ids = [a for a, _ in c]
    s = np.array([b for _, b in c])
    rel = (s - s.min()) / (s.max() - s.min()) if s.max() > s.min() else np.ones(len(c))
    most = np.zeros(len(c))
    taken = []
    for _ in range(5):
        v = 0.5 * rel - 0.5 * most
        v[taken] = -np.inf
        b = int(np.argmax(v))
        taken.append(b)
        most = np.maximum(most, d[ids] @ d[ids[b]])
    print(" ".join(str(ids[t]) for t in taken))
EOF
    expect_eq "--mmr 0.5 --mode ${m% *}: numpy's MMR over the candidates' cosines (5 queries)" "$(cat mwant.txt)" "$(cat mgot.txt)"
done
check "--mmr over vectors: not the plain ranking" test "$(cut -d' ' -f1-5 mcand.txt)" != "$(cat mgot.txt)"

# ---- filters, applied during the search ----
lode-query -s vec --mode dense --filter source=src/7.txt -k 10 < q.ndjson > f1.ndjson 2> /dev/null
check "--filter source=: k hits for every query, all of that source" \
    jqe -s 'length == 40 and all(.[]; (.hits | length) == 10 and all(.hits[]; .source == "src/7.txt"))' f1.ndjson
lode-query -s vec --mode dense --filter 'source=src/1*.txt' --filter page=2-3 -k 10 < q.ndjson > f2.ndjson 2> /dev/null
check "--filter with a glob and a page range, together" \
    jqe -s 'all(.[]; (.hits | length) == 10 and all(.hits[]; (.source | test("^src/1.*[.]txt$")) and .page >= 2 and .page <= 3))' f2.ndjson
# a filter on a few sources compares with their chunks alone, from the
# sources table: the same top 10 as numpy's brute force over those chunks
jq -r '[.hits[] | .id | sub("^s[0-9]+-"; "")] | join(" ")' f1.ndjson > f1.txt
jq -r '[.hits[] | .id | sub("^s[0-9]+-"; "")] | join(" ")' f2.ndjson > f2.txt
"$PY" - v.f32 q.f32 v.ndjson > ftruth.txt << 'EOF'
import fnmatch, json, sys
import numpy as np
d = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, 32).astype(np.float64)
q = np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, 32).astype(np.float64)
d /= np.linalg.norm(d, axis=1, keepdims=True)
q /= np.linalg.norm(q, axis=1, keepdims=True)
recs = [json.loads(l) for l in open(sys.argv[3])]
s = q @ d.T
for keep in (lambda r: r["source"] == "src/7.txt",
             lambda r: fnmatch.fnmatchcase(r["source"], "src/1*.txt") and 2 <= r["page"] <= 3):
    rows = np.array([i for i, r in enumerate(recs) if keep(r)])
    for row in s[:, rows]:
        print(" ".join(str(rows[i]) for i in np.argsort(-row, kind="stable")[:10]))
EOF
expect_eq "--filter source= (and a glob with a page range): numpy's top 10 among those chunks (40 queries each)" \
    "$(md5sum < ftruth.txt)" "$(cat f1.txt f2.txt | md5sum)"
want=$(jq -s '[.[] | select(.source == "src/7.txt" and .page == 1)] | length' v.ndjson)
lode-query -s vec --mode dense --filter source=src/7.txt --filter page=1 -k 100 < q.ndjson > f3.ndjson 2> /dev/null
expect_eq "a filter that fewer than k chunks match returns them all" "$want" "$(head -1 f3.ndjson | jq '.hits | length')"
head -3 q.ndjson | jq -c '. + {filter: {source: "src/9.txt", page: "4-"}, k: 5}' | lode-query -s vec --mode dense > f4.ndjson 2> /dev/null
check "a query's own filter and k" jqe -s 'all(.[]; (.hits | length) == 5 and all(.hits[]; .source == "src/9.txt" and .page >= 4))' f4.ndjson
echo 'pressure flutter' | lode-query -s vec --mode bm25 --filter source=src/3.txt -k 7 > f5.ndjson 2> /dev/null
check "--filter in BM25: k hits, all matching" jqe '(.hits | length) == 7 and all(.hits[]; .source == "src/3.txt")' f5.ndjson
echo 'pressure flutter' | lode-query -s vec --filter 'source=nothing*' > f6.ndjson 2> /dev/null
check "a filter nothing matches: no hits, not an error" jqe '.hits == []' f6.ndjson
lode-query -s vec --filter nonsense < /dev/null 2> /dev/null
expect_eq "a malformed --filter: usage error" 2 $?

# ---- queries in, records out ----
lode-extract "$ROOT/examples" 2> /dev/null | lode-chunk 2> /dev/null > chunks.ndjson
lode-index -s kb < chunks.ndjson 2> /dev/null
printf 'knowledge base of documents\n{"q":"scanned page","qid":"Q7","keep":{"a":1}}\n\n' | lode-query -s kb -k 3 > out.ndjson 2> out.err
expect_eq "plain lines and records: exit 0" 0 $?
expect_eq "one record per query (blank lines skipped)" 2 "$(wc -l < out.ndjson)"
check "a plain line is {\"q\": line}" jqe -s '.[0].q == "knowledge base of documents" and (.[0].hits | length) == 3' out.ndjson
check "the query's other fields come back" jqe -s '.[1].qid == "Q7" and .[1].keep.a == 1' out.ndjson
check "hits carry rank, id, doc, source, page, score, text, meta, best first" \
    jqe -s 'all(.[].hits[]; has("rank") and has("id") and has("doc") and has("source") and has("page") and has("score") and has("text") and has("meta")) and (.[0].hits | map(.rank) == [1,2,3]) and (.[0].hits | map(.score) | . == (sort | reverse))' out.ndjson
echo 'knowledge base of documents' | lode-query -s kb --no-text > nt.ndjson 2> /dev/null
check "--no-text leaves the text out" jqe 'all(.hits[]; has("text") | not)' nt.ndjson
check "the summary says the mode" grep -q 'bm25, ' out.err

# bad queries fail alone
{
    echo '{"q": broken'
    echo '{"qid":"a","q":"logs"}'
    echo '{"qid":"b","k":0,"q":"logs"}'
    echo '{"qid":"c"}'
    echo '{"qid":"d","q":"logs","filter":"source=x"}'
} > bad.ndjson
lode-query -s kb --errors bad.err < bad.ndjson > bad.out 2> /dev/null
expect_eq "bad queries: exit 1" 1 $?
expect_eq "bad queries: the good one is answered" a "$(jq -r .qid bad.out)"
expect_eq "bad queries: one error record each" 4 "$(wc -l < bad.err)"
check "...broken JSON, by line" grep -q '"source":"<stdin>:1".*invalid JSON' bad.err
check "...a bad k" grep -q '"id":"b".*\\"k\\" must be' bad.err
check "...neither text nor vector" grep -q '"id":"c".*neither' bad.err
check "...a filter that is not an object" grep -q '"id":"d".*must be an object' bad.err
"$MK" queries 2 16 1 q16.f32 | lode-query -s vec --mode dense --errors vbad.err > vbad.out 2> /dev/null
expect_eq "a query vector of the wrong size: an error for that query" 2 "$(grep -c '16 values; the store.s have 32' vbad.err)"
echo logs | lode-query -s no-such-store 2> nostore.err
expect_eq "an unknown store: exit 3" 3 $?
check "...saying so" grep -q 'no such store' nostore.err
echo logs | lode-query -s kb --mode dense 2> novec.err
expect_eq "--mode dense on a store without vectors: exit 3" 3 $?
check "...saying so" grep -q 'holds no vectors' novec.err

# ---- hybrid: the store remembers its model; fusion is RRF (k 60) ----
lode-embed -m "$M/tiny-bert-f32" < chunks.ndjson 2> /dev/null | lode-index -s hy -m "$M/tiny-bert-f32" 2> /dev/null
check "lode-index -m remembers the model's path" jqe '.model_path | endswith("tiny-bert-f32")' <(lode-index -s hy --stats)
printf 'how are scanned pages read\nknowledge base of documents\n' > hq.txt
lode-query -s hy -k 10 --exact --keep-duplicates < hq.txt > hyb.ndjson 2> hyb.err
check "with vectors and the model at hand, the default is hybrid" grep -q 'hybrid, ' hyb.err
# (exact dense lists: the graph's depend on its breadth, which follows -k; the
# lists as they are, duplicates and all: hybrid collapses them after fusing)
lode-query -s hy --mode bm25 -k 100 --keep-duplicates < hq.txt > b.ndjson 2> /dev/null
lode-query -s hy --mode dense --exact -k 100 --keep-duplicates < hq.txt > d.ndjson 2> /dev/null
# the fusion computed here from the two lists
jq -c -n --slurpfile b b.ndjson --slurpfile d d.ndjson '
  [range(0; $b | length) as $i |
    ([$b[$i].hits, $d[$i].hits] | map(to_entries[] | {id: .value.id, s: (1 / (61 + .key))})
     | group_by(.id) | map({id: .[0].id, s: (map(.s) | add)})
     | sort_by(-.s) | .[0:10] | map(.id))]' > rrf_want.json
jq -c -s 'map([.hits[].id])' hyb.ndjson > rrf_got.json
expect_eq "hybrid = reciprocal rank fusion of the BM25 and dense top 100" "$(cat rrf_want.json)" "$(cat rrf_got.json)"
# A float comparison: lode-query embeds a query alone with BLAS's threads,
# lode-embed these two on one thread each, and BLAS may sum in another order
# when a product is split (OpenBLAS's Haswell/Zen kernels do), which moves
# the cosines by float32 rounding and can swap two hits that nearly tie. So
# every chunk of the store (52 < k) must come back with its score within
# 1e-6; an embedding of other tokens moves them by far more.
jq -Rc '{text: .}' hq.txt | lode-embed -m "$M/tiny-bert-f32" --query 2> /dev/null | jq -c '{vec}' |
    lode-query -s hy --mode dense --exact -k 100 --keep-duplicates 2> /dev/null > dvec.ndjson
expect_le "a text query's vector is lode-embed --query's: every hit's score within 1e-6" 1e-6 \
    "$(jq -n --slurpfile a d.ndjson --slurpfile b dvec.ndjson '
        [range(0; $a | length) as $i | ($a[$i].hits | map({(.id): .score}) | add) as $x |
         ($b[$i].hits | map({(.id): .score}) | add) as $y |
         if ($x | keys) != ($y | keys) then 1 else ($x | keys[] | ($x[.] - $y[.]) | fabs) end] | max')"
echo logs | lode-query -s hy -m "$M/tiny-bert-f16" 2> mism.err
expect_eq "-m with a model the store was not built with: exit 3" 3 $?
check "...naming both" grep -q 'holds vectors of tiny-bert-f32@.*tiny-bert-f16@' mism.err
echo logs | LODE_EMBED_MODEL=$M/tiny-bert-f16 lode-query -s hy > envm.out 2> envm.err
check "LODE_EMBED_MODEL of another model: a warning, then BM25" grep -q 'bm25, ' envm.err

# a store on read-only media: read without LMDB's lock file (MDB_NOLOCK);
# a read-only bind mount where this machine allows one, else a copy that
# an unprivileged user may not write
ro_ref=$(echo 'knowledge base of documents' | lode-query -s kb -k 3 2> /dev/null | jq -c '[.hits[].id]')
rodir=$(mktemp -d)
chmod 755 "$rodir"
cp "$BIN/lode-query" "$BIN/lode-index" "$rodir/"
mkdir "$rodir/kb" "$rodir/mnt"
cp kb/data.mdb "$rodir/kb/"
chmod 555 "$rodir/kb"
chmod 444 "$rodir/kb/data.mdb"
if [ "$(id -u)" = 0 ]; then
    as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
    as_user() { "$@"; }
fi
(cd "$rodir" && echo 'knowledge base of documents' | as_user ./lode-query -s kb -k 3 > ro.out 2> ro.err)
expect_eq "a store its user may not write (no lock.mdb): lode-query answers as from the original" \
    "0 $ro_ref" "$? $(jq -c '[.hits[].id]' "$rodir/ro.out")"
(cd "$rodir" && as_user ./lode-index -s kb --check > /dev/null 2>&1)
expect_eq "...lode-index --check reads it too" 0 $?
(cd "$rodir" && as_user ./lode-index -s kb < /dev/null > /dev/null 2> "$rodir/ro-w.err")
expect_eq "...a writer is refused, exit 3, naming the lock file" "3 1" "$? $(grep -c 'cannot open kb/writer.lock: Permission denied' "$rodir/ro-w.err")"
if [ "$(id -u)" = 0 ] && unshare -m true 2> /dev/null; then
    unshare -m sh -c "mount --bind -o ro '$PWD/kb' '$rodir/mnt' && echo 'knowledge base of documents' | '$BIN/lode-query' -s '$rodir/mnt' -k 3" > romnt.out 2> romnt.err
    expect_eq "a read-only bind mount of the store: lode-query answers as from the original" \
        "0 $ro_ref" "$? $(jq -c '[.hits[].id]' romnt.out)"
fi
chmod -R u+w "$rodir"
rm -rf "$rodir"

# no silent downgrade: a store of vectors without a model for query texts
lode-embed -m "$M/tiny-bert-f32" < chunks.ndjson 2> /dev/null | lode-index -s nomodel 2> /dev/null
echo logs | lode-query -s nomodel > dg.json 2> dg.err
check "a store of vectors, no model known: a warning says query texts go by BM25 alone" \
    has dg.err "no embedding model is known for query texts"
check "...and the answer says so: mode bm25 and why" \
    jqe '.mode == "bm25" and (.mode_reason | test("lode-index -m")) and (.hits | type) == "array"' dg.json
echo logs | lode-query -s nomodel --mode hybrid > dgh.json 2> /dev/null
check "--mode hybrid without a model: the same fields, not BM25 scores called hybrid" jqe '.mode == "bm25"' dgh.json
echo logs | lode-query -s nomodel --strict > /dev/null 2> strict.err
expect_eq "--strict: exit 3 instead" "3 1" "$? $(grep -c 'fatal:.*(--strict)' strict.err)"
echo logs | lode-query -s nomodel -m "$M/tiny-bert-f32" > dgm.json 2> dgm.err
check "with -m: hybrid, no mode fields, no warning" \
    bash -c "jq -e 'has(\"mode\") | not' dgm.json > /dev/null && ! grep -q warning dgm.err"
echo release | lode-query -s ex > bm.json 2> bm.err
check "a BM25-only store searched by BM25: nothing to warn about, no mode fields" \
    bash -c "jq -e 'has(\"mode\") | not' bm.json > /dev/null && ! grep -q warning bm.err"
