#!/usr/bin/env bash
# lode-generate against ../shared/ref: the stories260K logits and greedy
# texts of a float64 PyTorch forward pass, the tiny llama (F32, Q8_0, Q4_0)
# and qwen2 models' logits, argmax and greedy continuations, and the
# tokenizers' ids from llama.cpp's SentencePiece and tokenizers.js's BPE.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
M=$SHARED/models
R=$SHARED/ref
ST=$M/stories260K/stories260K.gguf
QT=$M/qwen2.5-0.5b-instruct-tokenizer
G() { lode-generate "$@" 2> /dev/null; }

# ---- tokenizers ----
expect_eq "SentencePiece: the ids of tokenize.ndjson, BOS first" "$(jq -c .ids "$R/stories260K/tokenize.ndjson" | md5sum)" \
    "$(jq -c '{text}' "$R/stories260K/tokenize.ndjson" | G -m "$ST" --tokenize | jq -c .ids | md5sum)"
expect_eq "byte-level BPE (tokenizer.json): the ids of bpe.ndjson, 25 texts" "$(jq -c .ids "$R/qwen2.5-tokenizer/bpe.ndjson" | md5sum)" \
    "$(jq -c '{text}' "$R/qwen2.5-tokenizer/bpe.ndjson" | G -m "$QT" --tokenize --special | jq -c .ids | md5sum)"
expect_eq "...and its tokens" "$(jq -c .tokens "$R/qwen2.5-tokenizer/bpe.ndjson" | md5sum)" \
    "$(jq -c '{text}' "$R/qwen2.5-tokenizer/bpe.ndjson" | G -m "$QT" --tokenize --special | jq -c .tokens | md5sum)"
expect_eq "byte-level BPE (from the GGUF of qwen2-tiny): the same ids" "$(jq -c .ids "$R/qwen2.5-tokenizer/bpe.ndjson" | md5sum)" \
    "$(jq -c '{text}' "$R/qwen2.5-tokenizer/bpe.ndjson" | G -m "$M/tiny-gguf/qwen2-tiny-f16.gguf" --tokenize --special | jq -c .ids | md5sum)"
expect_eq "without --special, <|im_start|> in a text is plain text" "[27,91,318,4906,91,29]" \
    "$(echo '{"text":"<|im_start|>"}' | G -m "$QT" --tokenize | jq -c .ids)"
expect_eq "a plain line is tokenized too" "[1,346,306,414,263,304,341]" "$(echo 'Hello world' | G -m "$ST" --tokenize | jq -c .ids)"

# ---- stories260K: logits of the reference sequence ----
jq -c '{ids}' "$R/stories260K/logits.json" > seq.ndjson
for b in 512 1; do
    G -m "$ST" --score --logits --batch $b < seq.ndjson > score-$b.json
    expect_le "stories260K --batch $b: mean NLL within 1e-4 of the reference" 0.0001 \
        "$(jq -n --slurpfile a score-$b.json --slurpfile r "$R/stories260K/logits.json" '($a[0].nll - $r[0].mean_nll) | fabs')"
    read -r diff same < <("$BUILD/tools/logitcmp" "$R/stories260K/logits.f32" 512 score-$b.json)
    expect_le "stories260K --batch $b: last logits within 1e-3" 0.001 "$diff"
    expect_eq "stories260K --batch $b: the same argmax at all 62 positions" 1 "$same"
done
check "--score writes tokens, nll and ppl" jqe '.tokens == 62 and (.ppl - (.nll | exp) | fabs) < 1e-9' score-512.json

# ---- stories260K: greedy decoding gives the reference text exactly ----
jq -c '{prompt}' "$R/stories260K/greedy.ndjson" | G -m "$ST" --temperature 0 --max-tokens 64 --ignore-eos > greedy.ndjson
expect_eq "greedy decoding of the three prompts: the reference texts" "$(jq -c .text "$R/stories260K/greedy.ndjson" | md5sum)" \
    "$(jq -c .answer greedy.ndjson | md5sum)"
jq -c '{ids: .prompt_ids}' "$R/stories260K/greedy.ndjson" | G -m "$ST" --temperature 0 --max-tokens 64 --ignore-eos > greedy-ids.ndjson
expect_eq "...and the reference ids, from prompt ids" "$(jq -c .greedy_ids "$R/stories260K/greedy.ndjson" | md5sum)" \
    "$(jq -c .answer_ids greedy-ids.ndjson | md5sum)"
