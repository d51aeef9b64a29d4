/* quant_simd.h - the x86 helpers the ISA kernels share (quant_avx2.c,
 * quant_vnni.c); included only by files compiled for AVX2 or above. */
#ifndef LODE_QUANT_SIMD_H
#define LODE_QUANT_SIMD_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

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

/* 32 unsigned values times 32 activations: 8 int32 partial sums */
static inline __m256i udot32(__m256i q, const int8_t *x)
{
    __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)x));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* Blocks of 32 in two chains (even and odd blocks), so that each block's
 * fmadd does not wait for the last one's: BLOCK(b, acc, off) adds block b. */
#define TWO_CHAINS(nb, BLOCK)                                      \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(); \
    float off0 = 0, off1 = 0;                                      \
    int64_t b = 0;                                                 \
    for (; b + 1 < (nb); b += 2) {                                 \
        BLOCK(b, acc0, off0);                                      \
        BLOCK(b + 1, acc1, off1);                                  \
    }                                                              \
    if (b < (nb))                                                  \
        BLOCK(b, acc0, off0);                                      \
    float sum = hsum(_mm256_add_ps(acc0, acc1)), off = off0 + off1

/* Q6_K's four groups of 32 six-bit values of a half block (128 values):
 * ql's nibbles and qh's bit pairs, unsigned (0-63; the offset of 32 is
 * taken off through the activations' sums). */
static inline void q6_groups(const uint8_t *ql, const uint8_t *qh, __m256i g[4])
{
    const __m256i low = _mm256_set1_epi8(0xF), three = _mm256_set1_epi8(3);
    __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
    __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    __m256i h = _mm256_loadu_si256((const __m256i *)qh);
    g[0] = _mm256_or_si256(_mm256_and_si256(l0, low),
                           _mm256_slli_epi16(_mm256_and_si256(h, three), 4));
    g[1] = _mm256_or_si256(_mm256_and_si256(l1, low),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), three), 4));
    g[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), three), 4));
    g[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), three), 4));
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

/* The sums of each of eight int32 vectors, as one vector (lane i: p[i]'s). */
static inline __m256i hsum8_i32(const __m256i p[8])
{
    __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                            _mm256_permute2x128_si256(a, b, 0x31));
}

/* The F16 scales at the start of eight blocks `stride` bytes apart, as
 * floats (loaded one by one: a gather is slower here). */
static inline uint16_t u16_at(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline __m256 scales8(const uint8_t *w, int stride)
{
    __m128i h = _mm_cvtsi32_si128(u16_at(w));
    h = _mm_insert_epi16(h, u16_at(w + stride), 1);
    h = _mm_insert_epi16(h, u16_at(w + 2 * stride), 2);
    h = _mm_insert_epi16(h, u16_at(w + 3 * stride), 3);
    h = _mm_insert_epi16(h, u16_at(w + 4 * stride), 4);
    h = _mm_insert_epi16(h, u16_at(w + 5 * stride), 5);
    h = _mm_insert_epi16(h, u16_at(w + 6 * stride), 6);
    h = _mm_insert_epi16(h, u16_at(w + 7 * stride), 7);
    return _mm256_cvtph_ps(h);
}

/* A row of 32-blocks (Q4_0, Q8_0) against 8-bit activations, eight blocks
 * at a time: their integer sums (less 8 x the activations' sums, xs8, for
 * Q4_0) in one vector, scaled by the blocks' and the activations' (xd)
 * scales together. BLOCK(w, x) is the path's 8 int32 partial sums of one
 * block at w times the activations x. */
#define BLOCKS8_ROW(BYTES, BLOCK, XS8)                                                          \
    __m256 acc = _mm256_setzero_ps();                                                           \
    int64_t b = 0;                                                                              \
    for (; b + 8 <= nb; b += 8) {                                                               \
        __m256i p[8];                                                                           \
        _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) p[i] =                              \
            BLOCK(w + (b + i) * (BYTES), _mm256_loadu_si256((const __m256i *)a[b + i].q));      \
        __m256i s = hsum8_i32(p);                                                               \
        if (XS8)                                                                                \
            s = _mm256_sub_epi32(s, _mm256_loadu_si256((const __m256i *)((XS8) + b)));          \
        __m256 d = _mm256_mul_ps(scales8(w + b * (BYTES), (BYTES)), _mm256_loadu_ps(xd + b));   \
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, acc);                                   \
    }                                                                                           \
    float sum = hsum(acc);                                                                      \
    for (; b < nb; b++) {                                                                       \
        __m256i p_ = BLOCK(w + b * (BYTES), _mm256_loadu_si256((const __m256i *)a[b].q));       \
        sum += (float)(hsum_i32x8(p_) - ((XS8) ? (XS8)[b] : 0)) * h2f(w + b * (BYTES)) * xd[b]; \
    }                                                                                           \
    return sum

#endif
