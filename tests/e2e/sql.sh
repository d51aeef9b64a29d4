#!/bin/bash
# pipelines/sql.sh against SQLite and against a real PostgreSQL server the
# test starts itself (initdb + pg_ctl in a temporary folder, a port on
# 127.0.0.1): rows inserted, updated, deleted, a text emptied, run after
# run; after each the store's chunks are compared with the table (source
# and text of every row), and the runs' logs say that only changed rows
# went through lode-chunk again. With a model, every chunk has its vector.
. "$LODE_ROOT/tests/lib.sh"
S=$ROOT/pipelines/sql.sh
MODEL=$SHARED/models/tiny-bert-f32
export LODE_BIN=$BIN

# matches STORE NAME EXPECTED: the store's chunks of NAME/ as "source|text"
# lines equal EXPECTED (one chunk a row: the texts are short)
matches() {
    local got
    got=$(lode-index -s "$1" --dump 2> /dev/null |
        jq -r --arg p "$2/" 'select(.source | startswith($p)) | "\(.source)|\(.text | gsub("\n"; "~"))"' | LC_ALL=C sort)
    [ "$got" = "$3" ] || { printf 'expected:\n%s\ngot:\n%s\n' "$3" "$got" >&2; return 1; }
}
# ran LOG: "rows held_back replaced deleted" of a run, from its log
ran() {
    jq -rs '(map(select(.event == "end"))[0]) as $e
        | [.[] | select(.event == "message") | .message] as $m
        | ([$m[] | select(test("held back")) | capture("(?<n>[0-9]+) of unchanged").n][0] // "-") as $h
        | ([$m[] | select(test("sources replaced")) | capture("(?<n>[0-9]+) sources replaced").n][0] // "-") as $r
        | "\($e.rows) \($h) \($r) \($e.deleted)"' "$1"
}

# ---- SQLite ----
sql() { sqlite3 app.db "$1"; }
sql "CREATE TABLE tickets(id INTEGER PRIMARY KEY, subject TEXT, body TEXT, status TEXT);
     INSERT INTO tickets VALUES (1, 'Printer jams', 'The printer jams on A3 paper.', 'open'),
       (2, 'VPN drops', 'The VPN drops every hour.', 'closed'), (3, 'Quota', 'Disk quota exceeded.', NULL);"
expected() { sql "SELECT 'tickets/' || id || '|' || subject || '~~' || body FROM tickets WHERE coalesce(subject, '') || coalesce(body, '') <> '' ORDER BY 'tickets/' || id" | LC_ALL=C sort; }
run() { "$S" --db sqlite:app.db --table tickets --key id --text subject,body "$@" > run.log 2> run.err; }
run kb
expect_eq "sqlite: a first run exits 0, nothing on stderr" "0 " "$? $(cat run.err)"
check "...the store holds every row: source tickets/ID, text subject and body" matches kb tickets "$(expected)"
check "...the other columns in meta" \
    jqe -s 'map(select(.source == "tickets/1"))[0].meta == {"id": 1, "status": "open", "table": "tickets"}' \
    <(lode-index -s kb --dump 2> /dev/null)
check "...a JSON log: start, rows, the programs, end" jqe -s '.[0].event == "start" and .[1].rows == 3 and .[-1].event == "end" and .[-1].status == 0' run.log
sql "UPDATE tickets SET body = 'The printer jams on A4 paper too.' WHERE id = 1;
     INSERT INTO tickets VALUES (4, 'Mail', 'Mail bounces.', 'open');"
run kb
check "an updated and an inserted row: the store follows" matches kb tickets "$(expected)"
expect_eq "...only those two went on to lode-chunk (2 unchanged held back, 1 replaced)" "4 2 1 0" "$(ran run.log)"
sql "UPDATE tickets SET status = 'closed' WHERE id = 3;"
run kb
expect_eq "a change in a meta column only: that row indexed again" "4 3 1 0" "$(ran run.log)"
check "...its meta updated" jqe -s 'map(select(.source == "tickets/3"))[0].meta.status == "closed"' <(lode-index -s kb --dump 2> /dev/null)
sql "DELETE FROM tickets WHERE id = 2; UPDATE tickets SET subject = NULL, body = '' WHERE id = 4;"
run kb
check "a deleted row and one whose text is now empty leave the store" matches kb tickets "$(expected)"
expect_eq "...two deleted" "3 2 0 2" "$(ran run.log)"
run kb
expect_eq "nothing changed: nothing chunked, nothing deleted (the empty row not sent)" "3 2 0 0" "$(ran run.log)"
rm -r kb.sql
sql "DELETE FROM tickets WHERE id = 3;"
run kb
check "without the last run's keys (kb.sql removed), the store's own chunks say what was there" \
    matches kb tickets "$(expected)"
check "the store passes --check" bash -c 'lode-index -s kb --check > /dev/null 2>&1'
run kbv "$MODEL"
check "with a model: the same chunks" matches kbv tickets "$(expected)"
expect_eq "...each with its vector" "$(lode-index -s kbv --stats | jq .chunks)" "$(lode-index -s kbv --stats | jq .vectors)"
"$S" --db sqlite:app.db --table tickets --key id --text subject,body \
    --query "SELECT id, subject, body FROM tickets WHERE id > 100" --name open kb > q.log 2>&1
check "--query and --name: an empty result removes nothing of another name" matches kb tickets "$(expected)"
"$S" --db sqlite:app.db --table tickets --key nosuch --text body kb > bad.log 2> /dev/null
expect_eq "a key column the rows lack: exit 3" 3 $?
check "...saying so" jqe -s 'map(select(.event == "error"))[0].error | test("no column nosuch")' bad.log
"$S" --db sqlite:missing.db --table t --key id --text b kb > /dev/null 2>&1
expect_eq "a database that is not there: exit 3" 3 $?
"$S" --db mysql://x --table t --key id --text b kb > /dev/null 2>&1
expect_eq "an unknown kind of database: a usage error" 2 $?

# ---- PostgreSQL, a server of our own ----
PGBIN=$(pg_config --bindir 2> /dev/null)
for d in /usr/lib/postgresql/*/bin; do [ -x "$PGBIN/initdb" ] || PGBIN=$d; done
if [ ! -x "$PGBIN/initdb" ] || ! command -v psql > /dev/null; then
    notok "PostgreSQL is not installed (make deps-test: postgresql)"
    exit 0
fi
pg=$(mktemp -d)
chmod 755 "$pg"
if [ "$(id -u)" = 0 ]; then # the server refuses to run as root
    chown 65534:65534 "$pg"
    as_pg() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
    as_pg() { "$@"; }
fi
port=$((20000 + $$ % 20000))
as_pg "$PGBIN/initdb" -D "$pg/data" -U lode --auth=trust -E UTF8 --no-locale > pg.log 2>&1
as_pg "$PGBIN/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -t 60 \
    -o "-p $port -k $pg -c listen_addresses=127.0.0.1 -c fsync=off" start >> pg.log 2>&1
check "PostgreSQL: the test's own server started on 127.0.0.1:$port" \
    bash -c "psql -X -q -d postgresql://lode@127.0.0.1:$port/postgres -c 'SELECT 1' > /dev/null"
stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$pg/data" -m fast stop > /dev/null 2>&1; rm -rf "$pg"; }
trap stop_pg EXIT
URL=postgresql://lode@127.0.0.1:$port/postgres
psql_() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$URL" -c "$1"; }
psql_ "CREATE TABLE pages (slug text PRIMARY KEY, title text, body text, edited date);
       INSERT INTO pages VALUES ('apt', 'APT', 'apt installs packages.', '2026-01-02'),
         ('cron', 'Cron', 'cron runs jobs on a schedule.', '2026-02-03'),
         ('ssh', 'SSH', 'ssh logs in to other hosts.', NULL);"
pexpected() { psql_ "SELECT 'pages/' || slug || '|' || title || '~~' || body FROM pages" | LC_ALL=C sort; }
prun() { "$S" --db "$URL" --table pages --key slug --text title,body "$@" > prun.log 2> prun.err; }
prun pg
expect_eq "postgresql: a first run exits 0, nothing on stderr" "0 " "$? $(cat prun.err)"
check "...the store holds every row" matches pg pages "$(pexpected)"
check "...dates and NULLs in meta as PostgreSQL's JSON gives them" \
    jqe -s 'map(select(.source == "pages/apt"))[0].meta.edited == "2026-01-02" and map(select(.source == "pages/ssh"))[0].meta.edited == null' \
    <(lode-index -s pg --dump 2> /dev/null)
psql_ "UPDATE pages SET body = 'cron runs jobs at set times.' WHERE slug = 'cron';
       INSERT INTO pages VALUES ('make', 'Make', 'make builds what changed.', NULL);
       DELETE FROM pages WHERE slug = 'ssh';"
prun pg
check "an update, an insert and a delete: the store follows" matches pg pages "$(pexpected)"
expect_eq "...only the changed rows chunked, the deleted one removed" "3 1 1 1" "$(ran prun.log)"
prun pg
expect_eq "run again: nothing changed" "3 3 0 0" "$(ran prun.log)"
echo "cron schedule" | lode-query -s pg -k 1 2> /dev/null > hit.json
check "lode-query finds a row by its new text" jqe '.hits[0].source == "pages/cron"' hit.json
"$S" --db "postgresql://lode@127.0.0.1:$port/nosuchdb" --table pages --key slug --text body pg > bad.log 2> /dev/null
expect_eq "a database that is not there: exit 3" 3 $?
check "...psql's reason in the log" jqe -s 'map(select(.event == "error"))[0].error | test("nosuchdb")' bad.log
check "the store passes --check" bash -c 'lode-index -s pg --check > /dev/null 2>&1'
