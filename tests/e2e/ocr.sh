#!/usr/bin/env bash
# lode-ocr against the ground truth of ../shared/data/ocr: character error
# rate (Levenshtein distance over the reference length, whitespace
# normalised), and the tesseract command on the same images as the peer.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
T=$DATA/ocr/tesseract-test
P=$DATA/ocr/docling-ocr-test
cer() { "$BUILD/tools/cer" "$@"; }
text_for() { jq -r --arg s "$2" 'select(.source | endswith($s)) | .text' "$1"; }

lode-extract "$T"/phototest.tif "$T"/phototest-rotated-*.png "$T"/eurotext.tif "$P"/*.pdf 2> /dev/null |
    lode-ocr -j 2 > ocr.ndjson 2> ocr.err
expect_eq "exit status 0" 0 $?
for f in phototest.tif:0.01 phototest-rotated-180.png:0.03 phototest-rotated-L.png:0.03 \
    phototest-rotated-R.png:0.03 eurotext.tif:0.03; do
    name=${f%%:*}
    max=${f#*:}
    ref=$T/$(echo "$name" | sed 's/-rotated.*//; s/\.tif$//').txt
    text_for ocr.ndjson "$name" > "$name.txt"
    expect_le "$name: CER against the ground truth" "$max" "$(cer "$ref" "$name.txt")"
done
# the peer: the tesseract command with its defaults, on the upright pages
for name in phototest eurotext; do
    OMP_THREAD_LIMIT=1 tesseract "$T/$name.tif" "peer-$name" > /dev/null 2>&1
    peer=$(cer "$T/$name.txt" "peer-$name.txt")
    ours=$(cer "$T/$name.txt" "$name.tif.txt")
    expect_le "$name: CER within 0.01 of the tesseract command's ($peer)" \
        "$(awk -v p="$peer" 'BEGIN { print p + 0.01 }')" "$ours"
done
# the image-only PDF: the tesseract command on the page rendered as lode-ocr
# renders it (300 dpi, gray) is the yardstick; turned copies within 0.03
pdftoppm -r 300 -gray -png -f 1 -l 1 "$P/ocr_test.pdf" peer-ocr_test
OMP_THREAD_LIMIT=1 tesseract peer-ocr_test-1.png peer-ocr_test > /dev/null 2>&1
peer=$(cer "$P/ocr_test.reference.md" peer-ocr_test.txt)
for f in ocr_test.pdf ocr_test_rotated_90.pdf ocr_test_rotated_180.pdf ocr_test_rotated_270.pdf; do
    text_for ocr.ndjson "$f" > "$f.txt"
    max=$(awk -v p="$peer" -v r="$f" 'BEGIN { print p + (r ~ /rotated/ ? 0.03 : 0.01) }')
    expect_le "$f (image-only PDF): CER against its reference, the tesseract command's upright: $peer" \
        "$max" "$(cer "$P/ocr_test.reference.md" "$f.txt")"
done
expect_eq "turned pages are rotated back (ocr_rotate, clockwise degrees)" \
    "phototest.tif 0|phototest-rotated-180.png 180|phototest-rotated-L.png 90|phototest-rotated-R.png 270|ocr_test_rotated_180.pdf 180|ocr_test_rotated_270.pdf 270|ocr_test_rotated_90.pdf 90|" \
    "$(jq -r 'select(.source | test("phototest|rotated")) | "\(.source | split("/") | last) \(.ocr_rotate)"' ocr.ndjson | tr '\n' '|')"
expect_eq "every OCRed record: ocr done, ocr_conf 0-100, the language in meta" "true" \
    "$(jq -s 'all(.[]; .ocr == "done" and .ocr_conf >= 0 and .ocr_conf <= 100 and .meta.ocr_lang == "eng")' ocr.ndjson)"
expect_ge "confident pages have a high mean confidence" 90 \
    "$(jq -r 'select(.source | endswith("phototest.tif")) | .ocr_conf' ocr.ndjson)"

