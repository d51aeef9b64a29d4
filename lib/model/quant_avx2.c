/* AVX2 kernels of quant.c: integer dot products of Q8_0 and Q4_0 rows with
 * 8-bit activations, and F16 rows with float ones. */
#include "model/quant_impl.h"

#include <string.h>

#if defined(__x86_64__)
#include "model/quant_simd.h"

/* the nibbles unsigned, x signed (the offset of 8 through xs8) */
#define Q4_0_DOT(w, x) UDOT_(q4_0_nibbles((w) + 2), x)
/* |w| times x with w's sign */
#define Q8_0_DOT(w, x) Q8_0_SIGNED_(_mm256_loadu_si256((const __m256i *)((w) + 2)), x)
#define UDOT_(q, x) _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), _mm256_set1_epi16(1))
static inline __m256i Q8_0_SIGNED_(__m256i q, __m256i x)
{
    return UDOT_(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
}

float dot_q4_0_avx2(const uint8_t *w, const struct q8act *a, const float *xd, const int32_t *xs8,
                    int64_t nb)
{
    BLOCKS8_ROW(Q4_0_BYTES, Q4_0_DOT, xs8);
}

float dot_q8_0_avx2(const uint8_t *w, const struct q8act *a, const float *xd, int64_t nb)
{
    BLOCKS8_ROW(Q8_0_BYTES, Q8_0_DOT, (const int32_t *)NULL);
}
#undef Q4_0_DOT
#undef Q8_0_DOT
#undef UDOT_

float dot_f16_avx2(const uint8_t *w, const float *x, int64_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 2 * i)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 2 * i + 16)));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), a1);
    }
    float s = hsum(_mm256_add_ps(a0, a1));
    for (; i < n; i++)
        s += f16_to_f32((uint16_t)(w[2 * i] | w[2 * i + 1] << 8)) * x[i];
    return s;
}

/* ---- Q4_1, Q5_0, Q5_1: unsigned values times the activations, the
 * offsets through each block's sum ---- */

static inline __m256i q5_values(const uint8_t *qh, const uint8_t *q)
{
    __m256i hi = _mm256_and_si256(bits_to_bytes(le32_at(qh)), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(q4_0_nibbles(q), hi);
}

float dot_q4_1_avx2(const uint8_t *w, const struct q8act *a, int64_t nb)
{
#define Q4_1_BLOCK(b, acc, off)                                                               \
    do {                                                                                      \
        const uint8_t *w_ = w + (b)*Q4_1_BYTES;                                               \
        __m256i p_ = udot32(q4_0_nibbles(w_ + 4), a[b].q);                                    \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w_) * a[b].d), _mm256_cvtepi32_ps(p_), acc); \
        off += h2f(w_ + 2) * a[b].d * (float)a[b].sum;                                        \
    } while (0)
    TWO_CHAINS(nb, Q4_1_BLOCK);
#undef Q4_1_BLOCK
    return sum + off;
}

float dot_q5_0_avx2(const uint8_t *w, const struct q8act *a, int64_t nb)
{
#define Q5_0_BLOCK(b, acc, off)                                                 \
    do {                                                                        \
        const uint8_t *w_ = w + (b)*Q5_0_BYTES;                                 \
        __m256i p_ = udot32(q5_values(w_ + 2, w_ + 6), a[b].q);                 \
        float d_ = h2f(w_) * a[b].d;                                            \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d_), _mm256_cvtepi32_ps(p_), acc); \
        off += d_ * (float)a[b].sum;                                            \
    } while (0)
    TWO_CHAINS(nb, Q5_0_BLOCK);
#undef Q5_0_BLOCK
    return sum - 16 * off;
}

float dot_q5_1_avx2(const uint8_t *w, const struct q8act *a, int64_t nb)
{
#define Q5_1_BLOCK(b, acc, off)                                                               \
    do {                                                                                      \
        const uint8_t *w_ = w + (b)*Q5_1_BYTES;                                               \
        __m256i p_ = udot32(q5_values(w_ + 4, w_ + 8), a[b].q);                               \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w_) * a[b].d), _mm256_cvtepi32_ps(p_), acc); \
        off += h2f(w_ + 2) * a[b].d * (float)a[b].sum;                                        \
    } while (0)
    TWO_CHAINS(nb, Q5_1_BLOCK);
#undef Q5_1_BLOCK
    return sum + off;
}

/* ---- K-quants against Q8_K activations ---- */

/* Σ_j mins[j] * (bsum[2j] + bsum[2j + 1]): the offsets of Q4_K and Q5_K */
static inline int mins_dot8(const uint8_t *mins, const int16_t *bsum)
{
    __m256i bs = _mm256_loadu_si256((const __m256i *)bsum);
    __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    __m128i m = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mins));
    return hsum_i32x4(_mm_madd_epi16(m, pairs));
}

/* Σ_k sc[k] * bsum[k] over 16 signed byte scales */
static inline int scales_dot16(const int8_t *sc, const int16_t *bsum)
{
    __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
    __m256i p = _mm256_madd_epi16(s16, _mm256_loadu_si256((const __m256i *)bsum));
    return hsum_i32x4(_mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)));
}

