/* bm25.c - the parts of bm25.h that are not inline: idf, the mean length,
 * the parameters as lode-index takes them, and the statistics a query needs
 * (summed over stores, written and read as lode-query's statistics
 * records). */
#include "text/bm25.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double bm25_idf(double n, double df)
{
    return log(1 + ((n > df ? n : df) - df + 0.5) / (df + 0.5));
}

double bm25_avgdl(uint64_t n, uint64_t total_len)
{
    double avgdl = n ? (double)total_len / (double)n : 1;
    return avgdl > 0 ? avgdl : 1;
}

int bm25_parse(const char *s, double *k1, double *b)
{
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end != ',' || !(x >= 0 && x <= 1e6))
        return LODE_EINVAL;
    const char *p = end + 1;
    double y = strtod(p, &end);
    if (end == p || *end || !(y >= 0 && y <= 1))
        return LODE_EINVAL;
    *k1 = x, *b = y;
    return 0;
}

void bm25_stats_init(struct bm25_stats *st)
{
    memset(st, 0, sizeof *st);
    st->df = json_object();
}

void bm25_stats_free(struct bm25_stats *st)
{
    json_decref(st->df);
    st->df = NULL;
}

int bm25_stats_sum(struct bm25_stats *acc, const struct bm25_stats *one, lode_error *err)
{
    if (acc->stores && (acc->k1 != one->k1 || acc->b != one->b)) {
        return lode_fail(err, LODE_EINVAL,
                         "the stores score BM25 with different parameters (k1 %g, b %g and k1 %g, "
                         "b %g): index them with the same --bm25",
                         acc->k1, acc->b, one->k1, one->b);
    }
    acc->k1 = one->k1, acc->b = one->b;
    acc->stores += one->stores;
    acc->n += one->n;
    acc->total_len += one->total_len;
    const char *term;
    json_t *v;
    json_object_foreach(one->df, term, v)
    {
        json_int_t have = json_integer_value(json_object_get(acc->df, term));
        json_object_set_new(acc->df, term, json_integer(have + json_integer_value(v)));
    }
    return 0;
}

json_t *bm25_stats_json(const struct bm25_stats *st)
{
    return json_pack("{s:f,s:f,s:I,s:I,s:O}", "k1", st->k1, "b", st->b, "chunks", (json_int_t)st->n,
                     "tokens", (json_int_t)st->total_len, "df", st->df);
}

int bm25_stats_parse(const json_t *rec, struct bm25_stats *st, lode_error *err)
{
    json_t *df = json_object_get(rec, "df");
    json_int_t n = json_integer_value(json_object_get(rec, "chunks"));
    json_int_t tokens = json_integer_value(json_object_get(rec, "tokens"));
    if (!json_is_number(json_object_get(rec, "k1")) || !json_is_number(json_object_get(rec, "b")) ||
        !json_is_integer(json_object_get(rec, "chunks")) ||
        !json_is_integer(json_object_get(rec, "tokens")) || !json_is_object(df) || n < 0 ||
        tokens < 0) {
        return lode_fail(
            err, LODE_EINVAL,
            "not a statistics record of lode-query --emit-stats (k1, b, chunks, tokens, df)");
    }
    const char *term;
    json_t *v;
    json_object_foreach(
        df, term,
        v) if (!json_is_integer(v) || json_integer_value(v) < 0 ||
               json_integer_value(v) >
                   n) return lode_fail(err, LODE_EINVAL,
                                       "the statistics give term \"%s\" an impossible count", term);
    bm25_stats_init(st);
    st->stores = 1;
    st->k1 = json_number_value(json_object_get(rec, "k1"));
    st->b = json_number_value(json_object_get(rec, "b"));
    st->n = (uint64_t)n;
    st->total_len = (uint64_t)tokens;
    json_object_update(st->df, df);
    return 0;
}
