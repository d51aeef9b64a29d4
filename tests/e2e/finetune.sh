#!/usr/bin/env bash
# lode-finetune end to end: the loss at step 1 is the base model's (as
# lode-generate --score measures it), an adapter trained on stories about
# characters of our own invention lowers the held-out stories' NLL by at
# least 20% (lode-generate --score with and without --lora), the adapter's
# GGUF layout is llama.cpp's, a killed run resumes to the same adapter,
# what is learnt from prompt/completion and chat records, --merge, bad
# records and adapters that do not fit.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
M=$SHARED/models
ST=$M/stories260K/stories260K.gguf
LT=$M/tiny-gguf/llama-tiny-f32.gguf
QW=$M/tiny-gguf/qwen2-tiny-f16.gguf
F() { lode-finetune -j 1 "$@" 2> err.txt; }
G() { lode-generate "$@" 2> /dev/null; }
# mean NLL per predicted token of a --score output
mean_nll() { jq -s 'map(.nll * (.tokens - 1)) as $s | map(.tokens - 1) | add as $n | ($s | add) / $n' "$1"; }

python3 "$LODE_ROOT/tests/e2e/stories.py" 200 1 > train.ndjson
python3 "$LODE_ROOT/tests/e2e/stories.py" 30 2 > held.ndjson

# ---- step 1 computes the base model's loss ----
# A float comparison: the trainer and lode-generate run the same float32
# forward pass with products split differently (by columns on the team, by
# rows for a prompt), so BLAS may sum in another order. 1e-6 is about 4
# float32 ulps of a loss near 2.5; a wrong mask or position is off by 1e-2
# and more.
head -1 train.ndjson > one.ndjson
F -m "$ST" -o one.gguf --steps 1 < one.ndjson > one.out
expect_le "the loss at step 1 (before any update) is the base model's --score NLL, within 1e-6" 1e-6 \
    "$(jq -n --argjson a "$(jq .loss one.out | head -1)" --argjson b "$(G -m "$ST" --score < one.ndjson | jq .nll)" '($a - $b) | fabs')"

# ---- learning ----
F -m "$ST" -o st.gguf --ctx 256 --batch 4 --lr 3e-3 --targets q,k,v,o,gate,up,down \
    --eval held.ndjson < train.ndjson > train.out
rc=$?
expect_eq "training exits 0" 0 $rc
expect_eq "one progress record per step, then the final record" "$(jq -s 'map(select(.step > 0)) | length' train.out)" \
    "$(jq -s 'map(select(.done)) | .[0].steps' train.out)"
check "step records carry step, loss, lr, tokens_per_second" \
    jqe -s 'map(select(.step > 0)) | all(has("loss") and has("lr") and has("tokens_per_second") and has("grad_norm"))' train.out
G -m "$ST" --score < held.ndjson > base.score
G -m "$ST" --lora st.gguf --score < held.ndjson > tuned.score
base=$(mean_nll base.score)
tuned=$(mean_nll tuned.score)
expect_le "the step-0 evaluation loss is the base model's NLL on the held-out stories, within 1e-6" 1e-6 \
    "$(jq -s --argjson b "$base" '(.[0].eval_loss - $b) | fabs' train.out)"
expect_ge "the adapter lowers the held-out stories' mean NLL by at least 20% ($base -> $tuned)" 0.20 \
    "$(jq -n "1 - $tuned / $base")"
expect_le "lode-generate --lora scores the held-out stories as lode-finetune's final eval_loss (1e-5)" 1e-5 \
    "$(jq -s --argjson t "$tuned" 'map(select(.done))[0].eval_loss - $t | fabs' train.out)"

# ---- the adapter's layout ----
"$BUILD/tools/ggufinfo" st.gguf > info.txt
check "general.type adapter, adapter.type lora, alpha 16, architecture llama" \
    sh -c 'grep -qx general.type=adapter info.txt && grep -qx adapter.type=lora info.txt && grep -qx adapter.lora.alpha=16 info.txt && grep -qx general.architecture=llama info.txt'
expect_eq "lora_a is ne [in, rank], lora_b [rank, out] (llama.cpp's shapes)" \
    "tensor blk.4.ffn_down.weight.lora_a F32 172x8 tensor blk.4.ffn_down.weight.lora_b F32 8x64" \
    "$(grep 'blk.4.ffn_down' info.txt | tr '\n' ' ' | sed 's/ $//')"
