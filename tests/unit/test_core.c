/* Unit tests of the core modules: lines, record, charset, textdoc, hash,
 * container paths, sizes, blobs. */
#include <stdlib.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "base/blob.h"
#include "base/buf.h"
#include "docs/charset.h"
#include "check.h"
#include "generate/jsonc.h"
#include "docs/container.h"
#include "base/hash.h"
#include "base/lines.h"
#include "base/record.h"
#include "docs/textdoc.h"
#include "base/util.h"

/* A pipe holding data, closed for writing: a reader's stdin. */
static int feed(const char *data, size_t len)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    if (fork() == 0) {
        close(fds[0]);
        (void)write_all(fds[1], data, len);
        _exit(0);
    }
    close(fds[1]);
    return fds[0];
}

static void test_lines(void)
{
    const char *in = "one\r\ntwo\n\n0123456789012345678901234567890123456789\nlast";
    int fd = feed(in, strlen(in));
    struct lines r;
    lines_init(&r, fd, 16);
    char *line;
    size_t len;
    CHECK(lines_next(&r, &line, &len) == LINE_OK && !strcmp(line, "one"),
          "lines: CRLF ends a line");
    CHECK(lines_next(&r, &line, &len) == LINE_OK && !strcmp(line, "two"), "lines: second line");
    CHECK(lines_next(&r, &line, &len) == LINE_OK && len == 0, "lines: an empty line");
    CHECK(lines_next(&r, &line, &len) == LINE_TOO_LONG && len == 40 && r.lineno == 4,
          "lines: a line over max_line is skipped with its length and number");
    CHECK(lines_next(&r, &line, &len) == LINE_OK && !strcmp(line, "last"),
          "lines: a last line without newline");
    CHECK(lines_next(&r, &line, &len) == LINE_EOF, "lines: end");
    lines_free(&r);
    close(fd);

    /* a long line spanning many reads, then a normal one */
    size_t big = 3u << 20;
    char *data = malloc(big + 8);
    memset(data, 'x', big);
    memcpy(data + big, "\nok\n", 4);
    fd = feed(data, big + 4);
    lines_init(&r, fd, 1u << 20);
    CHECK(lines_next(&r, &line, &len) == LINE_TOO_LONG && len == big,
          "lines: a 3 MiB line over a 1 MiB limit is skipped without holding it");
    CHECK(r.cap <= (4u << 20), "lines: the buffer stays near the limit (%zu bytes)", r.cap);
    CHECK(lines_next(&r, &line, &len) == LINE_OK && !strcmp(line, "ok"),
          "lines: the next line is read");
    lines_free(&r);
    close(fd);
    free(data);
}

static void test_charset(void)
{
    size_t n;
    const char *used;
    char *s = charset_to_utf8("\xEF\xBB\xBFh\xC3\xA9", 6, NULL, &n, &used);
    CHECK_STR(s, "h\xC3\xA9", "charset: a UTF-8 BOM is dropped");
    free(s);
    s = charset_to_utf8("\xFF\xFEh\0\xE9\0", 6, NULL, &n, &used);
    CHECK_STR(s, "h\xC3\xA9", "charset: UTF-16LE with BOM");
    CHECK_STR(used, "utf-16le", "charset: reports UTF-16LE");
    free(s);
    s = charset_to_utf8("\xFE\xFF\0h\xD8\x3D\xDE\x00", 8, NULL, &n, &used);
    CHECK_STR(s, "h\xF0\x9F\x98\x80", "charset: UTF-16BE surrogate pair");
    free(s);
    s = charset_to_utf8("a\0b\0c\0d\0e\0", 10, NULL, &n, &used);
    CHECK_STR(s, "abcde", "charset: UTF-16LE without BOM is recognised");
    free(s);
    s = charset_to_utf8("k\xF6nnen \x80 \x93q\x94", 12, NULL, &n, &used);
    CHECK_STR(s, "k\xC3\xB6nnen \xE2\x82\xAC \xE2\x80\x9Cq\xE2\x80\x9D",
              "charset: Windows-1252 fallback");
    CHECK_STR(used, "windows-1252", "charset: reports windows-1252");
    free(s);
    s = charset_to_utf8("\xE9t\xE9", 3, "iso-8859-15", &n, &used);
    CHECK_STR(s, "\xC3\xA9t\xC3\xA9", "charset: a declared charset is used");
    free(s);
    char decl[32];
    const char *html =
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">";
    CHECK(charset_sniff_declared(html, strlen(html), decl, sizeof decl) == 0 &&
              !strcmp(decl, "shift_jis"),
          "charset: a meta http-equiv charset is found");
    const char *xml = "<?xml version=\"1.0\" encoding='ISO-8859-1'?><a/>";
    CHECK(charset_sniff_declared(xml, strlen(xml), decl, sizeof decl) == 0 &&
              !strcmp(decl, "iso-8859-1"),
          "charset: an XML declaration is found");
    CHECK(!charset_looks_textual((const unsigned char *)"\x7f"
                                                        "ELF\x02\x01\0\0",
                                 8),
          "charset: binary is not text");
    CHECK(charset_looks_textual((const unsigned char *)"plain\ttext\n", 11),
          "charset: text is text");
    struct buf b = {0};
    charset_clean_text(&b, "a\r\nb\rc\fd\x01\x7f", 11);
    CHECK_STR(b.data, "a\nb\nc\n\nd", "charset: line ends, form feeds and controls cleaned");
    buf_free(&b);
}

