/* checkchunks PAGES CHUNKS SIZE: checks lode-chunk's output against its
 * input, byte for byte.
 *
 * For every chunk: its page exists (the chunk id is the page id plus
 * "-N"), text == page_text[span] exactly, the text neither starts nor ends
 * with whitespace, tokens <= SIZE, chunks of a page are numbered 1, 2, ...
 * in order of their spans. For every page: the chunks together cover every
 * non-whitespace byte. Prints one line per problem and a summary; exits 1
 * on any problem. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

struct page {
    char *id;
    const char *text;
    size_t len;
    unsigned char *covered;
    long chunks;
    json_t *rec;
};

static json_t *load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_error_t e;
        json_t *v = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &e);
        if (!v) {
            fprintf(stderr, "%s: bad JSON: %s\n", path, e.text);
            exit(2);
        }
        json_array_append_new(arr, v);
    }
    free(line);
    fclose(f);
    return arr;
}

static int blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Length of the whitespace character at s (ASCII or a Unicode space
 * separator), 0 when s is not whitespace. */
static size_t space_at(const char *s, size_t n)
{
    if (n && blank((unsigned char)s[0]))
        return 1;
    utf8proc_int32_t c;
    utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &c);
    if (m > 0 && c > 0x7F) {
        utf8proc_category_t cat = utf8proc_category(c);
        if (cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
            cat == UTF8PROC_CATEGORY_ZP)
            return (size_t)m;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: checkchunks PAGES CHUNKS SIZE\n");
        return 2;
    }
    long size = atol(argv[3]);
    json_t *pages_json = load(argv[1]), *chunks = load(argv[2]);
    size_t np = json_array_size(pages_json);
    struct page *pages = calloc(np, sizeof *pages);
    for (size_t i = 0; i < np; i++) {
        json_t *r = json_array_get(pages_json, i);
        pages[i].id = strdup(json_string_value(json_object_get(r, "id")));
        pages[i].text = json_string_value(json_object_get(r, "text"));
        pages[i].len = json_string_length(json_object_get(r, "text"));
        pages[i].covered = calloc(pages[i].len + 1, 1);
        pages[i].rec = r;
    }
    long problems = 0, nchunks = 0;
    for (size_t k = 0; k < json_array_size(chunks); k++) {
        json_t *c = json_array_get(chunks, k);
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *dash = id ? strrchr(id, '-') : NULL;
        struct page *pg = NULL;
        for (size_t i = 0; dash && i < np; i++)
            if (strlen(pages[i].id) == (size_t)(dash - id) &&
                !strncmp(pages[i].id, id, (size_t)(dash - id)))
                pg = &pages[i];
        if (!pg) {
            printf("chunk %s: no page\n", id ? id : "(no id)");
            problems++;
            continue;
        }
        nchunks++;
        long num = json_integer_value(json_object_get(c, "chunk"));
        if (num != pg->chunks + 1 || atol(dash + 1) != num) {
            printf("chunk %s: numbered %ld after %ld\n", id, num, pg->chunks);
            problems++;
        }
        pg->chunks = num;
        json_t *span = json_object_get(c, "span");
        long long s = json_integer_value(json_array_get(span, 0));
        long long e = json_integer_value(json_array_get(span, 1));
        const char *t = json_string_value(json_object_get(c, "text"));
        size_t tl = json_string_length(json_object_get(c, "text"));
        if (s < 0 || e < s || (size_t)e > pg->len || (size_t)(e - s) != tl ||
            memcmp(pg->text + s, t, tl)) {
            printf("chunk %s: text differs from page text [%lld, %lld)\n", id, s, e);
            problems++;
            continue;
        }
        if (tl && (space_at(t, tl) || blank((unsigned char)t[tl - 1]))) {
            printf("chunk %s: starts or ends with whitespace\n", id);
            problems++;
        }
        if ((t[0] & 0xC0) == 0x80 || ((size_t)e < pg->len && (pg->text[e] & 0xC0) == 0x80)) {
            printf("chunk %s: cuts a UTF-8 sequence\n", id);
            problems++;
        }
        long tokens = (long)json_integer_value(json_object_get(c, "tokens"));
        if (tokens < 1 || tokens > size) {
            printf("chunk %s: %ld tokens, limit %ld\n", id, tokens, size);
            problems++;
        }
        memset(pg->covered + s, 1, (size_t)(e - s));
        /* every other field of the page is kept */
        const char *key;
        json_t *v;
        json_object_foreach(pg->rec, key, v)
        {
            if (!strcmp(key, "id") || !strcmp(key, "text"))
                continue;
            if (!json_equal(v, json_object_get(c, key))) {
                printf("chunk %s: field %s not kept\n", id, key);
                problems++;
            }
        }
    }
    for (size_t i = 0; i < np; i++) {
        for (size_t b = 0; b < pages[i].len; b++) {
            size_t sp = space_at(pages[i].text + b, pages[i].len - b);
            if (sp) {
                b += sp - 1;
                continue;
            }
            if (!pages[i].covered[b]) {
                printf("page %s: byte %zu not covered by any chunk\n", pages[i].id, b);
                problems++;
                break;
            }
        }
    }
    printf("checkchunks: %zu pages, %ld chunks, %ld problems\n", np, nchunks, problems);
    for (size_t i = 0; i < np; i++) {
        free(pages[i].id);
        free(pages[i].covered);
    }
    free(pages);
    json_decref(pages_json);
    json_decref(chunks);
    return problems ? 1 : 0;
}
