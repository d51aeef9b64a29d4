/* Unit tests of the store's pieces: the analyzer (Lucene EnglishAnalyzer's
 * rules), the postings and source codecs, filters, fusion, the HNSW graph
 * against exact search, the error band, and a commit that fills the map
 * (LMDB's own MDB_MAP_FULL from mdb_txn_commit), in the store and under the
 * indexer. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/analyzer.h"
#include "text/bm25.h"
#include "base/buf.h"
#include "check.h"
#include "store/hnsw.h"
#include "store/index.h"
#include "store/maintenance.h"
#include "store/search.h"
#include "store/shards.h"
#include "store/store.h"

static void add_term(void *ud, const char *t, size_t n)
{
    struct buf *b = ud;
    if (b->len)
        buf_add(b, " ", 1);
    buf_add(b, t, n);
}

static char *terms(struct analyzer *a, const char *text)
{
    struct buf b = {0};
    analyzer_terms(a, text, strlen(text), add_term, &b);
    buf_add(&b, "", 1);
    return b.data;
}

static void analyzer_tests(void)
{
    struct analyzer *a = analyzer_new();
    struct {
        const char *in, *want, *what;
    } cases[] = {
        {"The Runner's shoes", "runner shoe",
         "stop words out, possessive 's dropped, lowercased, stemmed"},
        {"don't FIT", "don't fit", "an apostrophe between letters stays inside"},
        {"3.14 and 1,000 items.", "3.14 1,000 item",
         "a period or comma between digits stays inside"},
        {"end. Start, again", "end start again", "a period or comma at a word's end splits"},
        {"connection connected connecting", "connect connect connect", "Porter stems"},
        {"Straße CAFÉS naïve", "straße café naïv", "letters of any script, lowercased"},
        {"東京 Москва", "東京 москва", "other scripts are words too"},
        {"a an and are as at be but by for if in into is it no not of on or such that the their "
         "then there these they this to was will with",
         "", "Lucene's 33 English stop words"},
        {"e-mail x_y", "e mail x y", "hyphens and underscores split"},
        {"", "", "no text, no terms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = terms(a, cases[i].in);
        CHECK_STR(got, cases[i].want, cases[i].what);
        free(got);
    }
    /* queries: the words that make a question go, unless nothing else is left */
    struct {
        const char *in, *want, *what;
    } queries[] = {
        {"What does aptitude do?", "aptitud", "a question's words go from a query"},
        {"which formats can lode read?", "format lode read", "the README's question"},
        {"How should I rotate my logs?", "rotat log", "auxiliaries and pronouns"},
        {"Where is DOE's office?", "doe offic", "\"does\" goes, \"DOE\" stays"},
        {"what do you do", "what do you do", "a query of nothing else keeps them"},
    };
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        struct buf b = {0};
        analyzer_query_terms(a, queries[i].in, strlen(queries[i].in), add_term, &b);
        buf_add(&b, "", 1);
        CHECK_STR(b.data, queries[i].want, queries[i].what);
        free(b.data);
    }
    char *doc = terms(a, "What does aptitude do?");
    CHECK_STR(doc, "what doe aptitud do", "documents keep them");
    free(doc);
    analyzer_free(a);

    /* the other analyzers: libstemmer's stems and Snowball's stop lists,
     * CJK bigrams as Lucene's CJKAnalyzer makes them */
    struct {
        const char *spec, *in, *want, *what;
    } langs[] = {
        {"snowball:russian", "Москва — столица России, и в ней живут миллионы людей",
         "москв столиц росс живут миллион люд", "snowball:russian stems, и/в/ней are stop words"},
        {"snowball:german", "Die Häuser der Stadt wurden gebaut", "haus stadt wurd gebaut",
         "snowball:german: Häuser -> haus, die/der are stop words"},
        {"snowball:french", "Les maisons de la ville sont construites", "maison vill construit",
         "snowball:french"},
        {"snowball:spanish", "las casas", "las cas", "snowball:spanish stems (no stop list here)"},
        {"standard", "The Runners' shoes", "the runners shoes",
         "standard: no stems, no stop words"},
        {"porter", "The runners", "the runner", "porter: stems, no stop words"},
        {"cjk", "東京都は日本の首都です Tokyo",
         "東京 京都 都は は日 日本 本の の首 首都 都で です tokyo",
         "cjk: overlapping bigrams, other words apart"},
        {"cjk", "서울특별시 北", "서울 울특 특별 별시 北",
         "cjk: Hangul bigrams; a lone character as itself"},
    };
    for (size_t i = 0; i < sizeof langs / sizeof *langs; i++) {
        lode_error err = {0};
        struct analyzer *l = analyzer_open(langs[i].spec, &err);
        CHECK(l != NULL, langs[i].what);
        if (!l)
            continue;
        char *got = terms(l, langs[i].in);
        CHECK_STR(got, langs[i].want, langs[i].what);
        free(got);
        analyzer_free(l);
    }
    lode_error err = {0};
    CHECK(!analyzer_open("snowball:klingon", &err) && strstr(err.msg, "russian"),
          "an unknown language is refused, the known ones listed");
    CHECK(!analyzer_open("lucene", &err) && strstr(err.msg, "snowball:LANG"),
          "an unknown analyzer is refused, the known ones listed");
}

