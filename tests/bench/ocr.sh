#!/usr/bin/env bash
# Benchmark: lode-ocr against the tesseract command (page by page, its
# defaults but OMP_THREAD_LIMIT=1) and ocrmypdf -j N --sidecar, on the same scanned PDF in the same
# run. Prints pages per second and the character error rate of each against
# the pages' real text. Not a test: nothing here passes or fails on time.
#
# The scan: PAGES pages (default 8) of the Debian Reference rendered at 300
# dpi in gray and put into an image-only PDF with img2pdf; the ground truth is
# pdftotext's text of the same pages.
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
SRC=${PDF:-/usr/share/debian-reference/debian-reference.en.pdf}
FIRST=${FIRST:-20}
PAGES=${PAGES:-8}
LAST=$((FIRST + PAGES - 1))
J=$(nproc)
need_tools tesseract ocrmypdf img2pdf pdftoppm pdftotext jq
cer() { "$BUILD/tools/cer" "$@"; }
now() { date +%s.%N; }
rate() { awk -v n="$PAGES" -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", n / (b - a) }'; }

pdftoppm -r 300 -gray -png -f "$FIRST" -l "$LAST" "$SRC" "$W/page"
img2pdf "$W"/page-*.png -o "$W/scan.pdf"
pdftotext -f "$FIRST" -l "$LAST" "$SRC" "$W/truth.txt"
echo "# lode-ocr vs tesseract $(tesseract --version 2>&1 | head -1 | cut -d' ' -f2) and ocrmypdf $(ocrmypdf --version), $J cores"
cpu_line
echo "# $PAGES pages of $(basename "$SRC") (pages $FIRST-$LAST) at 300 dpi, image-only PDF"
echo

# tesseract at its best on this machine: one OpenMP thread (its own threads
# make it several times slower on two cores), one page after another
t0=$(now)
for p in "$W"/page-*.png; do OMP_THREAD_LIMIT=1 tesseract "$p" "${p%.png}" > /dev/null 2>&1; done
t1=$(now)
cat "$W"/page-*.txt > "$W/tesseract.txt"
printf '%-34s %6s pages/s   CER %s\n' "tesseract, page by page" "$(rate "$t0" "$t1")" "$(cer "$W/truth.txt" "$W/tesseract.txt")"

t0=$(now)
ocrmypdf -j "$J" --force-ocr --output-type pdf --sidecar "$W/ocrmypdf.txt" "$W/scan.pdf" "$W/ocrmypdf.pdf" > /dev/null 2>&1
t1=$(now)
printf '%-34s %6s pages/s   CER %s\n' "ocrmypdf -j $J --sidecar" "$(rate "$t0" "$t1")" "$(cer "$W/truth.txt" "$W/ocrmypdf.txt")"

t0=$(now)
"$BIN/lode-extract" "$W/scan.pdf" 2> /dev/null | "$BIN/lode-ocr" -j "$J" > "$W/lode.ndjson" 2> /dev/null
t1=$(now)
jq -r .text "$W/lode.ndjson" > "$W/lode.txt"
printf '%-34s %6s pages/s   CER %s\n' "lode-extract | lode-ocr -j $J" "$(rate "$t0" "$t1")" "$(cer "$W/truth.txt" "$W/lode.txt")"
