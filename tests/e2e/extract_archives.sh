#!/usr/bin/env bash
# Archives: members become documents named archive!/member, nested archives
# are opened, sources can be reopened by that name, and bombs are stopped.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
D=$DATA/docs

mkdir -p tree/docs tree/.hidden-dir
cp "$D/md/wiki.md" tree/docs/wiki.md
cp "$D/csv/csv-comma.csv" tree/docs/people.csv
cp "$D/md/wiki.md" tree/.hidden-dir/secret.md
printf 'hidden\n' > tree/docs/.dotfile.txt
(cd tree && zip -qr ../inner.zip docs .hidden-dir)
mkdir -p outer
cp inner.zip outer/
cp "$D/docx/word_sample.docx" outer/
printf 'plain notes\n' > outer/notes.txt
gzip -k outer/notes.txt
tar -czf outer.tar.gz outer

lode-extract outer.tar.gz > arc.ndjson 2> arc.err
expect_eq "tar.gz: exit status 0" 0 $?
expect_eq "tar.gz: members and nested members, hidden ones left out" \
    "outer.tar.gz!/outer/inner.zip!/docs/people.csv
outer.tar.gz!/outer/inner.zip!/docs/wiki.md
outer.tar.gz!/outer/notes.txt
outer.tar.gz!/outer/notes.txt.gz!/notes.txt
outer.tar.gz!/outer/word_sample.docx" "$(jq -r .source arc.ndjson | sort)"
expect_eq "tar.gz: a member's type comes from its content" "docx" \
    "$(jq -r 'select(.source | endswith("word_sample.docx")) | .type' arc.ndjson)"
expect_eq "a member's doc hash is the hash of its bytes" \
    "$(sha256sum "$D/md/wiki.md" | cut -c1-16)" \
    "$(jq -r 'select(.source | endswith("docs/wiki.md")) | .doc' arc.ndjson)"
lode-extract --hidden outer.tar.gz > hidden.ndjson 2> /dev/null
check "--hidden reads hidden members" grep -q 'inner.zip!/.hidden-dir/secret.md' hidden.ndjson

# Reopening by source, as lode-ocr does with a page.
src='outer.tar.gz!/outer/inner.zip!/docs/wiki.md'
lode-extract "$src" > reopen.ndjson 2> /dev/null
expect_eq "a nested member is read again by its source name" \
    "$(jq -c 'select(.source | endswith("docs/wiki.md")) | {id, text}' arc.ndjson)" \
    "$(jq -c '{id, text}' reopen.ndjson)"
lode-extract 'outer.tar.gz!/outer/missing.pdf' > /dev/null 2> missing.err
expect_eq "a missing member: exit status 1" 1 $?
check "a missing member is named in the error" grep -q 'no member outer/missing.pdf' missing.err

# Directories: sorted, hidden files left out unless asked for or named.
lode-extract tree > tree.ndjson 2> /dev/null
expect_eq "a directory is read recursively in name order, hidden files left out" \
    "tree/docs/people.csv tree/docs/wiki.md" "$(jq -r .source tree.ndjson | tr '\n' ' ' | sed 's/ $//')"
lode-extract tree/docs/.dotfile.txt > dot.ndjson 2> /dev/null
expect_eq "a hidden file named on the command line is read" "hidden" "$(jq -r .text dot.ndjson)"

# Bombs: too much in all, too much per archive byte, too deep.
head -c 80M /dev/zero > zeros.bin
zip -q bomb.zip zeros.bin
lode-extract --errors bomb.ndjson bomb.zip > /dev/null 2>&1
expect_eq "ratio bomb: exit status 1" 1 $?
check "ratio bomb: the error names the member and the limit" \
    grep -q 'archive bomb guard: bomb.zip!/zeros.bin expands more than 200 times the archive.s size' bomb.ndjson
lode-extract --max-expand 50K --errors cap.ndjson outer.tar.gz > /dev/null 2>&1
check "--max-expand stops an archive that expands too far" grep -q 'expands beyond 51200 bytes' cap.ndjson
cp "$D/md/wiki.md" level0.md
for i in 1 2 3 4 5 6; do zip -q "level$i.zip" "level$((i - 1)).$([ $i = 1 ] && echo md || echo zip)"; done
lode-extract --errors deep.ndjson level6.zip > deep.out 2> /dev/null
check "archives nested too deep fail with a clear error" grep -q 'nested deeper than 4 levels' deep.ndjson
lode-extract --max-depth 8 level6.zip > deep8.out 2> /dev/null
check "--max-depth raises the nesting limit" grep -q 'level6.zip!/level5.zip!/level4.zip!/level3.zip!/level2.zip!/level1.zip!/level0.md' deep8.out

# The example archive of the shared data.
lode-extract "$DATA/docs/archives/simple.zip" > simple.ndjson 2> /dev/null
expect_eq "simple.zip: both members" "csv html" "$(jq -r .type simple.ndjson | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- a member's bytes past 16 MiB are not the process's memory ----
# a 20 MB Markdown member (read from its temporary file) gives its whole
# text; a 48 MB member under a 40 MB data limit (RLIMIT_DATA counts
# malloc, not read-only file maps) fails alone and the archive goes on
# (before: "the reader ran out of memory", every member lost)
mkdir -p big/m
python3 -c "
import random
random.seed(1)
w = ['lode', 'reads', 'archives', 'member', 'by', 'member', 'in', 'bounded', 'memory', 'pages']
with open('big/m/big.md', 'w') as f:
    while f.tell() < 20000000:
        f.write(' '.join(random.choice(w) for _ in range(12)) + '\n')"
cp "$D/md/wiki.md" big/m/small.md
tar -C big -czf bigmd.tar.gz m/big.md m/small.md
lode-extract bigmd.tar.gz > bigmd.ndjson 2> /dev/null
check "a 20 MB member: its text is the file's" python3 -c '
import json
t = [json.loads(l)["text"] for l in open("bigmd.ndjson") if "big.md" in l]
assert t == [open("big/m/big.md").read()]'

if ! san; then # ASan's shadow memory is itself a private mapping
    head -c 48000000 /dev/urandom > big/m/big.bin
    tar -C big -cf bigbin.tar m/big.bin m/small.md
    (ulimit -d 40000 && lode-extract --errors bigbin-err.ndjson bigbin.tar > bigbin.ndjson 2> bigbin.err)
    expect_eq "a 48 MB member under a 40 MB data limit: the other member read, the big one an error of its own" \
        "bigbin.tar!/m/small.md bigbin.tar!/m/big.bin" \
        "$(jq -r .source bigbin.ndjson) $(jq -r .source bigbin-err.ndjson)"
    rm -f big/m/big.bin bigbin.tar
fi
