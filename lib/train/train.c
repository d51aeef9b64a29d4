/* train.c - train.h's LoRA trainer: the decoder's forward pass with what
 * the backward pass needs kept, the backward pass of every operation, the
 * adapters' gradients, clipping and AdamW, all on the thread team. Built
 * twice: float for lode-finetune, double (TRAIN_F64) for the gradient test. */
#include "train/train.h"

typedef TREAL treal;
#define tparam TRN(tparam)

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/kernels.h"
#include "model/quant.h"
#include "base/threads.h"

#ifdef TRAIN_F64
#define GEMM cblas_dgemm
#define EXP exp
#define SOFTMAX_CAUSAL softmax_causal_f64
#define ROPE decoder_rope_f64
#else
#define GEMM cblas_sgemm
#define EXP expf
#define SOFTMAX_CAUSAL softmax_causal
#define ROPE decoder_rope
#endif
#define RM CblasRowMajor
#define N_ CblasNoTrans
#define T_ CblasTrans

/* What the backward pass needs of one layer (n tokens); q_dim = heads *
 * head_dim, kv_dim = kv_heads * head_dim. */
struct act {
    treal *x;           /* (n, dim): the layer's input */
    treal *xn1;         /* (n, dim): x normed for attention */
    treal *q;           /* (n, q_dim): after bias and RoPE */
    treal *k, *v;       /* (n, kv_dim) */
    treal *att;         /* (n, q_dim): attention's output */
    treal *x2;          /* (n, dim): x + o(att) */
    treal *xn2;         /* (n, dim): x2 normed for the feed-forward */
    treal *g, *u, *h;   /* (n, ffn): gate, up, silu(g) * u */
    double *r1, *r2;    /* (n): 1 / rms of x and of x2 */
    treal *qp, *kp;     /* qwen3: (n, q_dim), (n, kv_dim): q and k before their per-head norm */
    double *rq, *rk;    /* qwen3: (n, heads), (n, kv_heads): 1 / rms of each head */
    treal *lu[LORA_NT]; /* (n, rank): each adapter's A x */
};

struct pair {
    int rank;
    int64_t in, out;
    treal s; /* alpha / rank */
    struct tparam *a, *b;
};

struct trainer {
    const struct decoder *m;
    struct train_cfg c;
    struct tparam *p;
    int np;
    struct pair *pr; /* layers x LORA_NT, a == NULL: none */
    /* the base's vectors (and with base_grads their gradients, in p) */
    treal **attn_norm, **ffn_norm, *out_norm, *embd;
    treal **q_norm, **k_norm; /* qwen3: (layers) x (head_dim); NULL for the others */
    int cap;                  /* tokens the buffers hold */
    int training;             /* dropout only while training */
    struct act *a;            /* (layers) */
    /* activations and gradients of cap tokens (n below) */
    treal *xl;         /* (n, dim): the last layer's output */
    treal *xf;         /* (n, dim): xl normed, the output projection's input */
    treal *dx;         /* (n, dim): d loss / d xf */
    treal *dx2;        /* (n, dim): d loss / d the stream at the layer being undone */
    treal *dn;         /* (n, dim): d loss / d a normed input (xn1, xn2) */
    treal *dq;         /* (n, q_dim) */
    treal *dk, *dv;    /* (n, kv_dim) */
    treal *datt;       /* (n, q_dim) */
    treal *dg, *du;    /* (n, ffn) */
    treal *dh;         /* (n, ffn) */
    treal *drop;       /* (n, max(dim, q_dim, ffn)): an adapter's input with dropout */
    treal *lu_d;       /* (n, largest rank): d loss / d A x */
    double *rf;        /* (n): 1 / rms of xl */
    double *rope;      /* (n, rope_dim): cos, sin of each pair at each token's position */
    treal *S, *dP;     /* (workers, n, n): one head's probabilities and their gradient */
    treal *logits;     /* (ROWS, vocab): a block of the loss's rows */
    double *lrow;      /* (ROWS): each row's loss */
    treal *dkh, *dvh;  /* (n, q_dim): the k and v gradients of each query head */
    int *rows;         /* (ROWS): the tokens of a loss block */
    treal *W;          /* (rows, cols) of the largest matrix: a base matrix dequantised */
    float *frow;       /* (max(dim, ffn)): a row of a quantised base matrix */
    struct team *team; /* all the threads; BLAS runs single-threaded in each */
    int nw;
};

enum { ROWS = 64 };

static treal *talloc(size_t n)
{
    return xcalloc(n ? n : 1, sizeof(treal));
}

/* ---- products on the team ---- */

struct mm_job {
    enum CBLAS_TRANSPOSE ta, tb;
    int m, n, k;
    treal alpha, beta;
    const treal *a, *b;
    int lda, ldb, ldc;
    treal *c;
};

/* Each worker computes its share of C's columns. */
static void mm_part(void *ctx, int worker, int nw)
{
    const struct mm_job *j = ctx;
    int64_t lo, hi;
    team_share_units(j->n, 16, worker, nw, &lo, &hi);
    if (lo >= hi)
        return;
    const treal *b = j->tb == CblasTrans ? j->b + (size_t)lo * (size_t)j->ldb : j->b + lo;
    GEMM(RM, j->ta, j->tb, j->m, (int)(hi - lo), j->k, j->alpha, j->a, j->lda, b, j->ldb, j->beta,
         j->c + lo, j->ldc);
}

/* C[m, n] = alpha op(A) op(B) + beta C, row-major, the columns of C shared
 * among the team when the product is worth it. */
