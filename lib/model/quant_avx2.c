/* AVX2 kernels of quant.c: integer dot products of Q8_0 and Q4_0 rows with
 * 8-bit activations, and F16 rows with float ones. */
#include "model/quant_impl.h"

#if defined(__x86_64__)
#include "model/quant_simd.h"

/* 32 signed bytes times 32 signed bytes, as 8 int32 sums */
static inline __m256i dot_i8(__m256i w, __m256i a)
{
    __m256i aw = _mm256_sign_epi8(a, w); /* a with w's sign ... */
    __m256i uw = _mm256_sign_epi8(w, w); /* ... times |w| */
    __m256i p16 = _mm256_maddubs_epi16(uw, aw);
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

float dot_q8_0_avx2(const uint8_t *w, const struct q8act *a, int64_t nb)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    int64_t b = 0;
    /* four blocks at a time: more loads in flight */
    for (; b + 3 < nb; b += 4, w += 4 * Q8_0_BYTES) {
        __m256i q0 = _mm256_loadu_si256((const __m256i *)(w + 2));
        __m256i q1 = _mm256_loadu_si256((const __m256i *)(w + Q8_0_BYTES + 2));
        __m256i q2 = _mm256_loadu_si256((const __m256i *)(w + 2 * Q8_0_BYTES + 2));
        __m256i q3 = _mm256_loadu_si256((const __m256i *)(w + 3 * Q8_0_BYTES + 2));
        acc0 = _mm256_fmadd_ps(
            _mm256_set1_ps(h2f(w) * a[b].d),
            _mm256_cvtepi32_ps(dot_i8(q0, _mm256_loadu_si256((const __m256i *)a[b].q))), acc0);
        acc1 = _mm256_fmadd_ps(
            _mm256_set1_ps(h2f(w + Q8_0_BYTES) * a[b + 1].d),
            _mm256_cvtepi32_ps(dot_i8(q1, _mm256_loadu_si256((const __m256i *)a[b + 1].q))), acc1);
        acc2 = _mm256_fmadd_ps(
            _mm256_set1_ps(h2f(w + 2 * Q8_0_BYTES) * a[b + 2].d),
            _mm256_cvtepi32_ps(dot_i8(q2, _mm256_loadu_si256((const __m256i *)a[b + 2].q))), acc2);
        acc3 = _mm256_fmadd_ps(
            _mm256_set1_ps(h2f(w + 3 * Q8_0_BYTES) * a[b + 3].d),
            _mm256_cvtepi32_ps(dot_i8(q3, _mm256_loadu_si256((const __m256i *)a[b + 3].q))), acc3);
    }
    for (; b < nb; b++, w += Q8_0_BYTES) {
        __m256i q0 = _mm256_loadu_si256((const __m256i *)(w + 2));
        __m256i x0 = _mm256_loadu_si256((const __m256i *)a[b].q);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w) * a[b].d), _mm256_cvtepi32_ps(dot_i8(q0, x0)),
                               acc0);
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

float dot_q4_0_avx2(const uint8_t *w, const struct q8act *a, int64_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t b = 0; b < nb; b++, w += Q4_0_BYTES) {
        __m256i q = q4_0_nibbles(w + 2);
        __m256i x = _mm256_loadu_si256((const __m256i *)a[b].q);
        __m256i p16 = _mm256_maddubs_epi16(q, x); /* unsigned nibbles times signed bytes */
        __m256i p32 = _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
        float d = h2f(w) * a[b].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p32), acc);
        off += d * (float)a[b].sum;
    }
    return hsum(acc) - 8 * off;
}

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
#endif
