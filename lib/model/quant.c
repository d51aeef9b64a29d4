/* quant.c - quant.h's weight formats: ggml's blocks decoded and encoded
 * with its reference formulas, and the matrix products on the team, rows
 * against 8-bit activations on the ISA paths (quant_avx2.c, quant_vnni.c)
 * or decoded to floats on the portable one. */
#include "model/quant.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/util.h"
#include "model/kernels.h"
#include "model/quant_impl.h"

/* ---- half floats ---- */

uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, mant = x & 0x7FFFFF;
    int exp = (int)((x >> 23) & 0xFF);
    if (exp == 255) /* inf, NaN */
        return (uint16_t)(sign | 0x7C00 | (mant ? 0x200 : 0));
    int e = exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7C00);
    if (e <= 0) { /* subnormal or zero, rounded to nearest even */
        if (e < -10)
            return (uint16_t)sign;
        mant |= 0x800000;
        int shift = 14 - e;
        uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = (uint32_t)e << 10 | mant >> 13, rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
        half++; /* may carry into the exponent, as it should */
    return (uint16_t)(sign | half);
}

uint16_t f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFF) > 0x7F800000)
        return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    x += 0x7FFF + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

int quant_readable(enum ggml_type t)
{
    switch (t) {
    case GGML_F32:
    case GGML_F16:
    case GGML_BF16:
    case GGML_Q8_0:
    case GGML_Q4_0:
    case GGML_Q4_1:
    case GGML_Q5_0:
    case GGML_Q5_1:
    case GGML_Q2_K:
    case GGML_Q3_K:
    case GGML_Q4_K:
    case GGML_Q5_K:
    case GGML_Q6_K:
        return 1;
    default:
        return 0;
    }
}

int quant_is_k(enum ggml_type t)
{
    return t == GGML_Q2_K || t == GGML_Q3_K || t == GGML_Q4_K || t == GGML_Q5_K || t == GGML_Q6_K;
}

int quant_writable(enum ggml_type t)
{
    /* Q4_1, Q5_0 and Q5_1 are read (llama.cpp's fallbacks for rows that K-quants do not fit),
     * Q2_K and Q3_K for the smallest mixes */
    return quant_readable(t) && t != GGML_Q4_1 && t != GGML_Q5_0 && t != GGML_Q5_1 &&
        t != GGML_Q2_K && t != GGML_Q3_K;
}

/* ---- dequantisation (ggml's reference formulas) ---- */

