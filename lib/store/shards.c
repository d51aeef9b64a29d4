/* shards.c - shards.h's stores as one: opened together and checked to
 * agree, BM25 statistics summed, each store's hits merged with ties by
 * chunk id, fused by reciprocal rank, and several hosts' results merged. */
#include "store/shards.h"
#include "store/kg.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "model/kernels.h"

int shards_open(struct shards *sh, char *const *dirs, size_t n, int vectors, lode_error *err)
{
    memset(sh, 0, sizeof *sh);
    sh->stores = xcalloc(n, sizeof *sh->stores);
    sh->se = xcalloc(n, sizeof *sh->se);
    double k1 = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (store_open(dirs[i], STORE_READ, 0, &sh->stores[i], err) < 0)
            return -1;
        sh->n = i + 1;
        if (store_begin(&sh->stores[i], 0, err) < 0)
            return -1;
        double ik1, ib;
        store_meta_bm25(&sh->stores[i], &ik1, &ib);
        store_abort(&sh->stores[i]);
        if (i && (ik1 != k1 || ib != b)) {
            lode_seterr(err,
                        "%s scores BM25 with k1 %g, b %g and %s with k1 %g, b %g: index them "
                        "with the same --bm25",
                        dirs[0], k1, b, dirs[i], ik1, ib);
            return -1;
        }
        k1 = ik1, b = ib;
        sh->se[i] = searcher_open(&sh->stores[i], vectors, err);
        if (!sh->se[i])
            return -1;
        if (i && strcmp(searcher_analyzer(sh->se[i]), searcher_analyzer(sh->se[0]))) {
            lode_seterr(err, "%s is indexed with the %s analyzer and %s with %s: search them apart",
                        dirs[0], searcher_analyzer(sh->se[0]), dirs[i],
                        searcher_analyzer(sh->se[i]));
            return -1;
        }
        const char *model = searcher_model(sh->se[i]);
        int dim = searcher_dim(sh->se[i]);
        if (!dim)
            continue;
        if (sh->dim &&
            (dim != sh->dim || !model != !sh->model || (model && strcmp(model, sh->model)))) {
            lode_seterr(err,
                        "%s holds vectors of %s (%d values) and %s of %s (%d): search them "
                        "apart",
                        dirs[0], sh->model ? sh->model : "?", sh->dim, dirs[i], model ? model : "?",
                        dim);
            return -1;
        }
        sh->dim = dim;
        sh->model = model;
    }
    return 0;
}

void shards_close(struct shards *sh)
{
    for (size_t i = 0; i < sh->n; i++) {
        searcher_close(sh->se[i]);
        store_close(&sh->stores[i]);
    }
    free(sh->se);
    free(sh->stores);
    memset(sh, 0, sizeof *sh);
}

int shards_begin(struct shards *sh, lode_error *err)
{
    for (size_t i = 0; i < sh->n; i++)
        if (searcher_begin(sh->se[i], err) < 0) {
            while (i--)
                searcher_end(sh->se[i]);
            return -1;
        }
    return 0;
}

void shards_end(struct shards *sh)
{
    for (size_t i = 0; i < sh->n; i++)
        searcher_end(sh->se[i]);
}

