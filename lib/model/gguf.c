/* gguf.c - gguf.h's files: the header, metadata and tensor table read with
 * every count and offset checked against the file, tensors found by name;
 * and the writer that lays out a file and renames it into place. */
#include "model/gguf.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    enum ggml_type type;
    const char *name;
    unsigned block, bytes; /* elements per block, bytes per block */
} types[] = {
    {GGML_F32, "F32", 1, 4},       {GGML_F16, "F16", 1, 2},       {GGML_Q4_0, "Q4_0", 32, 18},
    {GGML_Q4_1, "Q4_1", 32, 20},   {GGML_Q5_0, "Q5_0", 32, 22},   {GGML_Q5_1, "Q5_1", 32, 24},
    {GGML_Q8_0, "Q8_0", 32, 34},   {GGML_Q8_1, "Q8_1", 32, 36},   {GGML_Q2_K, "Q2_K", 256, 84},
    {GGML_Q3_K, "Q3_K", 256, 110}, {GGML_Q4_K, "Q4_K", 256, 144}, {GGML_Q5_K, "Q5_K", 256, 176},
    {GGML_Q6_K, "Q6_K", 256, 210}, {GGML_Q8_K, "Q8_K", 256, 292}, {GGML_I8, "I8", 1, 1},
    {GGML_I16, "I16", 1, 2},       {GGML_I32, "I32", 1, 4},       {GGML_I64, "I64", 1, 8},
    {GGML_F64, "F64", 1, 8},       {GGML_BF16, "BF16", 1, 2},
};

size_t ggml_row_size(enum ggml_type type, uint64_t n)
{
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (types[i].type == type) {
            if (n % types[i].block || n / types[i].block > SIZE_MAX / types[i].bytes)
                return 0;
            return (size_t)(n / types[i].block) * types[i].bytes;
        }
    return 0;
}

const char *ggml_type_name(enum ggml_type type)
{
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (types[i].type == type)
            return types[i].name;
    return "unknown";
}

struct reader {
    const unsigned char *p, *end;
    lode_error *err;
    const char *path;
    int bad;
};

static int need(struct reader *r, size_t n, const char *what)
{
    if (r->bad)
        return -1;
    if ((size_t)(r->end - r->p) < n) {
        lode_seterr(r->err, "%s: truncated or lying file: %s runs past its end", r->path, what);
        r->bad = 1;
        return -1;
    }
    return 0;
}

static uint64_t rd(struct reader *r, int bytes, const char *what)
{
    if (need(r, (size_t)bytes, what))
        return 0;
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | r->p[i];
    r->p += bytes;
    return v;
}

/* A string's start and length, checked to fit. */
static const unsigned char *rd_str(struct reader *r, uint64_t *len, const char *what)
{
    *len = rd(r, 8, what);
    if (r->bad || need(r, *len, what))
        return NULL;
    const unsigned char *s = r->p;
    r->p += *len;
    return s;
}

static int scalar_size(enum gguf_vtype t)
{
    switch (t) {
    case GGUF_U8:
    case GGUF_I8:
    case GGUF_BOOL:
        return 1;
    case GGUF_U16:
    case GGUF_I16:
        return 2;
    case GGUF_U32:
    case GGUF_I32:
    case GGUF_F32:
        return 4;
    case GGUF_U64:
    case GGUF_I64:
    case GGUF_F64:
        return 8;
    default:
        return 0;
    }
}

static void scalar(struct reader *r, enum gguf_vtype t, struct gguf_kv *kv)
{
    int n = scalar_size(t);
    uint64_t raw = rd(r, n, kv->key);
    switch (t) {
    case GGUF_I8:
        kv->v.i = (int8_t)raw;
        break;
    case GGUF_I16:
        kv->v.i = (int16_t)raw;
        break;
    case GGUF_I32:
        kv->v.i = (int32_t)raw;
        break;
    case GGUF_I64:
        kv->v.i = (int64_t)raw;
        break;
    case GGUF_F32: {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, 4);
        kv->v.f = f;
        break;
    }
    case GGUF_F64:
        memcpy(&kv->v.f, &raw, 8);
        break;
    default:
        kv->v.u = raw;
        break;
    }
}