void dequant_row(enum ggml_type t, const void *src, float *y, int64_t n)
{
    const uint8_t *p = src;
    switch (t) {
    case GGML_F32:
        memcpy(y, src, (size_t)n * 4);
        return;
    case GGML_F16:
        for (int64_t i = 0; i < n; i++)
            y[i] = f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return;
    case GGML_BF16:
        for (int64_t i = 0; i < n; i++)
            y[i] = bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return;
    case GGML_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, p += Q8_0_BYTES) {
            float d = half_at(p);
            const int8_t *q = (const int8_t *)(p + 2);
            for (int j = 0; j < 32; j++)
                *y++ = q[j] * d;
        }
        return;
    case GGML_Q4_0:
        for (int64_t b = 0; b < n / 32; b++, p += Q4_0_BYTES, y += 32) {
            float d = half_at(p);
            const uint8_t *q = p + 2;
            for (int j = 0; j < 16; j++) {
                y[j] = ((q[j] & 0xF) - 8) * d;
                y[j + 16] = ((q[j] >> 4) - 8) * d;
            }
        }
        return;
    case GGML_Q4_1: /* d, m, 16 bytes of nibbles: q d + m */
        for (int64_t b = 0; b < n / 32; b++, p += 20, y += 32) {
            float d = half_at(p), m = half_at(p + 2);
            for (int j = 0; j < 16; j++) {
                y[j] = (p[4 + j] & 0xF) * d + m;
                y[j + 16] = (p[4 + j] >> 4) * d + m;
            }
        }
        return;
    case GGML_Q5_0: /* d, 32 high bits, 16 bytes of nibbles: (q - 16) d */
    case GGML_Q5_1: /* d, m, 32 high bits, 16 bytes of nibbles: q d + m */
        for (int64_t b = 0; b < n / 32; b++, y += 32) {
            int one = t == GGML_Q5_1;
            float d = half_at(p), m = one ? half_at(p + 2) : 0;
            const uint8_t *hb = p + (one ? 4 : 2), *q = hb + 4;
            uint32_t qh = (uint32_t)hb[0] | (uint32_t)hb[1] << 8 | (uint32_t)hb[2] << 16 |
                (uint32_t)hb[3] << 24;
            int off = one ? 0 : 16;
            for (int j = 0; j < 16; j++) {
                int h0 = (int)((qh >> j) << 4) & 0x10, h1 = (int)(qh >> (j + 12)) & 0x10;
                y[j] = (float)(((q[j] & 0xF) | h0) - off) * d + m;
                y[j + 16] = (float)(((q[j] >> 4) | h1) - off) * d + m;
            }
            p += one ? 24 : 22;
        }
        return;
    case GGML_Q4_K:
        for (int64_t b = 0; b < n / 256; b++, p += Q4_K_BYTES) {
            float d = half_at(p), min = half_at(p + 2);
            const uint8_t *sc = p + 4, *q = p + 16;
            for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
                uint8_t s, m;
                scale_min_k4(is, sc, &s, &m);
                float d1 = d * s, m1 = min * m;
                scale_min_k4(is + 1, sc, &s, &m);
                float d2 = d * s, m2 = min * m;
                for (int l = 0; l < 32; l++)
                    *y++ = d1 * (q[l] & 0xF) - m1;
                for (int l = 0; l < 32; l++)
                    *y++ = d2 * (q[l] >> 4) - m2;
            }
        }
        return;
    case GGML_Q5_K:
        for (int64_t b = 0; b < n / 256; b++, p += Q5_K_BYTES) {
            float d = half_at(p), min = half_at(p + 2);
            const uint8_t *sc = p + 4, *qh = p + 16, *ql = p + 48;
            uint8_t u1 = 1, u2 = 2;
            for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
                uint8_t s, m;
                scale_min_k4(is, sc, &s, &m);
                float d1 = d * s, m1 = min * m;
                scale_min_k4(is + 1, sc, &s, &m);
                float d2 = d * s, m2 = min * m;
                for (int l = 0; l < 32; l++)
                    *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
                for (int l = 0; l < 32; l++)
                    *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            }
        }
        return;
    case GGML_Q2_K:
        /* [scales 16: low 4 bits scale, high 4 min][qs 64: 2 bits][d][dmin]; element
         * 128 n + 32 j + l is bits 2j of qs[32 n + l], scale 8 n + 2 j + l / 16 */
        for (int64_t b = 0; b < n / 256; b++, p += Q2_K_BYTES) {
            const uint8_t *sc = p, *qs = p + 16;
            float d = half_at(p + 80), dmin = half_at(p + 82);
            for (int e = 0; e < 256; e++) {
                int nn = e / 128, j = e % 128 / 32, l = e % 32, s = sc[8 * nn + 2 * j + l / 16];
                *y++ = d * (s & 0xF) * ((qs[32 * nn + l] >> (2 * j)) & 3) - dmin * (s >> 4);
            }
        }
        return;
    case GGML_Q3_K:
        /* [hmask 32][qs 64: low 2 bits][scales 12: 6 bits][d]; the high bit, when
         * clear, subtracts 4 */
        for (int64_t b = 0; b < n / 256; b++, p += Q3_K_BYTES) {
            const uint8_t *hm = p, *qs = p + 32, *sc = p + 96;
            float d = half_at(p + 108);
            for (int e = 0; e < 256; e++) {
                int nn = e / 128, j = e % 128 / 32, l = e % 32;
                int q = ((qs[32 * nn + l] >> (2 * j)) & 3) - (hm[l] >> (4 * nn + j) & 1 ? 0 : 4);
                *y++ = d * scale_q3_k(sc, 8 * nn + 2 * j + l / 16) * q;
            }
        }
        return;
    case GGML_Q6_K:
        for (int64_t b = 0; b < n / 256; b++, p += Q6_K_BYTES) {
            const uint8_t *ql = p, *qh = p + 128;
            const int8_t *sc = (const int8_t *)(p + 192);
            float d = half_at(p + 208);
            for (int k = 0; k < 256; k += 128, y += 128, ql += 64, qh += 32, sc += 8)
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l] = d * sc[is] * q1;
                    y[l + 32] = d * sc[is + 2] * q2;
                    y[l + 64] = d * sc[is + 4] * q3;
                    y[l + 96] = d * sc[is + 6] * q4;
                }
        }
        return;
    default:
        memset(y, 0, (size_t)n * sizeof *y);
        return;
    }
}