int shards_stats(struct shards *sh, const char *text, struct bm25_stats *st, lode_error *err)
{
    for (size_t i = 0; i < sh->n; i++) {
        struct bm25_stats one;
        bm25_stats_init(&one);
        search_bm25_stats(sh->se[i], text, &one);
        int rc = bm25_stats_sum(st, &one, err);
        bm25_stats_free(&one);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- ranked lists ---- */

void rlist_free(struct rlist *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        json_decref(l->v[i].rec);
    if (l)
        free(l->v);
}

static const char *ranked_id(struct shards *sh, struct ranked *r)
{
    if (!r->rec && sh && r->shard < sh->n)
        r->rec = searcher_chunk(sh->se[r->shard], r->num);
    const char *id = json_string_value(json_object_get(r->rec, "id"));
    return id ? id : "";
}

static int by_score(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return 0;
}

static int by_id(const void *x, const void *y)
{
    /* ids are read before sorting */
    const struct ranked *a = x, *b = y;
    const char *ia = json_string_value(json_object_get(a->rec, "id"));
    const char *ib = json_string_value(json_object_get(b->rec, "id"));
    int c = strcmp(ia ? ia : "", ib ? ib : "");
    if (c)
        return c;
    return a->shard != b->shard ? (a->shard > b->shard) - (a->shard < b->shard)
                                : (a->num > b->num) - (a->num < b->num);
}

/* Best first; equal scores by id, whose records are read only for ties. */
static void rank_sort(struct shards *sh, struct ranked *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, by_score);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j].score == v[i].score)
            j++;
        if (j - i > 1) {
            for (size_t t = i; t < j; t++)
                ranked_id(sh, &v[t]);
            qsort(v + i, j - i, sizeof *v, by_id);
        }
        i = j;
    }
}

static void cut(struct rlist *l, size_t k)
{
    for (size_t i = k; i < l->n; i++)
        json_decref(l->v[i].rec);
    if (l->n > k)
        l->n = k;
}

struct rlist rlist_merge(struct shards *sh, struct rlist *lists, size_t n, size_t k)
{
    struct rlist out = {0};
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lists[i].n;
    out.v = xmalloc(sizeof *out.v * (total + 1));
    for (size_t i = 0; i < n; i++) {
        if (lists[i].n)
            memcpy(out.v + out.n, lists[i].v, lists[i].n * sizeof *out.v);
        out.n += lists[i].n;
        free(lists[i].v);
        lists[i] = (struct rlist){0};
    }
    rank_sort(sh, out.v, out.n);
    cut(&out, k);
    return out;
}

static struct rlist from_hits(uint32_t shard, const struct hit *h, size_t n)
{
    struct rlist l = {xmalloc(sizeof *l.v * (n + 1)), n};
    for (size_t i = 0; i < n; i++)
        l.v[i] = (struct ranked){h[i].score, shard, h[i].num, NULL};
    return l;
}

static struct rlist merge_stores(struct shards *sh, struct rlist *per, size_t k)
{
    struct rlist out = rlist_merge(sh, per, sh->n, k);
    free(per);
    return out;
}

struct rlist shards_bm25(struct shards *sh, const char *text, const struct bm25_stats *st,
                         const struct filter *f, size_t k)
{
    struct rlist *per = xcalloc(sh->n, sizeof *per);
    for (size_t i = 0; i < sh->n; i++) {
        struct hit *h;
        size_t n = search_bm25(sh->se[i], text, st, f, k, &h);
        per[i] = from_hits((uint32_t)i, h, n);
        free(h);
    }
    return merge_stores(sh, per, k);
}

struct rlist shards_dense(struct shards *sh, const float *vec, const struct filter *f, size_t k,
                          int ef, int exact)
{
    struct rlist *per = xcalloc(sh->n, sizeof *per);
    for (size_t i = 0; i < sh->n; i++) {
        struct hit *h;
        size_t n = searcher_dim(sh->se[i]) ? search_dense(sh->se[i], vec, f, k, ef, exact, &h) : 0;
        if (!searcher_dim(sh->se[i]))
            h = NULL;
        per[i] = from_hits((uint32_t)i, h, n);
        free(h);
    }
    return merge_stores(sh, per, k);
}

