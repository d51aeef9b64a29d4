/* forkpool.h - runs jobs in forked worker processes and hands their output
 * back in job order.
 *
 * Each job runs in a child process of its own, so a document that crashes
 * or hangs a parser (poppler, libxml2, libarchive) takes only itself down:
 * the parent sees how the child ended, kills it at its deadline, and goes
 * on. Children write newline-terminated lines to a pipe; the parent
 * passes each line to arrived() as soon as it comes (any job order), and
 * to deliver() and finish() strictly in the order jobs were added, so the
 * output of a parallel run is the output of a sequential one.
 *
 * A job whose child cannot be started (no more processes or pipes) is
 * finished in its turn with end->start_errno set: it fails alone.
 *
 * Caveats:
 *  - The parent must be single-threaded (fork). The pool is not
 *    thread-safe.
 *  - Lines of jobs that are not yet first in order are buffered; a child
 *    whose buffer passes FORKPOOL_BUFFER_LIMIT is not read until its turn, so
 *    memory stays bounded and the child simply waits.
 */
#ifndef LODE_FORKPOOL_H
#define LODE_FORKPOOL_H

#include <stddef.h>

#define FORKPOOL_BUFFER_LIMIT (16u << 20)

struct forkpool;
struct forkpool_item;

struct forkpool_end {
    int ran;         /* a child was started */
    int start_errno; /* why none could be (no more processes, pipes), 0 */
    int code;        /* exit status when it exited */
    int signal;      /* the signal that killed it, 0 if it exited */
    int timed_out;   /* killed at its deadline */
};

struct forkpool_ops {
    /* In the child: do the job, writing lines to fd. */
    void (*run)(void *job, int fd, void *ud);
    /* In the parent, as soon as a line arrives (any order). */
    void (*arrived)(struct forkpool *p, struct forkpool_item *it, void *job, const char *line,
                    size_t len, void *ud);
    /* In the parent, in job order: each complete line of the job. */
    void (*deliver)(void *job, const char *line, size_t len, void *ud);
    /* In the parent, in job order, after its lines. The pool forgets the job. */
    void (*finish)(struct forkpool *p, struct forkpool_item *it, void *job,
                   const struct forkpool_end *end, void *ud);
    /* The absolute deadline (now_seconds()) of a job about to start; 0 none. */
    double (*deadline)(void *job, void *ud);
};

struct forkpool *forkpool_new(int workers, const struct forkpool_ops *ops, void *ud,
                              int quiet_children);
/* Adds a job at the end; with run == 0 it needs no child and is finished
 * in its turn (an input that already failed keeps its place in order). */
void forkpool_add(struct forkpool *p, void *job, int run);
/* Adds a job right after it (which must not be finished yet). */
void forkpool_insert_after(struct forkpool *p, struct forkpool_item *it, void *job);
/* Jobs added and not yet finished. */
size_t forkpool_size(const struct forkpool *p);
/* Starts what can start, waits for output, exits or deadlines, delivers what
 * is ready. Also waits for extra_fd (-1: none) to become readable and
 * returns 1 when it is. */
int forkpool_step(struct forkpool *p, int extra_fd);
void forkpool_free(struct forkpool *p);

struct lines;

/* Runs a whole stream through the pool, keeping at most window jobs in it:
 * first more() is called while it adds jobs (it returns 0 when it has no
 * more), then each line of input (NULL: none) goes to line() with its
 * lines_next() status (LINE_OK or LINE_TOO_LONG); line() adds jobs for it.
 * Returns when all input is read and every job is finished; a read error
 * on input is reported and ends the input. */
void forkpool_drive(struct forkpool *p, size_t window, int (*more)(void *ud), struct lines *input,
                    void (*line)(void *ud, char *s, size_t len, int rc), void *ud);

#endif
