#!/usr/bin/env bash
# Benchmark: lode-generate against PyTorch (Debian's python3-torch) running
# the same Llama forward with a KV cache, and against the memory-bandwidth
# limit of generation. Not a test: nothing here passes or fails on time.
#
# The model has SmolLM2-135M's shape (30 layers, dim 576, 9 heads / 3 KV
# heads, feed-forward 1536, vocabulary 49152, tied embeddings) with random
# weights written by tests/tools/mkgguf, as float32 and as Q8_0
# (tests/tools/quantize). A 128-token prompt is processed, then 128 tokens are
# generated greedily. PyTorch gets the float32 weights, OMP_WAIT_POLICY=
# PASSIVE, inference mode, one causal forward for the prompt and torch.mv
# for single-token products. The bandwidth limit is the weight bytes read
# per generated token over the read bandwidth tests/tools/stream measures on
# the same threads. Medians of 5 runs, taken in turns.
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
J=${J:-$(nproc)}
export OMP_WAIT_POLICY=PASSIVE
need_python torch numpy

"$BUILD/tools/mkgguf" "$W/f32.gguf" 576 30 9 3 1536 49152 1
"$BUILD/tools/quantize" "$W/f32.gguf" "$W/q8_0.gguf" q8_0 > /dev/null
"$PY" -c 'import json; print(json.dumps({"ids": [(i * 7919 + 11) % 40000 + 300 for i in range(128)]}))' > "$W/prompt.json"
echo "# lode-generate vs PyTorch $("$PY" -c 'import torch; print(torch.__version__)'), $J threads, $(nproc) cores"
cpu_line
echo "# SmolLM2-135M shape: f32 $(du -m "$W/f32.gguf" | cut -f1) MB, q8_0 $(du -m "$W/q8_0.gguf" | cut -f1) MB; 128 prompt tokens, 128 generated"
echo
for f in ours_f32_p ours_f32_g ours_q8_p ours_q8_g torch_p torch_g bw; do : > "$W/$f"; done
for _ in 1 2 3 4 5; do
    for v in f32 q8_0; do
        "$BIN/lode-generate" -m "$W/$v.gguf" -j "$J" --temperature 0 --max-tokens 128 --ignore-eos < "$W/prompt.json" > "$W/out-$v.json" 2> /dev/null
        k=${v%_0}
        jq '.usage.prompt_tokens / .usage.prompt_seconds' "$W/out-$v.json" >> "$W/ours_${k}_p"
        jq '.usage.completion_tokens / .usage.completion_seconds' "$W/out-$v.json" >> "$W/ours_${k}_g"
    done
    "$PY" "$ROOT/tests/bench/torch_llama.py" "$W/f32.gguf" 128 128 "$J" > "$W/torch.json"
    jq .prompt_tps "$W/torch.json" >> "$W/torch_p"
    jq .gen_tps "$W/torch.json" >> "$W/torch_g"
    "$BUILD/tools/stream" "$J" | jq .read_gbs >> "$W/bw"
done
same=$(jq -c '.answer_ids' "$W/out-f32.json")
agree=$([ "$same" = "$(jq -c .ids "$W/torch.json")" ] && echo "the same 128 greedy tokens" || echo "DIFFERENT greedy tokens")
bw=$(median < "$W/bw")
f32_bytes=$(du -b "$W/f32.gguf" | cut -f1)
q8_bytes=$(du -b "$W/q8_0.gguf" | cut -f1)
awk -v tp="$(median < "$W/torch_p")" -v tg="$(median < "$W/torch_g")" \
    -v fp="$(median < "$W/ours_f32_p")" -v fg="$(median < "$W/ours_f32_g")" \
    -v qp="$(median < "$W/ours_q8_p")" -v qg="$(median < "$W/ours_q8_g")" \
    -v bw="$bw" -v fb="$f32_bytes" -v qb="$q8_bytes" 'BEGIN {
    printf "                      prompt tokens/s    generated tokens/s   bandwidth limit   share of it\n"
    printf "PyTorch, float32      %8.1f           %8.1f\n", tp, tg
    printf "lode, float32         %8.1f (%.2fx)   %8.1f (%.2fx)      %8.1f          %3.0f%%\n", fp, fp / tp, fg, fg / tg, bw * 1e9 / fb, 100 * fg / (bw * 1e9 / fb)
    printf "lode, Q8_0            %8.1f (%.2fx)   %8.1f (%.2fx)      %8.1f          %3.0f%%\n", qp, qp / tp, qg, qg / tg, bw * 1e9 / qb, 100 * qg / (bw * 1e9 / qb)
    printf "read bandwidth on %d threads: %.1f GB/s (median of 5)\n", '"$J"', bw }'
echo "medians of 5 runs each; lode float32 and PyTorch: $agree"
for f in torch_g ours_f32_g ours_q8_g bw; do echo "  all runs, $f: $(sort -n "$W/$f" | tr '\n' ' ')"; done
