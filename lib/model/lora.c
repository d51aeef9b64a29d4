/* lora.c - lora.h's adapters: llama.cpp's GGUF LoRA files read and checked
 * against the model, applied in the decoder's projections, written, and
 * merged into a copy of the model. */
#include "model/lora.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf.h"
#include "model/decoder.h"
#include "model/quant.h"

static const char *const tnames[LORA_NT] = {"q", "k", "v", "o", "gate", "up", "down"};
static const char *const ttensors[LORA_NT] = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                                              "ffn_gate", "ffn_up", "ffn_down"};

const char *lora_target_name(int t)
{
    return tnames[t];
}

const char *lora_target_tensor(int t)
{
    return ttensors[t];
}

int lora_targets_parse(const char *list)
{
    int bits = 0;
    char *copy = xstrdup(list), *save = NULL;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int t;
        for (t = 0; t < LORA_NT && strcmp(w, tnames[t]); t++)
            ;
        if (t == LORA_NT) {
            free(copy);
            return -1;
        }
        bits |= 1 << t;
    }
    free(copy);
    return bits ? bits : -1;
}

const struct qmat *lora_base(const struct decoder *m, int l, int t)
{
    const struct decoder_layer *L = &m->layer[l];
    const struct qmat *w[LORA_NT] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
    return w[t];
}

static struct lora_pair *pair(const struct lora *a, int l, int t)
{
    return &a->p[(size_t)l * LORA_NT + (size_t)t];
}

void lora_init(struct lora *a, const struct decoder *m, unsigned targets, int rank, float alpha,
               uint64_t seed)
{
    memset(a, 0, sizeof *a);
    a->layers = m->layers;
    a->alpha = alpha;
    a->scale = 1;
    a->p = xcalloc((size_t)m->layers * LORA_NT, sizeof *a->p);
    for (int l = 0; l < m->layers; l++)
        for (int t = 0; t < LORA_NT; t++) {
            if (!(targets & (1u << t)))
                continue;
            const struct qmat *w = lora_base(m, l, t);
            struct lora_pair *p = pair(a, l, t);
            p->rank = rank;
            p->in = w->cols;
            p->out = w->rows;
            p->a = xmalloc(sizeof *p->a * (size_t)rank * (size_t)p->in);
            p->b = xcalloc((size_t)p->out * (size_t)rank, sizeof *p->b);
            /* PEFT: kaiming_uniform_(a=sqrt(5)), a bound of 1/sqrt(in) */
            uint64_t st = seed ^ (0xA0761D6478BD642Full * (uint64_t)(l * LORA_NT + t + 1));
            double bound = 1.0 / sqrt((double)p->in);
            for (int64_t i = 0; i < (int64_t)rank * p->in; i++)
                p->a[i] = (float)((2 * uniform01(&st) - 1) * bound);
        }
}

void lora_free(struct lora *a)
{
    for (int i = 0; a->p && i < a->layers * LORA_NT; i++) {
        free(a->p[i].a);
        free(a->p[i].b);
    }
    free(a->p);
    memset(a, 0, sizeof *a);
}

float lora_factor(const struct lora *a, const struct lora_pair *p)
{
    return a->alpha != 0 ? a->scale * a->alpha / (float)p->rank : a->scale;
}

/* "blk.N.NAME.weight" and what follows: layer, target (-1 when NAME is
 * not one), and the rest of the name; NULL when it is not a layer's. */
static const char *target_of(const char *name, int *l, int *t)
{
    int n = -1;
    char what[32];
    if (sscanf(name, "blk.%d.%31[a-z_].weight%n", l, what, &n) != 2 || n < 0)
        return NULL;
    for (*t = LORA_NT - 1; *t >= 0 && strcmp(what, ttensors[*t]); (*t)--)
        ;
    return name + n;
}

/* "blk.N.attn_q.weight.lora_a": layer, target and which half (0 a, 1 b). */
static int parse_name(const char *name, int *l, int *t, int *half)
{
    const char *rest = target_of(name, l, t);
    if (!rest || *t < 0 || (strcmp(rest, ".lora_a") && strcmp(rest, ".lora_b")))
        return -1;
    *half = rest[6] == 'b';
    return 0;
}

static float *to_float(const struct gguf_tensor *t)
{
    float *v = xmalloc(sizeof *v * (size_t)t->count);
    dequant_row(t->type, t->data, v, (int64_t)t->count);
    return v;
}

