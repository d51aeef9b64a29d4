/* gguf_same: 1 when two GGUF files hold the same tensors (names, types,
 * shapes and bytes), else 0 and the first difference on stderr. */
#include <stdio.h>
#include <string.h>

#include "model/gguf.h"

int main(int argc, char **argv)
{
    struct gguf a, b;
    lode_error err;
    if (argc != 3 || gguf_open(argv[1], &a, &err) < 0 || gguf_open(argv[2], &b, &err) < 0) {
        fprintf(stderr, "usage: gguf_same A.gguf B.gguf\n");
        return 2;
    }
    int same = a.nt == b.nt;
    for (size_t i = 0; i < a.nt && same; i++) {
        const struct gguf_tensor *x = &a.t[i], *y = gguf_tensor(&b, x->name);
        same = y && x->type == y->type && x->ndim == y->ndim && x->nbytes == y->nbytes &&
            !memcmp(x->ne, y->ne, sizeof x->ne) && !memcmp(x->data, y->data, x->nbytes);
        if (!same)
            fprintf(stderr, "tensor %s differs\n", x->name);
    }
    printf("%d\n", same);
    gguf_close(&a);
    gguf_close(&b);
    return 0;
}
