#!/usr/bin/env bash
# lode-index: upserts by source, deletes, bad records, kill -9 and re-runs,
# a full disk, concurrent readers and writers, --stats/--check/--compact.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
MK=$BUILD/tools/mkvecs
stat_of() { lode-index -s "$1" --stats | jq -r ".$2"; }
# kill_after_commit STORE INPUT ARGS...: lode-index killed (-9) as soon as its
# first batch is committed
kill_after_commit() {
    local store=$1 input=$2 pid c
    shift 2
    lode-index -s "$store" "$@" < "$input" 2> /dev/null &
    pid=$!
    for _ in $(seq 1 400); do
        c=$(lode-index -s "$store" --stats 2> /dev/null | jq -r '.chunks // 0' 2> /dev/null)
        [ "${c:-0}" -gt 0 ] && break
        sleep 0.02
    done
    kill -9 $pid 2> /dev/null
    wait $pid 2> /dev/null
}

# ---- the bundled examples, end to end ----
lode-extract "$ROOT/examples" 2> /dev/null | lode-ocr 2> /dev/null | lode-chunk 2> /dev/null > chunks.ndjson
n=$(wc -l < chunks.ndjson)
nsrc=$(jq -r .source chunks.ndjson | sort -u | wc -l)
lode-index -s kb < chunks.ndjson > out.txt 2> idx.err
expect_eq "examples: exit status 0" 0 $?
expect_eq "nothing on stdout without --echo" 0 "$(wc -c < out.txt)"
expect_eq "--stats counts every chunk" "$n" "$(stat_of kb chunks)"
lode-index -s kb --dump > dump.ndjson
expect_eq "--dump writes every chunk record, text and all" "$n $n" "$(wc -l < dump.ndjson) $(jq -r 'select(.text | length > 0) | .id' dump.ndjson | sort -u | wc -l)"
expect_eq "--stats counts every source" "$nsrc" "$(stat_of kb sources)"
check "--stats has terms, bytes, the BM25 defaults, and no vectors" \
    jqe '.terms > 100 and .bytes > 0 and .bm25.k1 == 0.9 and .bm25.b == 0.4 and .vectors == 0 and .dim == 0' <(lode-index -s kb --stats)
check "--check: consistent" consistent kb
check "the summary says what was added" grep -q "$n chunks added, 0 unchanged" idx.err

# the same run again: every source unchanged, nothing written
lode-index -s kb < chunks.ndjson 2> idx2.err
check "a second run skips unchanged sources" grep -q "0 chunks added, $n unchanged, 0 sources replaced" idx2.err
expect_eq "...and the store is the same" "$n" "$(stat_of kb chunks)"

# --skip-unchanged passes on only what is new or changed, without writing
jq -c 'if .source | endswith("guide.md") then .doc = "00000000000000ff" else . end' chunks.ndjson > changed.ndjson
lode-index -s kb --skip-unchanged < changed.ndjson > passed.ndjson 2> skip.err
expect_eq "--skip-unchanged: only the changed source's records pass" \
    "$(jq -c 'select(.source | endswith("guide.md"))' changed.ndjson | md5sum)" "$(md5sum < passed.ndjson)"
lode-index -s fresh-store --skip-unchanged < chunks.ndjson > passed2.ndjson 2> /dev/null
expect_eq "--skip-unchanged on a store that does not exist yet passes everything" "$n" "$(wc -l < passed2.ndjson)"
check "...and creates nothing" test ! -e fresh-store

# a changed doc hash replaces the source's chunks
src=$(jq -r 'select(.source | endswith("examples/guide.md")) | .source' chunks.ndjson | head -1)
printf '%s\n' '{"id":"g-1","source":"'"$src"'","doc":"0000000000000001","text":"zebra crossing rules for pelicans"}' > v2.ndjson
lode-index -s kb < v2.ndjson 2> v2.err
check "a changed doc replaces the source" grep -q "1 chunks added, 0 unchanged, 1 sources replaced" v2.err
old_chunks=$(jq -c "select(.source == \"$src\")" chunks.ndjson | wc -l)
expect_eq "...its old chunks are gone, the new one is in" "$((n - old_chunks + 1))" "$(stat_of kb chunks)"
expect_eq "...BM25 finds the new text" "g-1" "$(echo 'pelican zebra' | lode-query -s kb -k 1 2> /dev/null | jq -r '.hits[0].id')"
check "--check after replacing: consistent" consistent kb
# the same documents again with vectors, then with entities, then
# chunked another way: each replaces what the store holds (the doc hash alone
# would call them unchanged)
jq -c "select(.source == \"$src\")" chunks.ndjson > same-doc.ndjson
lode-index -s redo < same-doc.ndjson 2> /dev/null
lode-embed -m "$SHARED/models/tiny-bert-f32" < same-doc.ndjson 2> /dev/null | lode-index -s redo 2> redo1.err
check "the same chunks with vectors: the source replaced, its vectors in" \
    grep -q "$old_chunks chunks added, 0 unchanged, 1 sources replaced; $old_chunks vectors in" redo1.err
