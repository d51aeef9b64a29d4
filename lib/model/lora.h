/* lora.h - LoRA adapters in llama.cpp's GGUF layout: read, applied to a
 * decoder's projections, written, merged into a model.
 *
 * An adapter changes a projection W (out x in) to W + s B A, A being
 * rank x in ("blk.N.attn_q.weight.lora_a", ggml ne = [in, rank]) and B
 * out x rank ("...lora_b", ne = [rank, out]), s = scale * alpha / rank as
 * llama.cpp computes it (alpha 0: s = scale). Targets are the attention
 * and feed-forward projections; an adapter for another architecture or
 * shape is refused.
 */
#ifndef LODE_LORA_H
#define LODE_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct decoder;
struct qmat;

enum lora_target { LORA_Q, LORA_K, LORA_V, LORA_O, LORA_GATE, LORA_UP, LORA_DOWN, LORA_NT };

/* q, k, v, o, gate, up, down; the GGUF tensor of each ("attn_q"...). */
const char *lora_target_name(int t);
const char *lora_target_tensor(int t);
/* A comma-separated list of names into a bit set (1 << target); -1 for
 * an unknown name. */
int lora_targets_parse(const char *list);

struct lora_pair {
    int rank;
    int64_t in, out;
    float *a; /* rank x in */
    float *b; /* out x rank */
};

struct lora {
    int layers;
    float alpha;
    float scale;         /* the user's: FILE:SCALE */
    struct lora_pair *p; /* layers x LORA_NT; a == NULL: no adapter there */
};

/* The matrix a target of layer l is in the model. */
const struct qmat *lora_base(const struct decoder *m, int l, int t);
/* An empty adapter for m on the targets (bits), A random (Kaiming-uniform
 * as PEFT initialises it, from seed) and B zero, so it starts as the base
 * model. */
void lora_init(struct lora *a, const struct decoder *m, unsigned targets, int rank, float alpha,
               uint64_t seed);
int lora_load(const char *path, const struct decoder *m, float scale, struct lora *a,
              lode_error *err);
/* FILE or FILE:SCALE (scale 1 by default), as --lora takes it. */
int lora_load_spec(const char *spec, const struct decoder *m, struct lora *a, lode_error *err);
/* Each of n specs loaded and applied to m (decoder_add_lora), in order: an
 * array to free with lora_free_all(), or NULL (err set, none applied). */
struct lora *lora_load_all(struct decoder *m, const char *const *specs, size_t n, lode_error *err);
void lora_free_all(struct lora *a, size_t n);
int lora_save(const struct lora *a, const struct decoder *m, const char *path, lode_error *err);
void lora_free(struct lora *a);
/* The factor s of a pair. */
float lora_factor(const struct lora *a, const struct lora_pair *p);

/* y[n, out] += s B (A x[n, in]) for every adapter of m on (l, t). */
void lora_apply(const struct decoder *m, int l, int t, const float *x, int n, float *y);
/* The model with every adapter of m added to its weights, written to
 * path: matrices of a type quant_row() writes keep it, others become F32. */
int lora_merge(const struct decoder *m, const char *path, lode_error *err);

#endif
