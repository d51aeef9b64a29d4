/* mkvecs: synthetic clustered vectors for the store's tests and the ANN
 * benchmark.
 *
 *   mkvecs records N DIM SEED [SOURCES]  chunk records with vec on stdout
 *   mkvecs raw N DIM SEED FILE           the same vectors as raw float32
 *   mkvecs queries N DIM SEED FILE       N query vectors (raw float32), and
 *                                        the same as {"qid","vec"} records on stdout
 *
 * Vectors are drawn around 100 cluster centres (the same centres for every
 * SEED of a DIM), so queries resemble the data as real embeddings do.
 * Record text is a few words from a small vocabulary, chosen by cluster.
 */
#include <glib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTERS 100

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return ((rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s)
{
    return sqrt(-2 * log(uniform(s))) * cos(2 * M_PI * uniform(s));
}

static float *centres(int dim)
{
    uint64_t s = 12345;
    float *c = malloc(sizeof *c * CLUSTERS * (size_t)dim);
    if (!c)
        exit(3);
    for (size_t i = 0; i < (size_t)CLUSTERS * dim; i++)
        c[i] = (float)gauss(&s);
    return c;
}

/* One vector near a random centre; returns the centre. */
static int draw(const float *c, int dim, uint64_t *s, float *out)
{
    int k = (int)(rng_next(s) % CLUSTERS);
    for (int i = 0; i < dim; i++)
        out[i] = c[(size_t)k * dim + i] + 0.6f * (float)gauss(s);
    return k;
}

static const char *words[] = {
    "river",   "engine",   "pressure", "wing",     "boundary",  "layer",      "flow", "heat",
    "shock",   "wave",     "plate",    "cylinder", "turbulent", "laminar",    "mach", "number",
    "surface", "transfer", "velocity", "nozzle",   "jet",       "vortex",     "drag", "lift",
    "stress",  "buckling", "shell",    "panel",    "flutter",   "supersonic",
};

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: mkvecs records|raw|queries N DIM SEED [SOURCES|FILE]\n");
        return 2;
    }
    const char *what = argv[1];
    long n = atol(argv[2]);
    int dim = atoi(argv[3]);
    uint64_t seed = strtoull(argv[4], NULL, 10) * 7919 + 1;
    float *c = centres(dim), *v = malloc(sizeof *v * (size_t)dim);
    FILE *raw = NULL;
    long sources = 100;
    if (!strcmp(what, "records") && argc > 5)
        sources = atol(argv[5]);
    if (strcmp(what, "records")) {
        if (argc < 6 || !(raw = fopen(argv[5], "wb"))) {
            fprintf(stderr, "mkvecs: cannot write %s\n", argc > 5 ? argv[5] : "(no file)");
            return 3;
        }
    }
    for (long i = 0; i < n; i++) {
        int k = draw(c, dim, &seed, v);
        if (raw && fwrite(v, sizeof *v, (size_t)dim, raw) != (size_t)dim) {
            fprintf(stderr, "mkvecs: write error\n");
            return 3;
        }
        if (!strcmp(what, "raw"))
            continue;
        gchar *b64 = g_base64_encode((const guchar *)v, sizeof *v * (size_t)dim);
        if (!strcmp(what, "queries")) {
            printf("{\"qid\":\"q%ld\",\"vec\":\"%s\"}\n", i, b64);
        } else {
            long src =
                i * sources / n; /* each source's chunks together, as lode-chunk writes them */
            printf("{\"id\":\"s%ld-%ld\",\"source\":\"src/%ld.txt\",\"doc\":\"%016lx\","
                   "\"page\":%ld,\"text\":\"%s %s %s %s item%ld\",\"vec\":\"%s\",\"dim\":%d,"
                   "\"model\":\"synthetic\"}\n",
                   src, i, src, (unsigned long)src * 2654435761ul, i % 7 + 1, words[k % 30],
                   words[(k / 3) % 30], words[(k * 7 + 1) % 30], words[(i * 13) % 30], i, b64, dim);
        }
        g_free(b64);
    }
    free(c);
    free(v);
    if (raw && fclose(raw) != 0)
        return 3;
    return fflush(stdout) ? 3 : 0;
}
