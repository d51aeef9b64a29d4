/* lode-rerank: query records' hits reordered by a cross-encoder (lode-rerank(1)). */
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/program.h"
#include "base/threads.h"
#include "model/bert.h"
#include "model/kernels.h"
#include "store/shards.h"

/* One (query, hit) pair. */
struct pair {
    size_t query; /* its query in the window */
    json_t *hit;
    json_t *retrieval_rank; /* the hit's rank, or its place in lode-query's list */
    int *ids, *types, len, truncated, kept[2];
    float score;
};

struct query {
    json_t *rec;
    char where[64]; /* "<stdin>:LINE", as input.h gives it */
    char *error;
    size_t first, n; /* its pairs */
};

struct run {
    struct bert model;
    int batch, jobs, top, tokenize, sigmoid;
    struct program *p;
    struct query *queries;
    size_t nq;
    struct pair *pairs;
    size_t npairs, cap;
    int *order; /* pairs, longest first */
    struct bert_work *work;
    struct team *team; /* -j threads for one batch at a time, or NULL */
    unsigned long long scored, truncated, no_text;
    double seconds;
};

static const char *query_text(const json_t *rec)
{
    const char *q = record_str(rec, "q");
    return q ? q : record_str(rec, "query");
}

/* A hit's rank in lode-query's list: its rank, else its place (from 0). */
static json_t *retrieval_rank(json_t *hit, size_t place)
{
    json_t *rank = json_object_get(hit, "rank");
    return json_is_integer(rank) ? json_incref(rank) : json_integer((json_int_t)place + 1);
}

/* The pairs of a query record: every hit with text. */
static void add_query(struct run *run, json_t *rec, const char *where)
{
    struct query *q = &run->queries[run->nq++];
    *q = (struct query){.rec = rec, .first = run->npairs};
    snprintf(q->where, sizeof q->where, "%s", where);
    json_t *hits = json_object_get(rec, "hits");
    if (!query_text(rec)) {
        q->error = xstrdup("the record has no \"q\" string");
        return;
    }
    if (!json_is_array(hits)) {
        q->error = xstrdup("the record has no \"hits\" array (lode-query writes them)");
        return;
    }
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        if (!json_is_object(h) || !json_is_string(json_object_get(h, "text")))
            continue; /* kept at the end, marked */
        if (run->npairs == run->cap) {
            run->cap = run->cap ? run->cap * 2 : 256;
            run->pairs = xreallocarray(run->pairs, run->cap, sizeof *run->pairs);
        }
        run->pairs[run->npairs++] =
            (struct pair){.query = run->nq - 1, .hit = h, .retrieval_rank = retrieval_rank(h, i)};
        q->n++;
    }
}

static void tokenize_one(void *ctx, size_t i, int worker)
{
    struct run *run = ctx;
    struct pair *pr = &run->pairs[i];
    (void)worker;
    const char *q = query_text(run->queries[pr->query].rec);
    struct buf scratch = {0};
    size_t len = 0;
    const char *text = record_chunk_text(pr->hit, &scratch, &len); /* a table's header too */
    pr->len = bert_pair_ids(&run->model, q, strlen(q), text ? text : "", len, &pr->ids, &pr->types,
                            &pr->truncated, pr->kept);
    buf_free(&scratch);
}

static int by_length(const void *a, const void *b, void *ctx)
{
    const struct run *run = ctx;
    int x = run->pairs[*(const int *)a].len, y = run->pairs[*(const int *)b].len;
    return x != y ? y - x : *(const int *)a - *(const int *)b;
}

static void score_batch(void *ctx, size_t b, int worker, struct team *team)
{
    struct run *run = ctx;
    run->work[worker].team = team;
    size_t first = b * (size_t)run->batch;
    size_t n = run->npairs - first < (size_t)run->batch ? run->npairs - first : (size_t)run->batch;
    int **ids = xmalloc(n * sizeof *ids), **types = xmalloc(n * sizeof *types);
    int *lens = xmalloc(n * sizeof *lens);
    float *out = xmalloc(n * sizeof *out);
    for (size_t k = 0; k < n; k++) {
        struct pair *pr = &run->pairs[run->order[first + k]];
        ids[k] = pr->ids;
        types[k] = pr->types;
        lens[k] = pr->len;
    }
    bert_score(&run->model, (int)n, ids, types, lens, &run->work[worker], out);
    for (size_t k = 0; k < n; k++)
        run->pairs[run->order[first + k]].score =
            run->sigmoid ? (float)(1 / (1 + exp(-(double)out[k]))) : out[k];
    free(ids);
    free(types);
    free(lens);
    free(out);
}

