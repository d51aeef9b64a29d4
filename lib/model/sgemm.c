/* sgemm.c - sgemm.h: packing, the split over threads, and cblas_sgemm
 * where lode's kernel does not run. */
#include "model/sgemm.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/threads.h"
#include "base/util.h"

#define NR 32

static float *aligned_floats(size_t n)
{
    void *p;
    if (n > SIZE_MAX / sizeof(float) || posix_memalign(&p, 64, n * sizeof(float)))
        lode_oom(n > SIZE_MAX / sizeof(float) ? SIZE_MAX : n * sizeof(float));
    return p;
}

size_t sgemm_panel_floats(int out, int in)
{
    return ((size_t)out + NR - 1) / NR * NR * (size_t)in;
}

void sgemm_pack_into(float *d, const float *w, size_t ldw, int out, int in, float scale)
{
    size_t np = ((size_t)out + NR - 1) / NR;
    for (size_t j = 0; j < np; j++)
        for (size_t k = 0; k < (size_t)in; k++)
            for (size_t c = 0; c < NR; c++) {
                size_t o = j * NR + c;
                d[(j * (size_t)in + k) * NR + c] = o < (size_t)out ? scale * w[o * ldw + k] : 0.0f;
            }
}

void sgemm_pack_t_into(float *d, const float *wt, size_t ldw, int out, int in)
{
    size_t np = ((size_t)out + NR - 1) / NR;
    for (size_t j = 0; j < np; j++) {
        size_t cols = (size_t)out - j * NR < NR ? (size_t)out - j * NR : NR;
        for (size_t k = 0; k < (size_t)in; k++) {
            float *row = d + (j * (size_t)in + k) * NR;
            memcpy(row, wt + k * ldw + j * NR, cols * sizeof(float));
            memset(row + cols, 0, (NR - cols) * sizeof(float));
        }
    }
}

void sgemm_pack(struct sgemm_w *p, const float *w, int out, int in)
{
    *p = (struct sgemm_w){out, in, w, NULL};
#if defined(__x86_64__)
    if (cpu_level() < CPU_AVX512 || out <= 0 || in <= 0)
        return;
    p->panels = aligned_floats(sgemm_panel_floats(out, in));
    sgemm_pack_into(p->panels, w, (size_t)in, out, in, 1.0f);
#endif
}

int sgemm_packed(const struct sgemm_w *p)
{
    return p->panels != NULL;
}

void sgemm_free(struct sgemm_w *p)
{
    free(p->panels);
    memset(p, 0, sizeof *p);
}

struct share {
    const struct sgemm_w *p;
    const float *x, *b;
    float *y;
    int n, per; /* rows, rows a worker */
};

static void share_rows(void *ctx, size_t i, int worker)
{
    const struct share *s = ctx;
    int lo = (int)i * s->per, hi = lo + s->per < s->n ? lo + s->per : s->n;
    if (lo >= hi)
        return;
    const struct sgemm_w *p = s->p;
    sgemm_rows_avx512(p->panels, p->in, p->out, s->x + (size_t)lo * p->in, (size_t)p->in, hi - lo,
                      s->b, s->y + (size_t)lo * p->out, (size_t)p->out);
}

void sgemm_apply(const struct sgemm_w *p, const float *x, int n, const float *b, float *y)
{
    if (n <= 0)
        return;
#if defined(__x86_64__)
    if (p->panels) {
        /* the threads BLAS was given; each takes a share of the rows in
         * whole tiles of 12 */
        int threads = openblas_get_num_threads();
        int per = n, parts = 1;
        if (threads > 1 && n >= 24) {
            per = ((n + threads - 1) / threads + 11) / 12 * 12;
            parts = (n + per - 1) / per;
        }
        struct share s = {p, x, b, y, n, per};
        parallel_for(parts, (size_t)parts, share_rows, &s);
        return;
    }
#endif
    int out = p->out, in = p->in;
    if (b)
        for (int i = 0; i < n; i++)
            memcpy(y + (size_t)i * out, b, sizeof(float) * (size_t)out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, p->w, in,
                b ? 1.0f : 0.0f, y, out);
}
