/* lode-generate: answers with citations (lode-generate(1)). */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "llm.h"
#include "modelpath.h"
#include "opts.h"
#include "record.h"
#include "report.h"

struct run {
    struct llm model;
    struct tokenizer hf_tok; /* a tokenizer-only Hugging Face directory */
    const struct tokenizer *tok;
    int have_model;
    struct llm_state st;
    int tokenize, special, score, logits;
    struct report rep;
    struct output out;
};

static json_t *ids_json(const int *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

/* A record's text: "text", or a plain line's "q". */
static const char *text_of(const json_t *rec, size_t *len)
{
    const char *key = record_str(rec, "text") ? "text" : "q";
    *len = record_strlen(rec, key);
    return record_str(rec, key);
}

static void tokenize(struct run *run, json_t *rec, const char *where)
{
    size_t len;
    const char *text = text_of(rec, &len);
    if (!text) {
        report_fail(&run->rep, where, record_str(rec, "id"), "the record has no \"text\" string");
        return;
    }
    int *ids;
    size_t n = tok_encode(run->tok, text, len, 1, run->special, &ids);
    json_t *toks = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(toks, json_stringn(run->tok->piece[ids[i]], run->tok->plen[ids[i]]));
    json_object_set_new(rec, "ids", ids_json(ids, n));
    json_object_set_new(rec, "tokens", toks);
    free(ids);
    output_record(&run->out, rec);
    run->rep.ok++;
}

/* The record's token ids: "ids", or "text" with BOS as the model says. */
static int *record_ids(struct run *run, json_t *rec, size_t *n, lode_error *err)
{
    json_t *a = json_object_get(rec, "ids");
    if (a) {
        if (!json_is_array(a) || json_array_size(a) == 0) {
            lode_seterr(err, "\"ids\" must be a non-empty array of token ids");
            return NULL;
        }
        *n = json_array_size(a);
        int *ids = xmalloc(sizeof *ids * *n);
        for (size_t i = 0; i < *n; i++) {
            json_t *v = json_array_get(a, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) >= run->model.vocab) {
                free(ids);
                lode_seterr(err, "\"ids\"[%zu] is not a token id of the model (0 to %d)", i,
                            run->model.vocab - 1);
                return NULL;
            }
            ids[i] = (int)json_integer_value(v);
        }
        return ids;
    }
    size_t len;
    const char *text = text_of(rec, &len);
    if (!text) {
        lode_seterr(err, "the record has neither \"text\" nor \"ids\"");
        return NULL;
    }
    int *ids;
    *n = tok_encode(run->tok, text, len, 1, run->special, &ids);
    if (*n == 0) {
        free(ids);
        lode_seterr(err, "the text has no tokens");
        return NULL;
    }
    return ids;
}

/* --score: the mean negative log-likelihood of each token after the ones
 * before it. */
static void score(struct run *run, json_t *rec, const char *where)
{
    lode_error err;
    size_t n;
    int *ids = record_ids(run, rec, &n, &err);
    if (!ids) {
        report_fail(&run->rep, where, record_str(rec, "id"), "%s", err.msg);
        return;
    }
    if ((int)n > run->st.ctx) {
        report_fail(&run->rep, where, record_str(rec, "id"),
                    "%zu tokens do not fit the context of %d (--ctx)", n, run->st.ctx);
        free(ids);
        return;
    }
    int V = run->model.vocab;
    float *logits = xmalloc(sizeof *logits * (size_t)V * n);
    run->st.n_past = 0;
    llm_eval(&run->model, &run->st, ids, (int)n, logits, 1);
    double nll = 0;
    json_t *argmax = json_array();
    for (size_t t = 0; t < n; t++) {
        const float *l = logits + t * (size_t)V;
        float mx = l[0];
        int best = 0;
        for (int i = 1; i < V; i++)
            if (l[i] > mx) {
                mx = l[i];
                best = i;
            }
        json_array_append_new(argmax, json_integer(best));
        if (t + 1 < n) {
            double sum = 0;
            for (int i = 0; i < V; i++)
                sum += exp((double)l[i] - mx);
            nll += -((double)l[ids[t + 1]] - mx - log(sum));
        }
    }
    double mean = n > 1 ? nll / (double)(n - 1) : 0;
    json_object_set_new(rec, "tokens", json_integer((json_int_t)n));
    json_object_set_new(rec, "nll", json_real(mean));
    json_object_set_new(rec, "ppl", json_real(exp(mean)));
    if (run->logits) {
        json_object_set_new(rec, "argmax", argmax);
        json_t *last = json_array();
        const float *l = logits + (n - 1) * (size_t)V;
        for (int i = 0; i < V; i++)
            json_array_append_new(last, json_real(l[i]));
        json_object_set_new(rec, "logits", last);
    } else {
        json_decref(argmax);
    }
    free(logits);
    free(ids);
    output_record(&run->out, rec);
    run->rep.ok++;
}

