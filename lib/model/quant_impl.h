/* quant_impl.h - what quant.c shares with its ISA kernels (quant_avx2.c,
 * quant_vnni.c: compiled for those extensions and called only where
 * cpu_level() says the CPU has them): block sizes, 8-bit activations. */
#ifndef LODE_QUANT_IMPL_H
#define LODE_QUANT_IMPL_H

#include <stdint.h>

#include "model/kernels.h"

#define Q8_0_BYTES 34
#define Q4_0_BYTES 18
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

static inline float half_at(const uint8_t *p)
{
    return f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

/* The ISA paths (cpu.h): AVX2 in quant_avx2.c, AVX-512 VNNI in
 * quant_vnni.c. Other CPUs have the portable path only, which cpu_level()
 * always picks there; the stubs only satisfy the dispatch. */
#if defined(__x86_64__)
float dot_q8_0_avx2(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q4_0_avx2(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_f16_avx2(const uint8_t *w, const float *x, int64_t n);
float dot_q8_0_vnni(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q4_0_vnni(const uint8_t *w, const struct q8act *a, int64_t nb);
#else
#define QUANT_NO_ISA(name, X)                                \
    static inline float name(const uint8_t *w, X, int64_t n) \
    {                                                        \
        return (void)w, (void)n, 0;                          \
    }
QUANT_NO_ISA(dot_q8_0_avx2, const struct q8act *a)
QUANT_NO_ISA(dot_q4_0_avx2, const struct q8act *a)
QUANT_NO_ISA(dot_f16_avx2, const float *x)
QUANT_NO_ISA(dot_q8_0_vnni, const struct q8act *a)
QUANT_NO_ISA(dot_q4_0_vnni, const struct q8act *a)
#undef QUANT_NO_ISA
#endif

#endif