static void mm(struct trainer *t, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n,
               int k, treal alpha, const treal *a, int lda, const treal *b, int ldb, treal beta,
               treal *c, int ldc)
{
    struct mm_job j = {ta, tb, m, n, k, alpha, beta, a, b, lda, ldb, ldc, c};
    if (t->nw > 1 && n >= 64 && (double)m * n * k > 1e6)
        team_run(t->team, mm_part, &j);
    else
        GEMM(RM, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* fn(ctx, i) for i in [0, n), shared among the team */
struct each_job {
    void (*fn)(void *ctx, int64_t lo, int64_t hi, int worker);
    void *ctx;
    int64_t n;
};

static void each_part(void *ctx, int worker, int nw)
{
    const struct each_job *j = ctx;
    int64_t lo, hi;
    team_share(j->n, worker, nw, &lo, &hi);
    if (lo < hi)
        j->fn(j->ctx, lo, hi, worker);
}

static void each(struct trainer *t, int64_t n, void (*fn)(void *, int64_t, int64_t, int), void *ctx)
{
    struct each_job j = {fn, ctx, n};
    team_run(t->team, each_part, &j);
}

static struct tparam *add_param(struct trainer *t, const char *name, size_t n, int decay)
{
    struct tparam *p = &t->p[t->np++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->n = n;
    p->w = talloc(n);
    p->g = talloc(n);
    p->m = talloc(n);
    p->v = talloc(n);
    p->decay = decay;
    return p;
}

static treal *vec_copy(const float *v, size_t n)
{
    treal *o = talloc(n);
    for (size_t i = 0; i < n; i++)
        o[i] = v[i];
    return o;
}

/* The base's vector as the trainer's, and a parameter of it with base_grads
 * (its values then live in the parameter). */
static treal *base_vec(struct trainer *t, const char *name, const float *v, size_t n)
{
    if (!t->c.base_grads)
        return vec_copy(v, n);
    struct tparam *p = add_param(t, name, n, 0);
    for (size_t i = 0; i < n; i++)
        p->w[i] = v[i];
    return p->w;
}

struct trainer *TRN(trainer_new)(const struct decoder *m, const struct train_cfg *cfg,
                                 const struct lora *init)
{
    struct trainer *t = xcalloc(1, sizeof *t);
    t->m = m;
    t->c = *cfg;
    struct lora fresh;
    if (!init) {
        lora_init(&fresh, m, cfg->targets, cfg->rank, cfg->alpha, cfg->seed);
        init = &fresh;
    }
    /* LoRA A and B, the layers' two norms (four with qwen3's q/k norms),
     * the output norm, the embeddings */
    size_t most = (size_t)m->layers * LORA_NT * 2 + (size_t)m->layers * 4 + 2;
    t->p = xcalloc(most, sizeof *t->p);
    t->pr = xcalloc((size_t)m->layers * LORA_NT, sizeof *t->pr);
    char name[96];
    for (int l = 0; l < m->layers; l++)
        for (int k = 0; k < LORA_NT; k++) {
            const struct lora_pair *lp = &init->p[(size_t)l * LORA_NT + (size_t)k];
            if (!lp->a)
                continue;
            struct pair *p = &t->pr[(size_t)l * LORA_NT + (size_t)k];
            p->rank = lp->rank;
            p->in = lp->in;
            p->out = lp->out;
            p->s = (treal)(init->alpha != 0 ? init->alpha / lp->rank : 1);
            snprintf(name, sizeof name, "blk.%d.%s.weight.lora_a", l, lora_target_tensor(k));
            p->a = add_param(t, name, (size_t)p->rank * (size_t)p->in, 1);
            snprintf(name, sizeof name, "blk.%d.%s.weight.lora_b", l, lora_target_tensor(k));
            p->b = add_param(t, name, (size_t)p->out * (size_t)p->rank, 1);
            for (size_t i = 0; i < p->a->n; i++)
                p->a->w[i] = lp->a[i];
            for (size_t i = 0; i < p->b->n; i++)
                p->b->w[i] = lp->b[i];
        }
    t->c.alpha = init->alpha;
    if (init == &fresh)
        lora_free(&fresh);
    size_t d = (size_t)m->dim;
    t->attn_norm = xcalloc((size_t)m->layers, sizeof *t->attn_norm);
    t->ffn_norm = xcalloc((size_t)m->layers, sizeof *t->ffn_norm);
    for (int l = 0; l < m->layers; l++) {
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        t->attn_norm[l] = base_vec(t, name, m->layer[l].attn_norm, d);
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        t->ffn_norm[l] = base_vec(t, name, m->layer[l].ffn_norm, d);
    }
    if (m->layers && m->layer[0].q_norm) {
        t->q_norm = xcalloc((size_t)m->layers, sizeof *t->q_norm);
        t->k_norm = xcalloc((size_t)m->layers, sizeof *t->k_norm);
        for (int l = 0; l < m->layers; l++) {
            snprintf(name, sizeof name, "blk.%d.attn_q_norm.weight", l);
            t->q_norm[l] = base_vec(t, name, m->layer[l].q_norm, (size_t)m->head_dim);
            snprintf(name, sizeof name, "blk.%d.attn_k_norm.weight", l);
            t->k_norm[l] = base_vec(t, name, m->layer[l].k_norm, (size_t)m->head_dim);
        }
    }
    t->out_norm = base_vec(t, "output_norm.weight", m->out_norm, d);
    t->frow = xmalloc(sizeof *t->frow * (d > (size_t)m->ffn ? d : (size_t)m->ffn));
    if (cfg->base_grads) {
        struct tparam *e = add_param(t, "token_embd.weight", (size_t)m->vocab * d, 0);
        for (int r = 0; r < m->vocab; r++) {
            qmat_row(&m->embd, r, t->frow);
            for (size_t i = 0; i < d; i++)
                e->w[(size_t)r * d + i] = t->frow[i];
        }
        t->embd = e->w;
    }
    size_t most_w = (size_t)m->output.rows * (size_t)m->output.cols;
    for (int l = 0; l < m->layers; l++)
        for (int k = 0; k < LORA_NT; k++) {
            const struct qmat *w = lora_base(m, l, k);
            if ((size_t)w->rows * (size_t)w->cols > most_w)
                most_w = (size_t)w->rows * (size_t)w->cols;
        }
    /* F32 matrices are read in place by the float build; the rest, and all
     * in the double build, are converted into W */
    int in_place = sizeof(treal) == sizeof(float) && m->output.type == GGML_F32;
    for (int l = 0; l < m->layers; l++)
        for (int k = 0; k < LORA_NT; k++)
            in_place &= lora_base(m, l, k)->type == GGML_F32;
    t->W = in_place ? NULL : talloc(most_w);
    t->rows = xmalloc(sizeof *t->rows * ROWS);
    t->lrow = xmalloc(sizeof *t->lrow * ROWS);
    t->logits = talloc((size_t)ROWS * (size_t)m->vocab);
    t->team = team_new(cfg->threads);
    t->nw = team_size(t->team);
    kernels_blas_threads(1); /* the team's members each run their own products */
    return t;
}

static void free_acts(struct trainer *t)
{
    if (!t->a)
        return;
    for (int l = 0; l < t->m->layers; l++) {
        struct act *a = &t->a[l];
        treal *bufs[] = {a->x, a->xn1, a->q, a->k, a->v, a->att, a->x2, a->xn2, a->g, a->u, a->h};
        for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
            free(bufs[i]);
        free(a->r1);
        free(a->r2);
        free(a->qp);
        free(a->kp);
        free(a->rq);
        free(a->rk);
        for (int k = 0; k < LORA_NT; k++)
            free(a->lu[k]);
    }
    free(t->a);
    treal *bufs[] = {t->xl, t->xf, t->dx, t->dx2,  t->dn,   t->dq, t->dk, t->dv,  t->datt,
                     t->dg, t->du, t->dh, t->drop, t->lu_d, t->S,  t->dP, t->dkh, t->dvh};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]);
    free(t->rf);
    free(t->rope);
    t->a = NULL;
}

void TRN(trainer_free)(struct trainer *t)
{
    if (!t)
        return;
    free_acts(t);
    for (int i = 0; i < t->np; i++) {
        free(t->p[i].w);
        free(t->p[i].g);
        free(t->p[i].m);
        free(t->p[i].v);
    }
    if (!t->c.base_grads) {
        for (int l = 0; l < t->m->layers; l++) {
            free(t->attn_norm[l]);
            free(t->ffn_norm[l]);
            if (t->q_norm)
                free(t->q_norm[l]), free(t->k_norm[l]);
        }
        free(t->out_norm);
    }
    free(t->attn_norm);
    free(t->ffn_norm);
    free(t->q_norm);
    free(t->k_norm);
    free(t->p);
    free(t->pr);
    free(t->W);
    free(t->frow);
    free(t->rows);
    free(t->logits);
    free(t->lrow);
    team_free(t->team);
    free(t);
}

int TRN(trainer_nparams)(const struct trainer *t)
{
    return t->np;
}

struct tparam *TRN(trainer_param)(struct trainer *t, int i)
{
    return &t->p[i];
}

static void reserve(struct trainer *t, int n)
{
    if (n <= t->cap)
        return;
    free_acts(t);
    const struct decoder *m = t->m;
    size_t T = (size_t)n, d = (size_t)m->dim, hd = (size_t)m->head_dim;
    size_t qd = (size_t)m->heads * hd, kvd = (size_t)m->kv_heads * hd, f = (size_t)m->ffn;
    size_t wide = d > qd ? d : qd;
    wide = wide > f ? wide : f;
    t->a = xcalloc((size_t)m->layers, sizeof *t->a);
    int most_rank = 1;
    for (int i = 0; i < m->layers * LORA_NT; i++)
        most_rank = t->pr[i].a && t->pr[i].rank > most_rank ? t->pr[i].rank : most_rank;
    for (int l = 0; l < m->layers; l++) {
        struct act *a = &t->a[l];
        a->x = talloc(T * d);
        a->xn1 = talloc(T * d);
        a->q = talloc(T * qd);
        a->k = talloc(T * kvd);
        a->v = talloc(T * kvd);
        a->att = talloc(T * qd);
        a->x2 = talloc(T * d);
        a->xn2 = talloc(T * d);
        a->g = talloc(T * f);
        a->u = talloc(T * f);
        a->h = talloc(T * f);
        a->r1 = xcalloc(T, sizeof *a->r1);
        a->r2 = xcalloc(T, sizeof *a->r2);
        if (t->q_norm) {
            a->qp = talloc(T * qd);
            a->kp = talloc(T * kvd);
            a->rq = xcalloc(T * (size_t)m->heads, sizeof *a->rq);
            a->rk = xcalloc(T * (size_t)m->kv_heads, sizeof *a->rk);
        }
        for (int k = 0; k < LORA_NT; k++)
            if (t->pr[(size_t)l * LORA_NT + (size_t)k].a)
                a->lu[k] = talloc(T * (size_t)t->pr[(size_t)l * LORA_NT + (size_t)k].rank);
    }
    t->xl = talloc(T * d);
    t->xf = talloc(T * d);
    t->dx = talloc(T * d);
    t->dx2 = talloc(T * d);
    t->dn = talloc(T * d);
    t->dq = talloc(T * qd);
    t->dk = talloc(T * kvd);
    t->dv = talloc(T * kvd);
    t->datt = talloc(T * qd);
    t->dg = talloc(T * f);
    t->du = talloc(T * f);
    t->dh = talloc(T * f);
    t->drop = talloc(T * wide);
    t->lu_d = talloc(T * (size_t)most_rank);
    t->rf = xcalloc(T, sizeof *t->rf);
    t->rope = xcalloc(T * (size_t)m->rope_dim, sizeof *t->rope);
    t->S = talloc((size_t)t->nw * T * T);
    t->dP = talloc((size_t)t->nw * T * T);
    t->dkh = talloc(T * qd);
    t->dvh = talloc(T * qd);
    t->cap = n;
}

/* ---- the base's weights ---- */

/* A matrix as treal rows: in place when it is F32 (float build), else
 * dequantised into t->W (valid until the next call). */
static const treal *weight(struct trainer *t, const struct qmat *w)
{
#ifndef TRAIN_F64
    if (w->type == GGML_F32)
        return w->data;
    for (int64_t r = 0; r < w->rows; r++)
        qmat_row(w, r, t->W + (size_t)r * (size_t)w->cols);
#else
    float *row = xmalloc(sizeof *row * (size_t)w->cols);
    for (int64_t r = 0; r < w->rows; r++) {
        qmat_row(w, r, row);
        for (int64_t i = 0; i < w->cols; i++)
            t->W[(size_t)r * (size_t)w->cols + (size_t)i] = row[i];
    }
    free(row);
#endif
    return t->W;
}

/* ---- the adapters ---- */

/* x with the adapter's dropout applied (x itself when there is none): the
 * mask is a function of (seed, key, layer, target, element), so the
 * backward pass draws the same one. */
/* out = in with the dropout mask of (seed, key, layer, target) applied and
 * the kept elements scaled by 1 / (1 - p); in and out may be the same. The
 * mask is a function of those and the element, so the backward pass draws
 * the same one. */
static void drop_mask(const struct trainer *t, const treal *in, treal *out, size_t n, int l, int k,
                      uint64_t key)
{
    double keep = 1.0 - t->c.dropout;
    treal scale = (treal)(1.0 / keep);
    uint64_t base = t->c.seed * 0x9E3779B97F4A7C15ull ^ key * 0xD1B54A32D192ED03ull ^
        ((uint64_t)l * LORA_NT + (uint64_t)k + 1) * 0xA0761D6478BD642Full;
    for (size_t i = 0; i < n; i++) {
        uint64_t st = base + i * 0x8CB92BA72F3D8DD7ull;
        out[i] = uniform01(&st) < keep ? in[i] * scale : 0;
    }
}

/* x as the adapter sees it: with dropout (in t->drop) while training */
static const treal *dropped(struct trainer *t, const treal *x, size_t n, int l, int k, uint64_t key)
{
    if (t->c.dropout <= 0 || !t->training)
        return x;
    drop_mask(t, x, t->drop, n, l, k, key);
    return t->drop;
}

/* y[n, out] = x[n, in] W^T (+ bias) + s B A drop(x) */
static void lin_fwd(struct trainer *t, int l, int k, const treal *x, int n, treal *y, uint64_t key)
{
    const struct qmat *w = lora_base(t->m, l, k);
    int in = (int)w->cols, out = (int)w->rows;
    mm(t, N_, T_, n, out, in, 1, x, in, weight(t, w), in, 0, y, out);
    struct pair *p = &t->pr[(size_t)l * LORA_NT + (size_t)k];
    if (!p->a)
        return;
    treal *lu = t->a[l].lu[k];
    const treal *xd = dropped(t, x, (size_t)n * (size_t)in, l, k, key);
    mm(t, N_, T_, n, p->rank, in, 1, xd, in, p->a->w, in, 0, lu, p->rank);
    mm(t, N_, T_, n, out, p->rank, p->s, lu, p->rank, p->b->w, p->rank, 1, y, out);
}

/* dx[n, in] (+)= dy W + the adapter's part; the adapter's gradients. */
static void lin_bwd(struct trainer *t, int l, int k, const treal *x, const treal *dy, int n,
                    treal *dx, int accumulate, uint64_t key)
{
    const struct qmat *w = lora_base(t->m, l, k);
    int in = (int)w->cols, out = (int)w->rows;
    mm(t, N_, N_, n, in, out, 1, dy, out, weight(t, w), in, accumulate ? 1 : 0, dx, in);
    struct pair *p = &t->pr[(size_t)l * LORA_NT + (size_t)k];
    if (!p->a)
        return;
    int r = p->rank;
    const treal *lu = t->a[l].lu[k];
    /* dB += s dy^T (A x); d(A x) = s dy B; dA += d(A x)^T drop(x); dx += drop'(d(A x) A) */
    mm(t, T_, N_, out, r, n, p->s, dy, out, lu, r, 1, p->b->g, r);
    mm(t, N_, N_, n, r, out, p->s, dy, out, p->b->w, r, 0, t->lu_d, r);
    const treal *xd = dropped(t, x, (size_t)n * (size_t)in, l, k, key);
    mm(t, T_, N_, r, in, n, 1, t->lu_d, r, xd, in, 1, p->a->g, in);
    if (t->c.dropout <= 0) {
        mm(t, N_, N_, n, in, r, 1, t->lu_d, r, p->a->w, in, 1, dx, in);
        return;
    }
    /* drop(x) is used up: its buffer takes d(A x) A, masked as x was */
    size_t nx = (size_t)n * (size_t)in;
    mm(t, N_, N_, n, in, r, 1, t->lu_d, r, p->a->w, in, 0, t->drop, in);
    drop_mask(t, t->drop, t->drop, nx, l, k, key);
    for (size_t i = 0; i < nx; i++)
        dx[i] += t->drop[i];
}

/* ---- the pointwise pieces ---- */

static void rmsnorm_fwd(const treal *x, const treal *w, int d, double eps, treal *y, double *r)
{
    double ss = 0;
    for (int i = 0; i < d; i++)
        ss += (double)x[i] * x[i];
    *r = 1.0 / sqrt(ss / d + eps);
    treal rr = (treal)*r;
    for (int i = 0; i < d; i++)
        y[i] = x[i] * rr * w[i];
}

/* y = x r w: dx += r (w dy) - x r^3 / d sum(w dy x); dw += dy x r */
static void rmsnorm_bwd(const treal *x, const treal *w, double r, const treal *dy, int d, treal *dx,
                        treal *dw)
{
    double dot = 0;
    for (int i = 0; i < d; i++)
        dot += (double)w[i] * dy[i] * x[i];
    treal c = (treal)(r * r * r * dot / d), rr = (treal)r;
    for (int i = 0; i < d; i++)
        dx[i] += rr * w[i] * dy[i] - x[i] * c;
    if (dw)
        for (int i = 0; i < d; i++)
            dw[i] += dy[i] * x[i] * rr;
}

/* P = causal softmax(Q K^T / sqrt(hd)) of one head over one example. */
static void scores(const struct decoder *m, const struct act *a, int s0, int len, int h, treal *P)
{
    int hd = m->head_dim, kvh = h / (m->heads / m->kv_heads);
    int qd = m->heads * hd, kvd = m->kv_heads * hd;
    GEMM(RM, N_, T_, len, len, hd, (treal)(1.0 / sqrt((double)hd)),
         a->q + (size_t)s0 * qd + (size_t)h * hd, qd, a->k + (size_t)s0 * kvd + (size_t)kvh * hd,
         kvd, 0, P, len);
    for (int i = 0; i < len; i++) /* token i sees 0..i */
        SOFTMAX_CAUSAL(P + (size_t)i * len, i + 1, len);
}

struct attn_job {
    struct trainer *t;
    const struct act *a;
    const int *starts;
    int nstarts, n;
};

/* heads [lo, hi) of every example: att = softmax(Q K^T / sqrt(hd)) V */
static void attention_fwd_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct attn_job *j = ctx;
    struct trainer *t = j->t;
    const struct decoder *m = t->m;
    const struct act *a = j->a;
    int hd = m->head_dim, qd = m->heads * hd, kvd = m->kv_heads * hd;
    treal *S = t->S + (size_t)worker * (size_t)t->cap * (size_t)t->cap;
    for (int e = 0; e < j->nstarts; e++) {
        int s0 = j->starts[e], len = (e + 1 < j->nstarts ? j->starts[e + 1] : j->n) - s0;
        for (int h = (int)lo; h < hi; h++) {
            int kvh = h / (m->heads / m->kv_heads);
            scores(m, a, s0, len, h, S);
            GEMM(RM, N_, N_, len, hd, len, 1, S, len, a->v + (size_t)s0 * kvd + (size_t)kvh * hd,
                 kvd, 0, a->att + (size_t)s0 * qd + (size_t)h * hd, qd);
        }
    }
}