lode-embed -m "$SHARED/models/tiny-bert-f32" < same-doc.ndjson 2> /dev/null | lode-index -s redo 2> redo2.err
check "...the same again: unchanged" grep -q "0 chunks added, $old_chunks unchanged" redo2.err
lode-entities < same-doc.ndjson 2> /dev/null | lode-index -s redo 2> redo3.err
check "...with entities: replaced, the graph has them" bash -c \
    "grep -q '1 sources replaced' redo3.err && lode-index -s redo --dump-graph jsonl 2> /dev/null | grep -q ."
jq -c '.chunk = 1 | .text = (.text + " and more")' same-doc.ndjson | head -1 | lode-index -s redo 2> redo4.err
expect_eq "...chunked otherwise (a first chunk that differs): one chunk left" "1 1" \
    "$(grep -c '1 sources replaced' redo4.err) $(stat_of redo chunks)"
check "--check after the replacements: consistent" consistent redo

# the same id again replaces the chunk (also within one run)
printf '%s\n' '{"id":"x","text":"first walrus"}' '{"id":"x","text":"second walrus"}' | lode-index -s kb 2> /dev/null
expect_eq "one id twice in a run: the last wins" "second walrus" \
    "$(echo walrus | lode-query -s kb 2> /dev/null | jq -r '[.hits[] | select(.id == "x")] | length, .[0].text' | paste -sd' ' | cut -d' ' -f2-)"
expect_eq "...once" 1 "$(echo walrus | lode-query -s kb 2> /dev/null | jq '[.hits[] | select(.id == "x")] | length')"

# --delete: by source (record or plain line)
before=$(stat_of kb chunks)
printf '%s\n' "$src" | lode-index -s kb --delete 2> del.err
check "--delete names the source in a plain line" grep -q "1 sources deleted (1 chunks)" del.err
expect_eq "...its chunks are gone" "$((before - 1))" "$(stat_of kb chunks)"
expect_eq "...and BM25 no longer finds them" 0 "$(echo 'pelican zebra' | lode-query -s kb 2> /dev/null | jq '[.hits[] | select(.id == "g-1")] | length')"
echo '{"source":"no/such/thing"}' | lode-index -s kb --delete 2> del2.err
expect_eq "deleting an unknown source is not an error" 0 $?
check "--check after deleting: consistent" consistent kb

# --echo: the records taken, once committed
head -5 chunks.ndjson | jq -c '.doc = "00000000000000aa" | .source = "echo-src"' > echo.ndjson
lode-index -s kb --echo --batch 2 < echo.ndjson > echoed.ndjson 2> /dev/null
expect_eq "--echo writes each record taken" "$(md5sum < echo.ndjson)" "$(md5sum < echoed.ndjson)"