/* ---- quantisation ---- */

static void put_half(uint8_t *p, float v)
{
    uint16_t h = f32_to_f16(v);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* Q4_K and Q5_K: 8 sub-blocks of 32, x = d*sc*q - dmin*m, q in [0, levels]. */
static void quant_k45(const float *x, uint8_t *sc, float *dd, float *dm, uint8_t *q, int levels)
{
    float scale[8], minv[8], maxs = 0, maxm = 0;
    for (int s = 0; s < 8; s++) {
        float lo = 0, hi = 0;
        for (int l = 0; l < 32; l++) {
            lo = fminf(lo, x[32 * s + l]);
            hi = fmaxf(hi, x[32 * s + l]);
        }
        scale[s] = (hi - lo) / (float)levels;
        minv[s] = -lo;
        maxs = fmaxf(maxs, scale[s]);
        maxm = fmaxf(maxm, minv[s]);
    }
    float d = maxs / 63, dmin = maxm / 63;
    /* the stored halves, so that q is chosen against what readers see */
    d = f16_to_f32(f32_to_f16(d));
    dmin = f16_to_f32(f32_to_f16(dmin));
    uint8_t ls[8], lm[8];
    for (int s = 0; s < 8; s++) {
        ls[s] = d > 0 ? (uint8_t)fminf(63, lrintf(scale[s] / d)) : 0;
        lm[s] = dmin > 0 ? (uint8_t)fminf(63, lrintf(minv[s] / dmin)) : 0;
        float step = d * ls[s], off = dmin * lm[s];
        for (int l = 0; l < 32; l++) {
            int v = step > 0 ? (int)lrintf((x[32 * s + l] + off) / step) : 0;
            q[32 * s + l] = (uint8_t)(v < 0 ? 0 : v > levels ? levels : v);
        }
    }
    memset(sc, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            sc[j] = ls[j];
            sc[j + 4] = lm[j];
        } else {
            sc[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            sc[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            sc[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
    *dd = d;
    *dm = dmin;
}

void quant_row(enum ggml_type t, const float *x, void *dst, int64_t n)
{
    uint8_t *p = dst;
    switch (t) {
    case GGML_F32:
        memcpy(dst, x, (size_t)n * 4);
        return;
    case GGML_F16:
    case GGML_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = t == GGML_F16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
            p[2 * i] = (uint8_t)h;
            p[2 * i + 1] = (uint8_t)(h >> 8);
        }
        return;
    case GGML_Q8_0: /* ggml's quantize_row_q8_0_ref */
        for (int64_t b = 0; b < n / 32; b++, x += 32, p += Q8_0_BYTES) {
            float amax = 0;
            for (int j = 0; j < 32; j++)
                amax = fmaxf(amax, fabsf(x[j]));
            float d = amax / 127, id = d ? 1 / d : 0;
            put_half(p, d);
            for (int j = 0; j < 32; j++)
                ((int8_t *)(p + 2))[j] = (int8_t)roundf(x[j] * id);
        }
        return;
    case GGML_Q4_0: /* ggml's quantize_row_q4_0_ref */
        for (int64_t b = 0; b < n / 32; b++, x += 32, p += Q4_0_BYTES) {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++)
                if (fabsf(x[j]) > amax) {
                    amax = fabsf(x[j]);
                    max = x[j];
                }
            float d = max / -8, id = d ? 1 / d : 0;
            put_half(p, d);
            for (int j = 0; j < 16; j++) {
                int a = (int)(x[j] * id + 8.5f), c = (int)(x[j + 16] * id + 8.5f);
                a = a > 15 ? 15 : a;
                c = c > 15 ? 15 : c;
                p[2 + j] = (uint8_t)(a | c << 4);
            }
        }
        return;
    case GGML_Q4_K:
    case GGML_Q5_K:
        for (int64_t b = 0; b < n / 256; b++, x += 256) {
            uint8_t q[256], *sc = p + 4;
            float d, dmin;
            int five = t == GGML_Q5_K;
            quant_k45(x, sc, &d, &dmin, q, five ? 31 : 15);
            put_half(p, d);
            put_half(p + 2, dmin);
            uint8_t *qs = p + (five ? 48 : 16), *qh = p + 16;
            if (five)
                memset(qh, 0, 32);
            for (int j = 0, m = 0; j < 256; j += 64, m += 2, qs += 32)
                for (int l = 0; l < 32; l++) {
                    uint8_t lo = q[j + l], hi = q[j + 32 + l];
                    if (five) {
                        if (lo & 16)
                            qh[l] |= (uint8_t)(1 << m);
                        if (hi & 16)
                            qh[l] |= (uint8_t)(1 << (m + 1));
                    }
                    qs[l] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
                }
            p += five ? Q5_K_BYTES : Q4_K_BYTES;
        }
        return;
    case GGML_Q6_K:
        for (int64_t b = 0; b < n / 256; b++, x += 256, p += Q6_K_BYTES) {
            float scale[16], amax = 0;
            for (int s = 0; s < 16; s++) {
                float m = 0, v = 0;
                for (int l = 0; l < 16; l++)
                    if (fabsf(x[16 * s + l]) > m) {
                        m = fabsf(x[16 * s + l]);
                        v = x[16 * s + l];
                    }
                scale[s] = v / -32; /* as Q4_0: the largest value lands on -32 */
                amax = fmaxf(amax, fabsf(scale[s]));
            }
            float d = f16_to_f32(f32_to_f16(amax / 127));
            int8_t *sc = (int8_t *)(p + 192);
            uint8_t q[256];
            for (int s = 0; s < 16; s++) {
                int ls = d > 0 ? (int)lrintf(scale[s] / d) : 0;
                sc[s] = (int8_t)(ls < -128 ? -128 : ls > 127 ? 127 : ls);
                float step = d * sc[s];
                for (int l = 0; l < 16; l++) {
                    int v = step != 0 ? (int)lrintf(x[16 * s + l] / step) : 0;
                    q[16 * s + l] = (uint8_t)((v < -32 ? -32 : v > 31 ? 31 : v) + 32);
                }
            }
            uint8_t *ql = p, *qh = p + 128;
            memset(qh, 0, 64);
            for (int k = 0; k < 256; k += 128, ql += 64, qh += 32)
                for (int l = 0; l < 32; l++) {
                    uint8_t q1 = q[k + l], q2 = q[k + l + 32], q3 = q[k + l + 64],
                            q4 = q[k + l + 96];
                    ql[l] = (uint8_t)((q1 & 0xF) | (q3 & 0xF) << 4);
                    ql[l + 32] = (uint8_t)((q2 & 0xF) | (q4 & 0xF) << 4);
                    qh[l] = (uint8_t)((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
                }
            put_half(p + 208, d);
        }
        return;
    default:
        return;
    }
}

/* ---- products ---- */

/* Activations as 8-bit blocks of 32 for the Q8_0 and Q4_0 kernels. */
void quant_act(const float *x, int64_t n, struct q8act *out)
{
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            float v = fabsf(x[j]);
            amax = v > amax ? v : amax;
        }
        float d = amax / 127, id = d ? 1 / d : 0;
        int sum = 0;
        out[b].d = d;
        for (int j = 0; j < 32; j++) {
            out[b].q[j] = (int8_t)lrintf(x[j] * id);
            sum += out[b].q[j];
        }
        out[b].sum = sum;
    }
}

static float dot_q8_0_base(const uint8_t *w, const struct q8act *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q8_0_BYTES) {
        const int8_t *q = (const int8_t *)(w + 2);
        int sum = 0;
        for (int j = 0; j < 32; j++)
            sum += q[j] * a[b].q[j];
        s += half_at(w) * a[b].d * (float)sum;
    }
    return s;
}

static float dot_q4_0_base(const uint8_t *w, const struct q8act *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q4_0_BYTES) {
        const uint8_t *q = w + 2;
        int sum = 0;
        for (int j = 0; j < 16; j++)
            sum += (q[j] & 0xF) * a[b].q[j] + (q[j] >> 4) * a[b].q[j + 16];
        s += half_at(w) * a[b].d * (float)(sum - 8 * a[b].sum);
    }
    return s;
}

/* Q4_1, Q5_0 and Q5_1 (q d + m, or (q - 16) d) with the same activations:
 * the offsets through each block's sum */
static float dot_q4_1_base(const uint8_t *w, const struct q8act *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q4_1_BYTES) {
        const uint8_t *q = w + 4;
        int sum = 0;
        for (int j = 0; j < 16; j++)
            sum += (q[j] & 0xF) * a[b].q[j] + (q[j] >> 4) * a[b].q[j + 16];
        s += a[b].d * (half_at(w) * (float)sum + half_at(w + 2) * (float)a[b].sum);
    }
    return s;
}

