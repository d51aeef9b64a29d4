/* lode-finetune: trains a LoRA adapter from NDJSON records (lode-finetune(1)). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/program.h"
#include "model/decoder.h"
#include "model/modelpath.h"
#include "train/finetune.h"

struct cfg {
    struct ft_config fc;
    const char *model, *eval_path, *tmpl, *seed_text;
    double eval_split;
    int fmt;
    struct opt_list loras;
};

/* Records from fd into examples; failures reported. */
static void read_examples(const struct decoder *m, enum chat_format f, int fd, int ctx,
                          struct report *rep, uint64_t max_line, struct examples *out)
{
    struct input in;
    input_init(&in, fd, rep, max_line, 0);
    json_t *rec;
    lode_error err;
    while ((rec = input_next(&in))) {
        if (ft_examples(m, f, rec, ctx, out, &err) < 0)
            report_fail(rep, in.where, record_str(rec, "id"), "%s", err.msg);
        else
            rep->ok++;
        json_decref(rec);
        report_progress(rep);
    }
    rep->bytes_in += in.lr.bytes;
    input_free(&in);
    if (in.error)
        die("cannot read the records: %s", strerror(in.error));
}

static int merge_only(struct decoder *m, const struct opt_list *loras, const char *out)
{
    lode_error err;
    struct lora *a = lora_load_all(m, loras->items, loras->n, &err);
    if (!a)
        die("cannot apply the adapter: %s", err.msg);
    int rc = lora_merge(m, out, &err);
    if (rc < 0)
        error("%s", err.msg);
    lora_free_all(a, loras->n);
    return rc < 0 ? LODE_EXIT_FATAL : 0;
}

