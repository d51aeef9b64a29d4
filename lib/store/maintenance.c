/* maintenance.c - the whole-store work of maintenance.h: the figures of
 * --stats, every cross-check of --check, --dump of the chunk records, and
 * --compact's rebuilt graph and rewritten file swapped in. */
#include "store/maintenance.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text/analyzer.h"
#include "store/hnsw.h"
#include "base/hash.h"
#include "base/record.h"
#include "base/threads.h"
#include "store/vectors.h"
#include "store/index.h"
#include "store/kg.h"
#include "store/pages.h"
#include "store/snapshot.h"

static size_t entries(struct store *s, MDB_dbi db)
{
    MDB_stat st;
    return mdb_stat(s->txn, db, &st) == 0 ? st.ms_entries : 0;
}

/* Iterates a database: k.mv_data is NULL before the first call. */
static int next_entry(MDB_cursor *c, MDB_val *k, MDB_val *v)
{
    return mdb_cursor_get(c, k, v, k->mv_data ? MDB_NEXT : MDB_FIRST);
}

static size_t count_terms(struct store *s)
{
    MDB_cursor *c;
    MDB_val k = {0, NULL}, v;
    size_t terms = 0;
    char *prev = NULL;
    if (mdb_cursor_open(s->txn, s->postings, &c))
        return 0;
    while (next_entry(c, &k, &v) == 0) {
        const char *t = k.mv_data;
        size_t tl = strnlen(t, k.mv_size);
        if (!prev || strlen(prev) != tl || memcmp(prev, t, tl)) {
            free(prev);
            prev = xstrndup(t, tl);
            terms++;
        }
    }
    free(prev);
    mdb_cursor_close(c);
    return terms;
}

/* Chunks whose text is that of another chunk (a file and its copy, a
 * paragraph repeated across documents): all but the first of each text. */
static uint64_t duplicate_chunks(struct store *s)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    uint64_t dups = 0;
    MDB_cursor *c;
    if (mdb_cursor_open(s->txn, s->chunks, &c))
        return 0;
    MDB_val k = {0}, v;
    while (next_entry(c, &k, &v) == 0) {
        lode_error err;
        json_t *rec = record_parse(v.mv_data, v.mv_size, &err);
        json_t *t = json_object_get(rec, "text");
        if (json_is_string(t)) {
            char h[HASH_HEX_LEN + 1];
            hash_bytes(json_string_value(t), json_string_length(t), h);
            if (g_hash_table_contains(seen, h))
                dups++;
            else
                g_hash_table_add(seen, g_strdup(h));
        }
        json_decref(rec);
    }
    mdb_cursor_close(c);
    g_hash_table_destroy(seen);
    return dups;
}

json_t *store_stats(struct store *s, lode_error *err)
{
    if (store_begin(s, 0, err) < 0)
        return NULL;
    json_t *o = json_object();
    char *model = store_meta_str(s, "model"), *path = store_meta_str(s, "model_path");
    char *quant = store_meta_str(s, "quantize");
    uint64_t dim = store_meta_u64(s, "dim", 0);
    MDB_envinfo info;
    MDB_stat est;
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &est);
    json_object_set_new(o, "store", json_string(s->dir));
    json_object_set_new(o, "format", json_integer((json_int_t)store_meta_u64(s, "format", 0)));
    json_object_set_new(o, "chunks", json_integer((json_int_t)store_meta_u64(s, "n", 0)));
    json_object_set_new(o, "sources", json_integer((json_int_t)entries(s, s->sources)));
    json_object_set_new(o, "vectors", json_integer((json_int_t)store_meta_u64(s, "vectors", 0)));
    json_object_set_new(o, "dim", json_integer((json_int_t)dim));
    json_object_set_new(o, "model", model ? json_string(model) : json_null());
    json_object_set_new(o, "model_path", path ? json_string(path) : json_null());
    json_object_set_new(o, "quantize", json_string(quant ? quant : dim ? "f32" : "none"));
    char *an = store_meta_str(s, "analyzer");
    json_object_set_new(o, "analyzer", json_string(an ? an : "english"));
    free(an);
    json_object_set_new(o, "terms", json_integer((json_int_t)count_terms(s)));
    json_object_set_new(o, "postings_blocks", json_integer((json_int_t)entries(s, s->postings)));
    json_object_set_new(o, "tokens", json_integer((json_int_t)store_meta_u64(s, "total_len", 0)));
    json_object_set_new(o, "deleted_vectors", json_integer((json_int_t)entries(s, s->deleted)));
    json_object_set_new(o, "duplicate_chunks", json_integer((json_int_t)duplicate_chunks(s)));
    double k1, b;
    store_meta_bm25(s, &k1, &b);
    json_object_set_new(o, "bm25", json_pack("{s:f,s:f}", "k1", k1, "b", b));
    if (dim)
        json_object_set_new(o, "hnsw",
                            json_pack("{s:I,s:I}", "M", (json_int_t)store_meta_u64(s, "hnsw_m", 16),
                                      "ef_construction",
                                      (json_int_t)store_meta_u64(s, "hnsw_efc", 200)));
    json_object_set_new(o, "bytes", json_integer((json_int_t)store_data_bytes(s->dir)));
    json_object_set_new(o, "bytes_used",
                        json_integer((json_int_t)((info.me_last_pgno + 1) * (size_t)est.ms_psize)));
    char *shard = store_meta_str(s, "shard");
    json_object_set_new(o, "shard", shard ? json_string(shard) : json_null());
    free(shard);
    json_object_set_new(o, "generation", json_integer((json_int_t)store_meta_u64(s, "gen", 0)));
    free(model);
    free(path);
    free(quant);
    store_abort(s);
    return o;
}

