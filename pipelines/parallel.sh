#!/bin/bash
# pipelines/parallel.sh [OPTION]... PATH... - lode-extract | lode-ocr |
# lode-chunk [| lode-embed] on GNU parallel, on this machine or many:
#
#   pipelines/parallel.sh -m MODEL docs/ | lode-index -s kb
#   pipelines/parallel.sh -S 8/host1,8/host2 -m /srv/models/minilm /srv/docs > records.ndjson
#
# writes the records the single-machine pipeline
#   lode-extract PATH... | lode-ocr | lode-chunk | lode-embed -m MODEL
# writes, in the same order: the documents are listed (lode-extract --list),
# cut into blocks of --block documents, and each block goes through the
# pipeline as one GNU parallel job (--pipe --keep-order), on the hosts given.
#
# Options:
#   -m MODEL        embed with MODEL (none: chunk records, no vectors)
#   -j N            jobs at once on each host (default: its cores)
#   -S HOSTS        GNU parallel's --sshlogin: host1,4/host2,: (":" is here)
#   --sshloginfile FILE   the same from a file
#   --block N       documents per job (default 16)
#   --threads N     threads each program of a job may use (default 1)
#   --errors FILE   append every job's error records to FILE
#   --joblog FILE   keep GNU parallel's job log (host, seconds, exit status)
#   --extract-opts, --ocr-opts, --chunk-opts, --embed-opts "OPTIONS"
#                   more options for one program, as one word
# The programs are found as pipelines/find.sh says (LODE_BIN, beside
# pipelines/, PATH); a job runs them from that folder, and on another host
# from its PATH when the folder is not there. Other hosts need the
# lode programs and the documents and
# the model at the same paths (an NFS or SMB share, or a copy); output and
# error records come back over ssh. GNU parallel's own options may be
# added through $PARALLEL (--env PATH, --retries 3, --joblog FILE, ...).
#
# Exit status: 0 every document went through; 1 some inputs failed (see
# --errors); 3 a job failed outright (a host unreachable, a fatal error).
set -u
usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
model="" jobs="" sshlogin=() block=16 threads=1 errors="" joblog=""
xo="" oo="" co="" eo=""
while [ $# -gt 0 ]; do
    case $1 in
    -m) model=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    -S) sshlogin+=(-S "$2"); shift 2 ;;
    --sshloginfile) sshlogin+=(--sshloginfile "$2"); shift 2 ;;
    --block) block=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --errors) errors=$2; shift 2 ;;
    --joblog) joblog=$2; shift 2 ;;
    --extract-opts) xo=$2; shift 2 ;;
    --ocr-opts) oo=$2; shift 2 ;;
    --chunk-opts) co=$2; shift 2 ;;
    --embed-opts) eo=$2; shift 2 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    -*) echo "parallel.sh: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "parallel.sh: give the documents to read" >&2; usage; }
case $block$threads in *[!0-9]*) echo "parallel.sh: --block and --threads take numbers" >&2; exit 2 ;; esac
command -v parallel > /dev/null || { echo "parallel.sh: GNU parallel is not installed" >&2; exit 3; }
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pipelines/find.sh
. "$HERE/find.sh"
lode_find "$HERE" lode-extract lode-ocr lode-chunk ${model:+lode-embed}

# One job: the block on standard input through the stages; its error
# records are written to standard error after the summaries, marked so
# that they can be told apart, and its status is the worst stage's.
q() { printf '%q' "$1"; }
embed=""
[ -z "$model" ] || embed="| lode-embed -m $(q "$model") -j $threads --no-progress --errors \"\$e\" $eo"
job="PATH=$(q "$LODE_BIN"):\$PATH; e=\$(mktemp) || exit 3; lode-extract -j $threads --no-progress --errors \"\$e\" $xo |
 lode-ocr -j $threads --no-progress --errors \"\$e\" $oo |
 lode-chunk --no-progress --errors \"\$e\" $co $embed;
 st=(\"\${PIPESTATUS[@]}\"); sed 's/^/@lode-error@ /' \"\$e\" >&2; rm -f \"\$e\";
 m=0; for s in \"\${st[@]}\"; do [ \"\$s\" -le \"\$m\" ] || m=\$s; done; exit \$m"

if [ -n "$joblog" ]; then
    log=$joblog
else
    log=$(mktemp) || exit 3
    trap 'rm -f "$log"' EXIT
fi
"$LODE_BIN/lode-extract" --list "$@" |
    parallel --pipe --keep-order -N "$block" ${jobs:+-j "$jobs"} "${sshlogin[@]}" \
        --joblog "$log" bash -c "$(q "$job")" \
        2> >(while IFS= read -r line; do
                 case $line in
                 "@lode-error@ "*) [ -z "$errors" ] || printf '%s\n' "${line#@lode-error@ }" >> "$errors" ;;
                 *" ok, 0 failed"*) ;;
                 *) printf '%s\n' "$line" >&2 ;;
                 esac
             done)
st=("${PIPESTATUS[@]}")
wait # for the standard error filter
worst=$(awk 'NR > 1 && $7 > w { w = $7 } NR > 1 && $8 != 0 { w = 3 } END { print w + 0 }' "$log")
jobs_run=$(awk 'NR > 1' "$log" | wc -l)
if [ "${st[0]}" != 0 ]; then
    exit 3
elif [ "$worst" -gt 1 ] || { [ "${st[1]}" != 0 ] && [ "$worst" = 0 ]; }; then
    echo "parallel.sh: a job failed (exit status $worst); see above" >&2
    exit 3
elif [ "$worst" = 1 ]; then
    echo "parallel.sh: $jobs_run jobs; some inputs failed${errors:+ (see $errors)}" >&2
    exit 1
fi
exit 0
