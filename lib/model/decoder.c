/* decoder.c - decoder.h's Llama-family models: the GGUF metadata and
 * tensors checked, the KV cache and batch buffers, and the forward pass
 * (RMS norm, q/k/v, RoPE, grouped-query attention, SwiGLU, the output)
 * on the thread team; the pieces the trainer shares. */
#include "model/decoder.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/hash.h"
#include "model/kernels.h"

/* ---- loading ---- */

static int64_t arch_int(const struct decoder *m, const char *key, int64_t def)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->arch, key);
    return gguf_int(&m->g, full, def);
}

static double arch_float(const struct decoder *m, const char *key, double def)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->arch, key);
    return gguf_float(&m->g, full, def);
}

/* A matrix of rows x cols (ggml: ne[0] = cols, ne[1] = rows). */
static int matrix(struct decoder *m, const char *name, int64_t rows, int64_t cols, int optional,
                  struct qmat *out, lode_error *err)
{
    const struct gguf_tensor *t = gguf_tensor(&m->g, name);
    if (!t) {
        if (optional)
            return 1;
        lode_seterr(err, "tensor %s is missing", name);
        return -1;
    }
    if (t->ndim != 2 || (int64_t)t->ne[0] != cols || (int64_t)t->ne[1] != rows) {
        lode_seterr(err, "tensor %s is %llux%llu, the configuration says %lldx%lld", name,
                    (unsigned long long)t->ne[0], (unsigned long long)(t->ndim > 1 ? t->ne[1] : 1),
                    (long long)cols, (long long)rows);
        return -1;
    }
    if (!quant_readable(t->type)) {
        lode_seterr(err,
                    "tensor %s: type %s is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, "
                    "Q5_0, Q5_1, Q4_K, Q5_K and Q6_K are)",
                    name, ggml_type_name(t->type));
        return -1;
    }
    *out = (struct qmat){t->type, rows, cols, ggml_row_size(t->type, (uint64_t)cols), t->data};
    return 0;
}

/* A vector of n, as floats owned by the model. */
static int vector(struct decoder *m, const char *name, int64_t n, int optional, const float **out,
                  lode_error *err)
{
    const struct gguf_tensor *t = gguf_tensor(&m->g, name);
    if (!t) {
        *out = NULL;
        if (optional)
            return 0;
        lode_seterr(err, "tensor %s is missing", name);
        return -1;
    }
    if (t->count != (uint64_t)n || !quant_readable(t->type)) {
        lode_seterr(err, "tensor %s: %llu values of %s, %lld float values expected", name,
                    (unsigned long long)t->count, ggml_type_name(t->type), (long long)n);
        return -1;
    }
    float *v = xmalloc(sizeof *v * (size_t)n);
    dequant_row(t->type, t->data, v, n);
    m->owned = xreallocarray(m->owned, (size_t)m->nowned + 1, sizeof *m->owned);
    m->owned[m->nowned++] = v;
    *out = v;
    return 0;
}

static void identity(struct decoder *m, const char *path)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    const unsigned char *p = m->g.file.data, *first = p + m->g.file.len;
    for (size_t i = 0; i < m->g.nt; i++)
        if ((const unsigned char *)m->g.t[i].data < first)
            first = m->g.t[i].data;
    hash_sampled(c, p, m->g.file.len, (size_t)(first - p));
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char base[128];
    snprintf(base, sizeof base, "%s", name);
    char *dot = strrchr(base, '.');
    if (dot && !strcmp(dot, ".gguf"))
        *dot = 0;
    snprintf(m->id, sizeof m->id, "%.120s@%.12s", base, g_checksum_get_string(c));
    g_checksum_free(c);
}

/* Maps every page of the weights now, as llama.cpp's MAP_POPULATE does:
 * every token reads all of them, and faulting them in one by one during
 * the first prompt costs more than this. */
