/* snapshot.h - copies of a store that can be read and swapped back in
 * (lode-index --snapshot, --snapshots, --restore, --keep; lode-store(7)).
 *
 * A snapshot is a store directory of its own: a compacted copy of data.mdb
 * made in one read transaction (so readers and the writer go on, and the
 * copy is the store as of one commit), and snapshot.json saying whose copy
 * it is, when, and how many chunks it holds (its parent folders are made as
 * needed). lode-query reads it like any
 * store. The store lists its snapshots, oldest first, in its registry
 * (DIR/snapshots.jsonl, one JSON object a line: path, time, chunks,
 * bytes), which moves with the store when a copy is swapped in.
 *
 * Swapping a copy in (restore, and --compact's rewrite) exchanges the two
 * directories with renameat2(RENAME_EXCHANGE) while the copy's writer lock
 * is held: readers that have the old store open keep reading it, openers
 * after the swap get the copy, and a writer that waited on the old lock
 * finds it stale and opens the copy (store.c).
 *
 * Caveats: pruning removes only snapshots whose snapshot.json names this
 * store, and only the files a store holds; a folder with other files in it
 * is left, with a warning. Every call returns 0 (or a count) or a negative
 * lode code with err set.
 */
#ifndef LODE_SNAPSHOT_H
#define LODE_SNAPSHOT_H

#include <stdint.h>
#include <stdio.h>

#include "store/store.h"
#include "base/util.h"

struct snapshot_info {
    char path[4096]; /* absolute */
    char time[32];   /* UTC, 2026-12-01T22:27:52Z */
    uint64_t chunks, bytes;
    unsigned pruned; /* snapshots removed by keep */
};

/* A snapshot of the store dir into out (which must not exist), registered
 * in dir's registry; then, with keep > 0, the oldest registered snapshots
 * beyond keep removed. Problems that lose nothing (a registry that cannot
 * be written) are warnings on report. */
int snapshot_take(const char *dir, const char *out, int keep, FILE *report,
                  struct snapshot_info *info, lode_error *err);

/* The registered snapshots of dir, oldest first, as JSON lines on out
 * (path, time, chunks, bytes; "missing": true for one that is gone). The
 * count. */
long snapshot_list(const char *dir, FILE *out, lode_error *err);

/* Removes the oldest registered snapshots beyond keep (and forgets the
 * missing ones). The number removed. */
long snapshot_prune(const char *dir, int keep, FILE *report, lode_error *err);

/* Makes the store dir a copy of the snapshot snap, atomically, after taking
 * a snapshot of dir as it was (named DIRNAME-TIME beside snap; kept says
 * where). Holds dir's writer lock throughout (nowait: fail at once when a
 * writer has it). */
int snapshot_restore(const char *dir, const char *snap, int nowait, FILE *report,
                     struct snapshot_info *kept, lode_error *err);

/* Swaps the store in tmp (a new directory on the same file system) in as
 * real's, carrying real's registry; afterwards tmp holds the old store,
 * for the caller to remove (snapshot_remove_dir) or keep. */
int snapshot_exchange(const char *real, const char *tmp, lode_error *err);

/* Removes a store directory's own files and the directory; 0, or -1 when
 * something else is left in it. */
int snapshot_remove_dir(const char *dir);

#endif
