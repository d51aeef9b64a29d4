/* index.c - index.h's upserts: a batch of operations applied in one write
 * transaction (chunks, ids, postings, lengths, sources, vectors and the
 * graph), redone after the map is grown, committed at source boundaries. */
#include "store/index.h"
#include "store/kg.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "text/analyzer.h"
#include "base/buf.h"
#include "base/hash.h"
#include "store/hnsw.h"
#include "base/record.h"
#include "base/threads.h"
#include "store/vectors.h"

enum op_kind { OP_ADD, OP_DELETE };

struct op {
    enum op_kind kind;
    json_t *rec; /* OP_ADD, without vec/embedding */
    char *source, *id, *doc;
    float *vec; /* OP_ADD with a vector, dim floats */
};

enum seen_state { SEEN_WRITING = 1, SEEN_UNCHANGED, SEEN_DELETED };

/* A source's chunks as the store keeps them: [complete][doc 16][count][numbers]. */
struct source_rec {
    int complete;
    char doc[17];
    uint32_t *nums;
    uint32_t n, cap;
};

struct posting_change {
    GArray *add;    /* pairs (number, tf) as uint32 */
    GArray *remove; /* numbers */
};

struct indexer {
    struct store *s;
    struct index_opts o;
    struct analyzer *an;
    GHashTable *seen; /* source -> state, committed batches of this run */
    struct op *ops;
    size_t nops, capops;
    char *last_source;  /* of the last op added */
    size_t same_source; /* ops of last_source in this batch */
    char *open_source;  /* committed marked incomplete; the next commit completes it */
    struct hnsw h;
    int have_graph;
    char *model;
    int dim;
    int plain; /* the store (or this run) has chunks without vectors */
    struct index_stats st;
    GHashTable *inserted; /* numbers put into the graph in this batch's tries */
    /* per try */
    GHashTable *batch_seen; /* source -> state */
    GHashTable *srcs;       /* source -> struct source_rec, changed in this try */
    GHashTable *post;       /* term -> struct posting_change */
    GHashTable *lens;       /* number -> length, set (0: gone) in this try */
    GArray *new_vecs;       /* numbers */
    uint64_t next, n, total_len, vectors;
    struct index_stats tst; /* counts of this try */
    int fail;               /* the try's first failure (a code), 0 none */
    lode_error failure;     /* ... and what it was */
};

/* ---- small helpers ---- */

/* A store call of the try failed: the try stops at the first one and its
 * transaction is aborted; LODE_EMAPFULL has flush() grow the map and redo
 * the try, any other code ends the run (the last commit stands). */
static void store_failed(struct indexer *ix, int rc, const char *what)
{
    if (!ix->fail)
        ix->fail = lode_fail(&ix->failure, rc, "%s: %s: %s", ix->s->dir, what, lode_strerror(rc));
}

static void source_free(gpointer p)
{
    struct source_rec *r = p;
    free(r->nums);
    free(r);
}

static void change_free(gpointer p)
{
    struct posting_change *c = p;
    g_array_free(c->add, TRUE);
    g_array_free(c->remove, TRUE);
    free(c);
}

static void op_free(struct op *o)
{
    json_decref(o->rec);
    free(o->source);
    free(o->id);
    free(o->doc);
    free(o->vec);
}

static struct source_rec *read_source(struct indexer *ix, const char *source)
{
    struct source_rec *r = g_hash_table_lookup(ix->srcs, source);
    if (r)
        return r;
    MDB_val v;
    struct store_source ss;
    if (store_get(ix->s, ix->s->sources, source, strlen(source), &v) ||
        store_source_parse(&v, &ss) < 0)
        return NULL;
    r = xcalloc(1, sizeof *r);
    r->complete = ss.complete;
    memcpy(r->doc, ss.doc, sizeof r->doc);
    r->n = r->cap = ss.n;
    r->nums = xmalloc(sizeof *r->nums * (ss.n + 1));
    for (uint32_t i = 0; i < ss.n; i++)
        r->nums[i] = store_source_num(&ss, i);
    g_hash_table_insert(ix->srcs, xstrdup(source), r);
    return r;
}

static struct source_rec *new_source(struct indexer *ix, const char *source, const char *doc)
{
    struct source_rec *r = xcalloc(1, sizeof *r);
    snprintf(r->doc, sizeof r->doc, "%s", doc ? doc : "");
    g_hash_table_replace(ix->srcs, xstrdup(source), r);
    return r;
}

static struct posting_change *change(struct indexer *ix, const char *term, size_t n)
{
    char *key = xstrndup(term, n);
    struct posting_change *c = g_hash_table_lookup(ix->post, key);
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->add = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        c->remove = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        g_hash_table_insert(ix->post, key, c);
    } else {
        free(key);
    }
    return c;
}

/* ---- terms ---- */

struct tf_ctx {
    GHashTable *tf; /* term -> count */
};

