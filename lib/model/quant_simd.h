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

/* The sums of 4 and of 8 int32 lanes. */
static inline int hsum_i32x4(__m128i v)
{
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4E));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0xB1));
    return _mm_cvtsi128_si32(v);
}

static inline int hsum_i32x8(__m256i v)
{
    return hsum_i32x4(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
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

/* Byte i all ones where bit i of x is set (the fifth bits of Q5_0/Q5_1):
 * each byte gets its byte of x, ORed with all its bits but its own. */
static inline __m256i bits_to_bytes(uint32_t x)
{
    const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                          2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), pick);
    v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

#endif