check "usage: prompt and completion tokens, timed apart" \
    jqe -s 'all(.[]; .usage.prompt_tokens == 5 or .usage.prompt_tokens == 7 or .usage.prompt_tokens > 0) and all(.[]; .usage.completion_tokens == 64 and .usage.prompt_seconds >= 0 and .usage.completion_seconds > 0 and .finish == "length")' greedy.ndjson

# ---- the tiny llama (F32, Q8_0, Q4_0) and qwen2 references ----
for v in f32 q8_0 q4_0; do
    jq -c --arg v $v '.[$v] | {ids}' "$R/tiny-gguf/llama-tiny.expected.json" > in.ndjson
    for b in 512 1; do
        G -m "$M/tiny-gguf/llama-tiny-$v.gguf" --score --logits --batch $b < in.ndjson > out.json
        d=$(jq -n --slurpfile a out.json --slurpfile r "$R/tiny-gguf/llama-tiny.expected.json" --arg v $v \
            '[$a[0].logits, $r[0][$v].last_logits] | transpose | map(.[0] - .[1] | fabs) | max')
        # Q8_0/Q4_0 rows are multiplied with 8-bit activations, as llama.cpp
        # does (the reference is the exact model)
        lim=0.001
        [ $v != f32 ] && lim=0.25
        expect_le "llama-tiny $v --batch $b: last logits within $lim of the reference" $lim "$d"
        expect_eq "llama-tiny $v --batch $b: the argmax at every position" true \
            "$(jq -n --slurpfile a out.json --slurpfile r "$R/tiny-gguf/llama-tiny.expected.json" --arg v $v '$a[0].argmax == $r[0][$v].all_argmax')"
    done
    jq -c --arg v $v '.[$v] | {ids: .greedy_prompt}' "$R/tiny-gguf/llama-tiny.expected.json" |
        G -m "$M/tiny-gguf/llama-tiny-$v.gguf" --temperature 0 --max-tokens 16 --ignore-eos > g.json
    expect_eq "llama-tiny $v: the greedy continuation" "$(jq -c --arg v $v '.[$v].greedy_ids[:16]' "$R/tiny-gguf/llama-tiny.expected.json")" \
        "$(jq -c .answer_ids g.json)"
done
jq -c '{text, special: true}' "$R/tiny-gguf/qwen2-tiny.expected.json" > qin.ndjson
G -m "$M/tiny-gguf/qwen2-tiny-f16.gguf" --special --score --logits < qin.ndjson > q.json
expect_eq "qwen2-tiny: the ChatML text's ids (--special)" "$(jq -c .ids "$R/tiny-gguf/qwen2-tiny.expected.json")" \
    "$(G -m "$M/tiny-gguf/qwen2-tiny-f16.gguf" --special --tokenize < qin.ndjson | jq -c .ids)"
expect_le "qwen2-tiny (q/k/v biases, NEOX RoPE, F16): the first 2,000 last logits within 1e-3" 0.001 \
    "$(jq -n --slurpfile a q.json --slurpfile r "$R/tiny-gguf/qwen2-tiny.expected.json" '[$a[0].logits[:2000], $r[0].last_logits] | transpose | map(.[0] - .[1] | fabs) | max')"
expect_eq "qwen2-tiny: the argmax at every position" true \
    "$(jq -n --slurpfile a q.json --slurpfile r "$R/tiny-gguf/qwen2-tiny.expected.json" '$a[0].argmax == $r[0].all_argmax')"
jq -c '{ids}' "$R/tiny-gguf/qwen2-tiny.expected.json" | G -m "$M/tiny-gguf/qwen2-tiny-f16.gguf" --temperature 0 --max-tokens 16 --ignore-eos > qg.json
expect_eq "qwen2-tiny: the greedy continuation" "$(jq -c '.greedy_ids[:16]' "$R/tiny-gguf/qwen2-tiny.expected.json")" "$(jq -c .answer_ids qg.json)"

