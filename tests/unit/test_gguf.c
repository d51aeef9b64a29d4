/* The GGUF reader on the shared models, and on copies broken on purpose. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/gguf.h"

static const char *shared(void)
{
    const char *s = getenv("LODE_SHARED");
    return s ? s : "../shared";
}

/* Writes a copy of src with len bytes (0: all), then patch bytes at off. */
static int broken_copy(const char *src, const char *dst, size_t len, size_t off, const void *patch,
                       size_t plen)
{
    FILE *f = fopen(src, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n);
    if (fread(buf, 1, n, f) != n) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    if (patch && off + plen <= n)
        memcpy(buf + off, patch, plen);
    FILE *o = fopen(dst, "wb");
    fwrite(buf, 1, len ? len : n, o);
    fclose(o);
    free(buf);
    return 0;
}

int main(void)
{
    char path[1024];
    lode_error err;
    struct gguf g;
    snprintf(path, sizeof path, "%s/models/stories260K/stories260K.gguf", shared());
    int rc = gguf_open(path, &g, &err);
    CHECK(rc == 0, "stories260K.gguf opens%s%s", rc ? ": " : "", rc ? err.msg : "");
    if (rc)
        return 1;
    CHECK(g.version == 3 && g.nt == 48 && g.nkv == 19,
          "version 3, 48 tensors, 19 metadata entries");
    CHECK(gguf_str(&g, "general.architecture") &&
              !strcmp(gguf_str(&g, "general.architecture"), "llama"),
          "general.architecture is llama");
    CHECK(gguf_int(&g, "llama.embedding_length", 0) == 64 &&
              gguf_int(&g, "llama.block_count", 0) == 5,
          "llama.embedding_length 64, llama.block_count 5");
    const struct gguf_kv *toks = gguf_find(&g, "tokenizer.ggml.tokens");
    CHECK(toks && toks->type == GGUF_ARRAY && toks->atype == GGUF_STRING && toks->count == 512,
          "tokenizer.ggml.tokens: 512 strings");
    CHECK(toks && toks->astrlen[1] == 3 && !memcmp(toks->astr[1], "<s>", 3), "token 1 is <s>");
    const struct gguf_tensor *emb = gguf_tensor(&g, "token_embd.weight");
    CHECK(emb && emb->type == GGML_F32 && emb->ne[0] == 64 && emb->ne[1] == 512 &&
              emb->nbytes == 64 * 512 * 4,
          "token_embd.weight: F32, 64 x 512");
    gguf_close(&g);

    static const char *const tiny[] = {"llama-tiny-f32", "llama-tiny-q8_0", "llama-tiny-q4_0",
                                       "qwen2-tiny-f16"};
    static const enum ggml_type want[] = {GGML_F32, GGML_Q8_0, GGML_Q4_0, GGML_F16};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/models/tiny-gguf/%s.gguf", shared(), tiny[i]);
        rc = gguf_open(path, &g, &err);
        const struct gguf_tensor *q = rc ? NULL : gguf_tensor(&g, "blk.0.attn_q.weight");
        CHECK(rc == 0 && q && q->type == want[i], "%s opens; attn_q is %s", tiny[i],
              ggml_type_name(want[i]));
        if (rc == 0)
            gguf_close(&g);
    }

    /* Broken copies fail with a reason instead of reading past the file. */
    snprintf(path, sizeof path, "%s/models/stories260K/stories260K.gguf", shared());
    broken_copy(path, "truncated.gguf", 1180000, 0, NULL, 0);
    rc = gguf_open("truncated.gguf", &g, &err);
    CHECK(rc < 0 && strstr(err.msg, "outside the file"),
          "a file cut in its tensor data is refused (%s)", err.msg);
    broken_copy(path, "metacut.gguf", 5000, 0, NULL, 0);
    rc = gguf_open("metacut.gguf", &g, &err);
    CHECK(rc < 0 && strstr(err.msg, "runs past its end"),
          "a file cut in its metadata is refused (%s)", err.msg);
    broken_copy(path, "headercut.gguf", 100, 0, NULL, 0);
    rc = gguf_open("headercut.gguf", &g, &err);
    CHECK(rc < 0 && strstr(err.msg, "cannot fit"), "a file cut in its header is refused (%s)",
          err.msg);
    unsigned char huge[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f};
    broken_copy(path, "count.gguf", 0, 8, huge, 8);
    rc = gguf_open("count.gguf", &g, &err);
    CHECK(rc < 0 && strstr(err.msg, "cannot fit"), "a lying tensor count is refused (%s)", err.msg);
    broken_copy(path, "magic.gguf", 0, 0, "GGUX", 4);
    rc = gguf_open("magic.gguf", &g, &err);
    CHECK(rc < 0 && strstr(err.msg, "not a GGUF file"), "a wrong magic is refused");
    unsigned char v9[4] = {9, 0, 0, 0};
    broken_copy(path, "version.gguf", 0, 4, v9, 4);
    rc = gguf_open("version.gguf", &g, &err);
    CHECK(rc < 0 && strstr(err.msg, "version 9"), "an unknown version is refused");
    return check_failures ? 1 : 0;
}
