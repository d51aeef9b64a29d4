/* ggufinfo: a GGUF file's string and number keys ("key=value") and its
 * tensors ("tensor NAME TYPE NE0xNE1..."), one per line, for tests. */
#include <stdio.h>

#include "model/gguf.h"

int main(int argc, char **argv)
{
    struct gguf g;
    lode_error err;
    if (argc != 2) {
        fprintf(stderr, "usage: ggufinfo FILE.gguf\n");
        return 2;
    }
    if (gguf_open(argv[1], &g, &err) < 0) {
        fprintf(stderr, "ggufinfo: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < g.nkv; i++) {
        const struct gguf_kv *kv = &g.kv[i];
        if (kv->type == GGUF_STRING)
            printf("%s=%s\n", kv->key, kv->str);
        else if (kv->type == GGUF_F32 || kv->type == GGUF_F64)
            printf("%s=%g\n", kv->key, kv->v.f);
        else if (kv->type != GGUF_ARRAY)
            printf("%s=%lld\n", kv->key, (long long)gguf_int(&g, kv->key, 0));
    }
    for (size_t i = 0; i < g.nt; i++) {
        const struct gguf_tensor *t = &g.t[i];
        printf("tensor %s %s %llu", t->name, ggml_type_name(t->type), (unsigned long long)t->ne[0]);
        for (int d = 1; d < t->ndim; d++)
            printf("x%llu", (unsigned long long)t->ne[d]);
        printf("\n");
    }
    gguf_close(&g);
    return 0;
}
