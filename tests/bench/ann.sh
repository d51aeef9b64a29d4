#!/usr/bin/env bash
# Benchmark: lode's HNSW against hnswlib and FAISS IndexHNSWFlat (Debian's
# python3-hnswlib and python3-faiss) on the same vectors in the same run.
# Not a test: nothing here passes or fails on time.
#
# 100,000 clustered 384-dimensional vectors (tests/tools/mkvecs: 100 Gaussian
# clusters, as sentence embeddings bunch by topic) and 1,000 queries drawn
# the same way; cosine similarity. Every library builds with M 16 and
# efConstruction 200 on the same number of threads, then answers every
# query single-threaded at several ef: recall@10 against exact search, and
# queries per second (best of three passes). Then the programs a user runs:
# lode-index on the same vectors as records, and lode-query on the queries.
#   N=20000 tests/bench/ann.sh   for a quicker run
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
N=${N:-100000}
NQ=${NQ:-1000}
DIM=${DIM:-384}
M=16
EFC=200
J=${J:-$(nproc)}
need_python hnswlib faiss numpy

"$BUILD/tools/mkvecs" raw "$N" "$DIM" 1 "$W/data.f32"
"$BUILD/tools/mkvecs" queries "$NQ" "$DIM" 2 "$W/q.f32" > "$W/queries.ndjson"
echo "# HNSW: $N vectors of $DIM dimensions, $NQ queries; M $M, efConstruction $EFC; builds on $J threads, queries on 1"
cpu_line
echo "# hnswlib $("$PY" -c 'import importlib.metadata as m; print(m.version("hnswlib"))' 2> /dev/null || echo '?'), faiss $("$PY" -c 'import faiss; print(faiss.__version__)'); $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
echo
"$BUILD/tools/annbench" "$W/data.f32" "$W/q.f32" "$DIM" $M $EFC "$J" f32 "$W/truth.i32" | jq -c '. + {lib: "lode"}' > "$W/results"
"$BUILD/tools/annbench" "$W/data.f32" "$W/q.f32" "$DIM" $M $EFC "$J" int8 "$W/truth8.i32" | jq -c '. + {lib: "lode-int8"}' >> "$W/results"
OMP_WAIT_POLICY=PASSIVE "$PY" "$ROOT/tests/bench/ann_peers.py" "$W/data.f32" "$W/q.f32" "$DIM" $M $EFC "$J" "$W/truth.i32" >> "$W/results"

jq -rs '
  def lib(l): map(select(.lib == l));
  (map(select(.ef)) | group_by(.ef)) as $by |
  "recall@10 / queries per second, single thread:",
  "    ef   lode (f32)        lode (int8)       hnswlib           faiss",
  ($by[] | . as $g | "  \($g[0].ef | tostring | (" " * (4 - length)) + .)" +
     ([("lode", "lode-int8", "hnswlib", "faiss") as $l | ($g | lib($l)[0]) |
        "   \(.recall | tostring | .[0:6] | . + " " * (6 - length)) \(.qps | tostring | (" " * (7 - length)) + .)"] | join(""))),
  "",
  (["lode", "hnswlib", "faiss"][] as $l | (map(select(.ef and .lib == $l and .recall >= 0.95)) | min_by(.ef)) as $r |
     "at recall >= 0.95: \($l) \($r.qps) queries/s (ef \($r.ef), recall \($r.recall))"),
  "",
  (map(select(.build_seconds))[] | "build: \(.lib) \(.build_seconds) s, index \(.index_mb) MB")
' "$W/results"
awk '/build_seconds/ { match($0, /"build_seconds": ?[0-9.]+/); v = substr($0, RSTART, RLENGTH); sub(/.*: ?/, "", v)
      if ($0 ~ /"lib": ?"lode"/) l = v; if ($0 ~ /hnswlib/) h = v; if ($0 ~ /faiss/) f = v }
     END { printf "build time: lode %.2fx hnswlib, %.2fx faiss\n", l / h, l / f }' "$W/results"