struct rlist shards_graph(struct shards *sh, const char *text, const struct filter *f, size_t k)
{
    struct rlist *per = xcalloc(sh->n, sizeof *per);
    for (size_t i = 0; i < sh->n; i++) {
        uint32_t *nums;
        double *scores;
        /* a filter is applied after: ask for more */
        size_t n = kg_search(&sh->stores[i], text, filter_empty(f) ? k : k * 4, &nums, &scores);
        struct hit *h = xmalloc(sizeof *h * (n + 1));
        size_t m = 0;
        for (size_t j = 0; j < n && m < k; j++) {
            if (!filter_empty(f)) {
                json_t *rec = searcher_chunk(sh->se[i], nums[j]);
                int ok = rec && filter_match(f, rec);
                json_decref(rec);
                if (!ok)
                    continue;
            }
            h[m++] = (struct hit){nums[j], scores[j]};
        }
        per[i] = from_hits((uint32_t)i, h, m);
        free(h);
        free(nums);
        free(scores);
    }
    return merge_stores(sh, per, k);
}

struct rlist rlist_fuse(struct shards *sh, const struct rlist *a, const struct rlist *b, size_t k)
{
    const struct rlist *two[2] = {a, b};
    return rlist_fuse_n(sh, two, 2, k);
}

struct rlist rlist_fuse_n(struct shards *sh, const struct rlist *const *lists, size_t nl, size_t k)
{
    size_t total = 0;
    for (size_t i = 0; i < nl; i++)
        total += lists[i]->n;
    GHashTable *at = g_hash_table_new(g_int64_hash, g_int64_equal);
    gint64 *keys = xmalloc(sizeof *keys * (total + 1));
    struct rlist out = {xmalloc(sizeof *out.v * (total + 1)), 0};
    size_t used = 0;
    for (size_t list = 0; list < nl; list++) {
        const struct rlist *l = lists[list];
        for (size_t r = 0; r < l->n; r++) {
            double s = 1.0 / (SEARCH_RRF_K + (double)r + 1);
            gint64 *key = &keys[used++];
            *key = (gint64)l->v[r].shard << 32 | l->v[r].num;
            gpointer where;
            if (g_hash_table_lookup_extended(at, key, NULL, &where)) {
                out.v[GPOINTER_TO_SIZE(where)].score += s;
            } else {
                g_hash_table_insert(at, key, GSIZE_TO_POINTER(out.n));
                struct ranked x = l->v[r];
                x.score = s;
                if (x.rec)
                    json_incref(x.rec);
                out.v[out.n++] = x;
            }
        }
    }
    g_hash_table_destroy(at);
    free(keys);
    rank_sort(sh, out.v, out.n);
    cut(&out, k);
    return out;
}

json_t *rlist_json(struct shards *sh, struct rlist *l, int no_text)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++) {
        ranked_id(sh, &l->v[i]);
        json_t *rec = l->v[i].rec;
        if (!rec)
            continue; /* gone since the search */
        json_t *o = json_object();
        json_object_set_new(o, "rank", json_integer((json_int_t)json_array_size(arr) + 1));
        const char *keys[] = {"id", "doc", "source", "page"};
        for (size_t j = 0; j < sizeof keys / sizeof *keys; j++) {
            json_t *v = json_object_get(rec, keys[j]);
            if (v)
                json_object_set(o, keys[j], v);
        }
        json_object_set_new(o, "score", json_real(l->v[i].score));
        if (!no_text && json_object_get(rec, "text"))
            json_object_set(o, "text", json_object_get(rec, "text"));
        /* the header of the table a chunk continues (lode-chunk) */
        if (!no_text && json_is_string(json_object_get(rec, "table_header")))
            json_object_set(o, "table_header", json_object_get(rec, "table_header"));
        if (json_is_object(json_object_get(rec, "meta")))
            json_object_set(o, "meta", json_object_get(rec, "meta"));
        json_array_append_new(arr, o);
    }
    return arr;
}