static int dot_q5_block(const uint8_t *qh, const uint8_t *q, const int8_t *x)
{
    uint32_t h = le32_at(qh);
    int sum = 0;
    for (int j = 0; j < 16; j++)
        sum += ((q[j] & 0xF) | ((h >> j) & 1) << 4) * x[j] +
            ((q[j] >> 4) | ((h >> (j + 16)) & 1) << 4) * x[j + 16];
    return sum;
}

static float dot_q5_0_base(const uint8_t *w, const struct q8act *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q5_0_BYTES)
        s += half_at(w) * a[b].d * (float)(dot_q5_block(w + 2, w + 6, a[b].q) - 16 * a[b].sum);
    return s;
}

static float dot_q5_1_base(const uint8_t *w, const struct q8act *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q5_1_BYTES)
        s += a[b].d *
            (half_at(w) * (float)dot_q5_block(w + 4, w + 8, a[b].q) +
             half_at(w + 2) * (float)a[b].sum);
    return s;
}

/* Activations as ggml's Q8_K blocks of 256 for the K-quant kernels: the
 * scale -127 / (the value of largest magnitude), rounded to nearest even,
 * at most 127, and the sums of each 16 (quantize_row_q8_K_ref). */
void quant_act_k(const float *x, int64_t n, struct q8k *out)
{
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        float amax = 0, max = 0;
        for (int j = 0; j < 256; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        if (amax == 0) {
            memset(&out[b], 0, sizeof out[b]);
            continue;
        }
        float iscale = -127.f / max;
        for (int j = 0; j < 256; j++) {
            int v = (int)lrintf(iscale * x[j]);
            out[b].q[j] = (int8_t)(v > 127 ? 127 : v);
        }
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int i = 0; i < 16; i++)
                sum += out[b].q[16 * j + i];
            out[b].bsum[j] = (int16_t)sum;
        }
        out[b].d = 1 / iscale;
    }
}

