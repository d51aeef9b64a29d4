/* The Q8_0 and Q4_0 kernels of quant.c for CPUs with AVX512-VNNI (and VL):
 * one vpdpbusd does the byte products and their sums. Compiled for those
 * extensions, called only where the CPU has them. */
#include "model/quant_impl.h"

#include <string.h>

#if defined(__x86_64__)
#include "model/quant_simd.h"

/* the nibbles unsigned, x signed (the offset of 8 through xs8) */
#define Q4_0_DOT(w, x) UDOT_(q4_0_nibbles((w) + 2), x)
/* |w| times x with w's sign */
#define Q8_0_DOT(w, x) Q8_0_SIGNED_(_mm256_loadu_si256((const __m256i *)((w) + 2)), x)
#define UDOT_(q, x) _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, x)
static inline __m256i Q8_0_SIGNED_(__m256i q, __m256i x)
{
    return UDOT_(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
}

float dot_q4_0_vnni(const uint8_t *w, const struct q8act *a, const float *xd, const int32_t *xs8,
                    int64_t nb)
{
    BLOCKS8_ROW(Q4_0_BYTES, Q4_0_DOT, xs8);
}

float dot_q8_0_vnni(const uint8_t *w, const struct q8act *a, const float *xd, int64_t nb)
{
    BLOCKS8_ROW(Q8_0_BYTES, Q8_0_DOT, (const int32_t *)NULL);
}
#undef Q4_0_DOT
#undef Q8_0_DOT
#undef UDOT_

/* ---- K-quants: as the AVX2 kernels, with VNNI's dpwssd folding each
 * group's scale into the accumulation ---- */

static inline __m256i scaled32_acc(__m256i acc, __m256i q, const int8_t *x, int s_lo, int s_hi)
{
    __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)x));
    return _mm256_dpwssd_epi32(
        acc, p, _mm256_set_m128i(_mm_set1_epi16((short)s_hi), _mm_set1_epi16((short)s_lo)));
}

float dot_q4_k_vnni(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    const __m256i low = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t b = 0; b < nb; b++, w += Q4_K_BYTES, a++) {
        uint8_t sc[8], mn[8];
        for (int j = 0; j < 8; j++)
            scale_min_k4(j, w + 4, &sc[j], &mn[j]);
        const uint8_t *q = w + 16;
        __m256i sum = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i bits = _mm256_loadu_si256((const __m256i *)(q + 32 * j));
            sum =
                scaled32_acc(sum, _mm256_and_si256(bits, low), a->q + 64 * j, sc[2 * j], sc[2 * j]);
            sum = scaled32_acc(sum, _mm256_and_si256(_mm256_srli_epi16(bits, 4), low),
                               a->q + 64 * j + 32, sc[2 * j + 1], sc[2 * j + 1]);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * h2f(w)), _mm256_cvtepi32_ps(sum), acc);
        __m256i bs = _mm256_loadu_si256((const __m256i *)a->bsum);
        __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        __m128i m = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mn));
        off += a->d * h2f(w + 2) * (float)hsum_i32x4(_mm_madd_epi16(m, pairs));
    }
    return hsum(acc) - off;
}

float dot_q6_k_vnni(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++, w += Q6_K_BYTES, a++) {
        const int8_t *sc = (const int8_t *)(w + 192);
        __m256i sum = _mm256_setzero_si256();
        for (int c = 0; c < 2; c++) {
            __m256i g[4];
            q6_groups(w + 64 * c, w + 128 + 32 * c, g);
            for (int k = 0; k < 4; k++)
                sum = scaled32_acc(sum, g[k], a->q + 128 * c + 32 * k, sc[8 * c + 2 * k],
                                   sc[8 * c + 2 * k + 1]);
        }
        /* the offset of 32: Σ_k sc[k] * bsum[k], with dpwssd too */
        __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
        __m256i corr = _mm256_dpwssd_epi32(_mm256_setzero_si256(), s16,
                                           _mm256_loadu_si256((const __m256i *)a->bsum));
        __m256i tot = _mm256_sub_epi32(sum, _mm256_slli_epi32(corr, 5));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * h2f(w + 208)), _mm256_cvtepi32_ps(tot), acc);
    }
    return hsum(acc);
}

/* ---- Q4_1, Q5_0, Q5_1: one dpbusd a block (the values are unsigned) ---- */

static inline __m256 udot32_acc(__m256 acc, float d, __m256i q, const int8_t *x)
{
    __m256i p =
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, _mm256_loadu_si256((const __m256i *)x));
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p), acc);
}