/* ---- the check ---- */

struct checker {
    FILE *out;
    long problems;
};

static void problem(struct checker *c, const char *fmt, ...) LODE_PRINTF(2, 3);

static void problem(struct checker *c, const char *fmt, ...)
{
    if (++c->problems <= 50) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(c->out, fmt, ap);
        va_end(ap);
        fputc('\n', c->out);
    }
}

static void count_len(void *ud, const char *t, size_t n)
{
    (void)t, (void)n;
    (*(uint64_t *)ud)++;
}

long store_dump(struct store *s, int fd, lode_error *err)
{
    int rc = store_begin(s, 0, err);
    if (rc < 0)
        return rc;
    MDB_cursor *c;
    MDB_val k = {0, NULL}, v;
    long n = 0;
    if ((rc = mdb_cursor_open(s->txn, s->chunks, &c))) {
        store_abort(s);
        return store_fail(s, err, rc, "reading the chunks");
    }
    struct output o;
    output_init(&o, fd);
    while (next_entry(c, &k, &v) == 0) {
        output_line(&o, v.mv_data, v.mv_size);
        output_line(&o, "\n", 1);
        if (++n % 256 == 0)
            output_flush(&o);
    }
    int bad = output_close(&o) < 0 ? o.error : 0;
    mdb_cursor_close(c);
    store_abort(s);
    if (bad)
        return lode_fail(err, lode_errno_code(bad), "cannot write the chunks: %s", strerror(bad));
    return n;
}

static void report_problem(void *ud, const char *msg);

