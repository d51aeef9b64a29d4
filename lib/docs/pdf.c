/* PDF through poppler-glib: one record per page, in poppler's reading
 * order (the order pdftotext uses), with line and paragraph breaks rebuilt
 * from the glyph boxes.
 *
 * poppler_page_get_text() gives lines but no paragraph breaks, and glues
 * the last line of one text flow to the first of the next. The glyph boxes
 * of poppler_page_get_text_layout() (one per character of that text) show
 * both: a new line starts where a glyph jumps left onto another line
 * without a newline, and a blank line separates lines whose vertical gap is
 * clearly wider than the page's usual line gap, whose font height changes,
 * or where reading order goes back up the page (a new column).
 *
 * Pages are read a window at a time (PDF_MIN_BLOCK pages, fixed by page
 * number): lines that recur at a page's top or bottom across the window
 * are furniture (meta.furniture), and a word hyphenated at a line end is
 * joined when the window has the whole word. Tables are found from the
 * line boxes (cells side by side on three or more rows, not prose in
 * columns) and written as Markdown rows. */
#include <glib.h>
#include <math.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "docs/extract.h"
#include "base/record.h"

#define PDF_MIN_BLOCK 32 /* pages; smaller PDFs are never split */

struct line {
    size_t start, end; /* bytes of the page text */
    double x1, y1, x2, y2;
    int boxed;
};

/* fmin/fmax are calls into libm here; these are plain compares */
static inline double lo(double a, double b)
{
    return a < b ? a : b;
}

