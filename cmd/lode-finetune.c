/* lode-finetune: trains a LoRA adapter from NDJSON records (lode-finetune(1)). */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/finetune.h"
#include "base/input.h"
#include "model/decoder.h"
#include "model/modelpath.h"
#include "base/opts.h"
#include "base/record.h"
#include "base/report.h"
#include "train/train.h"

struct cfg {
    const char *out, *eval_path, *merge, *targets, *tmpl, *seed_text;
    int rank, ctx, epochs, steps, batch, accum, warmup, eval_every, save_every, resume, threads;
    double alpha, dropout, lr, weight_decay, clip, eval_split;
    uint64_t seed;
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
}

/* The mean loss per target token over packs, without dropout. */
static double evaluate(struct trainer *t, const struct pack *p, size_t n)
{
    double sum = 0;
    long long count = 0;
    for (size_t i = 0; i < n; i++) {
        int c;
        sum += trainer_run(t, p[i].ids, p[i].tgt, p[i].n, p[i].starts, p[i].nstarts, TRAIN_EVAL, 1, 0, &c);
        count += c;
    }
    return count ? sum / (double)count : NAN;
}

static void emit(struct output *o, json_t *rec)
{
    output_record(o, rec);
    output_flush(o);
    json_decref(rec);
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

/* The pack a run takes as its k-th (from 0): epochs in seeded orders. */
struct order {
    size_t *v, n;
    long long epoch;
    uint64_t seed;
};

static size_t pack_at(struct order *o, long long k)
{
    long long e = k / (long long)o->n;
    if (e != o->epoch) {
        ft_shuffle(o->v, o->n, o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(e + 1)));
        o->epoch = e;
    }
    return o->v[k % (long long)o->n];
}