static void test_record(void)
{
    lode_error err;
    json_t *r = record_parse("{\"a\":1,\"z\":\"x\"}", 15, &err);
    CHECK(r && record_int(r, "a", 0) == 1, "record: parse");
    record_set_text(r, "t", "ok\xFF\xFEz\0y", 7);
    CHECK_STR(record_str(r, "t"), "ok\xEF\xBF\xBD\xEF\xBF\xBDzy",
              "record: invalid UTF-8 repaired, NUL dropped");
    struct buf b = {0};
    record_dump(&b, r);
    CHECK_STR(b.data, "{\"a\":1,\"z\":\"x\",\"t\":\"ok\xEF\xBF\xBD\xEF\xBF\xBDzy\"}\n",
              "record: fields keep their order, one line");
    buf_free(&b);
    json_decref(r);
    CHECK(!record_parse("[1]", 3, &err) && strstr(err.msg, "not a JSON object"),
          "record: arrays are not records");
    CHECK(!record_parse("{\"a\":", 5, &err) && strstr(err.msg, "invalid JSON"),
          "record: broken JSON");
    /* names: every byte string survives, distinct names stay distinct */
    json_t *n = json_object();
    record_set_name(n, "s", "x\xFF.md");
    CHECK_STR(record_str(n, "s"),
              "x\xEF\xBF\xBD"
              "FF.md",
              "record: a name's invalid byte as U+FFFD FF");
    record_set_name(n, "s", "ok\xC3\xA9.md");
    CHECK_STR(record_str(n, "s"), "ok\xC3\xA9.md", "record: a UTF-8 name unchanged");
    unsigned seed = 7, same = 0, tries = 2000;
    for (unsigned t = 0; t < tries; t++) {
        char name[12];
        size_t len = 1 + t % 10;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            /* bytes biased to U+FFFD's, hex digits and 'u' */
            const char pick[] = "\xEF\xBF\xBDuF0\xFF\xC3"
                                "a";
            name[i] = (seed >> 16) % 3 ? pick[(seed >> 8) % 9] : (char)(1 + (seed >> 8) % 255);
        }
        name[len] = 0;
        record_set_name(n, "s", name);
        char *back = record_name(n, "s");
        same += back && !strcmp(back, name) && g_utf8_validate(record_str(n, "s"), -1, NULL);
        free(back);
    }
    CHECK(same == tries, "record: %u of %u random names read back as their bytes, as UTF-8", same,
          tries);
    json_decref(n);
}

