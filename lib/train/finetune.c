/* finetune.c - finetune.h's training data and run: records into token
 * sequences with the learnt tokens marked, packing, seeded shuffles and
 * splits, the schedule, checkpoints written atomically, and ft_train's
 * steps, evaluations and adapter. */
#include "train/finetune.h"

#include <glib.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/gguf.h"
#include "model/lora.h"
#include "base/record.h"
#include "train/train.h"

static void push(struct examples *e, int *ids, unsigned char *learn, int n)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 64;
        e->v = xreallocarray(e->v, e->cap, sizeof *e->v);
    }
    e->v[e->n++] = (struct example){ids, learn, n};
}

void ft_split(struct examples *e, double frac, uint64_t seed, struct examples *held)
{
    if (e->n < 2 || frac <= 0)
        return;
    size_t *ord = xmalloc(sizeof *ord * e->n), k = (size_t)ceil(frac * (double)e->n);
    k = k >= e->n ? e->n - 1 : k;
    ft_shuffle(ord, e->n, seed);
    struct examples rest = {0};
    for (size_t i = 0; i < e->n; i++) {
        const struct example *x = &e->v[ord[i]];
        push(i < k ? held : &rest, x->ids, x->learn, x->n);
    }
    free(e->v);
    free(ord);
    *e = rest;
}

void ft_examples_free(struct examples *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].ids);
        free(e->v[i].learn);
    }
    free(e->v);
    memset(e, 0, sizeof *e);
}

/* The byte where each token starts in text (tokens decode back to the
 * text, SentencePiece's space prefix aside). -1 when they do not. */
static int offsets(const struct tokenizer *t, const int *ids, size_t n, size_t len, size_t *off)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < n; i++) {
        off[i] = s->len;
        tok_piece(t, ids[i], s);
    }
    size_t shift = s->len == len + 1 && t->add_space_prefix && s->str[0] == ' ' ? 1 : 0;
    int ok = s->len == len + shift;
    g_string_free(s, TRUE);
    for (size_t i = 0; i < n; i++)
        off[i] = off[i] >= shift ? off[i] - shift : 0;
    return ok ? 0 : -1;
}

/* text tokenised with BOS (when the model adds one) first; learn marks
 * the tokens whose first byte has train set (train NULL: all), and with
 * eos an EOS after them, learnt. */
static int encode(const struct decoder *m, const char *text, size_t len, const char *allow,
                  const char *train, int eos, int **ids_out, unsigned char **learn_out,
                  lode_error *err)
{
    const struct tokenizer *t = &m->tok;
    int *body;
    size_t nb = tok_encode_masked(t, text, len, 0, allow, &body);
    int bos = t->add_bos && t->bos >= 0;
    int end = eos && t->eos >= 0;
    size_t n = nb + (size_t)bos + (size_t)end;
    int *ids = xmalloc(sizeof *ids * (n ? n : 1));
    unsigned char *learn = xcalloc(n ? n : 1, 1);
    if (bos)
        ids[0] = t->bos;
    memcpy(ids + bos, body, sizeof *body * nb);
    if (end) {
        ids[n - 1] = t->eos;
        learn[n - 1] = 1;
    }
    if (train) {
        size_t *off = xmalloc(sizeof *off * (nb ? nb : 1));
        if (offsets(t, body, nb, len, off) < 0) {
            free(off);
            free(body);
            free(ids);
            free(learn);
            lode_seterr(err,
                        "the tokens do not decode to the text, so the parts to learn "
                        "cannot be found");
            return -1;
        }
        for (size_t i = 0; i < nb; i++)
            learn[bos + i] = off[i] < len && train[off[i]];
        free(off);
    } else {
        for (size_t i = 1; i < n; i++)
            learn[i] = 1;
    }
    free(body);
    *ids_out = ids;
    *learn_out = learn;
    return (int)n;
}

static const char *field(const json_t *rec, const char *key, lode_error *err)
{
    const json_t *v = json_object_get(rec, key);
    if (!json_is_string(v)) {
        lode_seterr(err, "\"%s\" must be a string", key);
        return NULL;
    }
    return json_string_value(v);
}