static int cmp_data(const void *a, const void *b)
{
    const struct gguf_tensor *x = *(const struct gguf_tensor *const *)a;
    const struct gguf_tensor *y = *(const struct gguf_tensor *const *)b;
    return (const char *)x->data < (const char *)y->data
        ? -1
        : (const char *)x->data > (const char *)y->data;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const struct gguf_tensor *const *)a)->name,
                  (*(const struct gguf_tensor *const *)b)->name);
}

void gguf_close(struct gguf *g)
{
    for (size_t i = 0; i < g->nkv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str);
        free(g->kv[i].astr);
        free(g->kv[i].astrlen);
    }
    free(g->kv);
    for (size_t i = 0; i < g->nt; i++)
        free(g->t[i].name);
    free(g->t);
    blob_free(&g->file);
    memset(g, 0, sizeof *g);
}

static int parse(struct gguf *g, const char *path, lode_error *err);

int gguf_open(const char *path, struct gguf *g, lode_error *err)
{
    memset(g, 0, sizeof *g);
    lode_error e;
    if (blob_map_file(path, &g->file, &e) < 0) {
        lode_seterr(err, "%s: %s", path, e.msg);
        return -1;
    }
    return parse(g, path, err);
}

int gguf_open_mem(const void *data, size_t len, const char *name, struct gguf *g, lode_error *err)
{
    memset(g, 0, sizeof *g);
    unsigned char *copy = xmalloc(len ? len : 1);
    memcpy(copy, data, len);
    blob_own(&g->file, copy, len);
    return parse(g, name, err);
}

