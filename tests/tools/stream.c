/* stream: memory bandwidth as a decoder sees it, for tests/bench/generate.sh.
 *
 *   stream THREADS [MB]
 *
 * Reads a buffer of MB megabytes (default 512, far beyond the caches) on
 * THREADS threads, each its own part, with the inner-product kernel a
 * matrix-vector product reads its weights with; also STREAM's triad (a = b + s c). Best of 10 passes.
 * Prints {"read_gbs","triad_gbs"}. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/kernels.h"
#include "base/threads.h"
#include "base/util.h"

struct ctx {
    float *a, *b, *c;
    size_t n;
    int triad;
    double sums[64];
};

static void part(void *ud, int w, int nw)
{
    struct ctx *c = ud;
    int64_t lo, hi;
    team_share((int64_t)c->n, w, nw, &lo, &hi);
    if (c->triad) {
        for (int64_t i = lo; i < hi; i++)
            c->a[i] = c->b[i] + 3.0f * c->c[i];
        return;
    }
    /* the inner product a decoder runs, of the buffer with itself: one read */
    float x = dot_f32(c->b + lo, c->b + lo, (int)(hi - lo));
    c->sums[w] = x;
}

int main(int argc, char **argv)
{
    util_set_progname("stream");
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    size_t mb = argc > 2 ? (size_t)atol(argv[2]) : 512;
    if (threads < 1 || threads > 64 || mb < 16)
        die("usage: stream THREADS [MB]");
    struct ctx c = {0};
    c.n = mb * 1024 * 1024 / sizeof(float);
    c.a = xmalloc(c.n * sizeof(float));
    c.b = xmalloc(c.n * sizeof(float));
    c.c = xmalloc(c.n * sizeof(float));
    for (size_t i = 0; i < c.n; i++)
        c.a[i] = c.b[i] = c.c[i] = (float)(i & 7);
    struct team *t = team_new(threads);
    double best[2] = {1e9, 1e9};
    for (int triad = 0; triad < 2; triad++)
        for (int rep = 0; rep < 10; rep++) {
            c.triad = triad;
            double t0 = now_seconds();
            team_run(t, part, &c);
            double s = now_seconds() - t0;
            best[triad] = s < best[triad] ? s : best[triad];
        }
    double bytes = (double)c.n * sizeof(float);
    printf("{\"read_gbs\":%.2f,\"triad_gbs\":%.2f,\"check\":%g}\n", bytes / best[0] / 1e9,
           3 * bytes / best[1] / 1e9, c.sums[0]);
    team_free(t);
    free(c.a);
    free(c.b);
    free(c.c);
    return 0;
}
