/* hnsw.c - hnsw.h's graph: levels drawn from a seeded stream, greedy descent
 * and beam search with visited lists per thread, neighbour selection by
 * the heuristic, deletions kept for navigation, and exact search. */
#include "store/hnsw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "base/heap.h"
#include "base/util.h"
#include "model/kernels.h"

/* ---- heaps of (score, node) ---- */

struct item {
    float s;
    uint32_t n;
};

struct heap {
    HEAP_FIELDS(struct item);
    int max; /* 1: largest score on top */
};

static inline int above(const struct heap *h, const struct item *a, const struct item *b)
{
    return h->max ? a->s > b->s : a->s < b->s;
}

HEAP_DEFINE(heap, struct item, above)

/* ---- visited marks: one list per concurrent search, from a pool ---- */

struct vlist {
    uint16_t *mark; /* mark[node] == gen: visited in this search */
    uint16_t gen;
    uint32_t cap;
    struct vlist *next;
};

struct hnsw_pool {
    pthread_mutex_t lock;
    struct vlist *free;
};

static struct vlist *vlist_get(const struct hnsw *h)
{
    pthread_mutex_lock(&h->pool->lock);
    struct vlist *v = h->pool->free;
    if (v)
        h->pool->free = v->next;
    pthread_mutex_unlock(&h->pool->lock);
    if (!v)
        v = xcalloc(1, sizeof *v);
    if (v->cap < h->cap) {
        free(v->mark);
        v->mark = xcalloc(h->cap, sizeof *v->mark);
        v->cap = h->cap;
        v->gen = 0;
    }
    if (++v->gen == 0) {
        memset(v->mark, 0, v->cap * sizeof *v->mark);
        v->gen = 1;
    }
    return v;
}

static void vlist_put(const struct hnsw *h, struct vlist *v)
{
    pthread_mutex_lock(&h->pool->lock);
    v->next = h->pool->free;
    h->pool->free = v;
    pthread_mutex_unlock(&h->pool->lock);
}

static inline int visit(struct vlist *v, uint32_t node)
{
    if (v->mark[node] == v->gen)
        return 0;
    v->mark[node] = v->gen;
    return 1;
}

/* ---- vectors and scores ---- */

void hnsw_init(struct hnsw *h, int dim, int M, int efc, int int8, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    M = M < 2 ? 2 : M > HNSW_MAX_LINKS / 2 ? HNSW_MAX_LINKS / 2 : M;
    h->dim = dim;
    h->M = M;
    h->M0 = 2 * M;
    h->efc = efc;
    h->int8 = int8;
    h->entry = -1;
    h->seed = seed;
    h->locking = 1;
    h->pool = xcalloc(1, sizeof *h->pool);
    pthread_mutex_init(&h->pool->lock, NULL);
    h->locks = xcalloc(HNSW_STRIPES, sizeof *h->locks);
    for (int i = 0; i < HNSW_STRIPES; i++)
        pthread_mutex_init(&h->locks[i], NULL);
    pthread_mutex_init(&h->global, NULL);
}

void hnsw_free(struct hnsw *h)
{
    for (uint32_t i = 0; i < h->cap; i++)
        free(h->upper ? h->upper[i] : NULL);
    free(h->upper);
    free(h->vf);
    free(h->vq);
    free(h->scale);
    free(h->level);
    free(h->deleted);
    free(h->dirty);
    free(h->links0);
    if (h->locks)
        for (int i = 0; i < HNSW_STRIPES; i++)
            pthread_mutex_destroy(&h->locks[i]);
    free(h->locks);
    pthread_mutex_destroy(&h->global);
    if (h->pool) {
        for (struct vlist *v = h->pool->free, *next; v; v = next) {
            next = v->next;
            free(v->mark);
            free(v);
        }
        pthread_mutex_destroy(&h->pool->lock);
        free(h->pool);
    }
    memset(h, 0, sizeof *h);
}

