#!/usr/bin/env bash
# Every program: --help and --version, and its man page documents exactly
# the options --help lists.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
for prog in lode lode-extract lode-ocr lode-chunk lode-entities lode-embed lode-index lode-query lode-rerank lode-generate lode-finetune; do
    page=$ROOT/man/man1/$prog.1
    "$prog" --help > help.txt 2> help.err
    expect_eq "$prog --help: exit 0, usage on stdout" "0 Usage: $prog" "$? $(head -1 help.txt | cut -d' ' -f1-2)"
    check "$prog --help: nothing on stderr" test ! -s help.err
    expect_eq "$prog --version" "$prog 0.1.0" "$("$prog" --version)"
    "$prog" --no-such-option > bad.out 2> bad.err
    expect_eq "$prog: an unknown option exits 2 with usage on stderr" "2 0" "$? $(wc -c < bad.out)"
    check "$prog: the usage error names the option" grep -q "unknown option '--no-such-option'" bad.err
    grep -o -- '--[a-z][a-z-]*' help.txt | sort -u > help-opts.txt
    # the options the page's OPTIONS section documents
    sed -n '/^\.SH OPTIONS/,/^\.SH [A-NP-Z]/p' "$page" | grep -o -- '\\-\\-[a-z][a-z\\-]*' |
        sed 's/\\//g' | sort -u > man-opts.txt
    missing=$(comm -23 help-opts.txt man-opts.txt | tr '\n' ' ')
    expect_eq "$prog: every option of --help is in $prog(1)'s OPTIONS" "" "$missing"
    extra=$(comm -13 help-opts.txt man-opts.txt | tr '\n' ' ')
    expect_eq "$prog: $prog(1) documents no option --help lacks" "" "$extra"
    check "$prog(1) renders without warnings" bash -c "MANWIDTH=80 man --warnings -l '$page' 2>&1 > /dev/null | grep -q . && exit 1 || exit 0"
done
for page in lode-records lode-store lode-pipelines; do
    check "$page(7) renders without warnings" bash -c "MANWIDTH=80 man --warnings -l '$ROOT/man/man7/$page.7' 2>&1 > /dev/null | grep -q . && exit 1 || exit 0"
done

# Usage errors found after parsing go through one function: exit 2, the
# program's name and the reason, then where --help is; nothing on stdout.
while read -r prog args; do
    # shellcheck disable=SC2086
    env -u LODE_STORE -u LODE_EMBED_MODEL -u LODE_GEN_MODEL -u LODE_RERANK_MODEL "$prog" $args < /dev/null > use.out 2> use.err
    expect_eq "$prog $args: a usage error exits 2, nothing on stdout" "2 0" "$? $(wc -c < use.out)"
    check "...'$prog: <reason>', then 'Try '$prog --help' for more information.'" \
        bash -c "head -1 use.err | grep -q '^$prog: ' && sed -n 2p use.err | grep -qx \"Try '$prog --help' for more information.\""
done << EOF
lode-extract -j 0
lode-ocr --dpi 1
lode-chunk --overlap 300
lode-embed -m x -b 0
lode-index --batch 1
lode-query -s x -k 0
lode-rerank -m x --batch 0
lode-generate --top-p 2
lode-finetune -o x.gguf
lode-index -s x -M 0
lode-query -s x --ef 0
lode-generate --ctx 0
lode-embed -m x --quantize int4
lode-ocr --min-quality 2
lode-ocr --min-quality nan
lode-ocr --min-conf 101
lode-index -s x --bm25 inf,0.4
EOF
lode-chunk --max-line 0 < /dev/null > /dev/null 2> maxline.err
expect_eq "--max-line 0 (any size option 0): a usage error" "2 1" "$? $(grep -c 'wants a positive size' maxline.err)"

# -q: silent when everything went through, the summary when something failed
printf 'Quiet please.\n' > quiet.md
{
    lode-extract -q quiet.md > quiet.pages
    lode-chunk -q < quiet.pages > quiet.chunks
    lode-index -q -s quietkb < quiet.chunks
    echo quiet | lode-query -q -s quietkb > /dev/null
    lode-entities -q < quiet.chunks > /dev/null
} 2> q1.err
expect_eq "-q: a pipeline that succeeds prints nothing on stderr" "" "$(cat q1.err)"
printf '{"id":"x"}\nnot json\n' | lode-chunk -q > /dev/null 2> q2.err
expect_eq "-q with failed inputs: exit 1, the failures and the summary still said" "1 1" \
    "$? $(grep -c '^lode-chunk: 0 ok, 2 failed' q2.err)"

# -s is --store everywhere; lode-chunk, which has no store, refuses it
echo x | lode-chunk -s 100 > /dev/null 2> chunk-s.err
expect_eq "lode-chunk -s 100: a usage error pointing at --size" "2 1" "$? $(grep -c 'no -s here (it is --store in the other programs): give the chunk size as --size N' chunk-s.err)"

# progress on a terminal: only the last stage of a pipeline draws
script -qec "(printf '{\"id\":\"a\",\"text\":\"x\"}\n'; sleep 0.7; printf '{\"id\":\"b\",\"text\":\"y\"}\n') | lode-chunk | lode-index -s progkb" /dev/null > prog.txt
check "a pipeline on a terminal: the last stage (lode-index) draws its progress line" grep -aq $'\033\\[Klode-index: [0-9]* records, ' prog.txt
check "...the first (lode-chunk, writing into a pipe) draws none" bash -c "! grep -aq $'\033\\\\[Klode-chunk: [0-9]* records' prog.txt"
check "...and clears the line before its summary" grep -aq $'\r\033\\[Klode-chunk: 2 ok, 0 failed' prog.txt
