#!/bin/sh
# make models: downloads lode's default models into models/, checking every
# file against the SHA-256 in models/SHA256SUMS. Needs the internet; no test
# needs it. Files already there with the right checksum are kept.
#   models/all-MiniLM-L6-v2/          the embedding model (sentence-transformers)
#   models/qwen2.5-0.5b-instruct.gguf the generator (Q5_K_M, 420 MB)
set -eu
cd "$(dirname "$0")"
HF=https://huggingface.co
MINILM=$HF/sentence-transformers/all-MiniLM-L6-v2/resolve/main
QWEN=$HF/QuantFactory/Qwen2.5-0.5B-Instruct-GGUF/resolve/2e6361e266635c2dfccf722d39a80c8ec839d7b6/Qwen2.5-0.5B-Instruct.Q5_K_M.gguf

fetch() { # URL FILE
    want=$(awk -v f="$2" '$2 == f { print $1 }' SHA256SUMS)
    [ -n "$want" ] || { echo "models: no checksum for $2" >&2; exit 1; }
    if [ -f "$2" ] && [ "$(sha256sum "$2" | cut -d' ' -f1)" = "$want" ]; then
        echo "models: $2 is there"
        return
    fi
    mkdir -p "$(dirname "$2")"
    echo "models: downloading $2"
    if command -v curl > /dev/null; then
        curl -fL --retry 3 -o "$2.part" "$1"
    else
        wget -O "$2.part" "$1"
    fi
    got=$(sha256sum "$2.part" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
        rm -f "$2.part"
        echo "models: $2: checksum $got, expected $want; not kept" >&2
        exit 1
    fi
    mv "$2.part" "$2"
}

for f in config.json config_sentence_transformers.json modules.json sentence_bert_config.json \
    special_tokens_map.json tokenizer.json tokenizer_config.json vocab.txt 1_Pooling/config.json \
    model.safetensors; do
    fetch "$MINILM/$f" "all-MiniLM-L6-v2/$f"
done
fetch "$QWEN" qwen2.5-0.5b-instruct.gguf
echo "models: done. Try: echo '{\"text\":\"hello\"}' | bin/lode-embed -m models/all-MiniLM-L6-v2"
