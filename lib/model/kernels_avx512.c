/* kernels.h's attention for CPUs with AVX-512, a head of a sequence at a
 * time: the keys and values packed for sgemm.h's kernel, the products on
 * it, the softmax sixteen floats wide. Compiled for AVX-512F, called only
 * where cpu_level() says the CPU has it. */
#include "model/kernels_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "model/sgemm.h"

#define NR 32 /* sgemm.h's panel width */

/* exp of 16 floats, as kernels_simd.inc's exp_approx (Cephes' method):
 * 2^n times a polynomial on [-ln2/2, ln2/2]; below -87 gives 0 */
static __m512 exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f),
                               _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x));
    __m512 r2 = _mm512_mul_ps(r, r);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_add_ps(_mm512_fmadd_ps(y, r2, r), _mm512_set1_ps(1.0f));
    __m512i e =
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

static __mmask16 head_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* row[0, n) = its softmax */
static void softmax16(float *row, int n)
{
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < n; j += 16)
        mx = _mm512_max_ps(
            mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), head_mask(n - j), row + j));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), sum = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = head_mask(n - j);
        __m512 e =
            _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + j), m)));
        _mm512_mask_storeu_ps(row + j, k, e);
        sum = _mm512_add_ps(sum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = head_mask(n - j);
        _mm512_mask_storeu_ps(row + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + j), inv));
    }
}

size_t attention_head_scratch_avx512(int len, int dh)
{
    size_t lr = ((size_t)len + NR - 1) / NR * NR, dr = ((size_t)dh + NR - 1) / NR * NR;
    /* the scores, the keys' panels, the values' panels, room to align each */
    return (size_t)len * lr + lr * (size_t)dh + dr * (size_t)len + 3 * 16;
}

static float *align64(float *p)
{
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

void attention_head_avx512(const float *q, const float *k, const float *v, float *out, int ld,
                           int len, int dh, float scale, float *scratch)
{
    size_t lr = ((size_t)len + NR - 1) / NR * NR;
    float *S = align64(scratch), *kp = align64(S + (size_t)len * lr),
          *vp = align64(kp + lr * (size_t)dh);
    /* the keys scaled by 1/sqrt(dh), as panels of (dh, 32): column c of
     * 16 keys gathered at a time */
    const __m512i rows =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(ld));
    const __m512 sc = _mm512_set1_ps(scale);
    for (int j = 0; j < len; j += NR) {
        float *panel = kp + (size_t)j * dh;
        __mmask16 m0 = head_mask(len - j), m1 = head_mask(len - j - 16);
        const float *k0 = k + (size_t)j * ld, *k1 = k0 + (size_t)16 * ld;
        for (int c = 0; c < dh; c++) {
            __m512 a = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0, rows, k0 + c, 4);
            __m512 b = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m1, rows, m1 ? k1 + c : k0, 4);
            _mm512_store_ps(panel + (size_t)c * NR, _mm512_mul_ps(a, sc));
            _mm512_store_ps(panel + (size_t)c * NR + 16, _mm512_mul_ps(b, sc));
        }
    }
    /* the values' rows as panels of (len, 32) */
    for (int j = 0; j < dh; j += NR) {
        float *panel = vp + (size_t)j * len;
        __mmask16 m0 = head_mask(dh - j), m1 = head_mask(dh - j - 16);
        for (int t = 0; t < len; t++) {
            const float *src = v + (size_t)t * ld + j;
            _mm512_store_ps(panel + (size_t)t * NR, _mm512_maskz_loadu_ps(m0, src));
            _mm512_store_ps(panel + (size_t)t * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
        }
    }
    sgemm_rows_avx512(kp, dh, len, q, (size_t)ld, len, NULL, S, lr);
    for (int i = 0; i < len; i++)
        softmax16(S + (size_t)i * lr, len);
    sgemm_rows_avx512(vp, len, dh, S, lr, len, NULL, out, (size_t)ld);
}
#endif