# ---- bad records fail alone ----
{
    echo '{"text":"no id here"}'
    echo '{"id":"no-text"}'
    echo 'this is not json'
    echo '{"id":"v1","text":"a vector","vec":"AACAPwAAAEA=","dim":2,"model":"m1"}'
    echo '{"id":"v2","text":"another size","vec":"AACAPwAAAEAAAEBA","dim":3,"model":"m1"}'
    echo '{"id":"v3","text":"another model","vec":"AACAPwAAAEA=","dim":2,"model":"m2"}'
    echo '{"id":"v4","text":"not base64","vec":"@@@","model":"m1"}'
    echo '{"id":"v5","text":"NaN","vec":"AADAfwAAAEA=","dim":2,"model":"m1"}'
    echo '{"id":"v6","text":"dim lies","vec":"AACAPwAAAEA=","dim":5,"model":"m1"}'
    echo '{"id":"v7","text":"fine again","vec":"AAAAQAAAgD8=","dim":2,"model":"m1"}'
} > bad.ndjson
lode-index -s badkb --errors bad.err < bad.ndjson 2> bad.log
expect_eq "bad records: exit status 1" 1 $?
expect_eq "bad records: the good ones are in" 2 "$(stat_of badkb chunks)"
expect_eq "bad records: one error record each" 8 "$(wc -l < bad.err)"
check "...a record without an id" grep -q 'no \\"id\\" string' bad.err
check "...a record without text" grep -q '"id":"no-text".*no \\"text\\" string' bad.err
check "...broken JSON, by line" grep -q '"source":"<stdin>:3".*invalid JSON' bad.err
check "...a vector of another size" grep -q '"id":"v2".*3 values; the store holds 2-value vectors of m1' bad.err
check "...a vector of another model" grep -q '"id":"v3".*vector of m2; the store holds vectors of m1' bad.err
check "...a vector that is not base64" grep -q '"id":"v4".*not base64' bad.err
check "...NaN in a vector" grep -q '"id":"v5".*NaN' bad.err
check "...dim that disagrees with the vector" grep -q '"id":"v6".*dim says 5' bad.err
expect_eq "the store remembers the first vector's model and size" "m1 2" "$(lode-index -s badkb --stats | jq -r '"\(.model) \(.dim)"')"
check "--check: consistent after bad records" consistent badkb

# ---- kill -9 in the middle of a large run, then the same run again ----
N=30000
san && N=6000
"$MK" records $N 32 1 300 > big.ndjson
kill_after_commit killed big.ndjson --batch 200 -j 2
mid=$(stat_of killed chunks)
check "killed mid-run: some batches were committed ($mid of $N)" test "$mid" -gt 0 -a "$mid" -lt $N
check "killed mid-run: the store is consistent" consistent killed
expect_eq "killed mid-run: chunks and vectors agree" "$mid" "$(stat_of killed vectors)"
lode-index -s killed --batch 200 -j 2 < big.ndjson 2> rerun.err
expect_eq "the same run again: exit status 0" 0 $?
expect_eq "the same run again: every record exactly once" "$N $N 300" \
    "$(lode-index -s killed --stats | jq -r '"\(.chunks) \(.vectors) \(.sources)"')"
check "the same run again: consistent" consistent killed
check "the re-run skipped what was committed" grep -q "unchanged" rerun.err

# the map grows by itself: a 1 MiB map that must double many times
lode-index -s grown --map-size 1M --batch 500 < big.ndjson 2> grown.err
expect_eq "a map that fills grows: exit 0" 0 $?
expect_eq "...every record is in" $N "$(stat_of grown chunks)"
check "...consistent" consistent grown
# one record larger than the whole map: grown until it fits, not fatal
{
    python3 -c 'import json; print(json.dumps({"id": "huge-1", "source": "huge.txt", "text": " ".join("w%d" % (i % 5000) for i in range(300000))}, separators=(",", ":")))'
    echo '{"id":"after-1","source":"after.txt","text":"the record after it"}'
} > huge.ndjson
lode-index -s huge --map-size 64K < huge.ndjson 2> huge.err
expect_eq "a record larger than the map (1.7 MB into 64 KiB): exit 0" 0 $?
expect_eq "...it and the record after it are in" 2 "$(stat_of huge chunks)"
check "...consistent" consistent huge

# a source longer than ten batches is committed in parts, marked incomplete
# until its last chunk: killed in between, the re-run replaces it whole
"$MK" records 3000 16 3 1 > onesrc.ndjson
kill_after_commit long onesrc.ndjson --batch 50
lode-index -s long --batch 50 < onesrc.ndjson 2> long.err
expect_eq "one long source, killed and re-run: every chunk once" 3000 "$(stat_of long chunks)"
check "...consistent" consistent long

# ---- readers during a write; a second writer ----
W=20000
san && W=8000 # the sanitizer build writes slower: as busy with fewer
"$MK" records $W 32 5 200 > w.ndjson
lode-index -s busy < chunks.ndjson 2> /dev/null
lode-index -s busy --batch 100 < w.ndjson 2> /dev/null &
pid=$!
fails=0
answered=0
for _ in $(seq 1 20); do
    printf 'pressure wing\nflutter panel\n' | lode-query -s busy -k 3 --no-text > q.out 2> /dev/null || fails=$((fails + 1))
    answered=$((answered + $(wc -l < q.out)))
