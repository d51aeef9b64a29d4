/* lode-chunk: page records into chunk records (lode-chunk(1)). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "text/chunk.h"
#include "base/hash.h"
#include "base/program.h"
#include "model/unigram.h"
#include "model/wordpiece.h"

struct run {
    int size, overlap;
    struct wordpiece *tok; /* --tokenizer: count with a model's WordPiece tokenizer, */
    struct unigram *utok;  /* or its Unigram one (XLM-R) */
    struct program *p;
    unsigned long long chunks, empty;
};

static void chunk_record(struct run *run, json_t *rec, const char *where)
{
    json_t *tv = json_object_get(rec, "text");
    const char *source = record_str(rec, "source");
    const char *id = record_str(rec, "id");
    if (!json_is_string(tv)) {
        report_fail(&run->p->rep, source ? source : where, id, "the record has no \"text\" string");
        return;
    }
    const char *text = json_string_value(tv);
    size_t len = json_string_length(tv);
    struct span *tok;
    size_t ntok;
    if (run->tok || run->utok) {
        struct wp_token *wt;
        ntok = run->tok ? wordpiece_encode(run->tok, text, len, &wt)
                        : unigram_encode_max(run->utok, text, len, SIZE_MAX, &wt);
        tok = xcalloc(ntok + 1, sizeof *tok);
        for (size_t i = 0; i < ntok; i++) {
            tok[i].start = wt[i].start;
            tok[i].end = wt[i].end;
        }
        free(wt);
    } else {
        ntok = chunk_estimate_tokens(text, len, &tok);
    }
    if (ntok == 0) {
        const char *ocr = record_str(rec, "ocr");
        if (ocr && !strcmp(ocr, "needed")) {
            report_fail(&run->p->rep, source ? source : where, id,
                        "the page has no text yet (\"ocr\":\"needed\"): run lode-ocr first");
        } else {
            run->empty++; /* a blank page: nothing to chunk */
            run->p->rep.ok++;
        }
        free(tok);
        return;
    }
    char fallback[HASH_HEX_LEN + 4];
    if (!id) {
        /* records without an id get one from their text, stable across runs */
        hash_bytes(text, len, fallback);
        strcat(fallback, "-1");
        id = fallback;
    }
    char *base_id = xstrdup(id);
    struct chunk *ch;
    size_t nc = chunk_text(text, len, tok, ntok, (size_t)run->size, (size_t)run->overlap, &ch);
    for (size_t i = 0; i < nc; i++) {
        json_t *out = json_copy(rec); /* shallow: the page text is shared, not copied per chunk */
        if (!out)
            die("out of memory");
        char *cid = xasprintf("%s-%zu", base_id, i + 1);
        record_set_str(out, "id", cid);
        free(cid);
        record_set_text(out, "text", text + ch[i].start, ch[i].end - ch[i].start);
        record_set_int(out, "chunk", (long long)i + 1);
        json_t *span = json_pack("[II]", (json_int_t)ch[i].start, (json_int_t)ch[i].end);
        json_object_set_new(out, "span", span);
        record_set_int(out, "tokens", (long long)ch[i].tokens);
        if (ch[i].header_end > ch[i].header_start)
            record_set_text(out, "table_header", text + ch[i].header_start,
                            ch[i].header_end - ch[i].header_start);
        else
            json_object_del(out, "table_header");
        output_record(&run->p->out, out);
        json_decref(out);
    }
    run->chunks += nc;
    run->p->rep.ok++;
    free(base_id);
    free(ch);
    free(tok);
}

/* The model's window from sentence_bert_config.json, 0 when it says none. */
static int model_window(const char *dir)
{
    char *path = xasprintf("%s/sentence_bert_config.json", dir);
    json_t *c = json_load_file(path, 0, NULL);
    free(path);
    int n = (int)record_int(c, "max_seq_length", 0);
    json_decref(c);
    return n;
}

/* --tokenizer: counts by the model's pieces, and chunks that fit its window
 * with [CLS] and [SEP] (<s> and </s>). A tokenizer.json of a Unigram model
 * is XLM-R's; any other is read as WordPiece. */
static void load_tokenizer(struct run *run, const char *dir, int size_given)
{
    lode_error err;
    run->utok = unigram_load(dir, &err);
    if (!run->utok && err.code == LODE_ENOTFOUND) /* WordPiece's tokenizer.json or vocab.txt */
        run->tok = wordpiece_load(dir, &err);
    if (!run->tok && !run->utok)
        die("cannot load the tokenizer of %s: %s", dir, err.msg);
    int window = model_window(dir);
    if (window > 2 && run->size > window - 2) {
        if (size_given)
            warning("--size %d does not fit %s's window of %d tokens with [CLS] and [SEP]; "
                    "using %d",
                    run->size, dir, window, window - 2);
        run->size = window - 2;
        if (run->overlap >= run->size)
            run->overlap = run->size / 8;
    }
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    struct run run = {.size = 0 /* 256, or what fits the model's window */, .overlap = 32, .p = &p};
    const char *tokenizer = NULL;
    const struct opt table[] = {
        {0, "size", OPT_INT, &run.size, "N",
         "tokens per chunk at most (default 256, or what the --tokenizer model's window holds)", 0},
        {'o', "overlap", OPT_INT, &run.overlap, "N",
         "tokens shared by consecutive chunks (default 32)", 0},
        {'t', "tokenizer", OPT_STRING, &tokenizer, "MODEL",
         "count tokens with MODEL's tokenizer (a lode-embed model directory)", 0},
        OPTS_COMMON(&p.common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-chunk",
        "[OPTION]...",
        "Split the text of page records (from lode-extract or lode-ocr) on standard input\n"
        "into chunk records of at most --size tokens, at headings first, then paragraphs,\n"
        "sentences, lines and words. Each chunk keeps its page's fields and adds chunk,\n"
        "span (byte offsets into the page text) and tokens. Tokens are estimated, or\n"
        "counted by a model's tokenizer with --tokenizer.",
        table,
        "Exit status: 0 all records chunked, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal. See lode-chunk(1) and lode-records(7).\n",
    };
    /* -s is --store in every other program: never a size here by accident */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strncmp(argv[i], "-s", 2))
            return program_usage(&p,
                                 "no -s here (it is --store in the other programs): "
                                 "give the chunk size as --size N");
    opts_parse_filter(&prog, argc, argv, "records");
    int size_given = run.size != 0;
    if (!size_given)
        run.size = 256;
    if (run.size < 1 || run.overlap < 0 || run.overlap >= run.size)
        return program_usage(&p, "--size must be at least 1 and --overlap below it");
    if (tokenizer)
        load_tokenizer(&run, tokenizer, size_given);
    program_open(&p, "chunk", "records", 1, 0);
    json_t *rec;
    while ((rec = program_next(&p))) {
        chunk_record(&run, rec, p.in.where);
        json_decref(rec);
    }
    buf_addf(&p.rep.summary_extra, "; %llu chunks", run.chunks);
    if (run.empty)
        buf_addf(&p.rep.summary_extra, ", %llu blank pages", run.empty);
    report_metric(&p.rep, "chunks_total", "counter", "Chunks written.", (double)run.chunks);
    wordpiece_free(run.tok);
    unigram_free(run.utok);
    return program_close(&p);
}