static void count_term(void *ud, const char *term, size_t n)
{
    struct tf_ctx *c = ud;
    char *key = xstrndup(term, n);
    gpointer old = g_hash_table_lookup(c->tf, key);
    g_hash_table_replace(c->tf, key, GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
}

/* ---- lengths ---- */

static uint32_t stored_length(struct indexer *ix, uint32_t num)
{
    gpointer v;
    if (g_hash_table_lookup_extended(ix->lens, GUINT_TO_POINTER(num + 1), NULL, &v))
        return GPOINTER_TO_UINT(v);
    unsigned char key[4];
    put_be32(key, num / STORE_LENGTHS_BLOCK);
    MDB_val val;
    if (store_get(ix->s, ix->s->lengths, key, 4, &val) || val.mv_size != 4 * STORE_LENGTHS_BLOCK)
        return 0;
    return get_le32((const unsigned char *)val.mv_data + 4 * (num % STORE_LENGTHS_BLOCK));
}

/* ---- removing a chunk ---- */

/* Removes chunk num; unlist: also take it off its source's list (it is
 * replaced alone, its source stays). */
static void remove_chunk(struct indexer *ix, uint32_t num, int unlist)
{
    unsigned char key[4];
    put_be32(key, num);
    MDB_val v;
    if (store_get(ix->s, ix->s->chunks, key, 4, &v))
        return; /* gone already */
    lode_error err;
    json_t *rec = record_parse(v.mv_data, v.mv_size, &err);
    if (rec) {
        struct buf scratch = {0};
        size_t tlen;
        const char *t = record_chunk_text(rec, &scratch, &tlen);
        if (t) {
            struct tf_ctx c = {g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL)};
            analyzer_terms(ix->an, t, tlen, count_term, &c);
            GHashTableIter it;
            gpointer term;
            g_hash_table_iter_init(&it, c.tf);
            while (g_hash_table_iter_next(&it, &term, NULL))
                g_array_append_val(change(ix, term, strlen(term))->remove, num);
            g_hash_table_destroy(c.tf);
        }
        buf_free(&scratch);
        const char *id = record_str(rec, "id");
        const char *src = record_str(rec, "source");
        struct source_rec *r = unlist && (src || id) ? read_source(ix, src ? src : id) : NULL;
        for (uint32_t i = 0; r && i < r->n; i++)
            if (r->nums[i] == num) {
                memmove(r->nums + i, r->nums + i + 1, (r->n - i - 1) * sizeof *r->nums);
                r->n--;
                break;
            }
        MDB_val idv;
        if (id && !store_get(ix->s, ix->s->ids, id, strlen(id), &idv) && idv.mv_size == 4 &&
            get_be32(idv.mv_data) == num)
            store_del(ix->s, ix->s->ids, id, strlen(id));
        int krc = kg_apply(ix->s, num, rec, -1); /* its entities and relations out */
        if (krc)
            store_failed(ix, krc, "removing a chunk from the graph");
        json_decref(rec);
    }
    uint32_t len = stored_length(ix, num);
    g_hash_table_replace(ix->lens, GUINT_TO_POINTER(num + 1), GUINT_TO_POINTER(0));
    ix->n--;
    ix->total_len -= len;
    int rc = store_del(ix->s, ix->s->chunks, key, 4);
    if (rc)
        store_failed(ix, rc, "removing a chunk");
    MDB_val tomb;
    if (!rc && ix->have_graph && num < ix->h.cap && ix->h.level[num] >= 0 &&
        store_get(ix->s, ix->s->deleted, key, 4, &tomb) == LODE_ENOTFOUND) {
        /* (the store, not the graph in memory, says whether it is counted:
         * a retried batch finds the graph changed already) */
        hnsw_delete(&ix->h, num);
        ix->vectors--;
        rc = store_put(ix->s, ix->s->deleted, key, 4, "", 0);
        if (rc)
            store_failed(ix, rc, "marking a vector deleted");
    }
    ix->tst.deleted_chunks++;
}

static void remove_source(struct indexer *ix, const char *source, struct source_rec *r)
{
    for (uint32_t i = 0; i < r->n && !ix->fail; i++)
        remove_chunk(ix, r->nums[i], 0);
    r->n = 0;
}

/* ---- applying one operation ---- */

static enum seen_state state_of(struct indexer *ix, const char *source)
{
    gpointer v = g_hash_table_lookup(ix->batch_seen, source);
    if (!v)
        v = g_hash_table_lookup(ix->seen, source);
    return (enum seen_state)GPOINTER_TO_INT(v);
}

/* Whether the store holds this record as it is: the same document can come
 * chunked otherwise, embedded or with entities since, and its first chunk
 * then differs (its text and span, or the model and entities it carries) */
static int stored_as_is(struct indexer *ix, const struct op *o)
{
    MDB_val idv, v;
    if (store_get(ix->s, ix->s->ids, o->id, strlen(o->id), &idv) || idv.mv_size != 4 ||
        store_get(ix->s, ix->s->chunks, idv.mv_data, 4, &v))
        return 0;
    struct buf b = {0};
    record_dump(&b, o->rec);
    int same = b.len - 1 == v.mv_size && !memcmp(b.data, v.mv_data, v.mv_size);
    buf_free(&b);
    return same;
}

