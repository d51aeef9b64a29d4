/* finetune.h - what lode-finetune trains on and how it goes: training
 * records into token sequences with the tokens to learn marked, those
 * packed into sequences of at most ctx tokens, the learning-rate schedule,
 * and checkpoints.
 *
 * Records (lode-finetune(1)):
 *  {"text": ...}              every token after the first is learnt;
 *  {"prompt":..,"completion":..}  the completion's tokens and EOS;
 *  {"messages":[{"role","content"}...]}  rendered with the chat template,
 *                             the assistant turns and their end markers.
 * BOS comes first when the model's tokenizer adds one. A text longer than
 * ctx is cut into windows that overlap by one token (every token is still
 * predicted once); a prompt or conversation longer than ctx is an error.
 */
#ifndef LODE_FINETUNE_H
#define LODE_FINETUNE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "generate/chat.h"
#include "model/decoder.h"
#include "base/util.h"

struct example {
    int *ids;
    unsigned char *learn;   /* learn[i]: ids[i] is predicted (from ids[i - 1]) */
    int n;
};

struct examples {
    struct example *v;
    size_t n, cap;
};

/* Appends the examples of one record; -1 (and nothing appended) when it
 * cannot be used. */
int ft_examples(const struct decoder *m, enum chat_format f, const json_t *rec, int ctx,
                struct examples *out, lode_error *err);
void ft_examples_free(struct examples *e);

/* Moves ceil(frac x n) of e's examples, chosen with seed (at least one
 * left in e), to held. */
void ft_split(struct examples *e, double frac, uint64_t seed, struct examples *held);

/* Examples packed in the given order, each pack at most ctx tokens. */
struct pack {
    int *ids, *tgt, *starts;
    int n, nstarts, targets;
};

struct pack *ft_pack(const struct examples *e, const size_t *order, int ctx, size_t *npacks);
void ft_packs_free(struct pack *p, size_t n);
/* A hash of the packs' tokens and targets (a resumed run must see the
 * same data). */
void ft_packs_digest(const struct pack *p, size_t n, char out[65]);

/* Seeded permutation of 0..n-1 (Fisher-Yates). */
void ft_shuffle(size_t *v, size_t n, uint64_t seed);

/* Linear warm-up over warmup steps (lr / warmup at step 1), then cosine
 * decay from lr towards 0, which the step after the last would reach
 * (steps from 1). */
double ft_lr(double lr, int step, int warmup, int steps);

/* Checkpoints: the adapter's tensors with AdamW's moments, the step
 * done and a fingerprint of the run's settings and data, in one GGUF file
 * written atomically (temporary file, fsync, rename). */
struct trainer;
int ft_checkpoint_save(struct trainer *t, const struct decoder *m, const char *path, int step,
                       const char *fingerprint, lode_error *err);
/* The step the checkpoint had done; -1 when it cannot be read or belongs
 * to another run (other settings or data). */
int ft_checkpoint_load(struct trainer *t, const char *path, const char *fingerprint,
                       lode_error *err);

#endif
