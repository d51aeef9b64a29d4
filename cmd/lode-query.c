/* lode-query: queries in, hits out (lode-query(1), lode-store(7)). */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/lines.h"
#include "base/program.h"
#include "store/kg.h"
#include "store/query.h"
#include "store/shards.h"

/* --merge FILE...: the results of every host, query by query. */
static int merge_files(struct program *p, int k, int no_text, enum query_dedup dedup, char **files,
                       int n)
{
    struct lines *in = xcalloc((size_t)n, sizeof *in);
    for (int i = 0; i < n; i++) {
        int fd = !strcmp(files[i], "-") ? 0 : open(files[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die("cannot open %s: %s", files[i], strerror(errno));
        lines_init(&in[i], fd, p->common.max_line);
    }
    program_open(p, "query", "queries", 0, 0);
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
            out = shards_merge_results(recs, (size_t)n, (size_t)k, no_text, dedup, &err);
        char where[64];
        snprintf(where, sizeof where, "query %llu", (unsigned long long)in[0].lineno);
        if (!out) {
            report_fail(&p->rep, where, NULL, "%s", err.msg);
        } else {
            p->rep.ok++;
            output_record(&p->out, out);
            program_flush(p);
            json_decref(out);
        }
        for (int i = 0; i < n; i++)
            json_decref(recs[i]), recs[i] = NULL;
        report_progress(&p->rep);
    }
    for (int i = 0; i < n; i++) {
        if (in[i].fd > 0)
            close(in[i].fd);
        p->rep.bytes_in += in[i].bytes;
        lines_free(&in[i]);
    }
    free(in);
    free(recs);
    return program_close(p);
}

struct cfg {
    struct query_opts qo;
    const char *mode;
    int merge, near_dups, keep_dups;
    const char *entity;
    int no_memory;
    struct opt_list filters, dirs;
    struct filter *filter;
};

/* Parses and checks the options, *first the index of the first operand
 * (the --merge files): 0, or the exit status of a usage error. */
static int options(struct program *p, struct cfg *c, int argc, char **argv, int *first)
{
    struct query_opts *o = &c->qo;
    const struct opt table[] = {
        {'s', "store", OPT_LIST, &c->dirs, "DIR",
         "the store (default $LODE_STORE); several are searched as one", 0},
        {'k', "top-k", OPT_INT, &o->k, "N", "hits per query (default 10; a query's \"k\" wins)", 0},
        {0, "mode", OPT_STRING, &c->mode, "MODE",
         "bm25, dense or hybrid (default: hybrid when the store has vectors and the model is at "
         "hand)",
         0},
        {0, "strict", OPT_FLAG, &o->strict, NULL,
         "fail (exit 3) instead of searching a store of vectors by BM25 alone for want of a model",
         1},
        {'m', "model", OPT_STRING, &o->model, "DIR",
         "the embedding model for query texts (default $LODE_EMBED_MODEL, then the store's)", 0},
        {0, "ef", OPT_INT, &o->ef, "N", "HNSW search breadth (default 64, at least k)", 0},
        {0, "exact", OPT_FLAG, &o->exact, NULL,
         "compare with every vector instead of walking the graph", 1},
        {0, "filter", OPT_LIST, &c->filters, "KEY=VALUE",
         "only chunks whose KEY matches: source=GLOB, type=pdf, meta.lang=en, page=3-5 "
         "(repeatable)",
         0},
        {0, "no-text", OPT_FLAG, &o->no_text, NULL, "leave the chunk text out of the hits", 1},
        {0, "keep-question-words", OPT_FLAG, &o->question_words, NULL,
         "BM25: keep how, what, which, does, can, I... in queries (default: dropped)", 1},
        {0, "dedup", OPT_FLAG, &c->near_dups, NULL,
         "also collapse hits whose texts are the same or near-duplicates (default: same document)",
         1},
        {0, "keep-duplicates", OPT_FLAG, &c->keep_dups, NULL,
         "keep every hit, the same chunk of the same document too", 1},
        {0, "mmr", OPT_DOUBLE, &o->mmr, "LAMBDA",
         "diversify the hits by maximal marginal relevance (0 varied .. 1 as ranked)", 0},
        {0, "emit-stats", OPT_FLAG, &o->emit, NULL,
         "answer nothing: write the stores' BM25 statistics for the queries' terms (one record)",
         1},
        {0, "global-stats", OPT_STRING, &o->global_stats, "FILE",
         "score BM25 with the statistics in FILE (--emit-stats of every shard), for --merge", 0},
        {0, "graph", OPT_FLAG, &o->graph, NULL,
         "fuse a third list by rank: chunks of the entities the query names and their "
         "neighbours",
         1},
        {0, "session", OPT_STRING, &o->session, "NAME",
         "of the conversations kept in the store, search only this one's turns", 0},
        {0, "no-memory", OPT_FLAG, &c->no_memory, NULL,
         "leave every conversation's turns out of the hits", 1},
        {0, "entity", OPT_STRING, &c->entity, "NAME",
         "answer with the entity NAME (or an alias): its neighbours and chunks, then exit", 0},
        {0, "merge", OPT_FLAG, &c->merge, NULL,
         "read no store: merge the results in the FILEs (one per shard, same queries) into one", 1},
        OPTS_COMMON(&p->common),
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
    *first = opts_parse(&prog, argc, argv);
    const char *env_store = getenv("LODE_STORE");
    if (!c->dirs.n && env_store) {
        c->dirs.items = xmalloc(sizeof *c->dirs.items);
        c->dirs.items[c->dirs.n++] = env_store;
    }
    int mode = c->mode ? query_mode_parse(c->mode) : QUERY_AUTO;
    lode_error err;
    if (c->merge != (*first < argc))
        return program_usage(p,
                             c->merge ? "--merge needs the result files to merge"
                                      : "queries are read from standard input");
    if (o->k < 1 || o->k > 10000 || (o->ef != INT_MIN && o->ef < 1))
        return program_usage(p, "-k takes 1 to 10000 and --ef a positive number");
    if (o->mmr != -1 && !(o->mmr >= 0 && o->mmr <= 1))
        return program_usage(p, "--mmr takes a lambda from 0 to 1");
    if (c->near_dups && c->keep_dups)
        return program_usage(p, "--dedup and --keep-duplicates are opposites");
    o->dedup = c->keep_dups ? QUERY_DEDUP_NONE : c->near_dups ? QUERY_DEDUP_NEAR : QUERY_DEDUP_DOC;
    if (o->session && c->no_memory)
        return program_usage(p, "--session and --no-memory are opposites");
    o->memory = c->no_memory ? QUERY_MEMORY_NONE
        : o->session         ? QUERY_MEMORY_SESSION
                             : QUERY_MEMORY_ALL;
    if (o->graph && (o->global_stats || o->emit))
        return program_usage(p, "--graph does not combine with --global-stats or --emit-stats");
    if (c->merge)
        return 0;
    if (!c->dirs.n)
        return program_usage(p, "no store: give -s DIR or set LODE_STORE");
    if (o->emit && o->global_stats)
        return program_usage(p, "--emit-stats and --global-stats are separate runs");
    if (c->mode && mode <= QUERY_AUTO) /* "auto" is the default, not a choice */
        return program_usage(p, "--mode takes bm25, dense or hybrid");
    c->filter = filter_new();
    for (size_t i = 0; i < c->filters.n; i++)
        if (filter_add(c->filter, c->filters.items[i], &err) < 0)
            return program_usage(p, "--filter: %s", err.msg);
    o->mode = (enum query_mode)mode;
    o->dirs = (char *const *)c->dirs.items;
    o->ndirs = c->dirs.n;
    o->filter = c->filter;
    if (o->ef == INT_MIN) /* not given */
        o->ef = 64;
    return 0;
}

/* --entity: one record per store that knows the entity. */
static int answer_entity(const char *name, const struct query_opts *o)
{
    int found = 0;
    for (size_t i = 0; i < o->ndirs; i++) {
        struct store s;
        lode_error err;
        if (store_open(o->dirs[i], STORE_READ, 0, &s, &err) < 0 || store_begin(&s, 0, &err) < 0)
            die("%s", err.msg);
        uint32_t *nums;
        size_t n;
        json_t *ans = kg_entity(&s, name, &nums, &n);
        if (ans) {
            found++;
            json_t *hits = json_array();
            for (size_t h = 0; h < n && h < (size_t)o->k; h++) {
                unsigned char key[4];
                put_be32(key, nums[h]);
                MDB_val v;
                json_t *rec = store_get(&s, s.chunks, key, 4, &v) == 0
                    ? record_parse(v.mv_data, v.mv_size, &err)
                    : NULL;
                if (!rec)
                    continue;
                json_t *hit = json_object();
                record_set_int(hit, "rank", (long long)json_array_size(hits) + 1);
                const char *keys[] = {"id", "source", "page", "text"};
                for (size_t k = 0; k < sizeof keys / sizeof *keys - (o->no_text != 0); k++)
                    if (json_object_get(rec, keys[k]))
                        json_object_set(hit, keys[k], json_object_get(rec, keys[k]));
                json_array_append_new(hits, hit);
                json_decref(rec);
            }
            if (o->ndirs > 1)
                record_set_str(ans, "store", o->dirs[i]);
            json_object_set_new(ans, "hits", hits);
            struct buf b = {0};
            record_dump(&b, ans);
            if (fwrite(b.data, 1, b.len, stdout) != b.len)
                die("cannot write standard output");
            buf_free(&b);
            json_decref(ans);
        }
        free(nums);
        store_close(&s);
    }
    if (fflush(stdout) != 0)
        die("cannot write standard output");
    if (!found)
        error("%s: no such entity in the store%s", name, o->ndirs > 1 ? "s" : "");
    return found ? LODE_EXIT_OK : LODE_EXIT_FAILED;
}

/* The queries of standard input answered from the stores. */
static int answer_queries(struct program *p, const struct query_opts *o)
{
    struct query q;
    lode_error err;
    if (query_open(&q, o, &err) < 0)
        die("%s", err.msg);
    program_open(p, "query", "queries", 1, 1);
    double seconds = 0;
    json_t *rec;
    while ((rec = program_next(p))) {
        double t = now_seconds();
        int answered = query_answer(&q, rec, &err);
        if (answered < 0) {
            report_fail(&p->rep, p->in.where, record_str(rec, "qid"), "%s", err.msg);
        } else {
            p->rep.ok++;
            if (answered == 0)
                output_record(&p->out, rec);
        }
        seconds += now_seconds() - t;
        json_decref(rec);
    }
    json_t *stats = o->emit ? query_emitted(&q, &err) : NULL;
    if (o->emit && !stats)
        die("%s", err.msg);
    if (stats)
        output_record(&p->out, stats);
    json_decref(stats);
    uint64_t answered = p->rep.ok ? p->rep.ok : 1;
    buf_addf(&p->rep.summary_extra, "; %s%s, %.2f ms a query",
             o->emit ? "statistics" : query_mode_name(q.mode), o->graph ? "+graph" : "",
             1000 * seconds / (double)answered);
    if (q.sh.n > 1)
        buf_addf(&p->rep.summary_extra, ", %zu stores", q.sh.n);
    report_metric(&p->rep, "query_seconds_total", "counter", "Seconds spent answering queries.",
                  seconds);
    report_metric(&p->rep, "query_stores", "gauge", "Stores searched as one.", (double)q.sh.n);
    query_close(&q);
    return program_close(p);
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    struct cfg c = {
        .qo = {.k = 10, .ef = INT_MIN, .env_model = getenv("LODE_EMBED_MODEL"), .mmr = -1}};
    int first, rc = options(&p, &c, argc, argv, &first);
    if (!rc && c.merge)
        rc = merge_files(&p, c.qo.k, c.qo.no_text, c.qo.dedup, argv + first, argc - first);
    else if (!rc && c.entity)
        rc = answer_entity(c.entity, &c.qo);
    else if (!rc)
        rc = answer_queries(&p, &c.qo);
    filter_free(c.filter);
    free(c.filters.items);
    free(c.dirs.items);
    return rc;
}