static inline double hi(double a, double b)
{
    return a > b ? a : b;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int is_space_char(gunichar c)
{
    return c == ' ' || c == '\t' || c == 0xA0 || c == '\r';
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f'))
            return 0;
    return 1;
}

static void add_trimmed(struct buf *out, const char *s, size_t n)
{
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    buf_add(out, s + a, n - a);
}

/* A page's text as lines: what the page record's text is assembled from
 * once the pages of the block are all read (furniture and hyphenation need
 * the other pages). */
struct pline {
    size_t start, end;     /* bytes of page.text */
    int para;              /* a paragraph break before it */
    double y;              /* its middle, over the page height (0 top, 1 bottom); -1 unknown */
    double x1, y1, x2, y2; /* its box, points (boxed) */
    int boxed;
    int table; /* a table set as Markdown rows (made by find_tables) */
};

struct ppage {
    struct buf text; /* the lines, back to back */
    struct pline *lines;
    size_t n, cap;
    double width;
    int opened; /* poppler opened the page */
    int read;   /* and gave its text */
};

static struct pline *page_line(struct ppage *pg, const char *s, size_t n, int para, double y)
{
    if (pg->n == pg->cap) {
        pg->cap = pg->cap ? pg->cap * 2 : 64;
        pg->lines = xreallocarray(pg->lines, pg->cap, sizeof *pg->lines);
    }
    struct pline *l = &pg->lines[pg->n++];
    memset(l, 0, sizeof *l);
    l->start = pg->text.len;
    add_trimmed(&pg->text, s, n);
    l->end = pg->text.len;
    l->para = para;
    l->y = y;
    return l;
}

static void rebuild(const char *t, const PopplerRectangle *r, size_t nr, double height,
                    struct ppage *pg)
{
    struct line *lines = NULL;
    size_t nlines = 0, cap = 0;
    struct line cur = {0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    const char *p = t;
    double prev_x1 = 0, prev_x2 = 0;
    int spaced = 1; /* a space since the last glyph */
    for (; *p; p = g_utf8_next_char(p), i++) {
        gunichar c = g_utf8_get_char(p);
        size_t at = (size_t)(p - t);
        int split = 0;
        if (c == '\n')
            split = 1;
        else if (!is_space_char(c) && i < nr && cur.boxed) {
            const PopplerRectangle *q = &r[i];
            /* a glyph wholly above or below the line so far: poppler went
             * on to another line or flow without a newline */
            double qx1 = lo(q->x1, q->x2), qx2 = hi(q->x1, q->x2);
            /* (unless it sits under the glyph before it, in one word: text
             * set vertically) */
            int stacked = !spaced && lo(qx2, prev_x2) - hi(qx1, prev_x1) > 0.5 * (qx2 - qx1);
            if ((lo(q->y1, q->y2) >= cur.y2 || hi(q->y1, q->y2) <= cur.y1) && !stacked)
                split = 2;
            /* ... or glued two glyphs far apart on one line (table cells,
             * columns) without the space it puts between words */
            else if (!spaced && lo(q->x1, q->x2) - prev_x2 > cur.y2 - cur.y1)
                split = 2;
        }
        if (split) {
            cur.end = at;
            if (nlines == cap) {
                cap = cap ? cap * 2 : 64;
                lines = xreallocarray(lines, cap, sizeof *lines);
            }
            lines[nlines++] = cur;
            memset(&cur, 0, sizeof cur);
            cur.start = split == 1 ? at + 1 : at;
            if (split == 1)
                continue;
        }
        spaced = is_space_char(c) || c == '\n';
        if (!is_space_char(c) && c != '\n' && i < nr) {
            const PopplerRectangle *q = &r[i];
            prev_x1 = lo(q->x1, q->x2);
            prev_x2 = hi(q->x1, q->x2);
            double x1 = lo(q->x1, q->x2), x2 = hi(q->x1, q->x2);
            double y1 = lo(q->y1, q->y2), y2 = hi(q->y1, q->y2);
            if (!cur.boxed) {
                cur.x1 = x1, cur.y1 = y1, cur.x2 = x2, cur.y2 = y2;
                cur.boxed = 1;
            } else {
                cur.x1 = lo(cur.x1, x1), cur.y1 = lo(cur.y1, y1);
                cur.x2 = hi(cur.x2, x2), cur.y2 = hi(cur.y2, y2);
            }
        }
    }
    cur.end = (size_t)(p - t);
    if (nlines == cap) {
        cap = cap ? cap * 2 : 64;
        lines = xreallocarray(lines, cap, sizeof *lines);
    }
    lines[nlines++] = cur;

    /* The usual gap between consecutive lines of one column. */
    double *gaps = xcalloc(nlines, sizeof *gaps);
    size_t ngaps = 0;
    const struct line *prev = NULL;
    for (size_t k = 0; k < nlines; k++) {
        const struct line *l = &lines[k];
        if (!l->boxed)
            continue;
        if (prev && l->y1 >= prev->y1) {
            double h = hi(prev->y2 - prev->y1, l->y2 - l->y1);
            double gap = l->y1 - prev->y2;
            if (gap > -0.5 * h && gap < 3 * h)
                gaps[ngaps++] = gap / (h > 0 ? h : 1);
        }
        prev = l;
    }
    double usual = 0.2;
    if (ngaps) {
        qsort(gaps, ngaps, sizeof *gaps, cmp_double);
        usual = gaps[ngaps / 2];
    }
    free(gaps);

    prev = NULL;
    for (size_t k = 0; k < nlines; k++) {
        const struct line *l = &lines[k];
        size_t a = l->start, b = l->end;
        while (a < b && (t[a] == ' ' || t[a] == '\t' || t[a] == '\r'))
            a++;
        if (a == b)
            continue; /* blank line */
        int para = 0;
        if (pg->n) {
            if (prev && prev->boxed && l->boxed) {
                double hp = prev->y2 - prev->y1, hc = l->y2 - l->y1;
                double h = hi(hp, hc) > 0 ? hi(hp, hc) : 1;
                double gap = (l->y1 - prev->y2) / h;
                if (l->y1 < prev->y1 - 0.5 * h)
                    para = 1; /* back up the page: another column or flow */
                else if (gap > usual + 0.4)
                    para = 1;
                else if (fabs(hp - hc) > 0.2 * h)
                    para = 1; /* the font size changes: a heading */
            }
        }
        double y = l->boxed && height > 0 ? (l->y1 + l->y2) / 2 / height : -1;
        struct pline *pl = page_line(pg, t + a, b - a, para, y);
        if (l->boxed) {
            pl->boxed = 1;
            pl->x1 = l->x1, pl->y1 = l->y1, pl->x2 = l->x2, pl->y2 = l->y2;
        }
        prev = l;
    }
    free(lines);
}

/* The page's lines; 0, or -1 when poppler gives no text. */
static int page_text(PopplerPage *page, struct ppage *pg)
{
    char *t = poppler_page_get_text(page);
    if (!t)
        return -1;
    PopplerRectangle *rects = NULL;
    guint nr = 0;
    gboolean ok = poppler_page_get_text_layout(page, &rects, &nr);
    double w = 0, h = 0;
    poppler_page_get_size(page, &w, &h);
    pg->width = w;
    if (ok && rects && (glong)nr == g_utf8_strlen(t, -1)) {
        rebuild(t, rects, nr, h, pg);
    } else {
        /* no glyph boxes: poppler's lines, places unknown */
        for (const char *a = t; *a;) {
            const char *e = strchr(a, '\n');
            size_t n = e ? (size_t)(e - a) : strlen(a);
            if (!blank(a, n))
                page_line(pg, a, n, 0, -1);
            a += n + (e != NULL);
        }
    }
    pg->read = 1;
    g_free(rects);
    g_free(t);
    return 0;
}

/* ---- page furniture and hyphenation, over the pages of a block ---- */

/* Lines this far from the top or the bottom of a page may be furniture. */
#define FURNITURE_LINES 2
/* ... when the same text (digits aside) sits at the same height, within
 * this share of the page, on at least FURNITURE_MIN_PAGES pages and 40% of
 * the block's pages with text (running heads of left and right pages
 * alternate). */
#define FURNITURE_Y 0.02
#define FURNITURE_MIN_PAGES 3

/* A line's text as furniture compares it: digits (page numbers) as '#',
 * lowercase, whitespace folded. */
static char *furniture_key(const char *s, size_t n)
{
    struct buf k = {0};
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '0' && c <= '9') {
            if (!k.len || k.data[k.len - 1] != '#')
                buf_addc(&k, '#');
        } else if (c == ' ' || c == '\t') {
            if (k.len && k.data[k.len - 1] != ' ')
                buf_addc(&k, ' ');
        } else {
            buf_addc(&k, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
        }
    }
    return buf_release(&k);
}

static int edge_line(const struct ppage *pg, size_t i)
{
    return i < FURNITURE_LINES || i + FURNITURE_LINES >= pg->n;
}

/* Marks furniture[p][i] for the lines of each page that recur. */
static unsigned char **find_furniture(struct ppage *pgs, int n)
{
    unsigned char **fur = xcalloc((size_t)n, sizeof *fur);
    int with_text = 0;
    for (int p = 0; p < n; p++) {
        fur[p] = xcalloc(pgs[p].n + 1, 1);
        with_text += pgs[p].n > 0;
    }
    if (with_text < FURNITURE_MIN_PAGES)
        return fur;
    /* the edge lines' keys, once; key -> the pages' (page, y) it occurs at */
    struct edge {
        int p;
        size_t i;
        char *key;
    } *edges = NULL;
    size_t ne = 0, cap = 0;
    GHashTable *seen =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_array_unref);
    for (int p = 0; p < n; p++)
        for (size_t i = 0; i < pgs[p].n; i++) {
            const struct pline *l = &pgs[p].lines[i];
            if (!edge_line(&pgs[p], i) || l->y < 0)
                continue;
            if (ne == cap) {
                cap = cap ? cap * 2 : 64;
                edges = xreallocarray(edges, cap, sizeof *edges);
            }
            char *k = furniture_key(pgs[p].text.data + l->start, l->end - l->start);
            edges[ne++] = (struct edge){p, i, k};
            GArray *a = g_hash_table_lookup(seen, k);
            if (!a) {
                a = g_array_new(FALSE, FALSE, sizeof(double) * 2);
                g_hash_table_insert(seen, k, a);
            }
            double e[2] = {p, l->y};
            g_array_append_val(a, e);
        }
    for (size_t x = 0; x < ne; x++) {
        int p = edges[x].p;
        size_t i = edges[x].i;
        const struct pline *l = &pgs[p].lines[i];
        GArray *a = g_hash_table_lookup(seen, edges[x].key);
        /* other pages with this text at this height */
        int pages = 0, last = -1;
        for (guint j = 0; a && j < a->len; j++) {
            const double *e = &g_array_index(a, double, 2 * j);
            if ((int)e[0] != last && fabs(e[1] - l->y) <= FURNITURE_Y) {
                pages++;
                last = (int)e[0];
            }
        }
        if (pages >= FURNITURE_MIN_PAGES && pages * 5 >= with_text * 2)
            fur[p][i] = 1;
    }
    g_hash_table_destroy(seen);
    for (size_t x = 0; x < ne; x++)
        g_free(edges[x].key);
    free(edges);
    return fur;
}