/* The header of g->file: metadata, tensor infos, where the data is. */
static int parse(struct gguf *g, const char *path, lode_error *err)
{
    struct reader r = {g->file.data, g->file.data + g->file.len, err, path, 0};
    size_t size = g->file.len;
    if (size < 24 || memcmp(r.p, "GGUF", 4)) {
        lode_seterr(err, "%s: not a GGUF file", path);
        goto fail;
    }
    r.p += 4;
    g->version = (uint32_t)rd(&r, 4, "the version");
    if (g->version != 2 && g->version != 3) {
        lode_seterr(err, "%s: GGUF version %u (lode reads 2 and 3)", path, g->version);
        goto fail;
    }
    uint64_t nt = rd(&r, 8, "the tensor count"), nkv = rd(&r, 8, "the metadata count");
    /* a tensor info or a key-value needs at least 16 bytes */
    if (nt > size / 16 || nkv > size / 16) {
        lode_seterr(err, "%s: %llu tensors and %llu metadata entries cannot fit %zu bytes", path,
                    (unsigned long long)nt, (unsigned long long)nkv, size);
        goto fail;
    }
    g->kv = xcalloc((size_t)nkv + 1, sizeof *g->kv);
    g->alignment = 32;
    for (uint64_t k = 0; k < nkv; k++) {
        struct gguf_kv *kv = &g->kv[g->nkv];
        uint64_t len;
        const unsigned char *key = rd_str(&r, &len, "a metadata key");
        if (!key)
            goto fail;
        kv->key = xstrndup((const char *)key, (size_t)len);
        g->nkv++;
        kv->type = (enum gguf_vtype)rd(&r, 4, kv->key);
        if (kv->type == GGUF_STRING) {
            const unsigned char *s = rd_str(&r, &len, kv->key);
            if (!s)
                goto fail;
            kv->str = xstrndup((const char *)s, (size_t)len);
        } else if (kv->type == GGUF_ARRAY) {
            kv->atype = (enum gguf_vtype)rd(&r, 4, kv->key);
            kv->count = rd(&r, 8, kv->key);
            kv->adata = r.p;
            if (r.bad)
                goto fail;
            if (kv->atype == GGUF_STRING) {
                if (kv->count > (size_t)(r.end - r.p) / 8) {
                    lode_seterr(err, "%s: array %s claims %llu strings", path, kv->key,
                                (unsigned long long)kv->count);
                    goto fail;
                }
                kv->astr = xcalloc((size_t)kv->count + 1, sizeof *kv->astr);
                kv->astrlen = xcalloc((size_t)kv->count + 1, sizeof *kv->astrlen);
                for (uint64_t i = 0; i < kv->count; i++) {
                    const unsigned char *s = rd_str(&r, &len, kv->key);
                    if (!s)
                        goto fail;
                    if (len > UINT32_MAX) {
                        lode_seterr(err, "%s: a string of %s is too long", path, kv->key);
                        goto fail;
                    }
                    kv->astr[i] = s;
                    kv->astrlen[i] = (uint32_t)len;
                }
            } else {
                int es = scalar_size(kv->atype);
                if (!es || kv->count > (size_t)(r.end - r.p) / (size_t)es) {
                    lode_seterr(err, "%s: array %s of type %d and %llu elements does not fit", path,
                                kv->key, kv->atype, (unsigned long long)kv->count);
                    goto fail;
                }
                r.p += kv->count * (uint64_t)es;
            }
        } else if (scalar_size(kv->type)) {
            scalar(&r, kv->type, kv);
        } else {
            lode_seterr(err, "%s: metadata %s has an unknown type %d", path, kv->key, kv->type);
            goto fail;
        }
        if (r.bad)
            goto fail;
        if (!strcmp(kv->key, "general.alignment")) {
            if (kv->type != GGUF_U32 || kv->v.u == 0 || kv->v.u > 1u << 20 ||
                (kv->v.u & (kv->v.u - 1))) {
                lode_seterr(err, "%s: general.alignment must be a power of two", path);
                goto fail;
            }
            g->alignment = (size_t)kv->v.u;
        }
    }
    g->t = xcalloc((size_t)nt + 1, sizeof *g->t);
    uint64_t *offsets = xcalloc((size_t)nt + 1, sizeof *offsets);
    for (uint64_t k = 0; k < nt; k++) {
        struct gguf_tensor *t = &g->t[g->nt];
        uint64_t len;
        const unsigned char *name = rd_str(&r, &len, "a tensor name");
        if (!name) {
            free(offsets);
            goto fail;
        }
        t->name = xstrndup((const char *)name, (size_t)len);
        g->nt++;
        t->ndim = (int)rd(&r, 4, t->name);
        if (r.bad || t->ndim < 1 || t->ndim > 4) {
            if (!r.bad)
                lode_seterr(err, "%s: tensor %s has %d dimensions", path, t->name, t->ndim);
            free(offsets);
            goto fail;
        }
        t->count = 1;
        for (int d = 0; d < t->ndim; d++) {
            t->ne[d] = rd(&r, 8, t->name);
            if (!t->ne[d] || t->ne[d] > (1ull << 40) || t->count > (1ull << 40) / t->ne[d]) {
                if (!r.bad)
                    lode_seterr(err, "%s: tensor %s has a bad dimension", path, t->name);
                free(offsets);
                goto fail;
            }
            t->count *= t->ne[d];
        }
        for (int d = t->ndim; d < 4; d++)
            t->ne[d] = 1;
        t->type = (enum ggml_type)rd(&r, 4, t->name);
        offsets[k] = rd(&r, 8, t->name);
        if (r.bad) {
            free(offsets);
            goto fail;
        }
        size_t row = ggml_row_size(t->type, t->ne[0]);
        if (!row) {
            lode_seterr(
                err, "%s: tensor %s: type %s (%d) with rows of %llu elements is not supported",
                path, t->name, ggml_type_name(t->type), (int)t->type, (unsigned long long)t->ne[0]);
            free(offsets);
            goto fail;
        }
        t->nbytes = row * (size_t)(t->count / t->ne[0]);
    }
    size_t header = (size_t)(r.p - g->file.data);
    size_t data_start = (header + g->alignment - 1) / g->alignment * g->alignment;
    if (data_start > size) {
        lode_seterr(err, "%s: no room for tensor data", path);
        free(offsets);
        goto fail;
    }
    size_t data_len = size - data_start;
    for (size_t k = 0; k < g->nt; k++) {
        struct gguf_tensor *t = &g->t[k];
        if (offsets[k] % g->alignment || offsets[k] > data_len ||
            t->nbytes > data_len - offsets[k]) {
            lode_seterr(err,
                        "%s: tensor %s at offset %llu (%zu bytes) is misaligned or outside the "
                        "file's %zu bytes of data",
                        path, t->name, (unsigned long long)offsets[k], t->nbytes, data_len);
            free(offsets);
            goto fail;
        }
        t->data = g->file.data + data_start + offsets[k];
    }
    free(offsets);
    struct gguf_tensor **sorted = xcalloc(g->nt + 1, sizeof *sorted);
    for (size_t k = 0; k < g->nt; k++)
        sorted[k] = &g->t[k];
    qsort(sorted, g->nt, sizeof *sorted, cmp_data);
    for (size_t k = 1; k < g->nt; k++)
        if ((const char *)sorted[k]->data <
            (const char *)sorted[k - 1]->data + sorted[k - 1]->nbytes) {
            lode_seterr(err, "%s: tensors %s and %s overlap", path, sorted[k - 1]->name,
                        sorted[k]->name);
            free(sorted);
            goto fail;
        }
    qsort(sorted, g->nt, sizeof *sorted, cmp_name);
    for (size_t k = 1; k < g->nt; k++)
        if (!strcmp(sorted[k]->name, sorted[k - 1]->name)) {
            lode_seterr(err, "%s: two tensors are named %s", path, sorted[k]->name);
            free(sorted);
            goto fail;
        }
    free(sorted);
    return 0;
fail:
    if (!err->msg[0])
        lode_seterr(err, "%s: malformed GGUF file", path);
    gguf_close(g);
    return -1;
}

