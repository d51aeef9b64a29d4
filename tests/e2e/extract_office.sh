#!/usr/bin/env bash
# PPTX, XLSX, ODP, ODS and DOCX details, on small files this test writes
# itself (part by part, as the standards lay them out), with exact expected
# text.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"

pack() { # OUT DIR: zip DIR's files into OUT, mimetype first and stored (ODF)
    local out=$PWD/$1
    rm -f "$out"
    (cd "$2" && if [ -f mimetype ]; then zip -q -X -0 "$out" mimetype; fi &&
        zip -q -X -r "$out" . -x mimetype)
}
W='xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
A='xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
P='xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
R='xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
RELS='xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
T='http://schemas.openxmlformats.org/officeDocument/2006/relationships'

# ---- PPTX: two slides in the order of sldIdLst (not of the part names) ----
mkdir -p pptx/ppt/slides/_rels pptx/ppt/_rels pptx/ppt/notesSlides pptx/docProps
cat > pptx/ppt/presentation.xml <<XML
<p:presentation $P $R><p:sldIdLst><p:sldId id="256" r:id="rId2"/><p:sldId id="257" r:id="rId1"/></p:sldIdLst></p:presentation>
XML
cat > pptx/ppt/_rels/presentation.xml.rels <<XML
<Relationships $RELS><Relationship Id="rId1" Type="$T/slide" Target="slides/slide1.xml"/><Relationship Id="rId2" Type="$T/slide" Target="slides/slide2.xml"/></Relationships>
XML
cat > pptx/ppt/slides/slide2.xml <<XML
<p:sld $P $A><p:cSld><p:spTree>
<p:sp><p:nvSpPr><p:cNvPr id="2" name="T"/><p:cNvSpPr/><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>Quarterly </a:t></a:r><a:r><a:t>results</a:t></a:r></a:p></p:txBody></p:sp>
<p:sp><p:nvSpPr><p:cNvPr id="3" name="B"/><p:cNvSpPr/><p:nvPr><p:ph idx="1"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>Revenue grew</a:t></a:r></a:p><a:p><a:pPr lvl="1"/><a:r><a:t>mostly in Europe</a:t></a:r></a:p></p:txBody></p:sp>
<p:sp><p:nvSpPr><p:cNvPr id="4" name="N"/><p:cNvSpPr/><p:nvPr><p:ph type="sldNum"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>1</a:t></a:r></a:p></p:txBody></p:sp>
</p:spTree></p:cSld></p:sld>
XML
cat > pptx/ppt/slides/slide1.xml <<XML
<p:sld $P $A><p:cSld><p:spTree>
<p:sp><p:nvSpPr><p:cNvPr id="2" name="T"/><p:cNvSpPr/><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>Figures</a:t></a:r></a:p></p:txBody></p:sp>
<p:graphicFrame><a:graphic><a:graphicData><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>Region</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>Sales</a:t></a:r></a:p></a:txBody></a:tc></a:tr><a:tr><a:tc><a:txBody><a:p><a:r><a:t>EU</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>42</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl></a:graphicData></a:graphic></p:graphicFrame>
<p:sp><p:nvSpPr><p:cNvPr id="5" name="Box"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:txBody><a:p><a:r><a:t>A free text box.</a:t></a:r></a:p></p:txBody></p:sp>
</p:spTree></p:cSld></p:sld>
XML
cat > pptx/ppt/slides/_rels/slide1.xml.rels <<XML
<Relationships $RELS><Relationship Id="rId9" Type="$T/notesSlide" Target="../notesSlides/notesSlide1.xml"/></Relationships>
XML
cat > pptx/ppt/notesSlides/notesSlide1.xml <<XML
<p:notes $P $A><p:cSld><p:spTree>
<p:sp><p:nvSpPr><p:cNvPr id="2" name="I"/><p:cNvSpPr/><p:nvPr><p:ph type="sldImg"/></p:nvPr></p:nvSpPr></p:sp>
<p:sp><p:nvSpPr><p:cNvPr id="3" name="N"/><p:cNvSpPr/><p:nvPr><p:ph type="body" idx="1"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>Say the numbers slowly.</a:t></a:r></a:p></p:txBody></p:sp>
</p:spTree></p:cSld></p:notes>
XML
printf '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' > 'pptx/[Content_Types].xml'
pack deck.pptx pptx
lode-extract deck.pptx > deck.ndjson 2> /dev/null
expect_eq "pptx: one record per slide, in presentation order" "pptx 1/2 pptx 2/2" \
    "$(jq -r '"\(.type) \(.page)/\(.pages)"' deck.ndjson | tr '\n' ' ' | sed 's/ $//')"
