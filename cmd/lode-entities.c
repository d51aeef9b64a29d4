/* lode-entities: entities and relations added to chunk records
 * (lode-entities(1)). */
#include <jansson.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/program.h"
#include "base/threads.h"
#include "generate/chat.h"
#include "generate/jsonc.h"
#include "model/decoder.h"
#include "model/modelpath.h"
#include "model/tokenizer.h"
#include "text/entities.h"

/* -m: a local generator asked for triples, its decoding held to their
 * JSON shape (jsonc.h) */
struct llm {
    struct decoder m;
    struct decoder_state st;
    struct jsonc_vocab *v;
    enum chat_format chat;
    int max_tokens;
};

static const char PROMPT[] =
    "List the facts the text below states, at most 8, as triples of a head, a relation and a "
    "tail, in this JSON: {\"triples\":[{\"head\":\"...\",\"rel\":\"...\",\"tail\":\"...\"}]}"
    "\n\nText:\n";

static void llm_open(struct llm *l, const char *model, int threads)
{
    lode_error err;
    char *path = model_resolve(model, &err);
    if (!path)
        die("%s", err.msg);
    if (model_is_dir(path))
        die("%s: lode-entities -m runs GGUF models (a file or ollama:NAME)", model);
    if (decoder_load(path, &l->m, &err) < 0)
        die("cannot load the model %s: %s", model, err.msg);
    free(path);
    int ctx = l->m.ctx_train < 2048 ? l->m.ctx_train : 2048;
    if (decoder_state_init(&l->m, &l->st, ctx, threads, &err) < 0)
        die("%s", err.msg);
    l->v = jsonc_vocab_new(&l->m.tok, l->m.vocab);
    l->chat = chat_detect(l->m.chat_template, &l->m.tok);
}

static void llm_close(struct llm *l)
{
    jsonc_vocab_free(l->v);
    decoder_state_free(&l->st);
    decoder_free(&l->m);
}