static void attention_fwd(struct trainer *t, struct act *a, const int *starts, int nstarts, int n)
{
    struct attn_job j = {t, a, starts, nstarts, n};
    each(t, t->m->heads, attention_fwd_part, &j);
}

/* heads [lo, hi): dq, and each head's own dk and dv (dkh, dvh) */
static void attention_bwd_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct attn_job *j = ctx;
    struct trainer *t = j->t;
    const struct decoder *m = t->m;
    const struct act *a = j->a;
    int hd = m->head_dim, qd = m->heads * hd, kvd = m->kv_heads * hd;
    treal scale = (treal)(1.0 / sqrt((double)hd));
    treal *S = t->S + (size_t)worker * (size_t)t->cap * (size_t)t->cap;
    treal *dPw = t->dP + (size_t)worker * (size_t)t->cap * (size_t)t->cap;
    for (int e = 0; e < j->nstarts; e++) {
        int s0 = j->starts[e], len = (e + 1 < j->nstarts ? j->starts[e + 1] : j->n) - s0;
        for (int h = (int)lo; h < hi; h++) {
            int kvh = h / (m->heads / m->kv_heads);
            const treal *dA = t->datt + (size_t)s0 * qd + (size_t)h * hd;
            const treal *V = a->v + (size_t)s0 * kvd + (size_t)kvh * hd;
            scores(m, a, s0, len, h, S);
            GEMM(RM, N_, T_, len, len, hd, 1, dA, qd, V, kvd, 0, dPw, len);
            GEMM(RM, T_, N_, len, hd, len, 1, S, len, dA, qd, 0,
                 t->dvh + (size_t)s0 * qd + (size_t)h * hd, qd);
            for (int i = 0; i < len; i++) {
                treal *P = S + (size_t)i * len, *dP = dPw + (size_t)i * len;
                double dot = 0;
                for (int k = 0; k <= i; k++)
                    dot += (double)P[k] * dP[k];
                for (int k = 0; k <= i; k++)
                    dP[k] = P[k] * (dP[k] - (treal)dot);
                for (int k = i + 1; k < len; k++)
                    dP[k] = 0;
            }
            GEMM(RM, N_, N_, len, hd, len, scale, dPw, len,
                 a->k + (size_t)s0 * kvd + (size_t)kvh * hd, kvd, 0,
                 t->dq + (size_t)s0 * qd + (size_t)h * hd, qd);
            GEMM(RM, T_, N_, len, hd, len, scale, dPw, len, a->q + (size_t)s0 * qd + (size_t)h * hd,
                 qd, 0, t->dkh + (size_t)s0 * qd + (size_t)h * hd, qd);
        }
    }
}

