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

#endif