int main(int argc, char **argv)
{
    util_set_progname(argv[0]);
    struct common_opts common;
    common_opts_init(&common);
    struct run run;
    memset(&run, 0, sizeof run);
    const char *model = getenv("LODE_GEN_MODEL");
    int ctx = 0, threads = cpu_count();
    const struct opt table[] = {
        {'m', "model", OPT_STRING, &model, "MODEL",
         "a GGUF file, ollama:NAME[:TAG], or a Hugging Face directory (default $LODE_GEN_MODEL)", 0},
        {0, "tokenize", OPT_FLAG, &run.tokenize, NULL, "write each text's ids and tokens instead", 1},
        {0, "special", OPT_FLAG, &run.special, NULL, "recognise special tokens written in the text", 1},
        {0, "score", OPT_FLAG, &run.score, NULL,
         "write each text's mean negative log-likelihood (nll, ppl) instead", 1},
        {0, "logits", OPT_FLAG, &run.logits, NULL,
         "with --score: also argmax at every position and the last position's logits", 1},
        {0, "ctx", OPT_INT, &ctx, "N", "context size in tokens (default: the model's, at most 4096)", 0},
        {'j', "jobs", OPT_INT, &threads, "N", "threads (default: the number of cores)", 0},
        OPTS_COMMON(&common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-generate",
        "[-m MODEL] [OPTION]...",
        "Answer the queries on standard input (lode-query's output, {\"q\":...},\n"
        "{\"prompt\":...} or {\"ids\":[...]}) with a local GGUF model, citing the hits it\n"
        "was given; without a model, answer with the hits' best sentences.",
        table,
        "Exit status: 0 all records answered, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal (the model cannot be loaded). See lode-generate(1) and lode-records(7).\n",
    };
    opts_parse_filter(&prog, argc, argv, "records");
    if (threads < 1 || ctx < 0) {
        fprintf(stderr, "lode-generate: -j and --ctx must be positive\n");
        return LODE_EXIT_USAGE;
    }
    lode_error err;
    if (model) {
        char *path = model_resolve(model, &err);
        if (!path)
            die("%s", err.msg);
        if (model_is_dir(path)) {
            if (tok_from_hf(path, &run.hf_tok, &err) < 0)
                die("cannot load the tokenizer of %s: %s", path, err.msg);
            run.tok = &run.hf_tok;
        } else {
            if (llm_load(path, &run.model, &err) < 0)
                die("cannot load the model %s: %s", path, err.msg);
            run.tok = &run.model.tok;
            run.have_model = 1;
        }
        free(path);
    }
    if ((run.tokenize || run.score) && !run.tok)
        die("--tokenize and --score need a model (-m)");
    if (run.score && !run.have_model)
        die("--score needs a model's weights (a GGUF file)");
    if (run.have_model) {
        if (!ctx)
            ctx = run.model.ctx_train < 4096 ? run.model.ctx_train : 4096;
        if (llm_state_init(&run.model, &run.st, ctx, threads, &err) < 0)
            die("%s", err.msg);
    }
    report_open(&run.rep, "generate", "records", &common);
    output_init(&run.out, 1);
    struct input in;
    input_init(&in, 0, &run.rep, common.max_line, 1);
    json_t *rec;
    while ((rec = input_next(&in))) {
        if (run.tokenize)
            tokenize(&run, rec, in.where);
        else if (run.score)
            score(&run, rec, in.where);
        else
            report_fail(&run.rep, in.where, record_str(rec, "id"), "generation is not here yet");
        json_decref(rec);
        output_flush(&run.out);
        report_progress(&run.rep);
    }
    input_free(&in);
    output_close(&run.out);
    run.rep.records_out = run.out.records;
    run.rep.bytes_in = in.lr.bytes;
    if (run.have_model) {
        llm_state_free(&run.st);
        llm_free(&run.model);
    }
    if (run.hf_tok.piece)
        tok_free(&run.hf_tok);
    return report_close(&run.rep);
}