static int by_score(const void *a, const void *b)
{
    const struct pair *x = *(const struct pair *const *)a, *y = *(const struct pair *const *)b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x < y ? -1 : x > y; /* ties keep the retrieval order */
}

static json_t *int_array(const int *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

/* The query's hits in the re-ranker's order: scored ones best first, then
 * those without text, marked; --top keeps the best N. */
static void reorder(struct run *run, struct query *q)
{
    json_t *hits = json_object_get(q->rec, "hits");
    json_t *out = json_array();
    struct pair **v = xmalloc((q->n + 1) * sizeof *v);
    for (size_t i = 0; i < q->n; i++)
        v[i] = &run->pairs[q->first + i];
    size_t i;
    json_t *h;
    if (!run->tokenize)
        qsort(v, q->n, sizeof *v, by_score);
    for (size_t k = 0; k < q->n; k++) {
        json_t *hit = json_incref(v[k]->hit);
        if (run->tokenize) {
            json_object_set_new(hit, "ids", int_array(v[k]->ids, v[k]->len));
            json_object_set_new(hit, "token_type_ids", int_array(v[k]->types, v[k]->len));
            json_object_set_new(hit, "kept_query_pieces", json_integer(v[k]->kept[0]));
            json_object_set_new(hit, "kept_passage_pieces", json_integer(v[k]->kept[1]));
        } else {
            json_t *old = json_object_get(hit, "score");
            if (json_is_number(old))
                json_object_set(hit, "retrieval_score", old);
            json_object_set(hit, "retrieval_rank", v[k]->retrieval_rank);
            json_object_set_new(hit, "score", json_real(v[k]->score));
        }
        json_object_set_new(hit, "truncated", json_boolean(v[k]->truncated));
        json_array_append_new(out, hit);
    }
    json_array_foreach(hits, i, h)
    {
        if (json_is_object(h) && json_is_string(json_object_get(h, "text")))
            continue;
        json_t *hit = json_is_object(h) ? json_incref(h) : json_pack("{sO}", "hit", h);
        json_object_set_new(hit, "retrieval_rank", retrieval_rank(hit, i));
        record_set_str(hit, "rerank", "no text");
        json_array_append_new(out, hit);
        run->no_text++;
    }
    hits_replace(hits, out, run->top > 0 ? (size_t)run->top : SIZE_MAX);
    free(v);
}

static void window(struct run *run)
{
    if (!run->nq)
        return;
    parallel_for(run->jobs, run->npairs, tokenize_one, run);
    if (!run->tokenize && run->npairs) {
        run->order = xreallocarray(run->order, run->npairs, sizeof *run->order);
        for (size_t i = 0; i < run->npairs; i++)
            run->order[i] = (int)i;
        g_qsort_with_data(run->order, (gint)run->npairs, sizeof *run->order, by_length, run);
        size_t batches = (run->npairs + (size_t)run->batch - 1) / (size_t)run->batch;
        double t0 = now_seconds();
        kernels_run_batches(run->jobs, run->team, batches, score_batch, run);
        run->seconds += now_seconds() - t0;
        run->scored += run->npairs;
    }
    for (size_t i = 0; i < run->npairs; i++)
        run->truncated += (unsigned long long)run->pairs[i].truncated;
    for (size_t i = 0; i < run->nq; i++) {
        struct query *q = &run->queries[i];
        if (q->error) {
            const char *id = record_str(q->rec, "id");
            report_fail(&run->p->rep, q->where, id, "%s", q->error);
        } else {
            reorder(run, q);
            output_record(&run->p->out, q->rec);
            run->p->rep.ok++;
        }
        json_decref(q->rec);
        free(q->error);
    }
    for (size_t i = 0; i < run->npairs; i++) {
        free(run->pairs[i].ids);
        free(run->pairs[i].types);
        json_decref(run->pairs[i].retrieval_rank);
    }
    run->nq = 0;
    run->npairs = 0;
    program_flush(run->p);
    report_progress(&run->p->rep);
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    struct run run = {.batch = 32, .jobs = cpu_count(), .p = &p};
    const char *model = getenv("LODE_RERANK_MODEL");
    int win = 256;
    const struct opt table[] = {
        {'m', "model", OPT_STRING, &model, "DIR", "the cross-encoder (default $LODE_RERANK_MODEL)",
         0},
        {0, "top", OPT_INT, &run.top, "N", "keep the best N hits of each query (default: all)", 0},
        {'b', "batch", OPT_INT, &run.batch, "N", "pairs per batch (default 32)", 0},
        {'j', "jobs", OPT_INT, &run.jobs, "N", "threads (default: cores)", 0},
        {0, "window", OPT_INT, &win, "N",
         "queries read and scored at a time, their pairs sorted by length (default 256)", 0},
        {0, "sigmoid", OPT_FLAG, &run.sigmoid, NULL,
         "scores as 1 / (1 + e^-logit), 0..1 (sentence-transformers' CrossEncoder.predict)", 1},
        {0, "tokenize", OPT_FLAG, &run.tokenize, NULL,
         "write each hit's pair ids and token types instead of scoring it", 1},
        OPTS_COMMON(&p.common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-rerank",
        "-m MODEL [OPTION]...",
        "Reorder the hits of each query record on standard input (from lode-query) by a\n"
        "cross-encoder (BertForSequenceClassification or XLMRobertaForSequenceClassification\n"
        "with one label: ms-marco-MiniLM, bge-reranker-base, bge-reranker-v2-m3) that reads\n"
        "the query and each hit's text together: score becomes the re-ranker's,\n"
        "retrieval_score and retrieval_rank keep lode-query's.\n"
        "Output keeps the input order.",
        table,
        "Exit status: 0 all queries re-ranked, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal (the model cannot be loaded). See lode-rerank(1) and lode-records(7).\n",
    };
    opts_parse_filter(&prog, argc, argv, "queries");
    if (!model)
        return program_usage(&p, "no model: give -m DIR or set LODE_RERANK_MODEL");
    if (run.batch < 1 || run.jobs < 1 || win < 1 || run.top < 0)
        return program_usage(&p, "--batch, -j and --window must be positive, --top 0 or more");
    lode_error err;
    if (bert_load(model, &run.model, &err) < 0)
        die("cannot load the re-ranker %s: %s", model, err.msg);
    if (!run.model.classifier)
        die("%s is not a cross-encoder (config.json names no BertForSequenceClassification or "
            "XLMRobertaForSequenceClassification): "
            "lode-embed embeds with it",
            model);
    run.work = xcalloc((size_t)run.jobs, sizeof *run.work);
    run.team = run.jobs > 1 ? team_new(run.jobs) : NULL;
    run.queries = xcalloc((size_t)win, sizeof *run.queries);
    program_open(&p, "rerank", "queries", 1, 0);
    json_t *rec;
    while ((rec = program_next(&p))) {
        add_query(&run, rec, p.in.where);
        if (run.nq == (size_t)win)
            window(&run);
    }
    window(&run);
    buf_addf(&p.rep.summary_extra,
             "; %llu pairs scored, %llu truncated, %llu hits without text; "
             "%.3f s in the model, %.1f pairs/s",
             run.scored, run.truncated, run.no_text, run.seconds,
             run.seconds > 0 ? (double)run.scored / run.seconds : 0.0);
    report_metric(&p.rep, "rerank_pairs_total", "counter", "Pairs scored.", (double)run.scored);
    report_metric(&p.rep, "rerank_model_seconds", "counter", "Seconds spent in the model.",
                  run.seconds);
    for (int w = 0; w < run.jobs; w++)
        bert_work_free(&run.work[w]);
    free(run.work);
    team_free(run.team);
    free(run.queries);
    free(run.pairs);
    free(run.order);
    bert_free(&run.model);
    return program_close(&p);
}
