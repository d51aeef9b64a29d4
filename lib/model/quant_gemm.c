/* quant_gemm.c - quant.h's matrix-matrix product (prompt processing).
 *
 * Quantised rows are multiplied with 8-bit activations, as llama.cpp does
 * for a batch: blocks of 32 for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, ggml's Q8_K
 * for the K-quants, so that a prompt and generation round the same way.
 * Each worker unpacks PANEL rows at a time into one layout for every
 * format: unsigned bytes q with w = ws (q - off) - mn, ws and mn per 16
 * columns, off the format's constant offset (Q4_0's 8), and multiplies 4
 * rows by 4 tokens with the integer kernels (gemm4x4_*), whose sums start
 * at -off times the activations' sums, so the offset costs nothing. The
 * mins (Q4_1, Q5_1, Q4_K, Q5_K, Q2_K), sum mn(r, g) s(c, g) with s the
 * activations' scaled sums of 16, are one sgemm of 1/16 the width over a
 * worker's rows. F32 rows go to cblas_sgemm in place; F16 and BF16 rows as
 * floats a tile at a time.
 */
#include "model/quant.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/util.h"
#include "model/quant_impl.h"

#define PANEL 32     /* rows unpacked at a time (a multiple of 4) */
#define TILE_ROWS 64 /* float rows decoded at a time */

/* How a type's rows are multiplied: in float, or against which 8-bit
 * activations. */
enum act_kind { ACT_FLOAT, ACT_Q8, ACT_Q8K };

static enum act_kind act_kind(enum ggml_type t)
{
    switch (t) {
    case GGML_Q8_0:
    case GGML_Q4_0:
    case GGML_Q4_1:
    case GGML_Q5_0:
    case GGML_Q5_1:
        return ACT_Q8;
    default:
        return quant_is_k(t) ? ACT_Q8K : ACT_FLOAT;
    }
}

/* The constant offset of a format's unsigned values (w = ws (q - off) -
 * mn), a power of two; 0 for those with mins, and for Q8_0 kept signed. */
static int fmt_off(enum ggml_type t, int signed_q8)
{
    switch (t) {
    case GGML_Q8_0:
        return signed_q8 ? 0 : 128;
    case GGML_Q4_0:
        return 8;
    case GGML_Q5_0:
        return 16;
    case GGML_Q6_K:
        return 32;
    case GGML_Q3_K:
        return 4;
    default:
        return 0;
    }
}

/* 1 when the format has mins (mn is not all zero). */
static int fmt_mins(enum ggml_type t)
{
    return t == GGML_Q4_1 || t == GGML_Q5_1 || t == GGML_Q4_K || t == GGML_Q5_K || t == GGML_Q2_K;
}

#define NOFF 8 /* offsets 1 << i */

/* T tokens' activations, padded to tp (a multiple of 4) tokens and kp (a
 * multiple of 64) columns with zeros: q int8 (tp x kp), d the scale of
 * each 32 (tp x kp / 32), s = d x the sum of each 16 (tp x kp / 16), and
 * for each offset 1 << i used, xo[i] = -(1 << i) x the sum of each 4
 * (tp x kp / 4), where the integer kernels start. */
struct acts {
    int64_t t, tp, kp, cols;
    enum act_kind kind;
    unsigned offs; /* bit i: xo[i] wanted */
    const float *x;
    int8_t *q;
    float *d, *s;
    int32_t *xo[NOFF];
};

static void acts_free(struct acts *a)
{
    free(a->q);
    free(a->d);
    free(a->s);
    for (int i = 0; i < NOFF; i++)
        free(a->xo[i]);
}