echo
# the programs: the same vectors as chunk records, then the queries
"$BUILD/tools/mkvecs" records "$N" "$DIM" 1 1000 > "$W/records.ndjson"
/usr/bin/time -f '%e %M' -o "$W/t" "$BIN/lode-index" -s "$W/kb" -j "$J" < "$W/records.ndjson" 2> /dev/null
read -r wall rss < "$W/t"
echo "lode-index end to end ($N records, $(du -m "$W/records.ndjson" | cut -f1) MB of JSON; BM25 and LMDB included): $wall s, peak $((rss / 1024)) MB," \
    "store $(du -m "$W/kb/data.mdb" | cut -f1) MB"
/usr/bin/time -f '%e %M' -o "$W/t" "$BIN/lode-query" -s "$W/kb" --mode dense --no-text < "$W/queries.ndjson" > "$W/run.ndjson" 2> "$W/q.log"
read -r wall rss < "$W/t"
echo "lode-query end to end ($NQ queries with vectors, default ef; loading the store included): $wall s, peak $((rss / 1024)) MB; $(grep -o '[0-9.]* ms a query' "$W/q.log") in the search"

# end to end against hnswlib as a program around it runs (tests/bench/ann_e2e.py:
# index and ids loaded, then each query record parsed, searched, written with
# its hits): 10,000 query records through each, three runs in turns, recall@10
# of each against exact search
"$BUILD/tools/mkvecs" queries 10000 "$DIM" 3 "$W/q10.f32" > "$W/q10.ndjson"
"$BUILD/tools/mkvecs" records "$N" "$DIM" 1 1000 | jq -r .id > "$W/ids.txt"
"$PY" "$ROOT/tests/bench/ann_e2e.py" build "$W/data.f32" "$DIM" $M $EFC "$J" "$W/h.idx"
: > "$W/e2e-h"
: > "$W/e2e-l"
for _ in 1 2 3; do
    /usr/bin/time -f '%e' -a -o "$W/e2e-h" "$PY" "$ROOT/tests/bench/ann_e2e.py" query "$W/h.idx" "$DIM" 64 "$W/ids.txt" < "$W/q10.ndjson" > "$W/h.out"
    /usr/bin/time -f '%e' -a -o "$W/e2e-l" "$BIN/lode-query" -q -s "$W/kb" --mode dense --no-text < "$W/q10.ndjson" > "$W/l.out"
done
h=$(median < "$W/e2e-h")
l=$(median < "$W/e2e-l")
rec=$("$PY" - "$W/data.f32" "$W/q10.f32" "$DIM" "$W/ids.txt" "$W/h.out" "$W/l.out" << 'EOF'
import json, sys
import numpy as np
dim = int(sys.argv[3])
d = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, dim)
d /= np.linalg.norm(d, axis=1, keepdims=True)
q = np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, dim)
q /= np.linalg.norm(q, axis=1, keepdims=True)
ids = open(sys.argv[4]).read().split("\n")
truth = []
for i in range(0, len(q), 1000):
    truth.extend(np.argpartition(-(q[i:i + 1000] @ d.T), 10, axis=1)[:, :10].tolist())
def recall(path):
    got = [{h["id"] for h in json.loads(l)["hits"][:10]} for l in open(path)]
    return sum(len(g & {ids[j] for j in t}) for g, t in zip(got, truth)) / (10 * len(truth))
print(f"{recall(sys.argv[5]):.4f} {recall(sys.argv[6]):.4f}")
EOF
)
read -r rh rl <<< "$rec"
awk -v h="$h" -v l="$l" -v rh="$rh" -v rl="$rl" 'BEGIN {
    printf "end to end, 10000 query records, ef 64, loading included (medians of 3):\n"
    printf "  hnswlib + Python   %.2f s (%.3f ms a query), recall@10 %s\n", h, h / 10, rh
    printf "  lode-query         %.2f s (%.3f ms a query), recall@10 %s   %.2fx hnswlib\n", l, l / 10, rl, h / l }'

