#!/bin/sh
# Regenerates the example documents from the project's own sources: the man
# pages rendered to PDF and HTML by groff, a DOCX written from WordprocessingML
# by hand, a CSV, and a tar.gz of some of them. guide.md is written by hand.
# Needs groff, zip, tar and pdftoppm (make deps installs them).
set -e
cd "$(dirname "$0")"
MAN=../man
groff -man -Tpdf "$MAN/man1/lode-extract.1" > lode-extract.pdf
groff -man -Tpdf "$MAN/man1/lode-chunk.1" > lode-chunk.pdf
groff -man -Thtml "$MAN/man7/lode-records.7" > lode-records.html

cat > formats.csv <<'CSV'
format,extensions,read with,one record per,notes
PDF,.pdf,poppler,page,"pages without a text layer are marked for OCR"
Word,.docx,libarchive + libxml2,document,"headings, lists, tables, footnotes"
PowerPoint,.pptx,libarchive + libxml2,slide,"speaker notes follow each slide"
Excel,.xlsx,libarchive + libxml2,sheet,"dates written as ISO dates"
OpenDocument,".odt, .odp, .ods",libarchive + libxml2,"document, slide or sheet",
EPUB,.epub,libarchive + libxml2,book,"chapters in reading order"
HTML,".html, .htm, .xhtml",libxml2,page,"navigation and scripts left out"
Markdown,".md, .markdown",lode,document,"kept as written"
CSV,".csv, .tsv",lode,file,"each row as header: value lines"
Images,".png, .jpg, .tif, .gif, .bmp, .webp",lode-ocr,image or TIFF page,"text comes from OCR"
Archives,".zip, .tar.gz, .7z, .gz, ...",libarchive,member,"opened recursively, bombs stopped"
CSV

# release-notes.docx: a minimal WordprocessingML package
tmp=$(mktemp -d)
mkdir -p "$tmp/_rels" "$tmp/word/_rels" "$tmp/docProps"
cat > "$tmp/[Content_Types].xml" <<'XML'
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
</Types>
XML
cat > "$tmp/_rels/.rels" <<'XML'
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
</Relationships>
XML
cat > "$tmp/word/_rels/document.xml.rels" <<'XML'
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/>
</Relationships>
XML
cat > "$tmp/docProps/core.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<dc:title>lode release notes</dc:title><dc:creator>The lode developers</dc:creator><dc:language>en</dc:language>
<dcterms:created xsi:type="dcterms:W3CDTF">2026-11-21T00:00:00Z</dcterms:created>
</cp:coreProperties>
XML
cat > "$tmp/word/styles.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="ListBullet"><w:name w:val="List Bullet"/><w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr></w:style>
</w:styles>
XML
cat > "$tmp/word/footnotes.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>
<w:footnote w:id="1"><w:p><w:r><w:t>Measured on a two-core machine; see the README's performance section.</w:t></w:r></w:p></w:footnote>
</w:footnotes>
XML
cat > "$tmp/word/document.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>lode 0.1 release notes</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">This release brings the first two programs of the pipeline. </w:t></w:r><w:r><w:t>They read the documents people actually keep.</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>New programs</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="ListBullet"/></w:pPr><w:r><w:t>lode-extract: text of PDF, Office, OpenDocument, EPUB, HTML, Markdown, CSV and archives</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="ListBullet"/></w:pPr><w:r><w:t>lode-chunk: pieces of about 256 tokens, cut at headings, paragraphs and sentences</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Speed</w:t></w:r></w:p>
<w:p><w:r><w:t>With one worker lode-extract keeps pace with pdftotext; with two it is well ahead.</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Program</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Compared with</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>lode-extract</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>pdftotext</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
</w:body></w:document>
XML
rm -f release-notes.docx
(cd "$tmp" && zip -qX -r "$OLDPWD/release-notes.docx" '[Content_Types].xml' _rels docProps word)
rm -rf "$tmp"

# an archive of documents, as a backup would hold them
tmp=$(mktemp -d)
mkdir -p "$tmp/backup/notes"
cp guide.md "$tmp/backup/notes/"
cp formats.csv "$tmp/backup/"
tar -C "$tmp" -czf backup.tar.gz backup
rm -rf "$tmp"

# scanned-page.png: page 1 of lode-chunk.pdf as a scanner would give it, a
# gray image without any text layer, for lode-ocr
pdftoppm -r 150 -gray -png -f 1 -l 1 -singlefile lode-chunk.pdf scanned-page
