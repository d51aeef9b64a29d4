#!/usr/bin/env bash
# lode-embed against ../shared/ref/tiny-bert: vectors computed in float64 by
# an independent PyTorch implementation, and token ids from Hugging Face
# tokenizers.js.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
M=$SHARED/models
R=$SHARED/ref/tiny-bert
cmp_emb() { "$BUILD/tools/embcmp" "$@"; }

for v in f32 f16; do
    jq -c '{text}' "$R/tiny-bert-$v.expected.ndjson" > "texts-$v.ndjson"
    lode-embed -m "$M/tiny-bert-$v" < "texts-$v.ndjson" > "emb-$v.ndjson" 2> "emb-$v.err"
    expect_eq "tiny-bert-$v: exit status 0" 0 $?
    read -r _ n _ cos _ err _ agree < <(cmp_emb "$R/tiny-bert-$v.expected.ndjson" "emb-$v.ndjson")
    expect_eq "tiny-bert-$v: a vector for each of the 20 reference texts" 20 "$n"
    expect_ge "tiny-bert-$v: minimum cosine to the reference" 0.99999 "$cos"
    expect_le "tiny-bert-$v: maximum absolute error to the reference" 0.0001 "$err"
    expect_eq "tiny-bert-$v: truncated agrees with the reference" 1 "$agree"
    expect_eq "tiny-bert-$v: ids after truncation are the reference's" \
        "$(jq -c .ids "$R/tiny-bert-$v.expected.ndjson" | md5sum)" \
        "$(lode-embed -m "$M/tiny-bert-$v" --tokenize < "texts-$v.ndjson" 2> /dev/null | jq -c .ids | md5sum)"
done
# the elementwise kernels' other paths (lib/base/cpu.h) against the reference
for level in avx2 portable; do
    LODE_CPU=$level lode-embed -m "$M/tiny-bert-f32" < texts-f32.ndjson > "emb-$level.ndjson" 2> /dev/null
    read -r _ _ _ cos _ err _ < <(cmp_emb "$R/tiny-bert-f32.expected.ndjson" "emb-$level.ndjson")
    expect_le "LODE_CPU=$level: maximum absolute error to the reference" 0.0001 "$err"
done
# --quantize int8: the layers' matrices as 8-bit rows, on every kernel path
for level in avx512 avx2 portable; do
    LODE_CPU=$level lode-embed -m "$M/tiny-bert-f32" --quantize int8 < texts-f32.ndjson > "int8-$level.ndjson" 2> /dev/null
    read -r _ n _ cos _ < <(cmp_emb "$R/tiny-bert-f32.expected.ndjson" "int8-$level.ndjson")
    expect_ge "--quantize int8 (LODE_CPU=$level): cosine to the float64 reference at least 0.999 ($n texts)" 0.999 "$cos"
done
lode-embed -m "$M/tiny-bert-f32" --quantize int4 < /dev/null > /dev/null 2>&1
expect_eq "--quantize int4: a usage error" 2 $?
expect_eq "records carry dim 128, model name@hash and truncated" "true" \
    "$(jq -s 'all(.[]; .dim == 128 and (.model | test("^tiny-bert-f32@[0-9a-f]{12}$")) and .truncated == false)' emb-f32.ndjson)"
check "the model id tells the F16 weights from the F32 ones" \
    test "$(jq -r .model emb-f32.ndjson | head -1)" != "$(jq -r .model emb-f16.ndjson | head -1)"

# --tokenize reproduces tokenizers.js exactly: ids and pieces, specials included
lode-embed -m "$M/tiny-bert-f32" --tokenize < "$R/wordpiece.ndjson" > tok.ndjson 2> /dev/null
expect_eq "--tokenize: identical ids and tokens for the 20 texts of wordpiece.ndjson" \
    "$(jq -c '[.ids, .tokens]' "$R/wordpiece.ndjson" | md5sum)" "$(jq -c '[.ids, .tokens]' tok.ndjson | md5sum)"

