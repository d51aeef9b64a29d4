/* shards.h - several stores searched as one (lode-query -s A -s B ...), and
 * the hit lists of several hosts merged (lode-query --merge).
 *
 * BM25 is exact: a query's statistics (chunks, tokens, each term's document
 * frequency) are summed over every store before any store scores, as
 * Elasticsearch's dfs_query_then_fetch does, or are given whole (from
 * lode-query --emit-stats on each host). Vectors: each store's best k,
 * merged. Hybrid: reciprocal rank fusion of the two merged lists. Equal
 * scores are ordered by chunk id, so that a collection gives the same hits
 * from one store and from any number of shards.
 *
 * Caveats: the stores must share BM25 parameters, and for vectors the
 * embedding model; a chunk id held by two stores comes back twice.
 */
#ifndef LODE_SHARDS_H
#define LODE_SHARDS_H

#include <jansson.h>
#include <stddef.h>

#include "store/search.h"
#include "store/store.h"

struct shards {
    size_t n;
    struct store *stores;
    struct searcher **se;
    const char *model; /* the stores' embedding model, or NULL */
    int dim;           /* 0: no store holds vectors */
};

/* A ranked list: hits of any store, best first. */
struct ranked {
    double score;
    uint32_t shard, num; /* the store, and the chunk's number in it */
    json_t *rec;         /* the chunk record or hit, once read */
};
struct rlist {
    struct ranked *v;
    size_t n;
};

/* Opens the stores for reading; dies never, fails (-1) when one cannot be
 * opened or they disagree on BM25 parameters or embedding model. */
int shards_open(struct shards *sh, char *const *dirs, size_t n, int vectors, lode_error *err);
void shards_close(struct shards *sh);

/* A read snapshot of every store, for one query. */
int shards_begin(struct shards *sh, lode_error *err);
void shards_end(struct shards *sh);

/* The statistics of text's terms summed over every store, into st. */
int shards_stats(struct shards *sh, const char *text, struct bm25_stats *st, lode_error *err);

/* The best k of every store, merged and cut to k (inside begin/end). BM25
 * scores with st, or, when st is NULL, with the stores' own statistics
 * (exact only for one store). */
struct rlist shards_bm25(struct shards *sh, const char *text, const struct bm25_stats *st,
                         const struct filter *f, size_t k);
struct rlist shards_dense(struct shards *sh, const float *vec, const struct filter *f, size_t k,
                          int ef, int exact);

/* The knowledge graph's list (kg_search): chunks that mention the entities
 * text names or their neighbours, those the filter admits. */
struct rlist shards_graph(struct shards *sh, const char *text, const struct filter *f, size_t k);

/* Concatenates lists (emptying them), orders by score then id, cuts to k.
 * sh reads the records ties need (NULL: every rec is set already). */
struct rlist rlist_merge(struct shards *sh, struct rlist *lists, size_t n, size_t k);
/* Reciprocal rank fusion of two lists (the same chunk is the same shard
 * and num in both), cut to k. */
struct rlist rlist_fuse(struct shards *sh, const struct rlist *a, const struct rlist *b, size_t k);
/* The same over nl lists (each chunk's score the sum of 1 / (60 + rank)). */
struct rlist rlist_fuse_n(struct shards *sh, const struct rlist *const *lists, size_t nl, size_t k);
/* The hits as lode-query writes them: rank, id, doc, source, page, score,
 * text (unless no_text), meta. Chunks gone since are left out. */
json_t *rlist_json(struct shards *sh, struct rlist *l, int no_text);
/* A "hits" array read back: shard is given, num numbers distinct ids in
 * ids (shared by the lists of one host). -1 when it is not a hit list. */
int rlist_parse(const json_t *hits, uint32_t shard, json_t *ids, struct rlist *l, lode_error *err);
void rlist_free(struct rlist *l);

/* Duplicates among a "hits" array, collapsed into the best of each group:
 * always hits that are the same chunk of the same document (equal "doc",
 * page and chunk number: a file and its copy inside an archive); with near,
 * also hits whose texts are the same once case and spacing are folded, or
 * near-duplicates (word 3-shingles with an estimated Jaccard similarity of
 * 0.8 or more, by 64 MinHashes: the same paragraph in two editions). The
 * others are listed in the kept hit's "duplicates" ({id, source, page,
 * score}); ranks are numbered again and the list cut to k. Hits without
 * text are compared by document only. */
#define HITS_NEAR 0.8
/* Maximal marginal relevance: reorders hits (best first, with text) by
 * choosing, one at a time, the hit that maximises lambda x its score
 * (scaled to 0..1 over the list) - (1 - lambda) x its greatest similarity
 * to those chosen; keeps k. The similarity is the cosine of the hits'
 * vectors when vecs (one normalised vector of dim floats per hit, in the
 * hits' order) is given, else the Jaccard similarity of their word sets.
 * lambda 1 is the list as it is, 0 the most varied. */
void hits_mmr(json_t *hits, double lambda, size_t k, const float *const *vecs, int dim);
enum query_dedup { QUERY_DEDUP_NONE, QUERY_DEDUP_DOC, QUERY_DEDUP_NEAR };
void hits_dedup(json_t *hits, int near, size_t k);
/* hits (an array in place) becomes the first k of with (taken), the
 * "rank" of each hit that has one numbered again from 1. */
void hits_replace(json_t *hits, json_t *with, size_t k);

/* The results of one query from n hosts (lode-query --global-stats output,
 * each with "hits", or "bm25_hits" and "dense_hits" in hybrid mode) as one
 * record: the first's fields, hits merged (fused) and cut to k, or to the
 * record's own "k". NULL with err set when they do not fit together. */
json_t *shards_merge_results(json_t *const *recs, size_t n, size_t k, int no_text, int dedup,
                             lode_error *err);

#endif
