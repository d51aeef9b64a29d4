#!/bin/bash
# pipelines/cron.sh DOCS STORE [MODEL] - one incremental ingestion run for
# cron or a systemd timer (pipelines/ingest.mk does the work):
#
#   */15 * * * *  /opt/lode/pipelines/cron.sh /srv/docs /srv/kb >> /var/log/lode/ingest.jsonl
#
# - One run at a time: the run holds an flock(1) on STORE.lock; a second
#   start skips at once (LODE_CRON_WAIT=SECONDS waits that long first).
# - Logs JSON lines on standard output: start, each document processed,
#   each failure (from the error records), messages of the programs, end
#   (status, seconds, documents, failed), or skipped.
# - Keeps going when a document fails; exits 1 when any did, 0 when none
#   did, 0 when skipped, 3 when the run itself could not be done.
# - With LODE_CRON_METRICS=DIR (node_exporter's textfile collector folder)
#   writes DIR/lode_cron.prom atomically after every run, and lode-index
#   writes DIR/lode_index.prom.
# - With LODE_CRON_SNAPSHOTS=N, a run without failures that changed the
#   store (documents indexed or removed) ends with a snapshot of it,
#   LODE_CRON_SNAPSHOT_DIR/TIME (default STORE.snapshots/), keeping the
#   newest N (lode-index --snapshot --keep); logged as a snapshot event.
#
# Environment: LODE_CRON_WAIT (seconds, default 0), LODE_CRON_JOBS (make -j,
# default: cores), LODE_CRON_METRICS, LODE_CRON_LOCK (default STORE.lock),
# LODE_CRON_WORK (ingest.mk's WORK, default STORE.work),
# LODE_CRON_SNAPSHOTS, LODE_CRON_SNAPSHOT_DIR, LODE_BIN (the folder
# of the lode programs; default: beside pipelines/, else on PATH), LODE_CRON_MAKEFLAGS (more make variables, such as
# "THREADS=2 CHUNK_OPTS='--size 200'").
set -u
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: cron.sh DOCS STORE [MODEL]" >&2
    exit 2
fi
DOCS=$1 STORE=$2 MODEL=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
WAIT=${LODE_CRON_WAIT:-0}
JOBS=${LODE_CRON_JOBS:-$(nproc)}
LOCK=${LODE_CRON_LOCK:-$STORE.lock}
WORK=${LODE_CRON_WORK:-$STORE.work}
METRICS=${LODE_CRON_METRICS:-}
SNAPSHOTS=${LODE_CRON_SNAPSHOTS:-0}
SNAPSHOT_DIR=${LODE_CRON_SNAPSHOT_DIR:-$STORE.snapshots}
case $SNAPSHOTS in
'' | *[!0-9]*) echo "cron.sh: LODE_CRON_SNAPSHOTS takes a count, not '$SNAPSHOTS'" >&2; exit 2 ;;
esac

# shellcheck source=pipelines/log.sh
. "$HERE/log.sh"
# shellcheck source=pipelines/find.sh
. "$HERE/find.sh"
lode_find "$HERE" lode-extract lode-ocr lode-chunk lode-index ${MODEL:+lode-embed}

metric() { # NAME TYPE HELP VALUE
    printf '# HELP lode_cron_%s %s\n# TYPE lode_cron_%s %s\nlode_cron_%s %s\n' "$1" "$3" "$1" "$2" "$1" "$4"
}