# A text alone and in a batch of mixed lengths gives the same vector, to
# float32 rounding: a float comparison, because BLAS kernels may sum a row's
# products in another order when the matrix has other rows around it
# (OpenBLAS's Haswell/Zen kernels do; SkylakeX's happen not to), measured
# up to 2e-7; 1e-6 is far below what a wrong vector gives.
# Each text alone in one run (--batch 1), and three of them in runs of
# their own, where the one batch gets BLAS's threads instead of lode's.
lode-embed -m "$M/tiny-bert-f32" --json-vec --batch 1 -j 1 < texts-f32.ndjson > alone.ndjson 2> /dev/null
for i in 1 10 20; do sed -n "${i}p" texts-f32.ndjson | lode-embed -m "$M/tiny-bert-f32" --json-vec 2> /dev/null; done > solo.ndjson
lode-embed -m "$M/tiny-bert-f32" --json-vec --batch 32 -j 1 < texts-f32.ndjson > batch.ndjson 2> /dev/null
read -r _ _ _ _ _ diff _ < <(cmp_emb alone.ndjson batch.ndjson)
expect_le "alone and in one batch of 20 mixed lengths: maximum difference" 0.000001 "$diff"
read -r _ _ _ _ _ diff _ < <(cmp_emb solo.ndjson <(sed -n '1p;10p;20p' batch.ndjson))
expect_le "...and a text alone in its own run, on BLAS's threads" 0.000001 "$diff"
lode-embed -m "$M/tiny-bert-f32" --json-vec --batch 3 -j 2 < texts-f32.ndjson > j2.ndjson 2> /dev/null
read -r _ _ _ _ _ diff _ < <(cmp_emb alone.ndjson j2.ndjson)
expect_le "batches of 3 on two threads: same vectors, same order" 0.000001 "$diff"
# lode's own product on AVX-512 CPUs (lib/model/sgemm.h) sums each output in
# one order whatever the rows around it or the threads sharing them: there
# the vectors are the same to the bit alone, in one batch and with one
# batch at a time on a team of two threads.
if grep -q avx512vl /proc/cpuinfo && grep -q avx512_vnni /proc/cpuinfo && [ -z "${LODE_CPU:-}" ]; then
    lode-embed -m "$M/tiny-bert-f32" --json-vec --batch 1 --window 1 -j 2 < texts-f32.ndjson > team.ndjson 2> /dev/null
    expect_eq "AVX-512: alone, in a batch of 20 and on a team of two: identical vectors" "0 0" \
        "$(cmp_emb alone.ndjson batch.ndjson | awk '{ print $6 }') $(cmp_emb alone.ndjson team.ndjson | awk '{ print $6 }')"
fi
# Exact by construction: the same batches on the same path, written two ways.
lode-embed -m "$M/tiny-bert-f32" --batch 32 -j 1 < texts-f32.ndjson > batch-vec.ndjson 2> /dev/null
check "--json-vec and vec hold the same numbers" bash -c "'$BUILD/tools/embcmp' batch.ndjson batch-vec.ndjson | grep -q 'max_abs_error 0 '"

# Truncation to max_seq_length (256): first 254 pieces, then [SEP]; counted.
long=$(for i in $(seq 1 300); do printf 'word%d ' "$i"; done)
printf '{"id":"long","text":"%s"}\n{"id":"short","text":"short"}\n' "$long" > long.ndjson
lode-embed -m "$M/tiny-bert-f32" < long.ndjson > long.out 2> long.err
expect_eq "a long text is truncated and says so" "true false" "$(jq -r .truncated long.out | tr '\n' ' ' | sed 's/ $//')"
check "the summary counts truncated texts" grep -q '1 truncated to 256 tokens' long.err
expect_ge "--tokenize does not truncate (ids of the long text)" 600 \
    "$(lode-embed -m "$M/tiny-bert-f32" --tokenize < long.ndjson 2> /dev/null | head -1 | jq '.ids | length')"

# --field, --prefix, pass-through fields, bad records
printf '{"id":"a","title":"Paris is the capital of France.","keep":[1,2]}\n{"id":"b"}\nnot json\n' > fields.ndjson
lode-embed -m "$M/tiny-bert-f32" --field title --errors ferr.ndjson < fields.ndjson > fields.out 2> fields.err
expect_eq "records without the field fail alone: exit 1" 1 $?
expect_eq "--field embeds another field; other fields pass through" "a [1,2] 128" \
    "$(jq -r '"\(.id) \(.keep | tojson) \(.dim)"' fields.out)"
check "a record without the field is an error" grep -q '"id":"b".*no \\"title\\" string' ferr.ndjson
check "invalid JSON is an error naming its line" grep -q '"source":"<stdin>:3"' ferr.ndjson
printf '{"text":"query: what is the capital of France?"}\n' | lode-embed -m "$M/tiny-bert-f32" --json-vec > pre1.out 2> /dev/null
printf '{"text":"what is the capital of France?"}\n' | lode-embed -m "$M/tiny-bert-f32" --json-vec --prefix 'query: ' > pre2.out 2> /dev/null
check "--prefix embeds the prefixed text" bash -c "'$BUILD/tools/embcmp' pre1.out pre2.out | grep -q 'max_abs_error 0 '"
printf '{"text":"x"}\n' | lode-embed -m "$M/tiny-bert-f32" --query > /dev/null 2> query.err
check "--query with a model without a query prompt says so" grep -q 'defines no query prompt' query.err
printf '{"text":"x"}\n' | LODE_EMBED_MODEL=$M/tiny-bert-f32 lode-embed > env.out 2> /dev/null
expect_eq "LODE_EMBED_MODEL is the default model" 128 "$(jq .dim env.out)"

