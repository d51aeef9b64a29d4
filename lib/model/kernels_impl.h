/* kernels_impl.h - what kernels.c shares with its ISA path,
 * kernels_avx512.c (compiled for AVX-512F and called only where
 * cpu_level() >= CPU_AVX512). Not for use outside kernels.c. */
#ifndef LODE_KERNELS_IMPL_H
#define LODE_KERNELS_IMPL_H

#include <stddef.h>

/* One head of one sequence: out[len, dh] = softmax(q k^T * scale) v, with
 * q, k, v, out rows ld apart; scratch holds
 * attention_head_scratch_avx512(len, dh) floats. */
size_t attention_head_scratch_avx512(int len, int dh);
void attention_head_avx512(const float *q, const float *k, const float *v, float *out, int ld,
                           int len, int dh, float scale, float *scratch);

#endif