/* tokens [lo, hi): dk and dv, the sums of their group's heads */
static void attention_reduce_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct attn_job *j = ctx;
    struct trainer *t = j->t;
    const struct decoder *m = j->t->m;
    int hd = m->head_dim, qd = m->heads * hd, kvd = m->kv_heads * hd,
        group = m->heads / m->kv_heads;
    for (int64_t i = lo; i < hi; i++)
        for (int kh = 0; kh < m->kv_heads; kh++) {
            treal *dk = t->dk + (size_t)i * kvd + (size_t)kh * hd,
                  *dv = t->dv + (size_t)i * kvd + (size_t)kh * hd;
            for (int d = 0; d < hd; d++)
                dk[d] = dv[d] = 0;
            for (int g = 0; g < group; g++) {
                size_t off = (size_t)i * qd + (size_t)(kh * group + g) * hd;
                for (int d = 0; d < hd; d++) {
                    dk[d] += t->dkh[off + d];
                    dv[d] += t->dvh[off + d];
                }
            }
        }
}

/* From datt: dq, dk and dv (overwritten). */
static void attention_bwd(struct trainer *t, const struct act *a, const int *starts, int nstarts,
                          int n)
{
    struct attn_job j = {t, a, starts, nstarts, n};
    each(t, t->m->heads, attention_bwd_part, &j);
    each(t, n, attention_reduce_part, &j);
}