# Missing or corrupt models: a clear message and exit 3.
model_fails() { # NAME DIR PATTERN
    printf '{"text":"x"}\n' | lode-embed -m "$2" > /dev/null 2> "$1.err"
    local rc=$?
    if [ $rc = 3 ] && grep -q "$3" "$1.err"; then ok "$1: exit 3, '$3'"; else notok "$1: exit $rc: $(cat "$1.err")"; fi
}
model_fails "a missing model" no-such-model "cannot load the model no-such-model: no-such-model: No such file or directory (an encoder is a folder"
model_fails "a GGUF file (a decoder's) given to lode-embed" "$M/tiny-gguf/llama-tiny-f32.gguf" "is a GGUF file, a decoder's for lode-generate"
head -c 64 /dev/urandom > junk.bin
model_fails "a file that is not a model folder" junk.bin "junk.bin is a file, not a model folder"
mk() { rm -rf "$1" && mkdir -p "$1" && cp -r "$M/tiny-bert-f32/." "$1/" && chmod -R u+w "$1"; }
mk cut && head -c 1000000 "$M/tiny-bert-f32/model.safetensors" > cut/model.safetensors
model_fails "a truncated safetensors file" cut "lies outside the file's data"
mk short && head -c 4 "$M/tiny-bert-f32/model.safetensors" > short/model.safetensors
model_fails "a safetensors file of 4 bytes" short "too short"
mk lie
st=$M/tiny-bert-f32/model.safetensors
n=$(od -An -tu8 -N8 "$st" | tr -d ' ')
# the same header with one tensor's byte range 4 bytes longer than its shape
dd if="$st" bs=1 skip=8 count="$n" status=none |
    jq -c '."embeddings.LayerNorm.bias".data_offsets[1] += 4' > header.json
truncate -s "$n" header.json # pad with NULs... and make them spaces, as the format wants
tr '\0' ' ' < header.json > header.pad
{ head -c 8 "$st"; cat header.pad; tail -c +$((9 + n)) "$st"; } > lie/model.safetensors
model_fails "a header whose sizes lie" lie "its shape needs 512 bytes of F32 but it has 516"
mk shapes && jq '.hidden_size = 64 | .num_attention_heads = 4' "$M/tiny-bert-f32/config.json" > shapes/config.json
model_fails "a config that does not match the weights" shapes "has shape 30522x128, the config says 30522x64"
mk notok && rm notok/tokenizer.json notok/vocab.txt
model_fails "a model without a tokenizer" notok "no tokenizer.json or vocab.txt"
mk badjson && printf '{"hidden_size": ' > badjson/config.json
model_fails "a broken config.json" badjson "config.json"

# Tensor names with a "bert." prefix (as BertModel checkpoints save them)
mk prefixed
st=$M/tiny-bert-f32/model.safetensors
n=$(od -An -tu8 -N8 "$st" | tr -d ' ')
dd if="$st" bs=1 skip=8 count="$n" status=none |
    jq -c 'with_entries(if .key == "__metadata__" then . else .key = "bert." + .key end)' | tr -d '\n' > prefixed.json
hl=$(wc -c < prefixed.json)
{
    for i in 0 1 2 3 4 5 6 7; do printf '%b' "\\$(printf '%03o' $(( (hl >> (8 * i)) & 255 )))"; done
    cat prefixed.json
    tail -c +$((9 + n)) "$st"
} > prefixed/model.safetensors
# exact by construction: the same weights, the same batches as batch.ndjson
lode-embed -m prefixed --json-vec --batch 32 -j 1 < texts-f32.ndjson > prefixed.out 2> /dev/null
check "tensor names with a bert. prefix give the same vectors" \
    bash -c "'$BUILD/tools/embcmp' batch.ndjson prefixed.out | grep -q 'max_abs_error 0 '"

# Pooling and normalisation follow the sentence-transformers modules.
mk cls && printf '{"pooling_mode_cls_token": true}\n' > cls/1_Pooling/config.json
mk nonorm && jq 'map(select(.type | contains("Normalize") | not))' "$M/tiny-bert-f32/modules.json" > nonorm/modules.json
for v in cls nonorm; do
    lode-embed -m "$v" --json-vec < texts-f32.ndjson > "$v.out" 2> /dev/null