void hnsw_reserve(struct hnsw *h, uint32_t cap)
{
    if (cap <= h->cap)
        return;
    /* half as much again, or what is asked: amortised, without doubling
     * a large reservation */
    uint64_t grown = (uint64_t)h->cap + h->cap / 2;
    uint32_t n = grown > cap && grown <= UINT32_MAX ? (uint32_t)grown : cap;
    if (n < 1024)
        n = 1024;
    size_t d = (size_t)h->dim, old = h->cap, add = n - old;
    if (h->int8) {
        h->vq = xreallocarray(h->vq, n, d);
        h->scale = xreallocarray(h->scale, n, sizeof *h->scale);
        memset(h->vq + old * d, 0, add * d);
        memset(h->scale + old, 0, add * sizeof *h->scale);
    } else {
        h->vf = xreallocarray(h->vf, n, d * sizeof *h->vf);
        memset(h->vf + old * d, 0, add * d * sizeof *h->vf);
    }
    h->level = xreallocarray(h->level, n, 1);
    memset(h->level + old, -1, add);
    h->deleted = xreallocarray(h->deleted, n, 1);
    memset(h->deleted + old, 0, add);
    h->dirty = xreallocarray(h->dirty, n, 1);
    memset(h->dirty + old, 0, add);
    h->links0 = xreallocarray(h->links0, n, sizeof(uint32_t) * (size_t)(1 + h->M0));
    memset(h->links0 + old * (size_t)(1 + h->M0), 0, add * sizeof(uint32_t) * (size_t)(1 + h->M0));
    h->upper = xreallocarray(h->upper, n, sizeof *h->upper);
    memset(h->upper + old, 0, add * sizeof *h->upper);
    h->cap = n;
}

void hnsw_set_vector(struct hnsw *h, uint32_t node, const float *v)
{
    hnsw_reserve(h, node + 1);
    double s = 0;
    for (int i = 0; i < h->dim; i++)
        s += (double)v[i] * v[i];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0;
    if (h->int8) {
        float mx = 0;
        for (int i = 0; i < h->dim; i++)
            mx = fabsf(v[i] * inv) > mx ? fabsf(v[i] * inv) : mx;
        float sc = mx > 0 ? mx / 127.0f : 1;
        int8_t *q = h->vq + (size_t)node * h->dim;
        for (int i = 0; i < h->dim; i++)
            q[i] = (int8_t)lrintf(v[i] * inv / sc);
        h->scale[node] = sc;
    } else {
        float *f = h->vf + (size_t)node * h->dim;
        for (int i = 0; i < h->dim; i++)
            f[i] = v[i] * inv;
    }
}

void hnsw_copy_vector(struct hnsw *dst, const struct hnsw *src, uint32_t node)
{
    hnsw_reserve(dst, node + 1);
    size_t d = (size_t)src->dim;
    if (src->int8) {
        memcpy(dst->vq + node * d, src->vq + node * d, d);
        dst->scale[node] = src->scale[node];
    } else {
        memcpy(dst->vf + node * d, src->vf + node * d, d * sizeof *dst->vf);
    }
}

int hnsw_vector(const struct hnsw *h, uint32_t node, float *out)
{
    if (node >= h->cap || h->level[node] < 0 || h->deleted[node])
        return -1;
    size_t d = (size_t)h->dim;
    if (h->int8)
        for (size_t i = 0; i < d; i++)
            out[i] = h->vq[node * d + i] * h->scale[node];
    else
        memcpy(out, h->vf + node * d, d * sizeof *out);
    return 0;
}

float hnsw_score(const struct hnsw *h, const float *q, uint32_t node)
{
    if (h->int8)
        return dot_f32_i8(q, h->vq + (size_t)node * h->dim, h->dim) * h->scale[node];
    return dot_f32(q, h->vf + (size_t)node * h->dim, h->dim);
}

/* A node's vector as floats, for comparing stored nodes with each other. */
static const float *as_float(const struct hnsw *h, uint32_t node, float *tmp)
{
    if (!h->int8)
        return h->vf + (size_t)node * h->dim;
    const int8_t *q = h->vq + (size_t)node * h->dim;
    for (int i = 0; i < h->dim; i++)
        tmp[i] = q[i] * h->scale[node];
    return tmp;
}

/* ---- links ---- */

static uint32_t *links(const struct hnsw *h, uint32_t node, int layer)
{
    if (layer == 0)
        return h->links0 + (size_t)node * (1 + h->M0);
    return h->upper[node] + (size_t)(layer - 1) * (1 + h->M);
}

static pthread_mutex_t *lock_of(const struct hnsw *h, uint32_t node)
{
    return &h->locks[node % HNSW_STRIPES];
}

/* A node's links at a layer: under its lock into out while inserts may
 * run, else in place. Returns the count. */