done
printf '{"id":"z","text":"z"}\n' | lode-index -s busy --nowait 2> nowait.err
st=$?
wait $pid
expect_eq "queries while a writer is busy: none fails" 0 "$fails"
expect_eq "...every query answered" 40 "$answered"
if grep -q 'another writer' nowait.err; then
    expect_eq "a second writer with --nowait: exit 3" 3 "$st"
else
    ok "a second writer with --nowait: the first had finished (exit $st)"
fi
flock busy/writer.lock sleep 2 &
sleep 0.3
printf '{"id":"z","text":"zeta"}\n' | lode-index -s busy --nowait 2> nowait2.err
expect_eq "a second writer with --nowait fails at once: exit 3" 3 $?
check "...with a clear message" grep -q 'another writer is using the store' nowait2.err
printf '{"id":"z","text":"zeta"}\n' | lode-index -s busy 2> wait.err
expect_eq "a second writer without --nowait waits, then writes" 0 $?
check "...and says it waits" grep -q 'waiting for it' wait.err
wait
check "--check after all that: consistent" consistent busy

# ---- a full disk: exit 3, the store intact ----
mkdir -p small
if mount -t tmpfs -o size=3m tmpfs small 2> /dev/null; then
    how="a 3 MB tmpfs"
    lode-index -s small/kb --batch 500 < big.ndjson 2> full.err
    st=$?
    at=$(stat_of small/kb chunks)
    consistent small/kb
    ck=$?
    umount small
else
    # no permission to mount: the same through a file-size limit
    how="a 3 MB file-size limit"
    (trap '' XFSZ; ulimit -f 3072; lode-index -s small/kb --batch 500 < big.ndjson 2> full.err)
    st=$?
    at=$(stat_of small/kb chunks)
    consistent small/kb
    ck=$?
fi
expect_eq "a full disk ($how): exit 3" 3 "$st"
check "...with a clear message" grep -qE 'cannot commit: (no space left|a write failed)' full.err
check "...the store keeps whole batches ($at chunks)" test $((at % 500)) -eq 0
expect_eq "...and is consistent" 0 "$ck"

# ---- --compact ----
"$MK" records 3000 32 7 30 > c.ndjson
lode-index -s comp < c.ndjson 2> /dev/null
seq 0 19 | sed 's|^|src/|; s|$|.txt|' | lode-index -s comp --delete 2> /dev/null
"$MK" queries 20 32 8 q.f32 > cq.ndjson
lode-query -s comp --mode dense --exact --no-text < cq.ndjson 2> /dev/null | jq -c '[.hits[].id]' > before.txt
expect_eq "deleted vectors stay as tombstones until --compact" 2000 "$(stat_of comp deleted_vectors)"
lode-index -s comp --compact > compact.json 2> /dev/null
expect_eq "--compact: exit 0" 0 $?
check "--compact drops the tombstones and shrinks the file" \
    jqe '.deleted_vectors_dropped == 2000 and .vectors == 1000 and .bytes_after < .bytes_before' compact.json
expect_eq "...no tombstones left" 0 "$(stat_of comp deleted_vectors)"
check "...consistent" consistent comp
lode-query -s comp --mode dense --exact --no-text < cq.ndjson 2> /dev/null | jq -c '[.hits[].id]' > after.txt
expect_eq "...and answers as before" "$(md5sum < before.txt)" "$(md5sum < after.txt)"
check "...leaving no temporary directory" bash -c '! ls -d comp.compact-* 2> /dev/null'

# ---- options ----
lode-index -s kb --bm25 1.2,0.75 < /dev/null 2> /dev/null
check "--bm25 sets the store's parameters" jqe '.bm25.k1 == 1.2 and .bm25.b == 0.75' <(lode-index -s kb --stats)
lode-index -s kb --bm25 1.2 < /dev/null 2> /dev/null
expect_eq "--bm25 without B: usage error" 2 $?
lode-index < /dev/null 2> /dev/null
expect_eq "no store: usage error" 2 $?
lode-index -s q8 --quantize int8 -M 8 --ef-construction 50 < c.ndjson 2> /dev/null
check "--quantize int8, -M and --ef-construction are kept" \
    jqe '.quantize == "int8" and .hnsw.M == 8 and .hnsw.ef_construction == 50' <(lode-index -s q8 --stats)