static void codec_tests(void)
{
    uint32_t pairs[2 * 130], *back;
    for (int i = 0; i < 130; i++) {
        pairs[2 * i] = 1000 + (uint32_t)i * 7 + (i > 100 ? 1u << 30 : 0);
        pairs[2 * i + 1] = (uint32_t)i % 5 + 1;
    }
    unsigned char enc[10 + 20 * 130];
    size_t len = store_encode_postings(enc, 1000, pairs, 130);
    MDB_val v = {len, enc};
    size_t n = store_decode_postings(&v, 1000, &back);
    CHECK(n == 130 && !memcmp(back, pairs, sizeof pairs),
          "postings: encode then decode gives them back");
    CHECK(len < 130 * 3, "postings: small deltas take few bytes (%zu for 130)", len);
    free(back);
    v.mv_size = len - 1;
    CHECK(store_decode_postings(&v, 1000, &back) == 0 && !back,
          "postings: a truncated block is refused");
    uint32_t dup[4] = {5, 1, 5, 1};
    len = store_encode_postings(enc, 5, dup, 2);
    v.mv_size = len;
    CHECK(store_decode_postings(&v, 5, &back) == 0,
          "postings: numbers that do not increase are refused");
    unsigned char big[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    MDB_val bv = {sizeof big, big};
    CHECK(store_decode_postings(&bv, 0, &back) == 0, "postings: an absurd count is refused");

    unsigned char key[64];
    size_t kl = store_postings_key(key, "flow", 4, 0x01020304);
    CHECK(kl == 9 && key[4] == 0 && key[5] == 1 && key[8] == 4,
          "postings key: term, NUL, big-endian number");

    unsigned char src[21 + 8] = {1,   'a', 'b', 'c', 'd', 'e', 'f', '0', '1',
                                 '2', '3', '4', '5', '6', '7', '8', '9'};
    put_le32(src + 17, 2);
    put_le32(src + 21, 7);
    put_le32(src + 25, 9);
    MDB_val sv = {sizeof src, src};
    struct store_source ss;
    CHECK(store_source_parse(&sv, &ss) == 0 && ss.complete && !strcmp(ss.doc, "abcdef0123456789") &&
              ss.n == 2 && store_source_num(&ss, 1) == 9,
          "source entries: parsed");
    sv.mv_size--;
    CHECK(store_source_parse(&sv, &ss) < 0, "source entries: a count that lies is refused");
}

static void filter_tests(void)
{
    json_t *rec = json_loads("{\"source\":\"docs/a/b.pdf\",\"type\":\"pdf\",\"page\":4,\"chunk\":2,"
                             "\"meta\":{\"lang\":\"en\",\"year\":2021,\"draft\":false}}",
                             0, NULL);
    struct {
        const char *f;
        int want;
    } cases[] = {
        {"source=docs/*.pdf", 1},
        {"source=docs/a/*", 1},
        {"source=*.docx", 0},
        {"type=pdf", 1},
        {"page=4", 1},
        {"page=3-5", 1},
        {"page=5-", 0},
        {"page=-4", 1},
        {"page=1-3", 0},
        {"meta.lang=en", 1},
        {"meta.lang=de", 0},
        {"meta.year=2021", 1},
        {"meta.year=2020-2022", 1},
        {"meta.draft=false", 1},
        {"meta.missing=x", 0},
        {"author=*", 0},
    };
    lode_error err;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct filter *f = filter_new();
        int rc = filter_add(f, cases[i].f, &err);
        CHECK(rc == 0 && filter_match(f, rec) == cases[i].want, "filter %s %s", cases[i].f,
              cases[i].want ? "matches" : "does not match");
        filter_free(f);
    }
    struct filter *f = filter_new();
    CHECK(filter_add(f, "nokey", &err) < 0 && filter_add(f, "=x", &err) < 0,
          "filters without KEY= are refused");
    json_t *obj =
        json_loads("{\"type\":\"pdf\",\"meta\":{\"lang\":\"en\"},\"page\":\"2-6\"}", 0, NULL);
    CHECK(filter_add_json(f, obj, &err) == 0 && filter_match(f, rec), "a query's filter object");
    json_decref(obj);
    obj = json_loads("{\"page\":[1,2]}", 0, NULL);
    CHECK(filter_add_json(f, obj, &err) < 0, "a filter value that is an array is refused");
    json_decref(obj);
    filter_free(f);
    json_decref(rec);
}

