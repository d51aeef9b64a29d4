/* blob.c - files mapped read-only into blobs, and blobs that own malloc'd
 * bytes (blob.h). */
#include "base/blob.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char empty_bytes[1];

/* size bytes of fd into b: mapped, or read where they cannot be mapped */
static int map_fd(int fd, size_t size, struct blob *b, lode_error *err)
{
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        /* Some files cannot be mapped (e.g. on odd filesystems): read them. */
        unsigned char *p = malloc(size);
        size_t got = 0;
        if (!p) {
            lode_seterr(err, "out of memory reading %zu bytes", size);
            return -1;
        }
        while (got < size) {
            ssize_t n = pread(fd, p + got, size - got, (off_t)got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                lode_seterr(err, "%s", n < 0 ? strerror(errno) : "file shrank while reading");
                free(p);
                return -1;
            }
            got += (size_t)n;
        }
        blob_own(b, p, got);
        return 0;
    }
    madvise(m, size, MADV_SEQUENTIAL);
    b->map = m;
    b->maplen = size;
    b->data = m;
    b->len = size;
    return 0;
}

void blob_drop(const struct blob *b, const void *p, size_t n)
{
    const unsigned char *lo = p, *base = b->map;
    if (!base || lo < base || n > b->maplen || (size_t)(lo - base) > b->maplen - n)
        return;
    /* the whole pages inside the range only */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)lo + page - 1) / page * page, e = ((uintptr_t)lo + n) / page * page;
    if (e > a)
        madvise((void *)a, e - a, MADV_DONTNEED);
}

int blob_map_file(const char *path, struct blob *b, lode_error *err)
{
    memset(b, 0, sizeof *b);
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        lode_seterr(err, "%s", errno == ELOOP ? "symbolic link loop" : strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        lode_seterr(err, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        lode_seterr(err, "is a directory");
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        lode_seterr(err, "not a regular file");
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        close(fd);
        b->data = empty_bytes;
        return 0;
    }
    int rc = map_fd(fd, (size_t)st.st_size, b, err);
    close(fd);
    return rc;
}

void blob_own(struct blob *b, unsigned char *p, size_t len)
{
    memset(b, 0, sizeof *b);
    b->owned = p;
    b->data = p ? p : empty_bytes;
    b->len = len;
}

void blob_free(struct blob *b)
{
    if (b->map)
        munmap(b->map, b->maplen);
    free(b->owned);
    memset(b, 0, sizeof *b);
}

/* Finds `rest` inside the archive held in arc; rest may name a member of a
 * nested archive ("inner.zip!/x.pdf"). A whole-name match is tried first so
 * that members whose names contain "!/" still work. */

/* ---- bytes written in pieces ---- */

void blob_writer_init(struct blob_writer *w, size_t spill)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->spill = spill;
}

/* n bytes to the writer's file, or -1 with the reason */
static int spill_write(struct blob_writer *w, const void *p, size_t n, lode_error *err)
{
    if (write_all(w->fd, p, n) == 0)
        return 0;
    lode_seterr(err, "writing a temporary file: %s", strerror(errno));
    return -1;
}

int blob_writer_add(struct blob_writer *w, const void *p, size_t n, lode_error *err)
{
    if (w->fd < 0 && w->mem.len + n > w->spill) {
        /* past the bound: the bytes go to an unlinked file from here on */
        const char *dir = getenv("TMPDIR");
        char *path = xasprintf("%s/lode-bytes-XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) {
            lode_seterr(err, "cannot make a temporary file in %s: %s", dir && *dir ? dir : "/tmp",
                        strerror(errno));
            free(path);
            return -1;
        }
        unlink(path);
        free(path);
        w->fd = fd;
        if (spill_write(w, w->mem.data, w->mem.len, err) < 0)
            return -1;
        buf_free(&w->mem);
    }
    w->len += n;
    if (w->fd >= 0)
        return spill_write(w, p, n, err);
    buf_add(&w->mem, p, n);
    return 0;
}

int blob_writer_finish(struct blob_writer *w, struct blob *out, lode_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    if (w->fd < 0) {
        size_t len = w->mem.len;
        blob_own(out, (unsigned char *)buf_release(&w->mem), len);
    } else {
        rc = map_fd(w->fd, w->len, out, err);
    }
    blob_writer_free(w);
    return rc;
}

void blob_writer_free(struct blob_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    buf_free(&w->mem);
    w->fd = -1;
    w->len = 0;
}