static int has_word(const char *s)
{
    for (; *s; s++)
        if (g_ascii_isalnum(*s) || (unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

/* The triples of text: the model's JSON (which parses by construction)
 * into "triples", "relations" and the heads and tails found in the text as
 * "entities". */
static void llm_find(struct llm *l, json_t *rec, const char *text, size_t len)
{
    /* the text cut to what fits the context with the answer */
    int *tids;
    size_t nt = tok_encode(&l->m.tok, text, len, 0, 0, &tids);
    size_t room = (size_t)l->st.ctx > (size_t)l->max_tokens + 128
        ? (size_t)l->st.ctx - (size_t)l->max_tokens - 128
        : 16;
    GString *cut = g_string_new(NULL);
    for (size_t i = 0; i < nt && i < room; i++)
        tok_piece(&l->m.tok, tids[i], cut);
    free(tids);
    char *user = xasprintf("%s%s", PROMPT, cut->str);
    g_string_free(cut, TRUE);
    struct chat_msg msgs[2] = {{"system", "You extract facts from text as JSON."}, {"user", user}};
    char *allow;
    size_t tl;
    char *prompt = chat_render(l->chat, msgs, 2, &allow, &tl);
    int *ids;
    size_t n = tok_encode_masked(&l->m.tok, prompt, tl, 1, allow, &ids);
    g_free(prompt);
    g_free(allow);
    free(user);
    char *out = jsonc_generate(&l->m, &l->st, &l->m.tok, l->v, ids, n, l->max_tokens);
    free(ids);
    lode_error err;
    json_t *doc = record_parse(out, strlen(out), &err);
    free(out);
    json_t *triples = doc ? json_incref(json_object_get(doc, "triples")) : json_array();
    json_decref(doc);
    json_t *ents = json_array(), *rels = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(triples, i, t)
    {
        const char *h = record_str(t, "head"), *r = record_str(t, "rel"),
                   *ta = record_str(t, "tail");
        if (!h || !r || !ta || !has_word(h) || !has_word(ta))
            continue; /* punctuation is no fact */
        char *fh = entities_fold(h, strlen(h)), *fr = entities_fold(r, strlen(r)),
             *ft = entities_fold(ta, strlen(ta));
        json_array_append_new(rels,
                              json_pack("{s:s,s:s,s:s,s:[I,I]}", "head", fh, "rel", fr, "tail", ft,
                                        "span", (json_int_t)0, (json_int_t)len));
        const char *ends[2] = {h, ta}, *norms[2] = {fh, ft};
        for (int e = 0; e < 2; e++) {
            const char *at = strstr(text, ends[e]); /* only what the text names */
            if (at && *ends[e])
                json_array_append_new(ents,
                                      json_pack("{s:s,s:s,s:[I,I],s:s}", "name", ends[e], "type",
                                                "name", "span", (json_int_t)(at - text),
                                                (json_int_t)(at - text + (long)strlen(ends[e])),
                                                "norm", norms[e]));
        }
        free(fh), free(fr), free(ft);
    }
    json_object_set_new(rec, "triples", triples);
    json_object_set_new(rec, "entities", ents);
    json_object_set_new(rec, "relations", rels);
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    const char *model = NULL;
    int threads = cpu_count(), max_tokens = 192;
    const struct opt table[] = {
        {'m', "model", OPT_STRING, &model, "MODEL",
         "ask a local generator (GGUF, ollama:NAME) for triples, its output held to their JSON", 0},
        {0, "max-tokens", OPT_INT, &max_tokens, "N",
         "with -m: tokens the model may write per chunk (default 192)", 0},
        {'j', "jobs", OPT_INT, &threads, "N", "with -m: threads (default: the number of cores)", 0},
        OPTS_COMMON(&p.common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-entities",
        "[OPTION]...",
        "Add the entities (names, acronyms with their expansions, e-mail addresses, URLs,\n"
        "dates, versions, quantities) and the relations between them (X is a Y, X, the Y,\n"
        "X (Y), and entities in one sentence) of each chunk record's text on standard\n"
        "input, as \"entities\" and \"relations\"; lode-index keeps them as a graph.\n"
        "With -m, a local generator is asked for the triples instead.",
        table,
        "Exit status: 0 all records read, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal. See lode-entities(1) and lode-records(7).\n",
    };
    opts_parse_filter(&prog, argc, argv, "records");
    if (max_tokens < 16 || threads < 1)
        return program_usage(&p, "--max-tokens takes 16 or more, -j a positive number");
    lode_error err;
    struct entities *e = entities_new(&err);
    if (!e)
        die("%s", err.msg);
    struct llm l = {.max_tokens = max_tokens};
    if (model)
        llm_open(&l, model, threads);
    program_open(&p, "entities", "records", 1, 0);
    unsigned long long found = 0, related = 0;
    json_t *rec;
    while ((rec = program_next(&p))) {
        json_t *text = json_object_get(rec, "text");
        if (!json_is_string(text)) {
            const char *src = record_str(rec, "source");
            report_fail(&p.rep, src ? src : p.in.where, record_str(rec, "id"),
                        "the record has no \"text\" string");
            json_decref(rec);
            continue;
        }
        if (model) {
            llm_find(&l, rec, json_string_value(text), json_string_length(text));
        } else {
            json_t *ents, *rels;
            entities_find(e, json_string_value(text), json_string_length(text), &ents, &rels);
            json_object_set_new(rec, "entities", ents);
            json_object_set_new(rec, "relations", rels);
        }
        found += json_array_size(json_object_get(rec, "entities"));
        related += json_array_size(json_object_get(rec, "relations"));
        output_record(&p.out, rec);
        p.rep.ok++;
        json_decref(rec);
    }
    buf_addf(&p.rep.summary_extra, "; %llu entities, %llu relations", found, related);
    report_metric(&p.rep, "entities_total", "counter", "Entity mentions found.", (double)found);
    report_metric(&p.rep, "relations_total", "counter", "Relations found.", (double)related);
    entities_free(e);
    if (model)
        llm_close(&l);
    return program_close(&p);
}
