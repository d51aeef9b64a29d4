/* quant_gemm.c - quant.h's matrix-matrix product (prompt processing).
 *
 * Quantised rows are multiplied with 8-bit activations, as llama.cpp does
 * for a batch: blocks of 32 for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, ggml's Q8_K
 * for the K-quants, so that a prompt and generation round the same way.
 * Each worker unpacks PANEL rows at a time into one layout for every
 * format: unsigned bytes q with w = ws (q - off) - mn, ws and mn per 16
 * columns, off the format's constant offset (Q4_0's 8), interleaved so
 * that the panel's rows fill the vector lanes (4 columns of 16 rows in a
 * 512-bit register) and each token's 4 activation bytes are broadcast:
 * a scale group's integer sums accumulate over its 16 or 32 columns, then
 * one conversion and fmadd (gemm_panel_*). The sums start at -off times
 * the activations' sums, so the offset costs nothing. The
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

#define PANEL 32     /* rows unpacked at a time (the kernels' panel: quant_impl.h) */
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
 * for each offset 1 << i used, xo[i] = -(1 << i) x the sum of each 16
 * (tp x kp / 16), where the integer kernels start. */
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
            int32_t *xo = a->xo[o] + (size_t)i * (kp / 16);
            for (size_t g = 0; g < kp / 16; g++) {
                int sum = 0;
                for (int j = 0; j < 16; j++)
                    sum += q[16 * g + (size_t)j];
                xo[g] = -sum * (1 << o);
            }
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
            a->xo[o] = xcalloc(tp * (kp / 16), sizeof *a->xo[o]);
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

/* 4 bytes at p, and 4 bytes to the panel: columns 4 s .. 4 s + 3 of the
 * row whose first step pq points at (a step is 128 bytes: quant_impl.h). */
