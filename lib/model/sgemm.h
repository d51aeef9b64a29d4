/* sgemm.h - float products with weights used many times (an encoder's
 * layers): y (n, out) = x (n, in) W^T + b, W (out, in) row-major.
 *
 * OpenBLAS packs W again on every call and may run 256-bit kernels on a
 * CPU with AVX-512 (Debian's build picks by its own table, and
 * OPENBLAS_CORETYPE=Haswell forces them); on CPUs whose AVX-512 units do
 * two 16-float FMAs a cycle that is half the machine. So on CPUs with
 * AVX-512 (cpu_level() >= CPU_AVX512) sgemm_pack() copies W once into
 * panels of 32 output columns, [in][32] floats each (zero past out), and
 * sgemm_apply() runs lode's kernel (sgemm_avx512.c): blocks of 96 tokens
 * by 768 of in, each 12 x 32 tile of y summed in 24 registers from x's
 * values broadcast where they lie and two rows of a panel. Elsewhere
 * nothing is packed and the product is cblas_sgemm on W as given.
 *
 * Caveats:
 *  - Packed, W is held twice (out x in floats more) unless the caller
 *    lets its copy go (blob_drop() for a mapped file, as bert.c does).
 *  - The sums run in another order than BLAS's: results differ from it by
 *    float rounding (about 1e-6 relative).
 *  - On a team the rows are shared in whole tiles; each output's sum is
 *    the same whatever the team or the rows.
 */
#ifndef LODE_SGEMM_H
#define LODE_SGEMM_H

struct sgemm_w {
    int out, in;
    const float *w; /* (out, in), the caller's */
    float *panels;  /* ceil(out / 32) panels of (in, 32), or NULL: not packed */
};

/* p describes w (out, in), packed where the CPU runs lode's kernel. */
void sgemm_pack(struct sgemm_w *p, const float *w, int out, int in);
/* 1 when p is packed */
int sgemm_packed(const struct sgemm_w *p);
void sgemm_free(struct sgemm_w *p);

/* y (n, out) = x (n, in) W^T + b[out] (b may be NULL), packed on the
 * team's threads (NULL: the caller's alone), else on BLAS's. */
struct team;
void sgemm_apply(const struct sgemm_w *p, const float *x, int n, const float *b, float *y,
                 struct team *team);

/* The kernel itself, for products with panels made on the fly
 * (attention's keys and values, kernels_avx512.c): y (n, out), rows ldy
 * apart, = x (n, in), rows ldx apart, times W^T + b (or NULL), W given
 * as panels (best 64-byte aligned). Only where cpu_level() >=
 * CPU_AVX512. */
#include <stddef.h>
#define SGEMM_MC 96  /* rows of x in a block */
#define SGEMM_KC 768 /* of in in a block */
void sgemm_rows_avx512(const float *panels, int in, int out, const float *x, size_t ldx, int n,
                       const float *b, float *y, size_t ldy);

#endif