static void apply_add(struct indexer *ix, struct op *o)
{
    enum seen_state st = state_of(ix, o->source);
    if (!st || st == SEEN_DELETED) {
        struct source_rec *r = read_source(ix, o->source);
        if (r && st != SEEN_DELETED && r->complete && o->doc && !strcmp(r->doc, o->doc) &&
            stored_as_is(ix, o)) {
            st = SEEN_UNCHANGED;
        } else {
            if (r && r->n) {
                remove_source(ix, o->source, r);
                ix->tst.replaced_sources++;
            }
            struct source_rec *fresh = new_source(ix, o->source, o->doc);
            (void)fresh;
            st = SEEN_WRITING;
        }
        g_hash_table_replace(ix->batch_seen, xstrdup(o->source), GINT_TO_POINTER(st));
    }
    if (st == SEEN_UNCHANGED) {
        ix->tst.unchanged++;
        return;
    }
    /* the same id already in the store (the record again, or under another
     * source): this one replaces it */
    MDB_val idv;
    if (!store_get(ix->s, ix->s->ids, o->id, strlen(o->id), &idv) && idv.mv_size == 4)
        remove_chunk(ix, get_be32(idv.mv_data), 1);
    uint32_t num = (uint32_t)ix->next++;
    unsigned char key[4], nb[4];
    put_be32(key, num);
    struct buf b = {0};
    record_dump(&b, o->rec);
    int rc = store_put(ix->s, ix->s->chunks, key, 4, b.data, b.len - 1);
    buf_free(&b);
    put_be32(nb, num);
    if (!rc)
        rc = store_put(ix->s, ix->s->ids, o->id, strlen(o->id), nb, 4);
    if (!rc)
        rc = kg_apply(ix->s, num, o->rec, 1);
    if (rc) {
        store_failed(ix, rc, "adding a chunk");
        return;
    }
    struct buf scratch = {0};
    size_t tlen = 0;
    const char *t = record_chunk_text(o->rec, &scratch, &tlen);
    struct tf_ctx c = {g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL)};
    uint32_t len = (uint32_t)analyzer_terms(ix->an, t ? t : "", tlen, count_term, &c);
    buf_free(&scratch);
    GHashTableIter it;
    gpointer term, tf;
    g_hash_table_iter_init(&it, c.tf);
    while (g_hash_table_iter_next(&it, &term, &tf)) {
        uint32_t pair[2] = {num, (uint32_t)GPOINTER_TO_INT(tf)};
        g_array_append_vals(change(ix, term, strlen(term))->add, pair, 2);
    }
    g_hash_table_destroy(c.tf);
    g_hash_table_replace(ix->lens, GUINT_TO_POINTER(num + 1), GUINT_TO_POINTER(len));
    ix->n++;
    ix->total_len += len;
    struct source_rec *r = read_source(ix, o->source);
    if (!r)
        r = new_source(ix, o->source, o->doc);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->nums = xreallocarray(r->nums, r->cap, sizeof *r->nums);
    }
    r->nums[r->n++] = num;
    if (o->vec) {
        hnsw_set_vector(&ix->h, num, o->vec);
        g_array_append_val(ix->new_vecs, num);
        ix->vectors++;
    } else {
        ix->tst.added_plain++;
    }
    ix->tst.added++;
}

/* ---- writing the batch's changes ---- */