static void test_textdoc(void)
{
    struct textdoc td;
    textdoc_init(&td);
    textdoc_begin(&td, TD_HEADING, 2);
    textdoc_texts(&td, "  A   heading ");
    textdoc_begin(&td, TD_PARA, 0);
    textdoc_texts(&td, "Some\n text");
    textdoc_begin(&td, TD_ITEM, 0);
    textdoc_texts(&td, "one");
    textdoc_begin(&td, TD_ITEM, 1);
    textdoc_texts(&td, "two");
    textdoc_row_begin(&td);
    textdoc_cell_begin(&td);
    textdoc_texts(&td, "a");
    textdoc_cell_end(&td);
    textdoc_cell_begin(&td);
    textdoc_cell_end(&td);
    textdoc_cell_begin(&td);
    textdoc_begin(&td, TD_PARA, 0); /* a paragraph inside a cell */
    textdoc_texts(&td, "c1");
    textdoc_begin(&td, TD_PARA, 0);
    textdoc_texts(&td, "c2");
    textdoc_cell_end(&td);
    textdoc_row_end(&td);
    textdoc_row_begin(&td);
    textdoc_cell_begin(&td);
    textdoc_cell_end(&td);
    textdoc_row_end(&td); /* an empty row is dropped */
    size_t n;
    char *s = textdoc_finish(&td, &n);
    CHECK_STR(
        s, "## A heading\n\nSome text\n\n- one\n  - two\n\n| a |  | c1 c2 |\n| --- | --- | --- |",
        "textdoc: the plain layout");
    free(s);

    /* numbers as documents render them, markers, a second table's header */
    struct buf b = {0};
    static const struct {
        long n;
        enum td_numfmt f;
        const char *want;
    } nums[] = {{4, TD_NUM_DECIMAL, "4"},
                {7, TD_NUM_DECIMAL_ZERO, "07"},
                {28, TD_NUM_LOWER_LETTER, "bb"},
                {3, TD_NUM_UPPER_LETTER, "C"},
                {1994, TD_NUM_UPPER_ROMAN, "MCMXCIV"},
                {9, TD_NUM_LOWER_ROMAN, "ix"},
                {0, TD_NUM_UPPER_ROMAN, "0"},
                {5000, TD_NUM_LOWER_LETTER, "5000"},
                {3, TD_NUM_BULLET, ""}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        buf_reset(&b);
        textdoc_format_number(&b, nums[i].n, nums[i].f);
        CHECK_STR(b.data ? b.data : "", nums[i].want, "textdoc: numbers in every format");
    }
    buf_free(&b);
    textdoc_init(&td);
    textdoc_begin(&td, TD_HEADING, 2);
    textdoc_marker(&td, "2.3");
    textdoc_texts(&td, "Scope");
    textdoc_begin(&td, TD_ITEM, 1);
    textdoc_marker(&td, "a)");
    textdoc_texts(&td, "first");
    for (int t = 0; t < 2; t++) {
        textdoc_table_begin(&td);
        for (int r = 0; r < 2; r++) {
            textdoc_row_begin(&td);
            textdoc_cell_begin(&td);
            textdoc_texts(&td, r ? "x|y" : "h");
            textdoc_cell_end(&td);
            textdoc_empty_cells(&td, 1);
            textdoc_row_end(&td);
        }
    }
    s = textdoc_finish(&td, &n);
    CHECK_STR(
        s,
        "## 2.3 Scope\n\n  a) first\n\n| h |  |\n| --- | --- |\n| x\\|y |  |\n\n| h |  |\n| --- | "
        "--- |\n| x\\|y |  |",
        "textdoc: markers, tables with their headers, a bar in a cell");
    free(s);
}

static void test_misc(void)
{
    char h[HASH_HEX_LEN + 1];
    hash_bytes("abc", 3, h);
    CHECK_STR(h, "ba7816bf8f01cfea", "hash: first 64 bits of SHA-256 in hex");
    char *p = container_resolve("ppt/slides/slide1.xml", "../notesSlides/n1.xml", 0);
    CHECK_STR(p, "ppt/notesSlides/n1.xml", "container: relative part names");
    free(p);
    p = container_resolve("OEBPS/content.opf", "Text/ch%201.xhtml#top", 1);
    CHECK_STR(p, "OEBPS/Text/ch 1.xhtml", "container: hrefs are decoded, fragments dropped");
    free(p);
    p = container_resolve("word/document.xml", "/word/media/a.png", 0);
    CHECK_STR(p, "word/media/a.png", "container: absolute part names");
    free(p);
    uint64_t v;
    CHECK(parse_size("64M", &v) == 0 && v == 64ull << 20, "sizes: 64M");
    CHECK(parse_size("1.5K", &v) == 0 && v == 1536, "sizes: 1.5K");
    CHECK(parse_size("12x", &v) < 0 && parse_size("-1", &v) < 0, "sizes: junk refused");
}

