#!/usr/bin/env bash
# Benchmark: lode-generate against llama.cpp (../shared/peers: llama-bench,
# built here by ../shared/peers/build-llama.cpp.sh) on the same GGUF files,
# the same threads, in one run. Not a test: nothing here passes or fails on
# time.
#
# Two shapes with random weights (tests/tools/mkgguf, F32): SmolLM2-135M
# (30 layers, dim 576, 9/3 heads, FFN 1536, vocabulary 49152) and
# Qwen2.5-0.5B (24 layers, dim 896, 14/2 heads, FFN 4864, vocabulary
# 151936), quantised by llama.cpp's own llama-quantize to Q8_0, Q4_0,
# Q4_K_M, Q5_K_M and Q6_K. Each format: `llama-bench -t J -p 128 -n 64`
# (median of 3) and lode-generate on a 128-token prompt then 64 greedy
# tokens (median of 3, runs taken in turns). The bandwidth limit is the
# file's bytes over the read bandwidth tests/tools/stream measures on J
# threads. Then the same with a busy process on one core (oversubscribed).
#   SHAPES="smollm qwen" FORMATS="F32 Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K" J=2
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
J=${J:-$(nproc)}
SHAPES=${SHAPES:-smollm qwen}
FORMATS=${FORMATS:-F32 Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K}
need_tools jq cmake g++
LB=$("$SHARED/peers/build-llama.cpp.sh") || { echo "cannot build llama.cpp (see above)" >&2; exit 1; }
"$PY" -c 'import json; print(json.dumps({"ids": [(i * 7919 + 11) % 40000 + 300 for i in range(128)]}))' > "$W/prompt.json"
bw=$("$BUILD/tools/stream" "$J" | jq .read_gbs)
echo "# lode-generate vs llama.cpp (c392e50, llama-bench), $J threads, prompt 128, generation 64"
cpu_line
echo "# read bandwidth on $J threads: $bw GB/s"

lode_run() { # FILE: "prompt_tps gen_tps" of one run
    "$BIN/lode-generate" -m "$1" -j "$J" --temperature 0 --max-tokens 64 --ignore-eos < "$W/prompt.json" 2> /dev/null |
        jq -r '"\(.usage.prompt_tokens / .usage.prompt_seconds) \(.usage.completion_tokens / .usage.completion_seconds)"'
}
peer_run() { # FILE: "prompt_tps gen_tps"
    "$LB/llama-bench" -m "$1" -t "$J" -p 128 -n 64 -r 3 -o json 2> /dev/null |
        jq -r 'map(select(.n_prompt > 0) | .avg_ts) + map(select(.n_gen > 0) | .avg_ts) | "\(.[0]) \(.[1])"'
}
col() { awk -v c="$1" '{ print $c }'; }
table() { # SHAPE_FILE_PREFIX LABEL
    printf '\n%s\n' "$2"
    printf '%-8s %10s %10s %6s   %10s %10s %6s   %8s %6s\n' format "lode pp" "llama pp" ratio "lode tg" "llama tg" ratio "MB" "limit"
    for f in $FORMATS; do
        file=$1-$f.gguf
        : > "$W/ours" && : > "$W/theirs"
        for _ in 1 2 3; do
            lode_run "$file" >> "$W/ours"
            peer_run "$file" >> "$W/theirs"
        done
        lp=$(col 1 < "$W/ours" | median) lg=$(col 2 < "$W/ours" | median)
        cp=$(col 1 < "$W/theirs" | median) cg=$(col 2 < "$W/theirs" | median)
        bytes=$(stat -c %s "$file")
        awk -v f="$f" -v lp="$lp" -v cp="$cp" -v lg="$lg" -v cg="$cg" -v b="$bytes" -v bw="$bw" 'BEGIN {
            limit = bw * 1e9 / b
            printf "%-8s %10.1f %10.1f %5.2fx   %10.1f %10.1f %5.2fx   %8.0f %5.0f%%\n", f, lp, cp, lp / cp, lg, cg, lg / cg, b / 1048576, 100 * lg / limit }'
    done
}
for shape in $SHAPES; do
    case $shape in
        smollm) args="576 30 9 3 1536 49152 1" label="SmolLM2-135M shape" ;;
        qwen) args="896 24 14 2 4864 151936 1" label="Qwen2.5-0.5B shape" ;;
        *) echo "unknown shape $shape" >&2; exit 2 ;;
    esac
    # shellcheck disable=SC2086 # the shape's numbers, one argument each
    "$BUILD/tools/mkgguf" "$W/$shape-F32.gguf" $args > /dev/null
    for f in $FORMATS; do
        [ "$f" = F32 ] || "$LB/llama-quantize" "$W/$shape-F32.gguf" "$W/$shape-$f.gguf" "$f" > /dev/null 2>&1
    done
    table "$W/$shape" "# $label, tokens/s (pp: prompt, tg: generation; limit: generation's share of the bandwidth limit)"
    # the same with another process busy on one core
    perl -e 'while (1) {}' &
    busy=$!
    FORMATS=${BUSY_FORMATS:-Q4_K_M Q8_0} table "$W/$shape" "# $label, with a busy process on one core (oversubscribed)"
    kill "$busy"
    rm -f "$W/$shape"-*.gguf
done