static int conversation(const struct decoder *m, enum chat_format f, const json_t *msgs, int **ids,
                        unsigned char **learn, lode_error *err)
{
    size_t n = json_array_size(msgs);
    if (!json_is_array(msgs) || !n) {
        lode_seterr(err, "\"messages\" must be a non-empty array");
        return -1;
    }
    struct chat_msg *cm = xcalloc(n, sizeof *cm);
    int assistant = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(msgs, i);
        const char *role = json_string_value(json_object_get(e, "role"));
        const char *content = json_string_value(json_object_get(e, "content"));
        if (!role || !content ||
            (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))) {
            lode_seterr(err,
                        "message %zu needs a role (system, user or assistant) and a "
                        "content string",
                        i + 1);
            free(cm);
            return -1;
        }
        assistant |= !strcmp(role, "assistant");
        cm[i] = (struct chat_msg){role, content};
    }
    if (!assistant) {
        lode_seterr(err, "the conversation has no assistant turn to learn");
        free(cm);
        return -1;
    }
    char *allow, *train;
    size_t len;
    char *text = chat_render_train(f, cm, n, &allow, &train, &len);
    /* without a template, an answer ends with EOS */
    int eos = f == CHAT_PLAIN && !strcmp(cm[n - 1].role, "assistant");
    int k = encode(m, text, len, allow, train, eos, ids, learn, err);
    free(text);
    free(allow);
    free(train);
    free(cm);
    return k;
}

int ft_examples(const struct decoder *m, enum chat_format f, const json_t *rec, int ctx,
                struct examples *out, lode_error *err)
{
    int *ids = NULL, n;
    unsigned char *learn = NULL;
    const json_t *msgs = json_object_get(rec, "messages");
    int is_text = 0;
    if (msgs) {
        n = conversation(m, f, msgs, &ids, &learn, err);
    } else if (json_object_get(rec, "prompt") || json_object_get(rec, "completion")) {
        const char *p = field(rec, "prompt", err), *c = p ? field(rec, "completion", err) : NULL;
        if (!c)
            return -1;
        size_t lp = strlen(p), lc = strlen(c);
        char *text = xmalloc(lp + lc + 1), *train = xcalloc(lp + lc + 1, 1);
        memcpy(text, p, lp);
        memcpy(text + lp, c, lc + 1);
        memset(train + lp, 1, lc);
        n = encode(m, text, lp + lc, NULL, train, 1, &ids, &learn, err);
        free(text);
        free(train);
    } else if (json_object_get(rec, "text")) {
        const char *text = field(rec, "text", err);
        if (!text)
            return -1;
        n = encode(m, text, strlen(text), NULL, NULL, 0, &ids, &learn, err);
        is_text = 1;
    } else {
        lode_seterr(err,
                    "the record has none of \"text\", \"prompt\"/\"completion\" and "
                    "\"messages\"");
        return -1;
    }
    if (n < 0)
        return -1;
    int any = 0;
    for (int i = 1; i < n; i++)
        any |= learn[i];
    if (!any) {
        lode_seterr(err, "the record has no tokens to learn");
        goto fail;
    }
    if (n <= ctx) {
        push(out, ids, learn, n);
        return 0;
    }
    if (!is_text) {
        lode_seterr(err, "the record is %d tokens, more than --ctx %d", n, ctx);
        goto fail;
    }
    for (int at = 0; at + 1 < n; at += ctx - 1) {
        int k = n - at < ctx ? n - at : ctx;
        int *wi = xmalloc(sizeof *wi * (size_t)k);
        unsigned char *wl = xmalloc((size_t)k);
        memcpy(wi, ids + at, sizeof *wi * (size_t)k);
        memcpy(wl, learn + at, (size_t)k);
        wl[0] = 0;
        push(out, wi, wl, k);
    }
    free(ids);
    free(learn);
    return 0;
fail:
    free(ids);
    free(learn);
    return -1;
}

struct pack *ft_pack(const struct examples *e, const size_t *order, int ctx, size_t *npacks)
{
    struct pack *p = NULL;
    size_t np = 0;
    for (size_t i = 0; i < e->n; i++) {
        const struct example *x = &e->v[order ? order[i] : i];
        struct pack *c = np ? &p[np - 1] : NULL;
        if (!c || c->n + x->n > ctx) {
            p = xreallocarray(p, np + 1, sizeof *p);
            c = &p[np++];
            memset(c, 0, sizeof *c);
            c->ids = xmalloc(sizeof *c->ids * (size_t)ctx);
            c->tgt = xmalloc(sizeof *c->tgt * (size_t)ctx);
        }
        c->starts = xreallocarray(c->starts, (size_t)c->nstarts + 1, sizeof *c->starts);
        c->starts[c->nstarts++] = c->n;
        for (int j = 0; j < x->n; j++) {
            c->ids[c->n + j] = x->ids[j];
            int learnt = j + 1 < x->n && x->learn[j + 1];
            c->tgt[c->n + j] = learnt ? x->ids[j + 1] : -1;
            c->targets += learnt;
        }
        c->n += x->n;
    }
    *npacks = np;
    return p;
}

