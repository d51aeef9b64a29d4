/* Unit tests of the store's pieces: the analyzer (Lucene EnglishAnalyzer's
 * rules), the postings and source codecs, filters, fusion, and the HNSW
 * graph against exact search. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "text/analyzer.h"
#include "base/buf.h"
#include "check.h"
#include "store/hnsw.h"
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
        {"The Runner's shoes", "runner shoe", "stop words out, possessive 's dropped, lowercased, stemmed"},
        {"don't FIT", "don't fit", "an apostrophe between letters stays inside"},
        {"3.14 and 1,000 items.", "3.14 1,000 item", "a period or comma between digits stays inside"},
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
    analyzer_free(a);
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
    CHECK(n == 130 && !memcmp(back, pairs, sizeof pairs), "postings: encode then decode gives them back");
    CHECK(len < 130 * 3, "postings: small deltas take few bytes (%zu for 130)", len);
    free(back);
    v.mv_size = len - 1;
    CHECK(store_decode_postings(&v, 1000, &back) == 0 && !back, "postings: a truncated block is refused");
    uint32_t dup[4] = {5, 1, 5, 1};
    len = store_encode_postings(enc, 5, dup, 2);
    v.mv_size = len;
    CHECK(store_decode_postings(&v, 5, &back) == 0, "postings: numbers that do not increase are refused");
    unsigned char big[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    MDB_val bv = {sizeof big, big};
    CHECK(store_decode_postings(&bv, 0, &back) == 0, "postings: an absurd count is refused");

    unsigned char key[64];
    size_t kl = store_postings_key(key, "flow", 4, 0x01020304);
    CHECK(kl == 9 && key[4] == 0 && key[5] == 1 && key[8] == 4, "postings key: term, NUL, big-endian number");

    unsigned char src[21 + 8] = {1, 'a', 'b', 'c', 'd', 'e', 'f', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'};
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
        {"source=docs/*.pdf", 1}, {"source=docs/a/*", 1}, {"source=*.docx", 0}, {"type=pdf", 1},
        {"page=4", 1}, {"page=3-5", 1}, {"page=5-", 0}, {"page=-4", 1}, {"page=1-3", 0},
        {"meta.lang=en", 1}, {"meta.lang=de", 0}, {"meta.year=2021", 1}, {"meta.year=2020-2022", 1},
        {"meta.draft=false", 1}, {"meta.missing=x", 0}, {"author=*", 0},
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
    json_t *obj = json_loads("{\"type\":\"pdf\",\"meta\":{\"lang\":\"en\"},\"page\":\"2-6\"}", 0, NULL);
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
        a[i] = (struct ranked){as[i], 0, an[i], json_pack("{s:s+}", "id", "c", an[i] == 1 ? "1" : an[i] == 2 ? "2" : "3")};
        b[i] = (struct ranked){bs[i], 0, bn[i], json_pack("{s:s+}", "id", "c", bn[i] == 1 ? "1" : bn[i] == 3 ? "3" : "4")};
    }
    struct rlist la = {a, 3}, lb = {b, 3}, none = {NULL, 0};
    struct rlist out = rlist_fuse(NULL, &la, &lb, 10);
    /* 1: 1/61 + 1/63; 3: 1/63 + 1/61; tie broken by id; then 2 and 4 at 1/62 */
    CHECK(out.n == 4 && out.v[0].num == 1 && out.v[1].num == 3 && out.v[2].num == 2 &&
              out.v[3].num == 4, "RRF: documents in both lists first, then by rank, ties by id");
    CHECK(out.v[0].score > 0.0322 && out.v[0].score < 0.0323, "RRF: 1/61 + 1/63 (%.6f)", out.v[0].score);
    rlist_free(&out);
    out = rlist_fuse(NULL, &la, &none, 2);
    CHECK(out.n == 2 && out.v[0].num == 1 && out.v[1].num == 2, "RRF: one list keeps its order, k cut");
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
    CHECK(n == 10 && !has0 && h.live == N - 1, "hnsw: a deleted node is walked through, never returned");
    CHECK(hnsw_check(&h) == 0, "hnsw: every link leads to a node");
    hnsw_free(&h);
}

int main(void)
{
    analyzer_tests();
    codec_tests();
    filter_tests();
    fuse_tests();
    hnsw_tests();
    return check_failures != 0;
}
