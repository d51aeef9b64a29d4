/* textdoc.h - builds the text of a structured document (DOCX, ODT, HTML,
 * EPUB, slides, sheets) in lode's plain layout (lode-records(7), "Text"):
 *
 *   headings      "# Title", "## Section" (one '#' per level, at most 6);
 *                 a numbered one "## 2.3 Section" (its number as the
 *                 document renders it)
 *   list items    "- item", nested items indented two spaces a level; a
 *                 numbered one "1. item", "  a) item" (its marker)
 *   table rows    Markdown's "| cell | cell | cell |", one row a line,
 *                 the first row of a table its header, followed by
 *                 "| --- | --- | --- |"; a '|' in a cell written "\|"
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
    int space;       /* a collapsed space is pending */
    int cell_depth;  /* inside a table cell */
    int cells;       /* cells begun in the current row */
    int row_text;    /* the current row has non-blank text */
    char marker[64]; /* the current block's number, "" for none */
};

/* How a list level counts. */
enum td_numfmt {
    TD_NUM_DECIMAL,
    TD_NUM_DECIMAL_ZERO, /* 01, 02, ... 10 */
    TD_NUM_LOWER_LETTER, /* a .. z, aa .. zz, ... */
    TD_NUM_UPPER_LETTER,
    TD_NUM_LOWER_ROMAN,
    TD_NUM_UPPER_ROMAN,
    TD_NUM_BULLET, /* no number: the item's "- " */
    TD_NUM_NONE,   /* no number and no marker */
};

/* Appends n written in format f (bullets and none append nothing). */
void textdoc_format_number(struct buf *b, long n, enum td_numfmt f);
/* Gives the block begun last a number as the document renders it ("2.3.",
 * "a)"): a list item shows it in place of "- ", a heading before its text.
 * Inside a table cell it is text of the cell. */
void textdoc_marker(struct textdoc *td, const char *marker);

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
/* Begins a table: its first row is its header (inside a cell, nothing). */
void textdoc_table_begin(struct textdoc *td);
void textdoc_row_begin(struct textdoc *td);
void textdoc_cell_begin(struct textdoc *td);
void textdoc_cell_end(struct textdoc *td);
/* n empty cells (the rest of a cell spanning n + 1 columns), at most 64. */
void textdoc_empty_cells(struct textdoc *td, long n);
void textdoc_row_end(struct textdoc *td);
/* Appends finished text verbatim as its own block (e.g. notes). */
void textdoc_append_block(struct textdoc *td, const char *s, size_t n);
/* Ends everything; returns the text (malloc'd) and its length. */
char *textdoc_finish(struct textdoc *td, size_t *len);
void textdoc_free(struct textdoc *td);

#endif