static void fuse_tests(void)
{
    /* chunk numbers 1..4 of one store; records carry the ids ties are ordered by */
    struct ranked a[3], b[3];
    double as[] = {9, 8, 7}, bs[] = {0.9, 0.8, 0.7};
    uint32_t an[] = {1, 2, 3}, bn[] = {3, 4, 1};
    for (int i = 0; i < 3; i++) {
        a[i] = (struct ranked){as[i], 0, an[i],
                               json_pack("{s:s+}", "id", "c",
                                         an[i] == 1       ? "1"
                                             : an[i] == 2 ? "2"
                                                          : "3")};
        b[i] = (struct ranked){bs[i], 0, bn[i],
                               json_pack("{s:s+}", "id", "c",
                                         bn[i] == 1       ? "1"
                                             : bn[i] == 3 ? "3"
                                                          : "4")};
    }
    struct rlist la = {a, 3}, lb = {b, 3}, none = {NULL, 0};
    struct rlist out = rlist_fuse(NULL, &la, &lb, 10);
    /* 1: 1/61 + 1/63; 3: 1/63 + 1/61; tie broken by id; then 2 and 4 at 1/62 */
    CHECK(out.n == 4 && out.v[0].num == 1 && out.v[1].num == 3 && out.v[2].num == 2 &&
              out.v[3].num == 4,
          "RRF: documents in both lists first, then by rank, ties by id");
    CHECK(out.v[0].score > 0.0322 && out.v[0].score < 0.0323, "RRF: 1/61 + 1/63 (%.6f)",
          out.v[0].score);
    rlist_free(&out);
    out = rlist_fuse(NULL, &la, &none, 2);
    CHECK(out.n == 2 && out.v[0].num == 1 && out.v[1].num == 2,
          "RRF: one list keeps its order, k cut");
    rlist_free(&out);
    for (int i = 0; i < 3; i++)
        json_decref(a[i].rec), json_decref(b[i].rec);
}

