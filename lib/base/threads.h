/* threads.h - the small thread pool for work BLAS does not parallelise.
 *
 * parallel_for() runs fn(ctx, i, worker) for every i in [0, n) on `threads`
 * threads (the caller's included), each taking the next i as it finishes
 * the last, and returns when all are done. worker is 0..threads-1, so fn can
 * use per-worker scratch space. When the system has no more threads to
 * give, fewer run (at least the caller) and do all the work.
 */
#ifndef LODE_THREADS_H
#define LODE_THREADS_H

#include <stddef.h>
#include <stdint.h>

void parallel_for(int threads, size_t n, void (*fn)(void *ctx, size_t i, int worker), void *ctx);

/* A team: threads that stay for many short jobs (a decoder runs a few
 * hundred per token, too many to start threads for each). team_run() runs
 * fn(ctx, worker, n) on every member at once, the caller being worker 0,
 * and returns when all have returned. Idle members spin a little, then
 * sleep. A team belongs to the thread that made it; when the system has no
 * more threads to give it is smaller than asked (team_size() says). */
struct team;

struct team *team_new(int threads);
void team_free(struct team *t);
int team_size(const struct team *t);
void team_run(struct team *t, void (*fn)(void *ctx, int worker, int n), void *ctx);
/* The part [*lo, *hi) of n items that worker w of nw takes. */
void team_share(int64_t n, int w, int nw, int64_t *lo, int64_t *hi);
/* The same in whole units of unit items (a kernel's tile), the last unit
 * cut at n; empty (*lo >= *hi) for a worker left without one. */
void team_share_units(int64_t n, int64_t unit, int w, int nw, int64_t *lo, int64_t *hi);

#endif
