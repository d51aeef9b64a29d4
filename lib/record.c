#include "record.h"

#include <glib.h>
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
    return v;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    buf_add(data, buffer, size);
    return 0;
}

void record_dump(struct buf *out, const json_t *rec)
{
    if (json_dump_callback(rec, dump_cb, out, JSON_COMPACT) != 0)
        die("cannot encode a record");
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
        die("out of memory");
}

void record_set_str(json_t *rec, const char *key, const char *s)
{
    record_set_text(rec, key, s, strlen(s));
}

void record_set_int(json_t *rec, const char *key, long long v)
{
    if (json_object_set_new(rec, key, json_integer(v)) != 0)
        die("out of memory");
}

json_t *record_object(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    if (json_is_object(v))
        return v;
    v = json_object();
    if (!v || json_object_set_new(rec, key, v) != 0)
        die("out of memory");
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

void output_flush(struct output *o)
{
    if (!o->pending.len)
        return;
    if (write_all(o->fd, o->pending.data, o->pending.len) < 0)
        die("cannot write output: %s", strerror(errno));
    o->bytes += o->pending.len;
    buf_reset(&o->pending);
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
        if (write_all(o->fd, line, len) < 0)
            die("cannot write output: %s", strerror(errno));
        o->bytes += len;
    } else {
        buf_add(&o->pending, line, len);
        if (o->pending.len >= OUTPUT_FLUSH_AT)
            output_flush(o);
    }
    o->records++;
}

void output_close(struct output *o)
{
    output_flush(o);
    buf_free(&o->pending);
}
