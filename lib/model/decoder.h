/* decoder.h - Llama-family decoders from GGUF files: llama (Llama 2 and 3,
 * SmolLM, TinyLlama; "mistral" files read as llama), qwen2 (biases on q, k
 * and v), qwen3 (per-head RMS norm of q and k before RoPE, a head size of
 * its own: attention.key_length) and phi3 (q, k and v fused in attn_qkv,
 * gate and up fused in ffn_up).
 *
 * Grouped-query attention, RoPE in llama.cpp's two layouts ("norm":
 * adjacent pairs, for llama; "neox": halves, for qwen2, qwen3 and phi3)
 * with the file's rope.freq_base and rope.dimension_count, and Llama 3's
 * frequency factors when the file has rope_freqs.weight (pair i's angle
 * divided by factor i, as ggml does); RMS norm with the file's epsilon,
 * SwiGLU feed-forward, tied or separate output matrix. Weights stay in the
 * mapped file in their own format (quant.h) and are used in place (a fused
 * matrix as views of its rows); only norms and biases become floats.
 *
 * A state holds the KV cache (float32, ctx positions) and the buffers of
 * one sequence. decoder_eval() runs a batch of tokens through the model: many
 * tokens go through matrix-matrix products (prompt processing), one token
 * through the team's matrix-vector products (generation).
 *
 * Caveats: a model is read-only once loaded and may be shared by states;
 * a state belongs to one thread (and its team). The team does all the
 * threading: decoder_state_init() sets BLAS to one thread for the process.
 */
#ifndef LODE_DECODER_H
#define LODE_DECODER_H

#include "model/gguf.h"
#include "model/lora.h"
#include "model/quant.h"
#include "base/threads.h"
#include "model/tokenizer.h"
#include "base/util.h"

struct decoder_layer {
    struct qmat wq, wk, wv, wo, gate, up, down; /* phi3: views of attn_qkv and ffn_up */
    const float *attn_norm, *ffn_norm;
    const float *bq, *bk, *bv;    /* qwen2; NULL for the others */
    const float *q_norm, *k_norm; /* qwen3: (head_dim) each; NULL for the others */
};

struct decoder {
    struct gguf g;
    char arch[32];
    int dim, layers, heads, kv_heads, head_dim, ffn, vocab, ctx_train, rope_dim;
    float eps, rope_base;
    int rope_neox;
    const float *rope_freqs; /* (rope_dim / 2): Llama 3's factors, or NULL */
    int window;              /* phi3's sliding window (contexts are kept within it); 0 none */
    int fused;               /* phi3: q/k/v and gate/up are views of fused matrices */
    struct qmat embd, output;
    const float *out_norm;
    struct decoder_layer *layer;
    struct tokenizer tok;
    char *chat_template; /* tokenizer.chat_template, or NULL */
    char id[160];        /* name@hash of the file */
    float **owned;       /* vectors converted to float */
    int nowned;
    const struct lora **lora; /* adapters applied (lora.h), in order */
    int nlora;
};

int decoder_load(const char *path, struct decoder *m, lode_error *err);
void decoder_free(struct decoder *m);
/* Applies an adapter (lora_load()) from now on; it must outlive m. */
void decoder_add_lora(struct decoder *m, const struct lora *a);

/* The pieces training shares: out = x / rms(x) * w; a position's rotation,
 * cs[rope_dim] = (cos, sin) of each pair's angle; and the rotation of
 * nheads heads of x (head_dim apart) by it, backwards with sign -1, in
 * float or double. */
void decoder_rmsnorm(float *out, const float *x, const float *w, int d, float eps);
void decoder_rope_table(const struct decoder *m, int pos, double *cs);
void decoder_rope(const struct decoder *m, const double *cs, float *x, int nheads, int sign);
void decoder_rope_f64(const struct decoder *m, const double *cs, double *x, int nheads, int sign);

struct decoder_state {
    int ctx, n_past;
    float *k, *v; /* (layers, ctx, kv_heads * head_dim) */
    struct team *team;
    /* buffers for batches of up to cap tokens; q_dim = heads * head_dim,
     * kv_dim = kv_heads * head_dim */
    int cap;
    float *x;      /* (cap, dim): the residual stream */
    float *xb;     /* (cap, max(dim, q_dim)): a normed x, or a projection's output */
    float *q;      /* (cap, q_dim) */
    float *kk;     /* (cap, kv_dim): this batch's keys, before the cache */
    float *vv;     /* (cap, kv_dim): this batch's values */
    float *att;    /* (cap, q_dim): attention's output, heads side by side */
    float *hb;     /* (cap, ffn): the gate, then silu(gate) * up */
    float *hb2;    /* (cap, ffn): the up projection */
    float *scores; /* (team members, cap, ctx): one head's scores per member */
    double *rope;  /* (cap, rope_dim): cos and sin of each pair, per position of the batch */
};

int decoder_state_init(const struct decoder *m, struct decoder_state *s, int ctx, int threads,
                       lode_error *err);
void decoder_state_free(struct decoder_state *s);

/* Runs ids[0..n) at positions n_past.. and advances n_past. logits
 * receives the vocabulary's logits of the last token (NULL: none), or with
 * all set, of every token (n x vocab). -1 when the context is full. */
int decoder_eval(const struct decoder *m, struct decoder_state *s, const int *ids, int n,
                 float *logits, int all);
/* A prompt from position 0: ids[0..n) run batch tokens at a time, logits
 * receiving the last token's. -1 when the context is full. */
int decoder_prefill(const struct decoder *m, struct decoder_state *s, const int *ids, size_t n,
                    size_t batch, float *logits);

#endif