static void populate(const struct gguf *g)
{
    if (!g->file.map)
        return;
#ifdef MADV_POPULATE_READ
    if (madvise(g->file.map, g->file.maplen, MADV_POPULATE_READ) == 0)
        return;
#endif
    volatile const unsigned char *p = g->file.data;
    unsigned char sum = 0;
    for (size_t i = 0; i < g->file.len; i += 4096)
        sum ^= p[i];
    (void)sum;
}

int decoder_load(const char *path, struct decoder *m, lode_error *err)
{
    memset(m, 0, sizeof *m);
    if (gguf_open(path, &m->g, err) < 0)
        return -1;
    populate(&m->g);
    const char *arch = gguf_str(&m->g, "general.architecture");
    static const char *const known[] = {"llama", "mistral", "qwen2", "qwen3", "phi3"};
    int a = 0;
    while (arch && a < 5 && strcmp(arch, known[a]))
        a++;
    if (!arch || a == 5) {
        lode_seterr(err,
                    "%s: architecture \"%s\" is not supported (llama, mistral, qwen2, qwen3 and "
                    "phi3 are)",
                    path, arch ? arch : "(none)");
        goto fail;
    }
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    int qwen3 = a == 3, phi3 = a == 4;
    m->rope_neox = a >= 2;
    m->fused = phi3;
    m->dim = (int)arch_int(m, "embedding_length", 0);
    m->layers = (int)arch_int(m, "block_count", 0);
    m->heads = (int)arch_int(m, "attention.head_count", 0);
    m->kv_heads = (int)arch_int(m, "attention.head_count_kv", m->heads);
    m->ffn = (int)arch_int(m, "feed_forward_length", 0);
    m->ctx_train = (int)arch_int(m, "context_length", 2048);
    m->eps = (float)arch_float(m, "attention.layer_norm_rms_epsilon", 1e-5);
    m->rope_base = (float)arch_float(m, "rope.freq_base", 10000);
    /* a head size of its own (qwen3), else dim / heads */
    int key_len = (int)arch_int(m, "attention.key_length", 0);
    int value_len = (int)arch_int(m, "attention.value_length", key_len);
    if (m->dim < 1 || m->dim > 65536 || m->layers < 1 || m->layers > 1024 || m->heads < 1 ||
        m->heads > 1024 || (!key_len && m->dim % m->heads) || m->kv_heads < 1 ||
        m->heads % m->kv_heads || m->ffn < 1 || m->ffn > (1 << 20) || m->ctx_train < 1 ||
        !(m->eps > 0) || !(m->rope_base > 0) || key_len < 0 || key_len > 4096) {
        lode_seterr(err, "%s: the model's dimensions are missing or inconsistent", path);
        goto fail;
    }
    if (value_len != key_len) {
        lode_seterr(err, "%s: attention.value_length %d differs from key_length %d", path,
                    value_len, key_len);
        goto fail;
    }
    m->head_dim = key_len ? key_len : m->dim / m->heads;
    m->window = (int)arch_int(m, "attention.sliding_window", 0);
    if (m->window < 0)
        m->window = 0;
    if (m->window && m->window < m->ctx_train)
        m->ctx_train = m->window; /* positions beyond it would need the window's mask */
    m->rope_dim = (int)arch_int(m, "rope.dimension_count", m->head_dim);
    if (m->rope_dim < 2 || m->rope_dim > m->head_dim || m->rope_dim % 2) {
        lode_seterr(err, "%s: rope.dimension_count %d does not fit heads of %d", path, m->rope_dim,
                    m->head_dim);
        goto fail;
    }
    if (tok_from_gguf(&m->g, &m->tok, err) < 0)
        goto fail;
    const struct gguf_tensor *e = gguf_tensor(&m->g, "token_embd.weight");
    if (!e || e->ndim != 2 || (int)e->ne[0] != m->dim || e->ne[1] < (uint64_t)m->tok.n ||
        e->ne[1] > (1u << 24)) {
        lode_seterr(err, "%s: token_embd.weight is missing or does not fit %d tokens of %d", path,
                    m->tok.n, m->dim);
        goto fail;
    }
    m->vocab = (int)e->ne[1];
    int64_t hd = m->head_dim, q = (int64_t)m->heads * hd, kv = (int64_t)m->kv_heads * hd;
    if (matrix(m, "token_embd.weight", m->vocab, m->dim, 0, &m->embd, err) < 0 ||
        vector(m, "output_norm.weight", m->dim, 0, &m->out_norm, err) < 0)
        goto fail;
    int rc = matrix(m, "output.weight", m->vocab, m->dim, 1, &m->output, err);
    if (rc < 0)
        goto fail;
    if (rc == 1)
        m->output = m->embd; /* tied */
    if (vector(m, "rope_freqs.weight", m->rope_dim / 2, 1, &m->rope_freqs, err) < 0)
        goto fail;
    for (int i = 0; m->rope_freqs && i < m->rope_dim / 2; i++)
        if (!(m->rope_freqs[i] > 0) || !isfinite(m->rope_freqs[i])) {
            lode_seterr(err, "tensor rope_freqs.weight: factor %d is %g, not a positive number", i,
                        (double)m->rope_freqs[i]);
            goto fail;
        }
    m->layer = xcalloc((size_t)m->layers, sizeof *m->layer);
    for (int l = 0; l < m->layers; l++) {
        struct decoder_layer *L = &m->layer[l];
        char n[64];
#define NAME(s) (snprintf(n, sizeof n, "blk.%d.%s", l, s), n)
        if (phi3) {
            /* attn_qkv's rows are q, then k, then v; ffn_up's the gate, then up */
            struct qmat qkv, gu;
            if (matrix(m, NAME("attn_qkv.weight"), q + 2 * kv, m->dim, 0, &qkv, err) < 0 ||
                matrix(m, NAME("ffn_up.weight"), 2 * (int64_t)m->ffn, m->dim, 0, &gu, err) < 0)
                goto fail;
            L->wq = qmat_rows(&qkv, 0, q);
            L->wk = qmat_rows(&qkv, q, kv);
            L->wv = qmat_rows(&qkv, q + kv, kv);
            L->gate = qmat_rows(&gu, 0, m->ffn);
            L->up = qmat_rows(&gu, m->ffn, m->ffn);
        } else if (matrix(m, NAME("attn_q.weight"), q, m->dim, 0, &L->wq, err) < 0 ||
                   matrix(m, NAME("attn_k.weight"), kv, m->dim, 0, &L->wk, err) < 0 ||
                   matrix(m, NAME("attn_v.weight"), kv, m->dim, 0, &L->wv, err) < 0 ||
                   matrix(m, NAME("ffn_gate.weight"), m->ffn, m->dim, 0, &L->gate, err) < 0 ||
                   matrix(m, NAME("ffn_up.weight"), m->ffn, m->dim, 0, &L->up, err) < 0) {
            goto fail;
        }
        if (matrix(m, NAME("attn_output.weight"), m->dim, q, 0, &L->wo, err) < 0 ||
            matrix(m, NAME("ffn_down.weight"), m->dim, m->ffn, 0, &L->down, err) < 0 ||
            vector(m, NAME("attn_norm.weight"), m->dim, 0, &L->attn_norm, err) < 0 ||
            vector(m, NAME("ffn_norm.weight"), m->dim, 0, &L->ffn_norm, err) < 0 ||
            vector(m, NAME("attn_q.bias"), q, 1, &L->bq, err) < 0 ||
            vector(m, NAME("attn_k.bias"), kv, 1, &L->bk, err) < 0 ||
            vector(m, NAME("attn_v.bias"), kv, 1, &L->bv, err) < 0 ||
            vector(m, NAME("attn_q_norm.weight"), hd, !qwen3, &L->q_norm, err) < 0 ||
            vector(m, NAME("attn_k_norm.weight"), hd, !qwen3, &L->k_norm, err) < 0)
            goto fail;
#undef NAME
    }
    const char *tmpl = gguf_str(&m->g, "tokenizer.chat_template");
    m->chat_template = tmpl ? xstrdup(tmpl) : NULL;
    identity(m, path);
    return 0;
fail:
    decoder_free(m);
    return -1;
}

