/* annbench: lode's HNSW (lib/store/hnsw) on raw vectors, for tests/bench/ann.sh.
 *
 *   annbench DATA.f32 QUERIES.f32 DIM M EFC THREADS f32|int8 TRUTH.i32
 *
 * Builds the graph (THREADS inserting), writes the exact top 10 of every
 * query to TRUTH.i32 (int32, found by comparing with every vector), then
 * for several ef searches every query single-threaded and prints one JSON
 * line per ef: recall@10 against the truth and queries per second. The
 * first line gives the build's seconds and the memory it took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/hnsw.h"
#include "model/kernels.h"
#include "base/threads.h"
#include "base/util.h"

static float *load(const char *path, int dim, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    *n = (size_t)bytes / (sizeof(float) * (size_t)dim);
    float *v = xmalloc((size_t)bytes + 1);
    if (fread(v, 1, (size_t)bytes, f) != (size_t)bytes)
        die("%s: short read", path);
    fclose(f);
    return v;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

struct build {
    struct hnsw *h;
};

static void insert(void *ud, size_t i, int worker)
{
    (void)worker;
    hnsw_insert(((struct build *)ud)->h, (uint32_t)i);
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: annbench DATA QUERIES DIM M EFC THREADS f32|int8 TRUTH\n");
        return 2;
    }
    util_set_progname("annbench");
    int dim = atoi(argv[3]), M = atoi(argv[4]), efc = atoi(argv[5]), threads = atoi(argv[6]);
    int int8 = !strcmp(argv[7], "int8");
    size_t n, nq;
    float *data = load(argv[1], dim, &n), *qs = load(argv[2], dim, &nq);
    long before = rss_kb();
    struct hnsw h;
    hnsw_init(&h, dim, M, efc, int8, 42);
    hnsw_reserve(&h, (uint32_t)n);
    double t = now_seconds();
    for (size_t i = 0; i < n; i++)
        hnsw_set_vector(&h, (uint32_t)i, data + i * dim);
    struct build b = {&h};
    parallel_for(threads, n, insert, &b);
    double build = now_seconds() - t;
    printf("{\"build_seconds\":%.3f,\"index_mb\":%.1f,\"n\":%zu,\"queries\":%zu}\n", build,
           (double)(rss_kb() - before) / 1024, n, nq);
    h.locking = 0;
    for (size_t i = 0; i < nq; i++)
        l2_normalize(qs + i * dim, dim);
    /* the truth: every vector compared, in float even for int8 graphs */
    struct hnsw exact;
    hnsw_init(&exact, dim, M, efc, 0, 42);
    hnsw_reserve(&exact, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        hnsw_set_vector(&exact, (uint32_t)i, data + i * dim);
        exact.level[i] = 0;
    }
    int32_t *truth = xmalloc(sizeof *truth * nq * 10);
    struct hnsw_hit hits[512];
    for (size_t q = 0; q < nq; q++) {
        size_t got = hnsw_exact(&exact, qs + q * dim, 10, NULL, NULL, hits);
        for (size_t j = 0; j < 10; j++)
            truth[q * 10 + j] = j < got ? (int32_t)hits[j].node : -1;
    }
    hnsw_free(&exact);
    FILE *tf = fopen(argv[8], "wb");
    if (!tf || fwrite(truth, sizeof *truth, nq * 10, tf) != nq * 10 || fclose(tf) != 0)
        die("%s: cannot write", argv[8]);
    int efs[] = {10, 16, 24, 32, 48, 64, 96, 128, 256};
    for (size_t e = 0; e < sizeof efs / sizeof *efs; e++) {
        size_t found = 0;
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            t = now_seconds();
            found = 0;
            for (size_t q = 0; q < nq; q++) {
                size_t got = hnsw_search(&h, qs + q * dim, 10, efs[e], NULL, NULL, hits);
                for (size_t j = 0; j < got; j++)
                    for (size_t k = 0; k < 10; k++)
                        if ((int32_t)hits[j].node == truth[q * 10 + k])
                            found++;
            }
            double s = now_seconds() - t;
            best = s < best ? s : best;
        }
        printf("{\"ef\":%d,\"recall\":%.4f,\"qps\":%.0f}\n", efs[e],
               (double)found / (double)(nq * 10), (double)nq / best);
    }
    hnsw_free(&h);
    free(truth);
    free(data);
    free(qs);
    return 0;
}
