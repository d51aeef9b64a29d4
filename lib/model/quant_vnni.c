/* The Q8_0 and Q4_0 kernels of quant.c for CPUs with AVX512-VNNI (and VL):
 * one vpdpbusd does the byte products and their sums. Compiled for those
 * extensions, called only where the CPU has them. */
#include "model/quant_impl.h"

#if defined(__x86_64__)
#include "model/quant_simd.h"

/* |w| (unsigned) times a with w's sign, summed by fours into int32 */
static inline __m256 block(const uint8_t *w, const struct q8act *a)
{
    __m256i q = _mm256_loadu_si256((const __m256i *)(w + 2));
    __m256i x = _mm256_loadu_si256((const __m256i *)a->q);
    __m256i p =
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(q), _mm256_sign_epi8(x, q));
    return _mm256_mul_ps(_mm256_set1_ps(h2f(w) * a->d), _mm256_cvtepi32_ps(p));
}

float dot_q8_0_vnni(const uint8_t *w, const struct q8act *a, int64_t nb)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 1 < nb; b += 2, w += 2 * Q8_0_BYTES) {
        acc0 = _mm256_add_ps(acc0, block(w, &a[b]));
        acc1 = _mm256_add_ps(acc1, block(w + Q8_0_BYTES, &a[b + 1]));
    }
    if (b < nb)
        acc0 = _mm256_add_ps(acc0, block(w, &a[b]));
    return hsum(_mm256_add_ps(acc0, acc1));
}

float dot_q4_0_vnni(const uint8_t *w, const struct q8act *a, int64_t nb)
{
#define Q4_0_BLOCK(b, acc, off)                                                             \
    do {                                                                                    \
        const uint8_t *w_ = w + (b)*Q4_0_BYTES;                                             \
        __m256i x_ = _mm256_loadu_si256((const __m256i *)a[b].q);                           \
        __m256i p_ = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q4_0_nibbles(w_ + 2), x_); \
        float d_ = h2f(w_) * a[b].d;                                                        \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d_), _mm256_cvtepi32_ps(p_), acc);             \
        off += d_ * (float)a[b].sum;                                                        \
    } while (0)
    TWO_CHAINS(nb, Q4_0_BLOCK);
#undef Q4_0_BLOCK
    return sum - 8 * off; /* the nibbles are unsigned: value - 8 */
}

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

/* ---- prompt processing (quant_gemm.c): 4 rows x 4 tokens, 64 columns a
 * step in 512-bit registers; lane i sums columns 4i..4i+3, so its weight
 * scale is that of 16 i / 16 and its activation scale that of i / 8 ---- */

static inline void gemm4x4(const uint8_t *w, const float *ws, const int8_t *x, const float *dx,
                           const int32_t *xo, int64_t k, float *out)
{
    const __m512i wsi = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i dxi = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    size_t g16 = (size_t)k / 16, g32 = (size_t)k / 32, g4 = (size_t)k / 4, K = (size_t)k;
    /* the sixteen accumulators named, so that they stay in registers */
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00,
           a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00,
           a32 = a00, a33 = a00;
#define WS(r) \
    _mm512_permutexvar_ps(wsi, _mm512_castps128_ps512(_mm_loadu_ps(ws + (r)*g16 + c / 16)))
#define DX(t)                                                      \
    _mm512_permutexvar_ps(dxi,                                     \
                          _mm512_castps128_ps512(_mm_castsi128_ps( \
                              _mm_loadl_epi64((const __m128i *)(dx + (t)*g32 + c / 32)))))
#define XO(t) (xo ? _mm512_loadu_si512(xo + (t)*g4 + c / 4) : _mm512_setzero_si512())
#define PAIR(acc, r, t)                                                              \
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(o##t, w##r, x##t)), \
                          _mm512_mul_ps(s##r, d##t), acc)
    for (size_t c = 0; c < K; c += 64) {
        __m512i w0 = _mm512_loadu_si512(w + c), w1 = _mm512_loadu_si512(w + K + c);
        __m512i w2 = _mm512_loadu_si512(w + 2 * K + c), w3 = _mm512_loadu_si512(w + 3 * K + c);
        __m512 s0 = WS(0), s1 = WS(1), s2 = WS(2), s3 = WS(3);
        __m512i x0 = _mm512_loadu_si512(x + c), x1 = _mm512_loadu_si512(x + K + c);
        __m512i o0 = XO(0), o1 = XO(1);
        __m512 d0 = DX(0), d1 = DX(1);
        PAIR(a00, 0, 0);
        PAIR(a10, 1, 0);
        PAIR(a20, 2, 0);
        PAIR(a30, 3, 0);
        PAIR(a01, 0, 1);
        PAIR(a11, 1, 1);
        PAIR(a21, 2, 1);
        PAIR(a31, 3, 1);
        x0 = _mm512_loadu_si512(x + 2 * K + c);
        x1 = _mm512_loadu_si512(x + 3 * K + c);
        o0 = XO(2);
        o1 = XO(3);
        d0 = DX(2);
        d1 = DX(3);
        PAIR(a02, 0, 0);
        PAIR(a12, 1, 0);
        PAIR(a22, 2, 0);
        PAIR(a32, 3, 0);
        PAIR(a03, 0, 1);
        PAIR(a13, 1, 1);
        PAIR(a23, 2, 1);
        PAIR(a33, 3, 1);
    }
#undef WS
#undef DX
#undef XO
#undef PAIR
    __m512 all[16] = {a00, a01, a02, a03, a10, a11, a12, a13,
                      a20, a21, a22, a23, a30, a31, a32, a33};
    for (int i = 0; i < 16; i++)
        out[i] = _mm512_reduce_add_ps(all[i]);
}

/* with and without an offset: the test out of the loop */
void gemm4x4_vnni(const uint8_t *w, const float *ws, const int8_t *x, const float *dx,
                  const int32_t *xo, int64_t k, float *out)
{
    if (xo)
        gemm4x4(w, ws, x, dx, xo, k, out);
    else
        gemm4x4(w, ws, x, dx, NULL, k, out);
}
#endif