expect_eq "5 layers x 7 projections x 2 tensors" 70 "$(grep -c '^tensor' info.txt)"
F -m "$ST" -o qv.gguf --steps 2 < one.ndjson > /dev/null
expect_eq "the default targets are q and v" "attn_q attn_v" \
    "$("$BUILD/tools/ggufinfo" qv.gguf | awk '/^tensor blk.0/ { split($2, p, "."); print p[3] }' | sort -u | tr '\n' ' ' | sed 's/ $//')"

# ---- resume ----
head -24 train.ndjson > small.ndjson
F -m "$ST" -o full.gguf --ctx 128 --steps 6 --save-every 2 --seed 3 --dropout 0.1 --lr 1e-3 < small.ndjson > full.out
(LODE_FAULT_STEP=3 "$BUILD/hooks/lode-finetune" -j 1 -m "$ST" -o part.gguf --ctx 128 --steps 6 --save-every 2 --seed 3 \
    --dropout 0.1 --lr 1e-3 < small.ndjson > part1.out 2> /dev/null; exit $?) 2> /dev/null
rc=$?
expect_eq "the test hook kills the run after step 3" 137 $rc
check "a checkpoint of step 2 is left" test -s part.gguf.ckpt
LODE_FAULT_STEP=1 lode-finetune -j 1 -m "$ST" -o nohook.gguf --ctx 128 --steps 2 --seed 3 < small.ndjson > /dev/null 2>&1
expect_eq "bin/lode-finetune has no fault hook" 0 $?
F -m "$ST" -o part.gguf --ctx 128 --steps 6 --save-every 2 --seed 3 --dropout 0.1 --lr 1e-3 --resume < small.ndjson > part2.out
expect_eq "--resume goes on from step 3" "3 4 5 6" "$(jq -r 'select(.step) | .step' part2.out | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the resumed run's losses are the uninterrupted run's" "$(jq -c 'select(.step > 2) | .loss' full.out)" \
    "$(jq -c 'select(.step) | .loss' part2.out)"
check "the resumed adapter is byte for byte the uninterrupted one" cmp -s full.gguf part.gguf
F -m "$ST" -o part.gguf --ctx 128 --steps 6 --save-every 2 --seed 4 --dropout 0.1 --lr 1e-3 --resume < small.ndjson > /dev/null
rc=$?
expect_eq "a checkpoint of other settings is refused (exit 3)" 3 $rc
check "...saying so" grep -q "belongs to another run" err.txt

# ---- what is learnt ----
echo '{"prompt":"Q: What is lode? A:","completion":" A toolkit in C."}' > pc.ndjson
F -m "$ST" -o pc.gguf --steps 1 < pc.ndjson > pc.out
n=$(jq -n --argjson a "$(echo '{"text":"Q: What is lode? A: A toolkit in C."}' | G -m "$ST" --tokenize | jq '.ids | length')" \
    --argjson b "$(echo '{"text":"Q: What is lode? A:"}' | G -m "$ST" --tokenize | jq '.ids | length')" '$a - $b + 1')
expect_eq "prompt/completion: the completion's tokens and EOS are learnt" "$n" "$(jq 'select(.step) | .targets' pc.out)"
echo '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is lode?"},{"role":"assistant","content":"A toolkit in C."}]}' > chat.ndjson
F -m "$QW" -o chat.gguf --steps 1 < chat.ndjson > chat.out
expect_eq "messages (ChatML): the assistant's tokens and <|im_end|> are learnt" \
    "$(echo '{"text":"A toolkit in C."}' | G -m "$QW" --tokenize | jq '.ids | length + 1')" "$(jq 'select(.step) | .targets' chat.out)"
F -m "$ST" -o split.gguf --steps 2 --eval-split 0.25 < small.ndjson > split.out
check "--eval-split: evaluation at step 0 and at the end" jqe -s '(.[0].step == 0 and (.[0].eval_loss > 0)) and (.[-1].eval_loss > 0)' split.out

# ---- merge ----
F -m "$ST" --lora st.gguf --merge merged.gguf < /dev/null
G -m merged.gguf --score < held.ndjson > merged.score
expect_le "the merged model scores as the base with --lora (1e-4)" 1e-4 \
    "$(jq -n --argjson a "$(mean_nll merged.score)" --argjson b "$tuned" '($a - $b) | fabs')"
F -m "$ST" -o m2.gguf --steps 2 --merge m2-merged.gguf < one.ndjson > m2.out
check "-o with --merge trains, then merges" jqe 'select(.done) | .merged == "m2-merged.gguf"' m2.out
check "...a model lode-generate loads" sh -c "lode-generate -m m2-merged.gguf --score < one.ndjson > /dev/null 2>&1"

