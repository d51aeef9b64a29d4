/* lode-query: queries in, hits out (lode-query(1), lode-store(7)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert.h"
#include "input.h"
#include "opts.h"
#include "record.h"
#include "report.h"
#include "search.h"

enum mode { MODE_AUTO, MODE_BM25, MODE_DENSE, MODE_HYBRID };

struct run {
    struct searcher *se;
    struct bert model;
    struct bert_work work;
    int have_model;
    enum mode mode;
    int k, ef, exact, no_text;
    struct filter *filter; /* --filter */
    struct report rep;
    struct output out;
    double seconds;
};

static json_t *hit_json(struct run *run, const struct hit *h, size_t rank)
{
    json_t *rec = searcher_chunk(run->se, h->num);
    if (!rec)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "rank", json_integer((json_int_t)rank));
    const char *keys[] = {"id", "doc", "source", "page"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(rec, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
        if (i == 3)
            json_object_set_new(o, "score", json_real(h->score));
    }
    if (!run->no_text && json_object_get(rec, "text"))
        json_object_set(o, "text", json_object_get(rec, "text"));
    if (json_is_object(json_object_get(rec, "meta")))
        json_object_set(o, "meta", json_object_get(rec, "meta"));
    json_decref(rec);
    return o;
}

/* Answers one query; NULL with err set when it fails. */
static int answer(struct run *run, json_t *q, lode_error *err)
{
    const char *text = record_str(q, "q");
    int dim = 0;
    float *vec = record_vector(q, &dim, err);
    if (!vec && err->msg[0])
        return -1;
    size_t k = (size_t)run->k;
    json_t *kv = json_object_get(q, "k");
    if (kv) {
        if (!json_is_integer(kv) || json_integer_value(kv) < 1 || json_integer_value(kv) > 10000) {
            free(vec);
            lode_seterr(err, "\"k\" must be an integer from 1 to 10000");
            return -1;
        }
        k = (size_t)json_integer_value(kv);
    }
    /* the query's conditions and --filter's, together */
    struct filter *f = filter_new();
    filter_extend(f, run->filter);
    json_t *fv = json_object_get(q, "filter");
    if (fv && filter_add_json(f, fv, err) < 0) {
        filter_free(f);
        free(vec);
        return -1;
    }
    struct filter *both = f;
    enum mode mode = run->mode;
    if (!text && !vec) {
        lode_seterr(err, "the query has neither \"q\" text nor a vector");
        goto fail;
    }
    if (mode == MODE_BM25 && !text) {
        lode_seterr(err, "BM25 needs \"q\" text");
        goto fail;
    }
    if (vec && dim != searcher_dim(run->se)) {
        lode_seterr(err, "the query vector has %d values; the store's have %d", dim,
                    searcher_dim(run->se));
        goto fail;
    }
    if (mode != MODE_BM25 && !vec) {
        if (!run->have_model) {
            if (mode == MODE_DENSE) {
                lode_seterr(err, "no embedding model for the query: give -m, or a vector in \"vec\"");
                goto fail;
            }
            mode = MODE_BM25;
        } else {
            vec = xmalloc(sizeof *vec * (size_t)run->model.hidden);
            bert_embed(&run->model, run->model.query_prompt, text, strlen(text), &run->work, vec);
        }
    }
    if (mode == MODE_HYBRID && !text)
        mode = MODE_DENSE;
    if (searcher_begin(run->se, err) < 0)
        goto fail;
    struct hit *a = NULL, *b = NULL, *hits = NULL;
    size_t na = 0, nb = 0, n;
    size_t depth = k > SEARCH_FUSE_DEPTH ? k : SEARCH_FUSE_DEPTH;
    if (mode == MODE_BM25) {
        n = search_bm25(run->se, text, both, k, &hits);
    } else if (mode == MODE_DENSE) {
        n = search_dense(run->se, vec, both, k, run->ef, run->exact, &hits);
    } else {
        na = search_bm25(run->se, text, both, depth, &a);
        nb = search_dense(run->se, vec, both, depth, run->ef > (int)depth ? run->ef : (int)depth,
                          run->exact, &b);
        n = search_fuse(a, na, b, nb, k, &hits);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *h = hit_json(run, &hits[i], json_array_size(arr) + 1);
        if (h)
            json_array_append_new(arr, h);
    }
    searcher_end(run->se);
    json_object_set_new(q, "hits", arr);
    free(a);
    free(b);
    free(hits);
    free(vec);
    filter_free(f);
    return 0;
fail:
    free(vec);
    filter_free(f);
    return -1;
}