write_metrics() { # STATUS SECONDS DOCUMENTS FAILED SKIPPED
    [ -n "$METRICS" ] || return 0
    local prom=$METRICS/lode_cron.prom now last_ok skipped
    now=$(date +%s)
    # carried over from the last file: the last success, the runs skipped
    last_ok=$(awk '$1 == "lode_cron_last_success_timestamp_seconds" { print $2 }' "$prom" 2> /dev/null)
    skipped=$(awk '$1 == "lode_cron_skipped_total" { print $2 }' "$prom" 2> /dev/null)
    [ "$1" = 0 ] && [ "$5" = 0 ] && last_ok=$now
    skipped=$(( ${skipped:-0} + $5 ))
    {
        metric last_run_timestamp_seconds gauge "Unix time the last run ended (or was skipped)." "$now"
        metric last_success_timestamp_seconds gauge "Unix time of the last run without failures." "${last_ok:-0}"
        metric exit_status gauge "Exit status of the last run that ran." "$1"
        metric run_seconds gauge "Wall-clock seconds of the last run." "$2"
        metric documents_processed gauge "Documents (re)processed by the last run." "$3"
        metric documents_failed gauge "Failed inputs in the last run." "$4"
        metric skipped_total counter "Runs skipped because another held the lock." "$skipped"
        if [ -d "$STORE" ]; then
            "$LODE_BIN/lode-index" -s "$STORE" --stats 2> /dev/null |
                jq -r '"# HELP lode_cron_store_chunks Chunks in the store.\n# TYPE lode_cron_store_chunks gauge\nlode_cron_store_chunks \(.chunks)\n# HELP lode_cron_store_bytes Bytes of the store on disk.\n# TYPE lode_cron_store_bytes gauge\nlode_cron_store_bytes \(.bytes)"'
        fi
    } > "$prom.tmp.$$" && mv -f "$prom.tmp.$$" "$prom"
}

exec 9>> "$LOCK" || { log error --arg error "cannot open the lock $LOCK"; exit 3; }
if ! if [ "$WAIT" = 0 ]; then flock -n 9; else flock -w "$WAIT" 9; fi; then
    log skipped --arg store "$STORE" --arg reason "another run holds $LOCK"
    write_metrics 0 0 0 0 1
    exit 0
fi

start=$(date +%s.%N)
log start --arg docs "$DOCS" --arg store "$STORE" --arg model "$MODEL" --argjson jobs "$JOBS"
mkdir -p "$WORK"
rm -f "$WORK/errors.ndjson"
documents=0 removed=0 make_status=3
# make's lines become log events as they come
extra=()
eval "extra=(${LODE_CRON_MAKEFLAGS:-})"
while IFS= read -r line; do
    case $line in
    "ingest: indexing "*) log index --arg message "${line#ingest: }" ;;
    "ingest: removing "*) removed=$((removed + 1)); log delete --arg message "${line#ingest: }" ;;
    "ingest: "*" failures; see "*) ;;
    "ingest-status: "*) make_status=${line#ingest-status: } ;;
    "ingest: "*) documents=$((documents + 1)); log document --arg source "${line#ingest: }" ;;
    *) log message --arg message "$line" ;;
    esac
done < <(make --no-print-directory -f "$HERE/ingest.mk" DOCS="$DOCS" STORE="$STORE" MODEL="$MODEL" \
              WORK="$WORK" LODE_BIN="$LODE_BIN" ${METRICS:+METRICS="$METRICS"} \
              "${extra[@]}" -j "$JOBS" 2>&1; echo "ingest-status: $?")
failed=0
if [ -s "$WORK/errors.ndjson" ]; then
    while IFS= read -r rec; do
        failed=$((failed + 1))
        log failed --argjson record "$rec"
    done < "$WORK/errors.ndjson"
fi
seconds=$(echo "$(date +%s.%N) - $start" | bc)
if [ "$failed" != 0 ]; then
    status=1
elif [ "$make_status" != 0 ]; then
    status=3 # make failed with no document to blame: see the messages
    log error --arg error "ingest.mk failed (make exit status $make_status)"
else
    status=0
fi
if [ "$status" = 0 ] && [ "$SNAPSHOTS" -gt 0 ] && [ $((documents + removed)) -gt 0 ]; then
    if snap=$("$LODE_BIN/lode-index" -s "$STORE" --keep "$SNAPSHOTS" \
        --snapshot "$SNAPSHOT_DIR/$(date -u +%Y%m%dT%H%M%SZ)" 2> "$WORK/snapshot.err"); then
        log snapshot --argjson snapshot "$snap"
    else
        status=3
        log error --arg error "snapshot failed: $(tail -1 "$WORK/snapshot.err")"
    fi
fi
log end --argjson status "$status" --argjson seconds "$seconds" --argjson documents "$documents" \
    --argjson failed "$failed"
write_metrics "$status" "$seconds" "$documents" "$failed" 0
exit "$status"