# ---- bad input ----
{ echo '{"text":"Zibbo went home."}'; echo 'not json'; echo '{"prompt":"only a prompt"}'; echo '{"messages":[{"role":"user","content":"hi"}]}'; echo '{"foo":1}'; } > bad.ndjson
F -m "$ST" -o bad.gguf --steps 1 --errors errors.ndjson < bad.ndjson > bad.out
rc=$?
expect_eq "bad records fail alone: exit 1, the good one trained" "1 1" "$rc $(jq -s 'map(select(.done)) | length' bad.out)"
expect_eq "...one error record per bad record" 4 "$(wc -l < errors.ndjson)"
check "...saying what is wrong" has errors.ndjson "no assistant turn"
tail -n +2 bad.ndjson | F -m "$ST" -o none.gguf > none.out
rc=$?
expect_eq "every record failing: exit 1 before training, no adapter" "1 0 0" "$rc $(wc -l < none.out) $(test -e none.gguf && echo 1 || echo 0)"
check "...saying so" grep -q "no usable training records" err.txt
python3 -c 'print("{\"prompt\":\"" + "word " * 400 + "\",\"completion\":\" x\"}")' > long.ndjson
F -m "$ST" -o long.gguf --ctx 64 < long.ndjson > /dev/null
check "a prompt longer than --ctx fails with the reason" grep -q "more than --ctx 64" err.txt
python3 "$LODE_ROOT/tests/e2e/stories.py" 1 9 | jq -c '{text: (.text * 3)}' > longtext.ndjson
F -m "$ST" -o lt.gguf --ctx 64 --steps 1 --batch 20 < longtext.ndjson > lt.out
check "a text longer than --ctx is cut into windows, every token still learnt once" \
    jqe --argjson n "$(G -m "$ST" --tokenize < longtext.ndjson | jq '.ids | length')" -s '.[0] | .targets / .epoch == $n - 1' lt.out

# ---- adapters that do not fit ----
F -m "$LT" -o lt-gate.gguf --steps 1 --targets gate < one.ndjson > /dev/null
lode-generate -m "$ST" --lora lt-gate.gguf --score < one.ndjson > /dev/null 2> err.txt
rc=$?
expect_eq "an adapter of other shapes is refused (exit 3)" 3 $rc
check "...saying which tensor does not fit" grep -q "blk.0.ffn_gate.weight.lora_b is 8x128, which does not fit" err.txt
lode-generate -m "$QW" --lora st.gguf --score < one.ndjson > /dev/null 2> err.txt
rc=$?
expect_eq "an adapter for another architecture is refused (exit 3)" 3 $rc
check "...saying so" grep -q 'adapter for "llama" models, the model is "qwen2"' err.txt
lode-generate -m "$ST" --lora "$ST" --score < one.ndjson > /dev/null 2> err.txt
check "a model given as an adapter is refused" grep -q "is not a LoRA adapter" err.txt
lode-finetune -m "$ST" -o x.gguf --rank 0 < one.ndjson > /dev/null 2>&1
expect_eq "--rank 0 is a usage error" 2 $?
lode-finetune -m "$ST" -o x.gguf --targets q,x < one.ndjson > /dev/null 2>&1
expect_eq "an unknown target is a usage error" 2 $?
lode-finetune -m "$ST" -o x.gguf --steps 3 --progress < one.ndjson > /dev/null 2> err.txt
check "--progress shows steps on stderr" grep -q "3/3 steps" err.txt

# ---- the pipeline: mine a store, train, compare ----
lode-extract "$ROOT/examples" 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s kb 2> /dev/null
LODE_BIN="$BIN" EPOCHS=2 JOBS=1 bash "$ROOT/pipelines/finetune-qa.sh" kb "$ST" qa 2> qa.err
rc=$?
expect_eq "pipelines/finetune-qa.sh runs end to end" 0 $rc
check "...mining definitions with their citations from the store" jqe -s 'length >= 5 and all(.a | test("\\[.*examples/.*, p\\. [0-9]+\\]$"))' qa/pairs.ndjson
check "...training with evaluation on the held-out pairs" jqe -s '.[0].step == 0 and .[-1].done and (.[-1].eval_loss < .[0].eval_loss)' qa/progress.ndjson
check "...and answering the held-out questions with and without the adapter" \
    jqe -s --argjson n "$(wc -l < qa/held.ndjson)" 'length == $n and all(.base | type == "string") and all(.tuned | type == "string")' qa/compare.ndjson
