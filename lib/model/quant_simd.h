/* quant_simd.h - the x86 helpers the ISA kernels share (quant_avx2.c,
 * quant_vnni.c); included only by files compiled for AVX2 or above. */
#ifndef LODE_QUANT_SIMD_H
#define LODE_QUANT_SIMD_H

#include <immintrin.h>
#include <stdint.h>

/* The half-precision scale at p (little-endian). */
static inline float h2f(const uint8_t *p)
{
    return _cvtsh_ss((unsigned short)(p[0] | p[1] << 8));
}

/* The sum of the 8 floats of v. */
static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The 32 nibbles of a Q4_0 block's 16 bytes as bytes 0..15 (its elements
 * 0..15, the low nibbles), then 16..31 (the high ones), unsigned. */
static inline __m256i q4_0_nibbles(const uint8_t *q)
{
    const __m128i low = _mm_set1_epi8(0xF);
    __m128i packed = _mm_loadu_si128((const __m128i *)q);
    __m128i lo = _mm_and_si128(packed, low), hi = _mm_and_si128(_mm_srli_epi16(packed, 4), low);
    return _mm256_set_m128i(hi, lo);
}

#endif