static void hnsw_tests(void)
{
    enum { N = 3000, D = 24 };
    struct hnsw h;
    hnsw_init(&h, D, 8, 64, 0, 7);
    uint64_t s = 1;
    float v[D];
    for (uint32_t i = 0; i < N; i++) {
        for (int d = 0; d < D; d++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            v[d] = (float)((s >> 40) & 0xffff) / 65536.0f - 0.5f;
        }
        hnsw_set_vector(&h, i, v);
        hnsw_insert(&h, i);
    }
    CHECK(h.count == N && h.live == N, "hnsw: %d nodes in", N);
    struct hnsw_hit got[10], want[10];
    size_t found = 0, total = 0;
    for (uint32_t q = 0; q < 100; q++) {
        const float *qv = h.vf + (size_t)q * 7 * D;
        size_t n = hnsw_search(&h, qv, 10, 64, NULL, NULL, got);
        size_t m = hnsw_exact(&h, qv, 10, NULL, NULL, want);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++)
                found += got[i].node == want[j].node;
        total += m;
    }
    CHECK((double)found / (double)total >= 0.95, "hnsw: recall@10 at ef 64 against exact (%.3f)",
          (double)found / (double)total);
    hnsw_delete(&h, 0);
    size_t n = hnsw_search(&h, h.vf, 10, 64, NULL, NULL, got);
    int has0 = 0;
    for (size_t i = 0; i < n; i++)
        has0 |= got[i].node == 0;
    CHECK(n == 10 && !has0 && h.live == N - 1,
          "hnsw: a deleted node is walked through, never returned");
    CHECK(hnsw_check(&h) == 0, "hnsw: every link leads to a node");
    hnsw_free(&h);
}

static void bm25_tests(void)
{
    double k1 = 0, b = 0;
    CHECK(bm25_parse("1.2,0.75", &k1, &b) == 0 && k1 == 1.2 && b == 0.75, "bm25_parse: K1,B");
    CHECK(bm25_parse("1,2", &k1, &b) == LODE_EINVAL &&
              bm25_parse("-1,0.5", &k1, &b) == LODE_EINVAL &&
              bm25_parse("1", &k1, &b) == LODE_EINVAL && bm25_parse("1,", &k1, &b) == LODE_EINVAL &&
              bm25_parse("nan,0.5", &k1, &b) == LODE_EINVAL && k1 == 1.2,
          "bm25_parse: b above 1, negative k1, one number, NaN refused, nothing changed");
    CHECK(fabs(bm25_idf(10, 1) - log(1 + 9.5 / 1.5)) < 1e-15 && bm25_idf(3, 5) > 0,
          "bm25_idf: Lucene's idf, positive when the statistics count fewer documents than df");
    CHECK(fabs(BM25_TERM(2.0, 3.0, bm25_norm(1.2, 0.75, 10, 5)) - 6.0 / (3 + 1.2 * 1.75)) < 1e-15,
          "BM25_TERM and bm25_norm: w tf / (tf + k1 (1 - b + b dl / avgdl))");
    CHECK(bm25_avgdl(0, 0) == 1 && bm25_avgdl(4, 10) == 2.5,
          "bm25_avgdl: 1 for an empty collection");
}

static void error_tests(void)
{
    int distinct = 1;
    for (int c = LODE_EFAILED; c < LODE_ELAST; c++)
        for (int d = c + 1; d < LODE_ELAST; d++)
            distinct &= strcmp(lode_strerror(c), lode_strerror(d)) != 0;
    CHECK(distinct, "lode_strerror: words of their own for each of the %d codes",
          LODE_ELAST - LODE_EFAILED);
    CHECK_STR(lode_strerror(LODE_EMAPFULL), "the store's map is full",
              "lode_strerror: LODE_EMAPFULL");
    CHECK(!strcmp(lode_strerror(ENOSPC), strerror(ENOSPC)),
          "lode_strerror: an errno value in strerror's words");
    CHECK(store_code(MDB_NOTFOUND) == LODE_ENOTFOUND && store_code(MDB_MAP_FULL) == LODE_EMAPFULL &&
              store_code(MDB_CORRUPTED) == LODE_ECORRUPT &&
              store_code(MDB_PAGE_NOTFOUND) == LODE_ECORRUPT &&
              store_code(ENOSPC) == LODE_ENOSPACE && store_code(0) == LODE_OK,
          "store_code: LMDB's codes and errno into the band");
    lode_error e = {0};
    CHECK(lode_fail(&e, LODE_ECORRUPT, "x %d", 1) == LODE_ECORRUPT && e.code == LODE_ECORRUPT &&
              !strcmp(e.msg, "x 1"),
          "lode_fail: returns the code, fills code and message");
}