int rlist_parse(const json_t *hits, uint32_t shard, json_t *ids, struct rlist *l, lode_error *err)
{
    *l = (struct rlist){0};
    if (!json_is_array(hits)) {
        lode_seterr(err, "the record has no hit list");
        return -1;
    }
    l->v = xmalloc(sizeof *l->v * (json_array_size(hits) + 1));
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        const char *id = json_string_value(json_object_get(h, "id"));
        json_t *score = json_object_get(h, "score");
        if (!id || !json_is_number(score)) {
            rlist_free(l);
            *l = (struct rlist){0};
            lode_seterr(err, "hit %zu has no id or no score", i + 1);
            return -1;
        }
        json_t *num = json_object_get(ids, id);
        if (!num) {
            num = json_integer((json_int_t)json_object_size(ids));
            json_object_set_new(ids, id, num);
        }
        l->v[l->n++] = (struct ranked){json_number_value(score), shard,
                                       (uint32_t)json_integer_value(num), json_incref(h)};
    }
    return 0;
}

/* One list of every host's records, merged to k. */
static int merge_field(json_t *const *recs, size_t n, const char *field, json_t **ids, size_t k,
                       struct rlist *out, lode_error *err)
{
    struct rlist *per = xcalloc(n, sizeof *per);
    for (size_t i = 0; i < n; i++)
        if (rlist_parse(json_object_get(recs[i], field), (uint32_t)i, ids[i], &per[i], err) < 0) {
            lode_seterr(err, "result %zu: no \"%s\" list of hits", i + 1, field);
            for (size_t j = 0; j < i; j++)
                rlist_free(&per[j]);
            free(per);
            return -1;
        }
    *out = rlist_merge(NULL, per, n, k);
    free(per);
    return 0;
}

/* ---- duplicates ---- */

#define MINHASHES 64

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A text folded for comparison (ASCII case, runs of space), its words'
 * hashes, and its MinHash signature over word 3-shingles. */
struct sig {
    GString *folded;
    uint64_t min[MINHASHES];
    int shingles;
};

static void signature(const char *t, struct sig *s)
{
    s->folded = g_string_new(NULL);
    GArray *words = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t h = 0;
    int in = 0;
    for (const char *p = t;; p++) {
        unsigned char c = (unsigned char)*p;
        int word = c && (g_ascii_isalnum(c) || c >= 0x80);
        if (word) {
            c = (unsigned char)g_ascii_tolower(c);
            h = (h ^ c) * 0x100000001b3ULL;
            in = 1;
            g_string_append_c(s->folded, (char)c);
        } else {
            if (in) {
                g_array_append_val(words, h);
                g_string_append_c(s->folded, ' ');
            }
            h = 0xcbf29ce484222325ULL;
            in = 0;
        }
        if (!c)
            break;
    }
    for (int k = 0; k < MINHASHES; k++)
        s->min[k] = UINT64_MAX;
    s->shingles = words->len >= 3 ? (int)words->len - 2 : 0;
    for (int i = 0; i < s->shingles; i++) {
        const uint64_t *w = &g_array_index(words, uint64_t, i);
        uint64_t sh = mix64(w[0] ^ mix64(w[1] ^ mix64(w[2])));
        for (int k = 0; k < MINHASHES; k++) {
            uint64_t v = mix64(sh + 0x9E3779B97F4A7C15ULL * (uint64_t)(k + 1));
            if (v < s->min[k])
                s->min[k] = v;
        }
    }
    g_array_free(words, TRUE);
}

/* The chunk number of an id "DOC-PAGE-CHUNK". */
static const char *chunk_of(const char *id)
{
    const char *dash = id ? strrchr(id, '-') : NULL;
    return dash ? dash + 1 : "";
}

static int same(const json_t *a, const json_t *b, const struct sig *sa, const struct sig *sb,
                int near)
{
    const char *da = json_string_value(json_object_get(a, "doc")),
               *db = json_string_value(json_object_get(b, "doc"));
    if (da && db && !strcmp(da, db) &&
        json_equal(json_object_get(a, "page"), json_object_get(b, "page")) &&
        !strcmp(chunk_of(json_string_value(json_object_get(a, "id"))),
                chunk_of(json_string_value(json_object_get(b, "id")))))
        return 1;
    if (!near || !sa->folded || !sb->folded)
        return 0;
    if (g_string_equal(sa->folded, sb->folded))
        return 1;
    if (!sa->shingles || !sb->shingles)
        return 0;
    int eq = 0;
    for (int k = 0; k < MINHASHES; k++)
        eq += sa->min[k] == sb->min[k];
    return eq >= (int)(HITS_NEAR * MINHASHES);
}

