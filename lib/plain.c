/* Plain text and Markdown: decoded to UTF-8 (charset.h), line ends made
 * '\n', control characters other than tab and newline removed, form feeds
 * turned into paragraph breaks. Markdown is kept as written: its '#'
 * headings are already lode's heading lines. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "charset.h"
#include "extract.h"
#include "record.h"

/* Line ends to '\n', form feeds to a paragraph break, other control
 * characters dropped. */
static void normalise(struct buf *out, const char *s, size_t n)
{
    buf_grow(out, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            buf_addc(out, '\n');
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
        } else if (c == '\f') {
            buf_adds(out, "\n\n");
        } else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
            continue;
        } else {
            buf_addc(out, (char)c);
        }
    }
}

static void markdown_title(json_t *meta, const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (eol - p > 2 && p[0] == '#' && p[1] == ' ') {
            char *t = xstrndup(p + 2, (size_t)(eol - p - 2));
            extract_meta_str(meta, "title", t);
            free(t);
            return;
        }
        p = eol + 1;
    }
}

int plain_extract(struct extract_doc *d, lode_error *err)
{
    (void)err;
    size_t n;
    const char *used;
    char *raw = charset_to_utf8((const char *)d->data->data, d->data->len, NULL, &n, &used);
    struct buf text = {0};
    normalise(&text, raw, n);
    free(raw);
    if (!strcmp(d->type, "md"))
        markdown_title(d->meta, text.data ? text.data : "", text.len);
    json_t *page_meta = json_object();
    record_set_str(page_meta, "charset", used);
    extract_page(d, 1, 1, text.data, text.len, page_meta, 0);
    buf_free(&text);
    return 0;
}
