#!/usr/bin/env bash
# Benchmark: lode-extract against pdftotext on the same large PDF, in the
# same run, under the same environment. Prints pages per second, the
# ratios, and peak memory on a 1000-page PDF. Not a test: nothing here
# passes or fails on time.
#
# Input: the Debian Reference (debian-reference-en, 261 pages), and the same
# PDF joined four times with pdfunite (1044 pages). Override with PDF=file.
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
PDF=${PDF:-/usr/share/debian-reference/debian-reference.en.pdf}
[ -f "$PDF" ] || { echo "no $PDF: run make deps (debian-reference-en) or set PDF=" >&2; exit 1; }
need_tools pdftotext pdfunite hyperfine jq
pages() { pdfinfo "$1" | awk '/^Pages:/ { print $2 }'; }
cores=$(nproc)
pdfunite "$PDF" "$PDF" "$PDF" "$PDF" "$W/big.pdf"

echo "# lode-extract vs pdftotext ($(pdftotext -v 2>&1 | head -1)), $cores cores, $(uname -m)"
cpu_line
for f in "$PDF" "$W/big.pdf"; do
    n=$(pages "$f")
    echo
    echo "## $(basename "$f"): $n pages"
    hyperfine -w 2 -r 10 --export-json "$W/h.json" \
        -n pdftotext "pdftotext '$f' /dev/null" \
        -n "lode-extract -j 1" "'$BIN/lode-extract' -j 1 --no-progress '$f' > /dev/null 2>&1" \
        -n "lode-extract -j $cores" "'$BIN/lode-extract' -j $cores --no-progress '$f' > /dev/null 2>&1" \
        > /dev/null 2>&1
    jq -r --argjson n "$n" '
        (.results[] | select(.command == "pdftotext") | .mean) as $base |
        .results[] | "\(.command | . + " " * (22 - length)) \(.mean * 1000 | floor) ms ± \(.stddev * 1000 | floor)   \($n / .mean | floor) pages/s   \($base / .mean * 100 | round / 100)x pdftotext"' "$W/h.json"
done

echo
echo "## peak memory on $(pages "$W/big.pdf") pages"
rss_tree() { # peak of the summed RSS of a command and its children, sampled
    "$@" > /dev/null 2>&1 &
    local pid=$! peak=0 now
    while kill -0 $pid 2> /dev/null; do
        now=$(ps -o rss= --pid $pid --ppid $pid 2> /dev/null | awk '{ s += $1 } END { print s + 0 }')
        [ "$now" -gt "$peak" ] && peak=$now
        sleep 0.01
    done
    wait $pid || true
    echo $((peak / 1024))
}
for j in 1 $cores; do
    /usr/bin/time -f '%M' -o "$W/rss" "$BIN/lode-extract" -j "$j" --no-progress "$W/big.pdf" > /dev/null 2>&1
    echo "lode-extract -j $j: largest process $(( $(tail -1 "$W/rss") / 1024 )) MB, all processes together $(rss_tree "$BIN/lode-extract" -j "$j" --no-progress "$W/big.pdf") MB (sampled)"
done
/usr/bin/time -f '%M' -o "$W/rss" pdftotext "$W/big.pdf" /dev/null
echo "pdftotext: $(( $(tail -1 "$W/rss") / 1024 )) MB"