static treal *grad_of(struct trainer *t, const treal *w)
{
    for (int i = 0; i < t->np; i++)
        if (t->p[i].w == w)
            return t->p[i].g;
    return NULL;
}

/* ---- per-token passes on the team ---- */

struct tok_job {
    struct trainer *t;
    const struct decoder_layer *L;
    int layer;
    treal *dwq, *dwk; /* the q/k norms' gradients (base_grads: one thread) */
    struct act *a;
    const treal *x, *w, *dy;
    treal *y, *dx;
    double *r;
    int sign;
};

static void norm_fwd_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct tok_job *j = ctx;
    size_t d = (size_t)j->t->m->dim;
    for (int64_t i = lo; i < hi; i++)
        rmsnorm_fwd(j->x + i * d, j->w, (int)d, j->t->m->eps, j->y + i * d, &j->r[i]);
}

static void norm_fwd(struct trainer *t, const treal *x, const treal *w, int n, treal *y, double *r)
{
    struct tok_job j = {.t = t, .x = x, .w = w, .y = y, .r = r};
    each(t, n, norm_fwd_part, &j);
}

static void norm_bwd_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct tok_job *j = ctx;
    size_t d = (size_t)j->t->m->dim;
    for (int64_t i = lo; i < hi; i++)
        rmsnorm_bwd(j->x + i * d, j->w, j->r[i], j->dy + i * d, (int)d, j->dx + i * d, NULL);
}