# Columns: pages of two and three justified columns whose lines sit at the
# same heights (a newsletter, a journal), typeset by groff, rendered at
# 300 dpi by Ghostscript; the truth is the text column by column. Tesseract's
# automatic layout analysis (lode's default, as the tesseract command's)
# reads them in order; one block (--psm 6) interleaves the columns.
columns() { # N NAME: NAME.png and NAME.truth
    awk -v cols="$1" -v tr="$2.tr" -v truth="$2.truth" 'BEGIN {
        n = split("the of and to in is was for on that with as by at from this be are an which it or have has not but were their they one all been more can other its also into than most some these may would only such two about first new time after over used between many so up years out where three them she then there when make like through could during being people very just those under each made while well same both much before second since long later part city world state system work number group found known often called around high early however own among water common several important small large following different named", w, " ")
        seed = 7 + cols
        width = 7.0 / cols - 0.25 * (cols - 1) / cols
        printf ".nh\n.ps 11\n.vs 13\n.ad b\n.po 0.65i\n.sp 0.6i\n.mk t\n" > tr
        for (c = 0; c < cols; c++) {
            printf ".rt \\n[t]u\n.po %.3fi\n.ll %.3fi\n", 0.65 + c * (width + 0.25), width > tr
            for (p = 0; p < 3; p++) {
                text = ""
                for (s = 0; s < 6 - cols; s++) {
                    seed = (seed * 1103515245 + 12345) % 2147483648
                    len = 8 + seed % 9
                    for (k = 0; k < len; k++) {
                        seed = (seed * 1103515245 + 12345) % 2147483648
                        word = w[1 + int(seed / 65536) % n]
                        if (k == 0)
                            word = toupper(substr(word, 1, 1)) substr(word, 2)
                        text = text (text == "" ? "" : " ") word (k == len - 1 ? "." : "")
                    }
                }
                printf ".ti 0.3i\n%s\n.sp 0.5\n", text > tr
                printf "%s%s\n", (c + p > 0 ? "\n" : ""), text > truth
            }
            printf ".br\n" > tr
        }
    }'
    groff -Tps "$2.tr" > "$2.ps" &&
        gs -q -dSAFER -dNOPAUSE -dBATCH -sDEVICE=pnggray -r300 -sOutputFile="$2.png" "$2.ps"
}
columns 2 cols2
columns 3 cols3
for d in 90 180 270; do "$BUILD/tools/imgtool" rotate "$d" cols3.png "cols3-$d.png"; done
lode-extract cols2.png cols3.png cols3-90.png cols3-180.png cols3-270.png 2> /dev/null |
    lode-ocr -j 2 > cols.ndjson 2> /dev/null
for name in cols2 cols3; do
    OMP_THREAD_LIMIT=1 tesseract "$name.png" "peer-$name" > /dev/null 2>&1
    peer=$(cer "$name.truth" "peer-$name.txt")
    expect_le "$name.png (columns): CER within 0.01 of the tesseract command's ($peer)" \
        "$(awk -v p="$peer" 'BEGIN { print p + 0.01 }')" "$(cer "$name.truth" <(text_for cols.ndjson "$name.png"))"
done
for d in 90 180 270; do
    expect_le "cols3 turned by $d degrees: CER" 0.03 "$(cer cols3.truth <(text_for cols.ndjson "cols3-$d.png"))"
done
check "columns: the blocks are separated by blank lines" \
    test "$(text_for cols.ndjson cols3.png | grep -c '^$')" -ge 8
lode-extract cols3.png 2> /dev/null | lode-ocr --psm 6 > psm6.ndjson 2> /dev/null
expect_ge "--psm 6 (one block) reaches Tesseract: it reads the columns across (CER)" 0.3 \
    "$(cer cols3.truth <(jq -r .text psm6.ndjson))"
lode-ocr --psm 0 < /dev/null > /dev/null 2> psm0.err
expect_eq "--psm 0 (orientation only, no text) is a usage error" 2 $?

