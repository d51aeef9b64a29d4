/* blob.c - files mapped read-only into blobs, and blobs that own malloc'd
 * bytes (blob.h). */
#include "base/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char empty_bytes[1];

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
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        /* Some files cannot be mapped (e.g. on odd filesystems): read them. */
        unsigned char *p = malloc((size_t)st.st_size);
        size_t got = 0;
        if (!p) {
            lode_seterr(err, "out of memory reading %lld bytes", (long long)st.st_size);
            close(fd);
            return -1;
        }
        while (got < (size_t)st.st_size) {
            ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                lode_seterr(err, "%s", n < 0 ? strerror(errno) : "file shrank while reading");
                free(p);
                close(fd);
                return -1;
            }
            got += (size_t)n;
        }
        close(fd);
        blob_own(b, p, got);
        return 0;
    }
    close(fd);
    madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
    b->map = m;
    b->maplen = (size_t)st.st_size;
    b->data = m;
    b->len = (size_t)st.st_size;
    return 0;
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
