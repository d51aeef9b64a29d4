/* safetensors.c - safetensors.h's files: the JSON header parsed with every
 * offset and size checked against the file, F32 tensors used in place
 * when aligned, F16 and BF16 decoded. */
#include "model/safetensors.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "model/kernels.h"

static const struct {
    const char *name;
    enum st_dtype dtype;
    size_t size;
} dtypes[] = {
    {"F32", ST_F32, 4}, {"F16", ST_F16, 2},   {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},
    {"I64", ST_I64, 8}, {"I32", ST_I32, 4},   {"I16", ST_I16, 2},   {"I8", ST_I8, 1},
    {"U8", ST_U8, 1},   {"BOOL", ST_BOOL, 1},
};

static int cmp_start(const void *a, const void *b)
{
    const struct st_tensor *x = a, *y = b;
    return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

void safetensors_close(struct safetensors *st)
{
    for (size_t i = 0; i < st->n; i++) {
        free(st->t[i].name);
        free(st->t[i].converted);
    }
    free(st->t);
    blob_free(&st->file);
    memset(st, 0, sizeof *st);
}

int safetensors_open(const char *path, struct safetensors *st, lode_error *err)
{
    memset(st, 0, sizeof *st);
    lode_error e;
    if (blob_map_file(path, &st->file, &e) < 0) {
        lode_seterr(err, "%s: %s", path, e.msg);
        return -1;
    }
    const unsigned char *p = st->file.data;
    size_t size = st->file.len;
    if (size < 8) {
        lode_seterr(err, "%s: too short for a safetensors file (%zu bytes)", path, size);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i];
    if (hlen < 2 || hlen > size - 8 || hlen > (100u << 20)) {
        lode_seterr(err, "%s: header length %llu does not fit a file of %zu bytes (truncated?)",
                    path, (unsigned long long)hlen, size);
        goto fail;
    }
    json_error_t je;
    json_t *h = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!h || !json_is_object(h)) {
        lode_seterr(err, "%s: the header is not a JSON object (%s)", path, h ? "" : je.text);
        json_decref(h);
        goto fail;
    }
    const unsigned char *data = p + 8 + hlen;
    size_t dlen = size - 8 - (size_t)hlen;
    st->t = xcalloc(json_object_size(h) + 1, sizeof *st->t);
    const char *name;
    json_t *v;
    json_object_foreach(h, name, v)
    {
        if (!strcmp(name, "__metadata__"))
            continue;
        struct st_tensor *t = &st->t[st->n];
        const char *dt = json_string_value(json_object_get(v, "dtype"));
        json_t *shape = json_object_get(v, "shape"), *off = json_object_get(v, "data_offsets");
        size_t k, esize = 0;
        for (k = 0; dt && k < sizeof dtypes / sizeof *dtypes; k++)
            if (!strcmp(dt, dtypes[k].name)) {
                t->dtype = dtypes[k].dtype;
                esize = dtypes[k].size;
                break;
            }
        if (!esize) {
            lode_seterr(err, "%s: tensor %s has an unknown dtype %s", path, name,
                        dt ? dt : "(none)");
            goto fail_json;
        }
        if (!json_is_array(shape) || json_array_size(shape) > 8 || !json_is_array(off) ||
            json_array_size(off) != 2 || !json_is_integer(json_array_get(off, 0)) ||
            !json_is_integer(json_array_get(off, 1))) {
            lode_seterr(err, "%s: tensor %s has a malformed shape or data_offsets", path, name);
            goto fail_json;
        }
        t->ndim = (int)json_array_size(shape);
        int64_t count = 1;
        for (int d = 0; d < t->ndim; d++) {
            json_t *x = json_array_get(shape, (size_t)d);
            json_int_t dim = json_is_integer(x) ? json_integer_value(x) : -1;
            if (dim < 0 || (dim && count > INT64_MAX / dim)) {
                lode_seterr(err, "%s: tensor %s has a bad dimension", path, name);
                goto fail_json;
            }
            t->shape[d] = dim;
            count *= dim;
        }
        json_int_t b = json_integer_value(json_array_get(off, 0));
        json_int_t e2 = json_integer_value(json_array_get(off, 1));
        if (b < 0 || e2 < b || (uint64_t)e2 > dlen) {
            lode_seterr(err,
                        "%s: tensor %s lies outside the file's data ([%lld, %lld) of %zu bytes)",
                        path, name, (long long)b, (long long)e2, dlen);
            goto fail_json;
        }
        if (count > (int64_t)(SIZE_MAX / esize) || (uint64_t)count * esize != (uint64_t)(e2 - b)) {
            lode_seterr(err, "%s: tensor %s: its shape needs %lld bytes of %s but it has %lld",
                        path, name, (long long)(count * (int64_t)esize), dt, (long long)(e2 - b));
            goto fail_json;
        }
        t->name = xstrdup(name);
        t->count = count;
        t->bytes = data + b;
        t->nbytes = (size_t)(e2 - b);
        st->n++;
    }
    json_decref(h);
    /* no two tensors may share bytes */
    struct st_tensor *sorted = xcalloc(st->n + 1, sizeof *sorted);
    memcpy(sorted, st->t, st->n * sizeof *sorted);
    qsort(sorted, st->n, sizeof *sorted, cmp_start);
    for (size_t i = 1; i < st->n; i++)
        if (sorted[i].bytes < sorted[i - 1].bytes + sorted[i - 1].nbytes) {
            lode_seterr(err, "%s: tensors %s and %s overlap", path, sorted[i - 1].name,
                        sorted[i].name);
            free(sorted);
            goto fail;
        }
    free(sorted);
    return 0;
fail_json:
    json_decref(h);
fail:
    safetensors_close(st);
    return -1;
}

struct st_tensor *safetensors_find(struct safetensors *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->t[i].name, name))
            return &st->t[i];
    return NULL;
}

const float *safetensors_f32(struct safetensors *st, const char *name, int ndim,
                             const int64_t *shape, lode_error *err)
{
    struct st_tensor *t = safetensors_find(st, name);
    if (!t) {
        lode_seterr(err, "the model has no tensor %s", name);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = shape[d] < 0 || shape[d] == t->shape[d];
    if (!ok) {
        char want[96] = "", got[96] = "";
        for (int d = 0; d < ndim; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? "x" : "",
                     (long long)shape[d]);
        for (int d = 0; d < t->ndim; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? "x" : "",
                     (long long)t->shape[d]);
        lode_seterr(err, "tensor %s has shape %s, the config says %s", name, got, want);
        return NULL;
    }
    if (t->dtype == ST_F32 && ((uintptr_t)t->bytes & 3) == 0)
        return (const float *)t->bytes;
    if (t->converted)
        return t->converted;
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        lode_seterr(err, "tensor %s is not a float tensor", name);
        return NULL;
    }
    float *f = malloc((size_t)t->count * sizeof *f + 1);
    if (!f) {
        lode_seterr(err, "out of memory converting %s", name);
        return NULL;
    }
    for (int64_t i = 0; i < t->count; i++) {
        const unsigned char *b = t->bytes;
        if (t->dtype == ST_F32) {
            memcpy(&f[i], b + 4 * i, 4);
        } else {
            uint16_t h = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
            f[i] = t->dtype == ST_F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
    }
    t->converted = f;
    return f;
}
