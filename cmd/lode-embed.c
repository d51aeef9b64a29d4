/* lode-embed: sentence embeddings for records (lode-embed(1)). */
#include <errno.h>
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bert.h"
#include "base/buf.h"
#include "model/kernels.h"
#include "base/program.h"
#include "base/threads.h"

/* a slow stream: the longest a record waits for its window to fill */
#define HOLD_SECONDS 0.2

struct item {
    json_t *rec;
    char *error;    /* why it cannot be embedded */
    char where[64]; /* "<stdin>:LINE", as input.h gives it */
    int *ids;
    int len, truncated;
};

struct run {
    struct bert model;
    const char *field, *prefix;
    int json_vec, tokenize, batch, jobs;
    struct program *p;
    struct item *items;
    size_t n;
    int *order; /* items with ids, longest first */
    size_t nordered;
    float *vecs;            /* [n][hidden] */
    struct bert_work *work; /* one per worker */
    struct team *team;      /* -j threads for one batch at a time, or NULL */
    unsigned long long truncated, embedded;
    double seconds; /* in the model, all windows together */
};

/* What is embedded: the field, or for "text" a chunk's table header and
 * text (record_chunk_text). */
static const char *field_text(const struct run *run, const json_t *rec, struct buf *scratch,
                              size_t *len)
{
    if (!strcmp(run->field, "text"))
        return record_chunk_text(rec, scratch, len);
    json_t *f = json_object_get(rec, run->field);
    if (!json_is_string(f))
        return NULL;
    *len = json_string_length(f);
    return json_string_value(f);
}

static void tokenize_one(void *ctx, size_t i, int worker)
{
    struct run *run = ctx;
    struct item *it = &run->items[i];
    (void)worker;
    size_t len;
    struct buf scratch = {0};
    const char *text = field_text(run, it->rec, &scratch, &len);
    if (!text) {
        it->error = xasprintf("the record has no \"%s\" string", run->field);
        return;
    }
    it->len = bert_ids(&run->model, run->prefix, text, len, &it->ids, &it->truncated);
    buf_free(&scratch);
}

static int by_length(const void *a, const void *b, void *ctx)
{
    const struct run *run = ctx;
    int x = run->items[*(const int *)a].len, y = run->items[*(const int *)b].len;
    return x != y ? y - x : *(const int *)a - *(const int *)b;
}

static void embed_batch(void *ctx, size_t b, int worker, struct team *team)
{
    struct run *run = ctx;
    run->work[worker].team = team;
    size_t first = b * (size_t)run->batch;
    size_t n =
        run->nordered - first < (size_t)run->batch ? run->nordered - first : (size_t)run->batch;
    int **ids = xmalloc(n * sizeof *ids);
    int *lens = xmalloc(n * sizeof *lens);
    float *out = xmalloc(n * (size_t)run->model.hidden * sizeof *out);
    for (size_t k = 0; k < n; k++) {
        struct item *it = &run->items[run->order[first + k]];
        ids[k] = it->ids;
        lens[k] = it->len;
    }
    bert_forward(&run->model, (int)n, ids, lens, &run->work[worker], out);
    for (size_t k = 0; k < n; k++)
        memcpy(run->vecs + (size_t)run->order[first + k] * run->model.hidden,
               out + k * (size_t)run->model.hidden, sizeof(float) * (size_t)run->model.hidden);
    free(ids);
    free(lens);
    free(out);
}

static void set_vector(struct run *run, json_t *rec, const float *v)
{
    int d = run->model.hidden;
    record_set_vector(rec, v, d, run->json_vec);
    record_set_int(rec, "dim", d);
    record_set_str(rec, "model", run->model.id);
}

static void tokens_out(struct run *run, struct item *it)
{
    size_t len = 0;
    struct buf scratch = {0};
    const char *text = field_text(run, it->rec, &scratch, &len);
    int *t;
    size_t n = bert_tokens(&run->model, text ? text : "", len, &t);
    buf_free(&scratch);
    json_t *ids = json_array(), *toks = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(ids, json_integer(t[i]));
        json_array_append_new(toks, json_string(bert_piece(&run->model, t[i])));
    }
    json_object_set_new(it->rec, "ids", ids);
    json_object_set_new(it->rec, "tokens", toks);
    free(t);
}

static void window(struct run *run)
{
    if (!run->n)
        return;
    if (!run->tokenize) {
        parallel_for(run->jobs, run->n, tokenize_one, run);
        run->order = xreallocarray(run->order, run->n, sizeof *run->order);
        run->nordered = 0;
        for (size_t i = 0; i < run->n; i++)
            if (!run->items[i].error)
                run->order[run->nordered++] = (int)i;
        g_qsort_with_data(run->order, (gint)run->nordered, sizeof *run->order, by_length, run);
        run->vecs = xreallocarray(run->vecs, run->n, sizeof(float) * (size_t)run->model.hidden);
        size_t batches = (run->nordered + (size_t)run->batch - 1) / (size_t)run->batch;
        double t0 = now_seconds();
        kernels_run_batches(run->jobs, run->team, batches, embed_batch, run);
        run->seconds += now_seconds() - t0;
        run->embedded += run->nordered;
    }
    for (size_t i = 0; i < run->n; i++) {
        struct item *it = &run->items[i];
        if (it->error) {
            const char *source = record_str(it->rec, "source");
            report_fail(&run->p->rep, source ? source : it->where, record_str(it->rec, "id"), "%s",
                        it->error);
        } else if (run->tokenize) {
            if (!json_is_string(json_object_get(it->rec, run->field))) {
                report_fail(&run->p->rep, it->where, record_str(it->rec, "id"),
                            "the record has no \"%s\" string", run->field);
            } else {
                tokens_out(run, it);
                output_record(&run->p->out, it->rec);
                run->p->rep.ok++;
            }
        } else {
            set_vector(run, it->rec, run->vecs + i * (size_t)run->model.hidden);
            json_object_set_new(it->rec, "truncated", json_boolean(it->truncated));
            run->truncated += (unsigned long long)it->truncated;
            output_record(&run->p->out, it->rec);
            run->p->rep.ok++;
        }
        json_decref(it->rec);
        free(it->error);
        free(it->ids);
    }
    run->n = 0;
    program_flush(run->p);
    report_progress(&run->p->rep);
}

