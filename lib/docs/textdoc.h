/* textdoc.h - builds the text of a structured document (DOCX, ODT, HTML,
 * EPUB, slides, sheets) in lode's plain layout (lode-records(7), "Text"):
 *
 *   headings      "# Title", "## Section" (one '#' per level, at most 6)
 *   list items    "- item", nested items indented two spaces a level
 *   table rows    "cell | cell | cell", one row a line
 *   paragraphs    separated by a blank line; runs of whitespace inside a
 *                 paragraph become one space
 *
 * Format readers walk their markup and call these functions; a block begun
 * while inside a table cell continues the cell (nested structure is
 * flattened into the cell).
 */
#ifndef LODE_TEXTDOC_H
#define LODE_TEXTDOC_H

#include <stddef.h>

#include "base/buf.h"

enum td_kind {
    TD_NONE,
    TD_PARA,
    TD_HEADING, /* level 1..6 */
    TD_ITEM,    /* level: nesting depth from 0 */
    TD_ROW,
    TD_PRE, /* preformatted: whitespace kept */
};

struct textdoc {
    struct buf out;
    struct buf cur;
    enum td_kind kind, last;
    int level;
    int space;      /* a collapsed space is pending */
    int cell_depth; /* inside a table cell */
    int cells;      /* cells begun in the current row */
    int row_text;   /* the current row has non-blank text */
};

void textdoc_init(struct textdoc *td);
/* Ends the current block and begins one of this kind. */
void textdoc_begin(struct textdoc *td, enum td_kind kind, int level);
void textdoc_end(struct textdoc *td);
/* Inline text (whitespace collapsed, except in TD_PRE). */
void textdoc_text(struct textdoc *td, const char *s, size_t n);
void textdoc_texts(struct textdoc *td, const char *s);
/* A forced line break inside the current block. */
void textdoc_linebreak(struct textdoc *td);
/* A soft separation: a space unless one is there already. */
void textdoc_space(struct textdoc *td);
void textdoc_row_begin(struct textdoc *td);
void textdoc_cell_begin(struct textdoc *td);
void textdoc_cell_end(struct textdoc *td);
void textdoc_row_end(struct textdoc *td);
/* Appends finished text verbatim as its own block (e.g. notes). */
void textdoc_append_block(struct textdoc *td, const char *s, size_t n);
/* Ends everything; returns the text (malloc'd) and its length. */
char *textdoc_finish(struct textdoc *td, size_t *len);
void textdoc_free(struct textdoc *td);

#endif