int main(int argc, char **argv)
{
    util_set_progname(argv[0]);
    struct common_opts common;
    common_opts_init(&common);
    struct run run;
    memset(&run, 0, sizeof run);
    run.k = 10;
    const char *dir = getenv("LODE_STORE"), *mode = NULL, *model = NULL;
    struct opt_list filters = {0};
    const struct opt table[] = {
        {'s', "store", OPT_STRING, &dir, "DIR", "the store (default $LODE_STORE)", 0},
        {'k', "top-k", OPT_INT, &run.k, "N", "hits per query (default 10; a query's \"k\" wins)", 0},
        {0, "mode", OPT_STRING, &mode, "MODE",
         "bm25, dense or hybrid (default: hybrid when the store has vectors and the model is at hand)", 0},
        {'m', "model", OPT_STRING, &model, "DIR",
         "the embedding model for query texts (default $LODE_EMBED_MODEL, then the store's)", 0},
        {0, "ef", OPT_INT, &run.ef, "N", "HNSW search breadth (default 64, at least k)", 0},
        {0, "exact", OPT_FLAG, &run.exact, NULL, "compare with every vector instead of walking the graph", 1},
        {0, "filter", OPT_LIST, &filters, "KEY=VALUE",
         "only chunks whose KEY matches: source=GLOB, type=pdf, meta.lang=en, page=3-5 (repeatable)", 0},
        {0, "no-text", OPT_FLAG, &run.no_text, NULL, "leave the chunk text out of the hits", 1},
        OPTS_COMMON(&common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-query",
        "-s STORE [OPTION]...",
        "Answer the queries on standard input (plain text lines, or records with q, and\n"
        "optionally k, filter and a precomputed vec) from STORE: each query comes back\n"
        "with hits, best first, by BM25, by vector similarity, or both fused by\n"
        "reciprocal rank. The query's other fields are kept.",
        table,
        "Exit status: 0 all queries answered, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal (the store or the model cannot be opened). See lode-query(1) and\n"
        "lode-store(7).\n",
    };
    opts_parse_filter(&prog, argc, argv, "queries");
    if (!dir) {
        fprintf(stderr, "lode-query: no store: give -s DIR or set LODE_STORE\n");
        goto usage;
    }
    if (run.k < 1 || run.k > 10000 || run.ef < 0) {
        fprintf(stderr, "lode-query: -k takes 1 to 10000 and --ef a positive number\n");
        goto usage;
    }
    if (!mode)
        run.mode = MODE_AUTO;
    else if (!strcmp(mode, "bm25"))
        run.mode = MODE_BM25;
    else if (!strcmp(mode, "dense"))
        run.mode = MODE_DENSE;
    else if (!strcmp(mode, "hybrid"))
        run.mode = MODE_HYBRID;
    else {
        fprintf(stderr, "lode-query: --mode takes bm25, dense or hybrid\n");
        goto usage;
    }
    lode_error err;
    run.filter = filter_new();
    for (size_t i = 0; i < filters.n; i++)
        if (filter_add(run.filter, filters.items[i], &err) < 0) {
            fprintf(stderr, "lode-query: --filter: %s\n", err.msg);
            goto usage;
        }
    if (!run.ef)
        run.ef = 64;
    if (run.ef < run.k)
        run.ef = run.k;

    struct store s;
    if (store_open(dir, STORE_READ, 0, &s, &err) < 0)
        die("%s", err.msg);
    run.se = searcher_open(&s, run.mode != MODE_BM25, &err);
    if (!run.se)
        die("%s", err.msg);
    const char *stored = searcher_model(run.se);
    int dim = searcher_dim(run.se);
    if (run.mode != MODE_BM25 && dim) {
        /* the model for query texts: -m, then $LODE_EMBED_MODEL, then the store's */
        const char *env = getenv("LODE_EMBED_MODEL");
        char *remembered = NULL;
        if (!model && !env && store_begin(&s, 0, &err) == 0) {
            remembered = store_meta_str(&s, "model_path");
            store_abort(&s);
        }
        const char *use = model ? model : env ? env : remembered;
        if (use) {
            if (bert_load(use, &run.model, &err) < 0) {
                if (model)
                    die("cannot load the model %s: %s", use, err.msg);
                warning("cannot load the model %s: %s", use, err.msg);
            } else if ((stored && strcmp(stored, run.model.id)) || run.model.hidden != dim) {
                if (model)
                    die("%s holds vectors of %s; %s is %s", dir, stored ? stored : "another model",
                        use, run.model.id);
                warning("%s holds vectors of %s, not of %s (%s): query texts are not embedded",
                        dir, stored ? stored : "another model", use, run.model.id);
                bert_free(&run.model);
            } else {
                run.have_model = 1;
            }
        }
        free(remembered);
    }
    if (run.mode == MODE_AUTO)
        run.mode = dim && run.have_model ? MODE_HYBRID : MODE_BM25;
    if (run.mode != MODE_BM25 && !dim)
        die("%s holds no vectors: --mode %s needs records embedded by lode-embed", dir, mode);

    report_open(&run.rep, "query", "queries", &common);
    output_init(&run.out, 1);
    struct input in;
    input_init(&in, 0, &run.rep, common.max_line, 1);
    json_t *q;
    while ((q = input_next(&in))) {
        double t = now_seconds();
        if (answer(&run, q, &err) < 0) {
            const char *qid = record_str(q, "qid");
            report_fail(&run.rep, in.where, qid, "%s", err.msg);
        } else {
            run.rep.ok++;
            output_record(&run.out, q);
            output_flush(&run.out);
        }
        run.seconds += now_seconds() - t;
        json_decref(q);
        report_progress(&run.rep);
    }
    input_free(&in);
    output_close(&run.out);
    run.rep.records_out = run.out.records;
    run.rep.bytes_in = in.lr.bytes;
    static const char *names[] = {"auto", "bm25", "dense", "hybrid"};
    uint64_t answered = run.rep.ok ? run.rep.ok : 1;
    buf_addf(&run.rep.summary_extra, "; %s, %.2f ms a query", names[run.mode],
             1000 * run.seconds / (double)answered);
    report_metric(&run.rep, "query_seconds_total", "counter", "Seconds spent answering queries.",
                  run.seconds);
    searcher_close(run.se);
    store_close(&s);
    filter_free(run.filter);
    free(filters.items);
    if (run.have_model) {
        bert_work_free(&run.work);
        bert_free(&run.model);
    }
    return report_close(&run.rep);
usage:
    filter_free(run.filter);
    free(filters.items);
    return LODE_EXIT_USAGE;
}