/* 32 unsigned values times 32 activations, each half of 16 by its scale:
 * 8 int32 sums */
static inline __m256i scaled32(__m256i q, const int8_t *x, int s_lo, int s_hi)
{
    __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)x));
    return _mm256_madd_epi16(
        p, _mm256_set_m128i(_mm_set1_epi16((short)s_hi), _mm_set1_epi16((short)s_lo)));
}

float dot_q4_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb)
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
            sum = _mm256_add_epi32(
                sum, scaled32(_mm256_and_si256(bits, low), a->q + 64 * j, sc[2 * j], sc[2 * j]));
            sum = _mm256_add_epi32(sum,
                                   scaled32(_mm256_and_si256(_mm256_srli_epi16(bits, 4), low),
                                            a->q + 64 * j + 32, sc[2 * j + 1], sc[2 * j + 1]));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * h2f(w)), _mm256_cvtepi32_ps(sum), acc);
        off += a->d * h2f(w + 2) * (float)mins_dot8(mn, a->bsum);
    }
    return hsum(acc) - off;
}

float dot_q5_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    const __m256i low = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t b = 0; b < nb; b++, w += Q5_K_BYTES, a++) {
        uint8_t sc[8], mn[8];
        for (int j = 0; j < 8; j++)
            scale_min_k4(j, w + 4, &sc[j], &mn[j]);
        const uint8_t *q = w + 48;
        __m256i hb = _mm256_loadu_si256((const __m256i *)(w + 16)), sum = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, hb = _mm256_srli_epi16(hb, 2)) {
            /* bit 2j of each qh byte is the fifth bit of the low nibbles, 2j + 1 the high */
            __m256i bits = _mm256_loadu_si256((const __m256i *)(q + 32 * j));
            __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(hb, one), 4);
            __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(bits, low), h0);
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), low), h1);
            sum = _mm256_add_epi32(sum, scaled32(lo, a->q + 64 * j, sc[2 * j], sc[2 * j]));
            sum = _mm256_add_epi32(sum,
                                   scaled32(hi, a->q + 64 * j + 32, sc[2 * j + 1], sc[2 * j + 1]));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * h2f(w)), _mm256_cvtepi32_ps(sum), acc);
        off += a->d * h2f(w + 2) * (float)mins_dot8(mn, a->bsum);
    }
    return hsum(acc) - off;
}

float dot_q6_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t b = 0; b < nb; b++, w += Q6_K_BYTES, a++) {
        const int8_t *sc = (const int8_t *)(w + 192);
        __m256i sum = _mm256_setzero_si256();
        for (int c = 0; c < 2; c++) {
            __m256i g[4];
            q6_groups(w + 64 * c, w + 128 + 32 * c, g);
            for (int k = 0; k < 4; k++)
                sum = _mm256_add_epi32(sum,
                                       scaled32(g[k], a->q + 128 * c + 32 * k, sc[8 * c + 2 * k],
                                                sc[8 * c + 2 * k + 1]));
        }
        float d = a->d * h2f(w + 208);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sum), acc);
        off += d * (float)(32 * scales_dot16(sc, a->bsum));
    }
    return hsum(acc) - off;
}

float dot_q3_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++, w += Q3_K_BYTES, a++) {
        int8_t sc[16];
        for (int k = 0; k < 16; k++)
            sc[k] = (int8_t)scale_q3_k(w + 96, k);
        __m256i hb = _mm256_loadu_si256((const __m256i *)w), sum = _mm256_setzero_si256();
        for (int nn = 0; nn < 2; nn++) {
            __m256i qb = _mm256_loadu_si256((const __m256i *)(w + 32 + 32 * nn));
            for (int j = 0; j < 4;
                 j++, qb = _mm256_srli_epi16(qb, 2), hb = _mm256_srli_epi16(hb, 1)) {
                /* value = low 2 bits - 4 where the high bit is clear */
                __m256i q2 = _mm256_and_si256(qb, three);
                __m256i m4 = _mm256_slli_epi16(_mm256_xor_si256(_mm256_and_si256(hb, one), one), 2);
                const int8_t *x = a->q + 128 * nn + 32 * j;
                int k = 8 * nn + 2 * j;
                sum = _mm256_add_epi32(sum, scaled32(q2, x, sc[k], sc[k + 1]));
                sum = _mm256_sub_epi32(sum, scaled32(m4, x, sc[k], sc[k + 1]));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * h2f(w + 108)), _mm256_cvtepi32_ps(sum), acc);
    }
    return hsum(acc);
}