expect_eq "pptx slide 1: title, body items by level, no slide number" \
    "# Quarterly results

- Revenue grew
  - mostly in Europe" "$(jq -r 'select(.page == 1) | .text' deck.ndjson)"
expect_eq "pptx slide 2: a table as Markdown rows under its header, a text box, speaker notes" \
    "# Figures

| Region | Sales |
| --- | --- |
| EU | 42 |

A free text box.

Notes: Say the numbers slowly." "$(jq -r 'select(.page == 2) | .text' deck.ndjson)"

# ---- XLSX: shared and inline strings, numbers, booleans, dates ----
mkdir -p xlsx/xl/worksheets xlsx/xl/_rels
cat > xlsx/xl/workbook.xml <<XML
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" $R><sheets><sheet name="Sales" sheetId="1" r:id="rId1"/><sheet name="Notes" sheetId="2" state="hidden" r:id="rId2"/></sheets></workbook>
XML
cat > xlsx/xl/_rels/workbook.xml.rels <<XML
<Relationships $RELS><Relationship Id="rId1" Type="$T/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="$T/worksheet" Target="/xl/worksheets/sheet2.xml"/></Relationships>
XML
cat > xlsx/xl/sharedStrings.xml <<'XML'
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>Product</t></si><si><t>Shipped</t></si><si><r><t>Tea </t></r><r><t>(green)</t></r><rPh><t>ignored</t></rPh></si></sst>
XML
cat > xlsx/xl/styles.xml <<'XML'
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="22"/></cellXfs></styleSheet>
XML
cat > xlsx/xl/worksheets/sheet1.xml <<'XML'
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>Price</t></is></c><c r="D1" t="inlineStr"><is><t>In stock</t></is></c></row>
<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" s="1"><v>45292</v></c><c r="C2"><v>3.5</v></c><c r="D2" t="b"><v>1</v></c></row>
<row r="3"><c r="A3" t="str"><v>Coffee</v></c><c r="B3" s="2"><v>45292.5</v></c><c r="D3" t="b"><v>0</v></c></row>
<row r="5"></row>
</sheetData></worksheet>
XML
cat > xlsx/xl/worksheets/sheet2.xml <<'XML'
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="B1" t="inlineStr"><is><t>internal</t></is></c></row></sheetData></worksheet>
XML
printf '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' > 'xlsx/[Content_Types].xml'
pack book.xlsx xlsx
lode-extract book.xlsx > book.ndjson 2> /dev/null
expect_eq "xlsx: one record per sheet, named in meta" "Sales Notes" "$(jq -r .meta.sheet book.ndjson | tr '\n' ' ' | sed 's/ $//')"
expect_eq "xlsx: a Markdown table, the first row its header; shared, rich and inline strings, dates, booleans; an empty cell keeps its place" \
    "| Product | Shipped | Price | In stock |
| --- | --- | --- | --- |
| Tea (green) | 2024-01-01 | 3.5 | TRUE |
| Coffee | 2024-01-01 12:00:00 |  | FALSE |" "$(jq -r 'select(.page == 1) | .text' book.ndjson)"
expect_eq "xlsx: a hidden sheet is read and marked; its first column is empty" "true |  | internal |
| --- | --- |" \
    "$(jq -r 'select(.page == 2) | "\(.meta.hidden) \(.text)"' book.ndjson)"