void decoder_free(struct decoder *m)
{
    for (int i = 0; i < m->nowned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->layer);
    free(m->chat_template);
    free(m->lora);
    tok_free(&m->tok);
    gguf_close(&m->g);
    memset(m, 0, sizeof *m);
}

void decoder_add_lora(struct decoder *m, const struct lora *a)
{
    m->lora = xreallocarray(m->lora, (size_t)m->nlora + 1, sizeof *m->lora);
    m->lora[m->nlora++] = a;
}

/* ---- state ---- */

int decoder_state_init(const struct decoder *m, struct decoder_state *s, int ctx, int threads,
                       lode_error *err)
{
    memset(s, 0, sizeof *s);
    if (ctx < 1 || ctx > (1 << 22)) {
        lode_seterr(err, "a context of %d tokens is out of range", ctx);
        return -1;
    }
    if (m->window && ctx > m->window) {
        lode_seterr(err,
                    "a context of %d tokens is beyond the model's sliding window of %d, whose "
                    "mask lode does not apply: give --ctx %d or less",
                    ctx, m->window, m->window);
        return -1;
    }
    size_t kv = (size_t)m->layers * (size_t)ctx * (size_t)m->kv_heads * (size_t)m->head_dim;
    s->k = calloc(kv, sizeof *s->k);
    s->v = calloc(kv, sizeof *s->v);
    if (!s->k || !s->v) {
        free(s->k);
        free(s->v);
        lode_seterr(err, "no memory for a KV cache of %d tokens (%zu MB)", ctx,
                    2 * kv * sizeof(float) >> 20);
        return -1;
    }
    s->ctx = ctx;
    s->team = team_new(threads);
    kernels_blas_threads(1); /* the team's members each run their own products */
    return 0;
}