int lora_load(const char *path, const struct decoder *m, float scale, struct lora *a,
              lode_error *err)
{
    memset(a, 0, sizeof *a);
    struct gguf g;
    if (gguf_open(path, &g, err) < 0)
        return -1;
    const char *type = gguf_str(&g, "general.type"), *at = gguf_str(&g, "adapter.type");
    const char *arch = gguf_str(&g, "general.architecture");
    if (!type || strcmp(type, "adapter") || !at || strcmp(at, "lora")) {
        lode_seterr(err,
                    "%s is not a LoRA adapter (general.type \"adapter\" and adapter.type "
                    "\"lora\" expected)",
                    path);
        goto fail;
    }
    if (!arch || strcmp(arch, m->arch)) {
        lode_seterr(err, "%s is an adapter for \"%s\" models, the model is \"%s\"", path,
                    arch ? arch : "(none)", m->arch);
        goto fail;
    }
    if (m->fused) {
        lode_seterr(err, "%s: adapters of %s's fused attn_qkv and ffn_up are not supported", path,
                    m->arch);
        goto fail;
    }
    a->layers = m->layers;
    a->alpha = (float)gguf_float(&g, "adapter.lora.alpha", 0);
    a->scale = scale;
    a->p = xcalloc((size_t)m->layers * LORA_NT, sizeof *a->p);
    for (size_t i = 0; i < g.nt; i++) {
        const struct gguf_tensor *x = &g.t[i];
        int l, t, half;
        if (parse_name(x->name, &l, &t, &half) < 0) {
            lode_seterr(err,
                        "%s: tensor %s is not one lode applies (LoRA on blk.N.attn_q, "
                        "attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down)",
                        path, x->name);
            goto fail;
        }
        if (l < 0 || l >= m->layers) {
            lode_seterr(err, "%s: tensor %s is for layer %d, the model has %d layers", path,
                        x->name, l, m->layers);
            goto fail;
        }
        if (x->ndim != 2 || !quant_readable(x->type)) {
            lode_seterr(err, "%s: tensor %s is not a float matrix", path, x->name);
            goto fail;
        }
        struct lora_pair *p = pair(a, l, t);
        if (half ? p->b != NULL : p->a != NULL) {
            lode_seterr(err, "%s: tensor %s appears twice", path, x->name);
            goto fail;
        }
        const struct qmat *w = lora_base(m, l, t);
        int64_t in = (int64_t)x->ne[0], r = (int64_t)x->ne[1];
        if (half) {
            r = (int64_t)x->ne[0];
            in = -1;
        }
        int64_t out = half ? (int64_t)x->ne[1] : -1;
        if ((!half && in != w->cols) || (half && out != w->rows) || r < 1 || r > 65536 ||
            (p->rank && p->rank != r)) {
            lode_seterr(err,
                        "%s: %s is %llux%llu, which does not fit the model's %s (%lld x "
                        "%lld)%s",
                        path, x->name, (unsigned long long)x->ne[0], (unsigned long long)x->ne[1],
                        ttensors[t], (long long)w->rows, (long long)w->cols,
                        p->rank && p->rank != r ? ": ranks differ" : "");
            goto fail;
        }
        p->rank = (int)r;
        p->in = w->cols;
        p->out = w->rows;
        if (half)
            p->b = to_float(x);
        else
            p->a = to_float(x);
    }
    int any = 0;
    for (int i = 0; i < m->layers * LORA_NT; i++) {
        if (!a->p[i].a != !a->p[i].b) {
            lode_seterr(err, "%s: blk.%d.%s has only one of lora_a and lora_b", path, i / LORA_NT,
                        ttensors[i % LORA_NT]);
            goto fail;
        }
        any |= a->p[i].a != NULL;
    }
    if (!any) {
        lode_seterr(err, "%s has no LoRA tensors", path);
        goto fail;
    }
    gguf_close(&g);
    return 0;
fail:
    lora_free(a);
    gguf_close(&g);
    return -1;
}

int lora_load_spec(const char *spec, const struct decoder *m, struct lora *a, lode_error *err)
{
    char *path = xstrdup(spec), *colon = strrchr(path, ':'), *end = NULL;
    float scale = 1;
    if (colon && colon[1]) {
        double v = strtod(colon + 1, &end);
        if (!*end && isfinite(v)) {
            scale = (float)v;
            *colon = 0;
        }
    }
    int rc = lora_load(path, m, scale, a, err);
    free(path);
    return rc;
}

struct lora *lora_load_all(struct decoder *m, const char *const *specs, size_t n, lode_error *err)
{
    struct lora *a = xcalloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; i < n; i++)
        if (lora_load_spec(specs[i], m, &a[i], err) < 0) {
            lora_free_all(a, i);
            return NULL;
        }
    for (size_t i = 0; i < n; i++)
        decoder_add_lora(m, &a[i]);
    return a;
}

void lora_free_all(struct lora *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        lora_free(&a[i]);
    free(a);
}

