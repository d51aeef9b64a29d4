/* lode-query: queries in, hits out (lode-query(1), lode-store(7)). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/bert.h"
#include "base/input.h"
#include "base/opts.h"
#include "base/record.h"
#include "base/report.h"
#include "base/hash.h"
#include "store/index.h"
#include "base/lines.h"
#include "store/search.h"
#include "store/shards.h"

enum mode { MODE_AUTO, MODE_BM25, MODE_DENSE, MODE_HYBRID };

struct run {
    struct shards sh;
    struct bert model;
    struct bert_work work;
    int have_model;
    enum mode mode;
    int k, ef, exact, no_text;
    struct filter *filter; /* --filter */
    struct bm25_stats *emit;   /* --emit-stats: per store, the terms of every query */
    struct bm25_stats global;  /* --global-stats */
    int have_global;
    struct report rep;
    struct output out;
    double seconds;
};

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
    enum mode mode = run->mode;
    if (!text && !vec) {
        lode_seterr(err, "the query has neither \"q\" text nor a vector");
        goto fail;
    }
    if (mode == MODE_BM25 && !text) {
        lode_seterr(err, "BM25 needs \"q\" text");
        goto fail;
    }
    if (vec && dim != run->sh.dim) {
        lode_seterr(err, "the query vector has %d values; the store's have %d", dim, run->sh.dim);
        goto fail;
    }
    if (run->emit) {
        if (!text) {
            lode_seterr(err, "statistics need \"q\" text");
            goto fail;
        }
        if (shards_begin(&run->sh, err) < 0)
            goto fail;
        for (size_t i = 0; i < run->sh.n; i++)
            search_bm25_stats(run->sh.se[i], text, &run->emit[i]);
        shards_end(&run->sh);
        free(vec);
        filter_free(f);
        return 1;
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
    if (shards_begin(&run->sh, err) < 0)
        goto fail;
    /* BM25's statistics: given, summed over the stores, or the one store's own */
    struct bm25_stats qst, *st = run->have_global ? &run->global : NULL;
    bm25_stats_init(&qst);
    if (mode != MODE_DENSE && !st && run->sh.n > 1) {
        if (shards_stats(&run->sh, text, &qst, err) < 0) {
            bm25_stats_free(&qst);
            shards_end(&run->sh);
            goto fail;
        }
        st = &qst;
    }
    struct rlist hits;
    size_t depth = k > SEARCH_FUSE_DEPTH ? k : SEARCH_FUSE_DEPTH;
    if (mode == MODE_BM25) {
        hits = shards_bm25(&run->sh, text, st, f, k);
    } else if (mode == MODE_DENSE) {
        hits = shards_dense(&run->sh, vec, f, k, run->ef, run->exact);
    } else {
        struct rlist a = shards_bm25(&run->sh, text, st, f, depth);
        struct rlist b = shards_dense(&run->sh, vec, f, depth,
                                      run->ef > (int)depth ? run->ef : (int)depth, run->exact);
        hits = (struct rlist){0};
        if (run->have_global) {
            /* one host's share: both lists, for lode-query --merge to fuse */
            json_object_set_new(q, "bm25_hits", rlist_json(&run->sh, &a, run->no_text));
            json_object_set_new(q, "dense_hits", rlist_json(&run->sh, &b, run->no_text));
        } else {
            hits = rlist_fuse(&run->sh, &a, &b, k);
            json_object_set_new(q, "hits", rlist_json(&run->sh, &hits, run->no_text));
        }
        rlist_free(&a);
        rlist_free(&b);
    }
    if (mode != MODE_HYBRID)
        json_object_set_new(q, "hits", rlist_json(&run->sh, &hits, run->no_text));
    shards_end(&run->sh);
    rlist_free(&hits);
    bm25_stats_free(&qst);
    free(vec);
    filter_free(f);
    return 0;
fail:
    free(vec);
    filter_free(f);
    return -1;
}

