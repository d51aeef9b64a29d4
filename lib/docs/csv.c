/* CSV and TSV: the delimiter is sniffed (comma, semicolon, tab, pipe: the
 * one that splits the first rows into the most consistent number of
 * fields), quoted fields follow RFC 4180 (doubled quotes, delimiters and
 * line breaks inside quotes), ragged rows are kept. The first row is the
 * header; every other row becomes a paragraph of "header: value" lines so
 * that any chunk of it still says what each value is. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "docs/charset.h"
#include "docs/extract.h"
#include "base/record.h"

struct row {
    struct buf text; /* cell values, each NUL-terminated */
    size_t *start;   /* offsets of the cells in text */
    size_t n, cap;
};

static void row_reset(struct row *r)
{
    buf_reset(&r->text);
    r->n = 0;
}

static void row_push(struct row *r, const char *s, size_t n)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->start = xreallocarray(r->start, r->cap, sizeof *r->start);
    }
    r->start[r->n++] = r->text.len;
    buf_add(&r->text, s, n);
    buf_addc(&r->text, 0);
}

static const char *cell(const struct row *r, size_t i)
{
    return r->text.data + r->start[i];
}

/* Parses the row at *pos; returns 0 at the end of the input. */
static int next_row(const char *s, size_t n, size_t *pos, char delim, struct row *r,
                    struct buf *field)
{
    size_t i = *pos;
    if (i >= n)
        return 0;
    row_reset(r);
    buf_reset(field);
    int quoted = 0, was_quoted = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < n && s[i + 1] == '"') {
                    buf_addc(field, '"');
                    i++;
                } else {
                    quoted = 0;
                }
            } else {
                buf_addc(field, c);
            }
            continue;
        }
        if (c == '"' && (field->len == 0 || !was_quoted)) {
            /* a quote opens a quoted field only at its start (after blanks) */
            size_t k = 0;
            while (k < field->len && (field->data[k] == ' ' || field->data[k] == '\t'))
                k++;
            if (k == field->len) {
                buf_reset(field);
                quoted = was_quoted = 1;
                continue;
            }
        }
        if (c == delim) {
            row_push(r, field->data ? field->data : "", field->len);
            buf_reset(field);
            was_quoted = 0;
            continue;
        }
        if (c == '\n') {
            i++;
            break;
        }
        buf_addc(field, c);
    }
    row_push(r, field->data ? field->data : "", field->len);
    *pos = i;
    return 1;
}

static char sniff_delimiter(const char *s, size_t n, const char *name)
{
    static const char cands[] = {',', ';', '\t', '|'};
    size_t len = strlen(name);
    int tsv =
        len > 4 && (!strcasecmp(name + len - 4, ".tsv") || !strcasecmp(name + len - 4, ".tab"));
    char best = tsv ? '\t' : ',';
    long best_score = 0;
    struct row r = {0};
    struct buf field = {0};
    for (size_t k = 0; k < sizeof cands; k++) {
        size_t counts[64], pos = 0;
        int rows = 0;
        while (rows < 64 && next_row(s, n, &pos, cands[k], &r, &field))
            counts[rows++] = r.n;
        /* the most frequent field count and how many rows have it */
        size_t mode = 0;
        int mode_rows = 0;
        for (int a = 0; a < rows; a++) {
            int same = 0;
            for (int b = 0; b < rows; b++)
                same += counts[b] == counts[a];
            if (same > mode_rows || (same == mode_rows && counts[a] > mode)) {
                mode_rows = same;
                mode = counts[a];
            }
        }
        long score = mode > 1 ? (long)mode_rows * 1000 + (long)mode : 0;
        if (score > best_score || (score == best_score && score > 0 && tsv && cands[k] == '\t')) {
            best_score = score;
            best = cands[k];
        }
    }
    free(r.start);
    buf_free(&r.text);
    buf_free(&field);
    return best;
}

/* Appends v trimmed, with line breaks made spaces. */
static void add_value(struct buf *out, const char *v)
{
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    for (size_t i = 0; i < n; i++)
        buf_addc(out, v[i] == '\n' || v[i] == '\r' ? ' ' : v[i]);
}

static int blank(const char *v)
{
    for (; *v; v++)
        if (*v != ' ' && *v != '\t' && *v != '\r' && *v != '\n')
            return 0;
    return 1;
}

int csv_extract(struct extract_doc *d, lode_error *err)
{
    (void)err;
    size_t n;
    char *s = charset_to_utf8((const char *)d->data->data, d->data->len, NULL, &n, NULL);
    char delim = sniff_delimiter(s, n, d->source);
    struct row header = {0}, r = {0};
    struct buf field = {0}, out = {0};
    size_t pos = 0;
    long rows = 0;
    /* header: the first row that is not blank */
    while (next_row(s, n, &pos, delim, &header, &field))
        if (header.n > 1 || !blank(cell(&header, 0)))
            break;
    /* a row with one value over a fuller row is a title, not the header */
    size_t filled = 0;
    for (size_t i = 0; i < header.n; i++)
        filled += !blank(cell(&header, i));
    if (header.n > 1 && filled == 1) {
        size_t save = pos;
        if (next_row(s, n, &save, delim, &r, &field)) {
            size_t next_filled = 0;
            for (size_t i = 0; i < r.n; i++)
                next_filled += !blank(cell(&r, i));
            if (next_filled >= 2) {
                buf_adds(&out, "# ");
                for (size_t i = 0; i < header.n; i++)
                    add_value(&out, cell(&header, i));
                extract_meta_str(d->meta, "title", out.data + 2);
                next_row(s, n, &pos, delim, &header, &field);
            }
        }
    }
    while (next_row(s, n, &pos, delim, &r, &field)) {
        int any = 0;
        for (size_t i = 0; i < r.n; i++)
            any |= !blank(cell(&r, i));
        if (!any)
            continue;
        if (out.len)
            buf_adds(&out, "\n\n");
        size_t start = out.len;
        for (size_t i = 0; i < r.n; i++) {
            if (blank(cell(&r, i)))
                continue;
            if (out.len > start)
                buf_addc(&out, '\n');
            if (i < header.n && !blank(cell(&header, i)))
                add_value(&out, cell(&header, i));
            else
                buf_addf(&out, "column %zu", i + 1);
            buf_adds(&out, ": ");
            add_value(&out, cell(&r, i));
        }
        rows++;
    }
    if (rows == 0 && header.n) {
        /* only a header: keep it as a table row */
        for (size_t i = 0; i < header.n; i++) {
            if (i)
                buf_adds(&out, " | ");
            add_value(&out, cell(&header, i));
        }
    }
    char delim_s[2] = {delim, 0};
    json_t *page_meta = json_object();
    record_set_str(page_meta, "delimiter", delim_s);
    record_set_int(page_meta, "rows", rows);
    record_set_int(page_meta, "columns", (long long)header.n);
    extract_page(d, 1, 1, out.data, out.len, page_meta, 0);
    free(header.start);
    buf_free(&header.text);
    free(r.start);
    buf_free(&r.text);
    buf_free(&field);
    buf_free(&out);
    free(s);
    return 0;
}
