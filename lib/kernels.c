#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void linear(const float *x, int n, int in, const float *w, const float *b, int out, float *y)
{
    if (b) {
        for (int i = 0; i < n; i++)
            memcpy(y + (size_t)i * out, b, sizeof(float) * (size_t)out);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in,
                b ? 1.0f : 0.0f, y, out);
}

void layer_norm(float *x, int n, int d, const float *g, const float *b, float eps)
{
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * d;
        double mean = 0, var = 0;
        for (int j = 0; j < d; j++)
            mean += r[j];
        mean /= d;
        for (int j = 0; j < d; j++) {
            double t = r[j] - mean;
            var += t * t;
        }
        var /= d;
        float inv = (float)(1.0 / sqrt(var + eps)), m = (float)mean;
        for (int j = 0; j < d; j++)
            r[j] = (r[j] - m) * inv * g[j] + b[j];
    }
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

void softmax_rows(float *x, int rows, int cols)
{
    for (int i = 0; i < rows; i++) {
        float *r = x + (size_t)i * cols;
        float mx = r[0];
        for (int j = 1; j < cols; j++)
            mx = r[j] > mx ? r[j] : mx;
        float sum = 0;
        for (int j = 0; j < cols; j++) {
            r[j] = expf(r[j] - mx);
            sum += r[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++)
            r[j] *= inv;
    }
}

void add_inplace(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

void attention_packed(const float *q, const float *k, const float *v, float *out, int ld,
                      int heads, int dh, const int *seq_start, int s0, int s1, float *scratch)
{
    float scale = 1.0f / sqrtf((float)dh);
    for (int s = s0; s < s1; s++) {
        int t0 = seq_start[s], len = seq_start[s + 1] - seq_start[s];
        if (len <= 0)
            continue;
        for (int h = 0; h < heads; h++) {
            size_t off = (size_t)t0 * ld + (size_t)h * dh;
            /* scores[len, len] = q_h k_h^T / sqrt(dh) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, dh, scale, q + off, ld,
                        k + off, ld, 0.0f, scratch, len);
            softmax_rows(scratch, len, len);
            /* out_h[len, dh] = scores v_h */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, dh, len, 1.0f, scratch,
                        len, v + off, ld, 0.0f, out + off, ld);
        }
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

void kernels_blas_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}