void hits_replace(json_t *hits, json_t *with, size_t k)
{
    while (json_array_size(with) > k)
        json_array_remove(with, json_array_size(with) - 1);
    size_t i;
    json_t *h;
    json_array_foreach(with, i, h)
    {
        if (json_object_get(h, "rank"))
            json_object_set_new(h, "rank", json_integer((json_int_t)i + 1));
    }
    json_array_clear(hits);
    json_array_extend(hits, with);
    json_decref(with);
}

void hits_dedup(json_t *hits, int near, size_t k)
{
    size_t n = json_array_size(hits);
    struct sig *sig = xcalloc(n + 1, sizeof *sig);
    for (size_t i = 0; near && i < n; i++) {
        const char *t = json_string_value(json_object_get(json_array_get(hits, i), "text"));
        if (t)
            signature(t, &sig[i]);
    }
    json_t *kept = json_array();
    size_t *kept_at = xcalloc(n + 1, sizeof *kept_at), nk = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(hits, i);
        size_t j;
        for (j = 0; j < nk; j++)
            if (same(json_array_get(hits, kept_at[j]), h, &sig[kept_at[j]], &sig[i], near))
                break;
        if (j == nk) {
            kept_at[nk++] = i;
            json_array_append(kept, h);
            continue;
        }
        json_t *to = json_array_get(kept, j);
        json_t *d = json_object_get(to, "duplicates");
        if (!d) {
            d = json_array();
            json_object_set_new(to, "duplicates", d);
        }
        json_t *o = json_object();
        const char *keys[] = {"id", "source", "page", "score"};
        for (size_t x = 0; x < 4; x++)
            if (json_object_get(h, keys[x]))
                json_object_set(o, keys[x], json_object_get(h, keys[x]));
        json_array_append_new(d, o);
    }
    hits_replace(hits, kept, k);
    for (size_t x = 0; x < n; x++)
        if (sig[x].folded)
            g_string_free(sig[x].folded, TRUE);
    free(sig);
    free(kept_at);
}

/* The lowercase words of a text, as a set. */
static GHashTable *word_set(const char *t)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GString *w = g_string_new(NULL);
    for (const char *p = t ? t : "";; p++) {
        unsigned char c = (unsigned char)*p;
        if (c && (g_ascii_isalnum(c) || c >= 0x80)) {
            g_string_append_c(w, (char)g_ascii_tolower(c));
            continue;
        }
        if (w->len)
            g_hash_table_add(h, g_strdup(w->str));
        g_string_truncate(w, 0);
        if (!c)
            break;
    }
    g_string_free(w, TRUE);
    return h;
}

static double jaccard(GHashTable *a, GHashTable *b)
{
    guint na = g_hash_table_size(a), nb = g_hash_table_size(b), both = 0;
    if (!na && !nb)
        return 1;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, na < nb ? a : b);
    while (g_hash_table_iter_next(&it, &key, NULL))
        both += g_hash_table_contains(na < nb ? b : a, key);
    return (double)both / (double)(na + nb - both);
}

