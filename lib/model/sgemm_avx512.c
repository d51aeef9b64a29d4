/* sgemm.h's kernel for CPUs with AVX-512: compiled for AVX-512F, called
 * only where cpu_level() says the CPU has it. */
#include "model/sgemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>

#define MR 12 /* rows of a tile: 12 x 2 accumulators + 2 of W + 1 of x broadcast */
#define NR 32 /* columns of a panel: two registers */

enum start { ZERO, LOAD, BIAS };

/* c[mr, 32] (row stride ldc) = (0, c, or b) + a w over kc: a is mr rows
 * lda apart (x's from column k0), w [kc][32] (a panel's rows from k0). m0,
 * m1: the columns of c that exist. Inlined with a constant mr so that the
 * accumulators stay in registers. */
static inline __attribute__((always_inline)) void tile(int mr, const float *a, size_t lda,
                                                       const float *w, int kc, float *c, size_t ldc,
                                                       enum start st, const float *b, __mmask16 m0,
                                                       __mmask16 m1)
{
    __m512 acc[MR][2];
    __m512 b0 = _mm512_setzero_ps(), b1 = b0;
    if (st == BIAS) {
        b0 = _mm512_maskz_loadu_ps(m0, b);
        b1 = _mm512_maskz_loadu_ps(m1, b + 16);
    }
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) if (r < mr)
    {
        if (st == LOAD) {
            acc[r][0] = _mm512_maskz_loadu_ps(m0, c + r * ldc);
            acc[r][1] = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);
        } else {
            acc[r][0] = b0;
            acc[r][1] = b1;
        }
    }
    for (int k = 0; k < kc; k++) {
        __m512 w0 = _mm512_load_ps(w + (size_t)k * NR),
               w1 = _mm512_load_ps(w + (size_t)k * NR + 16);
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) if (r < mr)
        {
            __m512 av = _mm512_set1_ps(a[r * lda + k]);
            acc[r][0] = _mm512_fmadd_ps(av, w0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, w1, acc[r][1]);
        }
    }
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) if (r < mr)
    {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
    }
}

static void tile_any(int mr, const float *a, size_t lda, const float *w, int kc, float *c,
                     size_t ldc, enum start st, const float *b, __mmask16 m0, __mmask16 m1)
{
    switch (mr) {
    case 1:
        tile(1, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 2:
        tile(2, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 3:
        tile(3, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 4:
        tile(4, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 5:
        tile(5, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 6:
        tile(6, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 7:
        tile(7, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 8:
        tile(8, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 9:
        tile(9, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 10:
        tile(10, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    case 11:
        tile(11, a, lda, w, kc, c, ldc, st, b, m0, m1);
        return;
    default:
        tile(MR, a, lda, w, kc, c, ldc, st, b, m0, m1);
    }
}

static __mmask16 cols_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

void sgemm_rows_avx512(const float *panels, int in, int out, const float *x, size_t ldx, int n,
                       const float *b, float *y, size_t ldy)
{
    const int np = (out + NR - 1) / NR;
    for (int i0 = 0; i0 < n; i0 += SGEMM_MC) {
        int mc = n - i0 < SGEMM_MC ? n - i0 : SGEMM_MC;
        for (int k0 = 0; k0 < in; k0 += SGEMM_KC) {
            int kc = in - k0 < SGEMM_KC ? in - k0 : SGEMM_KC;
            enum start st = k0 > 0 ? LOAD : b ? BIAS : ZERO;
            for (int j = 0; j < np; j++) {
                int rem = out - j * NR;
                __mmask16 m0 = cols_mask(rem), m1 = cols_mask(rem - 16);
                const float *w = panels + ((size_t)j * in + k0) * NR;
                for (int t = 0; t < mc; t += MR)
                    tile_any(mc - t < MR ? mc - t : MR, x + (size_t)(i0 + t) * ldx + k0, ldx, w, kc,
                             y + (size_t)(i0 + t) * ldy + j * NR, ldy, st, b ? b + j * NR : NULL,
                             m0, m1);
            }
        }
    }
}
#endif