# ---- ODS and ODP ----
O='xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"'
mkdir -p ods
printf 'application/vnd.oasis.opendocument.spreadsheet' > ods/mimetype
cat > ods/content.xml <<XML
<office:document-content $O><office:body><office:spreadsheet>
<table:table table:name="Budget">
<table:table-row><table:table-cell><text:p>Item</text:p></table:table-cell><table:table-cell table:number-columns-repeated="2"/><table:table-cell><text:p>Cost</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16380"/></table:table-row>
<table:table-row table:number-rows-repeated="2"><table:table-cell><text:p>Desk</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>
</table:table>
<table:table table:name="Empty"/>
</office:spreadsheet></office:body></office:document-content>
XML
cat > ods/meta.xml <<XML
<office:document-meta $O><office:meta><dc:title>Budget 2026</dc:title><meta:initial-creator>Ada</meta:initial-creator><meta:creation-date>2026-01-02T03:04:05</meta:creation-date><dc:date>2026-02-03T00:00:00</dc:date></office:meta></office:document-meta>
XML
pack budget.ods ods
lode-extract budget.ods > ods.ndjson 2> /dev/null
expect_eq "ods: sheets by name" "Budget Empty" "$(jq -r .meta.sheet ods.ndjson | tr '\n' ' ' | sed 's/ $//')"
expect_eq "ods: repeated cells and rows, without expanding a million empty ones" "| Item |  |  | Cost |
| --- | --- | --- | --- |
| Desk |
| Desk |" "$(jq -r 'select(.page == 1) | .text' ods.ndjson)"
expect_eq "ods: meta.xml into meta" "Budget 2026|Ada|2026-01-02T03:04:05|2026-02-03T00:00:00" \
    "$(jq -r 'select(.page == 1) | .meta | "\(.title)|\(.author)|\(.created)|\(.modified)"' ods.ndjson)"
mkdir -p odp
printf 'application/vnd.oasis.opendocument.presentation' > odp/mimetype
cat > odp/content.xml <<XML
<office:document-content $O><office:body><office:presentation>
<draw:page draw:name="p1"><draw:frame presentation:class="title"><draw:text-box><text:p>Roadmap</text:p></draw:text-box></draw:frame>
<draw:frame presentation:class="outline"><draw:text-box><text:list><text:list-item><text:p>Ship lode-extract</text:p><text:list><text:list-item><text:p>with tests</text:p></text:list-item></text:list></text:list-item></text:list></draw:text-box></draw:frame>
<presentation:notes><draw:frame presentation:class="notes"><draw:text-box><text:p>Mention the benchmarks.</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>
<draw:page draw:name="p2"><draw:frame presentation:class="title"><draw:text-box><text:p>Thanks</text:p></draw:text-box></draw:frame><draw:frame presentation:class="page-number"><draw:text-box><text:p>2</text:p></draw:text-box></draw:frame></draw:page>
</office:presentation></office:body></office:document-content>
XML
pack talk.odp odp
lode-extract talk.odp > odp.ndjson 2> /dev/null
expect_eq "odp: slide 1 with nested items and notes" "# Roadmap

- Ship lode-extract
  - with tests

Notes: Mention the benchmarks." "$(jq -r 'select(.page == 1) | .text' odp.ndjson)"
expect_eq "odp: slide 2 without its page number" "# Thanks" "$(jq -r 'select(.page == 2) | .text' odp.ndjson)"

# ---- DOCX details: text boxes, alternate content, tracked changes ----
mkdir -p docx/word
cat > docx/word/document.xml <<XML
<w:document $W xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:wps="x"><w:body>
<w:p><w:r><w:t xml:space="preserve">Kept </w:t></w:r><w:ins><w:r><w:t>inserted</w:t></w:r></w:ins><w:del><w:r><w:delText>deleted</w:delText></w:r></w:del><w:r><w:t xml:space="preserve"> text</w:t></w:r><w:r><w:instrText> PAGE </w:instrText></w:r></w:p>
<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>In a text box</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>In a text box</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>
<w:sdt><w:sdtContent><w:p><w:pPr><w:outlineLvl w:val="1"/></w:pPr><w:r><w:t>Outline level 2</w:t></w:r></w:p></w:sdtContent></w:sdt>
<w:p><w:pPr><w:numPr><w:ilvl w:val="2"/><w:numId w:val="3"/></w:numPr></w:pPr><w:r><w:t>deep item</w:t></w:r><w:r><w:br/><w:t>second line</w:t></w:r></w:p>
</w:body></w:document>
XML
printf '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' > 'docx/[Content_Types].xml'
pack details.docx docx
lode-extract details.docx > details.ndjson 2> /dev/null
expect_eq "docx: insertions kept, deletions and field codes left out, a text box read once, outline levels, deep items, line breaks" \
    "Kept inserted text