static int put_block(struct indexer *ix, const char *term, uint32_t base, const uint32_t *pairs,
                     size_t n)
{
    size_t tl = strlen(term);
    unsigned char *key = xmalloc(tl + 5);
    size_t kl = store_postings_key(key, term, tl, base);
    int rc;
    if (n == 0) {
        rc = store_del(ix->s, ix->s->postings, key, kl);
    } else {
        unsigned char *val = xmalloc(10 + 20 * n);
        size_t len = store_encode_postings(val, base, pairs, n);
        rc = store_put(ix->s, ix->s->postings, key, kl, val, len);
        free(val);
    }
    free(key);
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The block of term holding num (the last block whose base <= num). */
static int find_block(struct indexer *ix, MDB_cursor *c, const char *term, uint32_t num,
                      uint32_t *base, MDB_val *val)
{
    size_t tl = strlen(term);
    unsigned char *key = xmalloc(tl + 5);
    MDB_val k = {store_postings_key(key, term, tl, num), key};
    int rc = mdb_cursor_get(c, &k, val, MDB_SET_RANGE);
    int exact = rc == 0 && k.mv_size == tl + 5 && !memcmp(k.mv_data, key, tl + 5);
    if (!exact)
        rc = rc == MDB_NOTFOUND ? mdb_cursor_get(c, &k, val, MDB_LAST)
                                : mdb_cursor_get(c, &k, val, MDB_PREV);
    free(key);
    (void)ix;
    if (rc || k.mv_size != tl + 5 || memcmp(k.mv_data, term, tl) || ((char *)k.mv_data)[tl])
        return -1;
    *base = get_be32((const unsigned char *)k.mv_data + tl + 1);
    return 0;
}

static int flush_postings(struct indexer *ix)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(ix->s->txn, ix->s->postings, &c);
    if (rc)
        return store_code(rc);
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, ix->post);
    while (!rc && g_hash_table_iter_next(&it, &key, &val)) {
        const char *term = key;
        struct posting_change *ch = val;
        /* removals, block by block */
        if (ch->remove->len) {
            g_array_sort(ch->remove, cmp_u32);
            uint32_t *rm = (uint32_t *)(void *)ch->remove->data;
            size_t nr = ch->remove->len, i = 0;
            while (i < nr && !rc) {
                uint32_t base;
                MDB_val v;
                if (find_block(ix, c, term, rm[i], &base, &v) < 0) {
                    i++;
                    continue;
                }
                uint32_t *pairs = NULL;
                size_t n = store_decode_postings(&v, base, &pairs), kept = 0;
                uint32_t hi = n ? pairs[2 * (n - 1)] : base;
                if (hi < rm[i])
                    hi = rm[i];
                size_t j = i;
                for (size_t k = 0; k < n; k++) {
                    while (j < nr && rm[j] < pairs[2 * k])
                        j++;
                    if (j < nr && rm[j] == pairs[2 * k])
                        continue;
                    pairs[2 * kept] = pairs[2 * k];
                    pairs[2 * kept + 1] = pairs[2 * k + 1];
                    kept++;
                }
                if (kept != n)
                    rc = put_block(ix, term, base, pairs, kept);
                free(pairs);
                while (i < nr && rm[i] <= hi)
                    i++;
            }
        }
        /* additions: numbers only grow, so they go at the end; those
         * removed again in this batch are left out */
        if (!rc && ch->add->len && ch->remove->len) {
            uint32_t *add = (uint32_t *)(void *)ch->add->data;
            const uint32_t *rm = (const uint32_t *)(void *)ch->remove->data;
            size_t na = ch->add->len / 2, kept = 0;
            for (size_t i = 0; i < na; i++)
                if (!bsearch(&add[2 * i], rm, ch->remove->len, sizeof *rm, cmp_u32)) {
                    add[2 * kept] = add[2 * i];
                    add[2 * kept + 1] = add[2 * i + 1];
                    kept++;
                }
            g_array_set_size(ch->add, (guint)(2 * kept));
        }
        if (!rc && ch->add->len) {
            uint32_t *add = (uint32_t *)(void *)ch->add->data;
            size_t na = ch->add->len / 2, at = 0;
            uint32_t base;
            MDB_val v;
            if (find_block(ix, c, term, UINT32_MAX, &base, &v) == 0) {
                uint32_t *pairs = NULL;
                size_t n = store_decode_postings(&v, base, &pairs);
                if (n && n < STORE_POSTINGS_BLOCK) {
                    size_t take = STORE_POSTINGS_BLOCK - n < na ? STORE_POSTINGS_BLOCK - n : na;
                    pairs = xreallocarray(pairs, 2 * (n + take), sizeof *pairs);
                    memcpy(pairs + 2 * n, add, 2 * take * sizeof *pairs);
                    rc = put_block(ix, term, base, pairs, n + take);
                    at = take;
                }
                free(pairs);
            }
            while (!rc && at < na) {
                size_t take = na - at < STORE_POSTINGS_BLOCK ? na - at : STORE_POSTINGS_BLOCK;
                rc = put_block(ix, term, add[2 * at], add + 2 * at, take);
                at += take;
            }
        }
    }
    mdb_cursor_close(c);
    return rc;
}

static int flush_lengths(struct indexer *ix)
{
    GHashTableIter it;
    gpointer k, v;
    GArray *keys = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_hash_table_iter_init(&it, ix->lens);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        uint32_t num = GPOINTER_TO_UINT(k) - 1;
        g_array_append_val(keys, num);
    }
    g_array_sort(keys, cmp_u32);
    unsigned char *block = xmalloc(4 * STORE_LENGTHS_BLOCK);
    int rc = 0;
    uint32_t *nums = (uint32_t *)(void *)keys->data;
    for (size_t i = 0; i < keys->len && !rc;) {
        uint32_t b = nums[i] / STORE_LENGTHS_BLOCK;
        unsigned char key[4];
        put_be32(key, b);
        MDB_val val;
        if (!store_get(ix->s, ix->s->lengths, key, 4, &val) &&
            val.mv_size == 4 * STORE_LENGTHS_BLOCK)
            memcpy(block, val.mv_data, 4 * STORE_LENGTHS_BLOCK);
        else
            memset(block, 0, 4 * STORE_LENGTHS_BLOCK);
        for (; i < keys->len && nums[i] / STORE_LENGTHS_BLOCK == b; i++) {
            uint32_t len =
                GPOINTER_TO_UINT(g_hash_table_lookup(ix->lens, GUINT_TO_POINTER(nums[i] + 1)));
            put_le32(block + 4 * (nums[i] % STORE_LENGTHS_BLOCK), len);
        }
        rc = store_put(ix->s, ix->s->lengths, key, 4, block, 4 * STORE_LENGTHS_BLOCK);
    }
    free(block);
    g_array_free(keys, TRUE);
    return rc;
}

