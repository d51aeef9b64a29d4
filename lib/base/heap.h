/* heap.h - a binary heap (priority queue) of any element type, written
 * once as a template so that hot loops (HNSW's candidate lists, BPE's
 * merges) keep a typed, inlined comparison.
 *
 *     struct cands { HEAP_FIELDS(struct item); int max; };
 *     static int before(const struct cands *h, const struct item *a, const struct item *b);
 *     HEAP_DEFINE(cands, struct item, before)
 *
 * defines cands_push(h, x) and cands_pop(h) (h->n > 0), where before(h, a,
 * b) says that a comes out before b. A zeroed heap is empty; free(h->v)
 * when done.
 */
#ifndef LODE_HEAP_H
#define LODE_HEAP_H

#include <stddef.h>

#include "base/util.h"

#define HEAP_FIELDS(T) \
    T *v;              \
    size_t n, cap

#define HEAP_DEFINE(NAME, T, BEFORE)                               \
    static inline void NAME##_push(struct NAME *h, T x)            \
    {                                                              \
        if (h->n == h->cap) {                                      \
            h->cap = h->cap ? h->cap * 2 : 64;                     \
            h->v = xreallocarray(h->v, h->cap, sizeof *h->v);      \
        }                                                          \
        size_t i = h->n++;                                         \
        while (i && BEFORE(h, &x, &h->v[(i - 1) / 2])) {           \
            h->v[i] = h->v[(i - 1) / 2];                           \
            i = (i - 1) / 2;                                       \
        }                                                          \
        h->v[i] = x;                                               \
    }                                                              \
    static inline T NAME##_pop(struct NAME *h)                     \
    {                                                              \
        T top = h->v[0], last = h->v[--h->n];                      \
        size_t i = 0;                                              \
        for (;;) {                                                 \
            size_t c = 2 * i + 1;                                  \
            if (c >= h->n)                                         \
                break;                                             \
            if (c + 1 < h->n && BEFORE(h, &h->v[c + 1], &h->v[c])) \
                c++;                                               \
            if (!BEFORE(h, &h->v[c], &last))                       \
                break;                                             \
            h->v[i] = h->v[c];                                     \
            i = c;                                                 \
        }                                                          \
        if (h->n)                                                  \
            h->v[i] = last;                                        \
        return top;                                                \
    }

#endif
