/* lode-generate: answers with citations (lode-generate(1)). */
#include <glib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "generate/answer.h"
#include "generate/chat.h"
#include "base/program.h"
#include "store/memory.h"
#include "store/query.h"
#include "model/decoder.h"
#include "model/modelpath.h"
#include "generate/sampler.h"

struct run {
    struct decoder model;
    struct tokenizer hf_tok; /* a tokenizer-only Hugging Face directory */
    const struct tokenizer *tok;
    int have_model;
    struct decoder_state st;
    int tokenize, special, score, logits, stream, ignore_eos, max_tokens, batch, sentences,
        prompt_only;
    float temperature, top_p, min_p, repeat_penalty;
    int top_k;
    long long seed;
    struct opt_list stops;
    enum chat_format chat;
    const char *system;
    json_t *history; /* --session: the recent turns, [{role, content}], or NULL */
    struct program *p;
    unsigned long long prompt_tokens, completion_tokens;
    double prompt_seconds, completion_seconds;
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
        report_fail(&run->p->rep, where, record_str(rec, "id"),
                    "the record has no \"text\" string");
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
    output_record(&run->p->out, rec);
    run->p->rep.ok++;
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
        report_fail(&run->p->rep, where, record_str(rec, "id"), "%s", err.msg);
        return;
    }
    if ((int)n > run->st.ctx) {
        report_fail(&run->p->rep, where, record_str(rec, "id"),
                    "%zu tokens do not fit the context of %d (--ctx)", n, run->st.ctx);
        free(ids);
        return;
    }
    int V = run->model.vocab;
    float *logits = xmalloc(sizeof *logits * (size_t)V * n);
    run->st.n_past = 0;
    for (size_t at = 0; at < n; at += (size_t)run->batch) {
        size_t k = n - at < (size_t)run->batch ? n - at : (size_t)run->batch;
        decoder_eval(&run->model, &run->st, ids + at, (int)k, logits + at * (size_t)V, 1);
    }
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
    output_record(&run->p->out, rec);
    run->p->rep.ok++;
}

/* ---- generation ---- */

static const char DEFAULT_SYSTEM[] = "You are a helpful assistant. Answer briefly and accurately.";

/* The prompt's ids for a record: ids, prompt, messages, or q (with hits).
 * *prompt is filled for q with hits (the hits given). */
static size_t add_history(const struct run *run, struct chat_msg *msgs, size_t nm)
{
    for (size_t i = 0; i < json_array_size(run->history); i++) {
        json_t *m = json_array_get(run->history, i);
        msgs[nm++] = (struct chat_msg){record_str(m, "role"), record_str(m, "content")};
    }
    return nm;
}