static int flush_sources(struct indexer *ix, const char *incomplete)
{
    GHashTableIter it;
    gpointer k, v;
    int rc = 0;
    g_hash_table_iter_init(&it, ix->srcs);
    while (!rc && g_hash_table_iter_next(&it, &k, &v)) {
        const char *source = k;
        struct source_rec *r = v;
        enum seen_state st = GPOINTER_TO_INT(g_hash_table_lookup(ix->batch_seen, source));
        if (st == SEEN_UNCHANGED)
            continue;
        if (r->n == 0) {
            rc = store_del(ix->s, ix->s->sources, source, strlen(source));
            continue;
        }
        size_t len = 21 + 4 * (size_t)r->n;
        unsigned char *b = xcalloc(1, len);
        b[0] = !(incomplete && !strcmp(incomplete, source));
        memcpy(b + 1, r->doc, strnlen(r->doc, 16));
        put_le32(b + 17, r->n);
        for (uint32_t i = 0; i < r->n; i++)
            put_le32(b + 21 + 4 * (size_t)i, r->nums[i]);
        rc = store_put(ix->s, ix->s->sources, source, strlen(source), b, len);
        free(b);
    }
    return rc;
}

struct insert_ctx {
    struct indexer *ix;
    uint32_t *nums;
};

static void insert_one(void *ud, size_t i, int worker)
{
    struct insert_ctx *c = ud;
    (void)worker;
    hnsw_insert(&c->ix->h, c->nums[i]);
}

/* Everything of the pending ops in one transaction: 0 when committed, else
 * the code of the first failure with ix->failure saying what it was
 * (LODE_EMAPFULL, from a put or from the commit itself: grow and try
 * again). The transaction is closed either way. */
static int try_batch(struct indexer *ix, const char *incomplete)
{
    ix->fail = 0;
    ix->batch_seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    ix->srcs = g_hash_table_new_full(g_str_hash, g_str_equal, free, source_free);
    ix->post = g_hash_table_new_full(g_str_hash, g_str_equal, free, change_free);
    ix->lens = g_hash_table_new(g_direct_hash, g_direct_equal);
    ix->new_vecs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    memset(&ix->tst, 0, sizeof ix->tst);
    int rc = store_begin(ix->s, 1, &ix->failure);
    if (rc < 0)
        return rc; /* the try's tables are freed by end_try(), as after any failure */
    ix->next = store_meta_u64(ix->s, "next", 0);
    ix->n = store_meta_u64(ix->s, "n", 0);
    ix->total_len = store_meta_u64(ix->s, "total_len", 0);
    ix->vectors = store_meta_u64(ix->s, "vectors", 0);
    for (size_t i = 0; i < ix->nops && !ix->fail; i++) {
        struct op *o = &ix->ops[i];
        if (o->kind == OP_ADD) {
            apply_add(ix, o);
        } else {
            struct source_rec *r = read_source(ix, o->source);
            if (r && r->n) {
                remove_source(ix, o->source, r);
                ix->tst.deleted_sources++;
            }
            if (r)
                r->n = 0;
            g_hash_table_replace(ix->batch_seen, xstrdup(o->source), GINT_TO_POINTER(SEEN_DELETED));
        }
    }
    /* a source indexer_commit() left open and no longer being written is
     * whole now (its last chunk came before the other sources' chunks) */
    if (!ix->fail && ix->open_source && (!incomplete || strcmp(incomplete, ix->open_source)))
        read_source(ix, ix->open_source);
    rc = ix->fail;
    if (!rc)
        rc = flush_sources(ix, incomplete);
    if (!rc)
        rc = flush_postings(ix);
    if (!rc)
        rc = flush_lengths(ix);
    if (!rc && ix->new_vecs->len) {
        /* into the graph, once: a retried batch keeps the nodes it put */
        GArray *todo = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        for (guint i = 0; i < ix->new_vecs->len; i++) {
            uint32_t num = g_array_index(ix->new_vecs, uint32_t, i);
            if (!g_hash_table_contains(ix->inserted, GUINT_TO_POINTER(num + 1))) {
                g_array_append_val(todo, num);
                g_hash_table_add(ix->inserted, GUINT_TO_POINTER(num + 1));
            }
        }
        struct insert_ctx ctx = {ix, (uint32_t *)(void *)todo->data};
        parallel_for(ix->o.threads, todo->len, insert_one, &ctx);
        g_array_free(todo, TRUE);
        rc = vectors_save(ix->s, &ix->h, (const uint32_t *)(void *)ix->new_vecs->data,
                          ix->new_vecs->len);
    }
    if (!rc)
        rc = store_set_meta_u64(ix->s, "next", ix->next);
    if (!rc)
        rc = store_set_meta_u64(ix->s, "n", ix->n);
    if (!rc)
        rc = store_set_meta_u64(ix->s, "total_len", ix->total_len);
    if (!rc)
        rc = store_set_meta_u64(ix->s, "vectors", ix->vectors);
    if (!rc) /* readers reload what they cached when it changes */
        rc = store_set_meta_u64(ix->s, "gen", store_meta_u64(ix->s, "gen", 0) + 1);
    if (rc) {
        store_abort(ix->s);
        store_failed(ix, rc, "cannot write"); /* unless an op said more */
        return rc;
    }
    /* a full map here too is grown and the try redone; any other failure
     * (disk full, an I/O error) ends the run with the last commit standing */
    return store_commit(ix->s, &ix->failure);
}