int lora_save(const struct lora *a, const struct decoder *m, const char *path, lode_error *err)
{
    struct gguf_writer *w = gguf_writer_new();
    gguf_put_str(w, "general.architecture", m->arch);
    gguf_put_str(w, "general.type", "adapter");
    gguf_put_str(w, "adapter.type", "lora");
    gguf_put_f32(w, "adapter.lora.alpha", a->alpha);
    char name[96];
    for (int l = 0; l < a->layers; l++)
        for (int t = 0; t < LORA_NT; t++) {
            const struct lora_pair *p = pair(a, l, t);
            if (!p->a)
                continue;
            uint64_t nea[2] = {(uint64_t)p->in, (uint64_t)p->rank};
            uint64_t neb[2] = {(uint64_t)p->rank, (uint64_t)p->out};
            snprintf(name, sizeof name, "blk.%d.%s.weight.lora_a", l, ttensors[t]);
            gguf_put_tensor(w, name, GGML_F32, 2, nea, p->a, sizeof(float) * nea[0] * nea[1]);
            snprintf(name, sizeof name, "blk.%d.%s.weight.lora_b", l, ttensors[t]);
            gguf_put_tensor(w, name, GGML_F32, 2, neb, p->b, sizeof(float) * neb[0] * neb[1]);
        }
    int rc = gguf_write(w, path, err);
    gguf_writer_free(w);
    return rc;
}

void lora_apply(const struct decoder *m, int l, int t, const float *x, int n, float *y)
{
    for (int i = 0; i < m->nlora; i++) {
        const struct lora *a = m->lora[i];
        const struct lora_pair *p = pair(a, l, t);
        if (!p->a)
            continue;
        float *u = xmalloc(sizeof *u * (size_t)n * (size_t)p->rank);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, p->rank, (int)p->in, 1.0f, x,
                    (int)p->in, p->a, (int)p->in, 0.0f, u, p->rank);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)p->out, p->rank,
                    lora_factor(a, p), u, p->rank, p->b, p->rank, 1.0f, y, (int)p->out);
        free(u);
    }
}

/* W + sum of s B A, row by row, in W's type (or F32). */
static void *merged(const struct decoder *m, int l, int t, enum ggml_type *type, size_t *nbytes)
{
    const struct qmat *w = lora_base(m, l, t);
    *type = quant_writable(w->type) || w->type == GGML_F32 ? w->type : GGML_F32;
    size_t rb = ggml_row_size(*type, (uint64_t)w->cols);
    *nbytes = rb * (size_t)w->rows;
    unsigned char *out = xmalloc(*nbytes);
    float *row = xmalloc(sizeof *row * (size_t)w->cols);
    for (int64_t r = 0; r < w->rows; r++) {
        qmat_row(w, r, row);
        for (int i = 0; i < m->nlora; i++) {
            const struct lora *a = m->lora[i];
            const struct lora_pair *p = pair(a, l, t);
            if (!p->a)
                continue;
            float s = lora_factor(a, p);
            for (int k = 0; k < p->rank; k++)
                cblas_saxpy((int)w->cols, s * p->b[r * p->rank + k], p->a + (size_t)k * p->in, 1,
                            row, 1);
        }
        if (*type == GGML_F32)
            memcpy(out + (size_t)r * rb, row, rb);
        else
            quant_row(*type, row, out + (size_t)r * rb, w->cols);
    }
    free(row);
    return out;
}

static int adapted(const struct decoder *m, int l, int t)
{
    for (int i = 0; i < m->nlora; i++)
        if (pair(m->lora[i], l, t)->a)
            return 1;
    return 0;
}

int lora_merge(const struct decoder *m, const char *path, lode_error *err)
{
    struct gguf_writer *w = gguf_writer_new();
    for (size_t i = 0; i < m->g.nkv; i++)
        gguf_put_kv(w, &m->g.kv[i]);
    void **owned = xcalloc(m->g.nt, sizeof *owned);
    for (size_t i = 0; i < m->g.nt; i++) {
        const struct gguf_tensor *x = &m->g.t[i];
        int l, t;
        enum ggml_type type = x->type;
        const void *data = x->data;
        size_t nbytes = x->nbytes;
        const char *rest = target_of(x->name, &l, &t);
        if (rest && !*rest && t >= 0 && l >= 0 && l < m->layers && adapted(m, l, t)) {
            owned[i] = merged(m, l, t, &type, &nbytes);
            data = owned[i];
        }
        gguf_put_tensor(w, x->name, type, x->ndim, x->ne, data, nbytes);
    }
    int rc = gguf_write(w, path, err);
    gguf_writer_free(w);
    for (size_t i = 0; i < m->g.nt; i++)
        free(owned[i]);
    free(owned);
    return rc;
}