long store_check(struct store *s, FILE *report, lode_error *err)
{
    int rc = store_begin(s, 0, err);
    if (rc < 0)
        return rc;
    struct checker ck = {report, 0};
    lode_error serr = {0};
    if (store_check_settings(s, &serr) < 0)
        problem(&ck, "meta: %s", serr.msg);
    uint64_t next = store_meta_u64(s, "next", 0), n = store_meta_u64(s, "n", 0);
    uint64_t total = store_meta_u64(s, "total_len", 0), nvec = store_meta_u64(s, "vectors", 0);
    if (next > UINT32_MAX) {
        problem(&ck, "meta: next chunk number %llu is out of range", (unsigned long long)next);
        next = 0;
    }
    MDB_cursor *c;
    MDB_val k, v;
    /* the tables run to the last chunk, not to the counter: a counter far
     * past it (deletions, or damage) costs nothing; numbers between are
     * chunks that are gone */
    uint64_t span;
    lode_error sperr;
    store_chunk_span(s, &span, &sperr); /* a malformed key: 0, reported with the chunks */
    if (span > next)
        span = next; /* the chunks beyond the counter are reported below */
    uint32_t *owner = xmalloc(sizeof *owner * (span + 1));
    uint8_t *owners = xcalloc(span + 1, 1), *live = xcalloc(span + 1, 1);
    uint32_t *len = xcalloc(span + 1, sizeof *len);
    uint64_t *tfsum = xcalloc(span + 1, sizeof *tfsum);
    GPtrArray *names = g_ptr_array_new_with_free_func(free);
    for (uint64_t i = 0; i < span; i++)
        owner[i] = UINT32_MAX;

    /* sources and their numbers */
    mdb_cursor_open(s->txn, s->sources, &c);
    for (k.mv_data = NULL; next_entry(c, &k, &v) == 0;) {
        struct store_source ss;
        char *name = xstrndup(k.mv_data, k.mv_size);
        if (store_source_parse(&v, &ss) < 0) {
            problem(&ck, "source %s: malformed entry", name);
            free(name);
            continue;
        }
        if (ss.n == 0)
            problem(&ck, "source %s: lists no chunks", name);
        for (uint32_t i = 0; i < ss.n; i++) {
            uint32_t num = store_source_num(&ss, i);
            if (num >= next) {
                problem(&ck, "source %s: chunk number %u beyond the counter", name, num);
                continue;
            }
            if (num >= span) {
                problem(&ck, "chunk %u: listed by source %s but missing", num, name);
                continue;
            }
            if (owners[num]++)
                problem(&ck, "chunk %u is listed more than once (source %s)", num, name);
            owner[num] = names->len;
        }
        g_ptr_array_add(names, name);
    }
    mdb_cursor_close(c);

    /* lengths */
    mdb_cursor_open(s->txn, s->lengths, &c);
    for (k.mv_data = NULL; next_entry(c, &k, &v) == 0;) {
        if (k.mv_size != 4 || v.mv_size != 4 * STORE_LENGTHS_BLOCK) {
            problem(&ck, "lengths: a block has the wrong size");
            continue;
        }
        uint64_t first = (uint64_t)get_be32(k.mv_data) * STORE_LENGTHS_BLOCK;
        for (uint32_t i = 0; i < STORE_LENGTHS_BLOCK; i++) {
            uint32_t l = get_le32((const unsigned char *)v.mv_data + 4 * i);
            if (first + i < span)
                len[first + i] = l;
            else if (l && first + i < next)
                problem(&ck, "chunk %llu: gone but has a length", (unsigned long long)(first + i));
            else if (l)
                problem(&ck, "lengths: chunk %llu beyond the counter has a length",
                        (unsigned long long)(first + i));
        }
    }
    mdb_cursor_close(c);

    /* chunks, read by the store's analyzer */
    char *spec = store_meta_str(s, "analyzer");
    lode_error aerr = {0};
    struct analyzer *an = analyzer_open(spec, &aerr);
    if (!an) {
        problem(&ck, "the analyzer setting: %s", aerr.msg);
        an = analyzer_new();
    }
    free(spec);
    uint64_t chunks = 0, sumlen = 0;
    mdb_cursor_open(s->txn, s->chunks, &c);
    for (k.mv_data = NULL; next_entry(c, &k, &v) == 0;) {
        if (k.mv_size != 4) {
            problem(&ck, "chunks: a key of %zu bytes", k.mv_size);
            continue;
        }
        uint32_t num = get_be32(k.mv_data);
        chunks++;
        if (num >= span) { /* span is at most the counter and past every chunk below it */
            problem(&ck, "chunk %u: beyond the counter", num);
            continue;
        }
        live[num] = 1;
        sumlen += len[num];
        lode_error e;
        json_t *rec = record_parse(v.mv_data, v.mv_size, &e);
        if (!rec) {
            problem(&ck, "chunk %u: %s", num, e.msg);
            continue;
        }
        const char *id = record_str(rec, "id"), *src = record_str(rec, "source");
        json_t *text = json_object_get(rec, "text");
        MDB_val iv;
        if (!id)
            problem(&ck, "chunk %u: no id", num);
        else if (store_get(s, s->ids, id, strlen(id), &iv) || iv.mv_size != 4 ||
                 get_be32(iv.mv_data) != num)
            problem(&ck, "chunk %u: id %s does not lead back to it", num, id);
        if (!src)
            src = id;
        if (owner[num] == UINT32_MAX)
            problem(&ck, "chunk %u: no source lists it", num);
        else if (src && strcmp(src, g_ptr_array_index(names, owner[num])))
            problem(&ck, "chunk %u: of source %s but listed under %s", num, src,
                    (const char *)g_ptr_array_index(names, owner[num]));
        if (json_is_string(text)) {
            uint64_t terms = 0;
            struct buf scratch = {0};
            size_t tlen;
            const char *t = record_chunk_text(rec, &scratch, &tlen); /* as indexed */
            analyzer_terms(an, t, tlen, count_len, &terms);
            buf_free(&scratch);
            if (terms != len[num])
                problem(&ck, "chunk %u: %llu terms but a stored length of %u", num,
                        (unsigned long long)terms, len[num]);
        } else {
            problem(&ck, "chunk %u: no text", num);
        }
        json_decref(rec);
    }
    mdb_cursor_close(c);
    analyzer_free(an);
    for (uint64_t i = 0; i < span; i++) {
        if (owners[i] && !live[i])
            problem(&ck, "chunk %llu: listed by source %s but missing", (unsigned long long)i,
                    (const char *)g_ptr_array_index(names, owner[i]));
        if (!live[i] && len[i])
            problem(&ck, "chunk %llu: gone but has a length", (unsigned long long)i);
    }
    if (chunks != n)
        problem(&ck, "meta: %llu chunks counted, %llu stored", (unsigned long long)n,
                (unsigned long long)chunks);
    if (sumlen != total)
        problem(&ck, "meta: total length %llu, the lengths sum to %llu", (unsigned long long)total,
                (unsigned long long)sumlen);
    if (entries(s, s->ids) != chunks)
        problem(&ck, "ids: %zu entries for %llu chunks", entries(s, s->ids),
                (unsigned long long)chunks);

    /* postings */
    mdb_cursor_open(s->txn, s->postings, &c);
    char *prev_term = NULL;
    uint64_t prev_num = 0;
    for (k.mv_data = NULL; next_entry(c, &k, &v) == 0;) {
        size_t tl = strnlen(k.mv_data, k.mv_size);
        if (k.mv_size != tl + 5) {
            problem(&ck, "postings: a malformed key");
            continue;
        }
        uint32_t base = get_be32((const unsigned char *)k.mv_data + tl + 1), *pairs;
        char *term = xstrndup(k.mv_data, tl);
        int same = prev_term && !strcmp(prev_term, term);
        size_t m = store_decode_postings(&v, base, &pairs);
        if (!m)
            problem(&ck, "postings of \"%s\": a damaged block at %u", term, base);
        else if (pairs[0] < base)
            problem(&ck, "postings of \"%s\": block %u starts at %u", term, base, pairs[0]);
        else if (same && base <= prev_num)
            problem(&ck, "postings of \"%s\": blocks overlap at %u", term, base);
        for (size_t i = 0; i < m; i++) {
            uint32_t num = pairs[2 * i];
            if (num >= span || !live[num])
                problem(&ck, "postings of \"%s\": chunk %u is not in the store", term, num);
            else
                tfsum[num] += pairs[2 * i + 1];
        }
        if (m)
            prev_num = pairs[2 * (m - 1)];
        free(pairs);
        free(prev_term);
        prev_term = term;
    }
    free(prev_term);
    mdb_cursor_close(c);
    for (uint64_t i = 0; i < span; i++)
        if (live[i] && tfsum[i] != len[i])
            problem(&ck, "chunk %llu: its postings hold %llu terms, its length says %u",
                    (unsigned long long)i, (unsigned long long)tfsum[i], len[i]);

    /* the knowledge graph against its chunks */
    kg_check(s, report_problem, &ck);

    /* vectors and graph */
    uint64_t dim = store_meta_u64(s, "dim", 0);
    if (dim) {
        char *q = store_meta_str(s, "quantize");
        struct hnsw h;
        hnsw_init(&h, (int)dim, (int)store_meta_u64(s, "hnsw_m", 16),
                  (int)store_meta_u64(s, "hnsw_efc", 200), q && !strcmp(q, "int8"), 42);
        free(q);
        lode_error e;
        long dropped = vectors_load(s, &h, &e);
        if (dropped < 0) {
            problem(&ck, "vectors: %s", e.msg);
        } else {
            if (dropped)
                problem(&ck, "graph: %ld links lead to nodes that are not there", dropped);
            uint64_t lv = 0;
            for (uint32_t i = 0; i < h.cap; i++) {
                if (h.level[i] < 0)
                    continue;
                int has_chunk = i < span && live[i];
                if (!h.deleted[i]) {
                    lv++;
                    if (!has_chunk)
                        problem(&ck, "vector %u: live but its chunk is gone", i);
                    if (!h.int8) {
                        float nn = 0;
                        for (int d = 0; d < h.dim; d++)
                            nn += h.vf[(size_t)i * h.dim + d] * h.vf[(size_t)i * h.dim + d];
                        if (fabsf(nn - 1) > 1e-3f)
                            problem(&ck, "vector %u: not of unit length (%g)", i, sqrt(nn));
                    }
                } else if (has_chunk) {
                    problem(&ck, "vector %u: marked deleted but its chunk is there", i);
                }
            }
            if (lv != nvec)
                problem(&ck, "meta: %llu vectors counted, %llu live in the graph",
                        (unsigned long long)nvec, (unsigned long long)lv);
            uint64_t entry = store_meta_u64(s, "hnsw_entry", UINT64_MAX);
            if (h.count && (entry >= h.cap || h.level[entry] < 0))
                problem(&ck, "graph: the entry point is not a node");
        }
        hnsw_free(&h);
    } else if (nvec || entries(s, s->vectors) || entries(s, s->graph)) {
        problem(&ck, "vectors: stored without a dimension");
    }
    if (ck.problems > 50)
        fprintf(report, "... and %ld more problems\n", ck.problems - 50);
    store_abort(s);
    free(owner);
    free(owners);
    free(live);
    free(len);
    free(tfsum);
    g_ptr_array_free(names, TRUE);
    return ck.problems;
}

