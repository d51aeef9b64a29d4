/* record.c - record.h's NDJSON over jansson: parsing a line, typed field
 * access, text set as valid UTF-8, vectors as base64 float32 or arrays, and
 * the buffered output of a filter with its write error kept (errno). */
#include "base/record.h"

#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

json_t *record_parse(const char *line, size_t len, lode_error *err)
{
    json_error_t je;
    json_t *v = json_loadb(line, len, JSON_ALLOW_NUL, &je);
    if (!v) {
        lode_seterr(err, "invalid JSON at column %d: %s", je.column, je.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        lode_seterr(err, "not a JSON object");
        return NULL;
    }
    if (record_check_ints(v, err) < 0) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* lode-records(7)'s integer fields and their ranges: the programs keep
 * them in an int, so a value beyond is refused here, never wrapped. */
static const struct {
    const char *key;
    long long lo, hi;
} int_fields[] = {
    {"page", 1, INT_MAX},
    {"pages", 1, INT_MAX},
    {"chunk", 1, INT_MAX},
};

int record_check_ints(const json_t *rec, lode_error *err)
{
    for (size_t i = 0; i < sizeof int_fields / sizeof *int_fields; i++) {
        json_t *v = json_object_get(rec, int_fields[i].key);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < int_fields[i].lo ||
            json_integer_value(v) > int_fields[i].hi) {
            char got[32] = "not an integer";
            if (json_is_integer(v))
                snprintf(got, sizeof got, "%lld", (long long)json_integer_value(v));
            return lode_fail(err, LODE_EINVAL, "\"%s\" must be an integer from %lld to %lld (%s)",
                             int_fields[i].key, int_fields[i].lo, int_fields[i].hi, got);
        }
    }
    json_t *span = json_object_get(rec, "span");
    if (span && !json_is_null(span)) {
        json_t *a = json_array_get(span, 0), *b = json_array_get(span, 1);
        if (json_array_size(span) != 2 || !json_is_integer(a) || !json_is_integer(b) ||
            json_integer_value(a) < 0 || json_integer_value(b) < json_integer_value(a))
            return lode_fail(err, LODE_EINVAL,
                             "\"span\" must be [start, end], byte offsets with start <= end");
    }
    return 0;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    buf_add(data, buffer, size);
    return 0;
}

void record_dump(struct buf *out, const json_t *rec)
{
    if (json_dump_callback(rec, dump_cb, out, JSON_COMPACT) != 0)
        lode_oom(0); /* jansson fails to encode only when it cannot allocate */
    buf_addc(out, '\n');
}

const char *record_str(const json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

size_t record_strlen(const json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return json_is_string(v) ? json_string_length(v) : 0;
}

const char *record_chunk_text(const json_t *rec, struct buf *scratch, size_t *len)
{
    json_t *t = json_object_get(rec, "text"), *h = json_object_get(rec, "table_header");
    if (!json_is_string(t))
        return NULL;
    if (!json_is_string(h) || !json_string_length(h)) {
        *len = json_string_length(t);
        return json_string_value(t);
    }
    buf_reset(scratch);
    buf_add(scratch, json_string_value(h), json_string_length(h));
    buf_addc(scratch, '\n');
    buf_add(scratch, json_string_value(t), json_string_length(t));
    *len = scratch->len;
    return scratch->data;
}

long long record_int(const json_t *rec, const char *key, long long def)
{
    json_t *v = json_object_get(rec, key);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

void record_set_text(json_t *rec, const char *key, const char *s, size_t n)
{
    json_t *v;
    if (memchr(s, 0, n) || !g_utf8_validate_len(s, n, NULL)) {
        struct buf clean = {0};
        size_t i = 0;
        while (i < n) {
            const char *end;
            if (g_utf8_validate_len(s + i, n - i, &end)) {
                buf_add(&clean, s + i, n - i);
                break;
            }
            size_t good = (size_t)(end - (s + i));
            buf_add(&clean, s + i, good);
            i += good;
            if (s[i] == 0) {
                i++; /* NUL bytes are dropped */
                continue;
            }
            buf_add_utf8(&clean, 0xFFFD);
            i++;
            /* skip the continuation bytes of the broken sequence */
            while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
                i++;
        }
        v = json_stringn_nocheck(clean.data ? clean.data : "", clean.len);
        buf_free(&clean);
    } else {
        v = json_stringn_nocheck(s, n);
    }
    if (!v || json_object_set_new(rec, key, v) != 0)
        lode_oom(0);
}

/* U+FFFD in UTF-8: the escape of record_set_name() */
#define REPL "\xEF\xBF\xBD"

void record_set_name(json_t *rec, const char *key, const char *name)
{
    size_t n = strlen(name);
    struct buf b = {0};
    for (size_t i = 0; i < n;) {
        const char *end;
        int valid = g_utf8_validate_len(name + i, n - i, &end);
        size_t good = (size_t)(end - (name + i));
        for (size_t j = i; j < i + good;) {
            const char *r = memmem(name + j, i + good - j, REPL, 3);
            size_t upto = r ? (size_t)(r - name) : i + good;
            buf_add(&b, name + j, upto - j);
            if (r)
                buf_add(&b, REPL "u", 4); /* a U+FFFD of the name itself */
            j = r ? upto + 3 : upto;
        }
        i += good;
        if (!valid) {
            buf_addf(&b, REPL "%02X", (unsigned char)name[i]);
            i++;
        }
    }
    record_set_text(rec, key, b.data ? b.data : "", b.len);
    buf_free(&b);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *record_name(const json_t *rec, const char *key)
{
    const char *s = record_str(rec, key);
    if (!s)
        return NULL;
    size_t n = record_strlen(rec, key);
    struct buf b = {0};
    for (size_t i = 0; i < n;) {
        if (i + 3 < n && !memcmp(s + i, REPL, 3)) {
            int hi = hexval(s[i + 3]), lo = i + 4 < n ? hexval(s[i + 4]) : -1;
            if (s[i + 3] == 'u') {
                buf_add(&b, REPL, 3);
                i += 4;
                continue;
            }
            if (hi >= 0 && lo >= 0) {
                buf_addc(&b, (char)(hi << 4 | lo));
                i += 5;
                continue;
            }
        }
        buf_addc(&b, s[i++]);
    }
    char *out = xstrndup(b.data ? b.data : "", b.len);
    buf_free(&b);
    return out;
}

void record_set_str(json_t *rec, const char *key, const char *s)
{
    record_set_text(rec, key, s, strlen(s));
}

void record_set_int(json_t *rec, const char *key, long long v)
{
    if (json_object_set_new(rec, key, json_integer(v)) != 0)
        lode_oom(0);
}

json_t *record_object(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    if (json_is_object(v))
        return v;
    v = json_object();
    if (!v || json_object_set_new(rec, key, v) != 0)
        lode_oom(0);
    return v;
}

int record_write_fd(int fd, const json_t *rec)
{
    struct buf b = {0};
    record_dump(&b, rec);
    int rc = write_all(fd, b.data, b.len);
    buf_free(&b);
    return rc;
}

#include <errno.h>

#define OUTPUT_FLUSH_AT (1u << 16)

void output_init(struct output *o, int fd)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
}

int output_flush(struct output *o)
{
    if (o->pending.len && !o->error) {
        if (write_all(o->fd, o->pending.data, o->pending.len) < 0)
            o->error = errno;
        else
            o->bytes += o->pending.len;
    }
    buf_reset(&o->pending);
    return o->error ? -1 : 0;
}

void output_record(struct output *o, const json_t *rec)
{
    record_dump(&o->pending, rec);
    o->records++;
    if (o->pending.len >= OUTPUT_FLUSH_AT)
        output_flush(o);
}

void output_line(struct output *o, const char *line, size_t len)
{
    if (len >= OUTPUT_FLUSH_AT) {
        output_flush(o);
        if (o->error)
            ;
        else if (write_all(o->fd, line, len) < 0)
            o->error = errno;
        else
            o->bytes += len;
    } else {
        buf_add(&o->pending, line, len);
        if (o->pending.len >= OUTPUT_FLUSH_AT)
            output_flush(o);
    }
    o->records++;
}

int output_close(struct output *o)
{
    int rc = output_flush(o);
    buf_free(&o->pending);
    return rc;
}

void record_set_vector(json_t *rec, const float *v, int dim, int as_array)
{
    if (as_array) {
        json_t *a = json_array();
        for (int i = 0; i < dim; i++)
            json_array_append_new(a, json_real(v[i]));
        json_object_set_new(rec, "embedding", a);
        return;
    }
    unsigned char *bytes = xmalloc((size_t)dim * 4 + 1);
    for (int i = 0; i < dim; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        bytes[4 * i] = (unsigned char)u;
        bytes[4 * i + 1] = (unsigned char)(u >> 8);
        bytes[4 * i + 2] = (unsigned char)(u >> 16);
        bytes[4 * i + 3] = (unsigned char)(u >> 24);
    }
    gchar *b64 = g_base64_encode(bytes, (gsize)dim * 4);
    record_set_str(rec, "vec", b64);
    g_free(b64);
    free(bytes);
}

float *record_vector(const json_t *rec, int *dim, lode_error *err)
{
    json_t *vec = json_object_get(rec, "vec");
    json_t *arr = json_object_get(rec, "embedding");
    float *v = NULL;
    err->msg[0] = 0;
    if (json_is_array(vec) && !arr)
        arr = vec; /* a query may give its vector as a JSON array */
    if (json_is_string(vec)) {
        gsize n = 0;
        guchar *bytes = g_base64_decode(json_string_value(vec), &n);
        if (!bytes || n == 0 || n % 4 || n / 4 > 1 << 20) {
            g_free(bytes);
            lode_seterr(err, "vec is not base64 of float32 values");
            return NULL;
        }
        *dim = (int)(n / 4);
        v = xmalloc(n);
        for (gsize i = 0; i < n / 4; i++) {
            uint32_t u = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
                (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
            memcpy(&v[i], &u, 4);
        }
        g_free(bytes);
    } else if (vec && !json_is_array(vec) && !json_is_null(vec)) {
        lode_seterr(err, "vec is neither a base64 string nor an array of numbers");
        return NULL;
    } else if (json_is_array(arr)) {
        size_t n = json_array_size(arr);
        if (n == 0 || n > 1 << 20) {
            lode_seterr(err, "the vector has %zu values", n);
            return NULL;
        }
        *dim = (int)n;
        v = xmalloc(sizeof *v * n);
        for (size_t i = 0; i < n; i++) {
            json_t *x = json_array_get(arr, i);
            if (!json_is_number(x)) {
                free(v);
                lode_seterr(err, "the vector holds something that is not a number");
                return NULL;
            }
            v[i] = (float)json_number_value(x);
        }
    } else {
        return NULL;
    }
    for (int i = 0; i < *dim; i++)
        if (!(v[i] == v[i]) || v[i] > 3e38f || v[i] < -3e38f) {
            free(v);
            lode_seterr(err, "the vector holds NaN or infinite values");
            return NULL;
        }
    return v;
}