/* Tokens [lo, hi) of a (each worker its share). */
static void acts_tokens(struct acts *a, int64_t lo, int64_t hi)
{
    size_t kp = (size_t)a->kp;
    int64_t cols = a->cols;
    struct q8act *b8 = a->kind == ACT_Q8 ? xmalloc(sizeof *b8 * (size_t)(cols / 32)) : NULL;
    struct q8k *bk = a->kind == ACT_Q8K ? xmalloc(sizeof *bk * (size_t)(cols / 256)) : NULL;
    for (int64_t i = lo; i < hi; i++) {
        int8_t *q = a->q + (size_t)i * kp;
        float *d = a->d + (size_t)i * (kp / 32), *s = a->s + (size_t)i * (kp / 16);
        if (b8) {
            quant_act(a->x + (size_t)i * (size_t)cols, cols, b8);
            for (int64_t b = 0; b < cols / 32; b++) {
                memcpy(q + 32 * b, b8[b].q, 32);
                d[b] = b8[b].d;
            }
            for (int64_t g = 0; g < cols / 16; g++) {
                int sum = 0;
                for (int j = 0; j < 16; j++)
                    sum += q[16 * g + j];
                s[g] = d[g / 2] * (float)sum;
            }
        } else {
            quant_act_k(a->x + (size_t)i * (size_t)cols, cols, bk);
            for (int64_t b = 0; b < cols / 256; b++) {
                memcpy(q + 256 * b, bk[b].q, 256);
                for (int j = 0; j < 8; j++)
                    d[8 * b + j] = bk[b].d;
                for (int j = 0; j < 16; j++)
                    s[16 * b + j] = bk[b].d * (float)bk[b].bsum[j];
            }
        }
        for (int o = 0; o < NOFF; o++) {
            if (!(a->offs >> o & 1))
                continue;
            int32_t *xo = a->xo[o] + (size_t)i * (kp / 4);
            for (size_t l = 0; l < kp / 4; l++)
                xo[l] = -(q[4 * l] + q[4 * l + 1] + q[4 * l + 2] + q[4 * l + 3]) * (1 << o);
        }
    }
    free(b8);
    free(bk);
}

static void acts_part(void *ctx, int worker, int nw)
{
    struct acts *a = ctx;
    int64_t lo, hi;
    team_share(a->t, worker, nw, &lo, &hi);
    acts_tokens(a, lo, hi);
}

static void acts_make(struct acts *a, enum act_kind kind, unsigned offs, const float *x, int64_t t,
                      int64_t cols, struct team *team)
{
    *a = (struct acts){.t = t, .cols = cols, .kind = kind, .offs = offs, .x = x};
    a->tp = (t + 3) / 4 * 4;
    a->kp = (cols + 63) / 64 * 64;
    size_t kp = (size_t)a->kp, tp = (size_t)a->tp;
    a->q = xcalloc(tp * kp, 1);
    a->d = xcalloc(tp * (kp / 32), sizeof *a->d);
    a->s = xcalloc(tp * (kp / 16), sizeof *a->s);
    for (int o = 0; o < NOFF; o++)
        if (offs >> o & 1)
            a->xo[o] = xcalloc(tp * (kp / 4), sizeof *a->xo[o]);
    team_run(team, acts_part, a);
}

/* log2 of a power of two */
static int log2i(int v)
{
    int o = 0;
    while (v > 1)
        v >>= 1, o++;
    return o;
}

/* One row of n values (a whole number of blocks) as q, ws and mn (n / 16
 * each of the latter; mn only for formats with mins): w = ws (q - off) -
 * mn, off = fmt_off(). signed_q8: Q8_0's bytes as they are, for the AVX2
 * kernel. */