/* -m's model, the prompt texts get, and a worker's buffers for each job */
static void load_model(struct run *run, const char *model, int query, int int8)
{
    lode_error err;
    if (bert_load_encoder(model, &run->model, &err) < 0)
        die("cannot load the model %s: %s", model, err.msg);
    if (int8 && bert_quantize(&run->model, &err) < 0)
        die("%s: --quantize int8: %s", model, err.msg);
    if (query && !run->prefix) {
        run->prefix = run->model.query_prompt;
        if (!run->prefix)
            warning("the model defines no query prompt; texts are embedded as they are "
                    "(give --prefix if it wants one)");
    } else if (!run->prefix) {
        run->prefix = run->model.default_prompt;
    }
    run->work = xcalloc((size_t)run->jobs, sizeof *run->work);
    run->team = run->jobs > 1 ? team_new(run->jobs) : NULL;
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    struct run run = {.field = "text", .batch = 32, .jobs = cpu_count(), .p = &p};
    const char *model = getenv("LODE_EMBED_MODEL");
    int query = 0, win = 4096;
    const char *quantize = NULL;
    const struct opt table[] = {
        {'m', "model", OPT_STRING, &model, "DIR", "the embedding model (default $LODE_EMBED_MODEL)",
         0},
        {'f', "field", OPT_STRING, &run.field, "F", "embed this field instead of text", 0},
        {0, "json-vec", OPT_FLAG, &run.json_vec, NULL,
         "write the vector as a JSON array in embedding instead of base64 in vec", 1},
        {0, "query", OPT_FLAG, &query, NULL,
         "the records are queries: use the model's query prompt", 1},
        {0, "prefix", OPT_STRING, &run.prefix, "STR",
         "put STR before every text (e.g. \"query: \")", 0},
        {'b', "batch", OPT_INT, &run.batch, "N", "texts per batch (default 32)", 0},
        {'j', "jobs", OPT_INT, &run.jobs, "N", "threads (default: cores)", 0},
        {0, "window", OPT_INT, &win, "N",
         "records read, sorted by length and embedded at a time (default 4096)", 0},
        {0, "quantize", OPT_STRING, &quantize, "TYPE",
         "f32 (default) or int8: the layers' matrices as 8-bit rows (faster, cosine >= 0.999)", 0},
        {0, "tokenize", OPT_FLAG, &run.tokenize, NULL,
         "write each record's ids and tokens instead of embedding it", 1},
        OPTS_COMMON(&p.common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-embed",
        "-m MODEL [OPTION]...",
        "Add a sentence embedding to each record on standard input (vec, dim, model,\n"
        "truncated), computed by a BERT-family encoder in sentence-transformers layout\n"
        "(all-MiniLM-L6-v2, bge, e5, gte). Output keeps the input order.",
        table,
        "Exit status: 0 all records embedded, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal (the model cannot be loaded). See lode-embed(1) and lode-records(7).\n",
    };
    opts_parse_filter(&prog, argc, argv, "records");
    if (!model)
        return program_usage(&p, "no model: give -m DIR or set LODE_EMBED_MODEL");
    if (run.batch < 1 || run.jobs < 1 || win < 1)
        return program_usage(&p, "--batch, -j and --window must be positive");
    if (quantize && strcmp(quantize, "f32") && strcmp(quantize, "int8"))
        return program_usage(&p, "--quantize takes f32 or int8");
    load_model(&run, model, query, quantize && !strcmp(quantize, "int8"));
    run.items = xcalloc((size_t)win, sizeof *run.items);
    program_open(&p, "embed", "records", 1, 0);
    json_t *rec;
    double held_since = 0; /* when the window's first record came */
    for (;;) {
        /* a slow stream: a record waits at most HOLD_SECONDS for its window */
        if (run.n && !program_wait(&p, held_since + HOLD_SECONDS - now_seconds()))
            window(&run);
        if (!(rec = program_next(&p)))
            break;
        if (!run.n)
            held_since = now_seconds();
        /* a window of records, embedded longest first, written in order */
        struct item *it = &run.items[run.n++];
        *it = (struct item){.rec = rec};
        snprintf(it->where, sizeof it->where, "%s", p.in.where);
        if (run.n == (size_t)win)
            window(&run);
    }
    window(&run);
    if (!run.tokenize)
        buf_addf(&p.rep.summary_extra,
                 "; %llu truncated to %d tokens; %.3f s in the model, %.1f texts/s", run.truncated,
                 run.model.max_seq, run.seconds,
                 run.seconds > 0 ? (double)run.embedded / run.seconds : 0.0);
    report_metric(&p.rep, "embed_model_seconds", "counter",
                  "Seconds spent in the model (tokenising and I/O not included).", run.seconds);
    report_metric(&p.rep, "embed_truncated_total", "counter", "Texts cut to the model's window.",
                  (double)run.truncated);
    for (int w = 0; w < run.jobs; w++)
        bert_work_free(&run.work[w]);
    free(run.work);
    team_free(run.team);
    free(run.items);
    free(run.order);
    free(run.vecs);
    bert_free(&run.model);
    return program_close(&p);
}
