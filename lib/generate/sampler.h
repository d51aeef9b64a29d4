/* sampler.h - choosing the next token from the logits.
 *
 * In llama.cpp's order: the repetition penalty over the last 64 tokens
 * (logits above 0 divided by it, below 0 multiplied), then greedy when the
 * temperature is 0, else top-k, temperature, top-p (the smallest set whose
 * probability reaches p), min-p (tokens at least min_p times as likely as
 * the best), and a draw from what is left. The generator is seeded, so
 * the same seed gives the same text.
 */
#ifndef LODE_SAMPLER_H
#define LODE_SAMPLER_H

#include <stdint.h>

struct sampler {
    float temperature, top_p, min_p, repeat_penalty;
    int top_k;
    uint64_t state; /* the generator */
    int *recent;    /* the last tokens, for the penalty */
    int nrecent, cap;
    struct cand {
        float p;
        int id;
    } * c;
    int nc;
};

void sampler_init(struct sampler *s, float temperature, int top_k, float top_p, float min_p,
                  float repeat_penalty, uint64_t seed);
void sampler_free(struct sampler *s);
/* Remembers a token given or chosen (the prompt's too). */
void sampler_accept(struct sampler *s, int id);
/* Chooses from logits[n] (which it may change). */
int sampler_next(struct sampler *s, float *logits, int n);

#endif