/* ---- compaction ---- */

struct rebuild {
    struct hnsw *h;
    const uint32_t *nodes;
};

static void insert_node(void *ud, size_t i, int worker)
{
    struct rebuild *r = ud;
    (void)worker;
    hnsw_insert(r->h, r->nodes[i]);
}

/* A new graph of the live vectors, written over the old one. */
static int rebuild_graph(struct store *s, int threads, struct compact_stats *st, lode_error *err)
{
    int rc = store_begin(s, 0, err);
    if (rc < 0)
        return rc;
    uint64_t dim = store_meta_u64(s, "dim", 0);
    if (!dim) {
        store_abort(s);
        return 0;
    }
    char *q = store_meta_str(s, "quantize");
    int int8 = q && !strcmp(q, "int8");
    free(q);
    int M = (int)store_meta_u64(s, "hnsw_m", 16), efc = (int)store_meta_u64(s, "hnsw_efc", 200);
    struct hnsw old, fresh;
    hnsw_init(&old, (int)dim, M, efc, int8, 42);
    long dropped = vectors_load(s, &old, err);
    if (dropped < 0) {
        store_abort(s);
        hnsw_free(&old);
        return (int)dropped;
    }
    store_abort(s);
    hnsw_init(&fresh, (int)dim, M, efc, int8, 42);
    uint32_t *nodes = xmalloc(sizeof *nodes * (old.cap + 1));
    size_t n = 0;
    for (uint32_t i = 0; i < old.cap; i++) {
        if (old.level[i] < 0)
            continue;
        if (old.deleted[i]) {
            st->nodes_dropped++;
            continue;
        }
        hnsw_copy_vector(&fresh, &old, i);
        nodes[n++] = i;
    }
    hnsw_free(&old);
    struct rebuild r = {&fresh, nodes};
    parallel_for(threads, n, insert_node, &r);
    st->vectors = n;
    for (;;) { /* until it fits: a full map is grown and the work redone */
        if ((rc = store_begin(s, 1, err)) < 0)
            break;
        rc = store_code(mdb_drop(s->txn, s->graph, 0));
        if (!rc)
            rc = store_code(mdb_drop(s->txn, s->deleted, 0));
        if (!rc)
            rc = store_code(mdb_drop(s->txn, s->vectors, 0));
        if (!rc)
            rc = vectors_save(s, &fresh, nodes, n);
        if (!rc)
            rc = store_set_meta_u64(s, "vectors", n);
        if (!rc)
            rc = store_set_meta_u64(s, "gen", store_meta_u64(s, "gen", 0) + 1);
        if (rc) {
            store_abort(s);
            if (rc != LODE_EMAPFULL)
                lode_fail(err, rc, "%s: cannot write the graph: %s", s->dir, lode_strerror(rc));
        } else {
            rc = store_commit(s, err);
        }
        if (rc != LODE_EMAPFULL || (rc = store_grow(s, err)) < 0)
            break;
    }
    free(nodes);
    hnsw_free(&fresh);
    return rc;
}

