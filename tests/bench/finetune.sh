#!/usr/bin/env bash
# Benchmark: lode-finetune against the same LoRA training step in PyTorch
# (Debian's python3-torch). Not a test: nothing here passes or fails on time.
#
# The model has SmolLM2-135M's shape (30 layers, dim 576, 9 heads / 3 KV
# heads, feed-forward 1536, vocabulary 49152, tied embeddings) with random
# float32 weights written by tests/tools/mkgguf. Both train LoRA rank 8 (alpha
# 16) on q and v with AdamW and gradient clipping, one sequence of 256
# tokens per step, cross-entropy over every position. PyTorch gets
# OMP_WAIT_POLICY=PASSIVE and the same threads; tests/bench/torch_lora.py
# says what it runs. Figures: median tokens per second of the steps after
# the first two, and peak resident memory, against the base model's size.
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
J=${J:-$(nproc)}
STEPS=${STEPS:-8}
export OMP_WAIT_POLICY=PASSIVE
need_python torch numpy

"$BUILD/tools/mkgguf" "$W/f32.gguf" 576 30 9 3 1536 49152 1
# one long text: --ctx 256 cuts it into windows of 256 tokens, one per step
"$PY" -c '
import json, random
r = random.Random(1)
w = "river stone lamp quiet north paper seven green table sound".split()
print(json.dumps({"text": " ".join(r.choice(w) for _ in range(4000))}))' > "$W/train.ndjson"
rss() { "$PY" -c 'import resource, subprocess, sys
with open(sys.argv[1]) as i, open(sys.argv[2], "w") as o:
    subprocess.run(sys.argv[3:], stdin=i, stdout=o, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)' "$@"; }
echo "# lode-finetune vs PyTorch $("$PY" -c 'import torch; print(torch.__version__)'), $J threads, $(nproc) cores"
cpu_line
echo "# SmolLM2-135M shape, float32 $(du -m "$W/f32.gguf" | cut -f1) MB; LoRA rank 8 on q,v; sequences of 256 tokens; $STEPS steps"
echo
ours_mb=$(rss "$W/train.ndjson" "$W/ours.out" "$BIN/lode-finetune" -m "$W/f32.gguf" -o "$W/a.gguf" --ctx 256 --steps $((STEPS + 2)) \
    --rank 8 --alpha 16 --targets q,v -j "$J")
ours=$(jq -r 'select(.step > 2) | .tokens_per_second' "$W/ours.out" | median)
"$PY" "$ROOT/tests/bench/torch_lora.py" "$W/f32.gguf" 256 8 "$STEPS" "$J" > "$W/torch.json"
theirs=$(jq .tokens_per_second "$W/torch.json")
theirs_mb=$(jq '.max_rss_mb | floor' "$W/torch.json")
base_mb=$(du -m "$W/f32.gguf" | cut -f1)
awk -v o="$ours" -v t="$theirs" -v om="$ours_mb" -v tm="$theirs_mb" -v b="$base_mb" 'BEGIN {
    printf "                 training tokens/s      peak memory   over the base model\n"
    printf "PyTorch          %8.1f               %6d MB     %+6d MB\n", t, tm, tm - b
    printf "lode-finetune    %8.1f (%.2fx)       %6d MB     %+6d MB\n", o, o / t, om, om - b }'
echo "first losses (random weights, ln 49152 = 10.80): lode $(jq -r 'select(.step == 1) | .loss' "$W/ours.out"), PyTorch $(jq .first_loss "$W/torch.json")"
