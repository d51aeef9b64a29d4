#include "train/finetune.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf.h"
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
            lode_seterr(err, "the tokens do not decode to the text, so the parts to learn "
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
            lode_seterr(err, "message %zu needs a role (system, user or assistant) and a "
                        "content string", i + 1);
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
        lode_seterr(err, "the record has none of \"text\", \"prompt\"/\"completion\" and "
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
        g_checksum_update(c, (const guchar *)p[i].starts, sizeof *p[i].starts * (size_t)p[i].nstarts);
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
    const char *type = gguf_str(&g, "general.type"), *fp = gguf_str(&g, "lode.finetune.fingerprint");
    int step = (int)gguf_int(&g, "lode.finetune.step", -1);
    if (!type || strcmp(type, "lode-finetune-checkpoint") || !fp || step < 0) {
        lode_seterr(err, "%s is not a lode-finetune checkpoint", path);
        goto fail;
    }
    if (strcmp(fp, fingerprint)) {
        lode_seterr(err, "%s belongs to another run: its settings or data differ (checkpoint: "
                    "%s; now: %s)", path, fp, fingerprint);
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