static inline uint32_t get4(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void put4(uint8_t *pq, size_t s, uint32_t v)
{
    memcpy(pq + 128 * s, &v, 4);
}

#define LOW4 0x0F0F0F0Fu

/* The high bits of 4 values of Q5_0/Q5_1 (bits i .. i + 3 of qh) as 0x10
 * in each byte. */
static inline uint32_t high5(uint32_t qh, int i)
{
    uint32_t b = qh >> i;
    return ((b & 1) | (b & 2) << 7 | (b & 4) << 14 | (b & 8) << 21) << 4;
}

/* One row of n values (a whole number of blocks) into the panel: its
 * bytes q at pq (its first step's 4 bytes; quant_impl.h's layout), its
 * scales at pws (stride 32: one per 16 columns), its mins at mn (one per
 * 16; only formats with mins write them): w = ws (q - off) - mn, off =
 * fmt_off(). Four columns at a time, as 32-bit words. signed_q8: Q8_0's
 * bytes as they are, for the AVX2 kernel. row: n bytes of scratch. */
static void unpack_row(enum ggml_type t, const uint8_t *p, int64_t n, uint8_t *pq, float *pws,
                       float *mn, int signed_q8, uint8_t *row)
{
    size_t st = 0; /* the step (4 columns) being written */
    switch (t) {
    case GGML_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, p += Q8_0_BYTES) {
            uint32_t flip = signed_q8 ? 0 : 0x80808080u; /* q + 128 */
            for (int j = 0; j < 8; j++)
                put4(pq, st++, get4(p + 2 + 4 * j) ^ flip);
            pws[32 * (2 * b)] = pws[32 * (2 * b + 1)] = half_at(p);
        }
        return;
    case GGML_Q4_0:
    case GGML_Q4_1:
        for (int64_t b = 0; b < n / 32; b++, st += 8) {
            int one = t == GGML_Q4_1;
            const uint8_t *nib = p + (one ? 4 : 2);
            for (int j = 0; j < 4; j++) {
                uint32_t v = get4(nib + 4 * j);
                put4(pq, st + (size_t)j, v & LOW4);
                put4(pq, st + 4 + (size_t)j, v >> 4 & LOW4);
            }
            pws[32 * (2 * b)] = pws[32 * (2 * b + 1)] = half_at(p);
            if (one)
                mn[2 * b] = mn[2 * b + 1] = -half_at(p + 2);
            p += one ? Q4_1_BYTES : Q4_0_BYTES;
        }
        return;
    case GGML_Q5_0:
    case GGML_Q5_1:
        for (int64_t b = 0; b < n / 32; b++, st += 8) {
            int one = t == GGML_Q5_1;
            const uint8_t *hb = p + (one ? 4 : 2), *nib = hb + 4;
            uint32_t qh = le32_at(hb);
            for (int j = 0; j < 4; j++) {
                uint32_t v = get4(nib + 4 * j);
                put4(pq, st + (size_t)j, (v & LOW4) | high5(qh, 4 * j));
                put4(pq, st + 4 + (size_t)j, (v >> 4 & LOW4) | high5(qh, 16 + 4 * j));
            }
            pws[32 * (2 * b)] = pws[32 * (2 * b + 1)] = half_at(p);
            if (one)
                mn[2 * b] = mn[2 * b + 1] = -half_at(p + 2);
            p += one ? Q5_1_BYTES : Q5_0_BYTES;
        }
        return;
    case GGML_Q4_K:
    case GGML_Q5_K:
        for (int64_t b = 0; b < n / 256; b++) {
            int five = t == GGML_Q5_K;
            float d = half_at(p), dmin = half_at(p + 2);
            const uint8_t *sc = p + 4, *qh = p + 16, *ql = p + (five ? 48 : 16);
            for (int j = 0; j < 4; j++, ql += 32, st += 16, pws += 4 * 32, mn += 4) {
                for (int l = 0; l < 8; l++) { /* columns 64 j + 4 l .. and 64 j + 32 + 4 l .. */
                    uint32_t v = get4(ql + 4 * l), h = five ? get4(qh + 4 * l) : 0;
                    put4(pq, st + (size_t)l, (v & LOW4) | (h >> (2 * j) & 0x01010101u) << 4);
                    put4(pq, st + 8 + (size_t)l,
                         (v >> 4 & LOW4) | (h >> (2 * j + 1) & 0x01010101u) << 4);
                }
                for (int h = 0; h < 2; h++) {
                    uint8_t s, m;
                    scale_min_k4(2 * j + h, sc, &s, &m);
                    pws[32 * (2 * h)] = pws[32 * (2 * h + 1)] = d * s;
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
            for (int h = 0; h < 2; h++, ql += 64, qh += 32, st += 32) {
                for (int l = 0; l < 8; l++) { /* columns 4 l, 32 + 4 l, 64 + 4 l, 96 + 4 l */
                    uint32_t lo = get4(ql + 4 * l), hi = get4(ql + 32 + 4 * l),
                             u = get4(qh + 4 * l);
                    put4(pq, st + (size_t)l, (lo & LOW4) | (u & 0x03030303u) << 4);
                    put4(pq, st + 8 + (size_t)l, (hi & LOW4) | (u >> 2 & 0x03030303u) << 4);
                    put4(pq, st + 16 + (size_t)l, (lo >> 4 & LOW4) | (u >> 4 & 0x03030303u) << 4);
                    put4(pq, st + 24 + (size_t)l, (hi >> 4 & LOW4) | (u >> 6 & 0x03030303u) << 4);
                }
                for (int g = 0; g < 8; g++, pws += 32)
                    *pws = d * sc[8 * h + g];
            }
        }
        return;
    case GGML_Q3_K: /* d (sc - 32) (q - 4 unless the high bit) */
        for (int64_t b = 0; b < n / 256; b++, p += Q3_K_BYTES, pws += 16 * 32) {
            const uint8_t *hm = p, *qs = p + 32, *sc = p + 96;
            float d = half_at(p + 108);
            for (int e = 0; e < 256; e++) {
                int nn = e / 128, j = e % 128 / 32, l = e % 32;
                row[e] = (uint8_t)(((qs[32 * nn + l] >> (2 * j)) & 3) |
                                   (hm[l] >> (4 * nn + j) & 1) << 2);
            }
            for (int g = 0; g < 16; g++)
                pws[32 * g] = d * (float)scale_q3_k(sc, g);
            for (int e = 0; e < 64; e++)
                put4(pq, st++, get4(row + 4 * e));
        }
        return;
    case GGML_Q2_K: /* d (s & 15) q - dmin (s >> 4) */
        for (int64_t b = 0; b < n / 256; b++, p += Q2_K_BYTES, pws += 16 * 32, mn += 16) {
            const uint8_t *sc = p, *qs = p + 16;
            float d = half_at(p + 80), dmin = half_at(p + 82);
            for (int e = 0; e < 256; e++) {
                int nn = e / 128, j = e % 128 / 32, l = e % 32;
                row[e] = (qs[32 * nn + l] >> (2 * j)) & 3;
            }
            /* group g of 16: element 128 nn + 32 j + 16 h, scale 8 nn + 2 j + h */
            for (int g = 0; g < 16; g++) {
                pws[32 * g] = d * (float)(sc[g] & 0xF);
                mn[g] = dmin * (float)(sc[g] >> 4);
            }
            for (int e = 0; e < 64; e++)
                put4(pq, st++, get4(row + 4 * e));
        }
        return;
    default:
        return;
    }
}

/* The 32 columns, or 16, that share a scale: 8 or 4 steps of 4. */
static int fmt_steps(enum ggml_type t)
{
    return t == GGML_Q6_K || t == GGML_Q3_K || t == GGML_Q2_K ? 4 : 8;
}

/* The portable panel kernel (quant_impl.h's contract): each group's
 * integer sum exact, then scaled. */
static void gemm_panel_base(const uint8_t *q, const float *ws, const int8_t *x, const float *dx,
                            const int32_t *xo, int64_t k, int64_t tp, int steps, float *out)
{
    size_t K = (size_t)k, g16 = K / 16;
    for (int64_t t = 0; t < tp; t++) {
        const int8_t *xt = x + (size_t)t * K;
        for (int r = 0; r < PANEL; r++) {
            float acc = 0;
            for (size_t s0 = 0; s0 < K / 4; s0 += (size_t)steps) {
                size_t g = s0 / 4;
                int32_t sum = xo
                    ? xo[(size_t)t * g16 + g] + (steps == 8 ? xo[(size_t)t * g16 + g + 1] : 0)
                    : 0;
                for (size_t st = s0; st < s0 + (size_t)steps; st++)
                    for (int j = 0; j < 4; j++)
                        sum += q[128 * st + 4 * (size_t)r + (size_t)j] * xt[4 * st + (size_t)j];
                acc += (float)sum * (ws[32 * g + (size_t)r] * dx[(size_t)t * (K / 32) + g / 2]);
            }
            out[(size_t)t * PANEL + (size_t)r] = acc;
        }
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

/* Scratch of a worker for the 8-bit rows: a row's bytes (q, for Q2_K and
 * Q3_K), the panel (pq, pws), the panel's products (out, tp x PANEL), the
 * mins of all its rows (mn, rows x kp / 16). */
struct scratch {
    uint8_t *q, *pq;
    float *pws, *out, *mn;
};

/* Rows [lo, hi) of an 8-bit matrix times every token, PANEL rows at a time
 * unpacked and interleaved, the mins subtracted in one sgemm. */
static void int8_rows(const struct qmat *w, const struct acts *a, float *y, int64_t lo, int64_t hi,
                      const struct scratch *sc)
{
    int level = (int)cpu_level();
    int s8 = level == CPU_AVX2 && w->type == GGML_Q8_0, off = fmt_off(w->type, s8);
    int steps = fmt_steps(w->type);
    const int32_t *xo = off ? a->xo[log2i(off)] : NULL;
    size_t kp = (size_t)a->kp, g16 = kp / 16;
    int64_t t = a->t;
    for (int64_t r0 = lo; r0 < hi; r0 += PANEL) {
        int64_t nr = hi - r0 < PANEL ? hi - r0 : PANEL;
        float *mr = sc->mn + (size_t)(r0 - lo) * g16;
        if (nr < PANEL || (size_t)w->cols < kp) { /* padding: zero weights, zero scales */
            memset(sc->pq, 0, PANEL * kp);
            memset(sc->pws, 0, sizeof *sc->pws * PANEL * g16);
        }
        memset(mr, 0, sizeof *mr * (size_t)nr * g16);
        for (int64_t r = 0; r < nr; r++)
            unpack_row(w->type, (const uint8_t *)w->data + (size_t)(r0 + r) * w->row_bytes, w->cols,
                       sc->pq + 4 * r, sc->pws + r, mr + (size_t)r * g16, s8, sc->q);
        if (level == CPU_AVX512)
            gemm_panel_vnni(sc->pq, sc->pws, a->q, a->d, xo, (int64_t)kp, a->tp, steps, sc->out);
        else if (level == CPU_AVX2)
            gemm_panel_avx2(sc->pq, sc->pws, a->q, a->d, xo, (int64_t)kp, a->tp, steps, s8,
                            sc->out);
        else
            gemm_panel_base(sc->pq, sc->pws, a->q, a->d, xo, (int64_t)kp, a->tp, steps, sc->out);
        for (int64_t c = 0; c < t; c++)
            memcpy(y + (size_t)c * (size_t)w->rows + (size_t)r0, sc->out + (size_t)c * PANEL,
                   sizeof *y * (size_t)nr);
    }
    if (fmt_mins(w->type)) /* Y[t][r] -= sum_g s[t][g] mn[r][g] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)(hi - lo), (int)g16,
                    -1.0f, a->s, (int)g16, sc->mn, (int)g16, 1.0f, y + lo, (int)w->rows);
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
    float *tile = NULL;
    struct scratch sc = {0};
    for (int m = 0; m < j->nmat && lo < hi; m++) {
        const struct qmat *w = j->w[m];
        int64_t a, b;
        int some = part_rows(lo, hi, base, w->rows, &a, &b);
        base += w->rows;
        if (!some)
            continue;
        enum act_kind kind = act_kind(w->type);
        if (kind == ACT_FLOAT) {
            if (!tile && w->type != GGML_F32)
                tile = xmalloc(sizeof *tile * TILE_ROWS * (size_t)w->cols);
            float_rows(w, j->x, j->t, j->y[m], a, b, tile);
            continue;
        }
        const struct acts *acts = kind == ACT_Q8 ? j->a8 : j->ak;
        size_t kp = (size_t)acts->kp;
        if (!sc.q) {
            sc.q = xmalloc(kp);
            sc.pq = xmalloc(PANEL * kp);
            sc.pws = xmalloc(sizeof *sc.pws * PANEL * (kp / 16));
            sc.out = xmalloc(sizeof *sc.out * PANEL * (size_t)acts->tp);
            sc.mn = xmalloc(sizeof *sc.mn * (size_t)(hi - lo) * (kp / 16)); /* the most rows */
        }
        int8_rows(w, acts, j->y[m], a, b, &sc);
    }
    free(tile);
    free(sc.q);
    free(sc.pq);
    free(sc.pws);
    free(sc.out);
    free(sc.mn);
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