/* --global-stats FILE: every record summed; each shard at most once. */
static void read_global(struct run *run, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("cannot open %s: %s", path, strerror(errno));
    struct lines lr;
    lines_init(&lr, fd, LODE_DEFAULT_MAX_LINE);
    bm25_stats_init(&run->global);
    json_t *seen = json_object();
    char *line;
    size_t len, lineno = 0;
    int n_of = 0, rc;
    lode_error err;
    while ((rc = lines_next(&lr, &line, &len)) != LINE_EOF) {
        lineno++;
        if (rc == LINE_ERROR)
            die("cannot read %s: %s", path, strerror(errno));
        if (rc == LINE_TOO_LONG)
            die("%s:%zu: a line longer than 256M", path, lineno);
        json_t *rec = record_parse(line, len, &err);
        struct bm25_stats one;
        if (!rec || bm25_stats_parse(rec, &one, &err) < 0)
            die("%s:%zu: %s", path, lineno, err.msg);
        const char *shard = record_str(rec, "shard");
        int k, nshards;
        if (shard && hash_parse_shard(shard, &k, &nshards) == 0) {
            char key[16];
            snprintf(key, sizeof key, "%d", k);
            if (json_object_get(seen, key) || (n_of && n_of != nshards))
                die("%s:%zu: shard %s again, or of another split: gather each shard's statistics "
                    "once", path, lineno, shard);
            json_object_set_new(seen, key, json_true());
            n_of = nshards;
        }
        if (bm25_stats_sum(&run->global, &one, &err) < 0)
            die("%s:%zu: %s", path, lineno, err.msg);
        bm25_stats_free(&one);
        json_decref(rec);
    }
    if (!lineno)
        die("%s holds no statistics: write it with lode-query --emit-stats", path);
    if (n_of && json_object_size(seen) != (size_t)n_of)
        warning("%s has the statistics of %zu of %d shards: scores are not the whole collection's",
                path, json_object_size(seen), n_of);
    lines_free(&lr);
    close(fd);
    json_decref(seen);
    run->have_global = 1;
}

/* --emit-stats: one record of every store's statistics for the queries' terms. */
static void write_emitted(struct run *run, char *const *dirs)
{
    struct bm25_stats sum;
    bm25_stats_init(&sum);
    lode_error err;
    for (size_t i = 0; i < run->sh.n; i++) {
        if (bm25_stats_sum(&sum, &run->emit[i], &err) < 0)
            die("%s", err.msg);
        bm25_stats_free(&run->emit[i]);
    }
    json_t *o = bm25_stats_json(&sum);
    json_t *stores = json_array();
    for (size_t i = 0; i < run->sh.n; i++)
        json_array_append_new(stores, json_string(dirs[i]));
    json_object_set_new(o, "stores", stores);
    int k, n;
    if (run->sh.n == 1 && index_store_shard(&run->sh.stores[0], &k, &n, &err) == 0 && n)
        json_object_set_new(o, "shard", json_sprintf("%d/%d", k, n));
    output_record(&run->out, o);
    json_decref(o);
    bm25_stats_free(&sum);
}