/* The portable K-quant kernels: each block's integer sums exact, one float
 * product per block, as the ISA paths do in their own order. */
static float dot_q4_k_base(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q4_K_BYTES, a++) {
        const uint8_t *sc = w + 4, *q = w + 16;
        int isum = 0, msum = 0;
        for (int j = 0; j < 4; j++, q += 32) { /* 64 values: low nibbles, then high */
            uint8_t s0, m0, s1, m1;
            scale_min_k4(2 * j, sc, &s0, &m0);
            scale_min_k4(2 * j + 1, sc, &s1, &m1);
            const int8_t *x = a->q + 64 * j;
            int d0 = 0, d1 = 0;
            for (int l = 0; l < 32; l++) {
                d0 += (q[l] & 0xF) * x[l];
                d1 += (q[l] >> 4) * x[32 + l];
            }
            isum += s0 * d0 + s1 * d1;
            msum += m0 * (a->bsum[4 * j] + a->bsum[4 * j + 1]) +
                m1 * (a->bsum[4 * j + 2] + a->bsum[4 * j + 3]);
        }
        s += a->d * (half_at(w) * (float)isum - half_at(w + 2) * (float)msum);
    }
    return s;
}

static float dot_q5_k_base(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q5_K_BYTES, a++) {
        const uint8_t *sc = w + 4, *qh = w + 16, *q = w + 48;
        int isum = 0, msum = 0;
        for (int j = 0; j < 4; j++, q += 32) {
            uint8_t s0, m0, s1, m1;
            scale_min_k4(2 * j, sc, &s0, &m0);
            scale_min_k4(2 * j + 1, sc, &s1, &m1);
            const int8_t *x = a->q + 64 * j;
            int d0 = 0, d1 = 0;
            for (int l = 0; l < 32; l++) {
                d0 += ((q[l] & 0xF) | ((qh[l] >> (2 * j)) & 1) << 4) * x[l];
                d1 += ((q[l] >> 4) | ((qh[l] >> (2 * j + 1)) & 1) << 4) * x[32 + l];
            }
            isum += s0 * d0 + s1 * d1;
            msum += m0 * (a->bsum[4 * j] + a->bsum[4 * j + 1]) +
                m1 * (a->bsum[4 * j + 2] + a->bsum[4 * j + 3]);
        }
        s += a->d * (half_at(w) * (float)isum - half_at(w + 2) * (float)msum);
    }
    return s;
}

