/* quant_impl.h - what quant.c shares with its ISA kernels (quant_avx2.c,
 * quant_vnni.c: compiled for those extensions and called only where
 * cpu_level() says the CPU has them): block sizes, 8-bit activations. */
#ifndef LODE_QUANT_IMPL_H
#define LODE_QUANT_IMPL_H

#include <stdint.h>

#include "model/kernels.h"

#define Q8_0_BYTES 34
#define Q4_0_BYTES 18
#define Q4_1_BYTES 20
#define Q5_0_BYTES 22
#define Q5_1_BYTES 24
#define Q2_K_BYTES 84
#define Q3_K_BYTES 110
#define Q4_K_BYTES 144
#define Q5_K_BYTES 176
#define Q6_K_BYTES 210

/* 32 activations as int8 with a float scale, and their sum (for Q4_0's
 * offset of 8). */
struct q8act {
    float d;
    int32_t sum;
    int8_t q[32];
};

/* 256 activations as int8 with a float scale, and the sums of each 16
 * (ggml's Q8_K), for the K-quant kernels. */
struct q8k {
    float d;
    int8_t q[256];
    int16_t bsum[16];
};

/* n activations (a whole number of blocks) as blocks of 32, and as ggml's
 * Q8_K (n a multiple of 256). */
void quant_act(const float *x, int64_t n, struct q8act *out);
void quant_act_k(const float *x, int64_t n, struct q8k *out);

static inline float half_at(const uint8_t *p)
{
    return f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

/* Q4_K's and Q5_K's eight 6-bit scales and mins, from their 12 bytes. */
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q3_K's sixteen 6-bit scales, less 32: the low four bits in bytes 0-7 (two
 * a byte), the high two in bytes 8-11 (four a byte), as ggml packs them. */
static inline int scale_q3_k(const uint8_t *sc, int is)
{
    int lo = is < 8 ? sc[is] & 0xF : sc[is - 8] >> 4;
    int hi = (sc[8 + is % 4] >> (2 * (is / 4))) & 3;
    return (lo | hi << 4) - 32;
}

/* The 32 high bits of a Q5_0/Q5_1 block (little-endian). */
static inline uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The ISA paths (cpu.h): AVX2 in quant_avx2.c, AVX-512 VNNI in
 * quant_vnni.c. Other CPUs have the portable path only, which cpu_level()
 * always picks there; the stubs only satisfy the dispatch. */
#if defined(__x86_64__)
/* Prompt processing's 8-bit product (quant_gemm.c) over a panel of 32
 * rows: out[32 t + r] = sum over columns i of ws(r, i) w(r, i) dx(t, i)
 * x(t, i), for tokens t < tp (a multiple of 4). Weights as unsigned bytes
 * (signed with s8: Q8_0 on AVX2, whose bytes would overflow maddubs),
 * interleaved: q[128 s + 4 r + j] is row r's column 4 s + j; ws[32 g + r]
 * row r's scale of columns 16 g .. 16 g + 15. Activations x int8, k bytes
 * a token, dx their scale per 32 (k / 32 a token), xo -off times their
 * sum of each 16 (k / 16 a token; NULL: no offset), where each group's
 * integer sum starts. steps: columns / 4 that share a scale (4 or 8). k
 * is a multiple of 64. */
void gemm_panel_avx2(const uint8_t *q, const float *ws, const int8_t *x, const float *dx,
                     const int32_t *xo, int64_t k, int64_t tp, int steps, int s8, float *out);
void gemm_panel_vnni(const uint8_t *q, const float *ws, const int8_t *x, const float *dx,
                     const int32_t *xo, int64_t k, int64_t tp, int steps, float *out);

