/* error.h - lode's one error band, as LMDB has its own: numbered codes, a
 * reason in words for each failure, and lode_strerror().
 *
 * A function that can fail returns 0 (or a non-negative result) on success
 * and a negative code on failure, and fills the caller's lode_error (when
 * given) with the code and a message that names what failed ("kb: cannot
 * commit: no space left on the device"). Codes are negative and below
 * errno's range and LMDB's band (-30799..-30780); raw LMDB codes never leave
 * the store modules, which turn them into these.
 *
 * Caveats:
 *  - The library's modules never exit: a program's main decides the exit
 *    status (lode-records(7)) from what the call returned. Main's own layer
 *    (base/opts: --help and usage errors; base/program: a program's own
 *    input and output failing) exits on its behalf, and the x* allocators
 *    (util.h) end the program with exit status 3 when memory runs out, as
 *    git's do.
 *  - lode_seterr() is the generic form (LODE_EFAILED); modules whose callers
 *    act on the kind of failure (the store grows its map on LODE_EMAPFULL)
 *    say which with lode_fail().
 */
#ifndef LODE_ERROR_H
#define LODE_ERROR_H

#define LODE_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum lode_code {
    LODE_OK = 0,
    LODE_EFAILED = -32000, /* failed; the message says how */
    LODE_EINVAL,           /* bad input: a record, an argument, a setting */
    LODE_ENOTFOUND,        /* no such key, record, file or tensor */
    LODE_EMAPFULL,         /* the store's map is full: grow it and redo the transaction */
    LODE_ECORRUPT,         /* damaged data: a store, a model file, a checkpoint */
    LODE_ENOSPACE,         /* no space left on the device */
    LODE_EIO,              /* a read or write failed */
    LODE_EBUSY,            /* another writer holds the store */
    LODE_EACCESS,          /* permission denied, or read-only media */
    LODE_EUNSUPPORTED,     /* a format, type or architecture lode does not read */
    LODE_ELIMIT,           /* a limit was reached (readers, sizes, depth) */
    LODE_ENOMEM,           /* out of memory */
    LODE_ESYS,             /* another system call failure; the message has errno's words */
    LODE_ELAST             /* not a code: one past the last */
};

typedef struct {
    int code;      /* a lode_code, LODE_OK when nothing failed */
    char msg[512]; /* the reason, for a person */
} lode_error;

/* Sets e (when not NULL) to LODE_EFAILED and the message. */
void lode_seterr(lode_error *e, const char *fmt, ...) LODE_PRINTF(2, 3);
/* Sets e (when not NULL) to code and the message; returns code, so that
 * `return lode_fail(err, LODE_ECORRUPT, ...)` reads as one step. */
int lode_fail(lode_error *e, int code, const char *fmt, ...) LODE_PRINTF(3, 4);
/* The code an errno value belongs to (ENOSPC: LODE_ENOSPACE, ...). */
int lode_errno_code(int errnum);
/* Words for a lode code ("the store's map is full"); for a positive
 * number, strerror's words for that errno. */
const char *lode_strerror(int code);

#endif