/* Letters as words are made of; ASCII without decoding. */
static int letter_at(const char *p, const char *e)
{
    unsigned char c = (unsigned char)*p;
    if (c < 0x80)
        return (c | 32) >= 'a' && (c | 32) <= 'z';
    return g_unichar_isalpha(g_utf8_get_char_validated(p, e - p));
}

/* The letters that end s[0, n), and those that start s. */
static size_t tail_letters(const char *s, size_t n)
{
    const char *p = s + n;
    while (p > s) {
        const char *q = g_utf8_find_prev_char(s, p);
        if (!q || !letter_at(q, s + n))
            break;
        p = q;
    }
    return (size_t)(s + n - p);
}

static size_t head_letters(const char *s, size_t n)
{
    const char *p = s, *e = s + n;
    while (p < e && letter_at(p, e))
        p = g_utf8_next_char(p);
    return (size_t)(p - s);
}

/* A word lowercased: into buf when it is ASCII and fits, else malloc'd
 * (*owned). */
static char *lower_word(const char *w, size_t n, char *buf, size_t cap, char **owned)
{
    *owned = NULL;
    int ascii = n < cap;
    for (size_t i = 0; ascii && i < n; i++)
        ascii = (unsigned char)w[i] < 0x80;
    if (!ascii)
        return *owned = g_utf8_strdown(w, (gssize)n);
    for (size_t i = 0; i < n; i++)
        buf[i] =
            (char)((unsigned char)w[i] >= 'A' && (unsigned char)w[i] <= 'Z' ? w[i] + 32 : w[i]);
    buf[n] = 0;
    return buf;
}

