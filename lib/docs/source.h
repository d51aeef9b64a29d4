/* source.h - the bytes of a source, named by path.
 *
 * A source is a file path, or a member of an archive written
 * `archive.zip!/dir/file.pdf`, nested as deep as needed
 * (`a.tar.gz!/b.zip!/c.docx`). This is how every program reopens what
 * lode-extract read (lode-ocr renders a page again from `source`).
 *
 * Caveats:
 *  - Files are mapped as blobs (blob.h), with its caveats; members of
 *    archives are read into memory.
 */
#ifndef LODE_SOURCE_H
#define LODE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "base/blob.h"
#include "base/util.h"

/* Limits on what archives may expand to (lode-extract(1), "Archives"). */
struct unpack_limits {
    uint64_t max_total;   /* bytes expanded from one top-level source */
    double max_ratio;     /* expanded bytes per archive byte ... */
    uint64_t ratio_floor; /* ... once more than this has been expanded */
    int max_depth;        /* archives inside archives */
};

void unpack_limits_default(struct unpack_limits *l);

/* Loads a source spec as above. */
int source_load(const char *spec, const struct unpack_limits *lim, struct blob *out,
                lode_error *err);

#endif
