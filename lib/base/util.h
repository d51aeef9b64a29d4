/* util.h - the three verbs (die, error, warning), checked allocation, and
 * small helpers every module uses.
 *
 * Caveats:
 *  - util_set_progname() is called once by a program's main before anything
 *    else; messages are prefixed with that name.
 *  - die() is for programs (cmd/ and main's own layer, program.h): the
 *    library's modules return error codes (error.h) and never exit.
 *  - The x* allocators never return NULL: on exhaustion they call
 *    lode_oom(), which says so and exits with LODE_EXIT_FATAL, as git's do;
 *    the one way the library ends a program.
 *  - lode_error and the error codes are error.h's.
 */
#ifndef LODE_UTIL_H
#define LODE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Exit codes of every program (lode-records(7)). */
#define LODE_EXIT_OK 0     /* every input succeeded */
#define LODE_EXIT_FAILED 1 /* some inputs failed, the others were processed */
#define LODE_EXIT_USAGE 2  /* bad options */
#define LODE_EXIT_FATAL 3  /* cannot go on: store, model, output, memory */

#define LODE_VERSION "0.1.0"

void util_set_progname(const char *argv0);
const char *util_progname(void);

_Noreturn void die(const char *fmt, ...) LODE_PRINTF(1, 2);
/* Out of memory: "out of memory (N bytes)" (0: unknown, SIZE_MAX: a size
 * that overflows), then exit 3. */
_Noreturn void lode_oom(size_t bytes);
void error(const char *fmt, ...) LODE_PRINTF(1, 2);
void warning(const char *fmt, ...) LODE_PRINTF(1, 2);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* xrealloc for arrays: dies on n * size overflow. */
void *xreallocarray(void *p, size_t n, size_t size);
/* An array that grows one element at a time: room for at least need
 * elements, the capacity *cap doubled as often as that takes (so n appends
 * copy O(n) elements, not O(n^2)). */
void *xgrowarray(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) LODE_PRINTF(1, 2);

/* SplitMix64: the next number of a seeded stream, and a uniform double
 * in [0, 1) from it (sampling, initialisation, dropout). */
uint64_t splitmix64(uint64_t *state);
double uniform01(uint64_t *state);

/* Seconds on a monotonic clock. */
double now_seconds(void);

/* Number of CPUs this process may run on (at least 1). */
int cpu_count(void);

/* Parses sizes such as 512, 64K, 256M, 1G (binary units). -1 on error. */
int parse_size(const char *s, uint64_t *out);

/* Writes all of buf to fd, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);

#endif
