/* sampler.c - sampler.h's choice of the next token, in llama.cpp's order:
 * the repetition penalty, top-k, temperature, top-p, min-p, and a draw from
 * a seeded SplitMix64 stream; greedy at temperature 0. */
#include "generate/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define RECENT 64

void sampler_init(struct sampler *s, float temperature, int top_k, float top_p, float min_p,
                  float repeat_penalty, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->temperature = temperature;
    s->top_k = top_k;
    s->top_p = top_p;
    s->min_p = min_p;
    s->repeat_penalty = repeat_penalty;
    s->state = seed * 0x9E3779B97F4A7C15ull + 1;
    s->recent = xmalloc(sizeof *s->recent * RECENT);
}

void sampler_free(struct sampler *s)
{
    free(s->recent);
    free(s->c);
    memset(s, 0, sizeof *s);
}

void sampler_accept(struct sampler *s, int id)
{
    if (s->nrecent == RECENT) {
        memmove(s->recent, s->recent + 1, sizeof *s->recent * (RECENT - 1));
        s->nrecent--;
    }
    s->recent[s->nrecent++] = id;
}

static double uniform(struct sampler *s)
{
    return uniform01(&s->state);
}

static int by_p(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return x->p < y->p ? 1 : x->p > y->p ? -1 : x->id - y->id;
}

int sampler_next(struct sampler *s, float *logits, int n)
{
    if (s->repeat_penalty != 1.0f)
        for (int i = 0; i < s->nrecent; i++) {
            int id = s->recent[i];
            if (id < 0 || id >= n)
                continue;
            /* once per distinct token */
            int seen = 0;
            for (int j = 0; j < i && !seen; j++)
                seen = s->recent[j] == id;
            if (!seen)
                logits[id] = logits[id] > 0 ? logits[id] / s->repeat_penalty
                                            : logits[id] * s->repeat_penalty;
        }
    int best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best])
            best = i;
    if (s->temperature <= 0)
        return best;
    if (s->nc < n) {
        s->c = xreallocarray(s->c, (size_t)n, sizeof *s->c);
        s->nc = n;
    }
    int k = s->top_k > 0 && s->top_k < n ? s->top_k : n;
    if (k == n) {
        for (int i = 0; i < n; i++)
            s->c[i] = (struct cand){logits[i], i};
    } else {
        /* the k best through a min-heap of k: no sort of the vocabulary */
        int h = 0;
        for (int i = 0; i < n; i++) {
            struct cand c = {logits[i], i};
            if (h == k && c.p <= s->c[0].p)
                continue;
            int at;
            if (h < k) {
                at = h++;
                while (at && s->c[(at - 1) / 2].p > c.p) {
                    s->c[at] = s->c[(at - 1) / 2];
                    at = (at - 1) / 2;
                }
            } else {
                at = 0;
                for (;;) {
                    int ch = 2 * at + 1;
                    if (ch >= k)
                        break;
                    if (ch + 1 < k && s->c[ch + 1].p < s->c[ch].p)
                        ch++;
                    if (s->c[ch].p >= c.p)
                        break;
                    s->c[at] = s->c[ch];
                    at = ch;
                }
            }
            s->c[at] = c;
        }
    }
    qsort(s->c, (size_t)k, sizeof *s->c, by_p);
    double sum = 0, mx = s->c[0].p;
    for (int i = 0; i < k; i++) {
        s->c[i].p = (float)exp((s->c[i].p - mx) / s->temperature);
        sum += s->c[i].p;
    }
    double acc = 0;
    int keep = k;
    for (int i = 0; i < k; i++) {
        s->c[i].p = (float)(s->c[i].p / sum);
        acc += s->c[i].p;
        if (s->top_p < 1 && acc >= s->top_p) {
            keep = i + 1;
            break;
        }
    }
    int m = 1;
    while (m < keep && s->c[m].p >= s->min_p * s->c[0].p)
        m++;
    double total = 0;
    for (int i = 0; i < m; i++)
        total += s->c[i].p;
    double r = uniform(s) * total;
    for (int i = 0; i < m; i++) {
        r -= s->c[i].p;
        if (r <= 0)
            return s->c[i].id;
    }
    return s->c[m - 1].id;
}