/* --merge FILE...: the results of every host, query by query. */
static int merge_files(struct run *run, char **files, int n, struct common_opts *common)
{
    struct lines *in = xcalloc((size_t)n, sizeof *in);
    for (int i = 0; i < n; i++) {
        int fd = !strcmp(files[i], "-") ? 0 : open(files[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die("cannot open %s: %s", files[i], strerror(errno));
        lines_init(&in[i], fd, common->max_line);
    }
    report_open(&run->rep, "query", "queries", common);
    output_init(&run->out, 1);
    json_t **recs = xcalloc((size_t)n, sizeof *recs);
    for (;;) {
        int ended = 0;
        lode_error err = {0};
        for (int i = 0; i < n; i++) {
            char *line;
            size_t len;
            int rc = lines_next(&in[i], &line, &len);
            if (rc == LINE_ERROR)
                die("cannot read %s: %s", files[i], strerror(errno));
            if (rc == LINE_EOF) {
                ended++;
                continue;
            }
            recs[i] = rc == LINE_OK ? record_parse(line, len, &err) : NULL;
            if (rc == LINE_TOO_LONG)
                lode_seterr(&err, "a line longer than --max-line");
        }
        if (ended) {
            for (int i = 0; i < n; i++)
                json_decref(recs[i]), recs[i] = NULL;
            if (ended != n)
                die("the result files do not hold the same number of queries");
            break;
        }
        json_t *out = NULL;
        int whole = 1;
        for (int i = 0; i < n; i++)
            whole &= recs[i] != NULL;
        if (whole)
            out = shards_merge_results(recs, (size_t)n, (size_t)run->k, run->no_text, &err);
        char where[64];
        snprintf(where, sizeof where, "query %llu", (unsigned long long)in[0].lineno);
        if (!out) {
            report_fail(&run->rep, where, NULL, "%s", err.msg);
        } else {
            run->rep.ok++;
            output_record(&run->out, out);
            output_flush(&run->out);
            json_decref(out);
        }
        for (int i = 0; i < n; i++)
            json_decref(recs[i]), recs[i] = NULL;
        report_progress(&run->rep);
    }
    for (int i = 0; i < n; i++) {
        if (in[i].fd > 0)
            close(in[i].fd);
        run->rep.bytes_in += in[i].bytes;
        lines_free(&in[i]);
    }
    free(in);
    free(recs);
    output_close(&run->out);
    run->rep.records_out = run->out.records;
    return report_close(&run->rep);
}

int main(int argc, char **argv)
{
    util_set_progname(argv[0]);
    struct common_opts common;
    common_opts_init(&common);
    struct run run;
    memset(&run, 0, sizeof run);
    run.k = 10;
    const char *mode = NULL, *model = NULL, *global = NULL;
    int emit = 0, merge = 0;
    struct opt_list filters = {0}, dirs = {0};
    const struct opt table[] = {
        {'s', "store", OPT_LIST, &dirs, "DIR",
         "the store (default $LODE_STORE); several are searched as one", 0},
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
        {0, "emit-stats", OPT_FLAG, &emit, NULL,
         "answer nothing: write the stores' BM25 statistics for the queries' terms (one record)", 1},
        {0, "global-stats", OPT_STRING, &global, "FILE",
         "score BM25 with the statistics in FILE (--emit-stats of every shard), for --merge", 0},
        {0, "merge", OPT_FLAG, &merge, NULL,
         "read no store: merge the results in the FILEs (one per shard, same queries) into one", 1},
        OPTS_COMMON(&common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-query",
        "-s STORE [-s STORE]... [OPTION]...\n"
        "  or:  lode-query --merge [OPTION]... FILE...",
        "Answer the queries on standard input (plain text lines, or records with q, and\n"
        "optionally k, filter and a precomputed vec) from STORE: each query comes back\n"
        "with hits, best first, by BM25, by vector similarity, or both fused by\n"
        "reciprocal rank. The query's other fields are kept. Several stores (shards)\n"
        "are searched as one, with exact BM25 statistics; for shards on several hosts,\n"
        "--emit-stats, --global-stats and --merge split the same work in three steps.",
        table,
        "Exit status: 0 all queries answered, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal (the store or the model cannot be opened). See lode-query(1) and\n"
        "lode-store(7).\n",
    };
    int first = opts_parse(&prog, argc, argv);
    if (merge != (first < argc)) {
        fprintf(stderr, merge ? "lode-query: --merge needs the result files to merge\n"
                              : "lode-query: queries are read from standard input\n");
        goto usage;
    }
    if (run.k < 1 || run.k > 10000 || run.ef < 0) {
        fprintf(stderr, "lode-query: -k takes 1 to 10000 and --ef a positive number\n");
        goto usage;
    }
    if (merge)
        return merge_files(&run, argv + first, argc - first, &common);
    const char *env_store = getenv("LODE_STORE");
    if (!dirs.n && env_store) {
        dirs.items = xmalloc(sizeof *dirs.items);
        dirs.items[dirs.n++] = env_store;
    }
    if (!dirs.n) {
        fprintf(stderr, "lode-query: no store: give -s DIR or set LODE_STORE\n");
        goto usage;
    }
    if (emit && global) {
        fprintf(stderr, "lode-query: --emit-stats and --global-stats are separate runs\n");
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

    char **dirv = (char **)dirs.items;
    if (shards_open(&run.sh, dirv, dirs.n, run.mode != MODE_BM25 && !emit, &err) < 0)
        die("%s", err.msg);
    if (global)
        read_global(&run, global);
    const char *stored = run.sh.model, *dir = dirv[0];
    int dim = run.sh.dim;
    if (run.mode != MODE_BM25 && dim && !emit) {
        /* the model for query texts: -m, then $LODE_EMBED_MODEL, then the store's */
        const char *env = getenv("LODE_EMBED_MODEL");
        char *remembered = NULL;
        for (size_t i = 0; !model && !env && !remembered && i < run.sh.n; i++)
            if (store_begin(&run.sh.stores[i], 0, &err) == 0) {
                remembered = store_meta_str(&run.sh.stores[i], "model_path");
                store_abort(&run.sh.stores[i]);
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
    if (run.mode != MODE_BM25 && !dim && !emit)
        die("%s holds no vectors: --mode %s needs records embedded by lode-embed", dir, mode);
    if (emit) {
        run.emit = xcalloc(run.sh.n, sizeof *run.emit);
        for (size_t i = 0; i < run.sh.n; i++)
            bm25_stats_init(&run.emit[i]);
    }

    report_open(&run.rep, "query", "queries", &common);
    output_init(&run.out, 1);
    struct input in;
    input_init(&in, 0, &run.rep, common.max_line, 1);
    json_t *q;
    while ((q = input_next(&in))) {
        double t = now_seconds();
        int rc = answer(&run, q, &err);
        if (rc < 0) {
            const char *qid = record_str(q, "qid");
            report_fail(&run.rep, in.where, qid, "%s", err.msg);
        } else {
            run.rep.ok++;
            if (rc == 0) {
                output_record(&run.out, q);
                output_flush(&run.out);
            }
        }
        run.seconds += now_seconds() - t;
        json_decref(q);
        report_progress(&run.rep);
    }
    input_free(&in);
    if (emit) {
        write_emitted(&run, dirv);
        free(run.emit);
    }
    output_close(&run.out);
    run.rep.records_out = run.out.records;
    run.rep.bytes_in = in.lr.bytes;
    static const char *names[] = {"auto", "bm25", "dense", "hybrid"};
    uint64_t answered = run.rep.ok ? run.rep.ok : 1;
    buf_addf(&run.rep.summary_extra, "; %s, %.2f ms a query", emit ? "statistics" : names[run.mode],
             1000 * run.seconds / (double)answered);
    if (run.sh.n > 1)
        buf_addf(&run.rep.summary_extra, ", %zu stores", run.sh.n);
    report_metric(&run.rep, "query_seconds_total", "counter", "Seconds spent answering queries.",
                  run.seconds);
    report_metric(&run.rep, "query_stores", "gauge", "Stores searched as one.", (double)run.sh.n);
    shards_close(&run.sh);
    if (run.have_global)
        bm25_stats_free(&run.global);
    filter_free(run.filter);
    free(filters.items);
    free(dirs.items);
    if (run.have_model) {
        bert_work_free(&run.work);
        bert_free(&run.model);
    }
    return report_close(&run.rep);
usage:
    filter_free(run.filter);
    free(filters.items);
    free(dirs.items);
    return LODE_EXIT_USAGE;
}