static uint32_t read_links(const struct hnsw *h, uint32_t node, int layer, uint32_t *out,
                           const uint32_t **list)
{
    const uint32_t *l = links(h, node, layer);
    if (!h->locking) {
        *list = l + 1;
        return l[0];
    }
    pthread_mutex_lock(lock_of(h, node));
    uint32_t n = l[0];
    memcpy(out, l + 1, n * sizeof *out);
    pthread_mutex_unlock(lock_of(h, node));
    *list = out;
    return n;
}

static inline void prefetch_vector(const struct hnsw *h, uint32_t node)
{
    if (h->int8)
        __builtin_prefetch(h->vq + (size_t)node * h->dim);
    else
        __builtin_prefetch(h->vf + (size_t)node * h->dim);
}

/* ---- search ---- */

struct ctx {
    int (*accept)(void *ud, uint32_t node);
    void *ud;
    int skip_deleted;
};

static int acceptable(const struct hnsw *h, const struct ctx *c, uint32_t node)
{
    if (c->skip_deleted && h->deleted[node])
        return 0;
    return !c->accept || c->accept(c->ud, node);
}

/* The ef best nodes reachable from ep at a layer: results as a min-heap. */
static void search_layer(const struct hnsw *h, const float *q, uint32_t ep, int ef, int layer,
                         const struct ctx *c, struct heap *results)
{
    struct heap cand = {NULL, 0, 0, 1};
    struct vlist *vis = vlist_get(h);
    uint32_t buf[HNSW_MAX_LINKS];
    const uint32_t *list;
    results->max = 0;
    results->n = 0;
    visit(vis, ep);
    float s = hnsw_score(h, q, ep);
    heap_push(&cand, (struct item){s, ep});
    if (acceptable(h, c, ep))
        heap_push(results, (struct item){s, ep});
    while (cand.n) {
        struct item it = heap_pop(&cand);
        if (results->n >= (size_t)ef && it.s < results->v[0].s)
            break;
        uint32_t n = read_links(h, it.n, layer, buf, &list);
        if (n)
            prefetch_vector(h, list[0]);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t e = list[i];
            if (i + 1 < n)
                prefetch_vector(h, list[i + 1]);
            if (!visit(vis, e))
                continue;
            float se = hnsw_score(h, q, e);
            if (results->n < (size_t)ef || se > results->v[0].s) {
                heap_push(&cand, (struct item){se, e});
                if (acceptable(h, c, e)) {
                    heap_push(results, (struct item){se, e});
                    if (results->n > (size_t)ef)
                        heap_pop(results);
                }
            }
        }
    }
    free(cand.v);
    vlist_put(h, vis);
}

/* Greedy walk at an upper layer to the node closest to q. */
static uint32_t greedy(const struct hnsw *h, const float *q, uint32_t ep, int layer)
{
    float best = hnsw_score(h, q, ep);
    uint32_t buf[HNSW_MAX_LINKS];
    const uint32_t *list;
    for (int changed = 1; changed;) {
        changed = 0;
        uint32_t n = read_links(h, ep, layer, buf, &list);
        for (uint32_t i = 0; i < n; i++) {
            float s = hnsw_score(h, q, list[i]);
            if (s > best) {
                best = s;
                ep = list[i];
                changed = 1;
            }
        }
    }
    return ep;
}

static int by_score_desc(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    return x->s < y->s ? 1 : x->s > y->s ? -1 : (x->n > y->n) - (x->n < y->n);
}

/* Malkov's heuristic: keep a candidate only when it is closer to the base
 * than to every neighbour kept so far. cand is sorted best first. */
static size_t select_neighbours(const struct hnsw *h, const struct item *cand, size_t n, int m,
                                uint32_t *out)
{
    size_t kept = 0;
    float *tmp = xmalloc(sizeof(float) * (size_t)h->dim);
    for (size_t i = 0; i < n && kept < (size_t)m; i++) {
        const float *v = as_float(h, cand[i].n, tmp);
        int good = 1;
        for (size_t j = 0; j < kept && good; j++)
            if (hnsw_score(h, v, out[j]) > cand[i].s)
                good = 0;
        if (good)
            out[kept++] = cand[i].n;
    }
    free(tmp);
    return kept;
}

