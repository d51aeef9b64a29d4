/* quant.h - ggml's weight formats: F32, F16, BF16, Q8_0, Q4_0 and the
 * K-quants Q4_K, Q5_K, Q6_K, in ggml's block layouts (what GGUF files
 * hold), with the matrix products a decoder needs; Q4_1, Q5_0 and Q5_1
 * (what llama.cpp uses for rows whose length K-quants do not divide) and
 * Q2_K and Q3_K (the smallest K-quant mixes) are read too.
 *
 * Blocks: Q8_0 32 x int8 and an F16 scale; Q4_0 32 x 4 bits (value - 8)
 * and an F16 scale; K-quants superblocks of 256 with 6-bit (Q4_K, Q5_K)
 * or 8-bit (Q6_K) sub-block scales. quant_row() writes them as ggml's
 * reference quantisers do for Q8_0 and Q4_0; for the K-quants it chooses
 * the scales by a simpler search (the layout, and so every reader, is
 * ggml's).
 *
 * Products: a matrix-vector product (generation) and a matrix-matrix one
 * (prompt processing, many tokens) quantise the activations to 8 bits, as
 * llama.cpp does: blocks of 32 for Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1, ggml's
 * Q8_K (blocks of 256 with their sums of 16) for the K-quants, and
 * multiply by integer dot products; so a prompt and generation round the
 * same way. The vector product never decodes a row; the matrix one
 * (quant_gemm.c) unpacks rows 32 at a time into bytes and scales, one
 * layout for every format with the rows in the vector lanes, and sums
 * each scale group's integer products before one float step. F32,
 * F16 and BF16 rows use the activations as float (cblas_sgemm for the
 * matrix product). Rows are shared among a team's threads. The AVX2 and
 * AVX-512 VNNI kernels are chosen at run time (cpu.h); every path computes
 * the same integer sums, so they agree up to float rounding.
 */
#ifndef LODE_QUANT_H
#define LODE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "model/gguf.h"
#include "base/threads.h"

/* 1 for the K-quants (superblocks of 256; their rows are multiplied with
 * 8-bit activations, ggml's Q8_K, as llama.cpp does). */
int quant_is_k(enum ggml_type t);
/* 1 when the type can be read (and multiplied). */
int quant_readable(enum ggml_type t);
/* 1 when quant_row() can write the type. */
int quant_writable(enum ggml_type t);

/* n values (a whole number of blocks) of a row, to and from float. */
void dequant_row(enum ggml_type t, const void *src, float *dst, int64_t n);
void quant_row(enum ggml_type t, const float *src, void *dst, int64_t n);

uint16_t f32_to_f16(float f);
uint16_t f32_to_bf16(float f);

/* A weight matrix: rows x cols, row-major, each row ggml_row_size bytes. */
struct qmat {
    enum ggml_type type;
    int64_t rows, cols;
    size_t row_bytes;
    const void *data;
};

/* Rows [first, first + n) of w as a matrix of their own (a view: rows are
 * whole blocks, so a fused matrix splits without copying). */
static inline struct qmat qmat_rows(const struct qmat *w, int64_t first, int64_t n)
{
    return (struct qmat){w->type, n, w->cols, w->row_bytes,
                         (const unsigned char *)w->data + (size_t)first * w->row_bytes};
}

/* One row as floats. */
void qmat_row(const struct qmat *w, int64_t r, float *out);
/* y[rows] = W x[cols]; team may be NULL (one thread). */
void qmat_matvec(const struct qmat *w, const float *x, float *y, struct team *team);
/* Several matrices of the same columns times one vector, in one pass of
 * the team (q, k and v; gate and up). */
void qmat_matvec_n(const struct qmat *const *w, int n, const float *x, float *const *y,
                   struct team *team);
/* Two matrices of the same shape times one vector, each worker taking the
 * same rows of both and then calling after(ud, lo, hi) on them (the
 * feed-forward's gate and up, and its activation). */
void qmat_matvec_pair(const struct qmat *a, const struct qmat *b, const float *x, float *ya,
                      float *yb, void (*after)(void *ud, int64_t lo, int64_t hi), void *ud,
                      struct team *team);
/* Y[T][rows] = X[T][cols] W^T, the team's members each multiplying their
 * share of the rows with single-threaded BLAS (see kernels_blas_threads). */
void qmat_matmul(const struct qmat *w, const float *x, int64_t t, float *y, struct team *team);
/* Several matrices of the same columns, in one pass of the team. */
void qmat_matmul_n(const struct qmat *const *w, int n, const float *x, int64_t t, float *const *y,
                   struct team *team);

#endif