# ---- quantised copies written here: exact layouts, small losses ----
for t in q8_0 q4_0; do
    "$BUILD/tools/quantize" "$M/tiny-gguf/llama-tiny-f32.gguf" lt-$t.gguf $t > /dev/null
    expect_eq "our $t copy of llama-tiny-f32 is byte for byte the reference $t file's tensors" 1 \
        "$("$BUILD/tools/gguf_same" lt-$t.gguf "$M/tiny-gguf/llama-tiny-$t.gguf")"
done
base=$(jq .mean_nll "$R/stories260K/logits.json")
for t in f16:0.001 bf16:0.005 q8_0:0.01 q4_0:0.2; do
    "$BUILD/tools/quantize" "$ST" st.gguf ${t%%:*} > quant.log
    nll=$(G -m st.gguf --score < seq.ndjson | jq .nll)
    rise=$(awk -v a="$nll" -v b="$base" 'BEGIN { printf "%.4f", exp(a) / exp(b) - 1 }')
    expect_le "stories260K as ${t%%:*}: perplexity rises by at most ${t##*:}" "${t##*:}" "$rise"
done
"$BUILD/tools/mkgguf" r256.gguf 256 2 4 2 512 1000 7
echo '{"text":"a text of some length for the random model to score, with several words in it"}' > t.json
ref=$(G -m r256.gguf --score < t.json | jq .nll)
for t in q4_k:0.08:0.03 q5_k:0.04:0.015 q6_k:0.02:0.005; do
    IFS=: read -r ty err nl <<< "$t"
    "$BUILD/tools/quantize" r256.gguf rk.gguf "$ty" > quant.log
    expect_le "$ty blocks decode to within ${err} relative RMS of the weights" "$err" "$(jq -s 'map(.rel_rms_error) | max' quant.log)"
    for b in 512 1; do
        d=$(G -m rk.gguf --score --batch $b < t.json | jq --argjson r "$ref" '.nll - $r | fabs')
        expect_le "a $ty model's NLL (--batch $b) stays within $nl of float32's" "$nl" "$d"
    done
done

# ---- answers ----
lode-extract "$ROOT/examples" 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s kb 2> /dev/null
echo "which formats can lode read?" | lode-query -s kb -k 4 2> /dev/null > q.ndjson
G -m "$M/tiny-gguf/qwen2-tiny-f16.gguf" --prompt-only --ctx 320 --max-tokens 64 < q.ndjson > p.json
check "the prompt is ChatML, numbers the hits with source and page, ends with the question" \
    jqe '(.prompt | startswith("<|im_start|>system\n")) and (.prompt | contains("[1] ")) and (.prompt | contains(", page 1\n")) and (.prompt | endswith("Question: which formats can lode read?<|im_end|>\n<|im_start|>assistant\n"))' p.json
check "...fits the context less --max-tokens, dropping and cutting hits" jqe '.prompt_tokens <= 256 and .hits_given < 4' p.json
# the last hit given: its text in the prompt is a prefix of the hit's that ends where a sentence does
check "...the hit that did not fit whole ends at a sentence" jqe --slurpfile q q.ndjson \
    '.hits_given as $n | (.prompt | split("\n[\($n)] ")[1] | split("\n\nQuestion:")[0] | split("\n") | .[1:] | join("\n")) as $cut
     | ($q[0].hits[$n - 1].text) as $full | .hit_cut and ($full | startswith($cut)) and ($full[($cut | length):] | test("^\\s"))' p.json
G -m "$M/tiny-gguf/qwen2-tiny-f16.gguf" --ctx 512 --max-tokens 8 --temperature 0 < q.ndjson > a.json
check "an answer with usage, model and citations (only numbers that were given)" \
    jqe '(.answer | type == "string") and .usage.prompt_tokens > 0 and .usage.completion_tokens <= 8 and (.model | startswith("qwen2-tiny-f16@")) and (.citations | type == "array")' a.json
check "the query's fields and hits are kept" jqe '.q == "which formats can lode read?" and (.hits | length) == 4' a.json
G < q.ndjson > ex.json
check "no model: an extractive answer, sentences each followed by [n]" \
    jqe '.mode == "extractive" and (.answer | test("\\[[1-4]\\]$")) and (.citations | length) >= 1' ex.json
