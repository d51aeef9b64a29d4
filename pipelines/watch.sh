#!/bin/bash
# pipelines/watch.sh DOCS STORE [MODEL] - keeps STORE following the folder
# tree DOCS: inotify (inotifywait, from inotify-tools) reports every file
# written, moved in or out, renamed or deleted, in any folder below DOCS;
# once no change has come for LODE_WATCH_DEBOUNCE seconds (default 2), or
# LODE_WATCH_MAX seconds (default 30) after the first of a steady stream of
# them, one incremental run of pipelines/cron.sh (so ingest.mk: changed
# documents re-indexed, removed and renamed ones out of the store, cron's
# lock, metrics and snapshots) brings the store up to date.
#
#   pipelines/watch.sh /srv/docs /srv/kb models/all-MiniLM-L6-v2 >> /var/log/lode/watch.jsonl
#
# - A run at start catches up with what changed while nothing watched.
# - A file counts as changed when it is closed after writing (or moved in),
#   so a file written slowly is indexed when its writer closes it.
# - Logs JSON lines on standard output (pipelines/log.sh): watching, changes
#   (how many events, the first few paths), cron.sh's own lines for each
#   run, stopped.
# - SIGTERM or SIGINT: a run in progress finishes, then exit 0 (systemd:
#   KillMode=mixed, as pipelines/systemd/lode-watch.service has it);
#   changes not yet ingested are left to the run at the next start.
# - Exit 2 usage, 3 when DOCS cannot be watched (no inotifywait, too few
#   inotify watches: raise fs.inotify.max_user_watches).
#
# Environment: LODE_WATCH_DEBOUNCE, LODE_WATCH_MAX, and cron.sh's (LODE_BIN,
# LODE_CRON_METRICS, LODE_CRON_SNAPSHOTS, ...); LODE_CRON_WAIT defaults to
# 3600 here, so a change waits for a cron run that holds the lock instead
# of being skipped.
set -u
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: watch.sh DOCS STORE [MODEL]" >&2
    exit 2
fi
DOCS=$1 STORE=$2 MODEL=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
DEBOUNCE=${LODE_WATCH_DEBOUNCE:-2}
MAX=${LODE_WATCH_MAX:-30}
export LODE_CRON_WAIT=${LODE_CRON_WAIT:-3600}
# shellcheck source=pipelines/log.sh
. "$HERE/log.sh"
# shellcheck source=pipelines/find.sh
. "$HERE/find.sh"
lode_find "$HERE" lode-extract lode-ocr lode-chunk lode-index ${MODEL:+lode-embed}
for v in "$DEBOUNCE" "$MAX"; do
    if ! [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || [ "$v" = 0 ]; then
        echo "watch.sh: LODE_WATCH_DEBOUNCE and LODE_WATCH_MAX take seconds, not '$v'" >&2
        exit 2
    fi
done
if ! command -v inotifywait > /dev/null; then
    log error --arg error "inotifywait not found (Debian: apt-get install inotify-tools)"
    exit 3
fi
if [ ! -d "$DOCS" ]; then
    log error --arg error "$DOCS is not a folder"
    exit 3
fi

ingest() {
    "$HERE/cron.sh" "$DOCS" "$STORE" ${MODEL:+"$MODEL"}
    local rc=$?
    [ "$rc" -ge 3 ] && log error --arg error "the ingestion run failed (cron.sh exit status $rc)"
}

events=$(mktemp -u "${TMPDIR:-/tmp}/lode-watch.XXXXXX")
mkfifo -m 600 "$events" || exit 3
stop=0
trap 'stop=1' TERM INT
# close_write and moved_to: a file is complete; delete and moved_from: it
# left; create: only a new folder counts (its files come as their own events)
inotifywait -m -r --format '%e %w%f' -e close_write -e moved_to -e moved_from -e delete \
    -e create -e delete_self -e move_self "$DOCS" > "$events" 2> "$events.err" &
watcher=$!
exec 3< "$events"
rm -f "$events"
# inotifywait says when its watches are set up; a failure ends it at once
for _ in $(seq 100); do
    grep -q "Watches established" "$events.err" 2> /dev/null && break
    kill -0 "$watcher" 2> /dev/null || break
    sleep 0.05
done
if ! kill -0 "$watcher" 2> /dev/null; then
    log error --arg error "cannot watch $DOCS: $(tail -1 "$events.err")"
    rm -f "$events.err"
    exit 3
fi
log watching --arg docs "$DOCS" --arg store "$STORE" --argjson debounce "$DEBOUNCE"
ingest

pending=0 first=0 paths=()
while [ "$stop" = 0 ]; do
    wait_for=$DEBOUNCE
    if [ "$pending" -gt 0 ]; then # a steady stream still ends in a run every MAX seconds
        left=$(echo "$first + $MAX - $(date +%s.%N)" | bc)
        [ "$(echo "$left < $wait_for" | bc)" = 1 ] && wait_for=$left
        [ "$(echo "$wait_for <= 0" | bc)" = 1 ] && wait_for=0.001
    fi
    IFS= read -r -t "$wait_for" ev <&3
    rc=$?
    if [ "$rc" = 0 ]; then
        case $ev in
        DELETE_SELF* | MOVE_SELF*) # a folder below: its parent's event counts
            if [ "${ev#* }" = "${DOCS%/}/" ]; then
                log error --arg error "$DOCS itself was removed or moved"
                kill "$watcher" 2> /dev/null
                rm -f "$events.err"
                exit 3
            fi
            continue
            ;;
        CREATE,ISDIR* | CLOSE_WRITE* | MOVED_TO* | MOVED_FROM* | DELETE*) ;;
        *) continue ;; # a file created: it is counted when it is closed
        esac
        [ "$pending" = 0 ] && first=$(date +%s.%N)
        pending=$((pending + 1))
        [ "${#paths[@]}" -lt 5 ] && paths+=("${ev#* }")
        continue
    fi
    [ "$stop" = 1 ] && break
    if [ "$rc" -le 128 ]; then # the end of the events: inotifywait has gone
        log error --arg error "inotifywait ended: $(tail -1 "$events.err")"
        kill "$watcher" 2> /dev/null
        rm -f "$events.err"
        exit 3
    fi
    [ "$pending" = 0 ] && continue
    log changes --argjson events "$pending" --argjson paths "$(printf '%s\n' "${paths[@]}" | jq -cRs 'split("\n")[:-1]')"
    pending=0 paths=()
    ingest
done
kill "$watcher" 2> /dev/null
wait "$watcher" 2> /dev/null
rm -f "$events.err"
# changes not yet ingested are found by the run at the next start
log stopped --argjson pending "$pending"
exit 0
