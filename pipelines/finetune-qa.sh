#!/usr/bin/env bash
# Mine question-answer pairs from an indexed store, train a LoRA adapter on
# them, and compare the model's answers with and without it.
#
#   pipelines/finetune-qa.sh STORE MODEL OUTDIR
#
# Pairs come from the store's own text (lode-index --dump): every sentence
# that defines something, "X is Y." or "X are Y." with a subject of at most
# four words (not a pronoun), becomes the question "What is X?" and the answer "X is Y."
# followed by its citation [source, p. N]. The pairs are chat records, so
# the adapter learns the answer turns only (lode-finetune(1)). A tenth is
# held out; for those questions the answers of lode-query | lode-generate
# with and without the adapter are written side by side.
#
# Knobs (environment): LODE_BIN (where the programs are; default: beside
# pipelines/, else on PATH),
# EPOCHS (3), RANK (8), LR (2e-4), TARGETS (q,k,v,o), CTX (512), JOBS,
# MAX_TOKENS (96). Writes OUTDIR/pairs.ndjson, train.ndjson, held.ndjson,
# progress.ndjson (one record per training step), adapter.gguf and
# compare.ndjson ({q, expected, base, tuned}).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 STORE MODEL OUTDIR" >&2; exit 2; }
STORE=$1 MODEL=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pipelines/find.sh
. "$HERE/find.sh"
lode_find "$HERE" lode-index lode-finetune lode-query lode-generate
P=$LODE_BIN/
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"

# 1. mine: sentences that define something
"${P}lode-index" -s "$STORE" --dump | jq -c '
    . as $c
    | [.text | gsub("\\s+"; " ") | splits("(?<=[.!?]) (?=[A-Z])")][]
    | capture("^(?:The |A |An )?(?<x>[A-Za-z][A-Za-z0-9-]*(?: [A-Za-z0-9-]+){0,3}) (?<v>is|are) (?<y>[^.!?]{12,200})\\.$")?
    | select(.x | test("^(There|It|This|That|These|Those|Here|What|Which|Who|He|She|They|We|You)( |$)") | not)
    | {q: "What \(.v) \(.x)?",
       a: "\(.x) \(.v) \(.y). [\($c.source), p. \($c.page // 1)]"}' |
    awk '!seen[$0]++' > "$OUT/pairs.ndjson"
n=$(wc -l < "$OUT/pairs.ndjson")
[ "$n" -ge 2 ] || { echo "$0: only $n question-answer pairs in $STORE" >&2; exit 1; }

# 2. split (every tenth pair held out) and train on chat records
jq -c '{messages: [{role: "system", content: "Answer from the knowledge base, citing the source."},
                   {role: "user", content: .q}, {role: "assistant", content: .a}]}' "$OUT/pairs.ndjson" |
    awk -v t="$OUT/train.ndjson" -v h="$OUT/held.ndjson" 'NR % 10 == 0 { print > h; next } { print > t }'
[ -s "$OUT/held.ndjson" ] || tail -1 "$OUT/train.ndjson" > "$OUT/held.ndjson"
"${P}lode-finetune" -m "$MODEL" -o "$OUT/adapter.gguf" --epochs "${EPOCHS:-3}" --rank "${RANK:-8}" \
    --lr "${LR:-2e-4}" --targets "${TARGETS:-q,k,v,o}" --ctx "${CTX:-512}" -j "$JOBS" \
    --eval "$OUT/held.ndjson" < "$OUT/train.ndjson" > "$OUT/progress.ndjson"

# 3. compare on the held-out questions: retrieval, then the model with and without the adapter
jq -c '{q: .messages[1].content, expected: .messages[2].content}' "$OUT/held.ndjson" > "$OUT/questions.ndjson"
ask() {
    "${P}lode-query" -s "$STORE" -k 3 --mode bm25 < "$OUT/questions.ndjson" |
        "${P}lode-generate" -m "$MODEL" --temperature 0 --max-tokens "${MAX_TOKENS:-96}" -j "$JOBS" "$@" |
        jq -c '{q, expected, answer}'
}
ask > "$OUT/base.ndjson"
ask --lora "$OUT/adapter.gguf" > "$OUT/tuned.ndjson"
jq -n -c --slurpfile b "$OUT/base.ndjson" --slurpfile t "$OUT/tuned.ndjson" \
    '[$b, $t] | transpose[] | {q: .[0].q, expected: .[0].expected, base: .[0].answer, tuned: .[1].answer}' \
    > "$OUT/compare.ndjson"
echo "$0: $n pairs, $(wc -l < "$OUT/compare.ndjson") held-out questions compared in $OUT/compare.ndjson;" \
    "evaluation loss $(jq -s -r '"\(.[0].eval_loss) -> \(.[-1].eval_loss)"' "$OUT/progress.ndjson")" >&2
