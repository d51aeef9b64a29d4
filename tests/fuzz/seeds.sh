#!/bin/bash
# seeds.sh DEST: the seed corpus of every fuzz target in DEST/NAME, from
# ../shared (documents, models, reference records), the examples, the
# GGUF advisories' shapes (gguf_seeds.py), files lode makes (an adapter, a
# checkpoint, a store) and the hand-written seeds and found crashes in
# tests/fuzz/seeds and tests/fuzz/regressions.
# Needs LODE_SHARED, LODE_BIN and LODE_BUILD (tests/run.sh sets them).
set -eu
dest=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
S=${LODE_SHARED:-$root/../shared}
BIN=${LODE_BIN:-$root/bin}
BUILD=${LODE_BUILD:-$root/build}
M=$S/models D=$S/data/docs
mkdir -p "$dest"
put() { # put TARGET FILE... (files over 2 MB are left out: the fuzzer's time)
    local t=$1
    shift
    mkdir -p "$dest/$t"
    for f in "$@"; do
        [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 2097152 ] && cp "$f" "$dest/$t/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    return 0
}
prefixed() { # prefixed TARGET BYTE FILE: FILE after one selector byte
    mkdir -p "$dest/$1"
    # shellcheck disable=SC2059 # the selector byte, as an octal escape
    [ -f "$3" ] && { printf "\\$(printf %03o "$2")"; cat "$3"; } > "$dest/$1/$2-$(basename "$(dirname "$3")")-$(basename "$3")"
    return 0
}
put gguf "$M"/*/*.gguf
python3 "$here/gguf_seeds.py" "$dest/gguf"
# safetensors: the real files are megabytes; small ones of their shapes
python3 - "$dest/safetensors" "$M/tiny-bert-f32/model.safetensors" << 'PY'
import json, os, struct, sys
out, real = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
def st(name, tensors, meta=None, data=None):
    head, off, blob = {}, 0, b''
    for t, (dtype, shape) in tensors.items():
        n = 1
        for d in shape:
            n *= d
        size = n * {'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8}.get(dtype, 4)
        head[t] = {'dtype': dtype, 'shape': shape, 'data_offsets': [off, off + size]}
        off += size
    if meta:
        head['__metadata__'] = meta
    h = json.dumps(head).encode()
    with open(os.path.join(out, name), 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + (data if data is not None else b'\x01' * off))
st('small.safetensors', {'embeddings.word_embeddings.weight': ('F32', [4, 8]), 'pooler.dense.bias': ('F16', [8])},
   {'format': 'pt'})
st('bf16.safetensors', {'a': ('BF16', [2, 2]), 'b': ('I64', [3])})
st('short-data.safetensors', {'a': ('F32', [64, 64])}, data=b'\0' * 100)
with open(real, 'rb') as f:  # a real header, its data cut
    n = struct.unpack('<Q', f.read(8))[0]
    with open(os.path.join(out, 'real-header.safetensors'), 'wb') as g:
        g.write(struct.pack('<Q', n) + f.read(n) + b'\0' * 4096)
PY
put bert_config "$M"/*/config.json
for tj in "$M"/*/tokenizer.json; do
    [ "$(stat -c %s "$tj")" -le 2097152 ] || continue
    prefixed tokenizer 0 "$tj"
    prefixed tokenizer 1 "$tj"
    if grep -q '"type": *"Unigram"' "$tj"; then prefixed tokenizer 3 "$tj"; fi
done
# Qwen2.5's byte-level BPE (5 MB) with its vocabulary and merges cut short
python3 - "$M/qwen2.5-0.5b-instruct-tokenizer/tokenizer.json" "$dest/tokenizer/0-qwen-small.json" << 'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t['model']['vocab'] = dict(list(t['model']['vocab'].items())[:600])
t['model']['merges'] = t['model']['merges'][:300]
t['added_tokens'] = t['added_tokens'][:4]
open(sys.argv[2], 'w').write('\0' + json.dumps(t))
PY
for v in "$M"/*/vocab.txt; do prefixed tokenizer 2 "$v"; done
put records "$S"/ref/*/*.ndjson
put charset "$D"/html/*.html "$D"/csv/*.csv "$D"/md/* "$root"/examples/guide.md
put entities "$D"/md/* "$root"/examples/guide.md "$root"/README.md "$root"/tests/e2e/graph.sh
put csv "$D"/csv/*.csv "$root"/examples/formats.csv
put html "$D"/html/*.html "$root"/examples/lode-records.html
put ooxml "$D"/docx/* "$root"/examples/release-notes.docx
put odf "$D"/odt/*
put epub "$D"/epub/*
put archive "$D"/archives/* "$root"/examples/backup.tar.gz "$root"/examples/release-notes.docx
mapfile -t images < <(find "$S/data/ocr" -type f \( -name '*.png' -o -name '*.tif' -o -name '*.jpg' \) -size -200k | head -8)
put image "$root"/examples/scanned-page.png "${images[@]}"
# what lode makes: an adapter and a checkpoint of the tiny Llama, a store
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for _ in 1 2 3 4 5 6; do echo '{"prompt":"Once upon a time","completion":" there was a cat."}'; done > "$work/train.ndjson"
"$BIN/lode-finetune" -j 1 -m "$M/tiny-gguf/llama-tiny-f32.gguf" -o "$work/adapter.gguf" --steps 1 --ctx 32 \
    < "$work/train.ndjson" > /dev/null 2>&1
# a run killed after its first step leaves its checkpoint (sh reports the kill to /dev/null)
LODE_FAULT_STEP=1 sh -c '"$0" -j 1 -m "$1" -o "$2" --steps 2 --save-every 1 --ctx 32 < "$3" > /dev/null 2>&1' \
    "$BUILD/hooks/lode-finetune" "$M/tiny-gguf/llama-tiny-f32.gguf" "$work/part.gguf" "$work/train.ndjson" 2> /dev/null || true
put lora "$work/adapter.gguf" "$work/part.gguf.ckpt" "$dest"/gguf/advisory-adapter-type.gguf
"$BIN/lode-extract" "$root/examples" 2> /dev/null | "$BIN/lode-chunk" 2> /dev/null |
    "$BIN/lode-embed" -m "$M/tiny-bert-f32" 2> /dev/null | "$BIN/lode-index" -s "$work/kb" 2> /dev/null
put store_pages "$work/kb/data.mdb"
head -c $(($(stat -c %s "$work/kb/data.mdb") / 2)) "$work/kb/data.mdb" > "$dest/store_pages/cut-data.mdb"
for t in query settings records; do put "$t" "$here"/seeds/$t/*; done
# crashes found by make fuzz, kept as regressions
if [ -d "$here/regressions" ]; then
    for d in "$here"/regressions/*/; do
        [ -d "$d" ] && put "$(basename "$d")" "$d"*
    done
fi
# one copy of each seed (the tiny models share their tokenizer files)
for d in "$dest"/*/; do
    (cd "$d" && md5sum -- * | sort | awk 'seen[$1]++ { print $2 }' | xargs -r rm -f --)
done
exit 0