static int *prompt_ids(struct run *run, json_t *rec, size_t *n, struct rag_prompt *rag,
                       lode_error *err)
{
    if (json_object_get(rec, "ids"))
        return record_ids(run, rec, n, err);
    const char *raw = record_str(rec, "prompt");
    if (raw) {
        int *ids;
        *n = tok_encode(run->tok, raw, record_strlen(rec, "prompt"), 1, run->special, &ids);
        return ids;
    }
    struct chat_msg *msgs = NULL;
    size_t nm = 0;
    json_t *ma = json_object_get(rec, "messages");
    if (ma) {
        if (!json_is_array(ma) || json_array_size(ma) == 0) {
            lode_seterr(err, "\"messages\" must be a non-empty array of {role, content}");
            return NULL;
        }
        msgs = xcalloc(json_array_size(ma) + 1, sizeof *msgs);
        for (size_t i = 0; i < json_array_size(ma); i++) {
            json_t *m = json_array_get(ma, i);
            const char *role = record_str(m, "role"), *content = record_str(m, "content");
            if (!role || !content ||
                (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))) {
                free(msgs);
                lode_seterr(err, "messages[%zu] needs a role (system, user, assistant) and content",
                            i);
                return NULL;
            }
            msgs[nm++] = (struct chat_msg){role, content};
        }
    } else {
        const char *q = record_str(rec, "q");
        if (!q) {
            lode_seterr(err, "the record has no \"q\", \"prompt\", \"messages\" or \"ids\"");
            return NULL;
        }
        size_t nh = json_array_size(run->history);
        msgs = xcalloc(3 + nh, sizeof *msgs);
        /* the session's recent turns go between the system prompt and the
         * question, and come out of the hits' budget */
        size_t hist_tokens = 0;
        for (size_t i = 0; i < nh; i++) {
            int *hid;
            const char *c = record_str(json_array_get(run->history, i), "content");
            hist_tokens += tok_encode(run->tok, c ? c : "", c ? strlen(c) : 0, 0, 0, &hid) + 8;
            free(hid);
        }
        if (json_is_array(json_object_get(rec, "hits"))) {
            size_t budget = (size_t)run->st.ctx > (size_t)run->max_tokens + 64 + hist_tokens
                ? (size_t)run->st.ctx - (size_t)run->max_tokens - 64 - hist_tokens
                : 0;
            if (answer_prompt(run->tok, rec, budget, rag) < 0) {
                free(msgs);
                lode_seterr(err,
                            "the question alone does not fit: %zu tokens are left for the "
                            "prompt of the context of %d (--ctx) less --max-tokens %d, %zu of "
                            "conversation and 64 for the template",
                            budget, run->st.ctx, run->max_tokens, hist_tokens);
                return NULL;
            }
            msgs[nm++] = (struct chat_msg){"system", run->system ? run->system : rag->system};
            nm = add_history(run, msgs, nm);
            msgs[nm++] = (struct chat_msg){"user", rag->user};
        } else {
            msgs[nm++] = (struct chat_msg){"system", run->system ? run->system : DEFAULT_SYSTEM};
            nm = add_history(run, msgs, nm);
            msgs[nm++] = (struct chat_msg){"user", q};
        }
    }
    char *allow;
    size_t len;
    char *text = chat_render(run->chat, msgs, nm, &allow, &len);
    int *ids;
    *n = tok_encode_masked(run->tok, text, len, 1, allow, &ids);
    g_free(text);
    g_free(allow);
    free(msgs);
    return ids;
}

/* Text may end inside a stop string: how much of it is safe to show. */
static size_t settled(const struct run *run, const GString *text)
{
    size_t hold = 0;
    for (size_t i = 0; i < run->stops.n; i++) {
        size_t l = strlen(run->stops.items[i]);
        hold = l > hold ? l : hold;
    }
    return hold && text->len >= hold - 1 ? text->len - (hold - 1) : hold ? 0 : text->len;
}

