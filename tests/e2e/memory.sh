#!/bin/bash
# Conversation memory (lode-generate --session): a scripted conversation of
# five turns with the extractive generator over a small store; the follow-up
# made standalone finds the earlier turn's document; turns are searchable;
# a note survives --forget-after 0; two sessions do not see each other's
# turns; lode-index --delete session:NAME removes one; --check after each step.
. "$LODE_ROOT/tests/lib.sh"

printf 'Debian 12 (bookworm) ships apt version 2.6 and Linux 6.1.\n' > debian12.md
printf 'Debian 11 (bullseye) ships apt version 2.2 and Linux 5.10.\n' > debian11.md
printf 'Bananas are yellow fruit that grow in bunches.\n' > fruit.md
lode-extract debian12.md debian11.md fruit.md 2> /dev/null | lode-chunk 2> /dev/null | lode-index -s kb 2> /dev/null
say() { echo "{\"q\":\"$2\"}" | lode-generate --session "$1" -s kb 2> /dev/null; }

say s1 'which apt version does Debian 12 ship?' > t1.json
check "turn 1: answered from the document" jqe '.session == "s1" and .hits[0].source == "debian12.md" and (.answer | test("apt version 2.6"))' t1.json
check "...the turn is in the store, and the store passes --check" consistent kb
expect_eq "...as a chunk of source session:s1" "session:s1#1|which apt version does Debian 12 ship?" \
    "$(lode-index -s kb --dump | jq -r 'select(.source == "session:s1") | "\(.id)|\(.meta.question)"')"
say s1 'and on Debian 11?' > t2.json
check "turn 2, a follow-up: made standalone with the last question's words" \
    jqe '.standalone | test("^and on Debian 11\\? ") and test("apt") and test("version")' t2.json
check "...its hits hold both documents and the earlier turn" \
    jqe '[.hits[].source] as $s | ($s | index("debian11.md")) != null and ($s | index("debian12.md")) != null and ($s | index("session:s1")) != null' t2.json
check "...and its answer quotes Debian 11's sentence" jqe '.answer | test("apt version 2.2")' t2.json
say s1 'what did you say about bookworm?' > t3.json
check "turn 3: a question about the conversation finds the conversation" jqe '[.hits[].source] | index("session:s1") != null' t3.json
check "...not a follow-up: the question as asked" jqe '.standalone == null' t3.json
lode-generate --session s1 -s kb --remember 'the backup server is called zeus' < /dev/null 2> /dev/null
say s1 'what is the backup server called?' > t4.json
check "turn 4: the note is found" jqe '.answer | test("zeus")' t4.json
say s2 'which apt version does bookworm ship?' > other.json
check "another session: the documents, none of session s1's turns" \
    jqe '([.hits[].source] | index("session:s1")) == null and .hits[0].source == "debian12.md"' other.json
check "...the store passes --check" consistent kb
expect_eq "lode-query: every conversation's turns are hits by default" "session:s1 session:s2" \
    "$(echo 'apt version bookworm' | lode-query -s kb 2> /dev/null | jq -r '[.hits[].source | select(startswith("session:"))] | unique | join(" ")')"
expect_eq "lode-query --session s2: only that conversation's" "session:s2" \
    "$(echo 'apt version bookworm' | lode-query -s kb --session s2 2> /dev/null | jq -r '[.hits[].source | select(startswith("session:"))] | unique | join(" ")')"
expect_eq "lode-query --no-memory: none, the documents still" "0 debian12.md" \
    "$(echo 'apt version bookworm' | lode-query -s kb --no-memory 2> /dev/null | jq -r '"\([.hits[].source | select(startswith("session:"))] | length) \(.hits[0].source)"')"
lode-generate --session s1 -s kb --forget-after 0 < /dev/null 2> /dev/null
expect_eq "--forget-after 0: every turn of s1 gone but the note" "Note: the backup server is called zeus" \
    "$(lode-index -s kb --dump | jq -r 'select(.source == "session:s1") | .text')"
say s1 'what is the backup server called?' > t5.json
check "turn 5, after forgetting: the note still answers" jqe '.answer | test("zeus")' t5.json
check "...--check after forgetting" consistent kb
echo session:s1 | lode-index -s kb --delete > /dev/null 2>&1
expect_eq "lode-index --delete session:s1: the conversation is gone, s2 and the documents stay" \
    "debian11.md debian12.md fruit.md session:s2" "$(lode-index -s kb --dump | jq -r .source | sort -u | tr '\n' ' ' | sed 's/ $//')"
# with a model the follow-up is rewritten by it (stories260K: nonsense, but
# its line becomes the query, and the turn is kept)
ST=$SHARED/models/stories260K/stories260K.gguf
echo '{"q":"which apt version does Debian 12 ship?"}' | lode-generate -m "$ST" -j 1 --max-tokens 8 --session m1 -s kb > m1.json 2> /dev/null
echo '{"q":"and on Debian 11?"}' | lode-generate -m "$ST" -j 1 --max-tokens 8 --session m1 -s kb > m2.json 2> /dev/null
check "with a model: the follow-up rewritten by it, one line, not the question, and answered" \
    jqe '(.standalone | type == "string" and length > 0 and (contains("\n") | not)) and .standalone != "and on Debian 11?" and (.answer | type == "string")' m2.json
expect_eq "...both turns kept, the second with the model's standalone question" "2 $(jq -c .standalone m2.json)" \
    "$(lode-index -s kb --dump | jq -s -c '[.[] | select(.source == "session:m1")] | "\(length) \(.[1].meta.standalone | tojson)"' -r)"
check "...the store passes --check" consistent kb
echo '{"q":"x"}' | lode-generate --session s1 > /dev/null 2> nostore.err
expect_eq "--session without a store: a usage error" 2 $?
echo '{"q":"x"}' | lode-generate --pin > /dev/null 2> nopin.err
expect_eq "--pin without --session: a usage error" 2 $?
echo '{"prompt":"x"}' | lode-generate --session s3 -s kb --errors noq.ndjson > /dev/null 2>&1
expect_eq "a record without a question: exit 1, an error record" "1 1" "$? $(wc -l < noq.ndjson)"
