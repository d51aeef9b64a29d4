/* The Unigram tokenizer against ../shared/ref/tiny-xlmr/unigram.ndjson: the
 * ids Hugging Face's tokenizers give with the trained XLM-R-layout
 * tokenizer.json on 42 hard texts (NFKC-sensitive characters, full-width
 * forms, combining marks, mixed scripts, runs of spaces, specials typed in
 * the text, empty text), <s> ... </s> included; and the piece counts and
 * truncated ids of tiny-xlmr-cls.expected.ndjson's 44 texts. Then the
 * tokens' byte spans (in order, inside the text; on texts the normaliser
 * leaves as they are, each span's bytes are its piece with U+2581 as a
 * space) and unigram_encode_max (the first max tokens of the whole text's,
 * a prefix cut at a space and one cut at a character). */
#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/unigram.h"

/* 1 when <s> + text's ids + </s> are want's, else 0 and the first bad index */
static int same(const struct unigram *u, json_t *want, const char *text, size_t len, int *bad)
{
    int *ids;
    size_t n = unigram_encode(u, text, len, &ids);
    int ok = json_array_size(want) == n + 2 &&
        json_integer_value(json_array_get(want, 0)) == unigram_bos(u) &&
        json_integer_value(json_array_get(want, n + 1)) == unigram_eos(u);
    *bad = -1;
    for (size_t i = 0; ok && i < n; i++)
        if (json_integer_value(json_array_get(want, i + 1)) != ids[i]) {
            ok = 0;
            *bad = (int)i;
        }
    free(ids);
    return ok;
}

/* 1 when the spans are in order and inside the text; on an ASCII text
 * without runs of spaces or controls, when each token's bytes are its
 * piece (U+2581 a space, the first one put in front having none) */
static int spans_ok(const struct unigram *u, const char *text, size_t len)
{
    struct wp_token *t;
    size_t n = unigram_encode_max(u, text, len, SIZE_MAX, &t);
    int plain = !strstr(text, "  ") && !strchr(text, '<');
    for (size_t i = 0; i < len; i++)
        plain &= (unsigned char)text[i] >= 0x20 && (unsigned char)text[i] < 0x7f;
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        ok = t[i].start <= t[i].end && t[i].end <= len &&
            (!i || (t[i].start >= t[i - 1].start && t[i].end >= t[i - 1].end));
        const char *piece = unigram_piece(u, t[i].id);
        if (!ok || !plain || !piece || t[i].id == unigram_unk(u))
            continue;
        char want[256];
        size_t w = 0;
        for (const char *p = piece; *p && w + 1 < sizeof want; p++) {
            if (!strncmp(p, "\xe2\x96\x81", 3)) {
                if (!(i == 0 && t[i].start == 0 && (len == 0 || text[0] != ' ')))
                    want[w++] = ' ';
                p += 2;
            } else {
                want[w++] = *p;
            }
        }
        ok = t[i].end - t[i].start == w && !memcmp(text + t[i].start, want, w);
        if (!ok)
            printf("# token %zu (%s) spans [%zu, %zu) of \"%s\"\n", i, piece, t[i].start, t[i].end,
                   text);
    }
    free(t);
    return ok;
}

/* 1 when unigram_encode_max's first max tokens are the whole text's */
static int max_ok(const struct unigram *u, const char *text, size_t len, size_t max)
{
    int *all;
    struct wp_token *t;
    size_t n = unigram_encode(u, text, len, &all), m = unigram_encode_max(u, text, len, max, &t);
    int ok = m == (n < max ? n : max);
    for (size_t i = 0; ok && i < m; i++)
        ok = t[i].id == all[i];
    free(all);
    free(t);
    return ok;
}