static void end_try(struct indexer *ix, int merge)
{
    if (merge) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, ix->batch_seen);
        while (g_hash_table_iter_next(&it, &k, &v))
            g_hash_table_replace(ix->seen, xstrdup(k), v);
    }
    g_hash_table_destroy(ix->batch_seen);
    g_hash_table_destroy(ix->srcs);
    g_hash_table_destroy(ix->post);
    g_hash_table_destroy(ix->lens);
    g_array_free(ix->new_vecs, TRUE);
}

/* Commits the pending ops, growing the map as often as they need. 0, or the
 * code of a failure that ends the run (err says what). */
static int flush(struct indexer *ix, const char *incomplete, lode_error *err)
{
    if (!ix->nops && !ix->open_source)
        return 0;
    for (;;) {
        int rc = try_batch(ix, incomplete);
        if (rc == 0)
            break;
        end_try(ix, 0);
        if (rc != LODE_EMAPFULL || (rc = store_grow(ix->s, &ix->failure)) < 0) {
            if (err)
                *err = ix->failure;
            return rc;
        }
    }
    end_try(ix, 1);
    free(ix->open_source);
    ix->open_source = incomplete ? xstrdup(incomplete) : NULL;
    if (ix->have_graph)
        hnsw_clean(&ix->h);
    if (ix->o.committed)
        ix->o.committed(ix->o.ud);
    g_hash_table_remove_all(ix->inserted);
    ix->st.added += ix->tst.added;
    ix->st.added_plain += ix->tst.added_plain;
    ix->st.unchanged += ix->tst.unchanged;
    ix->st.replaced_sources += ix->tst.replaced_sources;
    ix->st.deleted_sources += ix->tst.deleted_sources;
    ix->st.deleted_chunks += ix->tst.deleted_chunks;
    for (size_t i = 0; i < ix->nops; i++)
        op_free(&ix->ops[i]);
    ix->nops = 0;
    ix->same_source = 0;
    return 0;
}

/* ---- the public side ---- */

struct indexer *indexer_open(struct store *s, const struct index_opts *o, lode_error *err)
{
    struct indexer *ix = xcalloc(1, sizeof *ix);
    ix->s = s;
    ix->o = *o;
    ix->seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    ix->inserted = g_hash_table_new(g_direct_hash, g_direct_equal);
    int rc = store_begin(s, 0, err);
    if (rc < 0)
        goto fail;
    if ((rc = store_check_settings(s, err)) < 0) {
        store_abort(s);
        goto fail;
    }
    ix->model = store_meta_str(s, "model");
    ix->dim = (int)store_meta_u64(s, "dim", 0);
    ix->plain = store_meta_u64(s, "n", 0) > store_meta_u64(s, "vectors", 0);
    char *k1 = store_meta_str(s, "bm25_k1");
    int has_bm25 = k1 != NULL;
    free(k1);
    /* one analyzer for the store's life: the one it was made with (stores
     * from before analyzers are english) */
    char *an = store_meta_str(s, "analyzer");
    int fresh_an = store_meta_u64(s, "n", 0) == 0 && store_meta_u64(s, "next", 0) == 0;
    const char *want_an = an ? an : fresh_an && o->analyzer ? o->analyzer : "english";
    if (o->analyzer && strcmp(o->analyzer, want_an)) {
        rc = lode_fail(err, LODE_EINVAL,
                       "%s is indexed with the %s analyzer; a store keeps one (index into a new "
                       "store for %s)",
                       s->dir, want_an, o->analyzer);
        free(an);
        store_abort(s);
        goto fail;
    }
    ix->an = analyzer_open(want_an, err);
    int set_an = !an;
    free(an);
    if (!ix->an) {
        rc = err->code;
        store_abort(s);
        goto fail;
    }
    if (ix->dim) {
        char *q = store_meta_str(s, "quantize");
        int int8 = q && !strcmp(q, "int8");
        free(q);
        int M = (int)store_meta_u64(s, "hnsw_m", 16), efc = (int)store_meta_u64(s, "hnsw_efc", 200);
        if (o->vec_given && (M != o->M || efc != o->efc || int8 != o->int8))
            warning("%s keeps the vector settings it was built with (M %d, ef-construction %d, "
                    "%s); --compact does not change them either",
                    s->dir, M, efc, int8 ? "int8" : "float32");
        hnsw_init(&ix->h, ix->dim, M, efc, int8, 42);
        ix->have_graph = 1;
        long dropped = vectors_load(s, &ix->h, err);
        if (dropped < 0) {
            rc = (int)dropped;
            store_abort(s);
            goto fail;
        }
    }
    /* a shard store takes only its shard's sources, and only with --shard */
    char *shard = store_meta_str(s, "shard");
    char want[32] = "";
    if (o->shard_n)
        snprintf(want, sizeof want, "%d/%d", o->shard_k, o->shard_n);
    int fresh = store_meta_u64(s, "n", 0) == 0 && store_meta_u64(s, "next", 0) == 0;
    if (shard ? strcmp(shard, want) : (o->shard_n && !fresh)) {
        rc = lode_fail(err, LODE_EINVAL,
                       shard ? "%s is shard %s; index into it with --shard %s"
                             : "%s already holds sources of every shard; --shard needs a new store",
                       s->dir, shard ? shard : "", shard ? shard : "");
        free(shard);
        store_abort(s);
        goto fail;
    }
    int set_shard = o->shard_n && !shard;
    free(shard);
    store_abort(s);
    if (!has_bm25 || o->set_bm25 || o->model_path || set_shard || set_an) {
        if ((rc = store_begin(s, 1, err)) < 0)
            goto fail;
        if (!has_bm25 || o->set_bm25)
            rc = store_set_meta_double(s, "bm25_k1", o->k1);
        if (!rc && (!has_bm25 || o->set_bm25))
            rc = store_set_meta_double(s, "bm25_b", o->b);
        if (!rc && o->model_path)
            rc = store_set_meta_str(s, "model_path", o->model_path);
        if (!rc && set_shard)
            rc = store_set_meta_str(s, "shard", want);
        if (!rc && set_an)
            rc = store_set_meta_str(s, "analyzer", analyzer_spec(ix->an));
        if (rc) {
            store_abort(s);
            lode_fail(err, rc, "%s: cannot write settings: %s", s->dir, lode_strerror(rc));
            goto fail;
        }
        if ((rc = store_commit(s, err)) != 0)
            goto fail;
    }
    return ix;
fail:
    indexer_close(ix, NULL, NULL);
    return NULL;
}