lode-index -s f8 -M 8 --ef-construction 50 < c.ndjson 2> /dev/null
expect_le "an int8 store's vectors take less room" "$(stat_of f8 bytes_used)" "$(stat_of q8 bytes_used)"
check "--check on an int8 store: consistent" consistent q8
lode-index -s /dev/null/x < chunks.ndjson 2> cant.err
expect_eq "a store that cannot be created: exit 3" 3 $?
lode-index -s nowhere --stats 2> nostats.err
expect_eq "--stats of a missing store: exit 3" 3 $?
check "...saying so" grep -q 'no such store' nostats.err

# ---- a damaged store: a clear error, no crash ----
lode-extract "$ROOT/examples" 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s dmg 2> /dev/null
cp -r dmg cut
truncate -s $(($(stat -c %s dmg/data.mdb) / 2)) cut/data.mdb
for run in "lode-query -s cut" "lode-index -s cut --check" "lode-index -s cut --stats" "lode-index -s cut"; do
    # shellcheck disable=SC2086 # the program and its options
    echo formats | $run > /dev/null 2> cut.err
    expect_eq "a data.mdb cut in half: $run exits 3 (no SIGBUS)" 3 $?
    check "...saying the store is damaged and cut short" grep -q 'cut is damaged: data.mdb is cut short' cut.err
done
lode-index -s cut --salvage cut-sal > cut-sal.json 2> /dev/null
expect_eq "--salvage of the store cut in half: exit 0, a consistent store of the chunks before the cut" "0 true" \
    "$? $(lode-index -s cut-sal --check 2> /dev/null | jq .ok)"
expect_ge "...some chunks kept" 1 "$(jq .chunks cut-sal.json)"
cp -r dmg nohdr
printf 'garbage!' | dd of=nohdr/data.mdb bs=1 seek=16 conv=notrunc 2> /dev/null
echo formats | lode-query -s nohdr > /dev/null 2> nohdr.err
expect_eq "a data.mdb without its header: exit 3" 3 $?
check "...saying so" grep -q 'nohdr is damaged: data.mdb has no valid LMDB header' nohdr.err
cp -r dmg empty
: > empty/data.mdb
echo formats | lode-query -s empty > /dev/null 2> empty.err
expect_eq "an empty data.mdb: lode-query exits 3, saying it is empty" "3 1" "$? $(grep -c 'empty is damaged: data.mdb is empty' empty.err)"

# settings a store holds are checked before they are trusted
for bad in "str bm25_k1 nan" "str bm25_k1 1e999" "str bm25_b 1.5" "str quantize int4" "u64 hnsw_m 0" "u64 dim 99999999"; do
    rm -rf setting && cp -r dmg setting
    # shellcheck disable=SC2086 # kind, key and value
    "$BUILD/tools/storeedit" setting $bad
    key=$(echo "$bad" | cut -d' ' -f2)
    echo formats | lode-query -s setting > /dev/null 2> setting.err
    expect_eq "a store whose $bad: lode-query exits 3 naming the setting" "3 1" \
        "$? $(grep -c "setting is damaged: its setting $key is" setting.err)"
    lode-index -s setting --check > /dev/null 2> setting-check.err
    expect_eq "...lode-index --check reports it (exit 1)" "1 1" "$? $(grep -c "meta: .*its setting $key" setting-check.err)"
done
# a chunk counter behind the chunks: refused, not overwritten
rm -rf rewound && cp -r dmg rewound
nchunks=$(lode-index -s dmg --stats | jq .chunks)
"$BUILD/tools/storeedit" rewound u64 next $((nchunks - 1))
before=$(md5sum < rewound/data.mdb)
lode-extract "$ROOT/README.md" 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s rewound > /dev/null 2> rewound.err
expect_eq "a rewound chunk counter: lode-index exits 3, saying so" "3 1" "$? $(grep -c "rewound is damaged: it counts $nchunks chunks but has numbered only $((nchunks - 1))" rewound.err)"
expect_eq "...and leaves the store as it was" "$before" "$(md5sum < rewound/data.mdb)"
"$BUILD/tools/storeedit" rewound u64 n 2
lode-extract "$ROOT/README.md" 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s rewound > /dev/null 2> rewound.err
expect_eq "a counter behind the last chunk's number: exit 3, saying so" "3 1" \
    "$? $(grep -c "rewound is damaged: its chunk counter ($((nchunks - 1))) is behind its chunks" rewound.err)"

