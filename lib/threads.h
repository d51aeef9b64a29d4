/* threads.h - the small thread pool for work BLAS does not parallelise.
 *
 * parallel_for() runs fn(ctx, i, worker) for every i in [0, n) on `threads`
 * threads (the caller's included), each taking the next i as it finishes
 * the last, and returns when all are done. worker is 0..threads-1, so fn can
 * use per-worker scratch space.
 */
#ifndef LODE_THREADS_H
#define LODE_THREADS_H

#include <stddef.h>

void parallel_for(int threads, size_t n, void (*fn)(void *ctx, size_t i, int worker), void *ctx);

#endif
