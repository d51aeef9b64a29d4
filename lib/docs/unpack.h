/* unpack.h - archives (zip, tar, tar.gz/bz2/xz/zst, 7z, rar, plain .gz,
 * .bz2, .xz) through libarchive, with guards against archive bombs.
 *
 * Members are read one at a time: into memory up to UNPACK_SPILL bytes,
 * beyond that into an unlinked temporary file the member's blob maps
 * (blob_writer), so that a worker holds at most UNPACK_SPILL bytes of a
 * member however large it inflates. Every byte expanded counts
 * against a budget shared by nested archives of one top-level source, so a
 * zip of zips cannot get around max_total; the ratio test compares the
 * bytes expanded with the size of the outermost archive.
 *
 * Member names are as stored, without a leading "./" or "/". Directories,
 * links and special files are skipped. A compressed single file (.gz) has
 * one member named after the archive without its suffix.
 */
#ifndef LODE_UNPACK_H
#define LODE_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "docs/source.h"
#include "base/util.h"

#define UNPACK_SPILL ((size_t)16 << 20)

struct unpack_budget {
    uint64_t used; /* bytes expanded so far */
    uint64_t base; /* size of the outermost archive */
};

/* Called for each member; return nonzero to stop. The member's bytes are
 * the callee's to keep (blob_free them when done). A member that cannot be
 * read while the archive goes on (an encrypted zip entry) comes with data
 * NULL and the reason in why. */
typedef int (*unpack_fn)(void *ud, const char *member, struct blob *data, const char *why);

/* arcname names the archive in messages and names a compressed single file's
 * member. Returns 0, or -1 when the archive is unreadable or a limit is hit
 * (members before that were delivered). */
int unpack_each(const struct blob *arc, const char *arcname, const struct unpack_limits *lim,
                struct unpack_budget *budget, unpack_fn fn, void *ud, lode_error *err);

/* Reads one member by exact name. Returns 0, 1 when there is no such member,
 * -1 on error. */
int unpack_read(const struct blob *arc, const char *arcname, const char *member,
                const struct unpack_limits *lim, struct unpack_budget *budget, struct blob *out,
                lode_error *err);

/* Lists member names (at most max); returns the count or -1. */
int unpack_names(const struct blob *arc, char ***names, size_t max, lode_error *err);
void unpack_names_free(char **names, int n);

/* 1 when the bytes start like an archive libarchive should open. */
int unpack_is_archive(const unsigned char *p, size_t len);

#endif