In a text box

## Outline level 2

    - deep item
second line" "$(jq -r .text details.ndjson)"

# ---- DOCX numbering: numbering.xml applied as Word renders it ----
# Headings numbered through their styles (a multilevel list whose levels
# are linked to Heading 1-3), a numbered list with lettered sub-items, a
# second list of the same definition restarted by a startOverride, a bullet
# list, a legal-style level (isLgl) under a roman one, a level without a
# number, and numbering the file does not define (a plain item).
mkdir -p numdocx/word
cat > numdocx/word/styles.xml <<XML
<w:styles $W>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Heading1"/><w:pPr><w:numPr><w:ilvl w:val="1"/></w:numPr></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading3"><w:name w:val="heading 3"/><w:basedOn w:val="Heading1"/><w:pPr><w:numPr><w:ilvl w:val="2"/></w:numPr></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/></w:style>
</w:styles>
XML
cat > numdocx/word/numbering.xml <<XML
<w:numbering $W>
<w:abstractNum w:abstractNumId="0"><w:multiLevelType w:val="multilevel"/>
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading1"/><w:lvlText w:val="%1."/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading2"/><w:lvlText w:val="%1.%2"/></w:lvl>
<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:pStyle w:val="Heading3"/><w:lvlText w:val="%1.%2.%3."/></w:lvl>
</w:abstractNum>
<w:abstractNum w:abstractNumId="1">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="%2)"/></w:lvl>
</w:abstractNum>
<w:abstractNum w:abstractNumId="2">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="&#xF0B7;"/></w:lvl>
</w:abstractNum>
<w:abstractNum w:abstractNumId="3">
<w:lvl w:ilvl="0"><w:start w:val="3"/><w:numFmt w:val="upperRoman"/><w:lvlText w:val="Article %1."/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:isLgl/><w:lvlText w:val="Section %1.%2"/></w:lvl>
<w:lvl w:ilvl="2"><w:numFmt w:val="none"/><w:lvlText w:val=""/></w:lvl>
</w:abstractNum>
<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
<w:num w:numId="3"><w:abstractNumId w:val="1"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>
<w:num w:numId="4"><w:abstractNumId w:val="2"/></w:num>
<w:num w:numId="5"><w:abstractNumId w:val="3"/></w:num>
</w:numbering>
XML
np() { # STYLE NUMID ILVL TEXT: a paragraph (empty STYLE, NUMID or ILVL: none)
    local ppr=""
    [ -n "$1" ] && ppr="<w:pStyle w:val=\"$1\"/>"
    if [ -n "$2" ]; then
        ppr="$ppr<w:numPr>${3:+<w:ilvl w:val=\"$3\"/>}<w:numId w:val=\"$2\"/></w:numPr>"
    elif [ -n "$3" ]; then
        ppr="$ppr<w:numPr><w:ilvl w:val=\"$3\"/></w:numPr>"
    fi
    echo "<w:p><w:pPr>$ppr</w:pPr><w:r><w:t>$4</w:t></w:r></w:p>"
}
{
    echo "<w:document $W><w:body>"
    np Heading1 "" "" "Introduction"
    np "" "" "" "Some text."
    np Heading2 "" "" "Scope"
    np Heading2 "" "" "Terms"
    np Heading1 "" "" "Requirements"
    np Heading2 "" "" "Hardware"
    np Heading2 "" "" "Software"
    np Heading3 "" "" "Software Constraints"
    np Heading3 "" "" "Software Interfaces"
    np ListParagraph 2 0 "Unpack the box"
    np ListParagraph 2 1 "check the cables"
    np ListParagraph 2 1 "check the manual"
    np ListParagraph 2 0 "Plug it in"
    np "" "" "" "A second list restarts:"
    np ListParagraph 3 0 "Open the lid"
    np ListParagraph 3 0 "Close the lid"
    np ListParagraph 4 0 "a bullet"
    np "" 5 0 "Definitions"
    np "" 5 1 "Terms used"
    np "" 5 2 "an unnumbered level"
    np "" 5 1 "Other terms"
    np "" 9 0 "numbering the file does not define"
    np "" 0 "" "numId 0: no numbering"
    np Heading1 "" "" "Annex"
    echo "</w:body></w:document>"
} > numdocx/word/document.xml
printf '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' > 'numdocx/[Content_Types].xml'
pack numbered.docx numdocx
lode-extract numbered.docx > numbered.ndjson 2> /dev/null
cat > numbered.expected <<'EOF'
# 1. Introduction