int store_compact(const char *dir, int threads, int nowait, struct compact_stats *st,
                  lode_error *err)
{
    memset(st, 0, sizeof *st);
    char *real = realpath(dir, NULL);
    if (!real)
        return lode_fail(err, lode_errno_code(errno), "%s: %s (no such store)", dir,
                         strerror(errno));
    struct store s;
    int rc = store_open(real, STORE_READ, 0, &s, err); /* exists and is a store */
    if (rc == 0) {
        store_close(&s);
        rc = store_open(real, STORE_WRITE, nowait, &s, err);
    }
    if (rc < 0) {
        free(real);
        return rc;
    }
    st->bytes_before = store_data_bytes(real);
    rc = rebuild_graph(&s, threads, st, err);
    char *tmp = xasprintf("%s.compact-%ld", real, (long)getpid());
    if (rc == 0 && mkdir(tmp, 0755) < 0)
        rc = lode_fail(err, lode_errno_code(errno), "cannot create %s: %s", tmp, strerror(errno));
    else if (rc == 0) {
        int e = mdb_env_copy2(s.env, tmp, MDB_CP_COMPACT);
        if (e)
            rc = lode_fail(err, store_code(e), "%s: cannot write the compacted copy: %s", tmp,
                           mdb_strerror(e));
        if (rc == 0 && (rc = snapshot_exchange(real, tmp, err)) == 0)
            st->bytes_after = store_data_bytes(real);
        snapshot_remove_dir(tmp); /* the failed copy, or the old files under tmp's name */
    }
    store_close(&s);
    free(tmp);
    free(real);
    return rc;
}