float dot_q4_1_avx2(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q5_0_avx2(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q5_1_avx2(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q4_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb);
float dot_q5_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb);
float dot_q6_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb);
float dot_q3_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb);
float dot_q2_k_avx2(const uint8_t *w, const struct q8k *a, int64_t nb);
float dot_q4_k_vnni(const uint8_t *w, const struct q8k *a, int64_t nb);
float dot_q4_1_vnni(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q5_0_vnni(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q5_1_vnni(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q6_k_vnni(const uint8_t *w, const struct q8k *a, int64_t nb);
/* Q8_0 and Q4_0 also take the activations' scales (xd) and (Q4_0) 8 x
 * their sums (xs8), a block each, contiguous. */
float dot_q8_0_avx2(const uint8_t *w, const struct q8act *a, const float *xd, int64_t nb);
float dot_q8_0_vnni(const uint8_t *w, const struct q8act *a, const float *xd, int64_t nb);
float dot_q4_0_avx2(const uint8_t *w, const struct q8act *a, const float *xd, const int32_t *xs8,
                    int64_t nb);
float dot_f16_avx2(const uint8_t *w, const float *x, int64_t n);
float dot_q4_0_vnni(const uint8_t *w, const struct q8act *a, const float *xd, const int32_t *xs8,
                    int64_t nb);
#else
#define QUANT_NO_ISA(name, X)                                \
    static inline float name(const uint8_t *w, X, int64_t n) \
    {                                                        \
        return (void)w, (void)n, 0;                          \
    }
QUANT_NO_ISA(dot_f16_avx2, const float *x)
QUANT_NO_ISA(dot_q4_1_avx2, const struct q8act *a)
QUANT_NO_ISA(dot_q5_0_avx2, const struct q8act *a)
QUANT_NO_ISA(dot_q5_1_avx2, const struct q8act *a)
QUANT_NO_ISA(dot_q4_k_avx2, const struct q8k *a)
QUANT_NO_ISA(dot_q5_k_avx2, const struct q8k *a)
QUANT_NO_ISA(dot_q6_k_avx2, const struct q8k *a)
QUANT_NO_ISA(dot_q3_k_avx2, const struct q8k *a)
QUANT_NO_ISA(dot_q2_k_avx2, const struct q8k *a)
QUANT_NO_ISA(dot_q4_k_vnni, const struct q8k *a)
QUANT_NO_ISA(dot_q4_1_vnni, const struct q8act *a)
QUANT_NO_ISA(dot_q5_0_vnni, const struct q8act *a)
QUANT_NO_ISA(dot_q5_1_vnni, const struct q8act *a)
QUANT_NO_ISA(dot_q6_k_vnni, const struct q8k *a)
#undef QUANT_NO_ISA
static inline float dot_q8_0_avx2(const uint8_t *w, const struct q8act *a, const float *xd,
                                  int64_t nb)
{
    return (void)w, (void)a, (void)xd, (void)nb, 0;
}
static inline float dot_q8_0_vnni(const uint8_t *w, const struct q8act *a, const float *xd,
                                  int64_t nb)
{
    return (void)w, (void)a, (void)xd, (void)nb, 0;
}
static inline float dot_q4_0_avx2(const uint8_t *w, const struct q8act *a, const float *xd,
                                  const int32_t *xs8, int64_t nb)
{
    return (void)w, (void)a, (void)xd, (void)xs8, (void)nb, 0;
}
static inline float dot_q4_0_vnni(const uint8_t *w, const struct q8act *a, const float *xd,
                                  const int32_t *xs8, int64_t nb)
{
    return (void)w, (void)a, (void)xd, (void)xs8, (void)nb, 0;
}
static inline void gemm_panel_avx2(const uint8_t *q, const float *ws, const int8_t *x,
                                   const float *dx, const int32_t *xo, int64_t k, int64_t tp,
                                   int steps, int s8, float *out)
{
    (void)q, (void)ws, (void)x, (void)dx, (void)xo, (void)k, (void)tp, (void)steps, (void)s8,
        (void)out;
}
static inline void gemm_panel_vnni(const uint8_t *q, const float *ws, const int8_t *x,
                                   const float *dx, const int32_t *xo, int64_t k, int64_t tp,
                                   int steps, float *out)
{
    (void)q, (void)ws, (void)x, (void)dx, (void)xo, (void)k, (void)tp, (void)steps, (void)out;
}
#endif

/* The rows [*a, *b) of matrix w, which follows base rows of the matrices
 * before it, that fall in [lo, hi) of them all concatenated: 0 when none
 * (several matrices multiplied in one pass, the workers' shares). */
static inline int part_rows(int64_t lo, int64_t hi, int64_t base, int64_t rows, int64_t *a,
                            int64_t *b)
{
    *a = lo - base > 0 ? lo - base : 0;
    *b = hi - base < rows ? hi - base : rows;
    return *a < *b;
}

#endif
