/* quant_impl.h - what quant.c shares with its AVX2 kernels (quant_avx2.c,
 * compiled for AVX2, FMA and F16C and called only where the CPU has them). */
#ifndef LODE_QUANT_IMPL_H
#define LODE_QUANT_IMPL_H

#include <stdint.h>

#include "model/kernels.h"

#define Q8_0_BYTES 34
#define Q4_0_BYTES 18
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

float dot_q8_0_avx2(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q4_0_avx2(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_f16_avx2(const uint8_t *w, const float *x, int64_t n);
float dot_q8_0_vnni(const uint8_t *w, const struct q8act *a, int64_t nb);
float dot_q4_0_vnni(const uint8_t *w, const struct q8act *a, int64_t nb);

#endif
