#!/usr/bin/env bash
# Benchmark: lode-embed against PyTorch (Debian's python3-torch) running the
# same BERT forward in float32 on the same weights, in the same run. Not a
# test: nothing here passes or fails on time.
#
# The model has all-MiniLM-L6-v2's exact shape (6 layers, 384 hidden, 12
# heads, 1536 feed-forward, 30522 pieces) with random weights written by
# tests/tools/mkbert, and MiniLM's real tokenizer. The texts: 256 chunks of the
# Debian Reference cut to 126 pieces by lode-chunk --tokenizer, so about 128
# tokens with [CLS] and [SEP]. Batch 32, two threads. PyTorch gets the token
# ids (so its time has no tokenising), OMP_WAIT_POLICY=PASSIVE, inference
# mode, batches sorted by length and padded as sentence-transformers does;
# both report the seconds spent in the model alone.
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
PDF=${PDF:-/usr/share/debian-reference/debian-reference.en.pdf}
J=2
export OMP_WAIT_POLICY=PASSIVE
need_python torch numpy
M=$W/minilm-shape
mkdir -p "$M"
"$BUILD/tools/mkbert" "$M"
cp "$SHARED"/models/all-MiniLM-L6-v2-tokenizer/{tokenizer.json,vocab.txt,tokenizer_config.json} "$M"/
"$BIN/lode-extract" "$PDF" 2> /dev/null | "$BIN/lode-chunk" --tokenizer "$M" --size 126 --overlap 0 2> /dev/null |
    jq -c 'select(.tokens >= 120) | {text}' | head -256 > "$W/texts.ndjson"
"$BIN/lode-embed" -m "$M" --tokenize < "$W/texts.ndjson" > "$W/ids.ndjson" 2> /dev/null
n=$(wc -l < "$W/texts.ndjson")
tokens=$(jq '.ids | length' "$W/ids.ndjson" | awk '{ s += $1 } END { print s }')
lode_seconds() { # ARGS...: the seconds lode-embed spent in the model
    "$BIN/lode-embed" -m "$M" "$@" < "$W/in.ndjson" 2>&1 > "$W/lode.ndjson" | grep -o '[0-9.]* s in the model' | cut -d' ' -f1
}
echo "# lode-embed vs PyTorch $("$PY" -c 'import torch; print(torch.__version__)'), $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
cpu_line
echo "# model: all-MiniLM-L6-v2 shape, $(du -m "$M/model.safetensors" | cut -f1) MB; $n texts, $tokens tokens"
echo

cp "$W/texts.ndjson" "$W/in.ndjson"
# five runs each, taken in turns so that the machine's moods hit both
: > "$W/ours"
: > "$W/theirs"
for _ in 1 2 3 4 5; do
    lode_seconds --batch 32 -j $J >> "$W/ours"
    "$PY" "$ROOT/tests/bench/torch_bert.py" "$M" "$W/ids.ndjson" 32 $J "$W/torch.ndjson" >> "$W/theirs"
done
ours=$(median < "$W/ours")
theirs=$(median < "$W/theirs")
agree=$("$BUILD/tools/embcmp" "$W/torch.ndjson" "$W/lode.ndjson")
awk -v n="$n" -v a="$ours" -v b="$theirs" 'BEGIN {
    printf "throughput, batch 32, %d threads:\n", '$J'
    printf "  PyTorch      %7.1f texts/s (%.2f s in the model)\n", n / b, b
    printf "  lode-embed   %7.1f texts/s (%.2f s in the model)   %.2fx PyTorch\n", n / a, a, b / a }'
echo "  medians of 5 runs; all runs: PyTorch $(sort -n "$W/theirs" | tr '\n' ' ')s, lode $(sort -n "$W/ours" | tr '\n' ' ')s"
echo "  the two agree: $agree"
/usr/bin/time -f '%e %M' -o "$W/time" "$BIN/lode-embed" -m "$M" -j $J < "$W/texts.ndjson" > /dev/null 2>&1
read -r wall rss < "$W/time"
echo "  lode-embed end to end (loading, tokenising, JSON): $wall s; peak memory $((rss / 1024)) MB" \
    "(model $(du -m "$M/model.safetensors" | cut -f1) MB)"

echo
head -64 "$W/texts.ndjson" > "$W/in.ndjson"
head -64 "$W/ids.ndjson" > "$W/ids64.ndjson"
for t in 1 $J; do
    # one text at a time; both use t threads for BLAS too (OpenBLAS would
    # otherwise give PyTorch all cores whatever torch.set_num_threads says)
    ours=$(lode_seconds --batch 1 --window 1 -j "$t")
    theirs=$(OPENBLAS_NUM_THREADS=$t "$PY" "$ROOT/tests/bench/torch_bert.py" "$M" "$W/ids64.ndjson" 1 "$t" "$W/torch.ndjson")
    awk -v a="$ours" -v b="$theirs" -v t="$t" 'BEGIN {
        printf "batch-1 latency, %d thread(s): PyTorch %.1f ms, lode-embed %.1f ms per text (%.2fx)\n",
            t, b / 64 * 1000, a / 64 * 1000, b / a }'