Some text.

## 1.1 Scope

## 1.2 Terms

# 2. Requirements

## 2.1 Hardware

## 2.2 Software

### 2.2.1. Software Constraints

### 2.2.2. Software Interfaces

1. Unpack the box
  a) check the cables
  b) check the manual
2. Plug it in

A second list restarts:

1. Open the lid
2. Close the lid
- a bullet
Article III. Definitions
  Section 3.1 Terms used

an unnumbered level

  Section 3.2 Other terms
- numbering the file does not define

numId 0: no numbering

# 3. Annex
EOF
expect_eq "docx numbering: headings through their styles, lists, restarts, bullets, legal and roman levels, as Word renders them" \
    "$(cat numbered.expected)" "$(jq -r .text numbered.ndjson)"
# Hostile numbering: levels out of range, a style link that loops, a level
# text naming levels never used, a start override far out, an instance of
# no definition: numbers as far as they are defined, no crash.
mkdir -p baddocx/word
cat > baddocx/word/styles.xml <<XML
<w:styles $W><w:style w:type="paragraph" w:styleId="L"><w:name w:val="L"/><w:pPr><w:numPr><w:numId w:val="2"/></w:numPr></w:pPr></w:style></w:styles>
XML
cat > baddocx/word/numbering.xml <<XML
<w:numbering $W>
<w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="99"><w:lvlText w:val="%1"/></w:lvl><w:lvl w:ilvl="0"><w:start w:val="-5"/><w:numFmt w:val="upperRoman"/><w:lvlText w:val="%0%9%%1.%3"/></w:lvl></w:abstractNum>
<w:abstractNum w:abstractNumId="1"><w:numStyleLink w:val="L"/></w:abstractNum>
<w:abstractNum/>
<w:num w:numId="1"><w:abstractNumId w:val="0"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="99999999999"/></w:lvlOverride><w:lvlOverride w:ilvl="42"><w:startOverride w:val="1"/></w:lvlOverride></w:num>
<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
<w:num w:numId="3"><w:abstractNumId w:val="7"/></w:num>
<w:num/>
</w:numbering>
XML
{
    echo "<w:document $W><w:body>"
    np "" 1 0 "first"
    np "" 1 0 "second"
    np "" 1 77 "deep"
    np "" 2 0 "linked"
    np "" 3 0 "no definition"
    echo "</w:body></w:document>"
} > baddocx/word/document.xml
printf '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' > 'baddocx/[Content_Types].xml'
pack badnum.docx baddocx
lode-extract badnum.docx > badnum.ndjson 2> badnum.err
expect_eq "docx hostile numbering: read, exit 0" 0 $?
# (%0 is no level: kept; %9 and %3 name levels never used: their start, 0;
# the override is clamped to a million; a level past 9 is the last level,
# which has no text: no number; the loop ends at the definition it left)
expect_eq "docx hostile numbering: numbers as far as they are defined" "%00%1000000.0 first
%00%1000001.0 second

