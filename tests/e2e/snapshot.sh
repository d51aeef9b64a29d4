#!/bin/bash
# Snapshots (lode-index --snapshot, --snapshots, --restore, --keep): taken
# while a writer follows a stream and 20 queries read; each passes --check,
# holds exactly the stream's first records (the state of one commit), and
# answers as the store did when it was taken; --restore swaps one in
# atomically under readers, keeping what the store held as a snapshot;
# --keep prunes the oldest; lode-query reads a snapshot directly.
. "$LODE_ROOT/tests/lib.sh"
rec() { printf '{"id":"r%d","source":"s%d.md","text":"common word%d and w%d fruit"}\n' "$1" "$1" "$1" $(($1 % 7)); }
answers() { # STORE: the hits of five queries, ids and scores
    for q in common fruit w3 word5 'word40 common'; do
        echo "$q" | lode-query -s "$1" -k 8 2> /dev/null | jq -c '[.hits[] | [.id, .score]]'
    done
}
not_same() { ! cmp -s "$1" <(answers "$2"); }
prefix() { # STORE: 1 when its chunks are exactly r1..rN for some N
    lode-index -s "$1" --dump 2> /dev/null | jq -r .id | sed 's/^r//' | sort -n |
        awk '$1 != NR { bad = 1 } END { exit bad }'
}
mkfifo feed
(
    for i in $(seq 1 30); do rec "$i"; done
    until [ -e go1 ]; do sleep 0.05; done # a pause: answered and snapshotted
    for i in $(seq 31 60); do
        rec "$i"
        sleep 0.02
    done
    until [ -e go2 ]; do sleep 0.05; done
    for i in $(seq 61 120); do
        rec "$i"
        sleep 0.02
    done
) > feed &
feeder=$!
lode-index -s kb --commit-every 0.1 < feed 2> writer.err &
writer=$!
chunks() { lode-index -s kb --stats 2> /dev/null | jq .chunks; }
until_chunks() { for _ in $(seq 600); do [ "$(chunks)" = "$1" ] && break; sleep 0.05; done; }
until_chunks 30
(
    for _ in $(seq 20); do
        echo common | lode-query -s kb -k 3 > /dev/null 2>&1 || echo fail
        sleep 0.1
    done > readers.out
) &
readers=$!
answers kb > at1.txt
lode-index -s kb --snapshot snaps/one > one.json 2> /dev/null
expect_eq "a snapshot in the first pause: written (its folder made)" 0 $?
touch go1
sleep 0.3
lode-index -s kb --snapshot snaps/busy > busy.json 2>&1 # while the writer writes
until_chunks 60
answers kb > at2.txt
lode-index -s kb --snapshot snaps/two > two.json 2> /dev/null
touch go2
wait "$feeder" "$writer" "$readers"
expect_eq "20 queries read while the writer wrote and the snapshots were taken" "" "$(cat readers.out)"
check "the writer indexed the whole stream" has writer.err "120 ok, 0 failed; 120 chunks added"
for s in one busy two; do
    check "snapshot $s passes --check" consistent "snaps/$s"
    check "...and holds the stream's first records, no more, no fewer (one commit's state)" prefix "snaps/$s"
done
expect_eq "snapshot one: the 30 records before the first pause" 30 "$(jq .chunks one.json)"
expect_eq "snapshot two: the 60 records before the second pause" 60 "$(jq .chunks two.json)"
check "snapshot one answers the five queries as the store did when it was taken" \
    cmp -s at1.txt <(answers snaps/one)
check "snapshot two too" cmp -s at2.txt <(answers snaps/two)
check "...and the store now answers otherwise (it went on)" not_same at2.txt kb
expect_eq "--snapshots lists the three, oldest first, with their chunks" "one:30 busy two:60" \
    "$(lode-index -s kb --snapshots | jq -r '(.path | sub(".*/"; "")) + (if .path | endswith("busy") then "" else ":\(.chunks)" end)' | tr '\n' ' ' | sed 's/ $//')"
check "...with time and bytes" jqe -s 'all(.time | test("^20[0-9-]+T[0-9:]+Z$")) and all(.bytes > 0)' \
    <(lode-index -s kb --snapshots)

# restore under readers
answers kb > final.txt
(
    for _ in $(seq 20); do
        echo common | lode-query -s kb -k 3 > /dev/null 2>&1 || echo fail
    done > readers2.out
) &
readers=$!
lode-index -s kb --restore snaps/one > restore.json 2> restore.err
expect_eq "--restore: exit 0" 0 $?
wait "$readers"
expect_eq "...queries reading meanwhile never failed" "" "$(cat readers2.out)"
check "...the store now answers as snapshot one did" cmp -s at1.txt <(answers kb)
check "...and passes --check" consistent kb
kept=$(jq -r .kept_as restore.json)
check "...what it held is kept as a snapshot beside the restored one (kb-TIME)" \
    test "$(dirname "$kept")" = "$PWD/snaps" -a -d "$kept"
check "...which answers as the store did before the restore" cmp -s final.txt <(answers "$kept")
expect_eq "...and is listed last" "$kept" "$(lode-index -s kb --snapshots | tail -1 | jq -r .path)"
check "snapshot one itself is unchanged by restoring from it" cmp -s at1.txt <(answers snaps/one)
printf '{"id":"new","source":"new.md","text":"common after restore"}\n' | lode-index -s kb 2> /dev/null
expect_eq "the restored store takes writes" 31 "$(lode-index -s kb --stats | jq .chunks)"

# pruning
lode-index -s kb --snapshot snaps/three --keep 2 > three.json 2> /dev/null
expect_eq "--snapshot --keep 2: two older ones pruned" 3 "$(jq .pruned three.json)"
expect_eq "...the newest two are left, listed and on disk" "$(basename "$kept") three" \
    "$(lode-index -s kb --snapshots | jq -r '.path | sub(".*/"; "")' | tr '\n' ' ' | sed 's/ $//')"
check "...the pruned folders are gone" test ! -e snaps/one -a ! -e snaps/busy -a ! -e snaps/two
printf '{"id":"x","source":"x","text":"x"}\n' | lode-index -s other 2> /dev/null
lode-index -s other --snapshot snaps/foreign > /dev/null 2>&1
jq -c '.path = "'"$PWD"'/snaps/foreign"' <(lode-index -s kb --snapshots | head -1) > extra
cat extra "$PWD/kb/snapshots.jsonl" > reg && mv reg "$PWD/kb/snapshots.jsonl"
lode-index -s kb --keep 1 2> keep.err
check "--keep alone prunes; another store's snapshot named in the registry is left, with a warning" \
    test -d snaps/foreign -a -d snaps/three
check "...which says why" has keep.err "is not a snapshot of"

# errors
lode-index -s kb --snapshot snaps/three > /dev/null 2> exists.err
expect_eq "--snapshot into a folder that exists: exit 3" 3 $?
check "...saying so" has exists.err "a snapshot goes into a new folder"
lode-index -s kb --restore nowhere > /dev/null 2>&1
expect_eq "--restore of a folder that is not there: exit 3" 3 $?
lode-index -s kb --restore kb > /dev/null 2>&1
expect_eq "--restore of the store itself: exit 3" 3 $?
lode-index -s kb --snapshot x --keep 0 > /dev/null 2>&1
expect_eq "--snapshot --keep 0: a usage error" 2 $?
lode-index -s kb --snapshot x --check > /dev/null 2>&1
expect_eq "--snapshot with --check: a usage error (separate runs)" 2 $?
check "the store passes --check after all this" consistent kb