void decoder_state_free(struct decoder_state *s)
{
    free(s->k);
    free(s->v);
    free(s->x);
    free(s->xb);
    free(s->q);
    free(s->kk);
    free(s->vv);
    free(s->att);
    free(s->hb);
    free(s->hb2);
    free(s->scores);
    free(s->rope);
    team_free(s->team);
    memset(s, 0, sizeof *s);
}

static void grow(float **p, size_t n)
{
    free(*p);
    *p = xmalloc(n * sizeof **p);
}

static void reserve(const struct decoder *m, struct decoder_state *s, int n)
{
    if (n <= s->cap)
        return;
    size_t t = (size_t)n, d = (size_t)m->dim, q = (size_t)m->heads * m->head_dim;
    size_t kv = (size_t)m->kv_heads * m->head_dim, f = (size_t)m->ffn;
    grow(&s->x, t * d);
    grow(&s->xb, t * (d > q ? d : q));
    grow(&s->q, t * q);
    grow(&s->kk, t * kv);
    grow(&s->vv, t * kv);
    grow(&s->att, t * q);
    grow(&s->hb, t * f);
    grow(&s->hb2, t * f);
    grow(&s->scores, (size_t)team_size(s->team) * t * (size_t)s->ctx);
    free(s->rope);
    s->rope = xmalloc(sizeof *s->rope * t * (size_t)m->rope_dim);
    s->cap = n;
}

/* ---- the pieces of a layer ---- */

void decoder_rmsnorm(float *out, const float *x, const float *w, int d, float eps)
{
    double ss = 0;
    for (int i = 0; i < d; i++)
        ss += (double)x[i] * x[i];
    float r = (float)(1.0 / sqrt(ss / d + eps));
    for (int i = 0; i < d; i++)
        out[i] = x[i] * r * w[i];
}

