/* hnsw.h - the approximate nearest-neighbour graph (Malkov and Yashunin's
 * hierarchical navigable small world), in memory, with its vectors.
 *
 * Nodes are the store's chunk numbers. Vectors are kept L2-normalised, so
 * the score of a node for a query is the cosine (inner product); they are
 * float32, or int8 with one scale per vector (--quantize int8: four times
 * less memory, scores computed on the int8 values). A deleted node stays in
 * the graph as a waypoint but is never returned.
 *
 * Caveats: hnsw_insert() from several threads at once is allowed (node
 * locks, as hnswlib does); searches may run in parallel with each other but
 * not with inserts. Levels come from a seeded generator, so the same inserts
 * in the same order build the same graph.
 */
#ifndef LODE_HNSW_H
#define LODE_HNSW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct hnsw {
    int dim, M, M0, efc;
    int int8;               /* vectors stored as int8 + scale */
    uint32_t cap;           /* nodes 0..cap-1 may exist */
    float *vf;              /* (cap, dim) float vectors, or NULL */
    int8_t *vq;             /* (cap, dim) int8 vectors, or NULL */
    float *scale;           /* (cap) int8 scales */
    int8_t *level;          /* (cap) -1: not in the graph */
    uint8_t *deleted;       /* (cap) */
    uint8_t *dirty;         /* (cap) links changed since hnsw_clean() */
    int locking;            /* lock nodes while reading links (inserts may run) */
    uint32_t *links0;       /* (cap, 1 + M0): count, then neighbours */
    uint32_t **upper;       /* (cap) levels 1.. : (level, 1 + M) each, or NULL */
    pthread_mutex_t *locks; /* HNSW_STRIPES striped node locks */
    pthread_mutex_t global; /* entry point and top level */
    struct hnsw_pool *pool; /* visited lists for searches */
    int64_t entry;          /* -1 when empty */
    int maxlevel;
    uint64_t count, live;
    uint64_t seed;
};

#define HNSW_STRIPES 4096
#define HNSW_MAX_LINKS 512 /* 2M at most: M is 256 at most */

struct hnsw_hit {
    uint32_t node;
    float score; /* cosine */
};

void hnsw_init(struct hnsw *h, int dim, int M, int efc, int int8, uint64_t seed);
void hnsw_free(struct hnsw *h);
void hnsw_reserve(struct hnsw *h, uint32_t cap);

/* Sets node's vector (normalised here). The node is not in the graph yet. */
void hnsw_set_vector(struct hnsw *h, uint32_t node, const float *v);
/* Copies node's stored vector from src (same dim and quantisation). */
void hnsw_copy_vector(struct hnsw *dst, const struct hnsw *src, uint32_t node);
/* Puts a node whose vector is set into the graph. */
void hnsw_insert(struct hnsw *h, uint32_t node);
/* A node with a given level and links (as the store keeps them). */
void hnsw_restore(struct hnsw *h, uint32_t node, int level, const uint32_t *const *links,
                  const uint32_t *counts);
void hnsw_delete(struct hnsw *h, uint32_t node);
/* Forgets which nodes changed (after they were saved). */
void hnsw_clean(struct hnsw *h);
/* After restoring: drops links to nodes that are not in the graph at that
 * layer (a damaged store); returns how many. */
size_t hnsw_check(struct hnsw *h);

/* The k best nodes for a normalised query, at most; accept (may be NULL)
 * filters which nodes may be returned (all are still walked through).
 * Returns the number of hits, best first. */
size_t hnsw_search(const struct hnsw *h, const float *q, size_t k, int ef,
                   int (*accept)(void *ud, uint32_t node), void *ud, struct hnsw_hit *out);
/* The same by comparing with every live vector: the ground truth. */
size_t hnsw_exact(const struct hnsw *h, const float *q, size_t k,
                  int (*accept)(void *ud, uint32_t node), void *ud, struct hnsw_hit *out);
/* The same among nodes[0, n) only (a filter's candidates; any that are not
 * live nodes are skipped). */
size_t hnsw_exact_among(const struct hnsw *h, const float *q, const uint32_t *nodes, size_t n,
                        size_t k, int (*accept)(void *ud, uint32_t node), void *ud,
                        struct hnsw_hit *out);

/* Score of node for a normalised query. */
float hnsw_score(const struct hnsw *h, const float *q, uint32_t node);
/* node's normalised vector into out (dim floats; int8 ones scaled back);
 * -1 when node is not a live node of the graph. */
int hnsw_vector(const struct hnsw *h, uint32_t node, float *out);

#endif