int main(int argc, char **argv)
{
    util_set_progname(argv[0]);
    struct common_opts common;
    common_opts_init(&common);
    struct cfg c = {0};
    const char *model = getenv("LODE_GEN_MODEL");
    c.targets = "q,v";
    c.rank = 8;
    c.alpha = 16;
    c.lr = 2e-4;
    c.ctx = 512;
    c.epochs = 1;
    c.batch = 1;
    c.accum = 1;
    c.warmup = -1;
    c.clip = 1.0;
    c.threads = cpu_count();
    struct opt_list loras = {0};
    const struct opt table[] = {
        {'m', "model", OPT_STRING, &model, "MODEL",
         "the base model: a GGUF file or ollama:NAME[:TAG] (default $LODE_GEN_MODEL)", 0},
        {'o', "output", OPT_STRING, &c.out, "FILE", "write the adapter to FILE (GGUF, llama.cpp's LoRA layout)", 0},
        {0, "targets", OPT_STRING, &c.targets, "LIST", "projections to adapt: q,k,v,o,gate,up,down (default q,v)", 0},
        {0, "rank", OPT_INT, &c.rank, "N", "LoRA rank (default 8)", 0},
        {0, "alpha", OPT_DOUBLE, &c.alpha, "A", "LoRA alpha: updates are scaled by alpha/rank (default 16)", 0},
        {0, "dropout", OPT_DOUBLE, &c.dropout, "P", "dropout on the adapters' inputs (default 0)", 0},
        {0, "lr", OPT_DOUBLE, &c.lr, "RATE", "peak learning rate (default 2e-4)", 0},
        {0, "warmup", OPT_INT, &c.warmup, "N", "steps of linear warm-up (default a tenth of the steps, at most 100)", 0},
        {0, "weight-decay", OPT_DOUBLE, &c.weight_decay, "W", "AdamW's decoupled weight decay (default 0)", 0},
        {0, "clip", OPT_DOUBLE, &c.clip, "NORM", "clip the gradients' global norm to NORM (default 1; 0: off)", 0},
        {0, "epochs", OPT_INT, &c.epochs, "N", "passes over the training data (default 1)", 0},
        {0, "steps", OPT_INT, &c.steps, "N", "optimiser steps (instead of --epochs)", 0},
        {0, "batch", OPT_INT, &c.batch, "N", "packed sequences per micro-batch (default 1)", 0},
        {0, "accum", OPT_INT, &c.accum, "N", "micro-batches accumulated per step (default 1)", 0},
        {0, "ctx", OPT_INT, &c.ctx, "N", "tokens per packed sequence (default 512)", 0},
        {0, "seed", OPT_STRING, &c.seed_text, "N", "seed of initialisation, data order and dropout (default 0)", 0},
        {0, "eval", OPT_STRING, &c.eval_path, "FILE", "records to measure the evaluation loss on", 0},
        {0, "eval-split", OPT_DOUBLE, &c.eval_split, "F", "hold out this fraction of the records for evaluation", 0},
        {0, "eval-every", OPT_INT, &c.eval_every, "N", "evaluate every N steps (default: at the start and the end)", 0},
        {0, "save-every", OPT_INT, &c.save_every, "N", "write the adapter and a checkpoint (FILE.ckpt) every N steps", 0},
        {0, "resume", OPT_FLAG, &c.resume, NULL, "continue from FILE.ckpt when there is one", 1},
        {0, "template", OPT_STRING, &c.tmpl, "NAME",
         "chat template for messages: chatml, llama3, llama2, mistral, phi3, gemma or plain (default: the model's)", 0},
        {0, "lora", OPT_LIST, &loras, "FILE[:SCALE]", "with --merge and no -o: adapters to merge (repeatable)", 0},
        {0, "merge", OPT_STRING, &c.merge, "FILE", "also write the base model with the adapter merged in", 0},
        {'j', "jobs", OPT_INT, &c.threads, "N", "threads (default: the number of cores)", 0},
        OPTS_COMMON(&common),
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
    int targets = lora_targets_parse(c.targets);
    char *end = NULL;
    if (c.seed_text) {
        c.seed = strtoull(c.seed_text, &end, 10);
        if (!*c.seed_text || *end)
            targets = -2;
    }
    if (targets < 0 || c.rank < 1 || c.rank > 4096 || c.ctx < 2 || c.epochs < 1 || c.steps < 0 ||
        c.batch < 1 || c.accum < 1 || c.threads < 1 || c.eval_every < 0 || c.save_every < 0 ||
        !(c.lr > 0) || !(c.dropout >= 0 && c.dropout < 1) || !(c.weight_decay >= 0) ||
        !(c.clip >= 0) || !(c.eval_split >= 0 && c.eval_split < 1) || !isfinite(c.alpha)) {
        fprintf(stderr, "lode-finetune: --targets takes names among q,k,v,o,gate,up,down; --seed an "
                        "integer; --rank, --ctx, --epochs, --batch, --accum and -j must be positive, "
                        "--lr above 0, --dropout and --eval-split from 0 to below 1\n");
        return LODE_EXIT_USAGE;
    }
    int fmt = c.tmpl ? chat_format_by_name(c.tmpl) : 0;
    if (fmt < 0) {
        fprintf(stderr, "lode-finetune: --template takes one of %s\n", chat_format_names());
        return LODE_EXIT_USAGE;
    }
    if (!model || (!c.out && !(c.merge && loras.n)) || (c.out && loras.n)) {
        fprintf(stderr, "lode-finetune: give -m MODEL and -o ADAPTER.gguf to train, or -m MODEL "
                        "--lora ADAPTER --merge OUT.gguf to merge\n");
        return LODE_EXIT_USAGE;
    }
    lode_error err;
    char *path = model_resolve(model, &err);
    if (!path)
        die("%s", err.msg);
    struct decoder m;
    if (decoder_load(path, &m, &err) < 0)
        die("cannot load the model %s: %s", path, err.msg);
    free(path);
    if (!c.out) {
        int rc = merge_only(&m, &loras, c.merge);
        decoder_free(&m);
        free(loras.items);
        return rc;
    }
    free(loras.items);
    enum chat_format chat = c.tmpl ? (enum chat_format)fmt : chat_detect(m.chat_template, &m.tok);

    struct report rep;
    report_open(&rep, "finetune", "records", &common);
    struct examples train = {0}, held = {0};
    read_examples(&m, chat, 0, c.ctx, &rep, common.max_line, &train);
    if (c.eval_path) {
        int fd = open(c.eval_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die("cannot open %s: %m", c.eval_path);
        read_examples(&m, chat, fd, c.ctx, &rep, common.max_line, &held);
        close(fd);
    } else {
        ft_split(&train, c.eval_split, c.seed ^ 0xE7037ED1A0B428DBull, &held);
    }
    if (!train.n) {
        error("no usable training records: nothing to train");
        ft_examples_free(&train);
        ft_examples_free(&held);
        decoder_free(&m);
        int rc = report_close(&rep);
        return rc ? rc : 1;
    }
    size_t npacks, nheld = 0;
    size_t *ord = xmalloc(sizeof *ord * train.n);
    ft_shuffle(ord, train.n, c.seed);
    struct pack *packs = ft_pack(&train, ord, c.ctx, &npacks);
    free(ord);
    struct pack *eval = held.n ? ft_pack(&held, NULL, c.ctx, &nheld) : NULL;
    int per_step = c.batch * c.accum;
    int steps = c.steps ? c.steps : (int)((npacks * (size_t)c.epochs + (size_t)per_step - 1) / (size_t)per_step);
    int warmup = c.warmup >= 0 ? c.warmup : (steps / 10 < 100 ? steps / 10 : 100);

    char digest[65], *fingerprint;
    ft_packs_digest(packs, npacks, digest);
    fingerprint = xasprintf("model=%s targets=%s rank=%d alpha=%g dropout=%g lr=%g warmup=%d "
                            "wd=%g clip=%g steps=%d batch=%d accum=%d ctx=%d seed=%llu data=%.16s",
                            m.id, c.targets, c.rank, c.alpha, c.dropout, c.lr, warmup,
                            c.weight_decay, c.clip, steps, c.batch, c.accum, c.ctx,
                            (unsigned long long)c.seed, digest);
    struct train_cfg tc = {(unsigned)targets, c.rank, (float)c.alpha, (float)c.dropout, c.threads,
                           c.seed, 0};
    struct trainer *t = trainer_new(&m, &tc, NULL);
    char *ckpt = xasprintf("%s.ckpt", c.out);
    int start = 1;
    if (c.resume && access(ckpt, F_OK) == 0) {
        int done = ft_checkpoint_load(t, ckpt, fingerprint, &err);
        if (done < 0)
            die("cannot resume: %s", err.msg);
        start = done + 1;
    }
    struct output out;
    output_init(&out, 1);
    if (eval && start == 1) {
        json_t *r = json_object();
        json_object_set_new(r, "step", json_integer(0));
        json_object_set_new(r, "eval_loss", json_real(evaluate(t, eval, nheld)));
        emit(&out, r);
    }
    struct order po = {xmalloc(sizeof(size_t) * npacks), npacks, -1, c.seed};
    const struct pack **step_packs = xmalloc(sizeof *step_packs * (size_t)per_step);
    double started = now_seconds(), last_sum = 0;
    long long total_tokens = 0, last_count = 0;
    int tail = steps / 10 > 1 ? steps / 10 : 1; /* steps the final train_loss averages */
    const char *fault = getenv("LODE_FAULT_STEP");
    for (int step = start; step <= steps; step++) {
        double t0 = now_seconds(), sum = 0;
        long long targets_n = 0, tokens = 0;
        for (int j = 0; j < per_step; j++) {
            step_packs[j] = &packs[pack_at(&po, (long long)(step - 1) * per_step + j)];
            targets_n += step_packs[j]->targets;
        }
        trainer_zero_grad(t);
        for (int j = 0; j < per_step; j++) {
            const struct pack *p = step_packs[j];
            int cnt;
            sum += trainer_run(t, p->ids, p->tgt, p->n, p->starts, p->nstarts, TRAIN_GRAD,
                               targets_n ? 1.0 / (double)targets_n : 0, (uint64_t)step, &cnt);
            tokens += p->n;
        }
        double norm = trainer_clip(t, c.clip);
        double lr = ft_lr(c.lr, step, warmup, steps);
        trainer_adamw(t, step, lr, 0.9, 0.999, 1e-8, c.weight_decay);
        double secs = now_seconds() - t0;
        total_tokens += tokens;
        if (step > steps - tail) {
            last_sum += sum;
            last_count += targets_n;
        }
        json_t *r = json_object();
        json_object_set_new(r, "step", json_integer(step));
        json_object_set_new(r, "loss", json_real(targets_n ? sum / (double)targets_n : 0));
        json_object_set_new(r, "lr", json_real(lr));
        json_object_set_new(r, "grad_norm", json_real(norm));
        json_object_set_new(r, "tokens", json_integer(tokens));
        json_object_set_new(r, "targets", json_integer(targets_n));
        json_object_set_new(r, "tokens_per_second", json_real(secs > 0 ? (double)tokens / secs : 0));
        json_object_set_new(r, "epoch", json_real((double)step * per_step / (double)npacks));
        if (eval && c.eval_every && step % c.eval_every == 0 && step < steps)
            json_object_set_new(r, "eval_loss", json_real(evaluate(t, eval, nheld)));
        emit(&out, r);
        if (c.save_every && (step % c.save_every == 0 || step == steps)) {
            struct lora a;
            trainer_export(t, &a);
            if (ft_checkpoint_save(t, &m, ckpt, step, fingerprint, &err) < 0 ||
                lora_save(&a, &m, c.out, &err) < 0)
                die("%s", err.msg);
            lora_free(&a);
        }
        char extra[96];
        snprintf(extra, sizeof extra, "loss %.4f, %.0f tokens/s", targets_n ? sum / (double)targets_n : 0,
                 secs > 0 ? (double)tokens / secs : 0);
        report_progress_of(&rep, (uint64_t)step, (uint64_t)steps, "steps", extra);
        if (fault && atoi(fault) == step) /* test hook: a run killed here */
            raise(SIGKILL);
    }
    struct lora a;
    trainer_export(t, &a);
    if (lora_save(&a, &m, c.out, &err) < 0)
        die("%s", err.msg);
    double secs = now_seconds() - started;
    json_t *r = json_object();
    json_object_set_new(r, "done", json_true());
    json_object_set_new(r, "steps", json_integer(steps));
    if (last_count)
        json_object_set_new(r, "train_loss", json_real(last_sum / (double)last_count));
    if (eval)
        json_object_set_new(r, "eval_loss", json_real(evaluate(t, eval, nheld)));
    json_object_set_new(r, "tokens", json_integer(total_tokens));
    json_object_set_new(r, "seconds", json_real(secs));
    json_object_set_new(r, "tokens_per_second", json_real(secs > 0 ? (double)total_tokens / secs : 0));
    json_object_set_new(r, "adapter", json_string(c.out));
    if (c.merge) {
        decoder_add_lora(&m, &a);
        if (lora_merge(&m, c.merge, &err) < 0)
            die("%s", err.msg);
        json_object_set_new(r, "merged", json_string(c.merge));
    }
    emit(&out, r);
    output_close(&out);
    buf_addf(&rep.summary_extra, "; %d steps, %lld tokens at %.0f/s", steps - start + 1,
             total_tokens, secs > 0 ? (double)total_tokens / secs : 0);
    report_metric(&rep, "finetune_tokens_total", "counter", "Training tokens processed.",
                  (double)total_tokens);
    report_metric(&rep, "finetune_steps_total", "counter", "Optimiser steps taken.",
                  (double)(steps - start + 1));
    rep.records_out = out.records;
    lora_free(&a);
    free(po.v);
    free(step_packs);
    free(ckpt);
    free(fingerprint);
    trainer_free(t);
    ft_packs_free(packs, npacks);
    ft_packs_free(eval, nheld);
    ft_examples_free(&train);
    ft_examples_free(&held);
    decoder_free(&m);
    return report_close(&rep);
}