# Receipts: a narrow page of short lines, typeset and rendered at 200 dpi,
# then "photographed" (tools/imgtool photo: grey paper, faint ink, blur,
# noise, seeded). On such pages Tesseract's orientation guess is weak and
# often wrong: a turn needs --rotate-threshold's confidence and a reading
# of the turned page at least as good as of the upright one.
cat > receipt.tr << 'EOF'
.nf
.ft CR
.ps 10
.vs 12
.po 0.5i
.sp 1i
    CORNER MARKET
  12 MAIN ST  SPRINGFIELD
  TEL 555 0134

MILK 2L            3.49
BREAD WHOLE        2.99
EGGS DOZEN         4.25
APPLES 1.2KG       3.60
COFFEE 500G        8.95
BANANAS            1.79
CHEESE             5.40

SUBTOTAL          30.47
TAX 5%             1.52
TOTAL             31.99

VISA ****1234     31.99
12/01/2026  14:32
THANK YOU
EOF
sed -n '/^\.sp 1i/,$p' receipt.tr | tail -n +2 > receipt.truth
groff -Tps -P-p4i,3i receipt.tr > receipt.ps
gs -q -dSAFER -dNOPAUSE -dBATCH -sDEVICE=pnggray -r200 -dDEVICEWIDTHPOINTS=216 \
    -dDEVICEHEIGHTPOINTS=400 -dFIXEDMEDIA -sOutputFile=receipt.png receipt.ps
"$BUILD/tools/imgtool" photo 0.7 15 1 1 receipt.png receipt-a.png
"$BUILD/tools/imgtool" rotate 180 receipt-a.png receipt-a180.png
"$BUILD/tools/imgtool" photo 0.7 20 2 1 receipt.png receipt-b.png
lode-extract receipt-a.png receipt-a180.png receipt-b.png 2> /dev/null | lode-ocr -j 2 > receipts.ndjson 2> /dev/null
OMP_THREAD_LIMIT=1 tesseract receipt-a.png peer-receipt > /dev/null 2>&1
f1() { "$BUILD/tools/wordf1" receipt.truth "$1" | awk '{ print $3 }'; }
peer=$(f1 peer-receipt.txt)
expect_ge "an upright receipt: word F1 at least the tesseract command's ($peer)" "$peer" \
    "$(f1 <(text_for receipts.ndjson receipt-a.png))"
expect_ge "the receipt upside down: turned back, word F1 within 0.02 of the upright page's" \
    "$(awk -v p="$peer" 'BEGIN { print p - 0.02 }')" "$(f1 <(text_for receipts.ndjson receipt-a180.png))"
expect_eq "turns of the receipts (ocr_rotate)" "0 180 0" \
    "$(jq -r 'select(.source | test("receipt")) | .ocr_rotate' receipts.ndjson | tr '\n' ' ' | sed 's/ $//')"
check "a receipt whose orientation guess (180, above the threshold) reads no better turned stays upright; the refused turn and its confidence in meta" \
    jqe -s 'any(.[]; (.source | endswith("receipt-b.png")) and .ocr_rotate == 0 and .meta.ocr_rotate_refused == 180 and .meta.ocr_rotate_conf >= 2)' receipts.ndjson
lode-extract "$T/phototest-rotated-180.png" 2> /dev/null | lode-ocr --rotate-threshold 14 > thr.ndjson 2> /dev/null
check "--rotate-threshold 14 (OCRmyPDF's default): a guess at 11 is refused and recorded" \
    jqe '.ocr_rotate == 0 and .meta.ocr_rotate_refused == 180 and .meta.ocr_rotate_conf > 10' thr.ndjson

# A page skewed by 4 degrees is straightened first.
"$BUILD/tools/imgtool" rotate 4 "$T/phototest.tif" skew4.png
lode-extract skew4.png 2> /dev/null | lode-ocr > skew.ndjson 2> /dev/null
expect_le "a page skewed 4 degrees: CER" 0.01 "$(cer "$T/phototest.txt" <(jq -r .text skew.ndjson))"
check "a page skewed 4 degrees: the correction is in meta.ocr_deskew" \
    jqe '.meta.ocr_deskew | fabs > 3 and fabs < 5' skew.ndjson

