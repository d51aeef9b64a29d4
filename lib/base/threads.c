/* threads.c - threads.h's two ways to run on several cores: parallel_for
 * (threads started per call, items taken from a shared counter) and the
 * persistent team (spin, then sleep; shares by team_share), both going on
 * with fewer threads when the system has no more. */
#include "base/threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

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
    /* items are taken from a shared counter: a thread that cannot start
     * (out of threads) leaves its items to the others */
    int started = 1;
    for (int w = 1; w < threads; w++, started++) {
        args[w].s = &s;
        args[w].worker = w;
        if (pthread_create(&t[w], NULL, run, &args[w]) != 0)
            break;
    }
    args[0].s = &s;
    run(&args[0]);
    for (int w = 1; w < started; w++)
        pthread_join(t[w], NULL);
    free(t);
    free(args);
}

/* ---- teams ---- */

#define TEAM_SPINS 200000 /* about a millisecond of waiting before sleeping */

struct team {
    int n;
    pthread_t *th;
    atomic_uint gen;    /* counted up for each job */
    atomic_int pending; /* members still working on it */
    atomic_int sleepers;
    atomic_int stop;
    void (*fn)(void *ctx, int worker, int n);
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct member {
    struct team *t;
    int w;
};

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *member_main(void *p)
{
    struct member *m = p;
    struct team *t = m->t;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&t->gen)) == seen) {
            if (++spins < TEAM_SPINS) {
                /* now and then let a descheduled member of the team have
                 * the CPU (more threads than cores): the next job needs it */
                if (spins % 1024 == 0)
                    sched_yield();
                else
                    relax();
                continue;
            }
            pthread_mutex_lock(&t->mu);
            atomic_fetch_add(&t->sleepers, 1);
            while (atomic_load(&t->gen) == seen)
                pthread_cond_wait(&t->cv, &t->mu);
            atomic_fetch_sub(&t->sleepers, 1);
            pthread_mutex_unlock(&t->mu);
            spins = 0;
        }
        seen = g;
        if (atomic_load(&t->stop))
            break;
        t->fn(t->ctx, m->w, t->n);
        atomic_fetch_sub(&t->pending, 1);
    }
    free(m);
    return NULL;
}

struct team *team_new(int threads)
{
    struct team *t = xcalloc(1, sizeof *t);
    t->n = threads < 1 ? 1 : threads;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->th = xcalloc((size_t)t->n, sizeof *t->th);
    for (int w = 1; w < t->n; w++) {
        struct member *m = xmalloc(sizeof *m);
        m->t = t;
        m->w = w;
        if (pthread_create(&t->th[w], NULL, member_main, m) != 0) {
            /* out of threads: a smaller team (members read its size per job) */
            free(m);
            t->n = w;
            break;
        }
    }
    return t;
}

static void wake(struct team *t)
{
    if (atomic_load(&t->sleepers)) {
        pthread_mutex_lock(&t->mu);
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
}

void team_free(struct team *t)
{
    if (!t)
        return;
    atomic_store(&t->stop, 1);
    pthread_mutex_lock(&t->mu);
    atomic_fetch_add(&t->gen, 1);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    for (int w = 1; w < t->n; w++)
        pthread_join(t->th[w], NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t->th);
    free(t);
}

int team_size(const struct team *t)
{
    return t ? t->n : 1;
}

void team_run(struct team *t, void (*fn)(void *ctx, int worker, int n), void *ctx)
{
    if (!t || t->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    t->fn = fn;
    t->ctx = ctx;
    atomic_store(&t->pending, t->n - 1);
    atomic_fetch_add(&t->gen, 1);
    wake(t);
    fn(ctx, 0, t->n);
    /* members may be descheduled (more threads than cores): yield to them */
    for (int spins = 1; atomic_load(&t->pending); spins++)
        if (spins < TEAM_SPINS && spins % 1024)
            relax();
        else
            sched_yield();
}

void team_share(int64_t n, int w, int nw, int64_t *lo, int64_t *hi)
{
    /* the remainder goes to the last members: worker 0, the caller, also
     * does the serial work around the jobs */
    int64_t per = n / nw, extra = n % nw, r = nw - 1 - w;
    *hi = n - (r * per + (r < extra ? r : extra));
    *lo = *hi - per - (r < extra);
}

void team_share_units(int64_t n, int64_t unit, int w, int nw, int64_t *lo, int64_t *hi)
{
    team_share((n + unit - 1) / unit, w, nw, lo, hi);
    *lo *= unit;
    *hi = *hi * unit < n ? *hi * unit : n;
}
