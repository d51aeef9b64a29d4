/* charset.c - charset.h's decoding: a byte-order mark, a declared charset
 * (HTML meta, XML declaration), valid UTF-8, else Windows-1252, through
 * GLib's iconv; and the cleaning every record's text gets. */
#include "docs/charset.h"

#include <ctype.h>
#include <glib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/util.h"

/* Windows-1252 0x80-0x9F; the five unassigned bytes map to the C1 controls
 * of the same value, as the WHATWG encoding standard does. */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static void add_cp(struct buf *b, unsigned cp)
{
    if (cp == 0)
        return; /* NUL never reaches a record */
    buf_add_utf8(b, cp);
}

static void decode_cp1252(struct buf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        add_cp(b, c >= 0x80 && c < 0xA0 ? cp1252_high[c - 0x80] : c);
    }
}

static void decode_utf16(struct buf *b, const unsigned char *p, size_t n, int big)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned u = big ? (unsigned)(p[i] << 8 | p[i + 1]) : (unsigned)(p[i + 1] << 8 | p[i]);
        if (u >= 0xD800 && u < 0xDC00 && i + 3 < n) {
            unsigned v =
                big ? (unsigned)(p[i + 2] << 8 | p[i + 3]) : (unsigned)(p[i + 3] << 8 | p[i + 2]);
            if (v >= 0xDC00 && v < 0xE000) {
                add_cp(b, 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00));
                i += 2;
                continue;
            }
        }
        add_cp(b, u >= 0xD800 && u < 0xE000 ? 0xFFFD : u);
    }
    if (n % 2)
        add_cp(b, 0xFFFD);
}

static void decode_utf32(struct buf *b, const unsigned char *p, size_t n, int big)
{
    for (size_t i = 0; i + 3 < n; i += 4) {
        unsigned u = big
            ? (unsigned)p[i] << 24 | (unsigned)p[i + 1] << 16 | (unsigned)p[i + 2] << 8 | p[i + 3]
            : (unsigned)p[i + 3] << 24 | (unsigned)p[i + 2] << 16 | (unsigned)p[i + 1] << 8 | p[i];
        add_cp(b, u);
    }
}

/* Copies UTF-8, replacing each invalid sequence with U+FFFD. */
static void copy_utf8(struct buf *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *end;
        if (g_utf8_validate_len(s + i, n - i, &end)) {
            buf_add(b, s + i, n - i);
            break;
        }
        size_t good = (size_t)(end - (s + i));
        buf_add(b, s + i, good);
        i += good;
        if (s[i] != 0)
            add_cp(b, 0xFFFD);
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
}

static int is_utf8_name(const char *cs)
{
    return !strcasecmp(cs, "utf-8") || !strcasecmp(cs, "utf8");
}

static int is_1252_name(const char *cs)
{
    return !strcasecmp(cs, "windows-1252") || !strcasecmp(cs, "cp1252") ||
        !strcasecmp(cs, "iso-8859-1") || !strcasecmp(cs, "latin1") || !strcasecmp(cs, "latin-1") ||
        !strcasecmp(cs, "us-ascii") || !strcasecmp(cs, "ascii") || !strcasecmp(cs, "iso8859-1");
}

/* UTF-16 without a BOM: most ASCII text then has a NUL in every other byte. */
static int guess_utf16(const unsigned char *p, size_t n, int *big)
{
    size_t m = n < 4096 ? n : 4096;
    size_t even = 0, odd = 0;
    for (size_t i = 0; i + 1 < m; i += 2) {
        even += p[i] == 0;
        odd += p[i + 1] == 0;
    }
    size_t pairs = m / 2;
    if (pairs < 2)
        return 0;
    if (odd * 10 > pairs * 6 && even * 10 < pairs) {
        *big = 0;
        return 1;
    }
    if (even * 10 > pairs * 6 && odd * 10 < pairs) {
        *big = 1;
        return 1;
    }
    return 0;
}