/* Where line a ends in a hyphen before the word going on at the start of
 * line b: the hyphen's bytes (1 for '-', 2 for a soft hyphen, always a
 * break), and for '-' the word it would make, lowercase (malloc'd). */
static size_t hyphen_word(const char *a, size_t an, const char *b, size_t bn, char **word)
{
    *word = NULL;
    size_t hy = 0;
    if (an >= 2 && !memcmp(a + an - 2, "\xC2\xAD", 2))
        hy = 2;
    else if (an >= 1 && a[an - 1] == '-')
        hy = 1;
    if (!hy)
        return 0;
    size_t tl = tail_letters(a, an - hy), hl = head_letters(b, bn);
    if (!tl || !hl || !g_unichar_islower(g_utf8_get_char_validated(b, (gssize)bn)))
        return 0;
    if (hy == 1) {
        char *joined = g_strndup(a + an - hy - tl, tl + hl);
        memcpy(joined + tl, b, hl);
        *word = g_utf8_strdown(joined, (gssize)(tl + hl));
        g_free(joined);
    }
    return hy;
}

/* The next line after i that is text (not furniture left out). */
static size_t next_text_line(const struct ppage *pg, const unsigned char *fur, size_t i, int keep)
{
    size_t j = i + 1;
    while (j < pg->n && fur[j] && !keep)
        j++;
    return j;
}

/* Words a hyphen at a line end would make (wanted), and those of them the
 * window has whole (found): "sim-" "ply" is joined when "simply" occurs
 * unbroken, "well-" "known" is not. Only the candidates are looked for, so
 * a window without hyphens costs nothing. */
struct hyphens {
    GHashTable *wanted, *found;
};

static void hyphens_find(struct hyphens *h, struct ppage *pgs, unsigned char **fur, int n, int keep)
{
    h->wanted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    h->found = g_hash_table_new(g_str_hash, g_str_equal);
    for (int p = 0; p < n; p++)
        for (size_t i = 0; i < pgs[p].n; i++) {
            size_t j = next_text_line(&pgs[p], fur[p], i, keep);
            if (j >= pgs[p].n || pgs[p].lines[j].para || (fur[p][i] && !keep))
                continue;
            const struct pline *a = &pgs[p].lines[i], *b = &pgs[p].lines[j];
            char *w;
            if (hyphen_word(pgs[p].text.data + a->start, a->end - a->start,
                            pgs[p].text.data + b->start, b->end - b->start, &w) == 1 &&
                !g_hash_table_contains(h->wanted, w))
                g_hash_table_add(h->wanted, w);
            else
                g_free(w);
        }
    if (!g_hash_table_size(h->wanted))
        return;
    char buf[64];
    for (int p = 0; p < n; p++) {
        const char *s = pgs[p].text.data ? pgs[p].text.data : "", *e = s + pgs[p].text.len;
        while (s < e) {
            while (s < e && !letter_at(s, e))
                s = g_utf8_next_char(s);
            const char *w = s;
            while (s < e && letter_at(s, e))
                s = g_utf8_next_char(s);
            if (s == w)
                continue;
            char *owned;
            char *low = lower_word(w, (size_t)(s - w), buf, sizeof buf, &owned);
            gpointer key;
            if (g_hash_table_lookup_extended(h->wanted, low, &key, NULL))
                g_hash_table_add(h->found, key);
            g_free(owned);
        }
    }
}