int index_store_shard(struct store *s, int *k, int *n, lode_error *err)
{
    *k = *n = 0;
    int rc = store_begin(s, 0, err);
    if (rc < 0)
        return rc;
    char *v = store_meta_str(s, "shard");
    store_abort(s);
    if (v && hash_parse_shard(v, k, n) < 0) {
        rc = lode_fail(err, LODE_ECORRUPT, "%s: the store's shard setting \"%s\" is malformed",
                       s->dir, v);
        free(v);
        return rc;
    }
    free(v);
    return 0;
}

/* The store's model and vector settings, written when the first vector
 * arrives. */
static int record_model(struct indexer *ix, const char *model, lode_error *err)
{
    struct store *s = ix->s;
    int rc = store_begin(s, 1, err);
    if (rc < 0)
        return rc;
    rc = store_set_meta_u64(s, "dim", (uint64_t)ix->dim);
    if (!rc && model)
        rc = store_set_meta_str(s, "model", model);
    if (!rc)
        rc = store_set_meta_str(s, "quantize", ix->o.int8 ? "int8" : "f32");
    if (!rc)
        rc = store_set_meta_u64(s, "hnsw_m", (uint64_t)ix->o.M);
    if (!rc)
        rc = store_set_meta_u64(s, "hnsw_efc", (uint64_t)ix->o.efc);
    if (rc) {
        store_abort(s);
        return lode_fail(err, rc, "%s: cannot record the model: %s", s->dir, lode_strerror(rc));
    }
    return store_commit(s, err);
}

/* The record's vector checked against the store's (NULL when it has none);
 * LODE_EINVAL when it does not fit. */
static int record_vec(struct indexer *ix, json_t *rec, float **out, int *dim, lode_error *err)
{
    lode_error verr = {0};
    float *vec = record_vector(rec, dim, &verr);
    *out = NULL;
    if (verr.msg[0])
        return lode_fail(err, LODE_EINVAL, "%s", verr.msg);
    if (!vec)
        return 0;
    const char *model = record_str(rec, "model");
    json_t *d = json_object_get(rec, "dim");
    int rc = LODE_EINVAL;
    if (json_is_integer(d) && json_integer_value(d) != *dim)
        lode_fail(err, rc, "dim says %lld but the vector has %d values",
                  (long long)json_integer_value(d), *dim);
    else if (ix->dim && *dim != ix->dim)
        lode_fail(err, rc, "a vector of %d values; the store holds %d-value vectors of %s", *dim,
                  ix->dim, ix->model ? ix->model : "another model");
    else if (ix->model && model && strcmp(model, ix->model))
        lode_fail(err, rc, "a vector of %s; the store holds vectors of %s", model, ix->model);
    else if (ix->model && !model)
        lode_fail(err, rc, "a vector without \"model\"; the store holds vectors of %s", ix->model);
    else
        rc = 0;
    if (rc) {
        free(vec);
        return rc;
    }
    *out = vec;
    return 0;
}

