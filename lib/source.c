#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unpack.h"

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
static int load_member(const struct blob *arc, const char *arcname, const char *rest,
                       const struct unpack_limits *lim, struct unpack_budget *budget, int depth,
                       struct blob *out, lode_error *err)
{
    int rc = unpack_read(arc, arcname, rest, lim, budget, out, err);
    if (rc <= 0)
        return rc;
    if (depth >= lim->max_depth) {
        lode_seterr(err, "archives nested deeper than %d levels", lim->max_depth);
        return -1;
    }
    for (const char *bang = strstr(rest, "!/"); bang; bang = strstr(bang + 1, "!/")) {
        char *inner = xstrndup(rest, (size_t)(bang - rest));
        struct blob mid;
        rc = unpack_read(arc, arcname, inner, lim, budget, &mid, err);
        if (rc == 0) {
            char *midname = xasprintf("%s!/%s", arcname, inner);
            rc = load_member(&mid, midname, bang + 2, lim, budget, depth + 1, out, err);
            free(midname);
            blob_free(&mid);
        }
        free(inner);
        if (rc <= 0)
            return rc;
    }
    return 1;
}

int source_load(const char *spec, const struct unpack_limits *lim, struct blob *out,
                lode_error *err)
{
    struct stat st;
    if (!strstr(spec, "!/") || stat(spec, &st) == 0)
        return blob_map_file(spec, out, err);
    for (const char *bang = strstr(spec, "!/"); bang; bang = strstr(bang + 1, "!/")) {
        char *outer = xstrndup(spec, (size_t)(bang - spec));
        if (stat(outer, &st) == 0 && S_ISREG(st.st_mode)) {
            struct blob arc;
            int rc = blob_map_file(outer, &arc, err);
            if (rc == 0) {
                struct unpack_budget budget = {0, 0};
                rc = load_member(&arc, outer, bang + 2, lim, &budget, 1, out, err);
                if (rc > 0)
                    lode_seterr(err, "no member %s in %s", bang + 2, outer);
                blob_free(&arc);
            }
            free(outer);
            return rc == 0 ? 0 : -1;
        }
        free(outer);
    }
    lode_seterr(err, "%s", strerror(ENOENT));
    return -1;
}
