/* search.c - search.h's answers from one store: filters, the searcher's
 * cached lengths and graph (reloaded when the store's generation moves),
 * BM25 over the postings (text/bm25.h), and dense search. */
#include "store/search.h"

#include <errno.h>
#include <fnmatch.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/analyzer.h"
#include "store/hnsw.h"
#include "model/kernels.h"
#include "base/record.h"
#include "store/vectors.h"

/* ---- filters ---- */

struct cond {
    char *field; /* top-level field, or meta's key when meta is set */
    int meta;
    char *pattern; /* fnmatch(3) glob on the value as text */
    int range;     /* numbers: lo <= value <= hi */
    double lo, hi;
};

struct filter {
    struct cond *c;
    size_t n;
};

struct filter *filter_new(void)
{
    return xcalloc(1, sizeof(struct filter));
}

void filter_free(struct filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->c[i].field);
        free(f->c[i].pattern);
    }
    free(f->c);
    free(f);
}

void filter_extend(struct filter *dst, const struct filter *src)
{
    for (size_t i = 0; src && i < src->n; i++) {
        struct cond c = src->c[i];
        c.field = xstrdup(c.field);
        c.pattern = xstrdup(c.pattern);
        dst->c = xreallocarray(dst->c, dst->n + 1, sizeof *dst->c);
        dst->c[dst->n++] = c;
    }
}

int filter_empty(const struct filter *f)
{
    return !f || f->n == 0;
}

/* "N", "A-B", "A-", "-B": a range of numbers. */
static int parse_range(const char *v, double *lo, double *hi)
{
    char *end;
    if (!*v)
        return 0; /* before looking past the first character */
    const char *dash = strchr(v + (*v == '-' ? 0 : 1), '-');
    if (!dash) {
        errno = 0;
        double x = strtod(v, &end);
        if (*end || errno || end == v)
            return 0;
        *lo = *hi = x;
        return 1;
    }
    if (strchr(dash + 1, '-'))
        return 0;
    *lo = -INFINITY;
    *hi = INFINITY;
    if (dash > v) {
        char *a = xstrndup(v, (size_t)(dash - v));
        *lo = strtod(a, &end);
        int bad = *end || end == a;
        free(a);
        if (bad)
            return 0;
    }
    if (dash[1]) {
        *hi = strtod(dash + 1, &end);
        if (*end || end == dash + 1)
            return 0;
    }
    return dash > v || dash[1];
}

static int add_cond(struct filter *f, const char *key, size_t kn, const char *value,
                    lode_error *err)
{
    if (kn == 0) {
        lode_seterr(err, "a filter needs a field name before '='");
        return -1;
    }
    struct cond c = {0};
    if (kn > 5 && !strncmp(key, "meta.", 5)) {
        c.meta = 1;
        c.field = xstrndup(key + 5, kn - 5);
    } else {
        c.field = xstrndup(key, kn);
    }
    c.pattern = xstrdup(value);
    c.range = parse_range(value, &c.lo, &c.hi);
    f->c = xreallocarray(f->c, f->n + 1, sizeof *f->c);
    f->c[f->n++] = c;
    return 0;
}

int filter_add(struct filter *f, const char *kv, lode_error *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq) {
        lode_seterr(err, "filter \"%s\" is not KEY=VALUE", kv);
        return -1;
    }
    return add_cond(f, kv, (size_t)(eq - kv), eq + 1, err);
}

static int add_json_value(struct filter *f, const char *key, const json_t *v, lode_error *err)
{
    char num[64];
    const char *s;
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), s = num;
    else if (json_is_real(v))
        snprintf(num, sizeof num, "%.17g", json_real_value(v)), s = num;
    else if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false";
    else {
        lode_seterr(err, "filter %s: the value must be a string or a number", key);
        return -1;
    }
    return add_cond(f, key, strlen(key), s, err);
}