/* The rotation of each position of the batch: cos and sin for every pair,
 * the angle pos * base^(-2i/rope_dim) computed in double. */
void decoder_rope_table(const struct decoder *m, int pos, double *cs)
{
    for (int i = 0; i < m->rope_dim / 2; i++) {
        double theta = pos * pow((double)m->rope_base, -2.0 * i / m->rope_dim);
        if (m->rope_freqs)
            theta /= m->rope_freqs[i];
        cs[2 * i] = cos(theta);
        cs[2 * i + 1] = sin(theta);
    }
}

static void rope_table(const struct decoder *m, struct decoder_state *s, int n)
{
    for (int t = 0; t < n; t++)
        decoder_rope_table(m, s->n_past + t, s->rope + (size_t)t * (size_t)m->rope_dim);
}

/* Rotates the pairs of each head: adjacent ones ("norm", llama) or the
 * two halves of the rotated dimensions ("neox", qwen2); the angles are
 * rounded to T, so the float and double forms agree with their callers'
 * precision (the trainer is built in both). */
#define DEFINE_ROPE(NAME, T)                                                               \
    void NAME(const struct decoder *m, const double *cs, T *x, int nheads, int sign)       \
    {                                                                                      \
        int hd = m->head_dim, half = m->rope_dim / 2;                                      \
        for (int h = 0; h < nheads; h++) {                                                 \
            T *v = x + (size_t)h * hd;                                                     \
            for (int i = 0; i < half; i++) {                                               \
                T c = (T)cs[2 * i], sn = (T)(sign * cs[2 * i + 1]);                        \
                int a = m->rope_neox ? i : 2 * i, b = m->rope_neox ? i + half : 2 * i + 1; \
                T x0 = v[a], x1 = v[b];                                                    \
                v[a] = x0 * c - x1 * sn;                                                   \
                v[b] = x0 * sn + x1 * c;                                                   \
            }                                                                              \
        }                                                                                  \
    }
DEFINE_ROPE(decoder_rope, float)
DEFINE_ROPE(decoder_rope_f64, double)

/* hb = silu(gate) * up, for [lo, hi) */
static void swiglu(void *ud, int64_t lo, int64_t hi)
{
    struct decoder_state *s = ud;
    for (int64_t i = lo; i < hi; i++) {
        float g = s->hb[i];
        s->hb[i] = g / (1.0f + expf(-g)) * s->hb2[i];
    }
}

struct span_job {
    struct decoder_state *s;
    int64_t n;
};

static void swiglu_part(void *ctx, int worker, int nw)
{
    const struct span_job *j = ctx;
    int64_t lo, hi;
    team_share(j->n, worker, nw, &lo, &hi);
    swiglu(j->s, lo, hi);
}

static void project(const struct qmat *w, const float *x, int n, float *y, struct team *team)
{
    if (n == 1)
        qmat_matvec(w, x, y, team);
    else
        qmat_matmul(w, x, n, y, team);
}

struct attn_job {
    const struct decoder *m;
    struct decoder_state *s;
    int layer, n;
};

/* Causal attention of a batch of tokens, a head at a time: the scores of
 * all tokens and positions by one sgemm, masked, softmaxed, times V by
 * another. */
