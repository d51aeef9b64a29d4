#!/bin/bash
# make models without the internet, and from an install: models/fetch.sh
# against a server that cannot be reached (exit 3, a message that says what
# to do, no folder or part file left) and against a mirror (file://) whose
# file has the wrong checksum (exit 1, the file not kept); the installed
# copy (make install) behaves the same and writes where it is told.
. "$LODE_ROOT/tests/lib.sh"
F=$ROOT/models/fetch.sh
LODE_MODELS_URL=http://127.0.0.1:9 sh "$F" "$PWD/m" > off.out 2> off.err
expect_eq "an unreachable server: exit 3" 3 $?
check "...saying so, and what to do" has off.err "cannot download from http://127.0.0.1:9"
check "...no folder left behind" test ! -e m
mkdir -p mirror/sentence-transformers/all-MiniLM-L6-v2/resolve/main
echo '{"not": "the real config"}' > mirror/sentence-transformers/all-MiniLM-L6-v2/resolve/main/config.json
LODE_MODELS_URL=file://$PWD/mirror sh "$F" "$PWD/m2" > bad.out 2> bad.err
expect_eq "a mirror with a wrong file: exit 1" 1 $?
check "...the checksum named, the file not kept" \
    bash -c "grep -q 'all-MiniLM-L6-v2/config.json: checksum .* not kept' bad.err && [ ! -e m2/all-MiniLM-L6-v2/config.json ]"
make -s -C "$ROOT" install PREFIX="$PWD/inst" > install.out 2>&1
check "make install puts the fetcher and its checksums in PREFIX/share/lode/models" \
    test -x inst/share/lode/models/fetch.sh -a -s inst/share/lode/models/SHA256SUMS
LODE_MODELS_URL=http://127.0.0.1:9 inst/share/lode/models/fetch.sh "$PWD/m3" > /dev/null 2> inst.err
expect_eq "...which fails the same way offline (exit 3)" "3 1" "$? $(grep -c 'cannot download' inst.err)"
expect_eq "the man pages name the generator file make models writes" "" \
    "$(grep -l 'q5_k_m.gguf' "$ROOT"/man/man1/*.1 "$ROOT/README.md")"

# the installed pipelines find the installed programs under cron's environment
mkdir -p docs
printf 'Installed and found.\n' > docs/i.txt
env -i PATH=/usr/bin:/bin HOME="$HOME" inst/share/lode/pipelines/cron.sh docs ikb > icron.log 2> icron.err
expect_eq "installed cron.sh with PATH=/usr/bin:/bin: exit 0, nothing on stderr" "0 " "$? $(cat icron.err)"
check "...the document indexed (lode-index found in PREFIX/bin)" \
    bash -c "[ \"\$(inst/bin/lode-index -s ikb --stats | jq .chunks)\" = 1 ]"
