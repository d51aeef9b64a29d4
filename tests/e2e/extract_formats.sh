#!/usr/bin/env bash
# lode-extract on the real documents of ../shared/data/docs: text compared
# with reference text by word-level F1, and the structure each format has.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
D=$DATA/docs
f1() { "$BUILD/tools/wordf1" "$1" "$2"; } # prints precision recall f1

# PDF. The references are docling's Markdown. pdftotext reads the same
# files here as the yardstick: lode must find the same words (F1 >= 0.98
# against pdftotext's own text: only its de-hyphenation differs) and score
# against the reference no worse than pdftotext minus 0.01.
for name in multi_page normal_4pages redp5110_sampled amt_handbook_sample; do
    lode-extract "$D/pdf/$name.pdf" > "$name.ndjson" 2> "$name.err"
    jq -r .text "$name.ndjson" > "$name.txt"
    pdftotext "$D/pdf/$name.pdf" "$name.ptt.txt"
    read -r _ _ ours < <(f1 "$D/pdf/reference/$name.md" "$name.txt")
    read -r _ _ theirs < <(f1 "$D/pdf/reference/$name.md" "$name.ptt.txt")
    read -r _ _ same < <(f1 "$name.ptt.txt" "$name.txt")
    expect_ge "pdf $name: word F1 against the reference, pdftotext scores $theirs" \
        "$(awk -v t="$theirs" 'BEGIN { print t - 0.01 }')" "$ours"
    expect_ge "pdf $name: word F1 against pdftotext's text" 0.98 "$same"
done
expect_eq "pdf pages: one record per page, in order" "1 2 3 4 5" \
    "$(jq -r .page multi_page.ndjson | tr '\n' ' ' | sed 's/ $//')"
expect_eq "pdf pages: page count on every record" "5" "$(jq -r .pages multi_page.ndjson | sort -u)"
check "pdf: paragraphs are separated by a blank line" \
    grep -q 'The Evolution of the Word Processor\\n\\nThe concept' multi_page.ndjson
check "pdf: lines glued across columns by poppler are split (Korean two-column page)" \
    grep -qv '코로나바이러스감염니' normal_4pages.txt
lode-extract "$D/pdf/redp5110_sampled.pdf" > redp.ndjson 2>/dev/null
expect_eq "pdf: a page without a text layer is marked ocr needed" "17" \
    "$(jq -r 'select(.ocr == "needed") | .page' redp.ndjson)"
expect_eq "pdf: document metadata in meta" "true" \
    "$(jq -s '.[0].meta | has("created") and (.bytes == 1277938)' redp.ndjson)"
lode-extract "$D/pdf/single_table.pdf" > scan.ndjson 2>/dev/null
expect_eq "pdf: a scanned page has empty text and ocr needed" '"" needed' \
    "$(jq -r '"\(.text | tojson) \(.ocr)"' scan.ndjson)"

# Office and e-book formats. The references are docling's Markdown, which
# also holds list numbers, "<!-- image -->" placeholders, link URLs and the
# content of merged table cells repeated in every spanned cell: none of that
# is text of the document, so recall is bounded below 1 and the thresholds
# are the measured F1 rounded down by 0.02. Precision (lode writes no word
# that is not there) must be at least 0.99 everywhere.
compare() { # FILE REFERENCE MIN_F1
    local out
    out=$(basename "$1").txt
    lode-extract "$D/$1" 2>/dev/null | jq -r .text > "$out"
    read -r p _ f < <(f1 "$D/$2" "$out")
    expect_ge "$1: word F1 against the reference" "$3" "$f"
    expect_ge "$1: word precision against the reference" 0.99 "$p"
}
compare docx/word_sample.docx docx/reference/word_sample.docx.md 0.99
compare docx/word_tables.docx docx/reference/word_tables.docx.md 0.88
compare docx/lorem_ipsum.docx docx/reference/lorem_ipsum.docx.md 0.98
compare odt/text_document_01.odt odt/reference/text_document_01.odt.md 0.96
compare epub/epub_purvis_poetry.epub epub/reference/epub_purvis_poetry.epub.md 0.96

# Structure: headings, lists, tables, notes.
lode-extract "$D/docx" "$D/odt" "$D/epub" "$D/html" "$D/md" "$D/csv" > struct.ndjson 2>/dev/null
text_of struct.ndjson word_sample.docx > ws.txt
check "docx: Heading 1 becomes '# '" grep -qx '# Swimming in the lake' ws.txt
# shellcheck disable=SC1112 # the typographic apostrophe is the document's
check "docx: Heading 2 becomes '## '" grep -qx '## Let’s eat' ws.txt
check "docx: bullet items become '- '" grep -qx -- '- Paddle about' ws.txt
check "docx: numbered items get their numbers (numbering.xml)" grep -qx -- '1. Wear sunglasses' ws.txt
check "docx: tables are Markdown rows under their header" \
    grep -qzF $'|  | Food | Calories per portion |\n| --- | --- | --- |\n| Leaves | Ash, Elm, Maple | 50 |\n' ws.txt
