/* blob.h - bytes to read: a file mapped read-only, or bytes in memory that
 * the blob owns. Every reader of untrusted files (documents, archives,
 * model files) takes its bytes as a blob.
 *
 * Caveats:
 *  - A mapped file that shrinks while mapped raises SIGBUS, as with any
 *    mmap reader.
 *  - Only regular files are mapped: FIFOs, devices and directories fail
 *    without blocking.
 */
#ifndef LODE_BLOB_H
#define LODE_BLOB_H

#include <stddef.h>

#include "base/buf.h"
#include "base/util.h"

struct blob {
    const unsigned char *data;
    size_t len;
    void *map; /* mmap'd region, or NULL */
    size_t maplen;
    unsigned char *owned; /* malloc'd bytes, or NULL */
};

int blob_map_file(const char *path, struct blob *b, lode_error *err);
/* Takes ownership of malloc'd p. */
void blob_own(struct blob *b, unsigned char *p, size_t len);
void blob_free(struct blob *b);
/* The bytes [p, p + n) of a mapped blob are not needed for now (a copy is
 * kept elsewhere): the kernel may drop their pages from memory, and reads
 * them from the file again if they are touched. Owned bytes stay. */
void blob_drop(const struct blob *b, const void *p, size_t n);

/* Bytes written in pieces (an archive member as it inflates): in memory up
 * to spill bytes, then in an unlinked temporary file under $TMPDIR (else
 * /tmp) that the finished blob maps, so that a large member costs page
 * cache the kernel can drop, not the process's memory. (On a tmpfs the
 * file is memory again.) */
struct blob_writer {
    struct buf mem;
    int fd; /* the file, once spilt; -1 before */
    size_t len, spill;
};
void blob_writer_init(struct blob_writer *w, size_t spill);
int blob_writer_add(struct blob_writer *w, const void *p, size_t n, lode_error *err);
/* The bytes as a blob (w is freed either way); -1 when the file cannot be
 * mapped or read. */
int blob_writer_finish(struct blob_writer *w, struct blob *out, lode_error *err);
void blob_writer_free(struct blob_writer *w);

#endif