static void hyphens_free(struct hyphens *h)
{
    g_hash_table_destroy(h->found);
    g_hash_table_destroy(h->wanted);
}

/* The bytes of a hyphen that joins line a's last word with line b's first. */
static size_t joining_hyphen(const char *a, size_t an, const char *b, size_t bn,
                             const struct hyphens *h)
{
    char *w;
    size_t hy = hyphen_word(a, an, b, bn, &w);
    int join = hy == 2 || (hy == 1 && g_hash_table_contains(h->found, w));
    g_free(w);
    return join ? hy : 0;
}

/* ---- tables: cells side by side on the same rows ---- */

/* A table has at least this many rows of two or more cells each, set one
 * under the other; its cells are short (prose in columns has long lines,
 * more than TABLE_MAX_CELL characters on average). */
#define TABLE_MIN_ROWS 3
#define TABLE_MAX_CELL 28.0

struct vrow {
    size_t *cells; /* line indices, left to right */
    size_t n;
    double y1, y2;
};

static int by_top(const void *a, const void *b, void *ctx)
{
    const struct pline *l = ctx;
    double x = l[*(const size_t *)a].y1, y = l[*(const size_t *)b].y1;
    return x < y ? -1 : x > y;
}

static int by_left(const void *a, const void *b, void *ctx)
{
    const struct pline *l = ctx;
    double x = l[*(const size_t *)a].x1, y = l[*(const size_t *)b].x1;
    return x < y ? -1 : x > y;
}

/* The columns of rows [r0, r1): x intervals, the union of their cells'. */
static size_t table_columns(const struct pline *l, const struct vrow *rows, size_t r0, size_t r1,
                            double (**cols)[2])
{
    size_t n = 0, cap = 0;
    *cols = NULL;
    for (size_t r = r0; r < r1; r++)
        for (size_t c = 0; c < rows[r].n; c++) {
            const struct pline *cl = &l[rows[r].cells[c]];
            double a = cl->x1, b = cl->x2;
            /* merge every interval it overlaps */
            size_t k = 0;
            for (size_t j = 0; j < n; j++) {
                if ((*cols)[j][1] < a || (*cols)[j][0] > b) {
                    (*cols)[k][0] = (*cols)[j][0], (*cols)[k][1] = (*cols)[j][1], k++;
                } else {
                    a = lo(a, (*cols)[j][0]);
                    b = hi(b, (*cols)[j][1]);
                }
            }
            n = k;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                *cols = xreallocarray(*cols, cap, sizeof **cols);
            }
            (*cols)[n][0] = a, (*cols)[n][1] = b;
            n++;
        }
    /* left to right */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && (*cols)[j][0] < (*cols)[j - 1][0]; j--) {
            double t0 = (*cols)[j][0], t1 = (*cols)[j][1];
            (*cols)[j][0] = (*cols)[j - 1][0], (*cols)[j][1] = (*cols)[j - 1][1];
            (*cols)[j - 1][0] = t0, (*cols)[j - 1][1] = t1;
        }
    return n;
}

/* Text in columns rather than a table: a column whose lines are long (more
 * than TABLE_MAX_CELL characters on average, wide ones counting two) and
 * mostly fill its width, as justified or flowing text does (a table's
 * cells vary), beside the others: prose beside prose, a figure's labels, a
 * table. */
static int prose_columns(const struct ppage *pg, const struct vrow *rows, size_t r0, size_t r1,
                         const double (*cols)[2], size_t ncols)
{
    double *chars = xcalloc(ncols, sizeof *chars);
    size_t *full = xcalloc(ncols, sizeof *full), *in = xcalloc(ncols, sizeof *in);
    for (size_t r = r0; r < r1; r++)
        for (size_t c = 0; c < rows[r].n; c++) {
            const struct pline *l = &pg->lines[rows[r].cells[c]];
            for (size_t k = 0; k < ncols; k++) {
                if (l->x1 < cols[k][0] || l->x2 > cols[k][1])
                    continue;
                in[k]++;
                full[k] += l->x2 - l->x1 >= 0.8 * (cols[k][1] - cols[k][0]);
                for (const char *p = pg->text.data + l->start; p < pg->text.data + l->end;
                     p = g_utf8_next_char(p))
                    chars[k] += g_unichar_iswide(g_utf8_get_char(p)) ? 2 : 1;
            }
        }
    int prose = 0;
    for (size_t k = 0; k < ncols; k++)
        if (in[k] && full[k] * 5 >= in[k] * 3 && chars[k] / (double)in[k] > TABLE_MAX_CELL)
            prose = 1;
    free(chars);
    free(full);
    free(in);
    return prose;
}

