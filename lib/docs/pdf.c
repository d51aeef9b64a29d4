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
 * or where reading order goes back up the page (a new column). */
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

static void add_trimmed(struct buf *out, const char *s, size_t n)
{
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    buf_add(out, s + a, n - a);
}

static void rebuild(const char *t, const PopplerRectangle *r, size_t nr, struct buf *out)
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
        if (out->len) {
            int para = 0;
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
            buf_adds(out, para ? "\n\n" : "\n");
        }
        add_trimmed(out, t + a, b - a);
        prev = l;
    }
    free(lines);
}

/* The page's text; 0, or -1 when poppler gives none. */
static int page_text(PopplerPage *page, struct buf *out)
{
    char *t = poppler_page_get_text(page);
    if (!t)
        return -1;
    PopplerRectangle *rects = NULL;
    guint nr = 0;
    gboolean ok = poppler_page_get_text_layout(page, &rects, &nr);
    if (ok && rects && (glong)nr == g_utf8_strlen(t, -1))
        rebuild(t, rects, nr, out);
    else
        buf_adds(out, t);
    g_free(rects);
    g_free(t);
    return 0;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f'))
            return 0;
    return 1;
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
            if (block < PDF_MIN_BLOCK)
                block = PDF_MIN_BLOCK;
        }
        d->sink->split(d->sink, pages, block, d->doc);
        last = block;
    }
    struct buf text = {0};
    for (int p = first; p <= last; p++) {
        PopplerPage *page = poppler_document_get_page(doc, p - 1);
        if (!page) {
            extract_page_error(d, p, "unreadable page");
            continue;
        }
        buf_reset(&text);
        if (page_text(page, &text) < 0) {
            extract_page_error(d, p, "no text could be read from this page");
        } else {
            int needed = blank(text.data ? text.data : "", text.len);
            extract_page(d, p, pages, text.data, text.len, NULL, needed);
        }
        g_object_unref(page);
    }
    buf_free(&text);
out:
    g_object_unref(doc);
    g_bytes_unref(bytes);
    return rc;
}
