/* lines.c - lines.h's reader: a buffer refilled from the descriptor, lines
 * handed out in place, over-long lines skipped without being held, and the
 * non-blocking form (lines_fill, lines_buffered) the worker pool polls, and
 * lines_wait for filters that act when their input pauses. */
#include "base/lines.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

#define LINES_CHUNK (256u << 10)

void lines_init(struct lines *r, int fd, uint64_t max_line)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->max_line = max_line ? max_line : 1;
}

void lines_free(struct lines *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Makes room for at least LINES_CHUNK more bytes after end. */
static void make_room(struct lines *r)
{
    if (r->start > 0 && (r->start == r->end || r->cap - r->end < LINES_CHUNK)) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->scan -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end < LINES_CHUNK) {
        size_t cap = r->cap ? r->cap * 2 : 2 * LINES_CHUNK;
        while (cap - r->end < LINES_CHUNK)
            cap *= 2;
        r->buf = xrealloc(r->buf, cap);
        r->cap = cap;
    }
}

static int fill(struct lines *r)
{
    make_room(r);
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return LINE_AGAIN;
            return LINE_ERROR;
        }
        if (n == 0)
            r->eof = 1;
        r->end += (size_t)n;
        r->bytes += (uint64_t)n;
        return LINE_OK;
    }
}

int lines_fill(struct lines *r)
{
    if (r->eof)
        return LINE_OK;
    return fill(r);
}

int lines_next(struct lines *r, char **line, size_t *len)
{
    for (;;) {
        int rc = lines_buffered(r, line, len);
        if (rc != LINE_AGAIN)
            return rc;
        rc = fill(r);
        if (rc != LINE_OK)
            return rc;
    }
}

int lines_buffered(struct lines *r, char **line, size_t *len)
{
    {
        if (r->scan < r->start)
            r->scan = r->start;
        char *nl = r->end > r->scan ? memchr(r->buf + r->scan, '\n', r->end - r->scan) : NULL;
        if (r->skipping) {
            if (nl) {
                uint64_t total = r->skipped + (uint64_t)(nl - (r->buf + r->start));
                r->start = r->scan = (size_t)(nl - r->buf) + 1;
                r->skipping = 0;
                r->lineno++;
                *line = NULL;
                *len = (size_t)total;
                return LINE_TOO_LONG;
            }
            r->skipped += r->end - r->start;
            r->start = r->scan = r->end;
            if (r->eof) {
                r->skipping = 0;
                r->lineno++;
                *line = NULL;
                *len = (size_t)r->skipped;
                return LINE_TOO_LONG;
            }
        } else if (nl || (r->eof && r->end > r->start)) {
            size_t n = nl ? (size_t)(nl - (r->buf + r->start)) : r->end - r->start;
            char *s = r->buf + r->start;
            if (n > r->max_line) {
                /* Whole over-long line is already buffered. */
                r->start = r->scan = nl ? (size_t)(nl - r->buf) + 1 : r->end;
                r->lineno++;
                *line = NULL;
                *len = n;
                return LINE_TOO_LONG;
            }
            if (!nl) {
                make_room(r); /* room for the terminating NUL */
                s = r->buf + r->start;
            }
            r->start = r->scan = nl ? (size_t)(nl - r->buf) + 1 : r->end;
            if (n && s[n - 1] == '\r')
                n--;
            s[n] = 0;
            r->lineno++;
            *line = s;
            *len = n;
            return LINE_OK;
        } else {
            r->scan = r->end;
            if (r->end - r->start > r->max_line) {
                r->skipping = 1;
                r->skipped = r->end - r->start;
                r->start = r->scan = r->end;
            }
            if (r->eof)
                return LINE_EOF;
        }
        return LINE_AGAIN;
    }
}

int lines_wait(struct lines *r, double seconds)
{
    double deadline = now_seconds() + (seconds > 0 ? seconds : 0);
    for (;;) {
        size_t from = r->scan > r->start ? r->scan : r->start;
        if (r->eof || r->end - r->start > r->max_line ||
            (r->end > from && memchr(r->buf + from, '\n', r->end - from)))
            return 1;
        double left = deadline - now_seconds();
        struct pollfd pfd = {r->fd, POLLIN, 0};
        int n = poll(&pfd, 1, left > 0 ? (int)(left * 1000) + 1 : 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 1; /* the read will say what is wrong */
        if (n == 0)
            return 0;
        int rc = fill(r);
        if (rc == LINE_ERROR)
            return 1;
    }
}