/* dx += the norm's backward of dy; dw (the weights' gradient, test only)
 * is summed over the tokens, so then one thread does it */
static void norm_bwd(struct trainer *t, const treal *x, const treal *w, const double *r,
                     const treal *dy, int n, treal *dx, treal *dw)
{
    size_t d = (size_t)t->m->dim;
    if (dw) {
        for (int i = 0; i < n; i++)
            rmsnorm_bwd(x + i * d, w, r[i], dy + i * d, (int)d, dx + i * d, dw);
        return;
    }
    struct tok_job j = {.t = t, .x = x, .w = w, .dy = dy, .dx = dx, .r = (double *)r};
    each(t, n, norm_bwd_part, &j);
}

/* q, k: biases, then the rotation of their positions (sign -1: dq, dk
 * rotated back) */
static void qk_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct tok_job *j = ctx;
    const struct decoder *m = j->t->m;
    size_t hd = (size_t)m->head_dim, rd = (size_t)m->rope_dim;
    size_t qd = (size_t)m->heads * hd, kvd = (size_t)m->kv_heads * hd;
    const struct decoder_layer *L = j->L;
    const struct act *a = j->a;
    treal *qn = j->t->q_norm ? j->t->q_norm[j->layer] : NULL;
    treal *kn = j->t->k_norm ? j->t->k_norm[j->layer] : NULL;
    treal *Q = j->sign > 0 ? a->q : j->t->dq, *K = j->sign > 0 ? a->k : j->t->dk;
    treal tmp[4096]; /* one head's gradient (head_dim <= 4096, decoder.c checks) */
    for (int64_t i = lo; i < hi; i++) {
        treal *q = Q + i * qd, *k = K + i * kvd, *v = a->v + i * kvd;
        if (j->sign > 0) {
            for (size_t c = 0; L->bq && c < qd; c++)
                q[c] += L->bq[c];
            for (size_t c = 0; L->bk && c < kvd; c++)
                k[c] += L->bk[c];
            for (size_t c = 0; L->bv && c < kvd; c++)
                v[c] += L->bv[c];
            /* qwen3: each head normed, its input and 1 / rms kept */
            for (int h = 0; qn && h < m->heads; h++) {
                treal *x = a->qp + i * qd + (size_t)h * hd;
                memcpy(x, q + (size_t)h * hd, sizeof *x * hd);
                rmsnorm_fwd(x, qn, (int)hd, m->eps, q + (size_t)h * hd, &a->rq[i * m->heads + h]);
            }
            for (int h = 0; kn && h < m->kv_heads; h++) {
                treal *x = a->kp + i * kvd + (size_t)h * hd;
                memcpy(x, k + (size_t)h * hd, sizeof *x * hd);
                rmsnorm_fwd(x, kn, (int)hd, m->eps, k + (size_t)h * hd,
                            &a->rk[i * m->kv_heads + h]);
            }
        }
        ROPE(m, j->t->rope + i * rd, q, m->heads, j->sign);
        ROPE(m, j->t->rope + i * rd, k, m->kv_heads, j->sign);
        if (j->sign > 0)
            continue;
        /* backward: through the per-head norms */
        for (int h = 0; qn && h < m->heads; h++) {
            memset(tmp, 0, sizeof *tmp * hd);
            rmsnorm_bwd(a->qp + i * qd + (size_t)h * hd, qn, a->rq[i * m->heads + h],
                        q + (size_t)h * hd, (int)hd, tmp, j->dwq);
            memcpy(q + (size_t)h * hd, tmp, sizeof *tmp * hd);
        }
        for (int h = 0; kn && h < m->kv_heads; h++) {
            memset(tmp, 0, sizeof *tmp * hd);
            rmsnorm_bwd(a->kp + i * kvd + (size_t)h * hd, kn, a->rk[i * m->kv_heads + h],
                        k + (size_t)h * hd, (int)hd, tmp, j->dwk);
            memcpy(k + (size_t)h * hd, tmp, sizeof *tmp * hd);
        }
    }
}

static void swiglu_fwd_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct tok_job *j = ctx;
    const struct act *a = j->a;
    for (int64_t i = lo; i < hi; i++) {
        treal g = a->g[i];
        a->h[i] = g / (1 + EXP(-g)) * a->u[i];
    }
}

