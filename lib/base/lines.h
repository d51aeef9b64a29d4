/* lines.h - reads newline-delimited input of any size, line by line.
 *
 * A line longer than max_line is never held in memory: the reader skips to
 * its newline and returns LINE_TOO_LONG with the line's length, so one bad
 * line fails alone. Works on blocking and non-blocking descriptors (on the
 * latter lines_next() returns LINE_AGAIN when it would block). A final line
 * without a newline is still a line; a trailing '\r' is removed.
 */
#ifndef LODE_LINES_H
#define LODE_LINES_H

#include <stddef.h>
#include <stdint.h>

enum {
    LINE_OK = 0,
    LINE_TOO_LONG = 1,
    LINE_EOF = -1,
    LINE_AGAIN = -2,
    LINE_ERROR = -3, /* read error; errno is set */
};

struct lines {
    int fd;
    uint64_t max_line;
    char *buf;
    size_t start, end, cap, scan;
    int eof;
    int skipping;
    uint64_t skipped;
    uint64_t lineno; /* number of the line last returned, from 1 */
    uint64_t bytes;  /* bytes read so far */
};

void lines_init(struct lines *r, int fd, uint64_t max_line);
/* On LINE_OK *line is NUL-terminated and valid until the next call; on
 * LINE_TOO_LONG *len is the length of the skipped line. */
int lines_next(struct lines *r, char **line, size_t *len);
void lines_free(struct lines *r);
/* For a descriptor watched with poll(): lines_fill() reads once (call it
 * when poll says readable), lines_buffered() returns what is already read
 * and LINE_AGAIN instead of reading more. */
int lines_fill(struct lines *r);
int lines_buffered(struct lines *r, char **line, size_t *len);
/* Waits at most seconds (0: not at all) for lines_next() to have something
 * that will not block: a whole line read, the end of the input, an error,
 * or more than max_line bytes. 1 when it has, 0 when the time ran out. On a
 * blocking descriptor it reads what poll() says is there, so a line written
 * slowly in pieces is waited for as a whole. */
int lines_wait(struct lines *r, double seconds);

#endif
