/* buf.h - a growable byte string, always NUL-terminated.
 *
 * A zeroed struct buf is an empty buffer. buf_release() hands the bytes to
 * the caller (free() them); buf_free() drops them.
 */
#ifndef LODE_BUF_H
#define LODE_BUF_H

#include <stddef.h>

#include "base/util.h"

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) LODE_PRINTF(2, 3);
/* Appends Unicode code point cp as UTF-8 (invalid values become U+FFFD). */
void buf_add_utf8(struct buf *b, unsigned cp);
void buf_truncate(struct buf *b, size_t len);
void buf_reset(struct buf *b);
char *buf_release(struct buf *b);
void buf_free(struct buf *b);
/* Removes trailing spaces, tabs and newlines. */
void buf_rtrim(struct buf *b);

#endif