/* jsonc: whatever bytes are offered, what it accepts and then completes
 * parses and has the shape */
static void test_jsonc(void)
{
    unsigned seed = 11, good = 0, tries = 3000;
    const char alphabet[] = "{}[]\",:abc htripleadrl\\\x01\xC3\xA9\xE0\xF0\x80";
    for (unsigned t = 0; t < tries; t++) {
        struct jsonc c;
        jsonc_init(&c);
        GString *out = g_string_new(NULL);
        /* a valid start, then random bytes where they fit */
        const char *start = "{\"triples\":[{\"head\":\"";
        jsonc_step(&c, start, strlen(start));
        g_string_append(out, start);
        for (int i = 0; i < 200; i++) {
            seed = seed * 1103515245u + 12345u;
            char b = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
            if (jsonc_step(&c, &b, 1))
                g_string_append_c(out, b);
        }
        jsonc_close(&c, out);
        json_error_t je;
        json_t *d = json_loadb(out->str, out->len, 0, &je);
        json_t *tr = json_object_get(d, "triples");
        int ok = json_is_array(tr) && json_array_size(tr) >= 1 && json_array_size(tr) <= 8;
        size_t i;
        json_t *x;
        json_array_foreach(tr, i, x) ok &= json_object_size(x) == 3 &&
            json_is_string(json_object_get(x, "head")) &&
            json_is_string(json_object_get(x, "rel")) && json_is_string(json_object_get(x, "tail"));
        if (!ok && t == 0)
            printf("# %s\n", out->str);
        good += ok;
        json_decref(d);
        g_string_free(out, TRUE);
    }
    CHECK(good == tries, "jsonc: %u of %u random outputs, completed, parse with the shape", good,
          tries);
    struct jsonc c;
    jsonc_init(&c);
    CHECK(!jsonc_step(&c, "{\"triples\":[]}", 14) && !jsonc_step(&c, " ", 1),
          "jsonc: no empty list, no white space");
}

/* A mapped file's pages dropped (blob_drop) read back the same; a range
 * outside the map or in owned bytes is left alone. */
static void test_blob(void)
{
    const size_t n = 5 * 4096 + 123;
    unsigned char *want = malloc(n);
    for (size_t i = 0; i < n; i++)
        want[i] = (unsigned char)(i * 7 + i / 4096);
    FILE *f = fopen("blob.bin", "wb");
    int wrote = f && fwrite(want, 1, n, f) == n;
    if (f)
        fclose(f);
    struct blob b;
    lode_error err;
    int mapped = wrote && blob_map_file("blob.bin", &b, &err) == 0;
    CHECK(mapped && b.map, "a 20 kB file is mapped");
    if (mapped) {
        blob_drop(&b, b.data + 100, n - 200);
        blob_drop(&b, b.data + n - 10, 100); /* past the end: ignored */
        CHECK(b.len == n && !memcmp(b.data, want, n),
              "its bytes read the same after their pages were dropped");
        blob_free(&b);
    }
    unsigned char *own = malloc(16);
    memset(own, 5, 16);
    blob_own(&b, own, 16);
    blob_drop(&b, b.data, 16);
    CHECK(b.data[0] == 5 && b.data[15] == 5, "owned bytes are not dropped");
    blob_free(&b);
    unlink("blob.bin");
    free(want);
}

int main(void)
{
    test_blob();
    test_lines();
    test_charset();
    test_record();
    test_textdoc();
    test_misc();
    test_jsonc();
    return check_failures ? 1 : 0;
}