static inline __m256i q5_values_v(const uint8_t *qh, const uint8_t *q)
{
    __m256i hi = _mm256_and_si256(bits_to_bytes(le32_at(qh)), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(q4_0_nibbles(q), hi);
}

float dot_q4_1_vnni(const uint8_t *w, const struct q8act *a, int64_t nb)
{
#define Q4_1_BLOCK(b, acc, off)                                                \
    do {                                                                       \
        const uint8_t *w_ = w + (b)*Q4_1_BYTES;                                \
        acc = udot32_acc(acc, h2f(w_) * a[b].d, q4_0_nibbles(w_ + 4), a[b].q); \
        off += h2f(w_ + 2) * a[b].d * (float)a[b].sum;                         \
    } while (0)
    TWO_CHAINS(nb, Q4_1_BLOCK);
#undef Q4_1_BLOCK
    return sum + off;
}

float dot_q5_0_vnni(const uint8_t *w, const struct q8act *a, int64_t nb)
{
#define Q5_0_BLOCK(b, acc, off)                                         \
    do {                                                                \
        const uint8_t *w_ = w + (b)*Q5_0_BYTES;                         \
        float d_ = h2f(w_) * a[b].d;                                    \
        acc = udot32_acc(acc, d_, q5_values_v(w_ + 2, w_ + 6), a[b].q); \
        off += d_ * (float)a[b].sum;                                    \
    } while (0)
    TWO_CHAINS(nb, Q5_0_BLOCK);
#undef Q5_0_BLOCK
    return sum - 16 * off;
}

float dot_q5_1_vnni(const uint8_t *w, const struct q8act *a, int64_t nb)
{
#define Q5_1_BLOCK(b, acc, off)                                                       \
    do {                                                                              \
        const uint8_t *w_ = w + (b)*Q5_1_BYTES;                                       \
        acc = udot32_acc(acc, h2f(w_) * a[b].d, q5_values_v(w_ + 4, w_ + 8), a[b].q); \
        off += h2f(w_ + 2) * a[b].d * (float)a[b].sum;                                \
    } while (0)
    TWO_CHAINS(nb, Q5_1_BLOCK);
#undef Q5_1_BLOCK
    return sum + off;
}

/* ---- prompt processing (quant_gemm.c): the panel's 32 rows in two
 * registers' lanes (16 rows x 4 columns each), each activation's 4 bytes
 * broadcast: the integer sums of a scale group accumulate across its
 * columns, then one conversion and fmadd per group ---- */

/* 4 bytes at p, as one int32 (a broadcast load) */
typedef int32_t unaligned_i32 __attribute__((aligned(1), may_alias));
static inline int32_t load32(const int8_t *p)
{
    return *(const unaligned_i32 *)p;
}

static inline void panel4_vnni(const uint8_t *q, const float *ws, const int8_t *x, const float *dx,
                               const int32_t *xo, size_t k, int steps, float *out)
{
    __m512 f00 = _mm512_setzero_ps(), f01 = f00, f10 = f00, f11 = f00, f20 = f00, f21 = f00,
           f30 = f00, f31 = f00;
    size_t g16 = k / 16, g32 = k / 32;
    for (size_t s0 = 0; s0 < k / 4; s0 += (size_t)steps) {
        size_t g = s0 / 4; /* the group of 16 the step starts */
#define INIT(t)                                                                       \
    (xo ? _mm512_set1_epi32(xo[(t)*g16 + g] + (steps == 8 ? xo[(t)*g16 + g + 1] : 0)) \
        : _mm512_setzero_si512())
        __m512i i00 = INIT(0), i01 = i00, i10 = INIT(1), i11 = i10, i20 = INIT(2), i21 = i20,
                i30 = INIT(3), i31 = i30;
#undef INIT
#pragma GCC unroll 8
        for (size_t st = s0; st < s0 + (size_t)steps; st++) {
            const uint8_t *qs = q + st * 128;
            const int8_t *xs = x + 4 * st;
            __m512i w0 = _mm512_loadu_si512(qs), w1 = _mm512_loadu_si512(qs + 64);
            __m512i x0 = _mm512_set1_epi32(load32(xs)), x1 = _mm512_set1_epi32(load32(xs + k));
            i00 = _mm512_dpbusd_epi32(i00, w0, x0);
            i01 = _mm512_dpbusd_epi32(i01, w1, x0);
            i10 = _mm512_dpbusd_epi32(i10, w0, x1);
            i11 = _mm512_dpbusd_epi32(i11, w1, x1);
            x0 = _mm512_set1_epi32(load32(xs + 2 * k));
            x1 = _mm512_set1_epi32(load32(xs + 3 * k));
            i20 = _mm512_dpbusd_epi32(i20, w0, x0);
            i21 = _mm512_dpbusd_epi32(i21, w1, x0);
            i30 = _mm512_dpbusd_epi32(i30, w0, x1);
            i31 = _mm512_dpbusd_epi32(i31, w1, x1);
        }
        __m512 s0v = _mm512_loadu_ps(ws + g * 32), s1v = _mm512_loadu_ps(ws + g * 32 + 16);
#define ACC(t)                                                                                   \
    do {                                                                                         \
        __m512 d_ = _mm512_set1_ps(dx[(t)*g32 + g / 2]);                                         \
        f##t##0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##t##0), _mm512_mul_ps(s0v, d_), f##t##0); \
        f##t##1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##t##1), _mm512_mul_ps(s1v, d_), f##t##1); \
    } while (0)
        ACC(0);
        ACC(1);
        ACC(2);
        ACC(3);
#undef ACC
    }
    _mm512_storeu_ps(out, f00);
    _mm512_storeu_ps(out + 16, f01);
    _mm512_storeu_ps(out + 32, f10);
    _mm512_storeu_ps(out + 48, f11);
    _mm512_storeu_ps(out + 64, f20);
    _mm512_storeu_ps(out + 80, f21);
    _mm512_storeu_ps(out + 96, f30);
    _mm512_storeu_ps(out + 112, f31);
}

void gemm_panel_vnni(const uint8_t *q, const float *ws, const int8_t *x, const float *dx,
                     const int32_t *xo, int64_t k, int64_t tp, int steps, float *out)
{
    size_t K = (size_t)k;
    for (int64_t t = 0; t < tp; t += 4) {
        const int8_t *xt = x + (size_t)t * K;
        const float *dt = dx + (size_t)t * (K / 32);
        const int32_t *ot = xo ? xo + (size_t)t * (K / 16) : NULL;
        float *o = out + (size_t)t * 32;
        if (steps == 8) /* the group size a constant in each copy */
            panel4_vnni(q, ws, xt, dt, ot, K, 8, o);
        else
            panel4_vnni(q, ws, xt, dt, ot, K, 4, o);
    }
}
#endif