/* ---- what pages.c reads without LMDB: --check's first pass, --salvage ---- */

static void report_problem(void *ud, const char *msg)
{
    problem(ud, "%s", msg);
}

long store_check_dir(const char *dir, FILE *report, lode_error *err)
{
    int rc = store_check_file(dir, 0, err);
    if (rc < 0)
        return rc;
    struct pages *pg = pages_open(dir, err);
    if (!pg)
        return err->code;
    struct checker ck = {report, 0};
    pages_check(pg, report_problem, &ck);
    pages_close(pg);
    if (ck.problems) /* LMDB would trip over the same pages */
        return ck.problems;
    struct store s;
    if (store_open(dir, STORE_READ, 0, &s, err) < 0)
        return err->code;
    long n = store_check(&s, report, err);
    store_close(&s);
    return n;
}

struct salvage {
    struct checker ck;
    GHashTable *meta;    /* key -> GBytes */
    GHashTable *vectors; /* block number -> GBytes */
    struct indexer *ix;
    int dim, int8;
    struct salvage_stats *st;
    lode_error *err;
    int fatal;
};

static void salvage_problem(void *ud, const char *msg)
{
    problem(&((struct salvage *)ud)->ck, "%s", msg);
}

static void keep_entry(GHashTable *t, gpointer key, const void *val, size_t vn)
{
    g_hash_table_replace(t, key, g_bytes_new(val, vn));
}

static void meta_entry(void *ud, const void *key, size_t kn, const void *val, size_t vn)
{
    keep_entry(((struct salvage *)ud)->meta, g_strndup(key, kn), val, vn);
}

static void vector_entry(void *ud, const void *key, size_t kn, const void *val, size_t vn)
{
    if (kn == 4)
        keep_entry(((struct salvage *)ud)->vectors, GUINT_TO_POINTER(get_be32(key) + 1), val, vn);
}

static char *meta_text(struct salvage *sv, const char *key)
{
    GBytes *b = g_hash_table_lookup(sv->meta, key);
    gsize n;
    const char *d = b ? g_bytes_get_data(b, &n) : NULL;
    return d && n < 256 && !memchr(d, 0, n) ? xstrndup(d, n) : NULL;
}

static uint64_t meta_num(struct salvage *sv, const char *key, uint64_t def)
{
    GBytes *b = g_hash_table_lookup(sv->meta, key);
    gsize n;
    const unsigned char *d = b ? g_bytes_get_data(b, &n) : NULL;
    return d && n == 8 ? (uint64_t)get_le32(d) | (uint64_t)get_le32(d + 4) << 32 : def;
}

