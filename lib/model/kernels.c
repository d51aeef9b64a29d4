/* kernels.c - the numeric kernels of kernels.h: attention (on
 * kernels_avx512.c's path, else BLAS), and the elementwise and row-wise
 * passes (layer norm, GELU, softmax, dot products) in three copies,
 * AVX-512, AVX2 and portable, chosen by cpu_level(). */
#include "model/kernels.h"

#include "base/cpu.h"
#include "base/threads.h"
#include "model/kernels_impl.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Eight floats (and eight int8) as GCC vectors: loads at any alignment. */
typedef float v8f __attribute__((vector_size(32)));
typedef float v8fu __attribute__((vector_size(32), aligned(4), may_alias));
typedef int8_t v8i8u __attribute__((vector_size(8), aligned(1), may_alias));

/* Three copies of the elementwise kernels: AVX-512, AVX2 + FMA, and the
 * baseline. */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_COPY 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define SIMD(name) name##_avx2
#include "model/kernels_simd.inc"
#undef SIMD
#pragma GCC pop_options
/* and AVX-512: the same loops sixteen floats wide */
#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512vl")
#define SIMD(name) name##_avx512
#include "model/kernels_simd.inc"
#undef SIMD
#pragma GCC pop_options
static int avx2(void)
{
    return cpu_level() >= CPU_AVX2;
}
static int avx512(void)
{
    return cpu_level() >= CPU_AVX512;
}
#else
static int avx2(void)
{
    return 0;
}
static int avx512(void)
{
    return 0;
}
#endif
#define SIMD(name) name##_base
#include "model/kernels_simd.inc"
#undef SIMD

#ifdef HAVE_AVX2_COPY
#define DISPATCH(name, ...)                    \
    (avx512()     ? name##_avx512(__VA_ARGS__) \
         : avx2() ? name##_avx2(__VA_ARGS__)   \
                  : name##_base(__VA_ARGS__))
#else
#define DISPATCH(name, ...) name##_base(__VA_ARGS__)
#endif

void layer_norm(float *x, int n, int d, const float *g, const float *b, float eps)
{
    DISPATCH(layer_norm, x, n, d, g, b, eps);
}

void residual_layer_norm(float *y, const float *bias, const float *res, int n, int d,
                         const float *g, const float *b, float eps)
{
    DISPATCH(residual_layer_norm, y, bias, res, n, d, g, b, eps);
}

void bias_gelu_erf(float *x, int n, int d, const float *bias)
{
    DISPATCH(bias_gelu_erf, x, n, d, bias);
}

void softmax_rows(float *x, int rows, int cols)
{
    DISPATCH(softmax_rows, x, rows, cols);
}

#define DEFINE_SOFTMAX_CAUSAL(NAME, T, EXP)   \
    void NAME(T *row, int visible, int width) \
    {                                         \
        T mx = row[0];                        \
        for (int p = 1; p < visible; p++)     \
            mx = row[p] > mx ? row[p] : mx;   \
        double sum = 0;                       \
        for (int p = 0; p < visible; p++) {   \
            row[p] = EXP(row[p] - mx);        \
            sum += row[p];                    \
        }                                     \
        T inv = (T)(1.0 / sum);               \
        for (int p = 0; p < visible; p++)     \
            row[p] *= inv;                    \
        for (int p = visible; p < width; p++) \
            row[p] = 0;                       \
    }
DEFINE_SOFTMAX_CAUSAL(softmax_causal, float, expf)
DEFINE_SOFTMAX_CAUSAL(softmax_causal_f64, double, exp)

struct batches {
    void (*fn)(void *ctx, size_t b, int worker, struct team *team);
    void *ctx;
    struct team *team;
};

static void one_batch(void *ctx, size_t b, int worker)
{
    const struct batches *j = ctx;
    j->fn(j->ctx, b, worker, j->team);
}

void kernels_run_batches(int jobs, struct team *team, size_t n,
                         void (*fn)(void *ctx, size_t b, int worker, struct team *team), void *ctx)
{
    struct batches j = {fn, ctx, NULL};
    if (n >= (size_t)jobs) {
        kernels_blas_threads(1);
        parallel_for(jobs, n, one_batch, &j);
    } else {
        kernels_blas_threads(jobs);
        j.team = team;
        parallel_for(1, n, one_batch, &j);
    }
}

float dot_f32(const float *a, const float *b, int n)
{
    return DISPATCH(dot_f32, a, b, n);
}

void dot_rows(const float *a, const float *rows, size_t stride, int n, int d, float *out)
{
    DISPATCH(dot_rows, a, rows, stride, n, d, out);
}

void axpy_rows(const float *w, const float *rows, size_t stride, int n, int d, float *out)
{
    DISPATCH(axpy_rows, w, rows, stride, n, d, out);
}

float dot_f32_i8(const float *a, const int8_t *b, int n)
{
    return DISPATCH(dot_f32_i8, a, b, n);
}

void gelu_erf(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

void gelu_tanh(float *x, size_t n)
{
    const float c = 0.7978845608028654f; /* sqrt(2 / pi) */
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(c * (v + 0.044715f * v * v * v)));
    }
}

void add_inplace(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

size_t attention_scratch(int max_len, int dh)
{
    size_t len = (size_t)(max_len > 0 ? max_len : 1), need = len * len;
#if defined(__x86_64__)
    size_t own = attention_head_scratch_avx512((int)len, dh > 0 ? dh : 1);
    need = own > need ? own : need;
#endif
    return need;
}

void attention_packed(const float *q, const float *k, const float *v, float *out, int ld, int heads,
                      int dh, const int *seq_start, int p0, int p1, float *scratch)
{
    float scale = 1.0f / sqrtf((float)dh);
    for (int p = p0; p < p1; p++) {
        int s = p / heads, h = p % heads;
        int t0 = seq_start[s], len = seq_start[s + 1] - seq_start[s];
        if (len <= 0)
            continue;
        size_t off = (size_t)t0 * ld + (size_t)h * dh;
        if (avx512()) {
            attention_head_avx512(q + off, k + off, v + off, out + off, ld, len, dh, scale,
                                  scratch);
            continue;
        }
        /* scores[len, len] = q_h k_h^T / sqrt(dh) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, dh, scale, q + off, ld,
                    k + off, ld, 0.0f, scratch, len);
        softmax_rows(scratch, len, len);
        /* out_h[len, dh] = scores v_h */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, dh, len, 1.0f, scratch, len,
                    v + off, ld, 0.0f, out + off, ld);
    }
}

void l2_normalize(float *x, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += (double)x[i] * x[i];
    if (s <= 0)
        return;
    /* sentence-transformers divides by max(norm, 1e-12) */
    float inv = (float)(1.0 / fmax(sqrt(s), 1e-12));
    for (int i = 0; i < d; i++)
        x[i] *= inv;
}

float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3FF;
            bits = sign | exp << 23 | man << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* OpenBLAS (pthreads builds) starts its threads when it loads; idle, they
 * keep yielding the CPU back and forth, which slows a process that does its
 * own threading. With one thread wanted they are stopped. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void kernels_blas_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
    if (n <= 1 && blas_thread_shutdown_)
        blas_thread_shutdown_();
}