text_of struct.ndjson word_tables.docx > wt.txt
check "docx: empty cells keep their place in a row" grep -qx '| Cell 2.0 |  | Cell 2.2 |' wt.txt
check "docx: a merged cell (gridSpan) keeps the columns after it in place" \
    grep -qx '| Cell 1.0 | Merged Cell 1.1 1.2 |  | Cell 1.3 |' wt.txt
text_of struct.ndjson lorem_ipsum.docx > li.txt
check "docx: paragraphs separated by exactly one blank line" \
    awk 'prev == "" && $0 == "" && NR > 1 { exit 1 } { prev = $0 }' li.txt
expect_eq "docx: five paragraphs, as in the reference" "$(grep -c . "$D/docx/reference/lorem_ipsum.docx.md")" "$(grep -c . li.txt)"
text_of struct.ndjson text_document_01.odt > odt.txt
check "odt: text:h outline level 2 becomes '## '" grep -qx '## Heading level 2: A' odt.txt
check "odt: nested list items are indented" grep -qx -- '  - bullet list 2.1' odt.txt
check "odt: deeper nesting is indented further" grep -qx -- '    - bullet list 2.2.1' odt.txt
text_of struct.ndjson epub_purvis_poetry.epub > epub.txt
check "epub: chapters in spine order (titlepage before the first poem)" \
    awk '/^# Poetry$/ { t = NR } /^## The Grave of the Slave$/ { g = NR } END { exit !(t && g && t < g) }' epub.txt
expect_eq "epub: Dublin Core metadata" "Sarah Louisa Forten Purvis|en-US" \
    "$(jq -r 'select(.source | endswith("purvis_poetry.epub")) | "\(.meta.author)|\(.meta.lang)"' struct.ndjson)"

# HTML: the article without scripts, styles and navigation.
text_of struct.ndjson wiki_duck.html > duck.txt
read -r p _ _ < <(f1 "$D/html/reference/wiki_duck.html.md" duck.txt)
expect_ge "html: word precision against the reference (the reference keeps the navigation, lode drops it)" 0.99 "$p"
check "html: the page title is the first heading" grep -qx '# Duck' duck.txt
check "html: section headings kept" grep -qx '### Feeding' duck.txt
check "html: infobox table rows" grep -qx '| Family: | Anatidae |' duck.txt
check "html: article text" grep -q 'Duck is the common name for numerous species of waterfowl' duck.txt
for junk in 'Jump to content' 'move to sidebar' 'Privacy policy' 'RLCONF' 'Toggle the table of contents' 'Create account'; do
    check "html: boilerplate left out: $junk" bash -c "! grep -qF '$junk' duck.txt"
done
expect_eq "html: title and language in meta" "Duck - Wikipedia|en" \
    "$(jq -r 'select(.source | endswith("wiki_duck.html")) | "\(.meta.title)|\(.meta.lang)"' struct.ndjson)"
text_of struct.ndjson fake-html-cp1252.html > cp.txt
check "html: windows-1252 bytes decoded (ö, €)" grep -q 'Der Preis betrug 15,50 €' cp.txt
text_of struct.ndjson example-steelJIS-datasheet-utf-16.html > u16.txt
check "html: UTF-16 with BOM decoded" grep -qx '## SNB22-3' u16.txt

# Markdown and text: charset fallback, output always valid UTF-8.
text_of struct.ndjson umlauts-non-utf8.md > um.txt
check "md: Windows-1252 fallback for text that is not UTF-8" grep -qx 'äöüß' um.txt
expect_eq "md: the charset used is in meta" "windows-1252" \
    "$(jq -r 'select(.source | endswith("umlauts-non-utf8.md")) | .meta.charset' struct.ndjson)"
expect_eq "md: the first heading is the title" "IBM" \
    "$(jq -r 'select(.source | endswith("wiki.md")) | .meta.title' struct.ndjson)"
expect_eq "md: Markdown is kept as written" "$(cat "$D/md/wiki.md")" "$(text_of struct.ndjson wiki.md)"
check "every record's text is valid UTF-8" bash -c "jq -r .text struct.ndjson | iconv -f UTF-8 -t UTF-8 > /dev/null"

