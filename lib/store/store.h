/* store.h - lode's knowledge base: one LMDB environment (a directory).
 *
 * What lives there (lode-store(7) has the layout):
 *   chunks    the chunk records as JSON, by an internal number
 *   ids       record id -> number
 *   sources   source -> its doc hash, whether all its chunks are in, and
 *             its numbers
 *   postings  BM25 postings by term, in blocks of at most 128 (number, term
 *             frequency) pairs, delta- and varint-encoded
 *   lengths   document lengths in terms, 1024 numbers a block
 *   vectors   embeddings, 64 a block (float32, or int8 with a scale each)
 *   graph     the HNSW graph: each node's level and neighbours per level
 *   deleted   numbers whose vectors are gone (the graph keeps them for
 *             navigation until --compact)
 *   kg_*      the knowledge graph of the chunks' entities and relations
 *             (kg.h): entities, mentions, edges, aliases
 *   meta      format version, model and dimension, counters, BM25 and HNSW
 *             settings
 *
 * Caveats:
 *  - One writer at a time per store: store_open(STORE_WRITE) takes a lock
 *    file (waiting for another writer, or failing at once with nowait).
 *    Readers never wait: LMDB gives each read transaction a snapshot.
 *  - A reader that cannot open LMDB's lock file (read-only media, a folder
 *    it may not write) reads without one (MDB_NOLOCK): safe while no
 *    writer changes the store.
 *  - Every write transaction commits atomically; a killed writer leaves the
 *    last committed state.
 *  - A store handle belongs to one thread.
 *  - Every call that can fail returns 0 (or a count) or a negative lode code
 *    (error.h): LODE_ENOTFOUND for a missing key, LODE_EMAPFULL when the map
 *    filled, LODE_ECORRUPT for damaged data. LMDB's own codes stay inside
 *    the store modules, which turn them into lode codes with store_code().
 */
#ifndef LODE_STORE_H
#define LODE_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "base/util.h"
#include "text/bm25.h"

#define STORE_FORMAT 1
#define STORE_POSTINGS_BLOCK 128
#define STORE_LENGTHS_BLOCK 1024
#define STORE_VECTORS_BLOCK 64
#define STORE_MAX_DIM 65536

enum store_mode { STORE_READ, STORE_WRITE };

struct store {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, chunks, ids, sources, postings, lengths, vectors, graph, deleted;
    /* the knowledge graph (kg.h): absent (has_kg 0) in a store from before it
     * opened for reading */
    MDB_dbi kg_entities, kg_mentions, kg_edges, kg_aliases;
    int has_kg;
    char *dir;
    int lock_fd;
    int writable;
    int nolock; /* opened without LMDB's lock file (read-only media) */
    uint64_t map_size;
    unsigned full_commits; /* commits that found the map full (and were redone) */
};

/* LMDB's code (or an errno value) as a lode code. */
int store_code(int mdb_rc);
/* Sets err to "DIR: what: LMDB's words" with store_code(mdb_rc); returns
 * that code. */
int store_fail(struct store *s, lode_error *err, int mdb_rc, const char *what);

/* Opens (creating when writable) the store in dir. nowait: fail at once when
 * another writer holds the store instead of waiting. */
int store_open(const char *dir, enum store_mode mode, int nowait, struct store *s, lode_error *err);
/* The same with the map's first size (0: 64 MiB); it grows by itself. */
int store_open_sized(const char *dir, enum store_mode mode, int nowait, uint64_t map,
                     struct store *s, lode_error *err);
void store_close(struct store *s);
/* What store_open checks before LMDB maps data.mdb: a valid meta page, a
 * file as long as its last page says, not empty for a reader. 0, or
 * LODE_ECORRUPT with "DIR is damaged: ...". */
int store_check_file(const char *dir, int writable, lode_error *err);

/* Transactions: one at a time per handle. store_commit() returns
 * LODE_EMAPFULL when the map filled while committing: LMDB has aborted the
 * transaction, and the caller grows the map (store_grow()) and redoes the
 * transaction's work, as after a put that found the map full. */
int store_begin(struct store *s, int write, lode_error *err);
int store_commit(struct store *s, lode_error *err);
void store_abort(struct store *s);
/* In an open transaction: 0 when the meta settings are in range (BM25 k1
 * and b, dim, HNSW M and ef-construction, quantize, the counters) and the
 * chunk counter is past the last chunk; else LODE_ECORRUPT naming the
 * setting. Readers and the writer call it before trusting them. */
int store_check_settings(struct store *s, lode_error *err);
/* In an open transaction: *span is the last chunk's number + 1 (0 for no
 * chunk), what tables by chunk number need to hold. 0, or LODE_ECORRUPT
 * when the last key is not a chunk number. */
int store_chunk_span(struct store *s, uint64_t *span, lode_error *err);
/* The size of dir/data.mdb in bytes, 0 when there is none. */
uint64_t store_data_bytes(const char *dir);
/* Doubles the map (no transaction may be open). */
int store_grow(struct store *s, lode_error *err);

/* Plain get/put/del inside the open transaction: 0, LODE_ENOTFOUND (get),
 * LODE_EMAPFULL (put), or another code. Deleting a missing key is 0. */
int store_get(struct store *s, MDB_dbi db, const void *k, size_t kn, MDB_val *v);
int store_put(struct store *s, MDB_dbi db, const void *k, size_t kn, const void *v, size_t vn);
int store_del(struct store *s, MDB_dbi db, const void *k, size_t kn);

/* meta values */
uint64_t store_meta_u64(struct store *s, const char *key, uint64_t def);
int store_set_meta_u64(struct store *s, const char *key, uint64_t v);
/* NUL-terminated copy (free it), or NULL */
char *store_meta_str(struct store *s, const char *key);
int store_set_meta_str(struct store *s, const char *key, const char *v);
double store_meta_double(struct store *s, const char *key, double def);
int store_set_meta_double(struct store *s, const char *key, double v);
/* The store's BM25 parameters (bm25_k1, bm25_b), BM25_K1 and BM25_B when
 * it has none. */
void store_meta_bm25(struct store *s, double *k1, double *b);

/* A source's value: [complete 1][doc 16][count le32][numbers le32...]. */
struct store_source {
    int complete; /* every chunk of it is in */
    char doc[17]; /* its doc hash as given (may be empty) */
    uint32_t n;
    const unsigned char *nums; /* n little-endian numbers */
};
/* LODE_ECORRUPT when the value is malformed. */
int store_source_parse(const MDB_val *v, struct store_source *out);
static inline uint32_t store_source_num(const struct store_source *s, uint32_t i)
{
    return get_le32(s->nums + 4 * (size_t)i);
}

/* Postings: a term's blocks are keyed term, NUL, the first number (big
 * endian); a block is varint count, then (number delta, term frequency)
 * varint pairs, the first delta from the key's number. */
size_t store_postings_key(unsigned char *key, const char *term, size_t tl, uint32_t base);
/* out needs 10 + 20 * n bytes. Returns the length. */
size_t store_encode_postings(unsigned char *out, uint32_t base, const uint32_t *pairs, size_t n);
/* Decodes into *pairs (free it): (number, tf) each. Returns the count; 0
 * for a damaged block (numbers not increasing, a truncated value). */
size_t store_decode_postings(const MDB_val *v, uint32_t base, uint32_t **pairs);
/* The count a block declares, without decoding it (0 when out of range). */
size_t store_count_postings(const MDB_val *v);

#endif