done
norms() { jq -r '[.embedding[] | . * .] | add | sqrt * 1000 | round / 1000' "$1" | sort -u | tr '\n' ' '; }
expect_eq "with a Normalize module vectors have length 1" "1 " "$(norms batch.ndjson)"
check "without a Normalize module they are not normalised" test "$(norms nonorm.out)" != "1 "
check "CLS pooling gives other vectors than mean pooling" \
    bash -c "'$BUILD/tools/embcmp' batch.ndjson cls.out | awk '{ exit !(\$4 < 0.99) }'"
lode-embed -m nonorm --json-vec < texts-f32.ndjson 2> /dev/null | jq -c .embedding > mean.raw
mk maxraw && printf '{"pooling_mode_max_tokens": true}\n' > maxraw/1_Pooling/config.json
cp nonorm/modules.json maxraw/
lode-embed -m maxraw --json-vec < texts-f32.ndjson 2> /dev/null | jq -c .embedding > max.raw
expect_eq "max pooling: every component is at least the mean pooling's (both unnormalised)" "true" \
    "$(jq -n --slurpfile a mean.raw --slurpfile b max.raw \
        '[range(0; $a | length) as $i | range(0; 128) as $j | $b[$i][$j] >= $a[$i][$j] - 1e-6] | all')"

# memory bounded by the window, not the text: a 20 MB text is read only as
# far as the model's window (RSS: the record and the first pieces; 1.4 GB
# for 36 MB before tokenisation stopped at the window)
python3 -c "
import json
print(json.dumps({'id': 'huge', 'text': 'Lode reads documents. Caf\u00e9 \u4e2d\u6587 ' * 450000}))" > huge.ndjson
/usr/bin/time -f '%M' -o huge.rss lode-embed -m "$M/tiny-bert-f32" < huge.ndjson > huge.out 2> /dev/null
check "a 20 MB text: embedded, truncated to the window" jqe '.truncated == true and (.vec | length) > 0' huge.out
san || expect_le "...in at most 250 MB resident" 256000 "$(cat huge.rss)"

# XLM-RoBERTa encoders (BGE-M3's CLS pooling, multilingual-e5's mean pooling
# and prompts) against the float64 references: 44 texts (2 past the window)
# and 88 prompted inputs; cosine >= 0.99999 and max abs error <= 1e-4
XR=$SHARED/ref/tiny-xlmr
for m in cls mean; do
    jq -c '{text: .input}' "$XR/tiny-xlmr-$m.expected.ndjson" | lode-embed -m "$M/tiny-xlmr-$m" > "xlmr-$m.out" 2> /dev/null
    read -r _ nrec _ cos _ err _ agree <<< "$("$BUILD/tools/embcmp" "$XR/tiny-xlmr-$m.expected.ndjson" "xlmr-$m.out")"
    expect_eq "xlm-roberta ($m pooling): every reference text embedded, truncation as the reference's" \
        "$(grep -c . "$XR/tiny-xlmr-$m.expected.ndjson") 1" "$nrec $agree"
    expect_ge "...cosine to the float64 reference" 0.99999 "$cos"
    expect_le "...max abs error" 1e-4 "$err"
done
jq -c 'select(.prompt == "query: ") | {text}' "$XR/tiny-xlmr-mean.expected.ndjson" |
    lode-embed -m "$M/tiny-xlmr-mean" --query > xlmr-q.out 2> /dev/null
read -r _ _ _ cos _ _ <<< "$("$BUILD/tools/embcmp" <(jq -c 'select(.prompt == "query: ")' "$XR/tiny-xlmr-mean.expected.ndjson") xlmr-q.out)"
expect_ge "multilingual-e5's --query: the model's \"query: \" prompt put before the text" 0.99999 "$cos"
expect_eq "--tokenize with a Unigram tokenizer: <s> pieces </s>" '[0,531,1805,29,3644,17,241,454,2] ["<s>","▁H","ell","o","▁wo","r","ld","!","</s>"]' \
    "$(echo '{"text":"Hello world!"}' | lode-embed -m "$M/tiny-xlmr-cls" --tokenize 2> /dev/null | jq -c '.ids, .tokens' | tr '\n' ' ' | sed 's/ $//')"
echo '{"text":"x"}' | lode-embed -m "$M/tiny-xlmr-reranker" > /dev/null 2> xrr.err
expect_eq "the XLM-R re-ranker is not an embedding model: exit 3, saying so" "3 1" "$? $(grep -c 'XLMRobertaForSequenceClassification' xrr.err)"
echo '{"text":"x"}' | lode-embed -m "$M/tiny-cross-encoder" > /dev/null 2> brr.err
expect_eq "nor the BERT cross-encoder: exit 3, naming lode-rerank" "3 1" "$? $(grep -c 'cross-encoder (BertForSequenceClassification).*lode-rerank' brr.err)"