int filter_add_json(struct filter *f, const json_t *obj, lode_error *err)
{
    if (!json_is_object(obj)) {
        lode_seterr(err, "\"filter\" must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!strcmp(key, "meta") && json_is_object(v)) {
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv)
            {
                char *full = xasprintf("meta.%s", mk);
                int rc = add_json_value(f, full, mv, err);
                free(full);
                if (rc < 0)
                    return -1;
            }
        } else if (add_json_value(f, key, v, err) < 0) {
            return -1;
        }
    }
    return 0;
}

static int cond_match(const struct cond *c, const json_t *rec)
{
    const json_t *obj = c->meta ? json_object_get(rec, "meta") : rec;
    json_t *v = json_object_get(obj, c->field);
    char num[64];
    const char *s;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_number(v)) {
        double x = json_number_value(v);
        if (c->range)
            return x >= c->lo && x <= c->hi;
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        else
            snprintf(num, sizeof num, "%.17g", x);
        s = num;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
    } else {
        return 0;
    }
    return fnmatch(c->pattern, s, 0) == 0;
}

int filter_match(const struct filter *f, const json_t *rec)
{
    for (size_t i = 0; f && i < f->n; i++)
        if (!cond_match(&f->c[i], rec))
            return 0;
    return 1;
}

/* ---- the searcher ---- */

struct searcher {
    struct store *s;
    int want_vectors;
    struct analyzer *an;
    int question_words; /* keep a query's question words (searcher_question_words) */
    /* BM25, as of gen */
    uint64_t gen;
    int loaded;
    double k1, b;
    uint64_t n, total_len;
    float *dl;   /* per number: its length in tokens; -1 not read */
    float *norm; /* per number: k1 * (1 - b + b * dl / avgdl) */
    uint32_t nnorm;
    double norm_k1, norm_b, norm_avgdl; /* what norm was computed with */
    float *acc;                         /* scores being summed, per number */
    uint32_t nacc;
    /* vectors, as of vgen */
    char *model;
    int dim;
    uint64_t vectors;
    struct hnsw h;
    int have_h;
    uint64_t vgen;
    double vloaded_at;
};

struct searcher *searcher_open(struct store *s, int vectors, lode_error *err)
{
    struct searcher *se = xcalloc(1, sizeof *se);
    se->s = s;
    se->want_vectors = vectors;
    /* the settings first: searcher_begin sizes its tables by them */
    int bad = store_begin(s, 0, err) < 0 || store_check_settings(s, err) < 0;
    if (s->txn)
        store_abort(s);
    if (bad || searcher_begin(se, err) < 0) {
        searcher_close(se);
        return NULL;
    }
    /* the store's analyzer reads its queries */
    char *spec = store_meta_str(s, "analyzer");
    se->an = analyzer_open(spec, err);
    if (!se->an)
        lode_fail(err, LODE_ECORRUPT, "%s: the store's analyzer setting: %s", s->dir, err->msg);
    free(spec);
    searcher_end(se);
    if (!se->an) {
        searcher_close(se);
        return NULL;
    }
    return se;
}

const char *searcher_analyzer(const struct searcher *se)
{
    return analyzer_spec(se->an);
}

void searcher_question_words(struct searcher *se, int keep)
{
    se->question_words = keep;
}

void searcher_close(struct searcher *se)
{
    if (!se)
        return;
    store_abort(se->s);
    analyzer_free(se->an);
    free(se->dl);
    free(se->norm);
    free(se->acc);
    free(se->model);
    if (se->have_h)
        hnsw_free(&se->h);
    free(se);
}

const char *searcher_model(const struct searcher *se)
{
    return se->model;
}

int searcher_dim(const struct searcher *se)
{
    return se->dim;
}

uint64_t searcher_vectors(const struct searcher *se)
{
    return se->vectors;
}

/* norm for these parameters, unless it holds them already. */
static void set_norm(struct searcher *se, double k1, double b, double avgdl)
{
    if (se->norm && k1 == se->norm_k1 && b == se->norm_b && avgdl == se->norm_avgdl)
        return;
    se->norm_k1 = k1, se->norm_b = b, se->norm_avgdl = avgdl;
    if (!se->norm)
        se->norm = xmalloc(sizeof *se->norm * ((size_t)se->nnorm + 1));
    for (uint32_t i = 0; i < se->nnorm; i++)
        se->norm[i] = se->dl[i] < 0 ? (float)k1 /* a length not read: the average */
                                    : (float)bm25_norm(k1, b, se->dl[i], avgdl);
}

