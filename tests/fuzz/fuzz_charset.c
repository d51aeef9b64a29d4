/* Charset detection and conversion: BOMs, declared charsets in HTML and
 * XML heads, the guess between UTF-8, UTF-16 and single-byte charsets. */
#include <stdlib.h>

#include "base/buf.h"
#include "docs/charset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char declared[64];
    int have = charset_sniff_declared(s, size, declared, sizeof declared) == 0;
    charset_looks_textual(data, size);
    size_t n;
    const char *used;
    free(charset_to_utf8(s, size, NULL, &n, &used));
    if (have)
        free(charset_to_utf8(s, size, declared, &n, &used));
    free(charset_to_utf8(s, size, "windows-1252", &n, &used));
    struct buf b = {0};
    charset_clean_text(&b, s, size);
    buf_free(&b);
    return 0;
}