check "...its citations name hits that were given" \
    jqe '. as $r | all(.citations[]; . as $c | $r.hits[$c.n - 1].id == $c.id and $r.hits[$c.n - 1].source == $c.source)' ex.json
# no hits, or hits without a sentence: an empty answer (UBSan once aborted here)
printf '%s\n' '{"q":"what is x","hits":[]}' '{"q":"what is x","hits":[{"text":"","source":"a"}]}' | G > empty.json 2> empty.err
expect_eq "no hits or no sentences: two empty extractive answers, exit 0" "0 2" \
    "$? $(jq -s '[.[] | select(.answer == "" and .citations == [] and .mode == "extractive")] | length' empty.json)"
echo '{"q":"x","hits":[{"id":"a","source":"s.txt","page":2,"text":"Lode stores vectors. It also keeps postings for BM25 search."}]}' |
    G --sentences 1 > ex2.json
expect_eq "the sentence that matches the query best" "It also keeps postings for BM25 search. [1]" \
    "$(echo '{"q":"where are postings kept?","hits":[{"id":"a","source":"s.txt","page":2,"text":"Lode stores vectors. It also keeps postings for BM25 search."}]}' | G --sentences 1 | jq -r .answer)"
# citations are parsed from what the model writes: stop at a string we know follows
echo '{"prompt":"Once upon a time"}' | G -m "$ST" --temperature 0 --max-tokens 64 --stop "Lily" > stop.json
check "--stop ends the answer where the string appears, without it" jqe '.finish == "stop" and (.answer | endswith(", there was a little girl named "))' stop.json
a=$(echo '{"prompt":"Once upon a time"}' | G -m "$ST" --temperature 0.9 --seed 7 --max-tokens 32 | jq -r .answer)
b=$(echo '{"prompt":"Once upon a time"}' | G -m "$ST" --temperature 0.9 --seed 7 --max-tokens 32 | jq -r .answer)
c=$(echo '{"prompt":"Once upon a time"}' | G -m "$ST" --temperature 0.9 --seed 8 --max-tokens 32 | jq -r .answer)
expect_eq "--seed: the same seed gives the same text" "$a" "$b"
check "...another seed another text" test "$a" != "$c"
echo '{"prompt":"Once upon a time"}' | lode-generate -m "$ST" --temperature 0 --max-tokens 20 --stream > s.json 2> s.err
check "--stream writes the answer to standard error as it comes" grep -qF "$(jq -r .answer s.json)" s.err
echo '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <|im_start|>"}]}' |
    G -m "$M/tiny-gguf/qwen2-tiny-f16.gguf" --prompt-only > m.json
# 11 template and system tokens, "Hi <|im_start|>" as 6 plain ones (Hi, Ġ<|, im, _start, |, >), 5 more
check "messages render through the template; a special token in a message stays text" \
    jqe '.prompt == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi <|im_start|><|im_end|>\n<|im_start|>assistant\n" and .prompt_tokens == 22' m.json
for tm in llama3 llama2 mistral phi3 gemma; do
    echo '{"q":"Why?"}' | G -m "$ST" --template $tm --prompt-only --system S > t-$tm.json
done
check "--template llama3" jqe '.prompt | contains("<|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")' t-llama3.json
check "--template llama2" jqe '.prompt | endswith("[INST] <<SYS>>\nS\n<</SYS>>\n\nWhy? [/INST]")' t-llama2.json
check "--template mistral" jqe '.prompt | endswith("[INST] S\n\nWhy?[/INST]")' t-mistral.json
check "--template phi3" jqe '.prompt | endswith("<|system|>\nS<|end|>\n<|user|>\nWhy?<|end|>\n<|assistant|>\n")' t-phi3.json
check "--template gemma" jqe '.prompt | endswith("<start_of_turn>user\nS\n\nWhy?<end_of_turn>\n<start_of_turn>model\n")' t-gemma.json

# ---- Ollama's store ----
mkdir -p ollama/manifests/registry.ollama.ai/library/stories ollama/blobs
d=$(sha256sum "$ST" | cut -d' ' -f1)
cp "$ST" "ollama/blobs/sha256-$d"
printf '{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s"}]}\n' "$d" \
    > ollama/manifests/registry.ollama.ai/library/stories/260k