static void load_lengths(struct searcher *se)
{
    struct store *s = se->s;
    store_meta_bm25(s, &se->k1, &se->b);
    se->n = store_meta_u64(s, "n", 0);
    se->total_len = store_meta_u64(s, "total_len", 0);
    /* lengths by chunk number, as far as the last chunk (the counter may
     * run far past it: deletions, or a damaged setting) */
    uint64_t next = store_meta_u64(s, "next", 0), span;
    lode_error sperr;
    store_chunk_span(s, &span, &sperr); /* (store_check_settings refused a malformed one) */
    if (next > span)
        next = span;
    if (next > UINT32_MAX)
        next = UINT32_MAX;
    free(se->dl);
    free(se->norm);
    se->norm = NULL;
    se->nnorm = (uint32_t)next;
    se->dl = xmalloc(sizeof *se->dl * ((size_t)se->nnorm + 1));
    for (uint32_t i = 0; i < se->nnorm; i++)
        se->dl[i] = -1;
    MDB_cursor *c;
    MDB_val k = {0, NULL}, v;
    if (mdb_cursor_open(s->txn, s->lengths, &c) == 0) {
        while (mdb_cursor_get(c, &k, &v, k.mv_data ? MDB_NEXT : MDB_FIRST) == 0) {
            if (k.mv_size != 4 || v.mv_size != 4 * STORE_LENGTHS_BLOCK)
                continue;
            uint64_t first = (uint64_t)get_be32(k.mv_data) * STORE_LENGTHS_BLOCK;
            for (uint32_t i = 0; i < STORE_LENGTHS_BLOCK && first + i < se->nnorm; i++)
                se->dl[first + i] = (float)get_le32((const unsigned char *)v.mv_data + 4 * i);
        }
        mdb_cursor_close(c);
    }
    set_norm(se, se->k1, se->b, bm25_avgdl(se->n, se->total_len));
}

static int load_vectors(struct searcher *se, lode_error *err)
{
    struct store *s = se->s;
    if (se->have_h)
        hnsw_free(&se->h);
    se->have_h = 0;
    if (!se->dim)
        return 0;
    char *q = store_meta_str(s, "quantize");
    int int8 = q && !strcmp(q, "int8");
    free(q);
    hnsw_init(&se->h, se->dim, (int)store_meta_u64(s, "hnsw_m", 16),
              (int)store_meta_u64(s, "hnsw_efc", 200), int8, 42);
    se->have_h = 1;
    if (vectors_load(s, &se->h, err) < 0)
        return -1;
    se->h.locking = 0; /* nothing inserts while queries run */
    se->vgen = se->gen;
    se->vloaded_at = now_seconds();
    return 0;
}

int searcher_begin(struct searcher *se, lode_error *err)
{
    if (store_begin(se->s, 0, err) < 0)
        return -1;
    uint64_t gen = store_meta_u64(se->s, "gen", 0);
    if (!se->loaded || gen != se->gen) {
        se->gen = gen;
        se->loaded = 1;
        load_lengths(se);
        free(se->model);
        se->model = store_meta_str(se->s, "model");
        se->dim = (int)store_meta_u64(se->s, "dim", 0);
        se->vectors = store_meta_u64(se->s, "vectors", 0);
    }
    if (se->want_vectors && se->dim &&
        (!se->have_h ||
         (se->vgen != gen && now_seconds() - se->vloaded_at >= SEARCH_RELOAD_SECONDS)))
        if (load_vectors(se, err) < 0) {
            store_abort(se->s);
            return -1;
        }
    return 0;
}

void searcher_end(struct searcher *se)
{
    store_abort(se->s);
}

int searcher_vector(struct searcher *se, uint32_t num, float *out)
{
    return se->have_h ? hnsw_vector(&se->h, num, out) : -1;
}

json_t *searcher_chunk(struct searcher *se, uint32_t num)
{
    unsigned char key[4];
    put_be32(key, num);
    MDB_val v;
    if (store_get(se->s, se->s->chunks, key, 4, &v))
        return NULL;
    lode_error err;
    return record_parse(v.mv_data, v.mv_size, &err);
}