static void connect(struct hnsw *h, uint32_t node, uint32_t other, int layer, float *tmp)
{
    int cap = layer == 0 ? h->M0 : h->M;
    pthread_mutex_lock(lock_of(h, other));
    uint32_t *l = links(h, other, layer);
    h->dirty[other] = 1;
    if (l[0] < (uint32_t)cap) {
        l[1 + l[0]++] = node;
    } else {
        /* too many: choose again among its links and the new node */
        struct item *c = xmalloc(sizeof *c * (size_t)(cap + 1));
        const float *v = as_float(h, other, tmp);
        for (uint32_t i = 0; i < l[0]; i++)
            c[i] = (struct item){hnsw_score(h, v, l[1 + i]), l[1 + i]};
        c[cap] = (struct item){hnsw_score(h, v, node), node};
        qsort(c, (size_t)cap + 1, sizeof *c, by_score_desc);
        uint32_t *kept = xmalloc(sizeof *kept * (size_t)cap);
        size_t k = select_neighbours(h, c, (size_t)cap + 1, cap, kept);
        l[0] = (uint32_t)k;
        memcpy(l + 1, kept, k * sizeof *kept);
        free(kept);
        free(c);
    }
    pthread_mutex_unlock(lock_of(h, other));
}

static int random_level(const struct hnsw *h, uint32_t node)
{
    /* splitmix64 of (seed, node): a node's level does not depend on order */
    uint64_t z = h->seed + 0x9E3779B97F4A7C15ull * ((uint64_t)node + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = ((z >> 11) + 1.0) / 9007199254740993.0;
    int l = (int)(-log(u) / log((double)h->M));
    return l > 16 ? 16 : l;
}

static void set_level(struct hnsw *h, uint32_t node, int level)
{
    h->level[node] = (int8_t)level;
    h->dirty[node] = 1;
    if (level > 0)
        h->upper[node] = xcalloc((size_t)level * (size_t)(1 + h->M), sizeof(uint32_t));
}

void hnsw_insert(struct hnsw *h, uint32_t node)
{
    int level = random_level(h, node);
    pthread_mutex_lock(&h->global);
    set_level(h, node, level);
    h->count++;
    h->live++;
    if (h->entry < 0) {
        h->entry = node;
        h->maxlevel = level;
        pthread_mutex_unlock(&h->global);
        return;
    }
    uint32_t ep = (uint32_t)h->entry;
    int top = h->maxlevel;
    int raise = level > top;
    if (!raise)
        pthread_mutex_unlock(&h->global); /* a new top keeps the lock to the end */
    float *tmp = xmalloc(sizeof(float) * (size_t)h->dim);
    const float *q = as_float(h, node, tmp);
    float *tmp2 = xmalloc(sizeof(float) * (size_t)h->dim);
    for (int l = top; l > level; l--)
        ep = greedy(h, q, ep, l);
    struct ctx c = {NULL, NULL, 0};
    struct heap res = {0};
    uint32_t *chosen = xmalloc(sizeof(uint32_t) * (size_t)(h->M0 + 1));
    for (int l = level < top ? level : top; l >= 0; l--) {
        search_layer(h, q, ep, h->efc, l, &c, &res);
        struct item *cand = xmalloc(sizeof *cand * (res.n + 1));
        size_t n = 0;
        while (res.n) {
            struct item it = heap_pop(&res);
            if (it.n != node)
                cand[n++] = it;
        }
        qsort(cand, n, sizeof *cand, by_score_desc);
        size_t k = select_neighbours(h, cand, n, h->M, chosen);
        pthread_mutex_lock(lock_of(h, node));
        uint32_t *mine = links(h, node, l);
        h->dirty[node] = 1;
        mine[0] = (uint32_t)k;
        memcpy(mine + 1, chosen, k * sizeof *chosen);
        pthread_mutex_unlock(lock_of(h, node));
        for (size_t i = 0; i < k; i++)
            connect(h, node, chosen[i], l, tmp2);
        if (n)
            ep = cand[0].n;
        free(cand);
    }
    free(chosen);
    free(res.v);
    free(tmp);
    free(tmp2);
    if (raise) {
        h->entry = node;
        h->maxlevel = level;
        pthread_mutex_unlock(&h->global);
    }
}

void hnsw_restore(struct hnsw *h, uint32_t node, int level, const uint32_t *const *l,
                  const uint32_t *counts)
{
    hnsw_reserve(h, node + 1);
    set_level(h, node, level);
    for (int i = 0; i <= level; i++) {
        uint32_t cap = i == 0 ? (uint32_t)h->M0 : (uint32_t)h->M;
        uint32_t n = counts[i] < cap ? counts[i] : cap;
        uint32_t *dst = links(h, node, i);
        memcpy(dst + 1, l[i], n * sizeof *dst);
        dst[0] = n; /* hnsw_check() drops links to nodes that are not there */
    }
    h->count++;
    h->live++;
    if (h->entry < 0 || level > h->maxlevel) {
        h->entry = node;
        h->maxlevel = level;
    }
}

size_t hnsw_check(struct hnsw *h)
{
    size_t dropped = 0;
    for (uint32_t i = 0; i < h->cap; i++)
        for (int l = 0; l <= h->level[i]; l++) {
            uint32_t *a = links(h, i, l), kept = 0;
            for (uint32_t k = 0; k < a[0]; k++) {
                uint32_t e = a[1 + k];
                if (e < h->cap && h->level[e] >= l && e != i)
                    a[1 + kept++] = e;
                else
                    dropped++;
            }
            a[0] = kept;
        }
    return dropped;
}

void hnsw_clean(struct hnsw *h)
{
    if (h->cap)
        memset(h->dirty, 0, h->cap);
}

void hnsw_delete(struct hnsw *h, uint32_t node)
{
    if (node < h->cap && h->level[node] >= 0 && !h->deleted[node]) {
        h->deleted[node] = 1;
        h->live--;
    }
}

size_t hnsw_search(const struct hnsw *h, const float *q, size_t k, int ef,
                   int (*accept)(void *ud, uint32_t node), void *ud, struct hnsw_hit *out)
{
    if (h->entry < 0 || !k)
        return 0;
    if ((size_t)ef < k)
        ef = (int)k;
    uint32_t ep = (uint32_t)h->entry;
    for (int l = h->maxlevel; l > 0; l--)
        ep = greedy(h, q, ep, l);
    struct ctx c = {accept, ud, 1};
    struct heap res = {0};
    search_layer(h, q, ep, ef, 0, &c, &res);
    while (res.n > k)
        heap_pop(&res);
    size_t n = res.n;
    for (size_t i = n; i > 0; i--) {
        struct item it = heap_pop(&res);
        out[i - 1] = (struct hnsw_hit){it.n, it.s};
    }
    free(res.v);
    return n;
}

/* The k best of nodes[0, n) (all nodes when nodes is NULL), scores from
 * all[] where given */
static size_t exact_over(const struct hnsw *h, const float *q, const uint32_t *nodes, size_t n,
                         size_t k, const struct ctx *c, const float *all, struct hnsw_hit *out)
{
    struct heap res = {NULL, 0, 0, 0};
    for (size_t j = 0; j < n; j++) {
        uint32_t i = nodes ? nodes[j] : (uint32_t)j;
        if (i >= h->cap || h->level[i] < 0 || !acceptable(h, c, i))
            continue;
        float s = all ? all[i] : hnsw_score(h, q, i);
        if (res.n < k) {
            heap_push(&res, (struct item){s, i});
        } else if (k && s > res.v[0].s) {
            heap_pop(&res);
            heap_push(&res, (struct item){s, i});
        }
    }
    size_t got = res.n;
    for (size_t i = got; i > 0; i--) {
        struct item it = heap_pop(&res);
        out[i - 1] = (struct hnsw_hit){it.n, it.s};
    }
    free(res.v);
    return got;
}

size_t hnsw_exact(const struct hnsw *h, const float *q, size_t k,
                  int (*accept)(void *ud, uint32_t node), void *ud, struct hnsw_hit *out)
{
    struct ctx c = {accept, ud, 1};
    float *all = NULL;
    if (!h->int8 && h->cap) {
        /* every score at once: one matrix-vector product */
        all = xmalloc(sizeof *all * h->cap);
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)h->cap, h->dim, 1.0f, h->vf, h->dim, q, 1,
                    0.0f, all, 1);
    }
    size_t got = exact_over(h, q, NULL, h->cap, k, &c, all, out);
    free(all);
    return got;
}

size_t hnsw_exact_among(const struct hnsw *h, const float *q, const uint32_t *nodes, size_t n,
                        size_t k, int (*accept)(void *ud, uint32_t node), void *ud,
                        struct hnsw_hit *out)
{
    struct ctx c = {accept, ud, 1};
    return exact_over(h, q, nodes, n, k, &c, NULL, out);
}
