/* Images: no text of their own. Each page (a multi-page TIFF has several)
 * becomes a record with empty text and "ocr":"needed" for lode-ocr. */
#include <string.h>

#include "docs/extract.h"
#include "base/record.h"
#include "docs/sniff.h"

static uint64_t rd(const unsigned char *p, int size, int big)
{
    uint64_t v = 0;
    for (int i = 0; i < size; i++)
        v |= (uint64_t)p[big ? i : size - 1 - i] << (8 * (size - 1 - i));
    return v;
}

/* Counts the image file directories of a TIFF (its pages). */
static int tiff_pages(const unsigned char *p, size_t n)
{
    if (n < 8)
        return 1;
    int big = p[0] == 'M';
    int bigtiff = rd(p + 2, 2, big) == 43;
    int osize = bigtiff ? 8 : 4, csize = bigtiff ? 8 : 2, esize = bigtiff ? 20 : 12;
    uint64_t off = bigtiff ? (n >= 16 ? rd(p + 8, 8, big) : 0) : rd(p + 4, 4, big);
    int pages = 0;
    uint64_t saved = off, power = 1, steps = 0; /* Brent's cycle check */
    while (off && off <= n && (uint64_t)csize <= n - off && pages < 100000) { /* no wrap */
        uint64_t count = rd(p + off, csize, big);
        uint64_t next_at = off + (uint64_t)csize + count * (uint64_t)esize;
        if (count > 1000000 || next_at + (uint64_t)osize > n)
            break;
        pages++;
        uint64_t next = rd(p + next_at, osize, big);
        if (next == saved) /* a chain of IFDs that loops */
            break;
        if (++steps == power) {
            saved = next;
            power *= 2;
            steps = 0;
        }
        off = next;
    }
    return pages ? pages : 1;
}

int image_extract(struct extract_doc *d, lode_error *err)
{
    (void)err;
    const char *format = sniff_image_format(d->data->data, d->data->len);
    int pages = !strcmp(format, "tiff") ? tiff_pages(d->data->data, d->data->len) : 1;
    for (int page = 1; page <= pages; page++) {
        json_t *m = json_object();
        record_set_str(m, "format", format);
        extract_page(d, page, pages, "", 0, m, 1);
    }
    return 0;
}