/* h = silu(g) u: du = dh silu(g), dg = dh u silu'(g) */
static void swiglu_bwd_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct tok_job *j = ctx;
    const struct act *a = j->a;
    struct trainer *t = j->t;
    for (int64_t i = lo; i < hi; i++) {
        treal g = a->g[i], sg = 1 / (1 + EXP(-g));
        t->du[i] = t->dh[i] * g * sg;
        t->dg[i] = t->dh[i] * a->u[i] * sg * (1 + g * (1 - sg));
    }
}

/* ---- loss: the output projection and cross-entropy, ROWS rows at a time ---- */

struct loss_job {
    struct trainer *t;
    const int *tgt;
    int backward;
    double gscale;
};

/* rows [lo, hi) of the block: each one's loss, and with backward its
 * logits replaced by gscale (softmax - one-hot) */
static void loss_part(void *ctx, int64_t lo, int64_t hi, int worker)
{
    const struct loss_job *j = ctx;
    struct trainer *t = j->t;
    int V = t->m->vocab;
    for (int64_t r = lo; r < hi; r++) {
        treal *l = t->logits + (size_t)r * V, mx = l[0];
        for (int i = 1; i < V; i++)
            mx = l[i] > mx ? l[i] : mx;
        double sum = 0;
        for (int i = 0; i < V; i++)
            sum += EXP(l[i] - mx);
        int y = j->tgt[t->rows[r]];
        t->lrow[r] = log(sum) - ((double)l[y] - mx);
        if (j->backward) {
            treal c = (treal)(j->gscale / sum);
            for (int i = 0; i < V; i++)
                l[i] = EXP(l[i] - mx) * c;
            l[y] -= (treal)j->gscale;
        }
    }
}

static double loss_rows(struct trainer *t, const int *tgt, int n, int backward, double gscale,
                        int *count)
{
    const struct decoder *m = t->m;
    int d = m->dim, V = m->vocab;
    const treal *Wout = NULL;
    double total = 0;
    memset(t->dx, 0, sizeof *t->dx * (size_t)n * (size_t)d);
    treal *xg = talloc((size_t)ROWS * (size_t)d), *dxg = talloc((size_t)ROWS * (size_t)d);
    for (int at = 0; at < n;) {
        int nr = 0;
        for (; at < n && nr < ROWS; at++)
            if (tgt[at] >= 0 && tgt[at] < V)
                t->rows[nr++] = at;
        if (!nr)
            continue;
        for (int r = 0; r < nr; r++)
            memcpy(xg + (size_t)r * d, t->xf + (size_t)t->rows[r] * d, sizeof *xg * (size_t)d);
        if (!Wout)
            Wout = weight(t, &m->output);
        mm(t, N_, T_, nr, V, d, 1, xg, d, Wout, d, 0, t->logits, V);
        struct loss_job lj = {t, tgt, backward, gscale};
        each(t, nr, loss_part, &lj);
        for (int r = 0; r < nr; r++)
            total += t->lrow[r];
        *count += nr;
        if (backward) {
            mm(t, N_, N_, nr, d, V, 1, t->logits, V, Wout, d, 0, dxg, d);
            for (int r = 0; r < nr; r++)
                memcpy(t->dx + (size_t)t->rows[r] * d, dxg + (size_t)r * d,
                       sizeof *dxg * (size_t)d);
        }
    }
    free(xg);
    free(dxg);
    return total;
}

/* ---- a sequence ---- */

