/* textdoc.c - the builder of textdoc.h: blocks, headings, list items,
 * table rows and cells, slide notes and breaks collected in order and
 * written in lode's plain layout (lode-records(7), "Text"). */
#include "docs/textdoc.h"

#include <stdio.h>
#include <string.h>

void textdoc_init(struct textdoc *td)
{
    memset(td, 0, sizeof *td);
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Trims cur in place; returns the start offset of the trimmed content. */
static size_t trim(struct buf *b)
{
    size_t s = 0;
    while (s < b->len && is_ws((unsigned char)b->data[s]))
        s++;
    while (b->len > s && is_ws((unsigned char)b->data[b->len - 1]))
        b->len--;
    if (b->data)
        b->data[b->len] = 0;
    return s;
}

static void flush(struct textdoc *td)
{
    if (td->kind == TD_NONE)
        return;
    /* a row keeps its leading blank (an empty first cell) */
    size_t s = td->kind == TD_PRE || td->kind == TD_ROW ? 0 : trim(&td->cur);
    if (td->kind == TD_PRE) {
        /* keep inner whitespace, drop blank lines around */
        while (s < td->cur.len && (td->cur.data[s] == '\n' || td->cur.data[s] == '\r'))
            s++;
        buf_rtrim(&td->cur);
    }
    int empty = s >= td->cur.len || (td->kind == TD_ROW && !td->row_text);
    if (!empty) {
        if (td->out.len) {
            int tight = (td->last == TD_ITEM && td->kind == TD_ITEM) ||
                (td->last == TD_ROW && td->kind == TD_ROW);
            buf_adds(&td->out, tight ? "\n" : "\n\n");
        }
        if (td->kind == TD_HEADING) {
            int lv = td->level < 1 ? 1 : td->level > 6 ? 6 : td->level;
            for (int i = 0; i < lv; i++)
                buf_addc(&td->out, '#');
            buf_addc(&td->out, ' ');
            if (td->marker[0])
                buf_addf(&td->out, "%s ", td->marker);
        } else if (td->kind == TD_ITEM) {
            int lv = td->level < 0 ? 0 : td->level > 8 ? 8 : td->level;
            for (int i = 0; i < lv; i++)
                buf_adds(&td->out, "  ");
            buf_addf(&td->out, "%s ", td->marker[0] ? td->marker : "-");
        }
        if (td->kind == TD_ROW) {
            /* a Markdown table row; the first row of a table is its header */
            buf_adds(&td->out, "| ");
            buf_add(&td->out, td->cur.data + s, td->cur.len - s);
            buf_adds(&td->out, " |");
            if (td->last != TD_ROW) {
                buf_addc(&td->out, '\n');
                for (int i = 0; i < td->cells; i++)
                    buf_adds(&td->out, "| --- ");
                buf_addc(&td->out, '|');
            }
        } else {
            buf_add(&td->out, td->cur.data + s, td->cur.len - s);
        }
        td->last = td->kind;
    }
    buf_reset(&td->cur);
    td->kind = TD_NONE;
    td->marker[0] = 0;
    td->space = 0;
    td->cells = 0;
    td->row_text = 0;
}

void textdoc_begin(struct textdoc *td, enum td_kind kind, int level)
{
    if (td->cell_depth) {
        td->space = 1;
        return;
    }
    flush(td);
    td->kind = kind;
    td->level = level;
}

void textdoc_marker(struct textdoc *td, const char *marker)
{
    if (td->cell_depth) {
        textdoc_texts(td, marker);
        td->space = 1;
        return;
    }
    snprintf(td->marker, sizeof td->marker, "%s", marker);
}

static void letters(struct buf *b, long n, char a)
{
    /* 1 a .. 26 z, 27 aa .. 52 zz: the letter repeated, as Word and
     * LibreOffice count */
    long reps = (n - 1) / 26 + 1;
    if (reps > 16)
        reps = 16;
    for (long i = 0; i < reps; i++)
        buf_addc(b, (char)(a + (n - 1) % 26));
}

static void roman(struct buf *b, long n, int upper)
{
    static const struct {
        int v;
        const char *s;
    } r[] = {{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
             {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        for (; n >= r[i].v; n -= r[i].v)
            for (const char *p = r[i].s; *p; p++)
                buf_addc(b, upper ? (char)(*p - 'a' + 'A') : *p);
}

void textdoc_format_number(struct buf *b, long n, enum td_numfmt f)
{
    if (f == TD_NUM_BULLET || f == TD_NUM_NONE)
        return;
    /* letters and roman numerals have no zero or negatives, nor numbers
     * past a few thousand: those are written in decimal */
    int small = n >= 1 && n <= 3999;
    if (f == TD_NUM_LOWER_LETTER && small)
        letters(b, n, 'a');
    else if (f == TD_NUM_UPPER_LETTER && small)
        letters(b, n, 'A');
    else if (f == TD_NUM_LOWER_ROMAN && small)
        roman(b, n, 0);
    else if (f == TD_NUM_UPPER_ROMAN && small)
        roman(b, n, 1);
    else if (f == TD_NUM_DECIMAL_ZERO && n >= 0 && n < 10)
        buf_addf(b, "0%ld", n);
    else
        buf_addf(b, "%ld", n);
}

void textdoc_end(struct textdoc *td)
{
    if (td->cell_depth) {
        td->space = 1;
        return;
    }
    flush(td);
}

void textdoc_text(struct textdoc *td, const char *s, size_t n)
{
    if (td->kind == TD_NONE)
        td->kind = TD_PARA;
    if (td->kind == TD_PRE && !td->cell_depth) {
        for (size_t i = 0; i < n; i++)
            if (s[i] != '\r')
                buf_addc(&td->cur, s[i]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* U+00A0 no-break space collapses like a space */
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) {
            td->space = 1;
            i++;
            continue;
        }
        if (is_ws(c)) {
            td->space = 1;
            continue;
        }
        if (td->space && td->cur.len && !is_ws((unsigned char)td->cur.data[td->cur.len - 1]))
            buf_addc(&td->cur, ' ');
        td->space = 0;
        if (c == '|' && td->cell_depth)
            buf_addc(&td->cur, '\\'); /* a bar inside a cell is not a column */
        buf_addc(&td->cur, (char)c);
        if (td->cell_depth)
            td->row_text = 1;
    }
}

void textdoc_texts(struct textdoc *td, const char *s)
{
    textdoc_text(td, s, strlen(s));
}

void textdoc_linebreak(struct textdoc *td)
{
    if (td->cell_depth || td->kind == TD_NONE) {
        td->space = 1;
        return;
    }
    buf_rtrim(&td->cur);
    if (td->cur.len)
        buf_addc(&td->cur, '\n');
    td->space = 0;
}

void textdoc_space(struct textdoc *td)
{
    td->space = 1;
}

void textdoc_table_begin(struct textdoc *td)
{
    if (td->cell_depth)
        return;
    flush(td);
    if (td->last == TD_ROW)
        td->last = TD_PARA; /* a new table: blank line, header */
}

void textdoc_empty_cells(struct textdoc *td, long n)
{
    for (long i = 0; i < n && i < 64; i++) {
        textdoc_cell_begin(td);
        textdoc_cell_end(td);
    }
}

void textdoc_row_begin(struct textdoc *td)
{
    if (td->cell_depth) {
        td->space = 1;
        return;
    }
    flush(td);
    td->kind = TD_ROW;
}

void textdoc_cell_begin(struct textdoc *td)
{
    if (td->cell_depth++) {
        td->space = 1;
        return;
    }
    if (td->kind != TD_ROW)
        textdoc_row_begin(td);
    if (td->cells++)
        buf_adds(&td->cur, " | ");
    td->space = 0;
}

void textdoc_cell_end(struct textdoc *td)
{
    if (td->cell_depth > 0)
        td->cell_depth--;
    if (!td->cell_depth) {
        /* trailing blanks of the cell */
        while (td->cur.len && td->cur.data[td->cur.len - 1] == ' ' &&
               !(td->cur.len >= 3 && !memcmp(td->cur.data + td->cur.len - 3, " | ", 3)))
            td->cur.len--;
        if (td->cur.data)
            td->cur.data[td->cur.len] = 0;
        td->space = 0;
    } else {
        td->space = 1;
    }
}

void textdoc_row_end(struct textdoc *td)
{
    if (td->cell_depth) {
        td->space = 1;
        return;
    }
    if (td->kind == TD_ROW)
        flush(td);
}

void textdoc_append_block(struct textdoc *td, const char *s, size_t n)
{
    int depth = td->cell_depth;
    td->cell_depth = 0;
    flush(td);
    td->kind = TD_PRE;
    buf_add(&td->cur, s, n);
    flush(td);
    td->cell_depth = depth;
}

char *textdoc_finish(struct textdoc *td, size_t *len)
{
    td->cell_depth = 0;
    flush(td);
    buf_free(&td->cur);
    *len = td->out.len;
    return buf_release(&td->out);
}

void textdoc_free(struct textdoc *td)
{
    buf_free(&td->cur);
    buf_free(&td->out);
}