void ft_packs_free(struct pack *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].ids);
        free(p[i].tgt);
        free(p[i].starts);
    }
    free(p);
}

void ft_packs_digest(const struct pack *p, size_t n, char out[65])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    for (size_t i = 0; i < n; i++) {
        g_checksum_update(c, (const guchar *)p[i].ids, sizeof *p[i].ids * (size_t)p[i].n);
        g_checksum_update(c, (const guchar *)p[i].tgt, sizeof *p[i].tgt * (size_t)p[i].n);
        g_checksum_update(c, (const guchar *)p[i].starts,
                          sizeof *p[i].starts * (size_t)p[i].nstarts);
    }
    snprintf(out, 65, "%s", g_checksum_get_string(c));
    g_checksum_free(c);
}

void ft_shuffle(size_t *v, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        v[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(splitmix64(&st) % i), k = v[i - 1];
        v[i - 1] = v[j];
        v[j] = k;
    }
}

double ft_lr(double lr, int step, int warmup, int steps)
{
    if (warmup > 0 && step <= warmup)
        return lr * step / warmup;
    if (steps <= warmup)
        return lr;
    double p = (double)(step - warmup - 1) / (double)(steps - warmup);
    return lr * 0.5 * (1 + cos(M_PI * (p > 1 ? 1 : p)));
}