static void unpack_row(enum ggml_type t, const uint8_t *p, int64_t n, uint8_t *q, float *ws,
                       float *mn, int signed_q8)
{
    switch (t) {
    case GGML_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, p += Q8_0_BYTES, q += 32) {
            float d = half_at(p);
            for (int j = 0; j < 32; j++)
                q[j] = (uint8_t)(signed_q8 ? p[2 + j] : (p[2 + j] ^ 0x80)); /* q + 128 */
            ws[2 * b] = ws[2 * b + 1] = d;
        }
        return;
    case GGML_Q4_0:
    case GGML_Q4_1:
        for (int64_t b = 0; b < n / 32; b++, q += 32) {
            int one = t == GGML_Q4_1;
            float d = half_at(p), m = one ? -half_at(p + 2) : 0;
            const uint8_t *nib = p + (one ? 4 : 2);
            for (int j = 0; j < 16; j++) {
                q[j] = nib[j] & 0xF;
                q[j + 16] = nib[j] >> 4;
            }
            ws[2 * b] = ws[2 * b + 1] = d;
            mn[2 * b] = mn[2 * b + 1] = m;
            p += one ? Q4_1_BYTES : Q4_0_BYTES;
        }
        return;
    case GGML_Q5_0:
    case GGML_Q5_1:
        for (int64_t b = 0; b < n / 32; b++, q += 32) {
            int one = t == GGML_Q5_1;
            float d = half_at(p), m = one ? -half_at(p + 2) : 0;
            const uint8_t *hb = p + (one ? 4 : 2), *nib = hb + 4;
            uint32_t qh = le32_at(hb);
            for (int j = 0; j < 16; j++) {
                q[j] = (uint8_t)((nib[j] & 0xF) | (((qh >> j) & 1) << 4));
                q[j + 16] = (uint8_t)((nib[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            }
            ws[2 * b] = ws[2 * b + 1] = d;
            mn[2 * b] = mn[2 * b + 1] = m;
            p += one ? Q5_1_BYTES : Q5_0_BYTES;
        }
        return;
    case GGML_Q4_K:
    case GGML_Q5_K:
        for (int64_t b = 0; b < n / 256; b++) {
            int five = t == GGML_Q5_K;
            float d = half_at(p), dmin = half_at(p + 2);
            const uint8_t *sc = p + 4, *qh = p + 16, *ql = p + (five ? 48 : 16);
            for (int j = 0; j < 4; j++, ql += 32, q += 64, ws += 4, mn += 4) {
                for (int l = 0; l < 32; l++) {
                    int h0 = five ? ((qh[l] >> (2 * j)) & 1) << 4 : 0;
                    int h1 = five ? ((qh[l] >> (2 * j + 1)) & 1) << 4 : 0;
                    q[l] = (uint8_t)((ql[l] & 0xF) | h0);
                    q[l + 32] = (uint8_t)((ql[l] >> 4) | h1);
                }
                for (int h = 0; h < 2; h++) {
                    uint8_t s, m;
                    scale_min_k4(2 * j + h, sc, &s, &m);
                    ws[2 * h] = ws[2 * h + 1] = d * s;
                    mn[2 * h] = mn[2 * h + 1] = dmin * m;
                }
            }
            p += five ? Q5_K_BYTES : Q4_K_BYTES;
        }
        return;
    case GGML_Q6_K: /* (q - 32) d sc, q 6 bits */
        for (int64_t b = 0; b < n / 256; b++, p += Q6_K_BYTES) {
            const uint8_t *ql = p, *qh = p + 128;
            const int8_t *sc = (const int8_t *)(p + 192);
            float d = half_at(p + 208);
            for (int h = 0; h < 2; h++, ql += 64, qh += 32, q += 128) {
                for (int l = 0; l < 32; l++) {
                    q[l] = (uint8_t)((ql[l] & 0xF) | ((qh[l] & 3) << 4));
                    q[l + 32] = (uint8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
                    q[l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                    q[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
                }
                for (int g = 0; g < 8; g++)
                    *ws++ = d * sc[8 * h + g];
            }
        }
        return;
    case GGML_Q3_K: /* d (sc - 32) (q - 4 unless the high bit) */
        for (int64_t b = 0; b < n / 256; b++, p += Q3_K_BYTES, q += 256, ws += 16) {
            const uint8_t *hm = p, *qs = p + 32, *sc = p + 96;
            float d = half_at(p + 108);
            for (int e = 0; e < 256; e++) {
                int nn = e / 128, j = e % 128 / 32, l = e % 32;
                q[e] = (uint8_t)(((qs[32 * nn + l] >> (2 * j)) & 3) |
                                 (hm[l] >> (4 * nn + j) & 1) << 2);
            }
            for (int g = 0; g < 16; g++)
                ws[g] = d * (float)scale_q3_k(sc, g);
        }
        return;
    case GGML_Q2_K: /* d (s & 15) q - dmin (s >> 4) */
        for (int64_t b = 0; b < n / 256; b++, p += Q2_K_BYTES, q += 256, ws += 16, mn += 16) {
            const uint8_t *sc = p, *qs = p + 16;
            float d = half_at(p + 80), dmin = half_at(p + 82);
            for (int e = 0; e < 256; e++) {
                int nn = e / 128, j = e % 128 / 32, l = e % 32;
                q[e] = (qs[32 * nn + l] >> (2 * j)) & 3;
            }
            /* group g of 16: element 128 nn + 32 j + 16 h, scale 8 nn + 2 j + h */
            for (int g = 0; g < 16; g++) {
                ws[g] = d * (float)(sc[g] & 0xF);
                mn[g] = dmin * (float)(sc[g] >> 4);
            }
        }
        return;
    default:
        return;
    }
}

/* The portable 4 x 4 kernel: each 16's integer sum exact (from xo's sums
 * of 4 where there is an offset), then scaled. */
static void gemm4x4_base(const uint8_t *w, const float *ws, const int8_t *x, const float *dx,
                         const int32_t *xo, int64_t k, float *out)
{
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            const uint8_t *wr = w + r * k;
            const int8_t *xc = x + c * k;
            const int32_t *oc = xo ? xo + c * (k / 4) : NULL;
            float acc = 0;
            for (int64_t g = 0; g < k / 16; g++) {
                int sum = oc ? oc[4 * g] + oc[4 * g + 1] + oc[4 * g + 2] + oc[4 * g + 3] : 0;
                for (int j = 0; j < 16; j++)
                    sum += wr[16 * g + j] * xc[16 * g + j];
                acc += (float)sum * (ws[r * (k / 16) + g] * dx[c * (k / 32) + g / 2]);
            }
            out[4 * r + c] = acc;
        }
}

struct mm_job {
    const struct qmat *const *w;
    float *const *y;
    int nmat;
    int64_t total;
    const float *x;
    int64_t t;
    const struct acts *a8, *ak; /* the 8-bit activations, where used */
};

/* Rows [lo, hi) of an 8-bit matrix times every token, PANEL rows at a time
 * unpacked into q and ws, the mins of all of them into mn ((hi - lo) x
 * kp / 16), then subtracted in one sgemm. */
static void int8_rows(const struct qmat *w, const struct acts *a, float *y, int64_t lo, int64_t hi,
                      uint8_t *q, float *ws, float *mn)
{
    int level = (int)cpu_level();
    int s8 = level == CPU_AVX2 && w->type == GGML_Q8_0, off = fmt_off(w->type, s8);
    void (*kernel)(const uint8_t *, const float *, const int8_t *, const float *, const int32_t *,
                   int64_t, float *) = level == CPU_AVX512 ? gemm4x4_vnni
        : s8                                               ? gemm4x4_avx2_s8
        : level == CPU_AVX2                                ? gemm4x4_avx2
                                                           : gemm4x4_base;
    const int32_t *xo = off ? a->xo[log2i(off)] : NULL;
    size_t kp = (size_t)a->kp, g16 = kp / 16, g32 = kp / 32;
    int64_t t = a->t;
    float out[16];
    for (int64_t r0 = lo; r0 < hi; r0 += PANEL) {
        int64_t nr = hi - r0 < PANEL ? hi - r0 : PANEL, np = (nr + 3) / 4 * 4;
        float *mr = mn + (size_t)(r0 - lo) * g16;
        memset(q, 0, (size_t)np * kp);
        memset(ws, 0, sizeof *ws * (size_t)np * g16);
        memset(mr, 0, sizeof *mr * (size_t)nr * g16);
        for (int64_t r = 0; r < nr; r++)
            unpack_row(w->type, (const uint8_t *)w->data + (size_t)(r0 + r) * w->row_bytes, w->cols,
                       q + (size_t)r * kp, ws + (size_t)r * g16, mr + (size_t)r * g16, s8);
        for (int64_t rq = 0; rq < np; rq += 4)
            for (int64_t c0 = 0; c0 < a->tp; c0 += 4) {
                kernel(q + (size_t)rq * kp, ws + (size_t)rq * g16, a->q + (size_t)c0 * kp,
                       a->d + (size_t)c0 * g32, xo ? xo + (size_t)c0 * (kp / 4) : NULL, (int64_t)kp,
                       out);
                for (int r = 0; r < 4 && rq + r < nr; r++)
                    for (int c = 0; c < 4 && c0 + c < t; c++)
                        y[(size_t)(c0 + c) * (size_t)w->rows + (size_t)(r0 + rq + r)] =
                            out[4 * r + c];
            }
    }
    if (fmt_mins(w->type)) /* Y[t][r] -= sum_g s[t][g] mn[r][g] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)(hi - lo), (int)g16,
                    -1.0f, a->s, (int)g16, mn, (int)g16, 1.0f, y + lo, (int)w->rows);
}

/* Rows [lo, hi) of a float matrix times every token: F32 in place, F16 and
 * BF16 decoded a tile at a time, each with one single-threaded sgemm. */
static void float_rows(const struct qmat *w, const float *x, int64_t t, float *y, int64_t lo,
                       int64_t hi, float *tile)
{
    if (w->type == GGML_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)(hi - lo), (int)w->cols,
                    1.0f, x, (int)w->cols, (const float *)w->data + (size_t)lo * (size_t)w->cols,
                    (int)w->cols, 0.0f, y + lo, (int)w->rows);
        return;
    }
    for (int64_t r0 = lo; r0 < hi; r0 += TILE_ROWS) {
        int64_t nr = hi - r0 < TILE_ROWS ? hi - r0 : TILE_ROWS;
        for (int64_t r = 0; r < nr; r++)
            qmat_row(w, r0 + r, tile + (size_t)r * (size_t)w->cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)nr, (int)w->cols, 1.0f, x,
                    (int)w->cols, tile, (int)w->cols, 0.0f, y + r0, (int)w->rows);
    }
}

/* Each worker its share of the rows of all the matrices together. */
static void matmul_part(void *ctx, int worker, int nw)
{
    const struct mm_job *j = ctx;
    int64_t lo, hi, base = 0;
    team_share(j->total, worker, nw, &lo, &hi);
    float *tile = NULL, *ws = NULL, *mn = NULL;
    uint8_t *q = NULL;
    for (int m = 0; m < j->nmat && lo < hi; m++) {
        const struct qmat *w = j->w[m];
        int64_t a = lo - base, b = hi - base;
        base += w->rows;
        if (a >= w->rows)
            continue;
        if (a < 0)
            a = 0;
        if (b > w->rows)
            b = w->rows;
        if (b <= a)
            break;
        enum act_kind kind = act_kind(w->type);
        if (kind == ACT_FLOAT) {
            if (!tile && w->type != GGML_F32)
                tile = xmalloc(sizeof *tile * TILE_ROWS * (size_t)w->cols);
            float_rows(w, j->x, j->t, j->y[m], a, b, tile);
            continue;
        }
        const struct acts *acts = kind == ACT_Q8 ? j->a8 : j->ak;
        size_t kp = (size_t)acts->kp;
        if (!q) {
            q = xmalloc((size_t)PANEL * kp);
            ws = xmalloc(sizeof *ws * PANEL * (kp / 16));
            mn = xmalloc(sizeof *mn * (size_t)(hi - lo) * (kp / 16)); /* the most rows */
        }
        int8_rows(w, acts, j->y[m], a, b, q, ws, mn);
    }
    free(tile);
    free(q);
    free(ws);
    free(mn);
}

void qmat_matmul_n(const struct qmat *const *w, int n, const float *x, int64_t t, float *const *y,
                   struct team *team)
{
    int64_t total = 0;
    int need[3] = {0};
    unsigned offs[3] = {0};
    int s8 = cpu_level() == CPU_AVX2;
    for (int i = 0; i < n; i++) {
        enum act_kind kind = act_kind(w[i]->type);
        int off = fmt_off(w[i]->type, s8);
        total += w[i]->rows;
        need[kind] = 1;
        if (off)
            offs[kind] |= 1u << log2i(off);
    }
    struct acts a8 = {0}, ak = {0};
    if (need[ACT_Q8])
        acts_make(&a8, ACT_Q8, offs[ACT_Q8], x, t, w[0]->cols, team);
    if (need[ACT_Q8K])
        acts_make(&ak, ACT_Q8K, offs[ACT_Q8K], x, t, w[0]->cols, team);
    struct mm_job j = {w, y, n, total, x, t, &a8, &ak};
    team_run(team, matmul_part, &j);
    acts_free(&a8);
    acts_free(&ak);
}

void qmat_matmul(const struct qmat *w, const float *x, int64_t t, float *y, struct team *team)
{
    qmat_matmul_n(&w, 1, x, t, &y, team);
}
