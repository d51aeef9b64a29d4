/* maintenance.h - a store's figures, its consistency check, and compaction
 * (lode-index --stats, --check, --compact).
 */
#ifndef LODE_MAINTENANCE_H
#define LODE_MAINTENANCE_H

#include <jansson.h>
#include <stdio.h>

#include "store/store.h"
#include "base/util.h"

/* chunks, sources, vectors, dim, model, terms, bytes on disk and more, as
 * one JSON object (a new reference); NULL with a reason. */
json_t *store_stats(struct store *s, lode_error *err);

/* Verifies that chunks, ids, sources, postings, lengths, counters, vectors
 * and the graph agree; writes one line per problem to report (at most 50,
 * then a count). Returns the number of problems, or a negative code when
 * the store cannot be read. */
long store_check(struct store *s, FILE *report, lode_error *err);

/* --check from the file up: the pages read without LMDB first (pages.h),
 * which says what is damaged; only when they are whole, the store opened
 * and store_check(). The number of problems, or a negative code. */
long store_check_dir(const char *dir, FILE *report, lode_error *err);

struct salvage_stats {
    unsigned long long chunks, vectors, unreadable, expected, problems;
};

/* Copies every chunk record of dir that can still be read (pages.h: the
 * damaged pages skipped), with its vector when its block is readable, into
 * a new store out, made with dir's settings (analyzer, BM25, HNSW,
 * quantize, model path, shard) where they are readable. Problems are
 * written to report. 0, or a negative code (err set). */
int store_salvage(const char *dir, const char *out, int threads, FILE *report,
                  struct salvage_stats *st, lode_error *err);

/* Every chunk record the store holds, in chunk order, one compact JSON
 * line each, to fd. The count, or a negative code (err set). */
long store_dump(struct store *s, int fd, lode_error *err);

struct compact_stats {
    unsigned long long bytes_before, bytes_after, nodes_dropped, vectors;
};

/* Rebuilds the graph from the live vectors only (threads inserting), then
 * rewrites the file without free pages and swaps it in atomically (the
 * store's directory is exchanged with the rewritten one: readers that have
 * it open keep their snapshot). Opens the store for writing itself. 0 or a
 * negative code. */
int store_compact(const char *dir, int threads, int nowait, struct compact_stats *st,
                  lode_error *err);

#endif
