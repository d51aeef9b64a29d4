/* vectors.c - vectors.h's blocks: the store's vectors and graph nodes read
 * into an HNSW graph (malformed ones refused, dangling links dropped) and
 * the changed ones written back. */
#include "store/vectors.h"

#include <stdlib.h>
#include <string.h>

static size_t block_bytes(const struct hnsw *h)
{
    size_t d = (size_t)h->dim;
    return h->int8 ? STORE_VECTORS_BLOCK * (4 + d) : STORE_VECTORS_BLOCK * d * 4;
}

long vectors_load(struct store *s, struct hnsw *h, lode_error *err)
{
    MDB_cursor *c;
    MDB_val k = {0, NULL}, v;
    size_t bb = block_bytes(h), d = (size_t)h->dim;
    int rc = mdb_cursor_open(s->txn, s->vectors, &c);
    if (rc)
        return store_fail(s, err, rc, "reading the vectors");
    while ((rc = mdb_cursor_get(c, &k, &v, k.mv_data ? MDB_NEXT : MDB_FIRST)) == 0) {
        if (k.mv_size != 4 || v.mv_size != bb) {
            mdb_cursor_close(c);
            return lode_fail(err, LODE_ECORRUPT,
                             "%s: a vector block has the wrong size (damaged store?)", s->dir);
        }
        uint32_t first = get_be32(k.mv_data) * STORE_VECTORS_BLOCK;
        hnsw_reserve(h, first + STORE_VECTORS_BLOCK);
        const unsigned char *p = v.mv_data;
        if (h->int8) {
            for (int i = 0; i < STORE_VECTORS_BLOCK; i++) {
                uint32_t u = get_le32(p + 4 * i);
                memcpy(&h->scale[first + i], &u, 4);
            }
            memcpy(h->vq + (size_t)first * d, p + 4 * STORE_VECTORS_BLOCK, STORE_VECTORS_BLOCK * d);
        } else {
            memcpy(h->vf + (size_t)first * d, p, STORE_VECTORS_BLOCK * d * 4);
        }
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND)
        return store_fail(s, err, rc, "reading the vectors");
    rc = mdb_cursor_open(s->txn, s->graph, &c);
    if (rc)
        return store_fail(s, err, rc, "reading the graph");
    k.mv_data = NULL;
    uint32_t *bufs[17], counts[17];
    const uint32_t *lists[17];
    for (int i = 0; i < 17; i++)
        bufs[i] = xmalloc(sizeof(uint32_t) * (size_t)(2 * h->M + 1));
    int bad = 0;
    while (!bad && (rc = mdb_cursor_get(c, &k, &v, k.mv_data ? MDB_NEXT : MDB_FIRST)) == 0) {
        const unsigned char *p = v.mv_data, *end = p + v.mv_size;
        if (k.mv_size != 4 || v.mv_size < 1 || p[0] > 16) {
            bad = 1;
            break;
        }
        int level = p[0];
        p++;
        for (int l = 0; l <= level && !bad; l++) {
            if (end - p < 2) {
                bad = 1;
                break;
            }
            uint32_t n = (uint32_t)p[0] | (uint32_t)p[1] << 8;
            p += 2;
            if (n > (uint32_t)(l ? h->M : 2 * h->M) || (size_t)(end - p) < 4 * (size_t)n) {
                bad = 1;
                break;
            }
            for (uint32_t i = 0; i < n; i++)
                bufs[l][i] = get_le32(p + 4 * i);
            p += 4 * (size_t)n;
            counts[l] = n;
            lists[l] = bufs[l];
        }
        if (!bad)
            hnsw_restore(h, get_be32(k.mv_data), level, lists, counts);
    }
    for (int i = 0; i < 17; i++)
        free(bufs[i]);
    mdb_cursor_close(c);
    if (bad)
        return lode_fail(err, LODE_ECORRUPT, "%s: a graph node is malformed (damaged store?)",
                         s->dir);
    if (rc != MDB_NOTFOUND)
        return store_fail(s, err, rc, "reading the graph");
    rc = mdb_cursor_open(s->txn, s->deleted, &c);
    if (rc)
        return store_fail(s, err, rc, "reading the deleted vectors");
    k.mv_data = NULL;
    while ((rc = mdb_cursor_get(c, &k, &v, k.mv_data ? MDB_NEXT : MDB_FIRST)) == 0)
        if (k.mv_size == 4)
            hnsw_delete(h, get_be32(k.mv_data));
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND)
        return store_fail(s, err, rc, "reading the deleted vectors");
    int64_t entry = (int64_t)store_meta_u64(s, "hnsw_entry", UINT64_MAX);
    if (entry >= 0 && entry < (int64_t)h->cap && h->level[entry] >= 0) {
        h->entry = entry;
        h->maxlevel = h->level[entry];
    }
    size_t dropped = hnsw_check(h);
    hnsw_clean(h);
    return (long)dropped;
}

static int save_node(struct store *s, struct hnsw *h, uint32_t node)
{
    int level = h->level[node];
    unsigned char key[4];
    put_be32(key, node);
    size_t cap = 1 + (size_t)(level + 1) * (2 + 4 * (size_t)(2 * h->M));
    unsigned char *b = xmalloc(cap), *p = b;
    *p++ = (unsigned char)level;
    for (int l = 0; l <= level; l++) {
        const uint32_t *a = l == 0 ? h->links0 + (size_t)node * (1 + h->M0)
                                   : h->upper[node] + (size_t)(l - 1) * (1 + h->M);
        *p++ = (unsigned char)a[0];
        *p++ = (unsigned char)(a[0] >> 8);
        for (uint32_t i = 0; i < a[0]; i++, p += 4)
            put_le32(p, a[1 + i]);
    }
    int rc = store_put(s, s->graph, key, 4, b, (size_t)(p - b));
    free(b);
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int vectors_save(struct store *s, struct hnsw *h, const uint32_t *nodes, size_t n)
{
    size_t bb = block_bytes(h), d = (size_t)h->dim;
    uint32_t *blocks = xmalloc(sizeof *blocks * (n + 1));
    for (size_t i = 0; i < n; i++)
        blocks[i] = nodes[i] / STORE_VECTORS_BLOCK;
    qsort(blocks, n, sizeof *blocks, cmp_u32);
    unsigned char *b = xmalloc(bb);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (i && blocks[i] == blocks[i - 1])
            continue;
        uint32_t first = blocks[i] * STORE_VECTORS_BLOCK;
        hnsw_reserve(h, first + STORE_VECTORS_BLOCK);
        /* the whole block from memory: it holds every vector of it */
        if (h->int8) {
            for (int j = 0; j < STORE_VECTORS_BLOCK; j++) {
                uint32_t u;
                memcpy(&u, &h->scale[first + j], 4);
                put_le32(b + 4 * j, u);
            }
            memcpy(b + 4 * STORE_VECTORS_BLOCK, h->vq + (size_t)first * d, STORE_VECTORS_BLOCK * d);
        } else {
            memcpy(b, h->vf + (size_t)first * d, STORE_VECTORS_BLOCK * d * 4);
        }
        unsigned char key[4];
        put_be32(key, blocks[i]);
        rc = store_put(s, s->vectors, key, 4, b, bb);
    }
    free(b);
    free(blocks);
    for (uint32_t node = 0; node < h->cap && !rc; node++)
        if (h->dirty[node] && h->level[node] >= 0)
            rc = save_node(s, h, node);
    if (!rc)
        rc = store_set_meta_u64(s, "hnsw_entry", h->entry < 0 ? UINT64_MAX : (uint64_t)h->entry);
    return rc;
}
