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
#endif
