/* The Unigram tokenizer against ../shared/ref/tiny-xlmr/unigram.ndjson: the
 * ids Hugging Face's tokenizers give with the trained XLM-R-layout
 * tokenizer.json on 42 hard texts (NFKC-sensitive characters, full-width
 * forms, combining marks, mixed scripts, runs of spaces, specials typed in
 * the text, empty text), <s> ... </s> included; and the piece counts and
 * truncated ids of tiny-xlmr-cls.expected.ndjson's 44 texts. */
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
    int n = 0, good = 0;
    while (f && getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, 0, NULL);
        json_t *t = json_object_get(r, "text");
        int bad;
        n++;
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