static void generate(struct run *run, json_t *rec, const char *where)
{
    lode_error err;
    size_t n;
    struct rag_prompt rag = {0};
    int *ids = prompt_ids(run, rec, &n, &rag, &err);
    if (!ids) {
        report_fail(&run->p->rep, where, record_str(rec, "id"), "%s", err.msg);
        answer_prompt_free(&rag);
        return;
    }
    if (n == 0 || (int)n >= run->st.ctx) {
        report_fail(&run->p->rep, where, record_str(rec, "id"),
                    "a prompt of %zu tokens does not fit the context of %d (--ctx)", n,
                    run->st.ctx);
        free(ids);
        answer_prompt_free(&rag);
        return;
    }
    if (run->prompt_only) {
        GString *p = g_string_new(NULL);
        for (size_t i = 0; i < n; i++)
            tok_piece(run->tok, ids[i], p);
        record_set_text(rec, "prompt", p->str, p->len);
        json_object_set_new(rec, "prompt_tokens", json_integer((json_int_t)n));
        if (rag.given) {
            json_object_set_new(rec, "hits_given", json_integer(rag.given));
            json_object_set_new(rec, "hit_cut", json_boolean(rag.cut));
        }
        g_string_free(p, TRUE);
        free(ids);
        answer_prompt_free(&rag);
        output_record(&run->p->out, rec);
        run->p->rep.ok++;
        return;
    }
    int V = run->model.vocab;
    float *logits = xmalloc(sizeof *logits * (size_t)V);
    struct sampler sm;
    sampler_init(&sm, run->temperature, run->top_k, run->top_p, run->min_p, run->repeat_penalty,
                 (uint64_t)run->seed);
    for (size_t i = 0; i < n; i++)
        sampler_accept(&sm, ids[i]);
    double t0 = now_seconds();
    decoder_prefill(&run->model, &run->st, ids, n, (size_t)run->batch, logits);
    double t1 = now_seconds();
    GString *text = g_string_new(NULL);
    json_t *out_ids = json_array();
    const char *finish = "length";
    size_t shown = 0;
    int produced = 0;
    while (produced < run->max_tokens) {
        int tok = sampler_next(&sm, logits, V);
        if (tok_is_eog(run->tok, tok) && !run->ignore_eos) {
            finish = "eos";
            break;
        }
        produced++;
        sampler_accept(&sm, tok);
        json_array_append_new(out_ids, json_integer(tok));
        size_t before = text->len;
        tok_piece(run->tok, tok, text);
        int stopped = 0;
        for (size_t i = 0; i < run->stops.n && !stopped; i++) {
            size_t l = strlen(run->stops.items[i]);
            size_t from = before >= l ? before - l + 1 : 0;
            char *hit =
                g_strstr_len(text->str + from, (gssize)(text->len - from), run->stops.items[i]);
            if (hit) {
                g_string_truncate(text, (gsize)(hit - text->str));
                stopped = 1;
            }
        }
        if (run->stream) {
            size_t ready = stopped ? text->len : settled(run, text);
            if (ready > shown) {
                fwrite(text->str + shown, 1, ready - shown, stderr);
                fflush(stderr);
                shown = ready;
            }
        }
        if (stopped) {
            finish = "stop";
            break;
        }
        if (produced == run->max_tokens || run->st.n_past >= run->st.ctx)
            break;
        decoder_eval(&run->model, &run->st, &tok, 1, logits, 0);
    }
    double t2 = now_seconds();
    if (run->stream) {
        if (text->len > shown)
            fwrite(text->str + shown, 1, text->len - shown, stderr);
        fputc('\n', stderr);
    }
    /* SentencePiece answers begin with the space of their first piece */
    size_t lead = run->tok->kind == TOK_SPM && text->len && text->str[0] == ' ' &&
        !json_object_get(rec, "ids") && !record_str(rec, "prompt");
    record_set_text(rec, "answer", text->str + lead, text->len - lead);
    if (rag.given)
        json_object_set_new(rec, "citations", answer_citations(text->str, rag.hits, rag.given));
    if (json_object_get(rec, "ids"))
        json_object_set_new(rec, "answer_ids", out_ids);
    else
        json_decref(out_ids);
    json_object_set_new(rec, "finish", json_string(finish));
    json_object_set_new(rec, "usage",
                        json_pack("{s:I,s:I,s:f,s:f}", "prompt_tokens", (json_int_t)n,
                                  "completion_tokens", (json_int_t)produced, "prompt_seconds",
                                  t1 - t0, "completion_seconds", t2 - t1));
    record_set_str(rec, "model", run->model.id);
    run->prompt_tokens += n;
    run->completion_tokens += (unsigned long long)produced;
    run->prompt_seconds += t1 - t0;
    run->completion_seconds += t2 - t1;
    g_string_free(text, TRUE);
    sampler_free(&sm);
    free(logits);
    free(ids);
    answer_prompt_free(&rag);
    output_record(&run->p->out, rec);
    run->p->rep.ok++;
}

static void extractive(struct run *run, json_t *rec, const char *where)
{
    if (!record_str(rec, "q") || !json_is_array(json_object_get(rec, "hits"))) {
        report_fail(&run->p->rep, where, record_str(rec, "id"),
                    "without a model (-m) only query results (q and hits) can be answered");
        return;
    }
    json_t *cites;
    char *answer = answer_extractive(rec, run->sentences, &cites);
    record_set_str(rec, "answer", answer);
    json_object_set_new(rec, "citations", cites);
    record_set_str(rec, "mode", "extractive");
    free(answer);
    output_record(&run->p->out, rec);
    run->p->rep.ok++;
}