done

# ONNX Runtime (the engine of fastembed and Chroma's default embedder):
# onnxruntime-node from npm (../shared/peers/README.md), the same weights
# exported by tests/bench/ort_export.py, texts sorted by length before
# batching, intraOpNumThreads = J; against lode-embed in float32 and with
# --quantize int8. Skipped when Node or the package cannot be had.
ORT=${ORT:-$HOME/.cache/lode-peers/ort}
# ORT_VS_LODE LABEL: the model in $M, texts.ndjson and ids.ndjson in $W
ort_vs_lode() {
    cp "$W/texts.ndjson" "$W/in.ndjson"
    : > "$W/ort"
    : > "$W/ours"
    : > "$W/ours8"
    for _ in 1 2 3 4 5; do
        node "$ROOT/tests/bench/ort_bert.mjs" "$ORT" "$W/model.onnx" "$W/ids.ndjson" 32 $J "$W/ort.ndjson" >> "$W/ort"
        lode_seconds --batch 32 -j $J >> "$W/ours"
        cp "$W/lode.ndjson" "$W/lode-f32.ndjson"
        lode_seconds --batch 32 -j $J --quantize int8 >> "$W/ours8"
    done
    o=$(median < "$W/ort")
    a=$(median < "$W/ours")
    q=$(median < "$W/ours8")
    echo
    awk -v n="$n" -v o="$o" -v a="$a" -v q="$q" -v l="$1" 'BEGIN {
        printf "%s against ONNX Runtime 1.20.1 (onnxruntime-node, CPU), batch 32, '$J' threads:\n", l
        printf "  ONNX Runtime          %7.1f texts/s (%.2f s in the model)\n", n / o, o
        printf "  lode-embed            %7.1f texts/s (%.2f s)   %.2fx ONNX Runtime\n", n / a, a, o / a
        printf "  lode-embed int8       %7.1f texts/s (%.2f s)   %.2fx ONNX Runtime\n", n / q, q, o / q }'
    echo "  agreement: ONNX Runtime and lode float32: $("$BUILD/tools/embcmp" "$W/ort.ndjson" "$W/lode-f32.ndjson"); lode int8 and ONNX Runtime: $("$BUILD/tools/embcmp" "$W/ort.ndjson" "$W/lode.ndjson")"
}
if command -v node > /dev/null && { [ -d "$ORT/node_modules/onnxruntime-node" ] ||
    (mkdir -p "$ORT" && cd "$ORT" && npm install --ignore-scripts onnxruntime-node@1.20.1 > /dev/null 2>&1); } &&
    (cd "$ROOT/tests/bench" && "$PY" ort_export.py "$M" "$W/model.onnx" > /dev/null 2>&1); then
    ort_vs_lode "all-MiniLM-L6-v2 shape"
    # multilingual-e5-small's shape: XLM-RoBERTa, 12 layers, hidden 384, 250,002
    # pieces (the real Unigram tokenizer here has 8,002: the texts are cut to
    # the same 126 of its pieces; the vocabulary's size costs memory, not time)
    M=$W/xlmr-shape
    mkdir -p "$M"
    "$BUILD/tools/mkbert" "$M" 12 384 12 1536 250002 xlm-roberta
    cp "$SHARED"/models/xlmr-unigram-tokenizer/* "$M"/
    "$BIN/lode-extract" "$PDF" 2> /dev/null | "$BIN/lode-chunk" --tokenizer "$M" --size 126 --overlap 0 2> /dev/null |
        jq -c 'select(.tokens >= 120) | {text}' | head -256 > "$W/texts.ndjson"
    "$BIN/lode-embed" -m "$M" --tokenize < "$W/texts.ndjson" > "$W/ids.ndjson" 2> /dev/null
    n=$(wc -l < "$W/texts.ndjson")
    echo
    echo "# model: multilingual-e5-small shape (xlm-roberta), $(du -m "$M/model.safetensors" | cut -f1) MB; $n texts, $(jq '.ids | length' "$W/ids.ndjson" | awk '{ s += $1 } END { print s }') tokens"
    if (cd "$ROOT/tests/bench" && "$PY" ort_export.py "$M" "$W/model.onnx" > /dev/null 2>&1); then
        ort_vs_lode "multilingual-e5-small shape"
    else
        echo "ONNX Runtime, XLM-R shape: skipped (the export failed)"
    fi
else
    echo "ONNX Runtime: skipped (no node, no onnxruntime-node, or the export failed)"
fi
