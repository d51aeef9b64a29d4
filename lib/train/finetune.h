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
    unsigned char *learn; /* learn[i]: ids[i] is predicted (from ids[i - 1]) */
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

/* ---- a training run (lode-finetune) ---- */

struct ft_config {
    const char *out;          /* the adapter's path; the checkpoint is OUT.ckpt */
    const char *merge;        /* also the base with the adapter merged in, or NULL */
    const char *targets_name; /* --targets as given (in the run's fingerprint) */
    unsigned targets;         /* lora.h's target mask */
    int rank, ctx, epochs, steps, batch, accum, warmup, eval_every, save_every, resume, threads;
    double alpha, dropout, lr, weight_decay, clip;
    uint64_t seed;
    int fault_step; /* a test hook: SIGKILL after this step (LODE_FAULT_STEP); 0 none */
};

/* What a run tells its program: every record it writes (steps, the
 * evaluations, the final one; the callee takes rec) and its progress. */
struct ft_hooks {
    void (*record)(void *ud, json_t *rec);
    void (*progress)(void *ud, int step, int steps, double loss, double tokens_per_second);
    void *ud;
};

struct ft_totals {
    int steps; /* steps this run took (a resumed run fewer) */
    long long tokens;
    double seconds;
};

/* Trains an adapter on train's examples (packed, shuffled by seed, epochs
 * or steps; with warm-up and cosine decay, AdamW, clipping), evaluating on
 * held when it has examples (at the start, every eval_every steps, at the
 * end), checkpointing every save_every steps, resuming from OUT.ckpt when
 * asked and the checkpoint is this run's; writes the adapter, and the
 * merged model when asked. 0, or a negative code (err says why). */
int ft_train(struct decoder *m, const struct ft_config *c, const struct examples *train,
             const struct examples *held, const struct ft_hooks *h, struct ft_totals *tot,
             lode_error *err);

#endif