char *charset_to_utf8(const char *data, size_t len, const char *declared, size_t *outlen,
                      const char **used)
{
    const unsigned char *p = (const unsigned char *)data;
    struct buf b = {0};
    const char *name;
    int big;
    buf_grow(&b, len);
    if (len >= 4 && !memcmp(p, "\xFF\xFE\0\0", 4)) {
        decode_utf32(&b, p + 4, len - 4, 0);
        name = "utf-32le";
    } else if (len >= 4 && !memcmp(p, "\0\0\xFE\xFF", 4)) {
        decode_utf32(&b, p + 4, len - 4, 1);
        name = "utf-32be";
    } else if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
        copy_utf8(&b, data + 3, len - 3);
        name = "utf-8";
    } else if (len >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
        decode_utf16(&b, p + 2, len - 2, 0);
        name = "utf-16le";
    } else if (len >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
        decode_utf16(&b, p + 2, len - 2, 1);
        name = "utf-16be";
    } else if (guess_utf16(p, len, &big)) {
        decode_utf16(&b, p, len, big);
        name = big ? "utf-16be" : "utf-16le";
    } else {
        int valid = g_utf8_validate_len(data, len, NULL);
        name = NULL;
        if (declared && *declared && !is_utf8_name(declared) && !is_1252_name(declared) &&
            !(valid && !strncasecmp(declared, "utf-16", 6))) {
            gsize written = 0;
            gchar *conv = g_convert(data, (gssize)len, "UTF-8", declared, NULL, &written, NULL);
            if (conv) {
                copy_utf8(&b, conv, written);
                g_free(conv);
                name = declared;
            }
        }
        if (!name) {
            /* Valid UTF-8 wins over a declared single-byte charset: pages
             * labelled latin-1 that are really UTF-8 are common. */
            if (valid) {
                copy_utf8(&b, data, len);
                name = "utf-8";
            } else {
                decode_cp1252(&b, p, len);
                name = "windows-1252";
            }
        }
    }
    if (used)
        *used = name;
    if (outlen)
        *outlen = b.len;
    return buf_release(&b);
}

/* Copies a charset name starting at s, stopping at quotes, spaces, ;, >. */
static int take_name(const char *s, const char *end, char *out, size_t outsize)
{
    while (s < end && (*s == '"' || *s == '\'' || *s == ' ' || *s == '='))
        s++;
    size_t n = 0;
    while (s < end && n + 1 < outsize &&
           (isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.' || *s == ':'))
        out[n++] = (char)tolower((unsigned char)*s++);
    out[n] = 0;
    return n ? 0 : -1;
}

int charset_sniff_declared(const char *data, size_t len, char *out, size_t outsize)
{
    size_t n = len < 4096 ? len : 4096;
    const char *end = data + n;
    /* XML declaration */
    if (n > 5 && !strncmp(data, "<?xml", 5)) {
        const char *q = g_strstr_len(data, (gssize)n, "?>");
        const char *e = q ? g_strstr_len(data, q - data, "encoding") : NULL;
        if (e && take_name(e + 8, q, out, outsize) == 0)
            return 0;
    }
    for (const char *s = data; s < end; s++) {
        if (*s != '<' || end - s < 6 || g_ascii_strncasecmp(s, "<meta", 5))
            continue;
        const char *close = memchr(s, '>', (size_t)(end - s));
        if (!close)
            break;
        for (const char *t = s; t + 7 < close; t++)
            if (!g_ascii_strncasecmp(t, "charset", 7) && take_name(t + 7, close, out, outsize) == 0)
                return 0;
        s = close;
    }
    return -1;
}

int charset_looks_textual(const unsigned char *p, size_t len)
{
    size_t n = len < 8192 ? len : 8192;
    int big;
    if (n == 0)
        return 1;
    if ((n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF))) ||
        (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) || guess_utf16(p, n, &big))
        return 1;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (c == 0)
            return 0;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B)
            bad++;
    }
    if (bad * 100 > n * 2)
        return 0;
    /* Valid UTF-8 is text; otherwise a single-byte encoding needs mostly
     * printable ASCII. */
    const char *endp;
    if (g_utf8_validate_len((const char *)p, n, &endp) ||
        (size_t)((const unsigned char *)endp - p) + 4 >= n)
        return 1;
    size_t high = 0;
    for (size_t i = 0; i < n; i++)
        high += p[i] >= 0x80;
    return high * 100 <= n * 30;
}

void charset_clean_text(struct buf *out, const char *s, size_t n)
{
    buf_grow(out, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            buf_addc(out, '\n');
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
        } else if (c == '\f') {
            buf_adds(out, "\n\n");
        } else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
            continue;
        } else {
            buf_addc(out, (char)c);
        }
    }
}