/* Writes rows [r0, r1) as a Markdown table into pg->text; the line that
 * holds it. */
static void table_write(struct ppage *pg, const struct vrow *rows, size_t r0, size_t r1,
                        const double (*cols)[2], size_t ncols, struct pline *out)
{
    struct buf *t = &pg->text;
    memset(out, 0, sizeof *out);
    out->start = t->len;
    for (size_t r = r0; r < r1; r++) {
        if (r > r0)
            buf_addc(t, '\n');
        buf_addc(t, '|');
        for (size_t c = 0; c < ncols; c++) {
            buf_addc(t, ' ');
            int any = 0;
            for (size_t k = 0; k < rows[r].n; k++) {
                const struct pline *cl = &pg->lines[rows[r].cells[k]];
                if (cl->x2 < cols[c][0] || cl->x1 > cols[c][1])
                    continue;
                if (any++)
                    buf_addc(t, ' ');
                for (size_t b = cl->start; b < cl->end; b++) {
                    if (t->data[b] == '|')
                        buf_addc(t, '\\');
                    buf_addc(t, t->data[b]);
                }
            }
            buf_adds(t, " |");
        }
        if (r == r0) {
            buf_adds(t, "\n|");
            for (size_t c = 0; c < ncols; c++)
                buf_adds(t, " --- |");
        }
    }
    out->end = t->len;
    out->para = 1;
    out->y = -1;
    out->table = 1;
}

/* Finds the page's tables among the lines that are not furniture and sets
 * each as one line of Markdown rows in place of its first line (in reading
 * order), its other lines removed; *fur is remapped to the new lines. */
static void find_tables(struct ppage *pg, unsigned char **fur, int keep)
{
    size_t *idx = xcalloc(pg->n + 1, sizeof *idx), m = 0;
    for (size_t i = 0; i < pg->n; i++)
        if (pg->lines[i].boxed && !((*fur)[i] && !keep) && pg->lines[i].y2 > pg->lines[i].y1)
            idx[m++] = i;
    g_qsort_with_data(idx, (gint)m, sizeof *idx, by_top, pg->lines);
    /* rows: lines that share most of their height */
    struct vrow *rows = xcalloc(m + 1, sizeof *rows);
    size_t nr = 0;
    for (size_t k = 0; k < m; k++) {
        const struct pline *l = &pg->lines[idx[k]];
        double h = l->y2 - l->y1;
        struct vrow *r = nr ? &rows[nr - 1] : NULL;
        if (!r || lo(r->y2, l->y2) - hi(r->y1, l->y1) < 0.5 * lo(h, r->y2 - r->y1)) {
            r = &rows[nr++];
            r->y1 = l->y1, r->y2 = l->y2;
        }
        r->cells = xreallocarray(r->cells, r->n + 1, sizeof *r->cells);
        r->cells[r->n++] = idx[k];
        r->y1 = lo(r->y1, l->y1), r->y2 = hi(r->y2, l->y2);
    }
    for (size_t r = 0; r < nr; r++)
        g_qsort_with_data(rows[r].cells, (gint)rows[r].n, sizeof *rows[r].cells, by_left,
                          pg->lines);
    int *in_table = xcalloc(pg->n + 1, sizeof *in_table); /* table number + 1 */
    struct pline *made = NULL;
    size_t nmade = 0;
    for (size_t r0 = 0; r0 < nr;) {
        size_t r1 = r0;
        /* consecutive rows of two or more cells, without a wide gap */
        while (r1 < nr && rows[r1].n >= 2 &&
               (r1 == r0 || rows[r1].y1 - rows[r1 - 1].y2 < 2.5 * (rows[r1].y2 - rows[r1].y1)))
            r1++;
        if (r1 - r0 < TABLE_MIN_ROWS) {
            r0 = r1 > r0 ? r1 : r0 + 1;
            continue;
        }
        double(*cols)[2];
        size_t ncols = table_columns(pg->lines, rows, r0, r1, &cols);
        if (ncols >= 2 && !prose_columns(pg, rows, r0, r1, (const double(*)[2])cols, ncols)) {
            made = xreallocarray(made, nmade + 1, sizeof *made);
            table_write(pg, rows, r0, r1, (const double(*)[2])cols, ncols, &made[nmade]);
            nmade++;
            for (size_t r = r0; r < r1; r++)
                for (size_t c = 0; c < rows[r].n; c++)
                    in_table[rows[r].cells[c]] = (int)nmade;
        }
        free(cols);
        r0 = r1;
    }
    if (nmade) {
        /* the new line list: each table where its first line was read */
        struct pline *nl = xcalloc(pg->n + 1, sizeof *nl);
        unsigned char *nf = xcalloc(pg->n + 1, 1);
        int *placed = xcalloc(nmade + 1, sizeof *placed);
        size_t k = 0;
        int after = 0; /* the line after a table begins a paragraph */
        for (size_t i = 0; i < pg->n; i++) {
            int t = in_table[i];
            if (t && placed[t - 1])
                continue;
            if (t) {
                placed[t - 1] = 1;
                nl[k] = made[t - 1];
                after = 1;
            } else {
                nl[k] = pg->lines[i];
                nl[k].para |= after;
                nf[k] = (*fur)[i];
                after = 0;
            }
            k++;
        }
        free(pg->lines);
        pg->lines = nl;
        pg->n = k;
        pg->cap = pg->n + 1;
        free(*fur);
        *fur = nf;
        free(placed);
    }
    for (size_t r = 0; r < nr; r++)
        free(rows[r].cells);
    free(rows);
    free(made);
    free(in_table);
    free(idx);
}

