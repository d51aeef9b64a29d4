/* extract.h - one document's bytes into page records (lode-extract(1)).
 *
 * extract_document() decides the type from the content (magic bytes; the
 * name only separates text flavours such as .md and .csv), runs the reader
 * for that type and hands every page record and every error to a sink.
 * Archives are opened recursively; their members become documents of their
 * own, named `archive!/member`.
 *
 * Format readers (pdf.c, ooxml.c, odf.c, epub.c, html.c, plaintext.c, csv.c,
 * image.c) call extract_page() for each page they produce and return -1
 * with a reason when the whole document fails.
 */
#ifndef LODE_EXTRACT_H
#define LODE_EXTRACT_H

#include <jansson.h>

#include "base/hash.h"
#include "docs/source.h"
#include "docs/unpack.h"
#include "base/util.h"

struct extract_opts {
    int hidden; /* archive members whose names start with '.' */
    struct unpack_limits limits;
    json_t *tags;       /* --tag k=v, added to every meta; may be NULL */
    int jobs;           /* workers, to decide how to split long PDFs */
    int keep_furniture; /* PDF: leave running heads and page numbers in the text */
};

struct extract_sink {
    /* A page record (the sink owns rec). */
    void (*record)(struct extract_sink *s, int page, json_t *rec);
    /* An error record (the sink owns err); page 0 for the whole document. */
    void (*error)(struct extract_sink *s, int page, json_t *err);
    /* A long PDF that this worker extracts only pages 1..block of. */
    void (*split)(struct extract_sink *s, int pages, int block, const char *doc);
    /* A document (archive member included) is finished. */
    void (*done)(struct extract_sink *s, const char *source, int ok);
    json_t *base; /* fields of the input record passed through; may be NULL */
};

struct extract_doc {
    const struct extract_opts *opts;
    struct extract_sink *sink;
    const char *source;
    const struct blob *data;
    const char *type;
    char doc[HASH_HEX_LEN + 1]; /* hash of the bytes */
    char key[HASH_HEX_LEN + 1]; /* the DOC part of ids: hash of doc and source */
    json_t *meta;               /* document metadata; readers add to it */
    int first, last;            /* page range to extract, 1-based; 0 = all */
    int depth;                  /* archive nesting */
    struct unpack_budget *budget;
    int failed;
};

/* Extracts one document. doc_hash may be given (a later part of a split
 * PDF) or NULL. first/last select pages of a PDF (0, 0: all). */
void extract_document(const struct extract_opts *opts, struct extract_sink *sink,
                      const char *source, const struct blob *data, const char *doc_hash, int first,
                      int last);

/* For readers: one page's text. page_meta (may be NULL, stolen) is merged
 * into the record's meta. ocr_needed marks a page without usable text. */
void extract_page(struct extract_doc *d, int page, int pages, const char *text, size_t len,
                  json_t *page_meta, int ocr_needed);
/* For readers: one page failed, the others go on. */
void extract_page_error(struct extract_doc *d, int page, const char *fmt, ...) LODE_PRINTF(3, 4);

/* Sets meta[key] to a trimmed, valid UTF-8 copy of s when s is not blank. */
void extract_meta_str(json_t *meta, const char *key, const char *s);

/* The readers. */
int pdf_extract(struct extract_doc *d, lode_error *err);
int docx_extract(struct extract_doc *d, lode_error *err);
int pptx_extract(struct extract_doc *d, lode_error *err);
int xlsx_extract(struct extract_doc *d, lode_error *err);
int odf_extract(struct extract_doc *d, lode_error *err);
int epub_extract(struct extract_doc *d, lode_error *err);
int html_extract(struct extract_doc *d, lode_error *err);
int plaintext_extract(struct extract_doc *d, lode_error *err);
int csv_extract(struct extract_doc *d, lode_error *err);
int image_extract(struct extract_doc *d, lode_error *err);

#endif