# file names that are not UTF-8 stay apart: x\xff.md and x\xfe.md are two sources
mkdir -p names
printf 'alpha is in the first file\n' > "names/x$(printf '\xff').md"
printf 'beta is in the second file\n' > "names/x$(printf '\xfe').md"
printf 'gamma\n' > "names/y$(printf '\xef\xbf\xbd').md"
printf 'delta\n' > "names/y$(printf '\xef\xbf\xbd')FF.md"
lode-extract names 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s names.kb 2> /dev/null
expect_eq "four files with odd names: four sources in the store" 4 "$(lode-index -s names.kb --stats | jq .sources)"
expect_eq "...the name's invalid byte written U+FFFD and its hex digits" "names/x$(printf '\xef\xbf\xbd')FE.md" \
    "$(echo beta | lode-query -s names.kb -k 1 2> /dev/null | jq -r '.hits[0].source')"
cp "$(find "$DATA/ocr" -name '*.png' | head -1)" "names/o$(printf '\xe9').png"
lode-extract "names/o$(printf '\xe9').png" 2> /dev/null | lode-ocr > ocrname.ndjson 2> ocrname.err
check "lode-ocr opens the file of a non-UTF-8 source name" jqe '(.text | length) > 100' ocrname.ndjson

# records beyond LMDB's limits: a 511-byte key (an id, a source) is an error
# record, and so is a source that is not a string; a word beyond 255 bytes
# is not indexed; a record larger than the whole map grows it; the records
# after each are indexed
python3 -c "
import json
print(json.dumps({'id': 'a', 'source': 'a.txt', 'text': 'first record'}))
print(json.dumps({'id': 'b' * 600, 'source': 'b.txt', 'text': 'a long id'}))
print(json.dumps({'id': 's', 'source': 's' * 600, 'text': 'a long source'}))
print(json.dumps({'id': 'big', 'source': 'big.txt', 'text': 'x' * 2000 + ' ' + ' '.join('w%d' % i for i in range(300000))}))
print(json.dumps({'id': 'n', 'source': 7, 'text': 'a source that is a number'}))
print(json.dumps({'id': 'c', 'source': 'c.txt', 'text': 'after the big one'}))" > limits.ndjson
lode-index -s limits.kb --map-size 1M --errors limits-err.ndjson < limits.ndjson > /dev/null 2> limits.err
expect_eq "keys too long: exit 1, two error records naming them" "1 id source" \
    "$? $(jq -r '.error | capture("record.s (?<f>[a-z]+) is longer than 511 bytes").f' limits-err.ndjson | tr '\n' ' ' | sed 's/ $//')"
expect_eq "a source that is not a string: an error record saying so" 1 \
    "$(grep -c 'source.* is not a string' limits-err.ndjson)"
expect_eq "...the record larger than the 1 MiB map, and the ones around it, indexed" "a big c" \
    "$(lode-index -s limits.kb --dump | jq -r .id | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "...its last word found" big "$(echo w299999 | lode-query -s limits.kb -k 1 2> /dev/null | jq -r '.hits[0].id')"
check "...--check: consistent" consistent limits.kb

# bytes flipped inside the pages: every program says the store is damaged
# (exit 3) or reads what is intact; none crashes. One byte in each page's
# header or node pointers, and bytes at 40 offsets across the file.
lode-extract "$ROOT/examples" 2> /dev/null | lode-chunk 2> /dev/null |
    lode-embed -m "$SHARED/models/tiny-bert-f32" 2> /dev/null | lode-index -s flipbase 2> /dev/null
