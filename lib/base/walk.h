/* walk.h - expands path operands into the files to read.
 *
 * A directory is read recursively in byte order of names (the same order
 * on every machine and locale); names beginning with '.' are skipped
 * unless hidden is set (a path named explicitly is always read). Symbolic
 * links are followed; one that leads back into a directory being walked is
 * reported as a loop instead of being followed forever.
 */
#ifndef LODE_WALK_H
#define LODE_WALK_H

/* fn gets each file path, or a path and the reason it cannot be walked. */
typedef void (*walk_fn)(void *ud, const char *path, const char *error);

void walk_path(const char *path, int hidden, walk_fn fn, void *ud);

#endif