static float dot_q6_k_base(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q6_K_BYTES, a++) {
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *sc = (const int8_t *)(w + 192);
        int isum = 0;
        for (int e = 0; e < 256; e += 16) { /* 16 values share a scale */
            int c = e / 128, g = e % 128 / 32, dot = 0;
            for (int l = e % 32; l < e % 32 + 16; l++) {
                int lo = (ql[64 * c + 32 * (g & 1) + l] >> (4 * (g >> 1))) & 0xF;
                int q = (lo | ((qh[32 * c + l] >> (2 * g)) & 3) << 4) - 32;
                dot += q * a->q[128 * c + 32 * g + l];
            }
            isum += sc[8 * c + 2 * g + (e % 32) / 16] * dot;
        }
        s += a->d * half_at(w + 208) * (float)isum;
    }
    return s;
}

static float dot_q3_k_base(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q3_K_BYTES, a++) {
        const uint8_t *hm = w, *qs = w + 32, *sc = w + 96;
        int isum = 0;
        for (int e = 0; e < 256; e += 16) {
            int nn = e / 128, j = e % 128 / 32, dot = 0;
            for (int l = e % 32; l < e % 32 + 16; l++) {
                int q = ((qs[32 * nn + l] >> (2 * j)) & 3) - ((hm[l] >> (4 * nn + j)) & 1 ? 0 : 4);
                dot += q * a->q[e - e % 32 + l];
            }
            isum += scale_q3_k(sc, e / 16) * dot;
        }
        s += a->d * half_at(w + 108) * (float)isum;
    }
    return s;
}

static float dot_q2_k_base(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    float s = 0;
    for (int64_t b = 0; b < nb; b++, w += Q2_K_BYTES, a++) {
        const uint8_t *sc = w, *qs = w + 16;
        int isum = 0, msum = 0;
        for (int e = 0; e < 256; e += 16) {
            int nn = e / 128, j = e % 128 / 32, dot = 0;
            for (int l = e % 32; l < e % 32 + 16; l++)
                dot += ((qs[32 * nn + l] >> (2 * j)) & 3) * a->q[e - e % 32 + l];
            isum += (sc[e / 16] & 0xF) * dot;
            msum += (sc[e / 16] >> 4) * a->bsum[e / 16];
        }
        s += a->d * (half_at(w + 80) * (float)isum - half_at(w + 82) * (float)msum);
    }
    return s;
}

