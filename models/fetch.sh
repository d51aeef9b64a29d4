#!/bin/sh
# make models, or PREFIX/share/lode/models/fetch.sh [DIR [NAME]...] from an
# install (lode models pull NAME runs it):
# downloads lode's default models into DIR (default: this folder), checking
# every file against the SHA-256 in SHA256SUMS beside this script. Needs the
# internet; no test needs it. Files already there with the right checksum
# are kept.
#   DIR/all-MiniLM-L6-v2/          the embedding model (sentence-transformers)
#   DIR/qwen2.5-0.5b-instruct.gguf the generator (Q5_K_M, 420 MB)
# NAMEs (all-MiniLM-L6-v2, qwen2.5-0.5b-instruct) pick some; default both.
# LODE_MODELS_URL replaces https://huggingface.co (a mirror, or a proxy's
# address). Exit status: 0 done, 1 a file's checksum was wrong (not kept),
# 3 the server cannot be reached (nothing is left half-written).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SUMS=$HERE/SHA256SUMS
DIR=${1:-$HERE}
[ $# -gt 0 ] && shift
want_minilm=1 want_qwen=1
if [ $# -gt 0 ]; then
    want_minilm=0 want_qwen=0
    for n in "$@"; do
        case $n in
        all-MiniLM-L6-v2) want_minilm=1 ;;
        qwen2.5-0.5b-instruct) want_qwen=1 ;;
        *) echo "models: no model $n (all-MiniLM-L6-v2, qwen2.5-0.5b-instruct)" >&2; exit 2 ;;
        esac
    done
fi
HF=${LODE_MODELS_URL:-https://huggingface.co}
MINILM=$HF/sentence-transformers/all-MiniLM-L6-v2/resolve/main
QWEN=$HF/QuantFactory/Qwen2.5-0.5B-Instruct-GGUF/resolve/2e6361e266635c2dfccf722d39a80c8ec839d7b6/Qwen2.5-0.5B-Instruct.Q5_K_M.gguf
made="" # folders this run created, removed again if it fails
[ -d "$DIR" ] || made_dir=1
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd) && cd "$DIR"

cleanup() {
    for d in $made; do rmdir "$d" 2> /dev/null || true; done
    [ -z "${made_dir:-}" ] || rmdir "$DIR" 2> /dev/null || true
}
unreachable() {
    echo "models: cannot download from $HF ($1): no network here, or a proxy to set (https_proxy), or LODE_MODELS_URL for a mirror; nothing was kept. On a machine with the internet, run make models and copy the folder." >&2
    cleanup
    exit 3
}
command -v curl > /dev/null || command -v wget > /dev/null || unreachable "neither curl nor wget is installed"

fetch() { # URL FILE
    want=$(awk -v f="$2" '$2 == f { print $1 }' "$SUMS")
    [ -n "$want" ] || { echo "models: no checksum for $2" >&2; exit 1; }
    if [ -f "$2" ] && [ "$(sha256sum "$2" | cut -d' ' -f1)" = "$want" ]; then
        echo "models: $2 is there"
        return
    fi
    d=$(dirname "$2")
    if [ ! -d "$d" ]; then
        mkdir -p "$d"
        made="$d $made"
    fi
    echo "models: downloading $2"
    if command -v curl > /dev/null; then
        curl -fsSL --retry 2 --connect-timeout 15 -o "$2.part" "$1" 2> "$2.err" ||
            { why=$(tail -1 "$2.err"); rm -f "$2.part" "$2.err"; unreachable "$why"; }
    else
        wget -q -T 15 -O "$2.part" "$1" 2> "$2.err" ||
            { why=$(tail -1 "$2.err"); rm -f "$2.part" "$2.err"; unreachable "wget: ${why:-failed}"; }
    fi
    rm -f "$2.err"
    got=$(sha256sum "$2.part" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
        rm -f "$2.part"
        echo "models: $2: checksum $got, expected $want; not kept" >&2
        cleanup
        exit 1
    fi
    mv "$2.part" "$2"
}

if [ "$want_minilm" = 1 ]; then
    for f in config.json config_sentence_transformers.json modules.json sentence_bert_config.json \
        special_tokens_map.json tokenizer.json tokenizer_config.json vocab.txt 1_Pooling/config.json \
        model.safetensors; do
        fetch "$MINILM/$f" "all-MiniLM-L6-v2/$f"
    done
fi
[ "$want_qwen" = 0 ] || fetch "$QWEN" qwen2.5-0.5b-instruct.gguf
echo "models: done in $DIR. Try: echo '{\"text\":\"hello\"}' | lode-embed -m $DIR/all-MiniLM-L6-v2"
