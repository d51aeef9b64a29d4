#!/bin/bash
# pipelines/sql.sh --db DB --table NAME --key COL --text COL[,COL]... [OPTION]...
#                  STORE [MODEL]
# Database rows as documents: the rows of a query become records (id and
# source TABLE/KEY, text the named columns joined by blank lines, every
# other column in meta), chunked (and embedded with MODEL) into STORE, with
# ingest.mk's incremental behaviour: a row whose content changed is
# indexed again, an unchanged one is not chunked or embedded, a row gone
# from the result (or whose text is now empty) leaves the store.
#
#   pipelines/sql.sh --db postgresql://lode@db.example.com/wiki --table pages \
#       --key id --text title,body STORE
#   pipelines/sql.sh --db sqlite:/srv/app.db --table tickets --key id \
#       --text subject,description --query "SELECT * FROM tickets WHERE status <> 'spam'" kb
#
# DB: postgresql://... or postgres://... (psql; a password from ~/.pgpass or
# PGPASSWORD, never the command line) or sqlite:PATH (sqlite3, read-only).
# --query SQL (default SELECT * FROM TABLE) must give the key and text
# columns; --name NAME (default TABLE) is the prefix of the sources, so two
# queries over one table can feed one store. What the last run saw is kept
# in WORK/NAME.keys (--work, default STORE.sql); without it, the store's own
# chunks of NAME/ say which rows were there.
#
# Logs JSON lines (pipelines/log.sh): start, rows, deleted, the programs'
# summaries, end. One run per store at a time (flock on STORE.lock, as
# cron.sh holds it; waits up to LODE_SQL_WAIT seconds, default 3600).
# Exit status: 0, 1 some rows failed (error records in WORK/NAME.errors),
# 2 usage, 3 the database or the store could not be used.
# Environment: LODE_BIN (the folder of the lode programs; default: beside
# pipelines/, else on PATH), LODE_SQL_WAIT,
# LODE_THREADS.
set -u
set -o pipefail
usage() {
    echo "usage: sql.sh --db DB --table NAME --key COL --text COL[,COL]... [--query SQL] [--name NAME] [--work DIR] STORE [MODEL]" >&2
    exit 2
}
need() { [ $# -ge 2 ] || usage; } # an option and its value
DB="" TABLE="" KEY="" TEXT="" QUERY="" NAME="" WORK=""
while [ $# -gt 0 ]; do
    case $1 in
    --db) need "$@" && DB=$2 && shift 2 ;;
    --table) need "$@" && TABLE=$2 && shift 2 ;;
    --key) need "$@" && KEY=$2 && shift 2 ;;
    --text) need "$@" && TEXT=$2 && shift 2 ;;
    --query) need "$@" && QUERY=$2 && shift 2 ;;
    --name) need "$@" && NAME=$2 && shift 2 ;;
    --work) need "$@" && WORK=$2 && shift 2 ;;
    -h | --help) usage ;;
    --) shift && break ;;
    -*) echo "sql.sh: unknown option $1" >&2 && usage ;;
    *) break ;;
    esac
done
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$DB" ] || [ -z "$TABLE" ] || [ -z "$KEY" ] || [ -z "$TEXT" ]; then
    usage