# CSV: delimiter sniffed, quotes, ragged rows, header: value lines.
text_of struct.ndjson csv-comma.csv > csv.txt
check "csv: a row becomes header: value lines" grep -qx 'Last Name: Lozano, Dr' csv.txt
for sep in semicolon tab pipe; do
    text_of struct.ndjson "csv-$sep.csv" > "$sep.txt"
    check "csv: $sep delimiter sniffed" grep -qx 'First Name: Sheryl' "$sep.txt"
done
expect_eq "csv: delimiters recorded" ",;	|" "$(for s in comma semicolon tab pipe; do
    jq -j --arg n "csv-$s.csv" 'select(.source | endswith($n)) | .meta.delimiter' struct.ndjson; done)"
text_of struct.ndjson csv-too-many-columns.csv > many.txt
check "csv: an extra cell is kept as 'column N'" grep -qx 'column 5: e' many.txt
text_of struct.ndjson csv-too-few-columns.csv > few.txt
check "csv: a short row keeps its cells" grep -qx '1: a' few.txt
text_of struct.ndjson stanley-cups-utf-16.csv > cups.txt
check "csv: UTF-16 decoded" grep -q 'Maple Leafs' cups.txt
check "csv: a lone value above the header row is a title" grep -qx '# Stanley Cups' cups.txt
check "csv: ... and the row under it is the header" grep -qx 'Team: Maple Leafs' cups.txt
text_of struct.ndjson csv-comma-in-cell.csv > cic.txt
check "csv: a quoted delimiter stays in its cell" grep -qx '2: ,' cic.txt

# Every record carries the contract's fields.
expect_eq "records have id, doc, source, type, page, pages, text, meta" "true" \
    "$(jq -s 'all(.[]; has("id") and (.doc | test("^[0-9a-f]{16}$")) and has("source")
        and has("type") and (.page >= 1) and (.pages >= .page) and has("text") and (.meta | type == "object"))' struct.ndjson)"
expect_eq "ids are unique" "$(jq -r .id struct.ndjson | wc -l)" "$(jq -r .id struct.ndjson | sort -u | wc -l)"

# Images: a record per image (per TIFF page) with empty text, for lode-ocr.
O=$DATA/ocr/tesseract-test
tiffcp "$O/phototest.tif" "$O/eurotext.tif" multi.tif
# a TIFF whose only directory points back at itself
printf 'II*\0\010\0\0\0\001\0\000\001\003\0\001\0\0\0\001\0\0\0\010\0\0\0' > loop.tif
lode-extract "$O/phototest-rotated-L.png" "$O/phototest.tif" multi.tif loop.tif > img.ndjson 2> /dev/null
expect_eq "images: type, pages, format, empty text, ocr needed" \
    "image 1/1 png  needed|image 1/1 tiff  needed|image 1/2 tiff  needed|image 2/2 tiff  needed|image 1/1 tiff  needed|" \
    "$(jq -r '"\(.type) \(.page)/\(.pages) \(.meta.format) \(.text) \(.ocr)"' img.ndjson | tr '\n' '|')"

# PDF page furniture and hyphenation: five pages typeset by groff with a
# running head ("Lode Operations Manual", "Release 2.4") and a footer
# ("Page N"), justified and hyphenated. The furniture goes to meta.furniture,
# words hyphenated at line ends are joined where the document has the whole
# word ("docu-" "mentation"), a hyphen that is not a break stays ("well-"
# "known": no "wellknown" in the document).
awk 'BEGIN {
  n = split("documentation configuration implementation international administration communication development environment information organization performance representation responsibility understanding", L, " ")
  m = split("the of and to in is was for on that with as by at from this be are an which", S, " ")
  seed = 11
  print ".ds LH Lode Operations Manual"; print ".ds CH"; print ".ds RH Release 2.4"; print ".ds CF Page %"
  print ".nr PS 11"; print ".nr HY 1"
  for (p = 0; p < 40; p++) {
    print ".PP"; line = ""
    for (k = 0; k < 60; k++) {
      seed = (seed * 1103515245 + 12345) % 2147483648
      w = (seed % 3 == 0) ? L[1 + int(seed / 65536) % n] : S[1 + int(seed / 65536) % m]
      line = line (k ? " " : "") w
    }
    print line "." > "/dev/stderr"
    print line "."
    if (p == 3) { print ".nf"; print "The results are well-"; print "known to all."; print ".fi" }
  }
}' > manual.ms 2> manual.truth
echo "The results are well-known to all." >> manual.truth
groff -ms -Tpdf manual.ms > manual.pdf 2> /dev/null
lode-extract manual.pdf > manual.ndjson 2> /dev/null
expect_eq "pdf furniture: every page's running head and page number in meta.furniture" \
    "1 Page 1|2 Lode Operations Manual,Release 2.4,Page 2|3 Lode Operations Manual,Release 2.4,Page 3|4 Lode Operations Manual,Release 2.4,Page 4|5 Lode Operations Manual,Release 2.4,Page 5|" \
    "$(jq -r '"\(.page) \(.meta.furniture | join(","))"' manual.ndjson | tr '\n' '|')"