/* Parses and checks the options: 0, or the exit status of a usage error. */
static int options(struct program *p, struct cfg *c, int argc, char **argv)
{
    struct ft_config *f = &c->fc;
    const struct opt table[] = {
        {'m', "model", OPT_STRING, &c->model, "MODEL",
         "the base model: a GGUF file or ollama:NAME[:TAG] (default $LODE_GEN_MODEL)", 0},
        {'o', "output", OPT_STRING, &f->out, "FILE",
         "write the adapter to FILE (GGUF, llama.cpp's LoRA layout)", 0},
        {0, "targets", OPT_STRING, &f->targets_name, "LIST",
         "projections to adapt: q,k,v,o,gate,up,down (default q,v)", 0},
        {0, "rank", OPT_INT, &f->rank, "N", "LoRA rank (default 8)", 0},
        {0, "alpha", OPT_DOUBLE, &f->alpha, "A",
         "LoRA alpha: updates are scaled by alpha/rank (default 16)", 0},
        {0, "dropout", OPT_DOUBLE, &f->dropout, "P", "dropout on the adapters' inputs (default 0)",
         0},
        {0, "lr", OPT_DOUBLE, &f->lr, "RATE", "peak learning rate (default 2e-4)", 0},
        {0, "warmup", OPT_INT, &f->warmup, "N",
         "steps of linear warm-up (default a tenth of the steps, at most 100)", 0},
        {0, "weight-decay", OPT_DOUBLE, &f->weight_decay, "W",
         "AdamW's decoupled weight decay (default 0)", 0},
        {0, "clip", OPT_DOUBLE, &f->clip, "NORM",
         "clip the gradients' global norm to NORM (default 1; 0: off)", 0},
        {0, "epochs", OPT_INT, &f->epochs, "N", "passes over the training data (default 1)", 0},
        {0, "steps", OPT_INT, &f->steps, "N", "optimiser steps (instead of --epochs)", 0},
        {0, "batch", OPT_INT, &f->batch, "N", "packed sequences per micro-batch (default 1)", 0},
        {0, "accum", OPT_INT, &f->accum, "N", "micro-batches accumulated per step (default 1)", 0},
        {0, "ctx", OPT_INT, &f->ctx, "N", "tokens per packed sequence (default 512)", 0},
        {0, "seed", OPT_STRING, &c->seed_text, "N",
         "seed of initialisation, data order and dropout (default 0)", 0},
        {0, "eval", OPT_STRING, &c->eval_path, "FILE", "records to measure the evaluation loss on",
         0},
        {0, "eval-split", OPT_DOUBLE, &c->eval_split, "F",
         "hold out this fraction of the records for evaluation", 0},
        {0, "eval-every", OPT_INT, &f->eval_every, "N",
         "evaluate every N steps (default: at the start and the end)", 0},
        {0, "save-every", OPT_INT, &f->save_every, "N",
         "write the adapter and a checkpoint (FILE.ckpt) every N steps", 0},
        {0, "resume", OPT_FLAG, &f->resume, NULL, "continue from FILE.ckpt when there is one", 1},
        {0, "template", OPT_STRING, &c->tmpl, "NAME",
         "chat template for messages: chatml, llama3, llama2, mistral, phi3, gemma or plain "
         "(default: the model's)",
         0},
        {0, "lora", OPT_LIST, &c->loras, "FILE[:SCALE]",
         "with --merge and no -o: adapters to merge (repeatable)", 0},
        {0, "merge", OPT_STRING, &f->merge, "FILE",
         "also write the base model with the adapter merged in", 0},
        {'j', "jobs", OPT_INT, &f->threads, "N", "threads (default: the number of cores)", 0},
        OPTS_COMMON(&p->common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-finetune",
        "-m MODEL -o ADAPTER.gguf [OPTION]... < RECORDS",
        "Train a LoRA adapter for a Llama-family GGUF model on the records on standard\n"
        "input ({\"text\"}, {\"prompt\",\"completion\"} or {\"messages\"}), writing one progress\n"
        "record per step; or, with --lora and --merge, merge adapters into the model.",
        table,
        "Exit status: 0 trained, 1 some records failed (see --errors) or none could be\n"
        "used, 2 usage, 3 fatal (model, adapter or checkpoint unreadable, disk full).\n"
        "See lode-finetune(1).\n",
    };
    opts_parse_filter(&prog, argc, argv, "records");
    int targets = lora_targets_parse(f->targets_name);
    char *end = NULL;
    if (c->seed_text) {
        f->seed = strtoull(c->seed_text, &end, 10);
        if (!*c->seed_text || *end)
            targets = -2;
    }
    f->targets = (unsigned)targets;
    c->fmt = c->tmpl ? chat_format_by_name(c->tmpl) : 0;
    if (targets < 0 || f->rank < 1 || f->rank > 4096 || f->ctx < 2 || f->epochs < 1 ||
        f->steps < 0 || f->batch < 1 || f->accum < 1 || f->threads < 1 || f->eval_every < 0 ||
        f->save_every < 0 || !(f->lr > 0) || !(f->dropout >= 0 && f->dropout < 1) ||
        !(f->weight_decay >= 0) || !(f->clip >= 0) || !(c->eval_split >= 0 && c->eval_split < 1) ||
        !isfinite(f->alpha))
        return program_usage(
            p,
            "--targets takes names among q,k,v,o,gate,up,down; --seed an integer; "
            "--rank, --ctx, --epochs, --batch, --accum and -j must be positive, --lr "
            "above 0, --dropout and --eval-split from 0 to below 1");
    if (c->fmt < 0)
        return program_usage(p, "--template takes one of %s", chat_format_names());
    if (!c->model || (!f->out && !(f->merge && c->loras.n)) || (f->out && c->loras.n))
        return program_usage(
            p,
            "give -m MODEL and -o ADAPTER.gguf to train, or -m MODEL --lora ADAPTER "
            "--merge OUT.gguf to merge");
    return 0;
}

static void on_record(void *ud, json_t *rec)
{
    struct program *p = ud;
    output_record(&p->out, rec);
    program_flush(p);
    json_decref(rec);
}

static void on_progress(void *ud, int step, int steps, double loss, double tps)
{
    struct program *p = ud;
    char extra[96];
    snprintf(extra, sizeof extra, "loss %.4f, %.0f tokens/s", loss, tps);
    report_progress_of(&p->rep, (uint64_t)step, (uint64_t)steps, "steps", extra);
}

/* The training records and the held-out ones (--eval FILE, or a split). */
static void read_data(struct program *p, struct cfg *c, const struct decoder *m,
                      enum chat_format chat, struct examples *train, struct examples *held)
{
    read_examples(m, chat, 0, c->fc.ctx, &p->rep, p->common.max_line, train);
    if (c->eval_path) {
        int fd = open(c->eval_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die("cannot open %s: %s", c->eval_path, strerror(errno));
        read_examples(m, chat, fd, c->fc.ctx, &p->rep, p->common.max_line, held);
        close(fd);
    } else {
        ft_split(train, c->eval_split, c->fc.seed ^ 0xE7037ED1A0B428DBull, held);
    }
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    struct cfg c = {.model = getenv("LODE_GEN_MODEL"),
                    .fc = {.targets_name = "q,v",
                           .rank = 8,
                           .alpha = 16,
                           .lr = 2e-4,
                           .ctx = 512,
                           .epochs = 1,
                           .batch = 1,
                           .accum = 1,
                           .warmup = -1,
                           .clip = 1.0,
                           .threads = cpu_count()}};
    int rc = options(&p, &c, argc, argv);
    if (rc)
        return rc;
    lode_error err;
    char *path = model_resolve(c.model, &err);
    if (!path)
        die("%s", err.msg);
    struct decoder m;
    if (decoder_load(path, &m, &err) < 0)
        die("cannot load the model %s: %s", path, err.msg);
    free(path);
    if (!c.fc.out) {
        rc = merge_only(&m, &c.loras, c.fc.merge);
        decoder_free(&m);
        free(c.loras.items);
        return rc;
    }
    free(c.loras.items);
    enum chat_format chat = c.tmpl ? (enum chat_format)c.fmt : chat_detect(m.chat_template, &m.tok);
    program_open(&p, "finetune", "records", 0, 0);
    struct examples train = {0}, held = {0};
    read_data(&p, &c, &m, chat, &train, &held);
    if (!train.n) {
        error("no usable training records: nothing to train");
        rc = 1;
    } else {
#ifdef LODE_TEST_HOOKS
        const char *fault = getenv("LODE_FAULT_STEP"); /* build/hooks/ only: see HACKING.md */
#else
        const char *fault = NULL;
#endif
        c.fc.fault_step = fault ? atoi(fault) : 0;
        struct ft_hooks hooks = {on_record, on_progress, &p};
        struct ft_totals tot;
        if (ft_train(&m, &c.fc, &train, &held, &hooks, &tot, &err) < 0)
            die("%s", err.msg);
        buf_addf(&p.rep.summary_extra, "; %d steps, %lld tokens at %.0f/s", tot.steps, tot.tokens,
                 tot.seconds > 0 ? (double)tot.tokens / tot.seconds : 0);
        report_metric(&p.rep, "finetune_tokens_total", "counter", "Training tokens processed.",
                      (double)tot.tokens);
        report_metric(&p.rep, "finetune_steps_total", "counter", "Optimiser steps taken.",
                      (double)tot.steps);
    }
    ft_examples_free(&train);
    ft_examples_free(&held);
    decoder_free(&m);
    int status = program_close(&p);
    return status ? status : rc;
}
