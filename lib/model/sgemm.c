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

/* w (out, in) as ceil(out / 32) panels of (in, 32), zero past out */
static void pack_panels(float *d, const float *w, int out, int in)
{
    size_t np = ((size_t)out + NR - 1) / NR, n = (size_t)in;
    for (size_t j = 0; j < np; j++) {
        float *panel = d + j * n * NR;
        /* 16 of in at a time: each row's cache line read once, the
         * 16 x 32 block written in the cache */
        for (size_t k0 = 0; k0 < n; k0 += 16) {
            size_t kn = n - k0 < 16 ? n - k0 : 16;
            for (size_t c = 0; c < NR; c++) {
                size_t o = j * NR + c;
                const float *row = o < (size_t)out ? w + o * n + k0 : NULL;
                for (size_t k = 0; k < kn; k++)
                    panel[(k0 + k) * NR + c] = row ? row[k] : 0.0f;
            }
        }
    }
}

void sgemm_pack(struct sgemm_w *p, const float *w, int out, int in)
{
    *p = (struct sgemm_w){out, in, w, NULL};
#if defined(__x86_64__)
    if (cpu_level() < CPU_AVX512 || out <= 0 || in <= 0)
        return;
    p->panels = aligned_floats(((size_t)out + NR - 1) / NR * NR * (size_t)in);
    pack_panels(p->panels, w, out, in);
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
    int n;
};

/* a member's rows: its share of the tiles of 12 */
static void share_rows(void *ctx, int worker, int nw)
{
    const struct share *s = ctx;
    int64_t lo, hi;
    team_share_units(s->n, 12, worker, nw, &lo, &hi);
    if (lo >= hi)
        return;
    const struct sgemm_w *p = s->p;
    sgemm_rows_avx512(p->panels, p->in, p->out, s->x + (size_t)lo * p->in, (size_t)p->in,
                      (int)(hi - lo), s->b, s->y + (size_t)lo * p->out, (size_t)p->out);
}

void sgemm_apply(const struct sgemm_w *p, const float *x, int n, const float *b, float *y,
                 struct team *team)
{
    if (n <= 0)
        return;
#if defined(__x86_64__)
    if (p->panels) {
        struct share s = {p, x, b, y, n};
        if (team && team_size(team) > 1 && n >= 24)
            team_run(team, share_rows, &s);
        else
            share_rows(&s, 0, 1);
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
