/* Plain text and Markdown: decoded to UTF-8 (charset.h); line ends and
 * control characters are cleaned as in every record (extract_page). Markdown is kept as written: its '#'
 * headings are already lode's heading lines. */
#include <stdlib.h>
#include <string.h>

#include "docs/charset.h"
#include "docs/extract.h"
#include "base/record.h"

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

int plaintext_extract(struct extract_doc *d, lode_error *err)
{
    (void)err;
    size_t n;
    const char *used;
    char *raw = charset_to_utf8((const char *)d->data->data, d->data->len, NULL, &n, &used);
    if (!strcmp(d->type, "md"))
        markdown_title(d->meta, raw, n);
    json_t *page_meta = json_object();
    record_set_str(page_meta, "charset", used);
    extract_page(d, 1, 1, raw, n, page_meta, 0);
    free(raw);
    return 0;
}