void hits_mmr(json_t *hits, double lambda, size_t k, const float *const *vecs, int dim)
{
    size_t n = json_array_size(hits);
    if (n < 2)
        return;
    GHashTable **words = xcalloc(n, sizeof *words);
    double *rel = xcalloc(n, sizeof *rel), lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(hits, i);
        if (!vecs)
            words[i] = word_set(json_string_value(json_object_get(h, "text")));
        rel[i] = json_number_value(json_object_get(h, "score"));
        if (!i || rel[i] < lo)
            lo = rel[i];
        if (!i || rel[i] > hi)
            hi = rel[i];
    }
    for (size_t i = 0; i < n; i++)
        rel[i] = hi > lo ? (rel[i] - lo) / (hi - lo) : 1;
    int *taken = xcalloc(n, sizeof *taken);
    double *most = xcalloc(n, sizeof *most); /* greatest similarity to the chosen */
    json_t *out = json_array();
    for (size_t round = 0; round < n && round < k; round++) {
        size_t best = n;
        double bv = 0;
        for (size_t i = 0; i < n; i++) {
            if (taken[i])
                continue;
            double v = lambda * rel[i] - (1 - lambda) * most[i];
            if (best == n || v > bv)
                best = i, bv = v;
        }
        taken[best] = 1;
        json_array_append(out, json_array_get(hits, best));
        for (size_t i = 0; i < n; i++)
            if (!taken[i]) {
                double s =
                    vecs ? dot_f32(vecs[i], vecs[best], dim) : jaccard(words[i], words[best]);
                if (s > most[i])
                    most[i] = s;
            }
    }
    hits_replace(hits, out, k);
    for (size_t x = 0; x < n; x++)
        if (words[x])
            g_hash_table_destroy(words[x]);
    free(words);
    free(rel);
    free(taken);
    free(most);
}

json_t *shards_merge_results(json_t *const *recs, size_t n, size_t k, int no_text, int dedup,
                             lode_error *err)
{
    const char *q = json_string_value(json_object_get(recs[0], "q"));
    json_t *qid = json_object_get(recs[0], "qid");
    for (size_t i = 1; i < n; i++) {
        const char *qi = json_string_value(json_object_get(recs[i], "q"));
        if ((q || qi) && (!q || !qi || strcmp(q, qi))) {
            lode_seterr(err,
                        "the results are not of the same query (\"%s\" and \"%s\"): "
                        "did a query fail on one host?",
                        q ? q : "", qi ? qi : "");
            return NULL;
        }
        json_t *qidi = json_object_get(recs[i], "qid"); /* json_equal(NULL, NULL) is 0 */
        if ((qid || qidi) && (!qid || !qidi || !json_equal(qid, qidi))) {
            lode_seterr(err, "the results are not of the same query (qid differs)");
            return NULL;
        }
    }
    json_t *kv = json_object_get(recs[0], "k");
    if (json_is_integer(kv) && json_integer_value(kv) >= 1 && json_integer_value(kv) <= 10000)
        k = (size_t)json_integer_value(kv);
    size_t want = k;
    if (dedup != QUERY_DEDUP_NONE)
        k = k * 2; /* room for the duplicates that collapse */
    json_t **ids = xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = json_object();
    struct rlist hits = {0};
    int fused = json_object_get(recs[0], "bm25_hits") != NULL;
    int rc;
    if (fused) {
        size_t depth = k > SEARCH_FUSE_DEPTH ? k : SEARCH_FUSE_DEPTH;
        struct rlist a = {0}, b = {0};
        rc = merge_field(recs, n, "bm25_hits", ids, depth, &a, err);
        if (!rc)
            rc = merge_field(recs, n, "dense_hits", ids, depth, &b, err);
        if (!rc)
            hits = rlist_fuse(NULL, &a, &b, k);
        rlist_free(&a);
        rlist_free(&b);
    } else {
        rc = merge_field(recs, n, "hits", ids, k, &hits, err);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(ids[i]);
    free(ids);
    if (rc < 0)
        return NULL;
    json_t *out = json_deep_copy(recs[0]);
    json_object_del(out, "bm25_hits");
    json_object_del(out, "dense_hits");
    json_t *arr = rlist_json(NULL, &hits, no_text);
    if (dedup != QUERY_DEDUP_NONE)
        hits_dedup(arr, dedup == QUERY_DEDUP_NEAR, want);
    json_object_set_new(out, "hits", arr);
    rlist_free(&hits);
    return out;
}