float dot_q2_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb)
{
    const __m256i three = _mm256_set1_epi8(3), high = _mm256_set1_epi8((char)0xF0);
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t b = 0; b < nb; b++, w += Q2_K_BYTES, a++) {
        __m256i sum = _mm256_setzero_si256();
        for (int nn = 0; nn < 2; nn++) {
            __m256i qb = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * nn));
            for (int j = 0; j < 4; j++, qb = _mm256_srli_epi16(qb, 2)) {
                int k = 8 * nn + 2 * j;
                sum =
                    _mm256_add_epi32(sum,
                                     scaled32(_mm256_and_si256(qb, three), a->q + 128 * nn + 32 * j,
                                              w[k] & 0xF, w[k + 1] & 0xF));
            }
        }
        /* the mins: the high nibbles of the 16 scale bytes, against the sums */
        __m128i mins = _mm_srli_epi16(
            _mm_and_si128(_mm_loadu_si128((const __m128i *)w), _mm256_castsi256_si128(high)), 4);
        __m256i mp = _mm256_madd_epi16(_mm256_cvtepu8_epi16(mins),
                                       _mm256_loadu_si256((const __m256i *)a->bsum));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * h2f(w + 80)), _mm256_cvtepi32_ps(sum), acc);
        off += a->d * h2f(w + 82) * (float)hsum_i32x8(mp);
    }
    return hsum(acc) - off;
}

/* ---- prompt processing (quant_gemm.c): 8 of the panel's rows in a
 * register's lanes (8 rows x 4 columns), 4 tokens at a time, each
 * activation's 4 bytes broadcast. s8: signed weights (Q8_0, whose bytes
 * would overflow maddubs), |w| times x with w's sign ---- */

/* 4 bytes at p, as one int32 (a broadcast load) */
typedef int32_t unaligned_i32 __attribute__((aligned(1), may_alias));
static inline int32_t load32(const int8_t *p)
{
    return *(const unaligned_i32 *)p;
}

static inline void rows8x4(const uint8_t *q, const float *ws, const int8_t *x, const float *dx,
                           const int32_t *xo, size_t k, int steps, int s8, float *out)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    size_t g16 = k / 16, g32 = k / 32;
    for (size_t s0 = 0; s0 < k / 4; s0 += (size_t)steps) {
        size_t g = s0 / 4;
#define INIT(t)                                                                       \
    (xo ? _mm256_set1_epi32(xo[(t)*g16 + g] + (steps == 8 ? xo[(t)*g16 + g + 1] : 0)) \
        : _mm256_setzero_si256())
        __m256i i0 = INIT(0), i1 = INIT(1), i2 = INIT(2), i3 = INIT(3);
#undef INIT
#pragma GCC unroll 8
        for (size_t st = s0; st < s0 + (size_t)steps; st++) {
            __m256i w = _mm256_loadu_si256((const __m256i *)(q + st * 128));
            __m256i u = s8 ? _mm256_sign_epi8(w, w) : w;
            const int8_t *xs = x + 4 * st;
#define DOT(i, t)                                                                \
    do {                                                                         \
        __m256i x_ = _mm256_set1_epi32(load32(xs + (t)*k));                      \
        __m256i p_ = _mm256_maddubs_epi16(u, s8 ? _mm256_sign_epi8(x_, w) : x_); \
        i = _mm256_add_epi32(i, _mm256_madd_epi16(p_, ones));                    \
    } while (0)
            DOT(i0, 0);
            DOT(i1, 1);
            DOT(i2, 2);
            DOT(i3, 3);
#undef DOT
        }
        __m256 sv = _mm256_loadu_ps(ws + g * 32);
        f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), _mm256_mul_ps(sv, _mm256_set1_ps(dx[g / 2])),
                             f0);
        f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1),
                             _mm256_mul_ps(sv, _mm256_set1_ps(dx[g32 + g / 2])), f1);
        f2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i2),
                             _mm256_mul_ps(sv, _mm256_set1_ps(dx[2 * g32 + g / 2])), f2);
        f3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i3),
                             _mm256_mul_ps(sv, _mm256_set1_ps(dx[3 * g32 + g / 2])), f3);
    }
    _mm256_storeu_ps(out, f0);
    _mm256_storeu_ps(out + 32, f1);
    _mm256_storeu_ps(out + 64, f2);
    _mm256_storeu_ps(out + 96, f3);
}

void gemm_panel_avx2(const uint8_t *q, const float *ws, const int8_t *x, const float *dx,
                     const int32_t *xo, int64_t k, int64_t tp, int steps, int s8, float *out)
{
    size_t K = (size_t)k;
    for (int64_t t = 0; t < tp; t += 4)
        for (int h = 0; h < 4; h++) { /* rows 8 h .. 8 h + 7: their 32 bytes of each step */
            const int8_t *xt = x + (size_t)t * K;
            const float *dt = dx + (size_t)t * (K / 32);
            const int32_t *ot = xo ? xo + (size_t)t * (K / 16) : NULL;
            float *o = out + (size_t)t * 32 + 8 * h;
            const uint8_t *qh = q + 32 * h;
            const float *wh = ws + 8 * h;
            if (s8)
                rows8x4(qh, wh, xt, dt, NULL, K, 8, 1, o);
            else if (steps == 8)
                rows8x4(qh, wh, xt, dt, ot, K, 8, 0, o);
            else
                rows8x4(qh, wh, xt, dt, ot, K, 4, 0, o);
        }
}
#endif
