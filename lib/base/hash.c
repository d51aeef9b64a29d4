/* hash.c - hash.h's SHA-256 through GLib: a document's doc hash (of its
 * bytes, or of samples of a very large file), the hash of several strings,
 * and the shard a source name falls in (its K/N parser too). */
#include "base/hash.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static void finish(GChecksum *c, char out[HASH_HEX_LEN + 1])
{
    const char *hex = g_checksum_get_string(c);
    memcpy(out, hex, HASH_HEX_LEN);
    out[HASH_HEX_LEN] = 0;
    g_checksum_free(c);
}

void hash_bytes(const void *data, size_t len, char out[HASH_HEX_LEN + 1])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    if (!c) /* SHA-256 is always there: only memory can lack */
        lode_oom(0);
    const unsigned char *p = data;
    /* g_checksum_update takes a gssize */
    while (len) {
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        g_checksum_update(c, p, (gssize)n);
        p += n;
        len -= n;
    }
    finish(c, out);
}

void hash_strings(char out[HASH_HEX_LEN + 1], const char *first, ...)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    if (!c)
        lode_oom(0);
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        g_checksum_update(c, (const guchar *)s, (gssize)strlen(s) + 1);
    va_end(ap);
    finish(c, out);
}

void hash_sampled(GChecksum *c, const unsigned char *p, size_t len, size_t header)
{
    if (len <= (64u << 20)) {
        g_checksum_update(c, p, (gssize)len);
        return;
    }
    char size[32];
    snprintf(size, sizeof size, "%zu", len);
    g_checksum_update(c, (const guchar *)size, (gssize)strlen(size));
    g_checksum_update(c, p, (gssize)(header < len ? header : len));
    for (size_t i = 0; i < 256; i++)
        g_checksum_update(c, p + (len - 4096) / 255 * i, 4096);
}

unsigned hash_shard(const char *source, unsigned n)
{
    const char *member = strstr(source, "!/");
    char hex[HASH_HEX_LEN + 1];
    hash_bytes(source, member ? (size_t)(member - source) : strlen(source), hex);
    return n ? (unsigned)(g_ascii_strtoull(hex, NULL, 16) % n) : 0;
}

int hash_parse_shard(const char *spec, int *k, int *n)
{
    char *end;
    long a = strtol(spec, &end, 10);
    if (end == spec || *end != '/')
        return -1;
    const char *b = end + 1;
    long m = strtol(b, &end, 10);
    if (end == b || *end || a < 0 || m < 1 || m > 4096 || a >= m)
        return -1;
    *k = (int)a;
    *n = (int)m;
    return 0;
}
