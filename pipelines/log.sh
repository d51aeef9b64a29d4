#!/bin/bash
# pipelines/log.sh - sourced by cron.sh, watch.sh and sql.sh: their JSON
# log lines on standard output.
#
# log EVENT [jq --arg/--argjson pairs...]: one line with time (UTC, ms),
# event, pid and the pairs.
log() {
    local event=$1
    shift
    jq -cn --arg time "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" --arg event "$event" \
        --argjson pid $$ "$@" '$ARGS.named'
}