deep

linked

- no definition" "$(jq -r .text badnum.ndjson)"

# ---- ODT numbering: outline numbering of headings, list styles ----
# An outline style numbering three levels ("2.3.4."), headings that restart
# or are list headers; a numbered list with lettered sub-items and a
# prefix, a bullet level, a list that continues the last one of its style,
# one that restarts, an item with its own start value.
mkdir -p numodt/META-INF
printf 'application/vnd.oasis.opendocument.text' > numodt/mimetype
S='xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
cat > numodt/styles.xml <<XML
<office:document-styles $O $S><office:styles>
<text:outline-style style:name="Outline">
<text:outline-level-style text:level="1" style:num-format="1" style:num-suffix="."/>
<text:outline-level-style text:level="2" style:num-format="1" text:display-levels="2"/>
<text:outline-level-style text:level="3" style:num-format="1" style:num-suffix="." text:display-levels="3"/>
</text:outline-style>
<text:list-style style:name="Shared"><text:list-level-style-number text:level="1" style:num-format="i" style:num-suffix=")"/></text:list-style>
</office:styles></office:document-styles>
XML
cat > numodt/content.xml <<XML
<office:document-content $O $S><office:automatic-styles>
<text:list-style style:name="L1">
<text:list-level-style-number text:level="1" style:num-format="1" style:num-suffix="."/>
<text:list-level-style-number text:level="2" style:num-format="a" style:num-prefix="(" style:num-suffix=")"/>
<text:list-level-style-bullet text:level="3" text:bullet-char="•"/>
</text:list-style>
</office:automatic-styles><office:body><office:text>
<text:h text:outline-level="1">Introduction</text:h>
<text:h text:outline-level="2">Scope</text:h>
<text:h text:outline-level="1">Requirements</text:h>
<text:h text:outline-level="2">Hardware</text:h>
<text:h text:outline-level="2">Software</text:h>
<text:h text:outline-level="3">Software Constraints</text:h>
<text:h text:outline-level="1" text:is-list-header="true">Unnumbered heading</text:h>
<text:list text:style-name="L1">
<text:list-item><text:p>Unpack</text:p>
<text:list><text:list-item><text:p>cables</text:p>
<text:list><text:list-item><text:p>a bullet</text:p></text:list-item></text:list>
</text:list-item><text:list-item><text:p>manual</text:p></text:list-item></text:list>
</text:list-item>
<text:list-item><text:p>Plug in</text:p></text:list-item>
</text:list>
<text:p>Between the lists.</text:p>
<text:list text:style-name="L1" text:continue-numbering="true">
<text:list-item><text:p>Switch on</text:p></text:list-item>
</text:list>
<text:list text:style-name="L1">
<text:list-item><text:p>Restarted</text:p></text:list-item>
<text:list-item text:start-value="7"><text:p>Seventh</text:p></text:list-item>
</text:list>
<text:list text:style-name="Shared"><text:list-item><text:p>from styles.xml</text:p></text:list-item><text:list-item><text:p>again</text:p></text:list-item></text:list>
<text:h text:outline-level="1" text:restart-numbering="true" text:start-value="9">Annex</text:h>
<text:h text:outline-level="2"><text:number>A.1</text:number>Stored number</text:h>
</office:text></office:body></office:document-content>
XML
pack numbered.odt numodt
lode-extract numbered.odt > numodt.ndjson 2> /dev/null
expect_eq "odt numbering: outline numbers, list styles, continued and restarted lists, start values, stored numbers" \
    "# 1. Introduction

## 1.1 Scope

# 2. Requirements

## 2.1 Hardware

## 2.2 Software

### 2.2.1. Software Constraints

# Unnumbered heading

1. Unpack
  (a) cables
    - a bullet
  (b) manual
2. Plug in

Between the lists.

3. Switch on
1. Restarted
7. Seventh
i) from styles.xml
ii) again

# 9. Annex

## A.1 Stored number" "$(jq -r .text numodt.ndjson)"