static void attend_batch(void *ctx, int worker, int nw)
{
    const struct attn_job *j = ctx;
    const struct decoder *m = j->m;
    struct decoder_state *s = j->s;
    int hd = m->head_dim, group = m->heads / m->kv_heads, n = j->n, P = s->n_past + n;
    size_t kvd = (size_t)m->kv_heads * hd, qd = (size_t)m->heads * hd;
    const float *K = s->k + (size_t)j->layer * s->ctx * kvd,
                *V = s->v + (size_t)j->layer * s->ctx * kvd;
    float *S = s->scores + (size_t)worker * (size_t)s->cap * s->ctx;
    int64_t lo, hi;
    team_share(m->heads, worker, nw, &lo, &hi);
    for (int h = (int)lo; h < hi; h++) {
        int kvh = h / group;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, P, hd, 1.0f / sqrtf((float)hd),
                    s->q + (size_t)h * hd, (int)qd, K + (size_t)kvh * hd, (int)kvd, 0.0f, S, P);
        for (int t = 0; t < n; t++) /* token t sees positions 0..n_past + t */
            softmax_causal(S + (size_t)t * P, s->n_past + t + 1, P);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, P, 1.0f, S, P,
                    V + (size_t)kvh * hd, (int)kvd, 0.0f, s->att + (size_t)h * hd, (int)qd);
    }
}

/* The same for one token, one head at a time. */
static void attend(void *ctx, int worker, int nw)
{
    const struct attn_job *j = ctx;
    const struct decoder *m = j->m;
    struct decoder_state *s = j->s;
    int hd = m->head_dim, group = m->heads / m->kv_heads;
    size_t kvd = (size_t)m->kv_heads * hd, qd = (size_t)m->heads * hd;
    const float *K = s->k + (size_t)j->layer * s->ctx * kvd,
                *V = s->v + (size_t)j->layer * s->ctx * kvd;
    float *sc = s->scores + (size_t)worker * (size_t)s->cap * s->ctx;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t lo, hi;
    team_share((int64_t)j->n * m->heads, worker, nw, &lo, &hi);
    for (int64_t it = lo; it < hi; it++) {
        int t = (int)(it / m->heads), h = (int)(it % m->heads), kvh = h / group;
        int last = s->n_past + t; /* positions 0..last are visible */
        const float *q = s->q + (size_t)t * qd + (size_t)h * hd;
        dot_rows(q, K + (size_t)kvh * hd, kvd, last + 1, hd, sc);
        for (int p = 0; p <= last; p++)
            sc[p] *= scale;
        softmax_causal(sc, last + 1, last + 1);
        axpy_rows(sc, V + (size_t)kvh * hd, kvd, last + 1, hd,
                  s->att + (size_t)t * qd + (size_t)h * hd);
    }
}

