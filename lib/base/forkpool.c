/* forkpool.c - the forked workers of forkpool.h: starting a child per job,
 * polling their pipes, deadlines and kills, reaping, and delivering lines
 * strictly in job order; forkpool_drive() interleaves that with reading the
 * input as the pool has room. */
#include "base/forkpool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/lines.h"
#include "base/util.h"

enum { QUEUED, RUNNING, ENDED };

struct forkpool_item {
    void *job;
    struct forkpool_item *next, *prev;
    int state, run;
    pid_t pid;
    int fd;
    double deadline;
    struct buf in;    /* bytes from the child */
    size_t scanned;   /* lines before this were passed to arrived() */
    size_t delivered; /* lines before this were passed to deliver() */
    struct forkpool_end end;
};

struct forkpool {
    const struct forkpool_ops *ops;
    void *ud;
    int workers, running, quiet;
    struct forkpool_item *head, *tail;
    size_t size;
};

struct forkpool *forkpool_new(int workers, const struct forkpool_ops *ops, void *ud,
                              int quiet_children)
{
    struct forkpool *p = xcalloc(1, sizeof *p);
    p->ops = ops;
    p->ud = ud;
    p->workers = workers > 0 ? workers : 1;
    p->quiet = quiet_children;
    return p;
}

static struct forkpool_item *item_new(void *job, int run)
{
    struct forkpool_item *it = xcalloc(1, sizeof *it);
    it->job = job;
    it->run = run;
    it->fd = -1;
    it->state = run ? QUEUED : ENDED;
    return it;
}

void forkpool_add(struct forkpool *p, void *job, int run)
{
    struct forkpool_item *it = item_new(job, run);
    it->prev = p->tail;
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    p->size++;
}

void forkpool_insert_after(struct forkpool *p, struct forkpool_item *after, void *job)
{
    struct forkpool_item *it = item_new(job, 1);
    it->prev = after;
    it->next = after->next;
    if (after->next)
        after->next->prev = it;
    else
        p->tail = it;
    after->next = it;
    p->size++;
}

size_t forkpool_size(const struct forkpool *p)
{
    return p->size;
}

static void start(struct forkpool *p, struct forkpool_item *it)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        it->end.start_errno = errno;
        it->state = ENDED;
        return;
    }
    it->deadline = p->ops->deadline ? p->ops->deadline(it->job, p->ud) : 0;
    pid_t pid = fork();
    if (pid < 0) {
        it->end.start_errno = errno;
        it->state = ENDED;
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_DFL);
        close(fds[0]);
        for (struct forkpool_item *o = p->head; o; o = o->next)
            if (o->fd >= 0)
                close(o->fd);
        /* Libraries must not write into the record stream; their chatter
         * about broken files is dropped unless asked for. */
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 1);
            if (p->quiet)
                dup2(null, 2);
            close(null);
        }
        p->ops->run(it->job, fds[1], p->ud);
        close(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    it->pid = pid;
    it->fd = fds[0];
    it->state = RUNNING;
    it->end.ran = 1;
    p->running++;
}

static void reap(struct forkpool *p, struct forkpool_item *it)
{
    int status;
    close(it->fd);
    it->fd = -1;
    while (waitpid(it->pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = 0;
            break;
        }
    }
    if (WIFSIGNALED(status))
        it->end.signal = WTERMSIG(status);
    else
        it->end.code = WEXITSTATUS(status);
    it->state = ENDED;
    p->running--;
}

/* Passes complete lines not yet seen to arrived(). */
static void scan(struct forkpool *p, struct forkpool_item *it)
{
    while (it->scanned < it->in.len) {
        char *s = it->in.data + it->scanned;
        char *nl = memchr(s, '\n', it->in.len - it->scanned);
        if (!nl)
            break;
        if (p->ops->arrived)
            p->ops->arrived(p, it, it->job, s, (size_t)(nl - s), p->ud);
        it->scanned = (size_t)(nl - it->in.data) + 1;
    }
}

/* Delivers the complete lines of the first job. */
static void deliver(struct forkpool *p, struct forkpool_item *it)
{
    while (it->delivered < it->scanned) {
        char *s = it->in.data + it->delivered;
        char *nl = memchr(s, '\n', it->scanned - it->delivered);
        p->ops->deliver(it->job, s, (size_t)(nl - s), p->ud);
        it->delivered = (size_t)(nl - it->in.data) + 1;
    }
    if (it->delivered == it->in.len) {
        buf_reset(&it->in);
        it->scanned = it->delivered = 0;
    } else if (it->delivered > (1u << 20)) {
        memmove(it->in.data, it->in.data + it->delivered, it->in.len - it->delivered);
        buf_truncate(&it->in, it->in.len - it->delivered);
        it->scanned -= it->delivered;
        it->delivered = 0;
    }
}

