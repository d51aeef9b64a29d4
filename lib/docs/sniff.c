/* sniff.c - sniff.h's type by content: magic bytes for binary formats,
 * the zip members that tell OOXML, ODF and EPUB apart, and for text the
 * markup or delimiters that make it HTML, CSV or Markdown. */
#include "docs/sniff.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docs/charset.h"
#include "docs/unpack.h"

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n >= m && !strcasecmp(name + n - m, suffix);
}

static const char *zip_type(const struct blob *b)
{
    char **names = NULL;
    lode_error err;
    int n = unpack_names(b, &names, 100000, &err);
    const char *type = "archive";
    int container = 0, mimetype = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(names[i], "word/document.xml"))
            type = "docx";
        else if (!strcmp(names[i], "ppt/presentation.xml"))
            type = "pptx";
        else if (!strcmp(names[i], "xl/workbook.xml"))
            type = "xlsx";
        else if (!strcmp(names[i], "mimetype"))
            mimetype = 1;
        else if (!strcmp(names[i], "META-INF/container.xml"))
            container = 1;
    }
    unpack_names_free(names, n);
    if (strcmp(type, "archive"))
        return type;
    if (mimetype) {
        /* The mimetype member is stored first and uncompressed in ODF and
         * EPUB; read it properly anyway. */
        struct unpack_limits lim;
        unpack_limits_default(&lim);
        struct unpack_budget budget = {0, 0};
        struct blob m;
        if (unpack_read(b, "", "mimetype", &lim, &budget, &m, &err) == 0) {
            const char *s = (const char *)m.data;
            size_t len = m.len;
            while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
                len--;
#define IS(x) (len == strlen(x) && !memcmp(s, x, len))
            if (IS("application/epub+zip"))
                type = "epub";
            else if (IS("application/vnd.oasis.opendocument.text") ||
                     IS("application/vnd.oasis.opendocument.text-template"))
                type = "odt";
            else if (IS("application/vnd.oasis.opendocument.presentation") ||
                     IS("application/vnd.oasis.opendocument.presentation-template"))
                type = "odp";
            else if (IS("application/vnd.oasis.opendocument.spreadsheet") ||
                     IS("application/vnd.oasis.opendocument.spreadsheet-template"))
                type = "ods";
#undef IS
            blob_free(&m);
        }
    }
    if (!strcmp(type, "archive") && container)
        type = "epub";
    return type;
}

/* Skips a BOM, whitespace and comments; 1 when markup follows that makes
 * this HTML. */
static int looks_html(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        i = 3;
    for (int rounds = 0; rounds < 8; rounds++) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        if (i + 4 <= n && !memcmp(s + i, "<!--", 4)) {
            const char *end = memmem(s + i, n - i, "-->", 3);
            if (!end)
                return 0;
            i = (size_t)(end - s) + 3;
            continue;
        }
        if (i + 5 <= n && !memcmp(s + i, "<?xml", 5)) {
            const char *end = memmem(s + i, n - i, "?>", 2);
            if (!end)
                return 0;
            i = (size_t)(end - s) + 2;
            continue;
        }
        break;
    }
    if (i >= n || s[i] != '<')
        return 0;
    static const char *starts[] = {"<!doctype html", "<html",  "<head",          "<body",
                                   "<meta",          "<title", "<!doctype xhtml"};
    for (size_t k = 0; k < sizeof starts / sizeof *starts; k++) {
        size_t m = strlen(starts[k]);
        if (i + m <= n && !strncasecmp(s + i, starts[k], m))
            return 1;
    }
    return 0;
}

const char *sniff_image_format(const unsigned char *p, size_t n)
{
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1A\n", 8))
        return "png";
    if (n >= 3 && !memcmp(p, "\xFF\xD8\xFF", 3))
        return "jpeg";
    if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
        return "gif";
    if (n >= 4 &&
        (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4) || !memcmp(p, "II+\0", 4) ||
         !memcmp(p, "MM\0+", 4)))
        return "tiff";
    if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
        return "webp";
    if (n >= 14 && p[0] == 'B' && p[1] == 'M')
        return "bmp";
    if (n >= 12 && !memcmp(p, "\0\0\0\x0CjP  \r\n\x87\n", 12))
        return "jp2";
    return NULL;
}

const char *sniff_type(const struct blob *b, const char *name, lode_error *why)
{
    const unsigned char *p = b->data;
    size_t n = b->len;
    if (n == 0) {
        lode_seterr(why, "empty file");
        return NULL;
    }
    /* %PDF may follow some junk; readers accept it within the first 1 KiB */
    if (memmem(p, n < 1024 ? n : 1024, "%PDF-", 5))
        return "pdf";
    if (sniff_image_format(p, n))
        return "image";
    if (n >= 4 && !memcmp(p, "PK\3\4", 4))
        return zip_type(b);
    if (unpack_is_archive(p, n))
        return "archive";
    if (n >= 8 && !memcmp(p, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8)) {
        lode_seterr(why,
                    "legacy Microsoft Office file (OLE2: .doc, .xls, .ppt) is not "
                    "supported; convert it with libreoffice --headless --convert-to");
        return NULL;
    }
    if (n >= 5 && !memcmp(p, "{\\rtf", 5)) {
        lode_seterr(why,
                    "RTF is not supported; convert it with libreoffice --headless "
                    "--convert-to docx");
        return NULL;
    }
    if (!charset_looks_textual(p, n)) {
        lode_seterr(why, "unsupported binary file (no known format)");
        return NULL;
    }
    /* Decode a prefix so UTF-16 HTML is recognised too. */
    size_t m = n < 4096 ? n : 4096;
    size_t plen;
    char *prefix = charset_to_utf8((const char *)p, m, NULL, &plen, NULL);
    int html = looks_html(prefix, plen);
    free(prefix);
    if (html || has_suffix(name, ".html") || has_suffix(name, ".htm") || has_suffix(name, ".xhtml"))
        return "html";
    if (has_suffix(name, ".csv") || has_suffix(name, ".tsv") || has_suffix(name, ".tab"))
        return "csv";
    if (has_suffix(name, ".md") || has_suffix(name, ".markdown") || has_suffix(name, ".mdown") ||
        has_suffix(name, ".mkd"))
        return "md";
    return "txt";
}