struct job {
    const struct qmat *const *w;
    float *const *y;
    int nmat;
    int64_t total; /* rows of all matrices (paired: of each) */
    int paired;    /* each worker the same rows of every matrix */
    void (*after)(void *ud, int64_t lo, int64_t hi);
    void *ud;
    const float *x;
    const struct q8act *xq;
    const float *xd;    /* xq's scales, contiguous (the Q4_0 kernels) */
    const int32_t *xs8; /* 8 x xq's sums */
    const struct q8k *xk;
    float **scratch; /* per worker: a row as floats */
};

/* Rows [lo, hi) of the concatenated matrices. */
static void rows(const struct job *j, int64_t lo, int64_t hi, float *scratch)
{
    int avx = (int)cpu_level(); /* 0 portable, 1 AVX2, 2 AVX-512 VNNI */
    int64_t base = 0;
    for (int m = 0; m < j->nmat && lo < hi; m++) {
        const struct qmat *w = j->w[m];
        int64_t a, b;
        int some = part_rows(lo, hi, base, w->rows, &a, &b);
        base += w->rows;
        if (!some)
            continue;
        const uint8_t *row = (const uint8_t *)w->data + (size_t)a * w->row_bytes;
        float *y = j->y[m];
        int64_t n = w->cols;
        for (int64_t r = a; r < b; r++, row += w->row_bytes) {
            switch (w->type) {
            case GGML_F32:
                y[r] = dot_f32((const float *)(const void *)row, j->x, (int)n);
                break;
            case GGML_F16:
                y[r] = avx
                    ? dot_f16_avx2(row, j->x, n)
                    : (dequant_row(w->type, row, scratch, n), dot_f32(scratch, j->x, (int)n));
                break;
            case GGML_Q8_0:
                y[r] = avx == 2 ? dot_q8_0_vnni(row, j->xq, j->xd, n / 32)
                    : avx       ? dot_q8_0_avx2(row, j->xq, j->xd, n / 32)
                                : dot_q8_0_base(row, j->xq, n / 32);
                break;
            case GGML_Q4_0:
                y[r] = avx == 2 ? dot_q4_0_vnni(row, j->xq, j->xd, j->xs8, n / 32)
                    : avx       ? dot_q4_0_avx2(row, j->xq, j->xd, j->xs8, n / 32)
                                : dot_q4_0_base(row, j->xq, n / 32);
                break;
            case GGML_Q4_1:
                y[r] = avx == 2 ? dot_q4_1_vnni(row, j->xq, n / 32)
                    : avx       ? dot_q4_1_avx2(row, j->xq, n / 32)
                                : dot_q4_1_base(row, j->xq, n / 32);
                break;
            case GGML_Q5_0:
                y[r] = avx == 2 ? dot_q5_0_vnni(row, j->xq, n / 32)
                    : avx       ? dot_q5_0_avx2(row, j->xq, n / 32)
                                : dot_q5_0_base(row, j->xq, n / 32);
                break;
            case GGML_Q5_1:
                y[r] = avx == 2 ? dot_q5_1_vnni(row, j->xq, n / 32)
                    : avx       ? dot_q5_1_avx2(row, j->xq, n / 32)
                                : dot_q5_1_base(row, j->xq, n / 32);
                break;
            case GGML_Q4_K:
                y[r] = avx == 2 ? dot_q4_k_vnni(row, j->xk, n / 256)
                    : avx       ? dot_q4_k_avx2(row, j->xk, n / 256)
                                : dot_q4_k_base(row, j->xk, n / 256);
                break;
            case GGML_Q5_K:
                y[r] =
                    avx ? dot_q5_k_avx2(row, j->xk, n / 256) : dot_q5_k_base(row, j->xk, n / 256);
                break;
            case GGML_Q6_K:
                y[r] = avx == 2 ? dot_q6_k_vnni(row, j->xk, n / 256)
                    : avx       ? dot_q6_k_avx2(row, j->xk, n / 256)
                                : dot_q6_k_base(row, j->xk, n / 256);
                break;
            case GGML_Q3_K:
                y[r] =
                    avx ? dot_q3_k_avx2(row, j->xk, n / 256) : dot_q3_k_base(row, j->xk, n / 256);
                break;
            case GGML_Q2_K:
                y[r] =
                    avx ? dot_q2_k_avx2(row, j->xk, n / 256) : dot_q2_k_base(row, j->xk, n / 256);
                break;
            default:
                dequant_row(w->type, row, scratch, n);
                y[r] = dot_f32(scratch, j->x, (int)n);
                break;
            }
        }
        lo = base;
    }
}