int decoder_eval(const struct decoder *m, struct decoder_state *s, const int *ids, int n,
                 float *logits, int all)
{
    if (n < 1 || s->n_past + n > s->ctx)
        return -1;
    reserve(m, s, n);
    size_t d = (size_t)m->dim, hd = (size_t)m->head_dim;
    size_t qd = (size_t)m->heads * hd, kvd = (size_t)m->kv_heads * hd, f = (size_t)m->ffn;
    for (int t = 0; t < n; t++) {
        int id = ids[t] >= 0 && ids[t] < m->vocab ? ids[t] : 0;
        qmat_row(&m->embd, id, s->x + (size_t)t * d);
    }
    rope_table(m, s, n);
    for (int l = 0; l < m->layers; l++) {
        const struct decoder_layer *L = &m->layer[l];
        for (int t = 0; t < n; t++)
            decoder_rmsnorm(s->xb + (size_t)t * d, s->x + (size_t)t * d, L->attn_norm, m->dim,
                            m->eps);
        const struct qmat *qkv[3] = {&L->wq, &L->wk, &L->wv};
        float *qkv_out[3] = {s->q, s->kk, s->vv};
        if (n == 1)
            qmat_matvec_n(qkv, 3, s->xb, qkv_out, s->team);
        else
            qmat_matmul_n(qkv, 3, s->xb, n, qkv_out, s->team);
        for (int t = LORA_Q; m->nlora && t <= LORA_V; t++)
            lora_apply(m, l, t, s->xb, n, qkv_out[t]);
        float *K = s->k + ((size_t)l * s->ctx + (size_t)s->n_past) * kvd;
        float *V = s->v + ((size_t)l * s->ctx + (size_t)s->n_past) * kvd;
        for (int t = 0; t < n; t++) {
            float *q = s->q + (size_t)t * qd, *k = s->kk + (size_t)t * kvd,
                  *v = s->vv + (size_t)t * kvd;
            for (size_t i = 0; L->bq && i < qd; i++)
                q[i] += L->bq[i];
            for (size_t i = 0; L->bk && i < kvd; i++)
                k[i] += L->bk[i];
            for (size_t i = 0; L->bv && i < kvd; i++)
                v[i] += L->bv[i];
            for (int h = 0; L->q_norm && h < m->heads; h++)
                decoder_rmsnorm(q + (size_t)h * hd, q + (size_t)h * hd, L->q_norm, (int)hd, m->eps);
            for (int h = 0; L->k_norm && h < m->kv_heads; h++)
                decoder_rmsnorm(k + (size_t)h * hd, k + (size_t)h * hd, L->k_norm, (int)hd, m->eps);
            const double *cs = s->rope + (size_t)t * (size_t)m->rope_dim;
            decoder_rope(m, cs, q, m->heads, 1);
            decoder_rope(m, cs, k, m->kv_heads, 1);
            memcpy(K + (size_t)t * kvd, k, sizeof *k * kvd);
            memcpy(V + (size_t)t * kvd, v, sizeof *v * kvd);
        }
        struct attn_job job = {m, s, l, n};
        team_run(s->team, n == 1 ? attend : attend_batch, &job);
        project(&L->wo, s->att, n, s->xb, s->team);
        if (m->nlora)
            lora_apply(m, l, LORA_O, s->att, n, s->xb);
        for (size_t i = 0; i < (size_t)n * d; i++)
            s->x[i] += s->xb[i];
        for (int t = 0; t < n; t++)
            decoder_rmsnorm(s->xb + (size_t)t * d, s->x + (size_t)t * d, L->ffn_norm, m->dim,
                            m->eps);
        if (n == 1 && !m->nlora) {
            qmat_matvec_pair(&L->gate, &L->up, s->xb, s->hb, s->hb2, swiglu, s, s->team);
        } else {
            const struct qmat *gu[2] = {&L->gate, &L->up};
            float *gu_out[2] = {s->hb, s->hb2};
            if (n == 1)
                qmat_matvec_n(gu, 2, s->xb, gu_out, s->team);
            else
                qmat_matmul_n(gu, 2, s->xb, n, gu_out, s->team);
            lora_apply(m, l, LORA_GATE, s->xb, n, s->hb);
            lora_apply(m, l, LORA_UP, s->xb, n, s->hb2);
            struct span_job sj = {s, (int64_t)n * (int64_t)f};
            team_run(s->team, swiglu_part, &sj);
        }
        project(&L->down, s->hb, n, s->xb, s->team);
        if (m->nlora)
            lora_apply(m, l, LORA_DOWN, s->hb, n, s->xb);
        for (size_t i = 0; i < (size_t)n * d; i++)
            s->x[i] += s->xb[i];
    }
    int first = all ? 0 : n - 1;
    for (int t = first; t < n; t++)
        decoder_rmsnorm(s->x + (size_t)t * d, s->x + (size_t)t * d, m->out_norm, m->dim, m->eps);
    if (logits) {
        if (all)
            project(&m->output, s->x, n, logits, s->team);
        else
            qmat_matvec(&m->output, s->x + (size_t)(n - 1) * d, logits, s->team);
    }
    s->n_past += n;
    return 0;
}

int decoder_prefill(const struct decoder *m, struct decoder_state *s, const int *ids, size_t n,
                    size_t batch, float *logits)
{
    s->n_past = 0;
    for (size_t at = 0; at < n; at += batch) {
        size_t k = n - at < batch ? n - at : batch;
        if (decoder_eval(m, s, ids + at, (int)k, at + k == n ? logits : NULL, 0) < 0)
            return -1;
    }
    return 0;
}