/* The vector of chunk num from its block, when the block was readable. */
static int salvage_vector(struct salvage *sv, uint32_t num, float *v)
{
    GBytes *b = g_hash_table_lookup(sv->vectors, GUINT_TO_POINTER(num / STORE_VECTORS_BLOCK + 1));
    gsize n;
    const unsigned char *d = b ? g_bytes_get_data(b, &n) : NULL;
    size_t dim = (size_t)sv->dim, slot = num % STORE_VECTORS_BLOCK;
    size_t want = sv->int8 ? STORE_VECTORS_BLOCK * (4 + dim) : STORE_VECTORS_BLOCK * dim * 4;
    if (!d || n != want)
        return 0;
    if (sv->int8) {
        float scale;
        uint32_t u = get_le32(d + 4 * slot);
        memcpy(&scale, &u, 4);
        const signed char *q = (const signed char *)d + 4 * STORE_VECTORS_BLOCK + slot * dim;
        for (size_t i = 0; i < dim; i++)
            v[i] = scale * (float)q[i];
    } else {
        memcpy(v, d + slot * dim * 4, dim * 4);
    }
    for (size_t i = 0; i < dim; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

static void chunk_entry(void *ud, const void *key, size_t kn, const void *val, size_t vn)
{
    struct salvage *sv = ud;
    if (sv->fatal)
        return;
    lode_error e;
    json_t *rec = kn == 4 ? record_parse(val, vn, &e) : NULL;
    if (!rec) {
        sv->st->unreadable++;
        return;
    }
    json_object_del(rec, "score");
    if (sv->dim) {
        float *v = xmalloc(sizeof *v * (size_t)sv->dim);
        if (salvage_vector(sv, get_be32(key), v)) {
            record_set_vector(rec, v, sv->dim, 0);
            sv->st->vectors++;
        }
        free(v);
    }
    int rc = indexer_add(sv->ix, rec, sv->err);
    if (rc == LODE_EINVAL)
        sv->st->unreadable++;
    else if (rc < 0)
        sv->fatal = rc;
    else
        sv->st->chunks++;
}

struct scanned {
    uint32_t num;
    GBytes *val;
};

/* pages_scan's entries that look like chunks: a 4-byte number and a JSON
 * object (the record's parse decides later) */
static void scan_entry(void *ud, const void *key, size_t kn, const void *val, size_t vn)
{
    if (kn != 4 || vn < 2 || ((const char *)val)[0] != '{')
        return;
    struct scanned e = {get_be32(key), g_bytes_new(val, vn)};
    g_array_append_val((GArray *)ud, e);
}

static gint by_num(gconstpointer a, gconstpointer b)
{
    uint32_t x = ((const struct scanned *)a)->num, y = ((const struct scanned *)b)->num;
    return (x > y) - (x < y);
}

static void count_problem(void *ud, const char *msg)
{
    (void)msg;
    (*(long *)ud)++;
}

/* How many distinct record ids the scanned values hold (frees nothing). */
static size_t distinct_ids(GArray *found)
{
    GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    for (guint i = 0; i < found->len; i++) {
        struct scanned *e = &g_array_index(found, struct scanned, i);
        gsize vn;
        const char *val = g_bytes_get_data(e->val, &vn);
        lode_error err;
        json_t *rec = record_parse(val, vn, &err);
        const char *id = rec ? record_str(rec, "id") : NULL;
        if (id)
            g_hash_table_add(ids, xstrdup(id));
        json_decref(rec);
        g_bytes_unref(e->val);
    }
    size_t n = g_hash_table_size(ids);
    g_hash_table_destroy(ids);
    return n;
}

int store_salvage(const char *dir, const char *out, int threads, FILE *report,
                  struct salvage_stats *st, lode_error *err)
{
    memset(st, 0, sizeof *st);
    char *odata = xasprintf("%s/data.mdb", out);
    int exists = access(odata, F_OK) == 0;
    free(odata);
    if (exists)
        return lode_fail(err, LODE_EINVAL, "%s already holds a store: salvage into a new folder",
                         out);
    struct pages *pg = pages_open(dir, err);
    if (!pg)
        return err->code;
    struct salvage sv = {
        {report, 0},
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref),
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_bytes_unref),
        NULL,
        0,
        0,
        st,
        err,
        0};
    /* the newest tree when it is whole; else whichever of it, the previous
     * commit's tree and a scan of every leaf page reads the most chunks */
    long probs = 0, newest = pages_walk(pg, "chunks", NULL, count_problem, &probs), older = -1;
    int scan = 0;
    if (newest < 0 || probs) {
        GArray *found = g_array_new(FALSE, FALSE, sizeof(struct scanned));
        pages_scan(pg, scan_entry, NULL, found);
        long scanned = (long)distinct_ids(found);
        g_array_free(found, TRUE);
        if (pages_older(pg) == 0)
            older = pages_walk(pg, "chunks", NULL, NULL, NULL);
        if (scanned > newest && scanned > older)
            scan = 1;
        else if (older <= newest)
            pages_older(pg); /* back to the newest */
    }
    if (scan)
        problem(&sv.ck,
                "no database tree can be followed: every leaf page scanned for chunks "
                "(the store's settings and vectors are lost; chunks deleted earlier may "
                "come back)");
    else
        pages_walk(pg, "meta", meta_entry, salvage_problem, &sv);
    struct index_opts io = {
        .k1 = BM25_K1, .b = BM25_B, .batch = 1000, .M = 16, .efc = 200, .threads = threads};
    char *an = meta_text(&sv, "analyzer"), *k1 = meta_text(&sv, "bm25_k1"),
         *b = meta_text(&sv, "bm25_b"), *q = meta_text(&sv, "quantize"),
         *mp = meta_text(&sv, "model_path"), *shard = meta_text(&sv, "shard");
    io.analyzer = an;
    char *pair = k1 && b ? xasprintf("%s,%s", k1, b) : NULL;
    io.set_bm25 = pair && bm25_parse(pair, &io.k1, &io.b) == 0;
    free(pair);
    uint64_t M = meta_num(&sv, "hnsw_m", 16), efc = meta_num(&sv, "hnsw_efc", 200),
             dim = meta_num(&sv, "dim", 0);
    io.M = M >= 2 && M <= 256 ? (int)M : 16;
    io.efc = efc >= 1 && efc <= INT32_MAX ? (int)efc : 200;
    io.int8 = q && !strcmp(q, "int8");
    io.model_path = mp;
    if (shard && sscanf(shard, "%d/%d", &io.shard_k, &io.shard_n) != 2)
        io.shard_k = io.shard_n = 0;
    sv.dim = dim <= STORE_MAX_DIM ? (int)dim : 0;
    sv.int8 = io.int8;
    st->expected = meta_num(&sv, "n", 0);
    int rc = 0;
    if (sv.dim)
        pages_walk(pg, "vectors", vector_entry, salvage_problem, &sv);
    struct store s;
    if (store_open(out, STORE_WRITE, 0, &s, err) < 0) {
        rc = err->code;
        goto done;
    }
    sv.ix = indexer_open(&s, &io, err);
    if (!sv.ix) {
        rc = err->code;
        store_close(&s);
        goto done;
    }
    if (scan) {
        /* by chunk number: of two versions of an id the later one wins */
        GArray *found = g_array_new(FALSE, FALSE, sizeof(struct scanned));
        pages_scan(pg, scan_entry, NULL, found);
        g_array_sort(found, by_num);

        for (guint i = 0; i < found->len; i++) {
            struct scanned *e = &g_array_index(found, struct scanned, i);
            unsigned char key[4];
            put_be32(key, e->num);
            gsize vn;
            const void *val = g_bytes_get_data(e->val, &vn);
            chunk_entry(&sv, key, 4, val, vn);
            g_bytes_unref(e->val);
        }
        g_array_free(found, TRUE);
    } else {
        pages_walk(pg, "chunks", chunk_entry, salvage_problem, &sv);
    }
    struct index_stats is;
    if (indexer_close(sv.ix, &is, sv.fatal ? NULL : err) < 0 && !sv.fatal)
        sv.fatal = err->code;
    store_close(&s);
    rc = sv.fatal;
done:
    st->problems = (unsigned long long)sv.ck.problems;
    free(an), free(k1), free(b), free(q), free(mp), free(shard);
    g_hash_table_destroy(sv.meta);
    g_hash_table_destroy(sv.vectors);
    pages_close(pg);
    return rc;
}
