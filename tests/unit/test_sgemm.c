/* Unit tests of sgemm.h and attention_packed(): the products against sums
 * in double, on shapes that reach every edge of the kernel's blocking
 * (rows not a multiple of the 12-row tile or of the 96-row block, columns
 * not a multiple of the 32-column panel, in past the 768 of a block), on
 * one thread and on a team of three; attention against softmax(q k^T /
 * sqrt(dh)) v in double for sequences of 1 to 130 tokens. The suite runs
 * this binary on every kernel path LODE_CPU leaves (AVX-512: lode's
 * kernel; below: cblas_sgemm). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/threads.h"
#include "check.h"
#include "model/kernels.h"
#include "model/sgemm.h"

static uint64_t rng = 2024;

static float uniform(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / 16777216.0 - 0.5);
}

static float *randoms(size_t n)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = uniform();
    return p;
}

/* the largest error of y against x W^T + b in double, relative to the sum
 * of |terms| of each output (float rounding grows with it) */
static double product_error(const float *x, const float *w, const float *b, const float *y, int n,
                            int in, int out)
{
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0, mag = b ? fabs(b[o]) : 0;
            for (int k = 0; k < in; k++) {
                double t = (double)x[(size_t)i * in + k] * w[(size_t)o * in + k];
                s += t;
                mag += fabs(t);
            }
            double e = fabs(s - y[(size_t)i * out + o]) / (mag > 1e-30 ? mag : 1e-30);
            if (!(e <= worst))
                worst = e; /* NaN too */
        }
    return worst;
}

static void product_tests(void)
{
    static const int shapes[][3] = {
        {1, 1, 1},      {1, 384, 384},   {11, 5, 31},     {12, 32, 32},
        {13, 33, 33},   {25, 100, 65},   {96, 64, 96},    {97, 17, 3},
        {130, 769, 40}, {200, 1600, 47}, {37, 1536, 384},
    };
    int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
    for (int threads = 1; threads <= 3; threads += 2) {
        kernels_blas_threads(threads);
        struct team *team = threads > 1 ? team_new(threads) : NULL;
        double worst = 0;
        int packed = 1;
        for (int s = 0; s < nshapes; s++) {
            int n = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
            float *x = randoms((size_t)n * in), *w = randoms((size_t)out * in),
                  *b = randoms((size_t)out), *y = malloc((size_t)n * out * sizeof *y);
            struct sgemm_w p;
            sgemm_pack(&p, w, out, in);
            packed &= sgemm_packed(&p);
            for (int with_b = 0; with_b < 2; with_b++) {
                for (size_t i = 0; i < (size_t)n * out; i++)
                    y[i] = NAN; /* every output written */
                sgemm_apply(&p, x, n, with_b ? b : NULL, y, team);
                double e = product_error(x, w, with_b ? b : NULL, y, n, in, out);
                if (!(e <= worst))
                    worst = e;
            }
            sgemm_free(&p);
            free(x);
            free(w);
            free(b);
            free(y);
        }
        CHECK(worst < 1e-6,
              "sgemm_apply (%s, %d thread%s): %d shapes, with and without a bias, within 1e-6 of "
              "double sums (relative to the terms' magnitude; worst %.2g)",
              packed ? "packed" : "cblas_sgemm", threads, threads > 1 ? "s" : "", nshapes, worst);
        team_free(team);
    }
    kernels_blas_threads(1);
    struct sgemm_w p;
    float w[4] = {1, 2, 3, 4};
    sgemm_pack(&p, w, 2, 2);
    CHECK(sgemm_packed(&p) == (cpu_level() >= CPU_AVX512),
          "weights are packed where the CPU runs lode's kernel (LODE_CPU=%s)",
          cpu_level_name(cpu_level()));
    sgemm_free(&p);
}

static void attention_tests(void)
{
    static const int lens[] = {1, 2, 7, 12, 13, 33, 64, 130};
    const int nseq = (int)(sizeof lens / sizeof lens[0]);
    int starts[9], total = 0, max_len = 0;
    for (int s = 0; s < nseq; s++) {
        starts[s] = total;
        total += lens[s];
        max_len = lens[s] > max_len ? lens[s] : max_len;
    }
    starts[nseq] = total;
    for (int dh = 24; dh <= 64; dh += 40) {
        const int heads = 3, ld = heads * dh;
        float *q = randoms((size_t)total * ld), *k = randoms((size_t)total * ld),
              *v = randoms((size_t)total * ld), *out = malloc((size_t)total * ld * sizeof *out),
              *scratch = malloc(attention_scratch(max_len, dh) * sizeof *scratch);
        for (int i = 0; i < total * ld; i++)
            q[i] *= 8, k[i] *= 8; /* scores of a few units: a softmax far from uniform */
        /* in two calls, split inside a sequence's heads */
        attention_packed(q, k, v, out, ld, heads, dh, starts, 0, 7, scratch);
        attention_packed(q, k, v, out, ld, heads, dh, starts, 7, nseq * heads, scratch);
        double worst = 0;
        double *p = malloc((size_t)max_len * sizeof *p);
        for (int s = 0; s < nseq; s++)
            for (int h = 0; h < heads; h++)
                for (int i = starts[s]; i < starts[s + 1]; i++) {
                    double mx = -INFINITY, sum = 0;
                    for (int j = starts[s]; j < starts[s + 1]; j++) {
                        double d = 0;
                        for (int c = 0; c < dh; c++)
                            d += (double)q[(size_t)i * ld + h * dh + c] *
                                k[(size_t)j * ld + h * dh + c];
                        p[j - starts[s]] = d / sqrt((double)dh);
                        mx = fmax(mx, p[j - starts[s]]);
                    }
                    for (int j = 0; j < lens[s]; j++)
                        sum += p[j] = exp(p[j] - mx);
                    for (int c = 0; c < dh; c++) {
                        double o = 0;
                        for (int j = 0; j < lens[s]; j++)
                            o += p[j] / sum * v[(size_t)(starts[s] + j) * ld + h * dh + c];
                        double e = fabs(o - out[(size_t)i * ld + h * dh + c]);
                        if (!(e <= worst))
                            worst = e;
                    }
                }
        CHECK(worst < 1e-5,
              "attention_packed in two parts, dh %d, %d heads, %d sequences of 1 to 130 tokens: "
              "within 1e-5 of double (worst %.2g)",
              dh, heads, nseq, worst);
        free(p);
        free(q);
        free(k);
        free(v);
        free(out);
        free(scratch);
    }
}

int main(void)
{
    product_tests();
    attention_tests();
    return check_failures != 0;
}