/* The page's text from its lines: furniture left out (and listed in
 * meta.furniture) unless kept, words hyphenated at line ends joined (the
 * rest of the line goes on after the word; meta.hyphens_joined). */
static void assemble(struct ppage *pg, const unsigned char *fur, const struct hyphens *words,
                     int keep, struct buf *out, json_t *meta)
{
    json_t *furniture = json_array();
    long joined = 0;
    int para = 0;
    size_t carry = 0; /* bytes of this line already written */
    for (size_t i = 0; i < pg->n; i++) {
        const struct pline *l = &pg->lines[i];
        const char *s = pg->text.data + l->start + carry;
        size_t n = l->end - l->start - carry;
        carry = 0;
        if (fur[i] && !keep) {
            json_array_append_new(furniture,
                                  json_stringn(pg->text.data + l->start, l->end - l->start));
            para |= l->para;
            continue;
        }
        if (out->len && n)
            buf_adds(out, para || l->para ? "\n\n" : "\n");
        para = 0;
        size_t j = next_text_line(pg, fur, i, keep);
        size_t hy = 0;
        if (j < pg->n && !pg->lines[j].para && !l->table && !pg->lines[j].table)
            hy = joining_hyphen(s, n, pg->text.data + pg->lines[j].start,
                                pg->lines[j].end - pg->lines[j].start, words);
        if (!hy) {
            buf_add(out, s, n);
            continue;
        }
        /* "sim-" + "ply the rest": "simply" here, "the rest" on the next line */
        const struct pline *nl = &pg->lines[j];
        const char *b = pg->text.data + nl->start;
        size_t bn = nl->end - nl->start;
        size_t w = head_letters(b, bn);
        while (w < bn && b[w] != ' ')
            w++; /* the word's punctuation too: "ply," */
        buf_add(out, s, n - hy);
        buf_add(out, b, w);
        while (w < bn && b[w] == ' ')
            w++;
        joined++;
        /* the lines in between are furniture; the next line starts after the word */
        for (size_t k = i + 1; k < j; k++)
            json_array_append_new(furniture,
                                  json_stringn(pg->text.data + pg->lines[k].start,
                                               pg->lines[k].end - pg->lines[k].start));
        i = j - 1;
        carry = w;
        if (w == bn) {
            i = j; /* the whole next line was the word's end */
            carry = 0;
        }
    }
    if (json_array_size(furniture))
        json_object_set_new(meta, "furniture", furniture);
    else
        json_decref(furniture);
    if (joined)
        json_object_set_new(meta, "hyphens_joined", json_integer(joined));
}

static void meta_date(json_t *meta, const char *key, GDateTime *dt)
{
    if (!dt)
        return;
    gchar *s = g_date_time_format_iso8601(dt);
    extract_meta_str(meta, key, s);
    g_free(s);
    g_date_time_unref(dt);
}

static void meta_take(json_t *meta, const char *key, gchar *s)
{
    extract_meta_str(meta, key, s);
    g_free(s);
}