/* ---- a commit that fills the map ---- */

#define SMALL_MAP (1u << 20)
#define VAL 400

static void remove_store(const char *dir)
{
    const char *files[] = {"data.mdb", "lock.mdb", "writer.lock"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

static int put_values(struct store *s, uint32_t first, int n, unsigned char fill)
{
    unsigned char v[VAL];
    memset(v, fill, sizeof v);
    for (int i = 0; i < n; i++) {
        unsigned char k[4];
        put_be32(k, first + (uint32_t)i);
        int rc = store_put(s, s->chunks, k, 4, v, sizeof v);
        if (rc)
            return rc;
    }
    return 0;
}

/* A fresh store in a 1 MiB map holding 1000 values of 400 bytes. */
static int fresh_store(const char *dir, struct store *s)
{
    lode_error e;
    remove_store(dir);
    if (store_open_sized(dir, STORE_WRITE, 1, SMALL_MAP, s, &e) < 0 || store_begin(s, 1, &e) < 0 ||
        put_values(s, 0, 1000, 1) || store_commit(s, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

/* Deletes the 1000 values and puts n new ones: the freed pages are the
 * last commit's, not reusable in this transaction, so near the map's end
 * the puts fit but the commit cannot place the free list's own pages. */
static int replace_values(struct store *s, int n)
{
    for (uint32_t i = 0; i < 1000; i++) {
        unsigned char k[4];
        put_be32(k, i);
        int rc = store_del(s, s->chunks, k, 4);
        if (rc)
            return rc;
    }
    return put_values(s, 100000, n, 2);
}

static void commit_full_tests(void)
{
    const char *dir = "full-store";
    struct store s;
    lode_error e = {0};
    if (fresh_store(dir, &s) < 0) {
        CHECK(0, "a store in a 1 MiB map");
        return;
    }
    /* the most values whose puts fit, found with aborted transactions */
    int lo = 0, hi = 4000;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        store_begin(&s, 1, &e);
        int rc = replace_values(&s, mid);
        store_abort(&s);
        if (rc == 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    store_close(&s);
    /* from there down, the first count whose commit finds the map full */
    int found = -1, rc = 0;
    for (int n = lo; n > lo - 200 && n > 0 && found < 0; n--) {
        if (fresh_store(dir, &s) < 0)
            break;
        store_begin(&s, 1, &e);
        if (replace_values(&s, n) == 0 && (rc = store_commit(&s, &e)) == LODE_EMAPFULL)
            found = n;
        else
            store_close(&s);
    }
    CHECK(found > 0, "LMDB's commit itself fills the map (%d values put, %d fit at most)", found,
          lo);
    if (found < 0)
        return;
    CHECK(e.code == LODE_EMAPFULL && s.txn == NULL && s.full_commits == 1 && strstr(e.msg, "map"),
          "store_commit: LODE_EMAPFULL, the transaction gone, counted, said (%s)", e.msg);
    MDB_val v;
    unsigned char k0[4], kn[4];
    put_be32(k0, 0);
    put_be32(kn, 100000);
    store_begin(&s, 0, &e);
    CHECK(store_get(&s, s.chunks, k0, 4, &v) == 0 &&
              store_get(&s, s.chunks, kn, 4, &v) == LODE_ENOTFOUND,
          "...the last commit stands: the old values are there, the new ones are not");
    store_abort(&s);
    uint64_t before = s.map_size;
    int redone = store_grow(&s, &e) == 0 && store_begin(&s, 1, &e) == 0 &&
        replace_values(&s, found) == 0 && store_commit(&s, &e) == 0;
    store_begin(&s, 0, &e);
    CHECK(redone && s.map_size == 2 * before &&
              store_get(&s, s.chunks, k0, 4, &v) == LODE_ENOTFOUND &&
              store_get(&s, s.chunks, kn, 4, &v) == 0,
          "grown to %llu bytes and redone, the commit goes through",
          (unsigned long long)s.map_size);
    store_abort(&s);
    store_close(&s);
    remove_store(dir);
}

/* The indexer meets the same at the commit of a batch that replaces a
 * source: it grows the map and redoes the batch (it used to die with an
 * empty message). */
static json_t *chunk(const char *source, int i, size_t len)
{
    char id[64], *text = malloc(len + 1);
    snprintf(id, sizeof id, "%s-%d", source, i);
    for (size_t j = 0; j < len; j++)
        text[j] = (j % 7 == 6) ? ' ' : (char)('a' + (i * 31 + j * 7) % 26);
    text[len] = 0;
    json_t *r =
        json_pack("{s:s,s:s,s:s,s:s}", "id", id, "source", source, "doc", source, "text", text);
    free(text);
    return r;
}

#define INDEX_MAP (256u << 10)

/* 150 chunks of a.txt committed, then a batch that deletes a.txt and adds
 * n chunks of b.txt of len bytes; with check, whether the store ends
 * consistent with all of b.txt in. */
static int index_attempt(const char *dir, int n, size_t len, unsigned *full, int *grew, int *ok)
{
    struct store s;
    lode_error e = {0};
    remove_store(dir);
    struct index_opts o = {.k1 = 0.9, .b = 0.4, .batch = 100000, .M = 16, .efc = 200, .threads = 1};
    if (store_open_sized(dir, STORE_WRITE, 1, INDEX_MAP, &s, &e) < 0)
        return -1;
    struct indexer *ix = indexer_open(&s, &o, &e);
    int rc = ix ? 0 : -1;
    for (int i = 0; i < 150 && !rc; i++)
        rc = indexer_add(ix, chunk("a.txt", i, 500), &e);
    if (!rc)
        rc = indexer_flush(ix, &e);
    if (!rc)
        rc = indexer_delete(ix, "a.txt", &e);
    for (int i = 0; i < n && !rc; i++)
        rc = indexer_add(ix, chunk("b.txt", i, len), &e);
    struct index_stats st;
    if (!rc)
        rc = indexer_close(ix, &st, &e);
    else
        indexer_close(ix, NULL, NULL);
    *full = s.full_commits;
    *grew = s.map_size > INDEX_MAP;
    if (ok && !rc) {
        FILE *devnull = fopen("/dev/null", "w");
        long problems = store_check(&s, devnull, &e);
        fclose(devnull);
        store_begin(&s, 0, &e);
        *ok = problems == 0 && store_meta_u64(&s, "n", 0) == (uint64_t)n && st.deleted_sources == 1;
        store_abort(&s);
    }
    store_close(&s);
    return rc;
}

static void indexer_full_tests(void)
{
    const char *dir = "full-index";
    unsigned full = 0;
    int ok = 0, grew = 0, rc = 0;
    /* the fewest chunks that grow the map at all, then the counts and
     * sizes just below it, where the puts fit and the commit may not */
    int lo = 1, hi = 1000;
    while (lo < hi && !rc) {
        int mid = (lo + hi) / 2;
        rc = index_attempt(dir, mid, 500, &full, &grew, NULL);
        if (grew)
            hi = mid;
        else
            lo = mid + 1;
    }
    int n = 0, len = 0, at_n = 0, at_len = 0;
    full = 0;
    for (n = lo - 6; n <= lo + 2 && !full && !rc; n++)
        for (len = 460; len <= 540 && !full && !rc; len += 4) {
            rc = index_attempt(dir, n, (size_t)len, &full, &grew, NULL);
            at_n = n, at_len = len;
        }
    n = at_n, len = at_len;
    CHECK(full > 0 && rc == 0,
          "the indexer's commit finds the map full (%d chunks of %d bytes replacing 150)", n, len);
    if (full)
        rc = index_attempt(dir, n, (size_t)len, &full, &grew, &ok);
    CHECK(ok,
          "...grows it and redoes the batch: every chunk in, the old source gone, --check clean");
    remove_store(dir);
}

int main(void)
{
    analyzer_tests();
    codec_tests();
    filter_tests();
    fuse_tests();
    hnsw_tests();
    bm25_tests();
    error_tests();
    commit_full_tests();
    indexer_full_tests();
    return check_failures != 0;
}
