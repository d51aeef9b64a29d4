/* bm25.h - BM25, the one formula lode ranks words with: chunks of a store
 * (store/search, store/shards) and the sentences of the hits that make an
 * extractive answer (generate/answer).
 *
 * A document d's score for a query is the sum over the query's terms t of
 *     w(t) * tf / (tf + norm(d))              BM25_TERM
 *     w(t)    = qtf(t) * idf(t) * (k1 + 1)    bm25_weight
 *     idf(t)  = ln(1 + (N - df + 0.5) / (df + 0.5))   Lucene's, never negative
 *     norm(d) = k1 * (1 - b + b * |d| / avgdl)
 * with N documents, df of them holding t, tf its count in d, |d| d's length
 * in terms and avgdl the mean length. The store's parameters are kept in
 * the store (lode-index --bm25); its defaults and the sentences' are here.
 *
 * Statistics (struct bm25_stats) are the N, the lengths and the dfs a query
 * needs; summed over shards, each shard scores as one store would
 * (Elasticsearch's dfs_query_then_fetch).
 */
#ifndef LODE_BM25_H
#define LODE_BM25_H

#include <jansson.h>
#include <stdint.h>

#include "base/util.h"

#define BM25_K1 0.9 /* a store's defaults: Anserini's BEIR baselines */
#define BM25_B 0.4
#define BM25_SENTENCE_K1 1.2 /* sentences of an answer: Lucene's defaults */
#define BM25_SENTENCE_B 0.75

/* One term of one document; the caller's type (the store scores in float,
 * its accumulators being the hot loop of a query). */
#define BM25_TERM(w, tf, norm) ((w) * (tf) / ((tf) + (norm)))

/* N is taken as at least df: statistics older than a store may count fewer
 * documents than it has for a term. */
double bm25_idf(double n, double df);
static inline double bm25_weight(double qtf, double idf, double k1)
{
    return qtf * idf * (k1 + 1);
}
static inline double bm25_norm(double k1, double b, double dl, double avgdl)
{
    return k1 * (1 - b + b * dl / avgdl);
}
/* The mean length; 1 for an empty collection. */
double bm25_avgdl(uint64_t n, uint64_t total_len);
/* "K1,B" (lode-index --bm25): k1 >= 0, 0 <= b <= 1; LODE_EINVAL otherwise. */
int bm25_parse(const char *s, double *k1, double *b);

struct bm25_stats {
    int stores; /* how many were summed; k1 and b are set once 1 */
    double k1, b;
    uint64_t n, total_len; /* documents (chunks) and their terms */
    json_t *df;            /* term -> documents holding it */
};

void bm25_stats_init(struct bm25_stats *st);
void bm25_stats_free(struct bm25_stats *st);
/* Adds one's figures to acc; LODE_EINVAL when their k1 and b differ. */
int bm25_stats_sum(struct bm25_stats *acc, const struct bm25_stats *one, lode_error *err);
/* {"k1","b","chunks","tokens","df":{...}} and back (a record of
 * lode-query --emit-stats). */
json_t *bm25_stats_json(const struct bm25_stats *st);
int bm25_stats_parse(const json_t *rec, struct bm25_stats *st, lode_error *err);

#endif
