/* sniff.h - a document's type from its content.
 *
 * Magic bytes decide binary formats (PDF, images, archives, and the zip
 * containers: DOCX/PPTX/XLSX by their main part, ODF and EPUB by their
 * mimetype member). Text is told apart by markup (HTML/XHTML) and then by
 * name: .csv/.tsv are tables, .md/.markdown Markdown, anything else plain
 * text. So a PDF named .docx is read as a PDF, and binary junk named .txt
 * is refused.
 */
#ifndef LODE_SNIFF_H
#define LODE_SNIFF_H

#include "docs/source.h"
#include "base/util.h"

/* Returns "pdf", "docx", "pptx", "xlsx", "odt", "odp", "ods", "epub",
 * "html", "md", "txt", "csv", "image" or "archive"; NULL with the reason
 * when the content is not something lode reads. */
const char *sniff_type(const struct blob *b, const char *name, lode_error *why);

/* "png", "jpeg", "gif", "tiff", "webp", "bmp" or "jp2" for an image's
 * magic bytes, else NULL. */
const char *sniff_image_format(const unsigned char *p, size_t n);

#endif