fi
STORE=$1 MODEL=${2:-}
NAME=${NAME:-$TABLE}
WORK=${WORK:-$STORE.sql}
QUERY=${QUERY:-SELECT * FROM \"${TABLE//\"/\"\"}\"}
HERE=$(cd "$(dirname "$0")" && pwd)
THREADS=${LODE_THREADS:-1}
# shellcheck source=pipelines/log.sh
. "$HERE/log.sh"
# shellcheck source=pipelines/find.sh
. "$HERE/find.sh"
lode_find "$HERE" lode-chunk lode-index ${MODEL:+lode-embed}
P=$LODE_BIN/
fail() {
    log error --arg error "$1"
    exit 3
}
case $NAME in */* | "") echo "sql.sh: --name may not hold a /" >&2 && exit 2 ;; esac

# rows: the query's rows as JSON objects, one a line
case $DB in
postgresql://* | postgres://*)
    command -v psql > /dev/null || fail "psql not found (Debian: postgresql-client)"
    rows() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "SELECT row_to_json(q) FROM ($QUERY) q"; }
    ;;
sqlite:*)
    command -v sqlite3 > /dev/null || fail "sqlite3 not found (Debian: sqlite3)"
    file=${DB#sqlite:}
    [ -r "$file" ] || fail "$file: no such database"
    rows() { sqlite3 -readonly -bail -json "$file" "$QUERY" | jq -c '.[]'; }
    ;;
*) echo "sql.sh: --db takes postgresql://... or sqlite:PATH" >&2 && exit 2 ;;
esac

mkdir -p "$WORK" || fail "cannot create $WORK"
exec 9>> "$STORE.lock" || fail "cannot open the lock $STORE.lock"
flock -w "${LODE_SQL_WAIT:-3600}" 9 || fail "another run holds $STORE.lock"
start=$(date +%s.%N)
log start --arg db "${DB%%\?*}" --arg name "$NAME" --arg store "$STORE" --arg model "$MODEL"
rec=$WORK/$NAME.records keys=$WORK/$NAME.keys errs=$WORK/$NAME.errors
rows > "$rec.rows" 2> "$WORK/$NAME.db.err" || fail "the query failed: $(tail -1 "$WORK/$NAME.db.err")"
# each row a record; its doc hash is the SHA-256 of the record, so any
# changed column makes it a changed document
jq -c --arg name "$NAME" --arg key "$KEY" --arg text "$TEXT" '
    ($text | split(",")) as $cols
    | if has($key) | not then error("the rows have no column \($key)") else . end
    | (.[$key] | if type == "string" then . else tojson end) as $k
    | {id: "\($name)/\($k)", source: "\($name)/\($k)", page: 1,
       text: [.[$cols[]] | select(. != null) | if type == "string" then . else tojson end
              | select(length > 0)] | join("\n\n"),
       meta: (with_entries(select(.key as $c | $cols | index($c) | not)) + {table: $name})}' \
    "$rec.rows" > "$rec.tmp" 2> "$WORK/$NAME.jq.err" || fail "$(tail -1 "$WORK/$NAME.jq.err")"
perl -MDigest::SHA=sha256_hex -ne 'chomp; my $h = substr(sha256_hex($_), 0, 16);
    s/^\{/{"doc":"$h",/; print "$_\n"' "$rec.tmp" > "$rec" || fail "cannot write $rec"
rm -f "$rec.tmp" "$rec.rows"
nrows=$(grep -c . "$rec")
# the sources of this run (JSON strings, sorted) and of the last one
jq -c 'select(.text != "") | .source' "$rec" | LC_ALL=C sort -u > "$keys.new"
if [ ! -e "$keys" ]; then # no last run here: what the store holds of NAME/
    "${P}lode-index" -s "$STORE" --dump 2> /dev/null |
        jq -c --arg p "$NAME/" 'select(.source | startswith($p)) | .source' | LC_ALL=C sort -u > "$keys"
fi
deleted=$(LC_ALL=C comm -23 "$keys" "$keys.new" | jq -c '{source: .}' | tee "$WORK/$NAME.gone" | grep -c .)
log rows --argjson rows "$nrows" --argjson texts "$(grep -c . "$keys.new")" --argjson deleted "$deleted"
status=0
if [ "$deleted" -gt 0 ]; then
    "${P}lode-index" -s "$STORE" --delete < "$WORK/$NAME.gone" 2> "$WORK/$NAME.index.err" ||
        fail "lode-index --delete failed: $(tail -1 "$WORK/$NAME.index.err")"
    log message --arg message "$(tail -1 "$WORK/$NAME.index.err")"
fi
: > "$errs"
{
    jq -c 'select(.text != "")' "$rec" |
        "${P}lode-index" -s "$STORE" --skip-unchanged |
        "${P}lode-chunk" --errors "$errs" |
        if [ -n "$MODEL" ]; then "${P}lode-embed" -m "$MODEL" -j "$THREADS" --errors "$errs"; else cat; fi |
        "${P}lode-index" -s "$STORE" ${MODEL:+-m "$MODEL"} -j "$THREADS" --errors "$errs"
} 2> "$WORK/$NAME.run.err"
rc=$?
while IFS= read -r line; do log message --arg message "$line"; done < "$WORK/$NAME.run.err"
if [ "$rc" -ge 2 ]; then
    fail "the indexing pipeline failed (exit status $rc)"
fi
[ -s "$errs" ] && status=1
mv -f "$keys.new" "$keys" || fail "cannot write $keys"
seconds=$(echo "$(date +%s.%N) - $start" | bc)
log end --argjson status "$status" --argjson seconds "$seconds" --argjson rows "$nrows" \
    --argjson deleted "$deleted" --argjson failed "$(grep -c . "$errs")"
exit "$status"
