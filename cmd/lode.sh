#!/bin/bash
# lode: the umbrella command (lode(1)). `lode extract ...` runs lode-extract
# and so on for every program; ingest, ask, stores and models are its own.
# The programs are the ones beside this script; the config file fills in
# the environment the programs read, where it is not set already.
set -u
VERSION=0.1.0
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
PROGS="extract ocr chunk entities embed index query rerank generate finetune"

usage() {
    cat << 'EOF'
Usage: lode COMMAND [ARG]...
Run a lode program (lode extract ... is lode-extract ...), or one of:

  ingest DIR [-s STORE] [-m MODEL] [-j N]
                       put the documents under DIR into STORE, incrementally:
                       unchanged documents are not read again, removed ones
                       leave the store (pipelines/ingest.mk)
  ask [-s STORE] [-g MODEL] [-r MODEL] [-k N] [--json] QUESTION...
                       search STORE, re-rank the hits with -r, answer with the
                       generator -g (without one: the hits' best sentences);
                       readable on a terminal, JSON with --json or in a pipe
  stores [DIR]         the stores under DIR (default $LODE_HOME), with figures
  models list|pull NAME [DIR]
                       the models make models knows; pull one, checksummed
                       (all-MiniLM-L6-v2, qwen2.5-0.5b-instruct), into DIR
                       (default $LODE_HOME/models)

Programs: extract ocr chunk entities embed index query rerank generate finetune

Options:
  -s, --store STORE    ingest, ask: the store (default $LODE_STORE, the config's)
  -m, --model MODEL    ingest: the embedding model (default $LODE_EMBED_MODEL)
  -j, --jobs N         ingest: documents at once (default: the cores)
  -g, --generator MODEL
                       ask: the generator (default $LODE_GEN_MODEL)
  -r, --reranker MODEL ask: the re-ranker (default $LODE_RERANK_MODEL)
  -k N                 ask: hits to answer from (default 5)
      --json           ask: the record, not the readable form
  -h, --help           this help
      --version        the version

The config file $XDG_CONFIG_HOME/lode/config (default ~/.config/lode/config)
holds defaults as key = value lines: store, embed_model, generator, reranker,
home. The environment (LODE_STORE, LODE_EMBED_MODEL, LODE_GEN_MODEL,
LODE_RERANK_MODEL, LODE_HOME) wins over it, options over both.
Exit status: the program's; 2 usage; 3 a program or a store is missing.
See lode(1).
EOF
}
die() {
    echo "lode: $*" >&2
    exit 3
}
bad() {
    echo "lode: $*" >&2
    echo "Try 'lode --help' for more information." >&2
    exit 2
}

# the config file: each key fills its variable unless the environment has it
config=${XDG_CONFIG_HOME:-${HOME:-/nonexistent}/.config}/lode/config
if [ -r "$config" ]; then
    n=0
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        line=${line%%#*}
        [[ $line =~ ^[[:space:]]*$ ]] && continue
        if ! [[ $line =~ ^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]]; then
            bad "$config:$n: not a key = value line"
        fi
        key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
        value=${value/#\~/${HOME:-\~}}
        case $key in
        store) var=LODE_STORE ;;
        embed_model) var=LODE_EMBED_MODEL ;;
        generator) var=LODE_GEN_MODEL ;;
        reranker) var=LODE_RERANK_MODEL ;;
        home) var=LODE_HOME ;;
        *) bad "$config:$n: unknown key '$key' (store, embed_model, generator, reranker, home)" ;;
        esac
        [ -n "${!var:-}" ] || export "$var=$value"
    done < "$config"
fi
export LODE_HOME=${LODE_HOME:-${XDG_DATA_HOME:-${HOME:-/nonexistent}/.local/share}/lode}

share() { # the folder of pipelines/ or models/: a checkout's (bin/, bin/san/), or an install's
    local d
    for d in "$HERE/../$1" "$HERE/../../$1" "$HERE/../share/lode/$1"; do
        [ -d "$d" ] && { echo "$d"; return; }
    done
    echo "$HERE/../share/lode/$1"
}
prog() {
    [ -x "$HERE/lode-$1" ] || die "lode-$1 not found beside $0"
    echo "$HERE/lode-$1"
}

ingest() {
    local docs="" store=${LODE_STORE:-} model=${LODE_EMBED_MODEL:-} jobs
    jobs=$(nproc 2> /dev/null || echo 1)
    while [ $# -gt 0 ]; do
        case $1 in
        -s | --store) [ $# -ge 2 ] || bad "$1 needs a value"; store=$2; shift 2 ;;
        -m | --model) [ $# -ge 2 ] || bad "$1 needs a value"; model=$2; shift 2 ;;
        -j | --jobs) [ $# -ge 2 ] || bad "$1 needs a value"; jobs=$2; shift 2 ;;
        -*) bad "ingest: unknown option '$1'" ;;
        *) [ -z "$docs" ] || bad "ingest takes one folder"; docs=$1; shift ;;
        esac
    done
    [ -n "$docs" ] || bad "ingest: give the folder of documents"
    [ -n "$store" ] || bad "ingest: no store: give -s STORE, set LODE_STORE or store in $config"
    [ -d "$docs" ] || die "$docs is not a folder"
    LODE_BIN=$HERE exec make -s --no-print-directory -f "$(share pipelines)/ingest.mk" \
        DOCS="$docs" STORE="$store" MODEL="$model" -j "$jobs"
}