check "pdf furniture: not in the text" \
    jqe -s 'all(.[]; .text | test("Lode Operations Manual|Release 2[.]4|Page [0-9]") | not)' manual.ndjson
expect_ge "pdf hyphenation: words broken at line ends joined (meta.hyphens_joined, all pages)" 50 \
    "$(jq -s '[.[].meta.hyphens_joined // 0] | add' manual.ndjson)"
check "pdf hyphenation: a hyphen that is no break stays" grep -q 'well-\\nknown' manual.ndjson
jq -r .text manual.ndjson > manual.txt
pdftotext manual.pdf manual.ptt.txt
read -r _ _ ours < <(f1 manual.truth manual.txt)
read -r _ _ theirs < <(f1 manual.truth manual.ptt.txt)
expect_ge "pdf furniture and hyphenation: word F1 against the typeset text, pdftotext scores $theirs" 0.99 "$ours"
lode-chunk --size 64 < manual.ndjson > manual-chunks.ndjson 2> /dev/null
"$BUILD/tools/checkchunks" manual.ndjson manual-chunks.ndjson 64 > check-manual.txt
check "pdf furniture and hyphenation: chunks' text == page_text[span] ($(tail -1 check-manual.txt))" \
    grep -q ' 0 problems$' check-manual.txt
lode-extract --keep-furniture manual.pdf > kept.ndjson 2> /dev/null
check "--keep-furniture: running heads and page numbers stay in the text, none in meta" \
    jqe -s 'all(.[]; (.text | test("Page [0-9]")) and (.meta.furniture == null))' kept.ndjson

# PDF tables: a ruled table and an aligned one typeset by groff's tbl, which
# poppler reads column by column; lode-extract finds the cells side by side
# on their rows and writes Markdown rows under the header. Text in columns
# (the two- and three-column pages of ocr.sh as PDF) is not a table.
cat > tables.ms <<'EOF'
.LP
Quarterly figures for the four regions follow in the table below.
.TS
allbox;
l l n n.
Region	Manager	Units	Revenue
North	Alice Smith	1200	45000
South	Bob Jones	850	31250
East	Carol White	2300	78900
West	Dan Brown	640	22100
.TE
.LP
An aligned table without rules:
.TS
l l l.
Name	Version	License
lode	2.4	MIT
poppler	22.12	GPL
tesseract	5.3	Apache
.TE
.LP
The text goes on after the tables with another paragraph.
EOF
groff -t -ms -Tpdf tables.ms > tables.pdf 2> /dev/null
lode-extract tables.pdf > tables.ndjson 2> /dev/null
expect_eq "pdf tables: ruled and aligned tables as Markdown rows, in place" \
    "Quarterly figures for the four regions follow in the table below.

| Region | Manager | Units | Revenue |
| --- | --- | --- | --- |
| North | Alice Smith | 1200 | 45000 |
| South | Bob Jones | 850 | 31250 |
| East | Carol White | 2300 | 78900 |
| West | Dan Brown | 640 | 22100 |

An aligned table without rules:

| Name | Version | License |
| --- | --- | --- |
| lode | 2.4 | MIT |
| poppler | 22.12 | GPL |
| tesseract | 5.3 | Apache |

The text goes on after the tables with another paragraph." "$(jq -r .text tables.ndjson)"
printf '.nh\n.ll 3.2i\n' > prose2.tr
for side in 0 1; do
    printf '.sp |1i\n.po %si\n' "$([ $side = 0 ] && echo 0.8 || echo 4.4)" >> prose2.tr
    for i in 1 2 3 4 5 6; do printf 'Line %s of a column of prose that fills its width as justified text does, paragraph %s.\n' "$i" "$side" >> prose2.tr; done
    printf '.br\n' >> prose2.tr
done
groff -Tpdf prose2.tr > prose2.pdf 2> /dev/null
lode-extract prose2.pdf > prose2.ndjson 2> /dev/null
check "pdf: two columns of prose are not a table" jqe '(.text | test("\\|") | not) and (.text | length > 200)' prose2.ndjson
