# Every program: --help and --version, and its man page documents exactly
# the options --help lists.
. "$LODE_ROOT/tests/lib.sh"
for prog in lode-extract lode-ocr lode-chunk lode-embed lode-index lode-query lode-generate lode-finetune; do
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