# Mixed PDFs: text pages keep their text layer; only the page without one is
# OCRed; other records pass through byte for byte, in order.
lode-extract "$DATA/docs/pdf/redp5110_sampled.pdf" "$DATA/docs/md/wiki.md" > mixed-in.ndjson 2> /dev/null
lode-ocr -j 2 < mixed-in.ndjson > mixed.ndjson 2> mixed.err
expect_eq "mixed: the summary" "lode-ocr: 19 ok, 0 failed; 1 pages recognised, 18 passed through" "$(tail -1 mixed.err)"
check "mixed: records that need nothing pass through unchanged, in order" \
    cmp -s <(jq -c 'select(.page != 17 or .type != "pdf")' mixed-in.ndjson) \
    <(jq -c 'select(.page != 17 or .type != "pdf")' mixed.ndjson)
expect_eq "mixed: page 17 was recognised in its place" "17 done" \
    "$(jq -r 'select(.type == "pdf" and .page == 17) | "\(.page) \(.ocr)"' mixed.ndjson)"
check "mixed: page 17 is a blank page: no text, confidence 0, flagged" \
    jqe -s 'any(.[]; .page == 17 and .text == "" and .ocr_conf == 0 and .meta.ocr_low_conf)' mixed.ndjson

# A garbage text layer (an old OCR with "A l e t t e r", "«POAH «3E*»CM")
# is found by its quality score and read again with --redo-bad-text.
bad=$DATA/docs/pdf/pdf-with-ocr-text.pdf
lode-extract "$bad" "$DATA/docs/pdf/multi_page.pdf" > layers.ndjson 2> /dev/null
lode-ocr < layers.ndjson > kept.ndjson 2> /dev/null
check "without --redo-bad-text a text layer is kept" cmp -s layers.ndjson kept.ndjson
lode-ocr --redo-bad-text < layers.ndjson > redone.ndjson 2> redone.err
expect_eq "--redo-bad-text: only the bad page is OCRed" "1 pages recognised, 5 passed through" \
    "$(tail -1 redone.err | sed 's/.*; //')"
check "--redo-bad-text: its quality and the reason are in meta" \
    jqe -s 'any(.[]; .meta.text_quality < 0.5 and .meta.ocr_replaced == "bad text layer" and .ocr == "done")' redone.ndjson
check "--redo-bad-text: the new text reads 'A letter from' where the layer had 'A l e t t e r'" \
    grep -q 'A letter from' <(jq -r 'select(.source | endswith("ocr-text.pdf")) | .text' redone.ndjson)
lode-ocr --force < layers.ndjson > forced.ndjson 2> forced.err
expect_eq "--force: every PDF page is OCRed" "6 pages recognised, 0 passed through" "$(tail -1 forced.err | sed 's/.*; //')"
check "--force: the reason is in meta" jqe -s 'all(.[]; .meta.ocr_replaced == "--force")' forced.ndjson
read -r _ _ f1 < <("$BUILD/tools/wordf1" "$DATA/docs/pdf/reference/multi_page.md" <(jq -r 'select(.source | endswith("multi_page.pdf")) | .text' forced.ndjson))
expect_ge "--force: OCR of a clean PDF reads its words (word F1 against the reference)" 0.97 "$f1"

# Multi-page TIFF: each page is its own record and is read separately.
tiffcp "$T/phototest.tif" "$T/eurotext.tif" multi.tif
lode-extract multi.tif 2> /dev/null | lode-ocr > multi.ndjson 2> /dev/null
expect_le "multi-page TIFF: page 1" 0.01 "$(cer "$T/phototest.txt" <(jq -r 'select(.page == 1) | .text' multi.ndjson))"
expect_le "multi-page TIFF: page 2" 0.03 "$(cer "$T/eurotext.txt" <(jq -r 'select(.page == 2) | .text' multi.ndjson))"

