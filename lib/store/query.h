/* query.h - a query's plan over one or several stores (lode-query(1)): the
 * mode (BM25, dense or hybrid; chosen from what the stores hold when not
 * asked for), the embedding model for query texts, BM25's statistics (the
 * one store's, summed over several, or given from --global-stats), the
 * searches and their fusion, and the first two of the three steps that
 * split the work across hosts (statistics out, statistics in; the third,
 * merging, is shards_merge_results()).
 *
 * A query is a record: "q" (text) and/or "vec" (a vector), optionally "k"
 * and "filter"; its answer is the same record with "hits" (and, on a host
 * given --global-stats in hybrid mode, "bm25_hits" and "dense_hits" for
 * the merge to fuse).
 */
#ifndef LODE_QUERY_H
#define LODE_QUERY_H

#include <jansson.h>

#include "base/util.h"
#include "model/bert.h"
#include "store/search.h"
#include "store/shards.h"
#include "text/bm25.h"

enum query_mode { QUERY_AUTO, QUERY_BM25, QUERY_DENSE, QUERY_HYBRID };

/* "bm25", "dense", "hybrid" (and "auto"); -1 for anything else. */
int query_mode_parse(const char *s);
const char *query_mode_name(enum query_mode m);

/* Conversations' turns (lode-generate --session) among the hits: all of
 * them (default), one session's (--session), none (--no-memory). */
enum query_memory { QUERY_MEMORY_ALL, QUERY_MEMORY_SESSION, QUERY_MEMORY_NONE };

struct query_opts {
    char *const *dirs; /* the stores, searched as one */
    size_t ndirs;
    enum query_mode mode;        /* QUERY_AUTO: hybrid with vectors and a model, else BM25 */
    const char *model;           /* -m: must load and fit; NULL: env_model, then the store's */
    const char *env_model;       /* $LODE_EMBED_MODEL: used when it loads and fits */
    const char *global_stats;    /* --global-stats FILE, or NULL */
    int emit;                    /* --emit-stats: gather statistics, answer nothing */
    int k, ef, exact, no_text;   /* hits, HNSW breadth (at least k), exact search, no text */
    const struct filter *filter; /* --filter, for every query */
    int question_words;          /* --keep-question-words */
    enum query_dedup dedup;      /* same document (default), --dedup, --keep-duplicates */
    double mmr;                  /* --mmr LAMBDA, or -1 */
    int graph;                   /* --graph: the knowledge graph's list fused in */
    enum query_memory memory;    /* which conversations' turns may be hits */
    const char *session;         /* QUERY_MEMORY_SESSION: its name */
    int strict;                  /* --strict: a mode that cannot be used is an error */
};

struct query {
    struct query_opts o;
    enum query_mode mode; /* decided at open */
    /* why the mode asked for (or, by default, expected: the store has
     * vectors) cannot be used for query texts; "" when it can. Each
     * answer it applies to gets "mode" and "mode_reason". */
    char downgrade[768];
    struct shards sh;
    struct bert model;
    struct bert_work work;
    int have_model;
    struct bm25_stats global; /* --global-stats */
    int have_global;
    struct bm25_stats *emit; /* --emit-stats: per store, every query's terms */
};

/* Opens the stores, reads the statistics, chooses the model and the mode.
 * A store or a named model that cannot be used is an error (err says why);
 * without a model for query texts (none known, or a default one that does
 * not load or fit), a store of vectors is searched by BM25 and downgrade
 * says why; with strict that is an error (LODE_EINVAL). */
int query_open(struct query *q, const struct query_opts *o, lode_error *err);
/* Answers one query record in place: 0 when it has its hits, 1 when it was
 * taken into the statistics (--emit-stats), LODE_EINVAL when it fails alone
 * (no text for BM25, a vector of another size, a bad filter...). */
int query_answer(struct query *q, json_t *rec, lode_error *err);
/* --emit-stats: the one statistics record of every query seen (a new
 * reference). */
json_t *query_emitted(struct query *q, lode_error *err);
void query_close(struct query *q);

#endif
