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
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t b = 0; b < nb; b++, w += Q4_0_BYTES) {
        __m256i q = q4_0_nibbles(w + 2);
        __m256i x = _mm256_loadu_si256((const __m256i *)a[b].q);
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, x); /* nibbles are unsigned */
        float d = h2f(w) * a[b].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p), acc);
        off += d * (float)a[b].sum;
    }
    return hsum(acc) - 8 * off;
}
#endif