int ft_checkpoint_save(struct trainer *t, const struct decoder *m, const char *path, int step,
                       const char *fingerprint, lode_error *err)
{
    struct gguf_writer *w = gguf_writer_new();
    gguf_put_str(w, "general.architecture", m->arch);
    gguf_put_str(w, "general.type", "lode-finetune-checkpoint");
    gguf_put_u32(w, "lode.finetune.step", (uint32_t)step);
    gguf_put_str(w, "lode.finetune.fingerprint", fingerprint);
    int n = trainer_nparams(t);
    char **names = xcalloc((size_t)n * 3, sizeof *names);
    for (int i = 0; i < n; i++) {
        struct tparam *p = trainer_param(t, i);
        float *what[3] = {p->w, p->m, p->v};
        const char *suffix[3] = {"", ".adam_m", ".adam_v"};
        for (int k = 0; k < 3; k++) {
            names[3 * i + k] = xasprintf("%s%s", p->name, suffix[k]);
            uint64_t ne[1] = {p->n};
            gguf_put_tensor(w, names[3 * i + k], GGML_F32, 1, ne, what[k], sizeof(float) * p->n);
        }
    }
    int rc = gguf_write(w, path, err);
    gguf_writer_free(w);
    for (int i = 0; i < 3 * n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int ft_checkpoint_load(struct trainer *t, const char *path, const char *fingerprint,
                       lode_error *err)
{
    struct gguf g;
    if (gguf_open(path, &g, err) < 0)
        return -1;
    const char *type = gguf_str(&g, "general.type"),
               *fp = gguf_str(&g, "lode.finetune.fingerprint");
    int step = (int)gguf_int(&g, "lode.finetune.step", -1);
    if (!type || strcmp(type, "lode-finetune-checkpoint") || !fp || step < 0) {
        lode_seterr(err, "%s is not a lode-finetune checkpoint", path);
        goto fail;
    }
    if (strcmp(fp, fingerprint)) {
        lode_seterr(err,
                    "%s belongs to another run: its settings or data differ (checkpoint: "
                    "%s; now: %s)",
                    path, fp, fingerprint);
        goto fail;
    }
    for (int i = 0; i < trainer_nparams(t); i++) {
        struct tparam *p = trainer_param(t, i);
        float *what[3] = {p->w, p->m, p->v};
        const char *suffix[3] = {"", ".adam_m", ".adam_v"};
        for (int k = 0; k < 3; k++) {
            char name[128];
            snprintf(name, sizeof name, "%s%s", p->name, suffix[k]);
            const struct gguf_tensor *x = gguf_tensor(&g, name);
            if (!x || x->type != GGML_F32 || x->count != p->n) {
                lode_seterr(err, "%s: tensor %s is missing or of another size", path, name);
                goto fail;
            }
            memcpy(what[k], x->data, sizeof(float) * p->n);
        }
    }
    gguf_close(&g);
    return step;
fail:
    gguf_close(&g);
    return -1;
}

/* ---- a training run ---- */

/* The mean loss per target token over packs, without dropout. */
static double evaluate(struct trainer *t, const struct pack *p, size_t n)
{
    double sum = 0;
    long long count = 0;
    for (size_t i = 0; i < n; i++) {
        int c;
        sum += trainer_run(t, p[i].ids, p[i].tgt, p[i].n, p[i].starts, p[i].nstarts, TRAIN_EVAL, 1,
                           0, &c);
        count += c;
    }
    return count ? sum / (double)count : NAN;
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

static json_t *eval_record(int step, double loss)
{
    json_t *r = json_object();
    json_object_set_new(r, "step", json_integer(step));
    json_object_set_new(r, "eval_loss", json_real(loss));
    return r;
}

/* The run's fingerprint: a checkpoint is resumed only by the same run. */
static char *fingerprint(const struct decoder *m, const struct ft_config *c, int warmup, int steps,
                         const struct pack *packs, size_t npacks)
{
    char digest[65];
    ft_packs_digest(packs, npacks, digest);
    return xasprintf("model=%s targets=%s rank=%d alpha=%g dropout=%g lr=%g warmup=%d "
                     "wd=%g clip=%g steps=%d batch=%d accum=%d ctx=%d seed=%llu data=%.16s",
                     m->id, c->targets_name, c->rank, c->alpha, c->dropout, c->lr, warmup,
                     c->weight_decay, c->clip, steps, c->batch, c->accum, c->ctx,
                     (unsigned long long)c->seed, digest);
}

/* The packs of one step, their gradients accumulated, clipped, applied;
 * the step's record. */
static json_t *one_step(struct trainer *t, const struct ft_config *c, int step, int steps,
                        int warmup, const struct pack **sp, double *loss_sum, long long *targets,
                        long long *tokens)
{
    int per_step = c->batch * c->accum;
    double t0 = now_seconds(), sum = 0;
    long long tn = 0, tok = 0;
    for (int j = 0; j < per_step; j++)
        tn += sp[j]->targets;
    trainer_zero_grad(t);
    for (int j = 0; j < per_step; j++) {
        int cnt;
        sum += trainer_run(t, sp[j]->ids, sp[j]->tgt, sp[j]->n, sp[j]->starts, sp[j]->nstarts,
                           TRAIN_GRAD, tn ? 1.0 / (double)tn : 0, (uint64_t)step, &cnt);
        tok += sp[j]->n;
    }
    double norm = trainer_clip(t, c->clip);
    double lr = ft_lr(c->lr, step, warmup, steps);
    trainer_adamw(t, step, lr, 0.9, 0.999, 1e-8, c->weight_decay);
    double secs = now_seconds() - t0;
    *loss_sum = sum, *targets = tn, *tokens = tok;
    json_t *r = json_object();
    json_object_set_new(r, "step", json_integer(step));
    json_object_set_new(r, "loss", json_real(tn ? sum / (double)tn : 0));
    json_object_set_new(r, "lr", json_real(lr));
    json_object_set_new(r, "grad_norm", json_real(norm));
    json_object_set_new(r, "tokens", json_integer(tok));
    json_object_set_new(r, "targets", json_integer(tn));
    json_object_set_new(r, "tokens_per_second", json_real(secs > 0 ? (double)tok / secs : 0));
    return r;
}

int ft_train(struct decoder *m, const struct ft_config *c, const struct examples *train,
             const struct examples *held, const struct ft_hooks *h, struct ft_totals *tot,
             lode_error *err)
{
    /* the trainer's passes do not split fused matrices */
    if (m->fused)
        return lode_fail(
            err, LODE_EUNSUPPORTED,
            "training %s models is not supported (llama, mistral, qwen2 and qwen3 are)", m->arch);
    size_t npacks, nheld = 0;
    size_t *ord = xmalloc(sizeof *ord * train->n);
    ft_shuffle(ord, train->n, c->seed);
    struct pack *packs = ft_pack(train, ord, c->ctx, &npacks);
    free(ord);
    struct pack *eval = held->n ? ft_pack(held, NULL, c->ctx, &nheld) : NULL;
    int per_step = c->batch * c->accum;
    int steps = c->steps
        ? c->steps
        : (int)((npacks * (size_t)c->epochs + (size_t)per_step - 1) / (size_t)per_step);
    int warmup = c->warmup >= 0 ? c->warmup : (steps / 10 < 100 ? steps / 10 : 100);
    char *fp = fingerprint(m, c, warmup, steps, packs, npacks);
    struct train_cfg tc = {c->targets, c->rank, (float)c->alpha, (float)c->dropout, c->threads,
                           c->seed,    0};
    struct trainer *t = trainer_new(m, &tc, NULL);
    char *ckpt = xasprintf("%s.ckpt", c->out);
    struct lora a = {0};
    int start = 1, rc = 0, have_adapter = 0;
    if (c->resume && access(ckpt, F_OK) == 0) {
        int done = ft_checkpoint_load(t, ckpt, fp, err);
        if (done < 0) {
            rc = lode_fail(err, LODE_EINVAL, "cannot resume: %.480s", err->msg);
            goto out;
        }
        start = done + 1;
    }
    if (eval && start == 1)
        h->record(h->ud, eval_record(0, evaluate(t, eval, nheld)));
    struct order po = {xmalloc(sizeof(size_t) * npacks), npacks, -1, c->seed};
    const struct pack **sp = xmalloc(sizeof *sp * (size_t)per_step);
    double started = now_seconds(), last_sum = 0;
    long long last_count = 0;
    int tail = steps / 10 > 1 ? steps / 10 : 1; /* steps the final train_loss averages */
    memset(tot, 0, sizeof *tot);
    for (int step = start; step <= steps && !rc; step++) {
        for (int j = 0; j < per_step; j++)
            sp[j] = &packs[pack_at(&po, (long long)(step - 1) * per_step + j)];
        double sum, t0 = now_seconds();
        long long tn, tokens;
        json_t *r = one_step(t, c, step, steps, warmup, sp, &sum, &tn, &tokens);
        double secs = now_seconds() - t0;
        tot->tokens += tokens;
        tot->steps++;
        if (step > steps - tail) {
            last_sum += sum;
            last_count += tn;
        }
        json_object_set_new(r, "epoch", json_real((double)step * per_step / (double)npacks));
        if (eval && c->eval_every && step % c->eval_every == 0 && step < steps)
            json_object_set_new(r, "eval_loss", json_real(evaluate(t, eval, nheld)));
        h->record(h->ud, r);
        if (c->save_every && (step % c->save_every == 0 || step == steps)) {
            struct lora saved;
            trainer_export(t, &saved);
            if ((rc = ft_checkpoint_save(t, m, ckpt, step, fp, err)) >= 0)
                rc = lora_save(&saved, m, c->out, err);
            lora_free(&saved);
        }
        h->progress(h->ud, step, steps, tn ? sum / (double)tn : 0,
                    secs > 0 ? (double)tokens / secs : 0);
        if (c->fault_step == step) /* test hook: a run killed here */
            raise(SIGKILL);
    }
    free(po.v);
    free(sp);
    if (rc < 0)
        goto out;
    trainer_export(t, &a);
    have_adapter = 1;
    if ((rc = lora_save(&a, m, c->out, err)) < 0)
        goto out;
    tot->seconds = now_seconds() - started;
    json_t *r = json_object();
    json_object_set_new(r, "done", json_true());
    json_object_set_new(r, "steps", json_integer(steps));
    if (last_count)
        json_object_set_new(r, "train_loss", json_real(last_sum / (double)last_count));
    if (eval)
        json_object_set_new(r, "eval_loss", json_real(evaluate(t, eval, nheld)));
    json_object_set_new(r, "tokens", json_integer(tot->tokens));
    json_object_set_new(r, "seconds", json_real(tot->seconds));
    json_object_set_new(r, "tokens_per_second",
                        json_real(tot->seconds > 0 ? (double)tot->tokens / tot->seconds : 0));
    json_object_set_new(r, "adapter", json_string(c->out));
    if (c->merge) {
        decoder_add_lora(m, &a);
        if ((rc = lora_merge(m, c->merge, err)) < 0) {
            json_decref(r);
            goto out;
        }
        json_object_set_new(r, "merged", json_string(c->merge));
    }
    h->record(h->ud, r);
out:
    if (have_adapter)
        lora_free(&a);
    free(ckpt);
    free(fp);
    trainer_free(t);
    ft_packs_free(packs, npacks);
    ft_packs_free(eval, nheld);
    return rc < 0 ? rc : 0;
}