int main(void)
{
    const char *shared = getenv("LODE_SHARED");
    if (!shared)
        shared = "../shared";
    char dir[1024], path[1024];
    snprintf(dir, sizeof dir, "%s/models/xlmr-unigram-tokenizer", shared);
    lode_error err;
    struct unigram *u = unigram_load(dir, &err);
    CHECK(u != NULL, "the XLM-R-layout tokenizer.json loads%s%s", u ? "" : ": ", u ? "" : err.msg);
    if (!u)
        return 1;
    CHECK(unigram_size(u) == 8002 && unigram_unk(u) == 3 && unigram_bos(u) == 0 &&
              unigram_eos(u) == 2,
          "8002 pieces, <unk> 3, <s> 0, </s> 2 (fairseq's numbering)");
    snprintf(path, sizeof path, "%s/ref/tiny-xlmr/unigram.ndjson", shared);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s opens", path);
    char *line = NULL;
    size_t cap = 0;
    int n = 0, good = 0, spans = 0, maxes = 0;
    while (f && getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, 0, NULL);
        json_t *t = json_object_get(r, "text");
        int bad;
        n++;
        spans += spans_ok(u, json_string_value(t), json_string_length(t));
        maxes += max_ok(u, json_string_value(t), json_string_length(t), 1) &&
            max_ok(u, json_string_value(t), json_string_length(t), 3);
        if (same(u, json_object_get(r, "ids"), json_string_value(t), json_string_length(t), &bad))
            good++;
        else
            printf("# differs at piece %d: %s\n", bad, line);
        json_decref(r);
    }
    if (f)
        fclose(f);
    CHECK(n == 42 && good == n, "the ids of Hugging Face's tokenizers on every text (%d of %d)",
          good, n);
    CHECK(spans == n, "byte spans in order, inside the text, a plain text's own bytes (%d of %d)",
          spans, n);
    CHECK(maxes == n, "unigram_encode_max 1 and 3: the whole text's first tokens (%d of %d)", maxes,
          n);
    /* long texts: a prefix cut before a space, and one cut at a character
     * (no space in 64 KiB) */
    GString *words = g_string_new(NULL), *han = g_string_new(NULL);
    for (int i = 0; words->len < 600000; i++)
        g_string_append_printf(words, "word%d  and, \xc3\xa9t\xc3\xa9 %d ", i % 97, i);
    for (int i = 0; han->len < 300000; i++)
        g_string_append(han, i % 7 ? "\xe6\x97\xa5\xe6\x9c\xac" : "\xe8\xaa\x9e");
    CHECK(max_ok(u, words->str, words->len, 510) && max_ok(u, words->str, words->len, 20000),
          "a 600 kB text: unigram_encode_max 510 and 20000 are the whole text's first tokens");
    CHECK(max_ok(u, han->str, han->len, 510),
          "a 300 kB text without spaces: unigram_encode_max 510 is the whole text's first tokens");
    CHECK(spans_ok(u, words->str, words->len), "a 600 kB text: byte spans in order");
    g_string_free(words, TRUE);
    g_string_free(han, TRUE);
    /* every text of the embedding reference (the long ones too): the piece
     * count before truncation, and the ids kept (<s>, the first 510, </s>) */
    snprintf(path, sizeof path, "%s/ref/tiny-xlmr/tiny-xlmr-cls.expected.ndjson", shared);
    f = fopen(path, "r");
    int nl = 0, gl = 0, longs = 0;
    while (f && getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, 0, NULL);
        json_t *t = json_object_get(r, "input"), *want = json_object_get(r, "ids");
        int *ids;
        size_t k = unigram_encode(u, json_string_value(t), json_string_length(t), &ids);
        size_t kept = k < 510 ? k : 510;
        int ok = (json_int_t)k == json_integer_value(json_object_get(r, "pieces")) &&
            json_array_size(want) == kept + 2;
        for (size_t x = 0; ok && x < kept; x++)
            ok = json_integer_value(json_array_get(want, x + 1)) == ids[x];
        nl++;
        gl += ok;
        longs += k > 510;
        free(ids);
        json_decref(r);
    }
    if (f)
        fclose(f);
    CHECK(nl == 44 && gl == nl && longs == 2,
          "tiny-xlmr-cls's texts: piece counts and the ids kept after truncation (%d of %d, %d "
          "long)",
          gl, nl, longs);
    free(line);
    unigram_free(u);
    return check_failures != 0;
}