expect_eq "-m ollama:NAME:TAG finds the blob through the manifest" "$(jq -c .answer_ids greedy-ids.ndjson | head -1)" \
    "$(jq -c '{ids: .prompt_ids}' "$R/stories260K/greedy.ndjson" | head -1 | OLLAMA_MODELS=$PWD/ollama G -m ollama:stories:260k --temperature 0 --max-tokens 64 --ignore-eos | jq -c .answer_ids)"
echo x | OLLAMA_MODELS=$PWD/ollama lode-generate -m ollama:nothing 2> ol.err > /dev/null
expect_eq "an Ollama model that is not pulled: exit 3" 3 $?
check "...saying where it looked" grep -q 'no manifest at .*library/nothing/latest' ol.err
echo x | OLLAMA_MODELS=$PWD/ollama lode-generate -m 'ollama:../../etc' 2> ol2.err > /dev/null
expect_eq "an Ollama name with a path in it is refused" 3 $?

# ---- models and prompts that do not fit, said plainly ----
echo '{"q":"x"}' | lode-generate -m "$M/tiny-bert-f32" > /dev/null 2> bert.err
expect_eq "a BERT folder given to lode-generate: exit 3" 3 $?
check "...named an encoder's WordPiece tokenizer, with where encoders go" \
    has bert.err "tokenizer.json is a WordPiece tokenizer, an encoder's (BERT, XLM-R)"
echo '{"q":"once upon a time there was a girl who loved the sea","hits":[{"id":"a","source":"a.md","text":"The sea is blue."}]}' |
    lode-generate -m "$ST" --ctx 64 --max-tokens 40 > /dev/null 2> fit.err
expect_eq "a question that cannot fit the context: fails alone (exit 1)" 1 $?
check "...with the token counts: what is left, --ctx, --max-tokens" \
    has fit.err "0 tokens are left for the prompt of the context of 64 (--ctx) less --max-tokens 40"

# ---- bad input ----
{
    echo '{"ids":[1,999999]}'
    echo '{"ids":"x"}'
    echo '{"nothing":1}'
    echo '{"messages":[{"role":"wizard","content":"x"}]}'
    echo '{"prompt":"Once"}'
} > bad.ndjson
lode-generate -m "$ST" --max-tokens 4 --errors bad.err < bad.ndjson > bad.out 2> /dev/null
expect_eq "bad records: exit 1, the good one answered" "1 1" "$? $(wc -l < bad.out)"
expect_eq "bad records: an error record each" 4 "$(wc -l < bad.err)"
check "...a token id out of range" grep -q 'not a token id of the model' bad.err
long=$(for _ in $(seq 1 3000); do printf 'word '; done)
echo "{\"prompt\":\"$long\"}" | lode-generate -m "$ST" --ctx 256 --errors long.err > /dev/null 2>&1
expect_eq "a prompt longer than the context: exit 1" 1 $?
check "...saying so" grep -q 'does not fit the context of 256' long.err
head -c 100000 "$ST" > cut.gguf
echo x | lode-generate -m cut.gguf 2> cut.err > /dev/null
expect_eq "a truncated model file: exit 3" 3 $?
check "...with the reason" grep -qi 'truncated\|past its end\|outside the file' cut.err
echo x | lode-generate -m "$M/tiny-bert-f32" 2> bert.err > /dev/null
expect_eq "a directory that is not a byte-level BPE model: exit 3" 3 $?
echo '{"prompt":"x"}' | lode-generate -m "$QT" 2> tokonly.err > /dev/null
expect_eq "a tokenizer without weights cannot generate: exit 3" 3 $?
echo '{"prompt":"x"}' | lode-generate -m "$ST" --temperature -1 2> /dev/null
expect_eq "a negative temperature: usage error" 2 $?
# --max-tokens not given: a quarter of a small context (qwen2-tiny's 512),
# so a question with its hits still fits
echo '{"q":"How do I rotate the logs?","hits":[{"id":"a","source":"guide.md","page":1,"text":"logrotate rotates the logs daily."}]}' |
    lode-generate -m "$M/tiny-gguf/qwen2-tiny-f16.gguf" --ignore-eos > small-ctx.ndjson 2> /dev/null
expect_eq "a 512-token context: answered, 128 tokens at most by default" "0 128" "$? $(jq .usage.completion_tokens small-ctx.ndjson)"