double TRN(trainer_run)(struct trainer *t, const int *ids, const int *tgt, int n, const int *starts,
                        int nstarts, int mode, double gscale, uint64_t key, int *count)
{
    int backward = mode == TRAIN_GRAD;
    const struct decoder *m = t->m;
    reserve(t, n);
    t->training = mode != TRAIN_EVAL;
    size_t d = (size_t)m->dim, rd = (size_t)m->rope_dim, f = (size_t)m->ffn;
    *count = 0;
    /* positions restart with every example */
    for (int e = 0, i = 0; i < n; i++) {
        while (e + 1 < nstarts && starts[e + 1] <= i)
            e++;
        decoder_rope_table(m, i - starts[e], t->rope + (size_t)i * rd);
    }
    treal *x = t->a[0].x;
    for (int i = 0; i < n; i++) {
        int id = ids[i] >= 0 && ids[i] < m->vocab ? ids[i] : 0;
        if (t->embd) {
            memcpy(x + (size_t)i * d, t->embd + (size_t)id * d, sizeof *x * d);
            continue;
        }
        qmat_row(&m->embd, id, t->frow);
        for (size_t j = 0; j < d; j++)
            x[(size_t)i * d + j] = t->frow[j];
    }
    for (int l = 0; l < m->layers; l++) {
        const struct decoder_layer *L = &m->layer[l];
        struct act *a = &t->a[l];
        struct tok_job j = {.t = t, .L = L, .layer = l, .a = a, .sign = 1};
        norm_fwd(t, a->x, t->attn_norm[l], n, a->xn1, a->r1);
        lin_fwd(t, l, LORA_Q, a->xn1, n, a->q, key);
        lin_fwd(t, l, LORA_K, a->xn1, n, a->k, key);
        lin_fwd(t, l, LORA_V, a->xn1, n, a->v, key);
        each(t, n, qk_part, &j);
        attention_fwd(t, a, starts, nstarts, n);
        lin_fwd(t, l, LORA_O, a->att, n, a->x2, key);
        for (size_t i = 0; i < (size_t)n * d; i++)
            a->x2[i] += a->x[i];
        norm_fwd(t, a->x2, t->ffn_norm[l], n, a->xn2, a->r2);
        lin_fwd(t, l, LORA_GATE, a->xn2, n, a->g, key);
        lin_fwd(t, l, LORA_UP, a->xn2, n, a->u, key);
        each(t, (int64_t)n * (int64_t)f, swiglu_fwd_part, &j);
        treal *next = l + 1 < m->layers ? t->a[l + 1].x : t->xl;
        lin_fwd(t, l, LORA_DOWN, a->h, n, next, key);
        for (size_t i = 0; i < (size_t)n * d; i++)
            next[i] += a->x2[i];
    }
    norm_fwd(t, t->xl, t->out_norm, n, t->xf, t->rf);
    double loss = loss_rows(t, tgt, n, backward, gscale, count);
    if (!backward)
        return loss;

    /* backward: t->dx holds d loss / d xf */
    memset(t->dx2, 0, sizeof *t->dx2 * (size_t)n * d);
    norm_bwd(t, t->xl, t->out_norm, t->rf, t->dx, n, t->dx2, grad_of(t, t->out_norm));
    /* dx2 now holds d loss / d x at the top of the stack */
    for (int l = m->layers - 1; l >= 0; l--) {
        struct act *a = &t->a[l];
        struct tok_job j = {.t = t, .L = &m->layer[l], .layer = l, .a = a, .sign = -1};
        treal *dtop = t->dx2; /* d / d (output of layer l) */
        /* feed-forward: out = x2 + down(h) */
        lin_bwd(t, l, LORA_DOWN, a->h, dtop, n, t->dh, 0, key);
        each(t, (int64_t)n * (int64_t)f, swiglu_bwd_part, &j);
        lin_bwd(t, l, LORA_GATE, a->xn2, t->dg, n, t->dn, 0, key);
        lin_bwd(t, l, LORA_UP, a->xn2, t->du, n, t->dn, 1, key);
        /* d x2 = dtop + norm'(dn), kept in dtop */
        norm_bwd(t, a->x2, t->ffn_norm[l], a->r2, t->dn, n, dtop, grad_of(t, t->ffn_norm[l]));
        /* attention: x2 = x + o(att) */
        lin_bwd(t, l, LORA_O, a->att, dtop, n, t->datt, 0, key);
        attention_bwd(t, a, starts, nstarts, n);
        if (t->q_norm && t->c.base_grads) { /* the norms' gradients: one thread */
            j.dwq = grad_of(t, t->q_norm[l]);
            j.dwk = grad_of(t, t->k_norm[l]);
            qk_part(&j, 0, n, 0);
        } else {
            each(t, n, qk_part, &j);
        }
        lin_bwd(t, l, LORA_Q, a->xn1, t->dq, n, t->dn, 0, key);
        lin_bwd(t, l, LORA_K, a->xn1, t->dk, n, t->dn, 1, key);
        lin_bwd(t, l, LORA_V, a->xn1, t->dv, n, t->dn, 1, key);
        norm_bwd(t, a->x, t->attn_norm[l], a->r1, t->dn, n, dtop, grad_of(t, t->attn_norm[l]));
    }
    if (t->embd) {
        treal *ge = grad_of(t, t->embd);
        for (int i = 0; i < n; i++) {
            int id = ids[i] >= 0 && ids[i] < m->vocab ? ids[i] : 0;
            for (size_t c = 0; c < d; c++)
                ge[(size_t)id * d + c] += t->dx2[i * d + c];
        }
    }
    return loss;
}

/* ---- the optimiser ---- */

void TRN(trainer_zero_grad)(struct trainer *t)
{
    for (int i = 0; i < t->np; i++)
        memset(t->p[i].g, 0, sizeof *t->p[i].g * t->p[i].n);
}

double TRN(trainer_clip)(struct trainer *t, double max_norm)
{
    double ss = 0;
    for (int i = 0; i < t->np; i++)
        for (size_t j = 0; j < t->p[i].n; j++)
            ss += (double)t->p[i].g[j] * t->p[i].g[j];
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        treal c = (treal)(max_norm / (norm + 1e-6));
        for (int i = 0; i < t->np; i++)
            for (size_t j = 0; j < t->p[i].n; j++)
                t->p[i].g[j] *= c;
    }
    return norm;
}

/* PyTorch's AdamW: decoupled decay, bias-corrected moments. */
void TRN(trainer_adamw)(struct trainer *t, int step, double lr, double beta1, double beta2,
                        double eps, double weight_decay)
{
    double c1 = 1 - pow(beta1, step), c2 = 1 - pow(beta2, step);
    for (int i = 0; i < t->np; i++) {
        struct tparam *p = &t->p[i];
        double decay = p->decay ? 1 - lr * weight_decay : 1;
        for (size_t j = 0; j < p->n; j++) {
            double g = p->g[j];
            p->m[j] = (treal)(beta1 * p->m[j] + (1 - beta1) * g);
            p->v[j] = (treal)(beta2 * p->v[j] + (1 - beta2) * g * g);
            double mh = p->m[j] / c1, vh = p->v[j] / c2;
            p->w[j] = (treal)(p->w[j] * decay - lr * mh / (sqrt(vh) + eps));
        }
    }
}

void TRN(trainer_export)(const struct trainer *t, struct lora *a)
{
    const struct decoder *m = t->m;
    memset(a, 0, sizeof *a);
    a->layers = m->layers;
    a->alpha = t->c.alpha;
    a->scale = 1;
    a->p = xcalloc((size_t)m->layers * LORA_NT, sizeof *a->p);
    for (int i = 0; i < m->layers * LORA_NT; i++) {
        const struct pair *p = &t->pr[i];
        if (!p->a)
            continue;
        struct lora_pair *o = &a->p[i];
        o->rank = p->rank;
        o->in = p->in;
        o->out = p->out;
        o->a = xmalloc(sizeof *o->a * p->a->n);
        o->b = xmalloc(sizeof *o->b * p->b->n);
        for (size_t j = 0; j < p->a->n; j++)
            o->a[j] = (float)p->a->w[j];
        for (size_t j = 0; j < p->b->n; j++)
            o->b[j] = (float)p->b->w[j];
    }
}
