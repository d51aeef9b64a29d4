#!/bin/bash
# pipelines/shard.sh K/N DOCS OUT [MODEL] - builds shard K of N of the
# documents in DOCS on this machine and publishes it as OUT/kb.K.
#
# The documents of shard K (lode-extract --list --shard K/N: by the hash of
# their path, as lode-index --shard splits sources) go through lode-extract
# | lode-ocr | lode-chunk [| lode-embed -m MODEL] | lode-index --shard K/N
# into a store on local disk (LMDB must not be written on a network file
# system), which is then copied to OUT/kb.K whole, replacing the last one
# only once the copy is complete. OUT may be shared storage; a query host
# copies the shards it serves to its own disk and runs
#   lode-query -s kb.0 -s kb.1 ... -s kb.N-1
# The Slurm job array, the Kubernetes indexed Job and the Airflow DAG next
# to this file run it once per shard.
#
# Also written: OUT/errors.K.ndjson (error records), OUT/metrics.K.prom
# (lode-index's Prometheus metrics). Environment: LODE_THREADS (threads per
# program, default: cores), LODE_SCRATCH (local disk, default $TMPDIR or
# /tmp), LODE_BIN (the folder of the lode programs; default: beside pipelines/,
# else on PATH).
# Exit status: 0 all documents indexed; 1 some inputs failed (the shard is
# published without them); 2 usage; 3 fatal (nothing published).
set -u
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: shard.sh K/N DOCS OUT [MODEL]" >&2
    exit 2
fi
SPEC=$1 DOCS=$2 OUT=$3 MODEL=${4:-}
K=${SPEC%%/*}
case $SPEC in
[0-9]*/[0-9]*) ;;
*) echo "shard.sh: K/N such as 0/4, not $SPEC" >&2; exit 2 ;;
esac
# shellcheck source=pipelines/find.sh
. "$(dirname "$0")/find.sh"
lode_find "$(cd "$(dirname "$0")" && pwd)" lode-extract lode-ocr lode-chunk lode-index ${MODEL:+lode-embed}
B=$LODE_BIN/
T=${LODE_THREADS:-$(nproc)}
SCRATCH=$(mktemp -d "${LODE_SCRATCH:-${TMPDIR:-/tmp}}/lode-shard-$K.XXXXXX") || exit 3
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$OUT" || exit 3
ERR=$OUT/errors.$K.ndjson
: > "$ERR" || exit 3

embed() {
    if [ -n "$MODEL" ]; then
        "${B}lode-embed" -m "$MODEL" -j "$T" --no-progress --errors "$ERR"
    else
        cat
    fi
}
"${B}lode-extract" --list --shard "$SPEC" "$DOCS" |
    "${B}lode-extract" -j "$T" --no-progress --errors "$ERR" |
    "${B}lode-ocr" -j "$T" --no-progress --errors "$ERR" |
    "${B}lode-chunk" --no-progress --errors "$ERR" |
    embed |
    "${B}lode-index" -s "$SCRATCH/kb" --shard "$SPEC" -j "$T" ${MODEL:+-m "$MODEL"} --no-progress \
        --errors "$ERR" --metrics "$OUT/metrics.$K.prom"
worst=0
for s in "${PIPESTATUS[@]}"; do [ "$s" -le "$worst" ] || worst=$s; done
if [ "$worst" -gt 1 ]; then
    echo "shard.sh: shard $SPEC failed (exit status $worst); nothing published" >&2
    exit 3
fi
rm -rf "$OUT/kb.$K.new" &&
    cp -R "$SCRATCH/kb" "$OUT/kb.$K.new" &&
    if ! { rm -rf "$OUT/kb.$K.old" &&
           { [ ! -e "$OUT/kb.$K" ] || mv "$OUT/kb.$K" "$OUT/kb.$K.old"; } &&
           mv "$OUT/kb.$K.new" "$OUT/kb.$K" && rm -rf "$OUT/kb.$K.old"; }; then
        echo "shard.sh: cannot publish $OUT/kb.$K" >&2
        exit 3
    fi
echo "shard.sh: shard $SPEC published as $OUT/kb.$K ($("${B}lode-index" -s "$OUT/kb.$K" --stats | jq .chunks) chunks)" >&2
exit "$worst"
