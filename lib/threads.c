#include "threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct shared {
    void (*fn)(void *ctx, size_t i, int worker);
    void *ctx;
    size_t n;
    atomic_size_t next;
};

struct arg {
    struct shared *s;
    int worker;
};

static void *run(void *p)
{
    struct arg *a = p;
    for (;;) {
        size_t i = atomic_fetch_add(&a->s->next, 1);
        if (i >= a->s->n)
            break;
        a->s->fn(a->s->ctx, i, a->worker);
    }
    return NULL;
}

void parallel_for(int threads, size_t n, void (*fn)(void *ctx, size_t i, int worker), void *ctx)
{
    struct shared s = {fn, ctx, n, 0};
    if (threads > (int)n)
        threads = (int)n;
    if (threads <= 1) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i, 0);
        return;
    }
    pthread_t *t = xcalloc((size_t)threads, sizeof *t);
    struct arg *args = xcalloc((size_t)threads, sizeof *args);
    for (int w = 1; w < threads; w++) {
        args[w].s = &s;
        args[w].worker = w;
        if (pthread_create(&t[w], NULL, run, &args[w]) != 0)
            die("cannot start a thread");
    }
    args[0].s = &s;
    run(&args[0]);
    for (int w = 1; w < threads; w++)
        pthread_join(t[w], NULL);
    free(t);
    free(args);
}
