#!/bin/bash
# pipelines/find.sh - sourced by every script in pipelines/: where the lode
# programs are.
#
# lode_find HERE PROGRAM...: sets and exports LODE_BIN, the folder of the
# lode programs: LODE_BIN when it is set (the one override); else the
# programs next to the pipelines (a checkout's bin/ beside pipelines/, an
# install's PREFIX/bin beside PREFIX/share/lode/pipelines); else the folder
# of lode-index on PATH. Exits 3 at once, naming it, when a PROGRAM is not
# there (cron's PATH is only /usr/bin:/bin).
lode_find() {
    local here=$1 d p
    shift
    if [ -z "${LODE_BIN:-}" ]; then
        for d in "$here/../bin" "$here/../../../bin"; do
            if [ -x "$d/lode-index" ]; then
                LODE_BIN=$(cd "$d" && pwd)
                break
            fi
        done
    fi
    if [ -z "${LODE_BIN:-}" ] && p=$(command -v lode-index); then
        LODE_BIN=$(dirname "$p")
    fi
    for p in "$@"; do
        if [ ! -x "${LODE_BIN:-}/$p" ]; then
            echo "${0##*/}: $p not found ${LODE_BIN:+in $LODE_BIN }(not beside $here, not on PATH): set LODE_BIN to the folder of the lode programs" >&2
            exit 3
        fi
    done
    export LODE_BIN
}
