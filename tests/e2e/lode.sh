#!/bin/bash
# lode, the umbrella command: programs run through it; lode ingest twice on
# examples/ (the second run starts no program: shims count the starts);
# lode ask on a terminal (script -qc) and through a pipe; lode stores;
# lode models offline; the config file; the bash completions.
. "$LODE_ROOT/tests/lib.sh"
expect_eq "lode extract runs lode-extract" "lode-extract 0.1.0" "$(lode extract --version)"
lode nope > /dev/null 2> nope.err
expect_eq "an unknown command: exit 2, saying so" "2 1" "$? $(grep -c "'nope' is not a lode command" nope.err)"

# a tree like an install: lode beside shims that log each start
mkdir -p t/bin
ln -s "$ROOT/pipelines" t/pipelines
cp "$BIN/lode" t/bin/lode
for p in extract ocr chunk index query generate rerank embed; do
    printf '#!/bin/sh\necho lode-%s >> %s/starts\nexec %s/lode-%s "$@"\n' "$p" "$PWD" "$BIN" "$p" > "t/bin/lode-$p"
    chmod +x "t/bin/lode-$p"
done
cp -r "$ROOT/examples" docs
t/bin/lode ingest docs -s kb -j 2 > ingest1.out 2> ingest1.err
expect_eq "lode ingest: exit 0" 0 $?
check "...every document in the store" jqe '.sources >= 10' <(lode-index -s kb --stats)
n1=$(grep -c . starts)
: > starts
t/bin/lode ingest docs -s kb -j 2 > ingest2.out 2> ingest2.err
expect_eq "lode ingest again, nothing changed: exit 0 and no program started ($n1 the first time)" "0 0" \
    "$? $(grep -c . starts)"
echo 'Now there is one more.' > docs/new.md
: > starts
t/bin/lode ingest docs -s kb -j 2 > /dev/null 2>&1
expect_eq "...one new document: extracted, OCR'd and chunked alone, one lode-index" \
    "lode-chunk lode-extract lode-index lode-ocr" "$(sort starts | tr '\n' ' ' | sed 's/ $//')"

# lode ask
lode ask -s kb which formats can lode read > ask.json
check "lode ask through a pipe: lode-generate's record, the question's hits" \
    jqe '.q == "which formats can lode read" and (.hits[0].source | endswith("formats.csv")) and (.answer | length) > 0' ask.json
script -qec "lode ask -s kb -k 3 which formats can lode read" /dev/null > tty.txt
check "lode ask on a terminal: the answer, then one line a hit: rank, source:page, score, text" \
    bash -c "grep -aq '^  1\. docs/.*formats.csv:1  [0-9.]*  format: PDF' tty.txt && grep -ac '^  [0-9]\. ' tty.txt | grep -qx 3"
check "...not JSON" bash -c "! grep -aq '\"hits\"' tty.txt"
lode ask > /dev/null 2>&1
expect_eq "lode ask without a question: a usage error" 2 $?

# lode stores
lode-index -s kb --snapshot snaps/one > /dev/null 2>&1
lode stores . > stores.out
check "lode stores: each store under the folder with its figures, snapshots left out" \
    jqe -s 'length == 1 and .[0].store == "./kb" and .[0].chunks > 0' stores.out

# lode models, offline
check "lode models list: the two models make models knows" jqe -s 'map(.model) == ["all-MiniLM-L6-v2", "qwen2.5-0.5b-instruct"]' <(LODE_HOME=$PWD/home lode models list)
LODE_MODELS_URL=http://127.0.0.1:9 LODE_HOME=$PWD/home lode models pull all-MiniLM-L6-v2 > /dev/null 2> pull.err
expect_eq "lode models pull without the internet: exit 3, saying so" "3 1" "$? $(grep -c 'cannot download' pull.err)"
lode models pull nosuch > /dev/null 2>&1
expect_eq "...an unknown model: a usage error" 2 $?

# the config file
mkdir -p cfg/lode
printf '# defaults\nstore = %s/kb\n' "$PWD" > cfg/lode/config
XDG_CONFIG_HOME=$PWD/cfg lode ask --json release notes > cfgask.json
check "the config file's store: lode ask without -s" jqe '(.hits | length) > 0' cfgask.json
LODE_STORE=nowhere XDG_CONFIG_HOME=$PWD/cfg lode ask --json release notes > /dev/null 2>&1
expect_eq "...the environment wins over it (LODE_STORE=nowhere: the store cannot be opened)" 3 $?
printf 'stor = x\n' > cfg/lode/config
XDG_CONFIG_HOME=$PWD/cfg lode stores . > /dev/null 2> cfg.err
expect_eq "an unknown key: a usage error naming the line" "2 1" "$? $(grep -c 'config:1: unknown key' cfg.err)"

# completions
comp() { bash -c ". '$ROOT/completions/lode.bash'; COMP_WORDS=($1); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); ${2:-_lode}; echo \"\${COMPREPLY[*]}\""; }
expect_eq "bash completion: lode in<TAB>" "index ingest" "$(comp 'lode in')"
expect_eq "...lode query --mo<TAB>: lode-query's own options" "--mode --model" "$(comp 'lode query --mo')"
expect_eq "...lode models pull <TAB>" "all-MiniLM-L6-v2 qwen2.5-0.5b-instruct" "$(comp "lode models pull ''")"
expect_eq "...lode-index --snap<TAB>" "--snapshot --snapshots" "$(comp 'lode-index --snap' _lode_program)"
if command -v zsh > /dev/null; then
    check "the zsh completion parses" zsh -n "$ROOT/completions/_lode"
fi
