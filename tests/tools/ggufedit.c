/* ggufedit: a copy of a GGUF file with one tensor changed, for the tests of
 * files that do not fit their model.
 *
 *   ggufedit IN.gguf OUT.gguf shrink TENSOR N     keep TENSOR's first N values (1-D)
 *   ggufedit IN.gguf OUT.gguf drop TENSOR         leave TENSOR out
 *
 * Everything else is copied as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "model/gguf.h"

int main(int argc, char **argv)
{
    util_set_progname("ggufedit");
    int shrink = argc == 6 && !strcmp(argv[3], "shrink"),
        drop = argc == 5 && !strcmp(argv[3], "drop");
    if (!shrink && !drop) {
        fprintf(stderr, "usage: ggufedit IN.gguf OUT.gguf shrink TENSOR N | drop TENSOR\n");
        return 2;
    }
    struct gguf g;
    lode_error err;
    if (gguf_open(argv[1], &g, &err) < 0)
        die("%s", err.msg);
    struct gguf_writer *w = gguf_writer_new();
    for (size_t i = 0; i < g.nkv; i++)
        if (strcmp(g.kv[i].key, "general.alignment"))
            gguf_put_kv(w, &g.kv[i]);
    int found = 0;
    for (size_t i = 0; i < g.nt; i++) {
        const struct gguf_tensor *t = &g.t[i];
        if (strcmp(t->name, argv[4])) {
            gguf_put_tensor(w, t->name, t->type, t->ndim, t->ne, t->data, t->nbytes);
            continue;
        }
        found = 1;
        if (drop)
            continue;
        uint64_t n = strtoull(argv[5], NULL, 10);
        size_t row = ggml_row_size(t->type, n);
        if (t->ndim != 1 || !n || n > t->ne[0] || !row)
            die("%s: can shrink 1-D tensors to 1..%llu values", t->name,
                (unsigned long long)t->ne[0]);
        uint64_t ne[1] = {n};
        gguf_put_tensor(w, t->name, t->type, 1, ne, t->data, row);
    }
    if (!found)
        die("%s has no tensor %s", argv[1], argv[4]);
    if (gguf_write(w, argv[2], &err) < 0)
        die("%s", err.msg);
    gguf_writer_free(w);
    gguf_close(&g);
    return 0;
}