size=$(stat -c %s flipbase/data.mdb)
offsets=$(python3 -c "
import random
r = random.Random(17)
pages = $size // 4096
offs = [p * 4096 + 8 + (p * 7) % 40 for p in range(2, pages)] + [r.randrange($size) for _ in range(40)]
print(' '.join('%d:%d' % (o, r.randrange(256)) for o in offs))")
crashed=0 tried=0 said=0 salvaged=0 bad_salvage=0 kept=0
for ob in $offsets; do
    rm -rf flip && cp -r flipbase flip
    # shellcheck disable=SC2059 # the byte, as an octal escape
    printf "\\$(printf %03o "${ob#*:}")" | dd of=flip/data.mdb bs=1 seek="${ob%:*}" conv=notrunc 2> /dev/null
    echo 'formats pdf' | lode-query -s flip --mode hybrid -m "$SHARED/models/tiny-bert-f32" > /dev/null 2> flip-q.err
    rq=$?
    lode-index -s flip --check > /dev/null 2> flip-c.err
    rc=$?
    tried=$((tried + 1))
    case "$rq $rc" in
    [013]" "[013]) ;;
    *) crashed=$((crashed + 1)); echo "# flipped $ob: lode-query $rq, --check $rc" ;;
    esac
    { [ "$rq" = 3 ] || [ "$rc" != 0 ]; } && said=$((said + 1))
    if [ "$rc" = 1 ]; then
        # what --check found damaged, --salvage copies what it can into a whole store
        rm -rf flip-sal
        lode-index -s flip --salvage flip-sal > flip-s.json 2> /dev/null
        rs=$?
        lode-index -s flip-sal --check > /dev/null 2>&1
        [ "$rs $?" = "0 0" ] || { bad_salvage=$((bad_salvage + 1)); echo "# salvage of $ob: $rs"; }
        salvaged=$((salvaged + 1)) kept=$((kept + $(jq .chunks flip-s.json)))
    fi
done
expect_eq "$tried stores with a byte flipped: no crash (every exit 0, 1 or 3)" 0 "$crashed"
expect_ge "...some of them found damaged (lode-query exit 3, or --check problems)" 5 "$said"
expect_eq "...each of the $salvaged that --check found damaged salvaged into a consistent store" 0 "$bad_salvage"
expect_ge "...keeping most of their chunks" $((salvaged * 54 * 9 / 10)) "$kept"
# an intact store salvaged: the same chunks, the same vectors (a dense query ranks alike)
lode-index -s flipbase --salvage whole-sal > whole-sal.json 2> /dev/null
expect_eq "--salvage of an intact store: every chunk and vector, no problem" "54 54 0" \
    "$(jq -r '"\(.chunks) \(.vectors) \(.problems)"' whole-sal.json)"
check "...the same records" cmp -s <(lode-index -s flipbase --dump | jq -S -c . | sort) <(lode-index -s whole-sal --dump | jq -S -c . | sort)
check "...a dense query answers alike" cmp -s \
    <(echo 'formats pdf' | lode-query -s flipbase --mode dense -m "$SHARED/models/tiny-bert-f32" 2> /dev/null | jq -c '[.hits[] | .id, .score]') \
    <(echo 'formats pdf' | lode-query -s whole-sal --mode dense -m "$SHARED/models/tiny-bert-f32" 2> /dev/null | jq -c '[.hits[] | .id, .score]')
lode-index -s flipbase --salvage whole-sal > /dev/null 2> again.err
expect_eq "--salvage into a folder that holds a store: refused, exit 3" "3 1" "$? $(grep -c 'already holds a store' again.err)"

# a mixed store is warned about, whichever way it became mixed
printf '{"id":"p1","text":"plain chunk one"}\n' | lode-index -s mixed 2> mix1.err
check "plain chunks into a new store: no warning" bash -c "! grep -q warning mix1.err"
printf '{"id":"v1","text":"apple pie"}\n' | lode-embed -m "$SHARED/models/tiny-bert-f32" 2> /dev/null | lode-index -s mixed 2> mix2.err
check "vectors into a store of plain chunks: a warning that dense search cannot find them" \
    has mix2.err "mixed holds 1 chunks without vectors among 1 with them"
printf '{"id":"p2","text":"plain chunk two"}\n' | lode-index -s mixed 2> mix3.err
check "plain chunks into a store of vectors: the same warning, counted" \
    has mix3.err "mixed holds 2 chunks without vectors among 1 with them"
printf '{"id":"p3","text":"plain chunk three"}\n' | lode-index -s mixed --strict > /dev/null 2> strict.err
expect_eq "--strict: a record without a vector into a store of vectors fails alone (exit 1)" "1 1" \
    "$? $(grep -c 'has no vector and mixed holds vectors' strict.err)"
printf '{"id":"p1","text":"plain"}\n' | lode-index -s plainonly 2> /dev/null
printf '{"id":"v9","text":"apple"}\n' | lode-embed -m "$SHARED/models/tiny-bert-f32" 2> /dev/null | lode-index -s plainonly --strict > /dev/null 2> strict2.err
expect_eq "--strict: a vector into a store of plain chunks fails alone" "1 1" "$? $(grep -c 'plainonly holds chunks without vectors' strict2.err)"
expect_eq "...the store stays of one kind" 0 "$(lode-index -s plainonly --stats | jq .vectors)"
