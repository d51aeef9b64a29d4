/* train.h - LoRA training of a Llama-family decoder (decoder.h): the forward
 * pass with what the backward pass needs kept, the backward pass written
 * out for every operation (embedding, RMS norm, RoPE, grouped-query causal
 * attention, SwiGLU, the output projection and cross-entropy), and AdamW.
 *
 * The base model never changes: its matrices are read in place when they
 * are F32 and dequantised one at a time otherwise. A sequence packs one or
 * more examples; each starts at position 0 and attends only to itself, so
 * it is trained exactly as it is later scored or generated.
 *
 * Compiled twice: in float for lode-finetune, and with TRAIN_F64 defined
 * in double (the names get _f64), which the gradient test compares with
 * finite differences. With base_grads set the trainer also differentiates
 * the norms' weights and the token embeddings (test only).
 */
#ifndef LODE_TRAIN_H
#define LODE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "model/decoder.h"
#include "model/lora.h"

struct train_cfg {
    unsigned targets; /* bits of enum lora_target */
    int rank;
    float alpha;
    float dropout; /* on the adapters' inputs, as PEFT does */
    int threads;
    uint64_t seed;
    int base_grads;
};

/* What trainer_run() does: evaluate (no dropout), train (dropout and
 * gradients), or the training forward pass alone (dropout, no gradients:
 * what finite differences compare with). */
enum { TRAIN_EVAL = 0, TRAIN_GRAD = 1, TRAIN_FORWARD = 2 };

#endif

/* the declarations of one precision (this file may be included for both) */
#undef TREAL
#undef TRN
#ifdef TRAIN_F64
#define TREAL double
#define TRN(x) x##_f64
#ifndef LODE_TRAIN_F64_DECL
#define LODE_TRAIN_F64_DECL
#define LODE_TRAIN_DECLARE
#endif
#else
#define TREAL float
#define TRN(x) x
#ifndef LODE_TRAIN_F32_DECL
#define LODE_TRAIN_F32_DECL
#define LODE_TRAIN_DECLARE
#endif
#endif

#ifdef LODE_TRAIN_DECLARE
#undef LODE_TRAIN_DECLARE

/* A trained tensor: values, gradient (accumulated), AdamW's moments. */
struct TRN(tparam) {
    char name[96];
    TREAL *w, *g, *m, *v;
    size_t n;
    int decay; /* 1: weight decay applies */
};

struct trainer;

/* A trainer for m whose adapter starts from init (lora_init() or a
 * checkpoint), or NULL for a fresh one from cfg->seed. */
struct trainer *TRN(trainer_new)(const struct decoder *m, const struct train_cfg *cfg,
                                 const struct lora *init);
void TRN(trainer_free)(struct trainer *t);
int TRN(trainer_nparams)(const struct trainer *t);
struct TRN(tparam) * TRN(trainer_param)(struct trainer *t, int i);

/* One sequence of n tokens: examples start at starts[0] = 0 < starts[1]
 * < ... < n; tgt[i] is the token to predict after ids[i], or -1 for none.
 * Returns the summed negative log-likelihood of the targets (their count
 * in *count); mode TRAIN_GRAD adds gscale times its gradient to every
 * parameter's g. key varies the dropout masks (a step's number). */
double TRN(trainer_run)(struct trainer *t, const int *ids, const int *tgt, int n, const int *starts,
                        int nstarts, int mode, double gscale, uint64_t key, int *count);
void TRN(trainer_zero_grad)(struct trainer *t);
/* The gradients' global L2 norm; scaled down to max_norm when above it
 * (max_norm <= 0: never). */
double TRN(trainer_clip)(struct trainer *t, double max_norm);
/* One AdamW update (step from 1) of the adapter's tensors. */
void TRN(trainer_adamw)(struct trainer *t, int step, double lr, double beta1, double beta2,
                        double eps, double weight_decay);
/* The adapter as it stands (alpha from the configuration), into a. */
void TRN(trainer_export)(const struct trainer *t, struct lora *a);

#endif
