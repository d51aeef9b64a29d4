/* quantize: a copy of a GGUF model with its weight matrices in another
 * format, in ggml's block layouts (lib/model/quant).
 *
 *   quantize IN.gguf OUT.gguf TYPE     TYPE: f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k
 *
 * Every 2-D tensor whose rows hold a whole number of the type's blocks is
 * converted (f32: every block decoded, as the tests compare a quantised
 * file's exact model with); the rest (norms, rows of other lengths) is copied as it is.
 * Prints one JSON line per converted tensor with its largest error and
 * its RMS error relative to the weights' RMS.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf.h"
#include "model/quant.h"
#include "base/util.h"

int main(int argc, char **argv)
{
    util_set_progname("quantize");
    if (argc != 4) {
        fprintf(stderr, "usage: quantize IN.gguf OUT.gguf f32|f16|bf16|q8_0|q4_0|q4_k|q5_k|q6_k\n");
        return 2;
    }
    static const struct {
        const char *name;
        enum ggml_type t;
    } types[] = {
        {"f32", GGML_F32},   {"f16", GGML_F16},   {"bf16", GGML_BF16}, {"q8_0", GGML_Q8_0},
        {"q4_0", GGML_Q4_0}, {"q4_k", GGML_Q4_K}, {"q5_k", GGML_Q5_K}, {"q6_k", GGML_Q6_K},
    };
    int k = -1;
    for (int i = 0; i < (int)(sizeof types / sizeof *types); i++)
        if (!strcmp(argv[3], types[i].name))
            k = i;
    if (k < 0)
        die("unknown type %s", argv[3]);
    enum ggml_type to = types[k].t;
    struct gguf g;
    lode_error err;
    if (gguf_open(argv[1], &g, &err) < 0)
        die("%s", err.msg);
    struct gguf_writer *w = gguf_writer_new();
    for (size_t i = 0; i < g.nkv; i++)
        if (strcmp(g.kv[i].key, "general.alignment") && strcmp(g.kv[i].key, "general.file_type"))
            gguf_put_kv(w, &g.kv[i]);
    void **owned = xcalloc(g.nt + 1, sizeof *owned);
    for (size_t i = 0; i < g.nt; i++) {
        const struct gguf_tensor *t = &g.t[i];
        size_t row = ggml_row_size(to, t->ne[0]);
        if (t->ndim != 2 || !row || !quant_readable(t->type)) {
            gguf_put_tensor(w, t->name, t->type, t->ndim, t->ne, t->data, t->nbytes);
            continue;
        }
        uint64_t rows = t->ne[1], cols = t->ne[0];
        size_t in_row = ggml_row_size(t->type, cols);
        unsigned char *out = xmalloc(row * rows);
        float *x = xmalloc(sizeof *x * cols), *back = xmalloc(sizeof *back * cols);
        double se = 0, ss = 0, mx = 0;
        for (uint64_t r = 0; r < rows; r++) {
            dequant_row(t->type, (const unsigned char *)t->data + r * in_row, x, (int64_t)cols);
            quant_row(to, x, out + r * row, (int64_t)cols);
            dequant_row(to, out + r * row, back, (int64_t)cols);
            for (uint64_t c = 0; c < cols; c++) {
                double e = fabs((double)back[c] - x[c]);
                se += e * e;
                ss += (double)x[c] * x[c];
                mx = e > mx ? e : mx;
            }
        }
        printf("{\"tensor\":\"%s\",\"type\":\"%s\",\"max_error\":%.3g,\"rel_rms_error\":%.4g}\n",
               t->name, ggml_type_name(to), mx, ss > 0 ? sqrt(se / ss) : 0.0);
        free(x);
        free(back);
        owned[i] = out;
        gguf_put_tensor(w, t->name, to, 2, t->ne, out, row * rows);
    }
    if (gguf_write(w, argv[2], &err) < 0)
        die("%s", err.msg);
    for (size_t i = 0; i < g.nt; i++)
        free(owned[i]);
    free(owned);
    gguf_writer_free(w);
    gguf_close(&g);
    return 0;
}