ask() {
    local store=${LODE_STORE:-} gen=${LODE_GEN_MODEL:-} rr=${LODE_RERANK_MODEL:-} k=5 json=0 q=""
    [ -t 1 ] || json=1
    while [ $# -gt 0 ]; do
        case $1 in
        -s | --store) [ $# -ge 2 ] || bad "$1 needs a value"; store=$2; shift 2 ;;
        -g | --generator) [ $# -ge 2 ] || bad "$1 needs a value"; gen=$2; shift 2 ;;
        -r | --reranker) [ $# -ge 2 ] || bad "$1 needs a value"; rr=$2; shift 2 ;;
        -k) [ $# -ge 2 ] || bad "$1 needs a value"; k=$2; shift 2 ;;
        --json) json=1; shift ;;
        --) shift; q="$q${q:+ }$*"; break ;;
        -*) bad "ask: unknown option '$1'" ;;
        *) q="$q${q:+ }$1"; shift ;;
        esac
    done
    [ -n "$q" ] || bad "ask: give the question"
    [ -n "$store" ] || bad "ask: no store: give -s STORE, set LODE_STORE or store in $config"
    local query rerank generate out
    query=$(prog query) rerank=$(prog rerank) generate=$(prog generate)
    out=$(mktemp "${TMPDIR:-/tmp}/lode-ask.XXXXXX") || die "cannot make a temporary file"
    jq -cn --arg q "$q" '{q: $q}' |
        "$query" -q -s "$store" -k "$((k * (${#rr} ? 4 : 1)))" |
        if [ -n "$rr" ]; then "$rerank" -q -m "$rr" --top "$k"; else cat; fi |
        "$generate" -q ${gen:+-m "$gen"} --temperature 0 > "$out"
    local st=("${PIPESTATUS[@]}")
    for s in "${st[@]:1}"; do # the first stage that failed (jq, first, only sees a closed pipe)
        [ "$s" = 0 ] || { rm -f "$out"; exit "$s"; }
    done
    if [ "$json" = 1 ]; then
        cat "$out"
    else
        jq -r '"\(.answer // "(no answer)")\n",
            (.hits // [] | to_entries[] | .value as $h
             | "  \(.key + 1). \($h.source)\(if $h.page then ":\($h.page)" else "" end)  \($h.score * 1000 | round / 1000)  \(($h.text // "") | gsub("\\s+"; " ") | .[0:72])")' "$out"
    fi
    rm -f "$out"
}

stores() {
    local dir=${1:-$LODE_HOME}
    [ -d "$dir" ] || die "$dir is not a folder"
    local index found=0
    index=$(prog index)
    while IFS= read -r -d '' data; do
        d=$(dirname "$data")
        [ -e "$d/snapshot.json" ] && continue # a snapshot: lode-index --snapshots lists those
        found=1
        "$index" -s "$d" --stats 2> /dev/null | jq -c '{store, chunks, sources, vectors, model, bytes}' ||
            jq -cn --arg s "$d" '{store: $s, error: "cannot be read (lode-index --check)"}'
    done < <(find "$dir" -maxdepth 4 -name data.mdb -print0 | sort -z)
    [ "$found" = 1 ] || echo "lode: no stores under $dir" >&2
}

models() {
    local fetch
    fetch=$(share models)/fetch.sh
    case ${1:-} in
    list)
        for m in all-MiniLM-L6-v2 qwen2.5-0.5b-instruct; do
            local at=$LODE_HOME/models/$m
            [ "$m" = qwen2.5-0.5b-instruct ] && at=$at.gguf
            jq -cn --arg m "$m" --arg at "$at" --argjson here "$([ -e "$at" ] && echo true || echo false)" \
                '{model: $m, path: $at, present: $here}'
        done
        ;;
    pull)
        [ $# -ge 2 ] || bad "models pull: give a model name (lode models list)"
        [ -x "$fetch" ] || die "$fetch not found"
        exec "$fetch" "${3:-$LODE_HOME/models}" "$2"
        ;;
    *) bad "models takes list or pull NAME" ;;
    esac
}

[ $# -gt 0 ] || { usage >&2; exit 2; }
cmd=$1
shift
case $cmd in
-h | --help | help) usage; exit 0 ;;
--version) echo "lode $VERSION"; exit 0 ;;
ingest) ingest "$@" ;;
ask) ask "$@" ;;
stores) stores "$@" ;;
models) models "$@" ;;
-*) bad "unknown option '$cmd'" ;;
*)
    case " $PROGS " in
    *" $cmd "*) exec "$(prog "$cmd")" "$@" ;;
    esac
    bad "'$cmd' is not a lode command (lode --help lists them)"
    ;;
esac
