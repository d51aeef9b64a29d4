/* index.h - writing chunk records into a store (lode-index(1)).
 *
 * Records are upserted by source: the first time a source appears in a run,
 * its earlier chunks are replaced when its doc hash changed, and its records
 * are skipped when it did not. Work is committed in batches, each one LMDB
 * transaction that ends at a source boundary (or, for a source longer than
 * ten batches, marks the source incomplete until its last chunk is in), so
 * a killed run leaves whole sources or sources marked incomplete, and the
 * same run again replaces what was incomplete: every record ends up in the
 * store exactly once. When the map fills, while writing or while
 * committing, it is grown and the batch redone.
 *
 * Errors: LODE_EINVAL from indexer_add() is the record's own failure (the
 * others go on); any other negative code is the store's (the batch was
 * aborted, the last commit stands, and the run cannot go on).
 *
 * Caveats: an indexer owns its store handle while it lives; one per
 * process.
 */
#ifndef LODE_INDEX_H
#define LODE_INDEX_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "base/util.h"

struct index_opts {
    double k1, b; /* BM25, stored for queries: on first use, or always when set_bm25 */
    int set_bm25;
    int M, efc;                  /* HNSW, on the first vector */
    int int8;                    /* vectors as int8, on the first vector */
    int vec_given;               /* M, efc or int8 were asked for: warn when the store differs */
    const char *model_path;      /* remembered for lode-query, or NULL */
    const char *analyzer;        /* for a new store (NULL: english); an old one keeps its own */
    int batch;                   /* records per transaction (at least) */
    int threads;                 /* for HNSW inserts */
    int shard_k, shard_n;        /* --shard K/N (shard_n 0: the store is not a shard) */
    int strict;                  /* --strict: no mixed store (records that would make one fail) */
    void (*committed)(void *ud); /* after each commit, or NULL */
    void *ud;
};

struct index_stats {
    uint64_t added, unchanged, replaced_sources, deleted_sources, deleted_chunks;
    uint64_t added_plain;     /* of added: without a vector */
    uint64_t vectors, chunks; /* live, in the store at the end */
};

struct indexer;

struct indexer *indexer_open(struct store *s, const struct index_opts *o, lode_error *err);
/* Adds one record (takes it), committing the batch before it when the batch
 * is full. 0 (records of unchanged sources are counted in the statistics,
 * not written), LODE_EINVAL when this record fails alone, or a store code. */
int indexer_add(struct indexer *ix, json_t *rec, lode_error *err);
/* The shard a store was built as (its "shard" setting): *n is 0 when it is
 * not a shard. Opens its own read transaction. */
int index_store_shard(struct store *s, int *k, int *n, lode_error *err);

/* Removes a source and its chunks (none is not an error). 0 or a store code. */
int indexer_delete(struct indexer *ix, const char *source, lode_error *err);
/* 1 when the store holds source complete with this doc hash (opens its own
 * read transaction; no indexer needed). */
int index_unchanged(struct store *s, const char *source, const char *doc);
/* Commits what is pending: 0 or a store code. */
int indexer_flush(struct indexer *ix, lode_error *err);
/* Commits what is pending in the middle of a stream (lode-index
 * --commit-every): the last source, which may have more chunks to come, is
 * marked incomplete until a later commit finds it ended, so a killed run
 * redoes it. 0 or a store code. */
int indexer_commit(struct indexer *ix, lode_error *err);
/* Operations waiting for the next commit. */
size_t indexer_pending(const struct indexer *ix);
/* With stats, commits what is pending and fills them; frees the indexer
 * either way. 0 or a store code. */
int indexer_close(struct indexer *ix, struct index_stats *stats, lode_error *err);

#endif