static struct op *new_op(struct indexer *ix, enum op_kind kind, const char *source)
{
    if (ix->nops == ix->capops) {
        ix->capops = ix->capops ? ix->capops * 2 : 256;
        ix->ops = xreallocarray(ix->ops, ix->capops, sizeof *ix->ops);
    }
    struct op *o = &ix->ops[ix->nops++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->source = xstrdup(source);
    return o;
}

int indexer_add(struct indexer *ix, json_t *rec, lode_error *err)
{
    const char *id = record_str(rec, "id");
    json_t *text = json_object_get(rec, "text");
    int rc = 0;
    if (!id || !*id)
        rc = lode_fail(err, LODE_EINVAL, "the record has no \"id\" string");
    else if (!json_is_string(text))
        rc = lode_fail(err, LODE_EINVAL, "the record has no \"text\" string");
    const char *source = record_str(rec, "source");
    json_t *given = json_object_get(rec, "source");
    /* the sources table answers filters on the source by its text */
    if (!rc && given && !json_is_string(given))
        rc = lode_fail(err, LODE_EINVAL, "the record's \"source\" is not a string");
    if (!source)
        source = id;
    /* ids and sources are LMDB keys */
    size_t maxkey = (size_t)mdb_env_get_maxkeysize(ix->s->env);
    if (!rc && strlen(id) > maxkey)
        rc = lode_fail(err, LODE_EINVAL, "the record's id is longer than %zu bytes", maxkey);
    else if (!rc && strlen(source) > maxkey)
        rc = lode_fail(err, LODE_EINVAL, "the record's source is longer than %zu bytes", maxkey);
    int dim = 0;
    float *vec = NULL;
    if (!rc)
        rc = record_vec(ix, rec, &vec, &dim, err);
    if (!rc && ix->o.strict && !vec && ix->dim)
        rc = lode_fail(err, LODE_EINVAL,
                       "the record has no vector and %s holds vectors: dense search could not "
                       "find it (--strict)",
                       ix->s->dir);
    else if (!rc && ix->o.strict && vec && !ix->dim && ix->plain)
        rc = lode_fail(err, LODE_EINVAL,
                       "%s holds chunks without vectors: dense search could not find those "
                       "(--strict)",
                       ix->s->dir);
    if (!rc && !vec)
        ix->plain = 1;
    if (!rc && vec && !ix->dim) {
        /* the first vector decides the store's model and size */
        const char *model = record_str(rec, "model");
        ix->dim = dim;
        ix->model = model ? xstrdup(model) : NULL;
        hnsw_init(&ix->h, dim, ix->o.M, ix->o.efc, ix->o.int8, 42);
        ix->have_graph = 1;
        rc = record_model(ix, model, err);
    }
    /* batches end where a source ends, so sources are committed whole */
    int other = !ix->last_source || strcmp(ix->last_source, source);
    if (!rc && other && ix->nops >= (size_t)ix->o.batch)
        rc = flush(ix, NULL, err);
    else if (!rc && !other && ix->same_source >= 10 * (size_t)ix->o.batch)
        rc = flush(ix, source, err); /* a very long source: commit it in parts, marked incomplete */
    if (rc) {
        free(vec);
        json_decref(rec);
        return rc;
    }
    if (other) {
        free(ix->last_source);
        ix->last_source = xstrdup(source);
        ix->same_source = 0;
    }
    struct op *o = new_op(ix, OP_ADD, source);
    o->id = xstrdup(id);
    const char *doc = record_str(rec, "doc");
    o->doc = doc ? xstrdup(doc) : NULL;
    json_object_del(rec, "vec");
    json_object_del(rec, "embedding");
    o->rec = rec;
    o->vec = vec;
    ix->same_source++;
    return 0;
}

int indexer_delete(struct indexer *ix, const char *source, lode_error *err)
{
    if (ix->nops >= (size_t)ix->o.batch) {
        int rc = flush(ix, NULL, err);
        if (rc)
            return rc;
    }
    new_op(ix, OP_DELETE, source);
    free(ix->last_source);
    ix->last_source = NULL;
    return 0;
}

int index_unchanged(struct store *s, const char *source, const char *doc)
{
    lode_error err;
    if (!doc || !*doc || store_begin(s, 0, &err) < 0)
        return 0;
    MDB_val v;
    struct store_source ss;
    int same = !store_get(s, s->sources, source, strlen(source), &v) &&
        store_source_parse(&v, &ss) == 0 && ss.complete && !strcmp(ss.doc, doc);
    store_abort(s);
    return same;
}

int indexer_flush(struct indexer *ix, lode_error *err)
{
    return flush(ix, NULL, err);
}

int indexer_commit(struct indexer *ix, lode_error *err)
{
    /* the last source may have more chunks coming */
    return flush(ix, ix->nops && ix->last_source ? ix->last_source : NULL, err);
}

size_t indexer_pending(const struct indexer *ix)
{
    return ix->nops;
}

int indexer_close(struct indexer *ix, struct index_stats *stats, lode_error *err)
{
    if (!ix)
        return 0;
    int rc = 0;
    if (stats) {
        rc = flush(ix, NULL, err);
        *stats = ix->st;
        stats->vectors = ix->vectors;
        stats->chunks = ix->n;
    }
    for (size_t i = 0; i < ix->nops; i++)
        op_free(&ix->ops[i]);
    free(ix->ops);
    free(ix->last_source);
    free(ix->open_source);
    free(ix->model);
    if (ix->have_graph)
        hnsw_free(&ix->h);
    analyzer_free(ix->an);
    g_hash_table_destroy(ix->seen);
    g_hash_table_destroy(ix->inserted);
    free(ix);
    return rc;
}
