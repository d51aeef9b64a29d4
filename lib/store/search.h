/* search.h - answering queries from a store (lode-query(1)): BM25 over the
 * postings, nearest neighbours over the vectors, and their fusion.
 *
 * Each query runs in its own read snapshot (searcher_begin/_end), so it
 * never waits for a writer and sees whole batches only. Document lengths
 * are cached and re-read whenever the store changed; vectors and the graph
 * are cached too, and re-read when the store changed, at most every
 * SEARCH_RELOAD_SECONDS while an indexer keeps writing: in between, hits
 * whose chunks are gone are skipped and new chunks are found by BM25 only.
 *
 * Filters are applied during the search: BM25 walks its candidates in
 * score order and HNSW only admits matching nodes into its results (and
 * falls back to an exact scan when the graph yields fewer than k), so k
 * hits come back whenever k chunks match.
 *
 * Caveats: a searcher belongs to one thread.
 */
#ifndef LODE_SEARCH_H
#define LODE_SEARCH_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "text/bm25.h"
#include "base/util.h"

#define SEARCH_RELOAD_SECONDS 10.0
/* At most this many live vectors: every query compares with all of them. */
#define SEARCH_EXACT_BELOW 10000
/* A filter on sources (source=...) whose sources hold at most this many
 * chunks: a dense query compares with those alone (exact). */
#define SEARCH_AMONG_MAX 4096
/* Past this many chunks a filter's sources are not listed first. */
#define SEARCH_CANDIDATES_MAX 65536
/* Each list fused by hybrid search, and RRF's constant. */
#define SEARCH_FUSE_DEPTH 100
#define SEARCH_RRF_K 60

/* Conditions on chunk records, all of which must hold:
 *   source=GLOB, type=GLOB, id=GLOB, doc=GLOB, any string field FIELD=GLOB;
 *   meta.KEY=GLOB on meta's strings (numbers and booleans as written);
 *   page=N, page=A-B, page=A-, page=-B on number fields (page, chunk...). */
struct filter;

struct filter *filter_new(void);
void filter_free(struct filter *f);
/* Adds "KEY=VALUE"; -1 with a reason when it is malformed. */
int filter_add(struct filter *f, const char *kv, lode_error *err);
/* Adds a query's {"KEY": VALUE, ...} (VALUE a string or a number, or meta
 * given as an object). */
int filter_add_json(struct filter *f, const json_t *obj, lode_error *err);
/* Adds a copy of every condition of src. */
void filter_extend(struct filter *dst, const struct filter *src);
int filter_empty(const struct filter *f);
int filter_match(const struct filter *f, const json_t *rec);

struct hit {
    uint32_t num; /* the chunk's number in the store */
    double score; /* BM25 or cosine */
};

struct searcher;

struct searcher *searcher_open(struct store *s, int vectors, lode_error *err);
void searcher_close(struct searcher *se);
/* BM25 queries drop their question words (analyzer_query_terms) unless
 * keep is set. */
void searcher_question_words(struct searcher *se, int keep);
/* The store's analyzer (analyzer.h's name). */
const char *searcher_analyzer(const struct searcher *se);

/* The store's embedding model (NULL when it has no vectors), its
 * dimension, and the number of live vectors, as of the last begin. */
const char *searcher_model(const struct searcher *se);
int searcher_dim(const struct searcher *se);
uint64_t searcher_vectors(const struct searcher *se);

int searcher_begin(struct searcher *se, lode_error *err);
void searcher_end(struct searcher *se);

/* This store's statistics for text's terms, into st (inside begin/end):
 * its k1, b, chunks and tokens, and the document frequency of each term
 * st does not hold yet (so the terms of many queries can be gathered). */
void search_bm25_stats(struct searcher *se, const char *text, struct bm25_stats *st);

/* The best k chunks (inside begin/end), best first, into *hits (free it);
 * returns their number. Hits tied with the k-th come too (so more than k
 * may return), so that ties can be broken the same way in every shard.
 * BM25 scores with st's statistics, or this store's when st is NULL. */
size_t search_bm25(struct searcher *se, const char *text, const struct bm25_stats *st,
                   const struct filter *f, size_t k, struct hit **hits);
/* vec has the store's dimension (checked by the caller); exact: compare
 * with every vector instead of walking the graph. */
size_t search_dense(struct searcher *se, const float *vec, const struct filter *f, size_t k, int ef,
                    int exact, struct hit **hits);

/* The chunk's normalised vector into out (searcher_dim floats), inside
 * begin/end of a searcher opened for vectors; -1 when it has none. */
int searcher_vector(struct searcher *se, uint32_t num, float *out);

/* The chunk record (a new reference), or NULL when it is gone. */
json_t *searcher_chunk(struct searcher *se, uint32_t num);

#endif
