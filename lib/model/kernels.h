/* kernels.h - the numeric kernels of lode's transformer code, on plain
 * row-major float32 arrays whose shapes are stated at each function.
 *
 * Almost all the time of a transformer goes to its weight products
 * (sgemm.h for an encoder's float weights, quant.h for a decoder's); these
 * are the cheap elementwise and row-wise passes around them, and attention.
 * Every function here is pure (no state), so threads may call them on
 * disjoint data.
 */
#ifndef LODE_KERNELS_H
#define LODE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Each of n rows of x[n, d] normalised to mean 0 and variance 1 (+ eps),
 * then scaled by g[d] and shifted by b[d]; in place. */
void layer_norm(float *x, int n, int d, const float *g, const float *b, float eps);

/* y[n, d] = LayerNorm(y + bias[d] + res[n, d]) with g and b, in place: the
 * end of a transformer sub-block, in one pass. */
void residual_layer_norm(float *y, const float *bias, const float *res, int n, int d,
                         const float *g, const float *b, float eps);

/* x[n, d] = GELU(x + bias[d]), exact (erf) form, in place. erf is a
 * rational approximation accurate to a few float ulp. */
void bias_gelu_erf(float *x, int n, int d, const float *bias);

/* GELU in place: exact 0.5 x (1 + erf(x / sqrt 2)), or the tanh form. */
void gelu_erf(float *x, size_t n);
void gelu_tanh(float *x, size_t n);

/* Softmax of each of rows rows of x[rows, cols], in place. */
void softmax_rows(float *x, int rows, int cols);
/* One row of causal attention scores: row[0, visible) becomes its softmax
 * (the maximum subtracted, exp, the sum in double), row[visible, width)
 * zero. The decoder, and the trainer in float and double, use it. */
void softmax_causal(float *row, int visible, int width);
void softmax_causal_f64(double *row, int visible, int width);

/* y[i] += x[i] */
void add_inplace(float *y, const float *x, size_t n);

/* Multi-head self-attention over sequences packed one after another (no
 * padding: a token attends to the keys of its own sequence only, which is
 * what a padding mask does). q, k, v, out are [tokens, heads * dh] with row
 * stride ld; seq_start[s] .. seq_start[s + 1] are the tokens of sequence s.
 * scratch holds attention_scratch(max_len, dh) floats. Only the heads
 * p0 .. p1 - 1 of all sequences' heads, p = s * heads + h, so that callers
 * can split the work. On AVX-512 CPUs the products
 * are sgemm.h's kernel (the keys and values packed a head at a time), else
 * cblas_sgemm. */
size_t attention_scratch(int max_len, int dh);
void attention_packed(const float *q, const float *k, const float *v, float *out, int ld, int heads,
                      int dh, const int *seq_start, int p0, int p1, float *scratch);

/* x[d] scaled to unit length (a zero vector stays zero). */
void l2_normalize(float *x, int d);

/* Inner products: float . float, and float . int8. */
float dot_f32(const float *a, const float *b, int n);
float dot_f32_i8(const float *a, const int8_t *b, int n);

/* out[r] = a . rows[r] for n rows of d floats, stride floats apart (the
 * scores of one query against a cache of keys). */
void dot_rows(const float *a, const float *rows, size_t stride, int n, int d, float *out);
/* out[d] = the sum of w[r] rows[r] (the values weighted by the scores). */
void axpy_rows(const float *w, const float *rows, size_t stride, int n, int d, float *out);

/* IEEE half and bfloat16 to float. */
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);

/* Threads BLAS may use for one call (set once by a program; 1 when the
 * program runs its own threads over independent work). */
void kernels_blas_threads(int n);
/* Runs fn(ctx, b, worker, team) for the n batches: on jobs threads of one
 * BLAS thread each (team NULL) when there are at least as many batches,
 * else one batch at a time on the caller with BLAS's jobs threads and the
 * caller's team of jobs threads (or NULL) for lode's own products
 * (lode-embed, lode-rerank). */
struct team;
void kernels_run_batches(int jobs, struct team *team, size_t n,
                         void (*fn)(void *ctx, size_t b, int worker, struct team *team), void *ctx);

#endif