static void matvec_part(void *ctx, int worker, int nw)
{
    const struct job *j = ctx;
    int64_t lo, hi;
    team_share(j->total, worker, nw, &lo, &hi);
    if (!j->paired) {
        rows(j, lo, hi, j->scratch[worker]);
        return;
    }
    for (int m = 0; m < j->nmat; m++) {
        struct job one = *j;
        one.w = &j->w[m];
        one.y = &j->y[m];
        one.nmat = 1;
        rows(&one, lo, hi, j->scratch[worker]);
    }
    if (j->after)
        j->after(j->ud, lo, hi);
}

static void matvec(const struct qmat *const *w, int n, const float *x, float *const *y,
                   struct team *team, int paired, void (*after)(void *, int64_t, int64_t), void *ud)
{
    int64_t cols = w[0]->cols, total = 0;
    int need_q8 = 0, need_q8k = 0;
    for (int i = 0; i < n; i++) {
        total += w[i]->rows;
        need_q8 |= w[i]->type == GGML_Q8_0 || w[i]->type == GGML_Q4_0 || w[i]->type == GGML_Q4_1 ||
            w[i]->type == GGML_Q5_0 || w[i]->type == GGML_Q5_1;
        need_q8k |= quant_is_k(w[i]->type);
    }
    if (paired)
        total = w[0]->rows;
    struct q8act *xq = NULL;
    struct q8k *xk = NULL;
    float *xd = NULL;
    int32_t *xs8 = NULL;
    if (need_q8) {
        xq = xmalloc(sizeof *xq * (size_t)(cols / 32 + 1));
        quant_act(x, cols, xq);
        xd = xmalloc(sizeof *xd * (size_t)(cols / 32 + 1));
        xs8 = xmalloc(sizeof *xs8 * (size_t)(cols / 32 + 1));
        for (int64_t b = 0; b < cols / 32; b++) {
            xd[b] = xq[b].d;
            xs8[b] = 8 * xq[b].sum;
        }
    }
    if (need_q8k) {
        xk = xmalloc(sizeof *xk * (size_t)(cols / 256 + 1));
        quant_act_k(x, cols, xk);
    }
    int nw = team_size(team);
    float **scratch = xmalloc(sizeof *scratch * (size_t)nw);
    float *buf = xmalloc(sizeof *buf * (size_t)cols * (size_t)nw);
    for (int i = 0; i < nw; i++)
        scratch[i] = buf + (size_t)i * (size_t)cols;
    struct job j = {w, y, n, total, paired, after, ud, x, xq, xd, xs8, xk, scratch};
    team_run(team, matvec_part, &j);
    free(buf);
    free(scratch);
    free(xq);
    free(xd);
    free(xs8);
    free(xk);
}

void qmat_matvec_n(const struct qmat *const *w, int n, const float *x, float *const *y,
                   struct team *team)
{
    matvec(w, n, x, y, team, 0, NULL, NULL);
}

void qmat_matvec_pair(const struct qmat *a, const struct qmat *b, const float *x, float *ya,
                      float *yb, void (*after)(void *ud, int64_t lo, int64_t hi), void *ud,
                      struct team *team)
{
    const struct qmat *w[2] = {a, b};
    float *y[2] = {ya, yb};
    matvec(w, 2, x, y, team, 1, after, ud);
}

void qmat_matvec(const struct qmat *w, const float *x, float *y, struct team *team)
{
    qmat_matvec_n(&w, 1, x, &y, team);
}

void qmat_row(const struct qmat *w, int64_t r, float *out)
{
    dequant_row(w->type, (const uint8_t *)w->data + (size_t)r * w->row_bytes, out, w->cols);
}