/* Reads pages first..last, then writes their records. */
static void extract_window(struct extract_doc *d, PopplerDocument *doc, int first, int last,
                           int pages, struct buf *text)
{
    int n = last - first + 1;
    struct ppage *pgs = xcalloc((size_t)n, sizeof *pgs);
    for (int p = first; p <= last; p++) {
        struct ppage *pg = &pgs[p - first];
        PopplerPage *page = poppler_document_get_page(doc, p - 1);
        if (page) {
            pg->opened = 1;
            page_text(page, pg);
            g_object_unref(page);
        }
    }
    unsigned char **fur = find_furniture(pgs, n);
    struct hyphens words;
    hyphens_find(&words, pgs, fur, n, d->opts->keep_furniture);
    for (int p = first; p <= last; p++) {
        struct ppage *pg = &pgs[p - first];
        if (!pg->read) {
            extract_page_error(
                d, p, pg->opened ? "no text could be read from this page" : "unreadable page");
        } else {
            buf_reset(text);
            json_t *pm = json_object();
            find_tables(pg, &fur[p - first], d->opts->keep_furniture);
            assemble(pg, fur[p - first], &words, d->opts->keep_furniture, text, pm);
            int needed = blank(text->data ? text->data : "", text->len);
            extract_page(d, p, pages, text->data, text->len, pm, needed);
        }
        buf_free(&pg->text);
        free(pg->lines);
        free(fur[p - first]);
    }
    free(fur);
    free(pgs);
    hyphens_free(&words);
}

int pdf_extract(struct extract_doc *d, lode_error *err)
{
    GBytes *bytes = g_bytes_new_static(d->data->data, d->data->len);
    GError *gerr = NULL;
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    if (!doc) {
        if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
            lode_seterr(err, "encrypted: the PDF needs a password");
        else
            lode_seterr(err, "unreadable PDF: %s", gerr ? gerr->message : "unknown error");
        if (gerr)
            g_error_free(gerr);
        g_bytes_unref(bytes);
        return -1;
    }
    meta_take(d->meta, "title", poppler_document_get_title(doc));
    meta_take(d->meta, "author", poppler_document_get_author(doc));
    meta_take(d->meta, "subject", poppler_document_get_subject(doc));
    meta_date(d->meta, "created", poppler_document_get_creation_date_time(doc));
    meta_date(d->meta, "modified", poppler_document_get_modification_date_time(doc));
    int pages = poppler_document_get_n_pages(doc);
    int rc = 0;
    if (pages <= 0) {
        lode_seterr(err, "the PDF has no pages");
        rc = -1;
        goto out;
    }
    int first = d->first > 0 ? d->first : 1;
    int last = d->last > 0 && d->last < pages ? d->last : pages;
    if (d->first == 0 && d->depth == 0 && d->sink->split) {
        /* Long PDFs are shared among the workers, one block of pages each
         * (more, smaller blocks measured slower: every block reopens the
         * document and loads its fonts again). This worker keeps the first
         * block and the caller schedules the rest. The page count is
         * reported even without a split, so that a crash on one page can
         * be resumed after it. */
        int block = pages;
        if (d->opts->jobs > 1 && pages >= 2 * PDF_MIN_BLOCK) {
            block = (pages + d->opts->jobs - 1) / d->opts->jobs;
            /* whole windows (below), and the last block takes the rest */
            block = block / PDF_MIN_BLOCK * PDF_MIN_BLOCK;
            if (block < PDF_MIN_BLOCK)
                block = PDF_MIN_BLOCK;
        }
        d->sink->split(d->sink, pages, block, d->doc);
        last = block;
    }
    /* A window's pages are read before any is written: furniture is what
     * recurs on them, and a hyphenated word is joined when the window has
     * it whole. Windows are fixed by page number (PDF_MIN_BLOCK pages, the
     * last one taking the rest), never by the split among workers, so that
     * -j does not change the text. */
    int windows = pages / PDF_MIN_BLOCK > 1 ? pages / PDF_MIN_BLOCK : 1;
    struct buf text = {0};
    for (int wfirst = first; wfirst <= last;) {
        int w = (wfirst - 1) / PDF_MIN_BLOCK < windows ? (wfirst - 1) / PDF_MIN_BLOCK : windows - 1;
        int wlast = w == windows - 1 ? pages : (w + 1) * PDF_MIN_BLOCK;
        if (wlast > last)
            wlast = last;
        extract_window(d, doc, wfirst, wlast, pages, &text);
        wfirst = wlast + 1;
    }
    buf_free(&text);
out:
    g_object_unref(doc);
    g_bytes_unref(bytes);
    return rc;
}