# --min-conf flags pages, keeping them.
lode-extract "$T/phototest.tif" 2> /dev/null | lode-ocr --min-conf 99.5 > low.ndjson 2> /dev/null
check "--min-conf: a page below it is kept and flagged" jqe '.meta.ocr_low_conf == true and (.text | length > 100)' low.ndjson

# Bad input: an error record for that page, the rest goes on.
head -c 3000 "$T/phototest-rotated-L.png" > truncated.png
: > zero.png
printf 'not an image at all' > junk.png
"$BUILD/tools/imgtool" bomb 100000 100000 bomb.png
{
    for f in truncated.png zero.png junk.png bomb.png missing.png; do
        printf '{"id":"%s-1","source":"%s","type":"image","page":1,"pages":1,"text":"","ocr":"needed"}\n' "$f" "$f"
    done
    printf '{"id":"x","type":"docx","source":"a.docx","page":1,"ocr":"needed"}\n'
    printf '{"id":"y","type":"pdf","ocr":"needed","page":1}\n'
    printf '{"id":"z","type":"pdf","source":"%s","ocr":"needed","page":9}\n' "$P/ocr_test.pdf"
    printf 'not json\n'
    lode-extract "$T/phototest.tif" 2> /dev/null
} > bad-in.ndjson
lode-ocr --errors bad-err.ndjson < bad-in.ndjson > bad.ndjson 2> bad.err
expect_eq "bad input: exit status 1" 1 $?
expect_eq "bad input: one error record each, the good page read" "9 1" \
    "$(wc -l < bad-err.ndjson) $(jq -r .id bad.ndjson | wc -l)"
check "a truncated image" grep -q '"source":"truncated.png".*cannot be decoded' bad-err.ndjson
check "a zero-size image" grep -q '"source":"zero.png".*empty' bad-err.ndjson
check "not an image" grep -q '"source":"junk.png".*unreadable or unsupported image' bad-err.ndjson
check "a decompression bomb is refused before decoding" \
    grep -q '"source":"bomb.png".*100000 x 100000 pixels, over the limit of 100000000' bad-err.ndjson
check "an unreadable source" grep -q '"source":"missing.png".*No such file' bad-err.ndjson
check "a record that is not a page" grep -q '"id":"x".*cannot OCR a record of type docx' bad-err.ndjson
check "a record without a source" grep -q '"id":"y".*no \\"source\\"' bad-err.ndjson
check "a page the PDF does not have" grep -q '"id":"z".*no page 9' bad-err.ndjson
check "invalid JSON names its line" grep -q '"source":"<stdin>:9".*invalid JSON' bad-err.ndjson
lode-extract "$T/eurotext.tif" 2> /dev/null | lode-ocr --timeout 0.05 > slow.ndjson 2> slow.err
check "--timeout: a page that takes too long fails alone" grep -q 'OCR timed out after 0.05 s' slow.err
lode-extract "$T/phototest.tif" 2> /dev/null | lode-ocr --lang xyz > /dev/null 2> nolang.err
expect_eq "a missing language is fatal (exit 3) with a clear message" "3" "$?"
check "... naming the package to install" grep -q "tesseract-ocr-LANG" nolang.err
lode-extract "$T/phototest.tif" 2> /dev/null | lode-ocr --lang eng+zzz > /dev/null 2> somelang.err
expect_eq "eng+zzz with only English data: fatal (exit 3), not English alone in silence" "3" "$?"
check "... naming the missing language and its package" grep -q "no Tesseract language data for 'zzz' (of --lang eng+zzz): install tesseract-ocr-zzz" somelang.err

# Memory per worker stays bounded: a 1044-page scan-sized job is not needed;
# one 300 dpi page stays far below the limit of a worker.
lode-extract "$P/ocr_test.pdf" 2> /dev/null > one.ndjson
/usr/bin/time -f '%M' -o rss.txt lode-ocr -j 1 < one.ndjson > /dev/null 2>&1
san || expect_le "peak memory of the largest lode-ocr process for a 300 dpi page (KiB)" 400000 "$(tail -1 rss.txt)"