struct cfg {
    const char *model, *tmpl, *seed;
    int ctx, threads, fmt;
    double temperature, top_p, min_p, repeat;
    struct opt_list loras;
    /* --session */
    const char *store, *session, *remember;
    int pin, recent, k;
    double forget_after;
};

/* Parses and checks the options into run and c: 0, or the exit status of
 * a usage error. */
static int options(struct program *p, struct run *run, struct cfg *c, int argc, char **argv)
{
    const struct opt table[] = {
        {'m', "model", OPT_STRING, &c->model, "MODEL",
         "a GGUF file, ollama:NAME[:TAG], or a Hugging Face directory (default $LODE_GEN_MODEL)",
         0},
        {0, "lora", OPT_LIST, &c->loras, "FILE[:SCALE]",
         "apply a LoRA adapter (llama.cpp's GGUF layout), scaled (default 1); repeatable", 0},
        {0, "tokenize", OPT_FLAG, &run->tokenize, NULL, "write each text's ids and tokens instead",
         1},
        {0, "special", OPT_FLAG, &run->special, NULL,
         "recognise special tokens written in the text", 1},
        {0, "score", OPT_FLAG, &run->score, NULL,
         "write each text's mean negative log-likelihood (nll, ppl) instead", 1},
        {0, "logits", OPT_FLAG, &run->logits, NULL,
         "with --score: also argmax at every position and the last position's logits", 1},
        {0, "max-tokens", OPT_INT, &run->max_tokens, "N",
         "tokens to generate at most (default 512, a quarter of a smaller --ctx than 2048)", 0},
        {0, "temperature", OPT_DOUBLE, &c->temperature, "T",
         "sampling temperature; 0 is greedy (default 0.2)", 0},
        {0, "top-k", OPT_INT, &run->top_k, "N",
         "sample from the N likeliest tokens (default 40; 0: all)", 0},
        {0, "top-p", OPT_DOUBLE, &c->top_p, "P",
         "... whose probabilities add up to P (default 0.95)", 0},
        {0, "min-p", OPT_DOUBLE, &c->min_p, "P",
         "... at least P times as likely as the best (default 0.05)", 0},
        {0, "repeat-penalty", OPT_DOUBLE, &c->repeat, "R",
         "divide the logits of the last 64 tokens by R (default 1: off)", 0},
        {0, "seed", OPT_STRING, &c->seed, "N",
         "the sampler's seed (default 0): the same seed, the same text", 0},
        {0, "stop", OPT_LIST, &run->stops, "STR", "end the answer where STR appears (repeatable)",
         0},
        {0, "ignore-eos", OPT_FLAG, &run->ignore_eos, NULL,
         "go on past end-of-turn tokens to --max-tokens", 1},
        {0, "template", OPT_STRING, &c->tmpl, "NAME",
         "chat template: chatml, llama3, llama2, mistral, phi3, gemma or plain (default: the "
         "model's)",
         0},
        {0, "system", OPT_STRING, &run->system, "TEXT", "the system prompt instead of lode's", 0},
        {0, "stream", OPT_FLAG, &run->stream, NULL,
         "print each answer to standard error as it is generated", 1},
        {0, "prompt-only", OPT_FLAG, &run->prompt_only, NULL,
         "write the prompt the model would get (prompt, prompt_tokens) instead of answering", 1},
        {0, "sentences", OPT_INT, &run->sentences, "N",
         "without a model: sentences in an answer (default 3)", 0},
        {0, "ctx", OPT_INT, &c->ctx, "N",
         "context size in tokens (default: the model's, at most 4096)", 0},
        {0, "batch", OPT_INT, &run->batch, "N", "prompt tokens run at once (default 512)", 0},
        {'j', "jobs", OPT_INT, &c->threads, "N", "threads (default: the number of cores)", 0},
        {'s', "store", OPT_STRING, &c->store, "DIR",
         "with --session: the store searched and written (default $LODE_STORE)", 0},
        {0, "session", OPT_STRING, &c->session, "NAME",
         "a conversation: search the store for each question, remember every turn in it", 0},
        {'k', "top-k", OPT_INT, &c->k, "N", "with --session: hits from the store (default 5)", 0},
        {0, "recent", OPT_INT, &c->recent, "N",
         "with --session: turns given to the model verbatim (default 4)", 0},
        {0, "remember", OPT_STRING, &c->remember, "TEXT",
         "with --session: keep TEXT as a note that never expires, and exit", 0},
        {0, "pin", OPT_FLAG, &c->pin, NULL, "with --session: keep this run's answers for good", 1},
        {0, "forget-after", OPT_DOUBLE, &c->forget_after, "DAYS",
         "with --session: forget the turns older than DAYS that are not kept (0: all)", 0},
        OPTS_COMMON(&p->common),
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
    run->temperature = (float)c->temperature;
    run->top_p = (float)c->top_p;
    run->min_p = (float)c->min_p;
    run->repeat_penalty = (float)c->repeat;
    char *end = NULL;
    if (c->seed)
        run->seed = strtoll(c->seed, &end, 10);
    int empty_stop = 0;
    for (size_t i = 0; i < run->stops.n; i++)
        empty_stop |= !*run->stops.items[i];
    c->fmt = c->tmpl ? chat_format_by_name(c->tmpl) : 0;
    int rc = 0;
    if (c->threads < 1 || (c->ctx != INT_MIN && c->ctx < 1) ||
        (run->max_tokens != INT_MIN && run->max_tokens < 1) || run->batch < 1 || run->top_k < 0 ||
        c->temperature < 0 || c->top_p <= 0 || c->top_p > 1 || c->min_p < 0 || c->min_p > 1 ||
        c->repeat <= 0 || run->sentences < 1)
        rc = program_usage(p,
                           "-j, --ctx, --max-tokens, --batch and --sentences must be positive, "
                           "--temperature at least 0, --top-p and --min-p from 0 to 1");
    else if (c->seed && (!*c->seed || *end))
        rc = program_usage(p, "--seed takes an integer");
    else if (empty_stop)
        rc = program_usage(p, "--stop takes a non-empty string");
    else if (c->fmt < 0)
        rc = program_usage(p, "--template takes one of %s", chat_format_names());
    else if (!c->session &&
             (c->remember || c->pin || c->forget_after != -1 || c->k != INT_MIN ||
              c->recent != INT_MIN))
        rc = program_usage(p,
                           "--remember, --pin, --forget-after, -k and --recent go with --session");
    else if (c->session && !c->store)
        rc = program_usage(p, "--session needs a store: give -s DIR or set LODE_STORE");
    else if (c->session && (!*c->session || strchr(c->session, '#')))
        rc = program_usage(p, "--session takes a name without '#'");
    else if (c->session &&
             ((c->k != INT_MIN && (c->k < 1 || c->k > 1000)) ||
              (c->recent != INT_MIN && c->recent < 0) ||
              !(c->forget_after >= 0 || c->forget_after == -1)))
        rc = program_usage(p,
                           "-k takes 1 to 1000, --recent 0 or more, --forget-after 0 or more days");
    if (rc)
        free(run->stops.items);
    return rc;
}

/* -m: a GGUF model (its weights, adapters and state) or a tokenizer-only
 * directory; what each mode needs of it. */
static struct lora *load(struct run *run, struct cfg *c)
{
    lode_error err;
    if (c->model) {
        char *path = model_resolve(c->model, &err);
        if (!path)
            die("%s", err.msg);
        if (model_is_dir(path)) {
            if (tok_from_hf(path, &run->hf_tok, &err) < 0)
                die("cannot load the tokenizer of %s: %s", path, err.msg);
            run->tok = &run->hf_tok;
        } else {
            if (decoder_load(path, &run->model, &err) < 0)
                die("cannot load the model %s: %s", path, err.msg);
            run->tok = &run->model.tok;
            run->have_model = 1;
        }
        free(path);
    }
    if (c->loras.n && !run->have_model)
        die("--lora needs a model's weights (-m with a GGUF file)");
    struct lora *adapters = lora_load_all(&run->model, c->loras.items, c->loras.n, &err);
    if (!adapters)
        die("cannot apply the adapter: %s", err.msg);
    if ((run->tokenize || run->score) && !run->tok)
        die("--tokenize and --score need a model (-m)");
    if (run->score && !run->have_model)
        die("--score needs a model's weights (a GGUF file)");
    if (run->have_model) {
        int ctx = c->ctx != INT_MIN       ? c->ctx
            : run->model.ctx_train < 4096 ? run->model.ctx_train
                                          : 4096; /* not given: the model's, at most 4096 */
        if (decoder_state_init(&run->model, &run->st, ctx, c->threads, &err) < 0)
            die("%s", err.msg);
        /* not given: 512, or a quarter of a small context (the prompt needs the rest) */
        if (run->max_tokens == INT_MIN)
            run->max_tokens = ctx < 2048 ? (ctx / 4 > 1 ? ctx / 4 : 1) : 512;
        run->chat =
            c->tmpl ? (enum chat_format)c->fmt : chat_detect(run->model.chat_template, run->tok);
    }
    if (!run->have_model && !run->tokenize && run->tok)
        die("%s has a tokenizer but no weights: lode-generate runs GGUF models", c->model);
    return adapters;
}

static void summary(struct run *run)
{
    struct report *r = &run->p->rep;
    if (!run->completion_tokens && !run->prompt_tokens)
        return;
    buf_addf(&r->summary_extra, "; %llu prompt tokens at %.1f/s, %llu generated at %.1f/s",
             run->prompt_tokens,
             run->prompt_seconds > 0 ? run->prompt_tokens / run->prompt_seconds : 0,
             run->completion_tokens,
             run->completion_seconds > 0 ? run->completion_tokens / run->completion_seconds : 0);
    report_metric(r, "generate_prompt_tokens_total", "counter", "Prompt tokens processed.",
                  (double)run->prompt_tokens);
    report_metric(r, "generate_completion_tokens_total", "counter", "Tokens generated.",
                  (double)run->completion_tokens);
    report_metric(r, "generate_prompt_seconds_total", "counter",
                  "Seconds spent processing prompts.", run->prompt_seconds);
    report_metric(r, "generate_completion_seconds_total", "counter", "Seconds spent generating.",
                  run->completion_seconds);
}

/* --session: each question searched in the store with the conversation's
 * earlier turns, answered, and remembered. */
static void converse(struct run *run, struct cfg *c)
{
    struct program *p = run->p;
    lode_error err;
    struct session sess;
    if (memory_load(c->store, c->session, &sess, &err) < 0)
        die("%s", err.msg);
    double now = (double)time(NULL);
    int k = c->k == INT_MIN ? 5 : c->k, recent = c->recent == INT_MIN ? 4 : c->recent;
    if (c->forget_after >= 0 && memory_forget(&sess, c->forget_after, now) &&
        memory_save(c->store, &sess, &err) < 0)
        die("%s", err.msg);
    if (c->remember) {
        memory_add(&sess, "", NULL, c->remember, NULL, now, 1); /* a note: no question */
        if (memory_save(c->store, &sess, &err) < 0)
            die("%s", err.msg);
        p->rep.ok++;
        memory_free(&sess);
        return;
    }
    char *dirs[1] = {(char *)c->store};
    struct query_opts qo = {.dirs = dirs,
                            .ndirs = 1,
                            .k = k,
                            .ef = 64,
                            .mmr = -1,
                            .env_model = getenv("LODE_EMBED_MODEL"),
                            .memory = QUERY_MEMORY_SESSION, /* another session's turns left out */
                            .session = c->session};
    json_t *rec;
    while ((rec = program_next(p))) {
        const char *q = record_str(rec, "q");
        if (!q) {
            report_fail(&p->rep, p->in.where, record_str(rec, "qid"),
                        "the record has no \"q\" (a question) for the session");
            json_decref(rec);
            continue;
        }
        /* a follow-up made standalone: by the model when there is one, else
         * by the last question's words */
        char *standalone = NULL;
        for (size_t t = sess.n; run->have_model && t-- > 0 && !standalone;)
            if (*sess.t[t].question)
                standalone = answer_standalone(&run->model, &run->st, (int)run->chat,
                                               sess.t[t].standalone, q);
        if (!standalone)
            standalone = memory_standalone(&sess, q);
        /* the store: documents and this conversation's turns (another
         * session's are left out); opened per question, as the turn is
         * written between */
        struct query qy;
        json_t *qrec = json_pack("{s:s}", "q", standalone);
        if (query_open(&qy, &qo, &err) < 0 || query_answer(&qy, qrec, &err) < 0)
            die("%s", err.msg);
        query_close(&qy);
        json_object_set(rec, "hits", json_object_get(qrec, "hits"));
        json_decref(qrec);
        if (strcmp(standalone, q))
            record_set_str(rec, "standalone", standalone);
        record_set_str(rec, "session", c->session);
        /* the recent turns, verbatim, for the model */
        json_decref(run->history);
        run->history = json_array();
        for (size_t t = 0; t < sess.n; t++) /* every note, the recent turns */
            if (!*sess.t[t].question) {
                char *note = xasprintf("Note: %s", sess.t[t].answer);
                json_array_append_new(run->history,
                                      json_pack("{s:s,s:s}", "role", "user", "content", note));
                free(note);
            }
        for (size_t t = sess.n > (size_t)recent ? sess.n - (size_t)recent : 0; t < sess.n; t++) {
            if (!*sess.t[t].question)
                continue;
            json_array_append_new(
                run->history,
                json_pack("{s:s,s:s}", "role", "user", "content", sess.t[t].question));
            json_array_append_new(
                run->history,
                json_pack("{s:s,s:s}", "role", "assistant", "content", sess.t[t].answer));
        }
        unsigned long long ok = p->rep.ok;
        if (run->have_model)
            generate(run, rec, p->in.where);
        else
            extractive(run, rec, p->in.where);
        if (p->rep.ok > ok) {
            json_t *cites = json_object_get(rec, "citations");
            memory_add(&sess, q, standalone, record_str(rec, "answer"),
                       cites ? json_deep_copy(cites) : NULL, (double)time(NULL), c->pin);
            if (memory_save(c->store, &sess, &err) < 0)
                die("%s", err.msg);
        }
        free(standalone);
        json_decref(rec);
    }
    json_decref(run->history);
    run->history = NULL;
    memory_free(&sess);
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    struct run run = {.max_tokens = INT_MIN, .batch = 512, .top_k = 40, .sentences = 3, .p = &p};
    struct cfg c = {.model = getenv("LODE_GEN_MODEL"),
                    .store = getenv("LODE_STORE"),
                    .k = INT_MIN,
                    .recent = INT_MIN,
                    .forget_after = -1,
                    .threads = cpu_count(),
                    .temperature = 0.2,
                    .top_p = 0.95,
                    .min_p = 0.05,
                    .repeat = 1.0,
                    .ctx = INT_MIN};
    int rc = options(&p, &run, &c, argc, argv);
    if (rc)
        return rc;
    struct lora *adapters = load(&run, &c);
    program_open(&p, "generate", "records", 1, 1);
    json_t *rec;
    if (c.session)
        converse(&run, &c);
    while (!c.session && (rec = program_next(&p))) {
        if (run.tokenize)
            tokenize(&run, rec, p.in.where);
        else if (run.score)
            score(&run, rec, p.in.where);
        else if (run.have_model)
            generate(&run, rec, p.in.where);
        else
            extractive(&run, rec, p.in.where);
        json_decref(rec);
    }
    summary(&run);
    free(run.stops.items);
    if (run.have_model) {
        decoder_state_free(&run.st);
        decoder_free(&run.model);
    }
    lora_free_all(adapters, c.loras.n);
    free(c.loras.items);
    if (run.hf_tok.piece)
        tok_free(&run.hf_tok);
    return program_close(&p);
}