const struct gguf_kv *gguf_find(const struct gguf *g, const char *key)
{
    for (size_t i = 0; i < g->nkv; i++)
        if (!strcmp(g->kv[i].key, key))
            return &g->kv[i];
    return NULL;
}

int64_t gguf_int(const struct gguf *g, const char *key, int64_t def)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return def;
    switch (kv->type) {
    case GGUF_U8:
    case GGUF_U16:
    case GGUF_U32:
    case GGUF_U64:
    case GGUF_BOOL:
        return kv->v.u > INT64_MAX ? def : (int64_t)kv->v.u;
    case GGUF_I8:
    case GGUF_I16:
    case GGUF_I32:
    case GGUF_I64:
        return kv->v.i;
    default:
        return def;
    }
}

double gguf_float(const struct gguf *g, const char *key, double def)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return def;
    if (kv->type == GGUF_F32 || kv->type == GGUF_F64)
        return kv->v.f;
    int64_t i = gguf_int(g, key, INT64_MIN);
    return i == INT64_MIN ? def : (double)i;
}

const char *gguf_str(const struct gguf *g, const char *key)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    return kv && kv->type == GGUF_STRING ? kv->str : NULL;
}

const struct gguf_tensor *gguf_tensor(const struct gguf *g, const char *name)
{
    for (size_t i = 0; i < g->nt; i++)
        if (!strcmp(g->t[i].name, name))
            return &g->t[i];
    return NULL;
}

/* ---- writing ---- */

struct wtensor {
    char *name;
    enum ggml_type type;
    int ndim;
    uint64_t ne[4];
    const void *data;
    size_t nbytes;
};

struct gguf_writer {
    GByteArray *meta; /* the key-value section as bytes */
    uint64_t nkv;
    struct wtensor *t;
    size_t nt;
};

struct gguf_writer *gguf_writer_new(void)
{
    struct gguf_writer *w = xcalloc(1, sizeof *w);
    w->meta = g_byte_array_new();
    return w;
}

void gguf_writer_free(struct gguf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nt; i++)
        free(w->t[i].name);
    free(w->t);
    g_byte_array_free(w->meta, TRUE);
    free(w);
}

static void le(GByteArray *b, uint64_t v, int n)
{
    guint8 x[8];
    for (int i = 0; i < n; i++)
        x[i] = (guint8)(v >> (8 * i));
    g_byte_array_append(b, x, (guint)n);
}

static void str(GByteArray *b, const char *s, size_t n)
{
    le(b, n, 8);
    g_byte_array_append(b, (const guint8 *)s, (guint)n);
}

static void key(struct gguf_writer *w, const char *k, enum gguf_vtype t)
{
    str(w->meta, k, strlen(k));
    le(w->meta, (uint64_t)t, 4);
    w->nkv++;
}

void gguf_put_kv(struct gguf_writer *w, const struct gguf_kv *kv)
{
    key(w, kv->key, kv->type);
    if (kv->type == GGUF_STRING) {
        str(w->meta, kv->str, strlen(kv->str));
    } else if (kv->type == GGUF_ARRAY) {
        le(w->meta, (uint64_t)kv->atype, 4);
        le(w->meta, kv->count, 8);
        if (kv->atype == GGUF_STRING)
            for (uint64_t i = 0; i < kv->count; i++)
                str(w->meta, (const char *)kv->astr[i], kv->astrlen[i]);
        else
            g_byte_array_append(w->meta, kv->adata,
                                (guint)(kv->count * (uint64_t)scalar_size(kv->atype)));
    } else if (kv->type == GGUF_F32) {
        float f = (float)kv->v.f;
        uint32_t u;
        memcpy(&u, &f, 4);
        le(w->meta, u, 4);
    } else if (kv->type == GGUF_F64) {
        uint64_t u;
        memcpy(&u, &kv->v.f, 8);
        le(w->meta, u, 8);
    } else {
        le(w->meta, kv->v.u, scalar_size(kv->type));
    }
}

