#!/bin/bash
# pipelines/watch.sh on a folder tree: files created, modified, renamed and
# deleted in nested folders, a new folder with a file, a file written
# slowly in pieces; the store follows each (the time from the change to a
# query seeing it is printed and bounded); SIGTERM exits 0 and leaves no
# inotifywait behind.
. "$LODE_ROOT/tests/lib.sh"
W=$ROOT/pipelines/watch.sh
if ! command -v inotifywait > /dev/null; then
    notok "inotifywait is not installed (make deps-test: inotify-tools)"
    exit 0
fi
sources() { lode-index -s kb --dump 2> /dev/null | jq -r .source | sort -u | tr '\n' ' ' | sed 's/ $//'; }
text_in() { lode-index -s kb --dump 2> /dev/null | jq -r --arg s "$1" 'select(.source == $s) | .text'; }
# follows WHAT TEST...: waits up to 30 s for the test to pass; prints the time
follows() {
    local what=$1 t0 t
    shift
    t0=$(date +%s.%N)
    for _ in $(seq 300); do
        if "$@"; then
            t=$(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)")
            echo "# $what: $t s" >&2
            expect_le "$what (seconds from the change)" 10 "$t"
            return
        fi
        sleep 0.1
    done
    notok "$what (not within 30 s)"
}
has_sources() { [ "$(sources)" = "$1" ]; }
mkdir -p docs/x/y
printf 'Apples grow on trees.\n' > docs/a.txt
printf 'Bananas come in bunches.\n' > docs/x/y/b.txt
LODE_WATCH_DEBOUNCE=0.5 "$W" docs kb > watch.log 2> watch.err &
watch=$!
follows "the run at start indexes what is there" has_sources "docs/a.txt docs/x/y/b.txt"
for _ in $(seq 100); do grep -q '"event":"end"' watch.log && break; sleep 0.1; done
check "...logged: watching, then cron.sh's run" jqe -s '.[0].event == "watching" and (map(.event) | index("end")) != null' watch.log

printf 'Cherries are red.\n' > docs/x/new.txt
follows "a file created in a nested folder" has_sources "docs/a.txt docs/x/new.txt docs/x/y/b.txt"
check "...logged as changes with its path" \
    jqe -s 'map(select(.event == "changes")) | any(.paths | index("docs/x/new.txt") != null)' watch.log
printf 'Apricots, not apples.\n' > docs/a.txt
follows "a file modified" bash -c '[ "$(lode-index -s kb --dump 2> /dev/null | jq -r '\''select(.source == "docs/a.txt") | .text'\'')" = "Apricots, not apples." ]'
mv docs/x/y/b.txt docs/x/y/c.txt
follows "a file renamed" has_sources "docs/a.txt docs/x/new.txt docs/x/y/c.txt"
rm docs/x/new.txt
follows "a file deleted" has_sources "docs/a.txt docs/x/y/c.txt"
mkdir -p docs/deep/er
printf 'Dates are sweet.\n' > docs/deep/er/d.txt
follows "a new folder with a file in it" has_sources "docs/a.txt docs/deep/er/d.txt docs/x/y/c.txt"
mv docs/deep /tmp/lode-watch-moved.$$
follows "a folder moved out of the tree" has_sources "docs/a.txt docs/x/y/c.txt"
mv /tmp/lode-watch-moved.$$ docs/back
follows "...and moved back in under another name" has_sources "docs/a.txt docs/back/er/d.txt docs/x/y/c.txt"

# a file written slowly: nothing of it until its writer closes it
exec 5> docs/slow.txt
printf 'Elderberries, part one.\n' >&5
sleep 1.5 # three debounce intervals
expect_eq "a file being written (open, 1.5 s): not indexed half-written" "" "$(text_in docs/slow.txt)"
printf 'Elderberries, part two.\n' >&5
exec 5>&-
follows "...when it is closed, indexed whole" bash -c 'lode-index -s kb --dump 2> /dev/null | jq -r '\''select(.source == "docs/slow.txt") | .text'\'' | grep -q "part one.*part two\|part two"'
check "...both parts" bash -c '[ "$(lode-index -s kb --dump 2> /dev/null | jq -r '\''select(.source == "docs/slow.txt") | .text'\'' | tr "\n" " ")" = "Elderberries, part one. Elderberries, part two. " ]'
check "the store passes --check" bash -c 'lode-index -s kb --check > /dev/null 2>&1'

kill -TERM "$watch"
wait "$watch"
expect_eq "SIGTERM: exit 0" 0 $?
check "...logged as stopped" jqe -s '.[-1].event == "stopped"' watch.log
check "...no inotifywait left watching docs" bash -c '! pgrep -f "inotifywait.* docs$" > /dev/null'
check "...nothing on stderr" test ! -s watch.err

"$W" nowhere kb > bad.log 2> /dev/null
expect_eq "a folder that is not there: exit 3" 3 $?
check "...saying so in the log" jqe -s '.[0].event == "error" and (.[0].error | test("nowhere is not a folder"))' bad.log
LODE_WATCH_DEBOUNCE=soon "$W" docs kb > /dev/null 2>&1
expect_eq "LODE_WATCH_DEBOUNCE=soon: a usage error" 2 $?