static void advance(struct forkpool *p)
{
    while (p->head) {
        struct forkpool_item *it = p->head;
        deliver(p, it);
        if (it->state != ENDED)
            return;
        /* a partial last line (a child that died mid-write) is dropped */
        p->ops->finish(p, it, it->job, &it->end, p->ud);
        p->head = it->next;
        if (p->head)
            p->head->prev = NULL;
        else
            p->tail = NULL;
        buf_free(&it->in);
        free(it);
        p->size--;
    }
}

int forkpool_step(struct forkpool *p, int extra_fd)
{
    for (struct forkpool_item *it = p->head; it && p->running < p->workers; it = it->next)
        if (it->state == QUEUED)
            start(p, it);
    advance(p);

    struct pollfd *fds = xcalloc((size_t)p->running + 1, sizeof *fds);
    struct forkpool_item **owners = xcalloc((size_t)p->running + 1, sizeof *owners);
    nfds_t n = 0;
    double now = now_seconds(), wait = -1;
    for (struct forkpool_item *it = p->head; it; it = it->next) {
        if (it->state != RUNNING)
            continue;
        if (it->deadline > 0) {
            double left = it->deadline - now;
            if (left <= 0 && !it->end.timed_out) {
                kill(it->pid, SIGKILL);
                it->end.timed_out = 1;
            }
            if (left > 0 && (wait < 0 || left < wait))
                wait = left;
        }
        if (it != p->head && it->in.len > FORKPOOL_BUFFER_LIMIT && !it->end.timed_out)
            continue; /* back-pressure: wait for its turn */
        fds[n].fd = it->fd;
        fds[n].events = POLLIN;
        owners[n++] = it;
    }
    int extra_slot = -1;
    if (extra_fd >= 0) {
        extra_slot = (int)n;
        fds[n].fd = extra_fd;
        fds[n++].events = POLLIN;
    }
    int extra_ready = 0;
    if (n) {
        int timeout = wait < 0 ? -1 : (int)(wait * 1000) + 1;
        int r = poll(fds, n, timeout);
        if (r < 0 && errno != EINTR) /* EFAULT, EINVAL: not with these arguments */
            lode_oom(0);
        for (nfds_t i = 0; r > 0 && i < n; i++) {
            if (!fds[i].revents)
                continue;
            if ((int)i == extra_slot) {
                extra_ready = 1;
                continue;
            }
            struct forkpool_item *it = owners[i];
            buf_grow(&it->in, 65536);
            ssize_t got = read(it->fd, it->in.data + it->in.len, 65536);
            if (got > 0) {
                it->in.len += (size_t)got;
                it->in.data[it->in.len] = 0;
                scan(p, it);
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                reap(p, it);
            }
        }
    }
    free(fds);
    free(owners);
    advance(p);
    return extra_ready;
}

void forkpool_free(struct forkpool *p)
{
    if (!p)
        return;
    while (p->head) {
        struct forkpool_item *it = p->head;
        if (it->state == RUNNING) {
            kill(it->pid, SIGKILL);
            reap(p, it);
        }
        p->head = it->next;
        buf_free(&it->in);
        free(it);
    }
    free(p);
}

void forkpool_drive(struct forkpool *p, size_t window, int (*more)(void *ud), struct lines *input,
                    void (*line)(void *ud, char *s, size_t len, int rc), void *ud)
{
    int more_left = more != NULL, input_open = input != NULL;
    for (;;) {
        while (more_left && forkpool_size(p) < window)
            more_left = more(ud);
        int want = !more_left && input_open && forkpool_size(p) < window;
        if (want) {
            /* take the input as far as it is read already */
            char *s;
            size_t len;
            int rc;
            while (forkpool_size(p) < window &&
                   (rc = lines_buffered(input, &s, &len)) != LINE_AGAIN) {
                if (rc == LINE_EOF || rc == LINE_ERROR) {
                    if (rc == LINE_ERROR)
                        error("cannot read standard input: %s", strerror(errno));
                    input_open = 0;
                    break;
                }
                line(ud, s, len, rc);
            }
            want = input_open && forkpool_size(p) < window;
        }
        if (!forkpool_size(p) && !want && !more_left)
            return;
        if (!forkpool_size(p)) {
            /* nothing to do but wait for input */
            struct pollfd pfd = {input->fd, POLLIN, 0};
            while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
                ;
        } else if (!forkpool_step(p, want ? input->fd : -1)) {
            continue;
        }
        if (lines_fill(input) == LINE_ERROR) {
            error("cannot read standard input: %s", strerror(errno));
            input_open = 0;
        }
    }
}