void gguf_put_str(struct gguf_writer *w, const char *k, const char *v)
{
    key(w, k, GGUF_STRING);
    str(w->meta, v, strlen(v));
}

void gguf_put_u32(struct gguf_writer *w, const char *k, uint32_t v)
{
    key(w, k, GGUF_U32);
    le(w->meta, v, 4);
}

void gguf_put_f32(struct gguf_writer *w, const char *k, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    key(w, k, GGUF_F32);
    le(w->meta, u, 4);
}

void gguf_put_bool(struct gguf_writer *w, const char *k, int v)
{
    key(w, k, GGUF_BOOL);
    le(w->meta, v ? 1 : 0, 1);
}

void gguf_put_strs(struct gguf_writer *w, const char *k, const char *const *v, size_t n)
{
    key(w, k, GGUF_ARRAY);
    le(w->meta, GGUF_STRING, 4);
    le(w->meta, n, 8);
    for (size_t i = 0; i < n; i++)
        str(w->meta, v[i], strlen(v[i]));
}

void gguf_put_f32s(struct gguf_writer *w, const char *k, const float *v, size_t n)
{
    key(w, k, GGUF_ARRAY);
    le(w->meta, GGUF_F32, 4);
    le(w->meta, n, 8);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        le(w->meta, u, 4);
    }
}

void gguf_put_i32s(struct gguf_writer *w, const char *k, const int32_t *v, size_t n)
{
    key(w, k, GGUF_ARRAY);
    le(w->meta, GGUF_I32, 4);
    le(w->meta, n, 8);
    for (size_t i = 0; i < n; i++)
        le(w->meta, (uint32_t)v[i], 4);
}

void gguf_put_tensor(struct gguf_writer *w, const char *name, enum ggml_type type, int ndim,
                     const uint64_t *ne, const void *data, size_t nbytes)
{
    w->t = xreallocarray(w->t, w->nt + 1, sizeof *w->t);
    struct wtensor *t = &w->t[w->nt++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->type = type;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->ne[i] = ne[i];
    t->data = data;
    t->nbytes = nbytes;
}

#define WRITE_ALIGN 32

int gguf_write(struct gguf_writer *w, const char *path, lode_error *err)
{
    GByteArray *h = g_byte_array_new();
    g_byte_array_append(h, (const guint8 *)"GGUF", 4);
    le(h, 3, 4);
    le(h, w->nt, 8);
    le(h, w->nkv, 8);
    g_byte_array_append(h, w->meta->data, w->meta->len);
    uint64_t off = 0;
    for (size_t i = 0; i < w->nt; i++) {
        struct wtensor *t = &w->t[i];
        str(h, t->name, strlen(t->name));
        le(h, (uint64_t)t->ndim, 4);
        for (int d = 0; d < t->ndim; d++)
            le(h, t->ne[d], 8);
        le(h, (uint64_t)t->type, 4);
        le(h, off, 8);
        off += (t->nbytes + WRITE_ALIGN - 1) / WRITE_ALIGN * WRITE_ALIGN;
    }
    while (h->len % WRITE_ALIGN)
        le(h, 0, 1);
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(h->data, 1, h->len, f) == h->len;
    static const char zeros[WRITE_ALIGN];
    for (size_t i = 0; ok && i < w->nt; i++) {
        size_t pad = (WRITE_ALIGN - w->t[i].nbytes % WRITE_ALIGN) % WRITE_ALIGN;
        ok = fwrite(w->t[i].data, 1, w->t[i].nbytes, f) == w->t[i].nbytes &&
            fwrite(zeros, 1, pad, f) == pad;
    }
    /* on disk before it replaces the old file: a checkpoint must survive a
     * crash of the machine, not only of the program */
    if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        ok = 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        lode_seterr(err, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    g_byte_array_free(h, TRUE);
    return ok ? 0 : -1;
}
