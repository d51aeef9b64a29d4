#!/bin/bash
# bash completion for lode and the lode-* programs (lode(1)): the commands,
# each program's options as its --help lists them, model names, files.
# Source it, or install it as PREFIX/share/bash-completion/completions/lode.
_lode_opts() { # PROGRAM: its options, from its own --help
    "$1" --help 2> /dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u
}
_lode_words() { # WORDS: COMPREPLY from them, or file names
    local cur=${COMP_WORDS[COMP_CWORD]}
    if [[ $cur == -* ]] || [ "${2:-}" = words ]; then
        mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}
_lode() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    if [ "$COMP_CWORD" = 1 ]; then
        _lode_words "extract ocr chunk entities embed index query rerank generate finetune ingest ask stores models --help --version" words
        return
    fi
    case ${COMP_WORDS[1]} in
    ingest) _lode_words "-s --store -m --model -j --jobs" ;;
    ask) _lode_words "-s --store -g --generator -r --reranker -k --json" ;;
    stores) _lode_words "" ;;
    models)
        if [ "$COMP_CWORD" = 2 ]; then
            _lode_words "list pull" words
        elif [ "$COMP_CWORD" = 3 ] && [ "${COMP_WORDS[2]}" = pull ]; then
            _lode_words "all-MiniLM-L6-v2 qwen2.5-0.5b-instruct" words
        fi
        ;;
    *) _lode_words "$(_lode_opts "lode-${COMP_WORDS[1]}")" ;;
    esac
    : "$cur"
}
_lode_program() {
    _lode_words "$(_lode_opts "${COMP_WORDS[0]}")"
}
complete -o filenames -F _lode lode
complete -o filenames -F _lode_program lode-extract lode-ocr lode-chunk lode-entities lode-embed \
    lode-index lode-query lode-rerank lode-generate lode-finetune
