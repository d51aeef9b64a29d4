/* mkgguf: a random-weight llama model as a GGUF file, for benchmarks and
 * tests that need a model of a given shape.
 *
 *   mkgguf OUT.gguf DIM LAYERS HEADS KV_HEADS FFN VOCAB [SEED]
 *
 * Weights are N(0, 0.02) (norms 1), float32, embeddings tied; the
 * vocabulary is SentencePiece-like: <unk> <s> </s>, the 256 byte tokens,
 * then pieces "tok1", "tok2", ... (scores falling), so any text
 * tokenizes through byte fallback.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf.h"
#include "base/util.h"

static uint64_t state;

static double gauss(void)
{
    uint64_t a = (state += 0x9E3779B97F4A7C15ull), b = (state += 0x9E3779B97F4A7C15ull);
    a = (a ^ (a >> 30)) * 0xBF58476D1CE4E5B9ull;
    a ^= a >> 27;
    b = (b ^ (b >> 30)) * 0xBF58476D1CE4E5B9ull;
    b ^= b >> 27;
    double u = ((a >> 11) + 0.5) / 9007199254740992.0, v = ((b >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static float *tensor(size_t n, float value)
{
    float *t = malloc(sizeof *t * n);
    if (!t)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        t[i] = value != 0 ? value : (float)(0.02 * gauss());
    return t;
}

int main(int argc, char **argv)
{
    util_set_progname("mkgguf");
    if (argc < 8) {
        fprintf(stderr, "usage: mkgguf OUT.gguf DIM LAYERS HEADS KV_HEADS FFN VOCAB [SEED]\n");
        return 2;
    }
    uint64_t dim = strtoull(argv[2], NULL, 10), layers = strtoull(argv[3], NULL, 10);
    uint64_t heads = strtoull(argv[4], NULL, 10), kvh = strtoull(argv[5], NULL, 10);
    uint64_t ffn = strtoull(argv[6], NULL, 10), vocab = strtoull(argv[7], NULL, 10);
    state = argc > 8 ? strtoull(argv[8], NULL, 10) : 1;
    if (!dim || !layers || !heads || !kvh || dim % heads || heads % kvh || vocab < 300)
        die("bad shape");
    uint64_t hd = dim / heads;
    struct gguf_writer *w = gguf_writer_new();
    gguf_put_str(w, "general.architecture", "llama");
    gguf_put_str(w, "general.name", "random-llama");
    gguf_put_u32(w, "llama.context_length", 2048);
    gguf_put_u32(w, "llama.embedding_length", (uint32_t)dim);
    gguf_put_u32(w, "llama.feed_forward_length", (uint32_t)ffn);
    gguf_put_u32(w, "llama.attention.head_count", (uint32_t)heads);
    gguf_put_u32(w, "llama.attention.head_count_kv", (uint32_t)kvh);
    gguf_put_u32(w, "llama.block_count", (uint32_t)layers);
    gguf_put_u32(w, "llama.rope.dimension_count", (uint32_t)hd);
    gguf_put_f32(w, "llama.rope.freq_base", 100000);
    gguf_put_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_put_str(w, "tokenizer.ggml.model", "llama");
    char **tok = xcalloc(vocab, sizeof *tok);
    float *score = xcalloc(vocab, sizeof *score);
    int32_t *type = xcalloc(vocab, sizeof *type);
    for (uint64_t i = 0; i < vocab; i++) {
        if (i < 3) {
            tok[i] = xstrdup(i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
            type[i] = i == 0 ? 2 : 3;
        } else if (i < 259) {
            tok[i] = xasprintf("<0x%02X>", (unsigned)(i - 3));
            type[i] = 6;
        } else {
            tok[i] = xasprintf("tok%llu", (unsigned long long)(i - 258));
            type[i] = 1;
            score[i] = -(float)i;
        }
    }
    gguf_put_strs(w, "tokenizer.ggml.tokens", (const char *const *)tok, vocab);
    gguf_put_f32s(w, "tokenizer.ggml.scores", score, vocab);
    gguf_put_i32s(w, "tokenizer.ggml.token_type", type, vocab);
    gguf_put_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_put_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gguf_put_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    float **own = xcalloc(4 + 9 * layers, sizeof *own);
    int no = 0;
#define PUT(name, value, ...)                                            \
    do {                                                                 \
        uint64_t ne_[] = {__VA_ARGS__};                                  \
        int nd_ = (int)(sizeof ne_ / sizeof *ne_);                       \
        size_t n_ = 1;                                                   \
        for (int d_ = 0; d_ < nd_; d_++)                                 \
            n_ *= ne_[d_];                                               \
        own[no] = tensor(n_, value);                                     \
        gguf_put_tensor(w, name, GGML_F32, nd_, ne_, own[no++], n_ * 4); \
    } while (0)
    PUT("token_embd.weight", 0, dim, vocab);
    PUT("output_norm.weight", 1, dim);
    for (uint64_t l = 0; l < layers; l++) {
        char n[64];
#define NAME(s) (snprintf(n, sizeof n, "blk.%llu.%s", (unsigned long long)l, s), n)
        PUT(NAME("attn_norm.weight"), 1, dim);
        PUT(NAME("attn_q.weight"), 0, dim, heads * hd);
        PUT(NAME("attn_k.weight"), 0, dim, kvh * hd);
        PUT(NAME("attn_v.weight"), 0, dim, kvh * hd);
        PUT(NAME("attn_output.weight"), 0, heads * hd, dim);
        PUT(NAME("ffn_norm.weight"), 1, dim);
        PUT(NAME("ffn_gate.weight"), 0, dim, ffn);
        PUT(NAME("ffn_up.weight"), 0, dim, ffn);
        PUT(NAME("ffn_down.weight"), 0, ffn, dim);
    }
    lode_error err;
    if (gguf_write(w, argv[1], &err) < 0)
        die("%s", err.msg);
    for (int i = 0; i < no; i++)
        free(own[i]);
    for (uint64_t i = 0; i < vocab; i++)
        free(tok[i]);
    free(own);
    free(tok);
    free(score);
    free(type);
    gguf_writer_free(w);
    return 0;
}