/* ---- admitting chunks ---- */

struct admit {
    struct searcher *se;
    const struct filter *f;
    int check_exists; /* the cache may name chunks that are gone */
    GHashTable *seen; /* number + 1 -> 1 admitted, 2 refused */
    uint32_t *cand;   /* sorted: the only numbers the filter may admit, or NULL */
    size_t ncand;
};

static int by_num(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* The filter's first condition on the source, as the sources table can
 * answer it (every chunk is listed under its source, or its id when it has
 * none): the numbers listed under the sources it matches, sorted, a
 * superset of what the filter admits; NULL when no condition is on the
 * source, or when its sources hold more than SEARCH_CANDIDATES_MAX chunks
 * (a broad glob: listing them would cost more than the search saves). A
 * literal is one key; a glob is the keys from its literal prefix on. */
static uint32_t *source_candidates(struct searcher *se, const struct filter *f, size_t *count)
{
    *count = 0;
    const struct cond *c = NULL;
    for (size_t i = 0; f && i < f->n && !c; i++)
        if (!f->c[i].meta && !f->c[i].range && !strcmp(f->c[i].field, "source"))
            c = &f->c[i];
    if (!c || !c->pattern[0])
        return NULL;
    size_t lit = strcspn(c->pattern, "*?[\\"), n = 0, cap = 16;
    uint32_t *nums = xmalloc(cap * sizeof *nums);
    MDB_cursor *cur;
    if (mdb_cursor_open(se->s->txn, se->s->sources, &cur) != 0) {
        free(nums);
        return NULL; /* no shortcut: the filter is applied as it is */
    }
    MDB_val k = {lit, (void *)c->pattern}, v;
    int rc = c->pattern[lit] ? mdb_cursor_get(cur, &k, &v, lit ? MDB_SET_RANGE : MDB_FIRST)
                             : mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    for (; rc == 0; rc = c->pattern[lit] ? mdb_cursor_get(cur, &k, &v, MDB_NEXT) : MDB_NOTFOUND) {
        if (k.mv_size < lit || memcmp(k.mv_data, c->pattern, lit))
            break; /* past the prefix */
        char *key = xstrndup(k.mv_data, k.mv_size);
        int match = fnmatch(c->pattern, key, 0) == 0;
        free(key);
        struct store_source ss;
        if (!match || store_source_parse(&v, &ss) < 0)
            continue;
        if (n + ss.n > SEARCH_CANDIDATES_MAX) {
            mdb_cursor_close(cur);
            free(nums);
            return NULL;
        }
        nums = xgrowarray(nums, &cap, n + ss.n, sizeof *nums);
        for (uint32_t i = 0; i < ss.n; i++)
            nums[n++] = store_source_num(&ss, i);
    }
    mdb_cursor_close(cur);
    qsort(nums, n, sizeof *nums, by_num);
    *count = n;
    return nums;
}

static int admit(void *ud, uint32_t num)
{
    struct admit *a = ud;
    if (filter_empty(a->f) && !a->check_exists)
        return 1;
    if (a->cand && !bsearch(&num, a->cand, a->ncand, sizeof num, by_num))
        return 0;
    if (filter_empty(a->f)) { /* only whether it still exists: no parsing */
        unsigned char key[4];
        MDB_val v;
        put_be32(key, num);
        return store_get(a->se->s, a->se->s->chunks, key, 4, &v) == 0;
    }
    gpointer v = g_hash_table_lookup(a->seen, GUINT_TO_POINTER(num + 1));
    if (v)
        return GPOINTER_TO_INT(v) == 1;
    json_t *rec = searcher_chunk(a->se, num);
    int ok = rec && filter_match(a->f, rec);
    json_decref(rec);
    g_hash_table_insert(a->seen, GUINT_TO_POINTER(num + 1), GINT_TO_POINTER(ok ? 1 : 2));
    return ok;
}

static int by_score(const void *x, const void *y)
{
    const struct hit *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return (a->num > b->num) - (a->num < b->num);
}

/* ---- BM25 ---- */

struct qterm {
    GHashTable *tf; /* term -> count in the query */
};

static void query_term(void *ud, const char *term, size_t n)
{
    struct qterm *q = ud;
    char *key = xstrndup(term, n);
    gpointer old = g_hash_table_lookup(q->tf, key);
    g_hash_table_replace(q->tf, key, GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
}

/* Every (number, tf) of a term into *pairs; returns the count. With pairs
 * NULL, only counts them (the document frequency), decoding nothing. */
static size_t read_postings(struct searcher *se, const char *term, uint32_t **pairs)
{
    size_t tl = strlen(term), n = 0, cap = 0;
    unsigned char *key = xmalloc(tl + 5);
    MDB_val k = {store_postings_key(key, term, tl, 0), key}, v;
    MDB_cursor *c;
    if (pairs)
        *pairs = NULL;
    if (mdb_cursor_open(se->s->txn, se->s->postings, &c)) {
        free(key);
        return 0;
    }
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == tl + 5 && !memcmp(k.mv_data, term, tl) &&
           ((const char *)k.mv_data)[tl] == 0) {
        if (!pairs) {
            n += store_count_postings(&v);
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            continue;
        }
        uint32_t *block;
        size_t m =
            store_decode_postings(&v, get_be32((const unsigned char *)k.mv_data + tl + 1), &block);
        if (n + m > cap) {
            cap = (n + m) * 2;
            *pairs = xreallocarray(*pairs, cap, 2 * sizeof **pairs);
        }
        if (m)
            memcpy(*pairs + 2 * n, block, m * 2 * sizeof *block);
        n += m;
        free(block);
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    free(key);
    return n;
}

/* Walks scored candidates best first, keeping the first k admitted and
 * those tied with the k-th. */
static size_t take_admitted(struct searcher *se, struct hit *cand, size_t n, const struct filter *f,
                            size_t k, struct hit **hits)
{
    if (n > 1)
        qsort(cand, n, sizeof *cand, by_score);
    struct admit a = {.se = se,
                      .f = f,
                      .check_exists = 1,
                      .seen = g_hash_table_new(g_direct_hash, g_direct_equal)};
    a.cand = source_candidates(se, f, &a.ncand);
    size_t out = 0;
    for (size_t i = 0; i < n && (out < k || (out && cand[i].score == cand[out - 1].score)); i++)
        if (admit(&a, cand[i].num))
            cand[out++] = cand[i];
    g_hash_table_destroy(a.seen);
    free(a.cand);
    *hits = cand;
    return out;
}

/* ---- BM25 ---- */

static GHashTable *query_terms(struct searcher *se, const char *text)
{
    struct qterm q = {g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL)};
    if (se->question_words)
        analyzer_terms(se->an, text, strlen(text), query_term, &q);
    else
        analyzer_query_terms(se->an, text, strlen(text), query_term, &q);
    return q.tf;
}

void search_bm25_stats(struct searcher *se, const char *text, struct bm25_stats *st)
{
    st->stores = 1;
    st->k1 = se->k1, st->b = se->b;
    st->n = se->n, st->total_len = se->total_len;
    GHashTable *tf = query_terms(se, text);
    GHashTableIter it;
    gpointer term;
    g_hash_table_iter_init(&it, tf);
    while (g_hash_table_iter_next(&it, &term, NULL)) {
        if (json_object_get(st->df, term))
            continue;
        size_t df = read_postings(se, term, NULL);
        json_object_set_new(st->df, term, json_integer((json_int_t)df));
    }
    g_hash_table_destroy(tf);
}

size_t search_bm25(struct searcher *se, const char *text, const struct bm25_stats *st,
                   const struct filter *f, size_t k, struct hit **hits)
{
    GHashTable *terms = query_terms(se, text);
    GArray *touched = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    double k1 = st ? st->k1 : se->k1, N = (double)(st ? st->n : se->n);
    set_norm(se, k1, st ? st->b : se->b,
             st ? bm25_avgdl(st->n, st->total_len) : bm25_avgdl(se->n, se->total_len));
    GHashTableIter it;
    gpointer term, qtf;
    g_hash_table_iter_init(&it, terms);
    while (g_hash_table_iter_next(&it, &term, &qtf)) {
        uint32_t *pairs;
        size_t df = read_postings(se, term, &pairs);
        if (!df) {
            free(pairs);
            continue;
        }
        /* statistics older than the store may count fewer */
        json_t *global = st ? json_object_get(st->df, term) : NULL;
        double gdf = global && (double)json_integer_value(global) > (double)df
            ? (double)json_integer_value(global)
            : (double)df;
        float w = (float)bm25_weight(GPOINTER_TO_INT(qtf), bm25_idf(N, gdf), k1);
        for (size_t i = 0; i < df; i++) {
            uint32_t num = pairs[2 * i];
            float tf = (float)pairs[2 * i + 1];
            if (num >= se->nacc) {
                uint32_t cap = num + 1 > se->nnorm ? num + 1 : se->nnorm;
                se->acc = xreallocarray(se->acc, cap, sizeof *se->acc);
                memset(se->acc + se->nacc, 0, (cap - se->nacc) * sizeof *se->acc);
                se->nacc = cap;
            }
            float norm = num < se->nnorm ? se->norm[num] : (float)k1;
            if (se->acc[num] == 0)
                g_array_append_val(touched, num);
            se->acc[num] += BM25_TERM(w, tf, norm);
        }
        free(pairs);
    }
    g_hash_table_destroy(terms);
    size_t n = touched->len;
    struct hit *cand = xmalloc(sizeof *cand * (n + 1));
    for (size_t i = 0; i < n; i++) {
        uint32_t num = g_array_index(touched, uint32_t, i);
        cand[i] = (struct hit){num, se->acc[num]};
        se->acc[num] = 0;
    }
    g_array_free(touched, TRUE);
    return take_admitted(se, cand, n, f, k, hits);
}

/* ---- vectors ---- */

size_t search_dense(struct searcher *se, const float *vec, const struct filter *f, size_t k, int ef,
                    int exact, struct hit **hits)
{
    *hits = xmalloc(sizeof **hits * (k + 1));
    if (!se->have_h || !k)
        return 0;
    float *q = xmalloc(sizeof *q * (size_t)se->dim);
    memcpy(q, vec, sizeof *q * (size_t)se->dim);
    l2_normalize(q, se->dim);
    struct admit a = {.se = se,
                      .f = f,
                      .check_exists = se->vgen != se->gen,
                      .seen = g_hash_table_new(g_direct_hash, g_direct_equal)};
    a.cand = source_candidates(se, f, &a.ncand);
    int (*fn)(void *, uint32_t) = filter_empty(f) && !a.check_exists ? NULL : admit;
    /* a few more than k, and more again while the last is tied with the k-th */
    size_t want = k + 8, n;
    struct hnsw_hit *hh = NULL;
    for (;;) {
        hh = xreallocarray(hh, want + 1, sizeof *hh);
        n = 0;
        if (a.cand && a.ncand <= SEARCH_AMONG_MAX)
            /* a filter on a few sources: their chunks alone, exactly */
            n = hnsw_exact_among(&se->h, q, a.cand, a.ncand, want, fn, &a, hh);
        else if (!exact && se->h.live > SEARCH_EXACT_BELOW)
            n = hnsw_search(&se->h, q, want, ef > (int)want ? ef : (int)want, fn, &a, hh);
        if (n < want && n < se->h.live && !(a.cand && a.ncand <= SEARCH_AMONG_MAX))
            n = hnsw_exact(&se->h, q, want, fn, &a, hh);
        if (n < want || hh[n - 1].score != hh[k - 1].score)
            break;
        want *= 2;
    }
    size_t out = 0;
    *hits = xreallocarray(*hits, n + 1, sizeof **hits);
    for (size_t i = 0; i < n && (out < k || hh[i].score == hh[k - 1].score); i++)
        (*hits)[out++] = (struct hit){hh[i].node, hh[i].score};
    free(hh);
    free(q);
    free(a.cand);
    g_hash_table_destroy(a.seen);
    return out;
}
