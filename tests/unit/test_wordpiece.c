/* WordPiece against ../shared/ref/tiny-bert/wordpiece.ndjson: the token ids
 * Hugging Face tokenizers.js gives with all-MiniLM-L6-v2's tokenizer.json
 * (no truncation), and the same from vocab.txt + tokenizer_config.json; and
 * the byte spans of the tokens. */
#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/buf.h"
#include "model/wordpiece.h"

static int same_ids(const struct wordpiece *wp, json_t *r, int *first_bad)
{
    const char *text = json_string_value(json_object_get(r, "text"));
    size_t len = json_string_length(json_object_get(r, "text"));
    json_t *ids = json_object_get(r, "ids");
    struct wp_token *t;
    size_t n = wordpiece_encode(wp, text, len, &t);
    int ok = json_array_size(ids) == n + 2 &&
        json_integer_value(json_array_get(ids, 0)) == wordpiece_cls(wp) &&
        json_integer_value(json_array_get(ids, n + 1)) == wordpiece_sep(wp);
    *first_bad = -1;
    for (size_t i = 0; ok && i < n; i++)
        if (json_integer_value(json_array_get(ids, i + 1)) != t[i].id) {
            ok = 0;
            *first_bad = (int)i;
        }
    free(t);
    return ok;
}

int main(void)
{
    const char *shared = getenv("LODE_SHARED");
    if (!shared)
        shared = "../shared";
    char path[1024], dir[1024], vocab_dir[1024];
    snprintf(path, sizeof path, "%s/ref/tiny-bert/wordpiece.ndjson", shared);
    snprintf(dir, sizeof dir, "%s/models/all-MiniLM-L6-v2-tokenizer", shared);
    lode_error err;
    struct wordpiece *wp = wordpiece_load(dir, &err);
    CHECK(wp != NULL, "tokenizer.json loads");
    if (!wp)
        return 1;
    /* vocab.txt alone: a copy of the folder without tokenizer.json */
    snprintf(vocab_dir, sizeof vocab_dir, "vocab-only");
    int sys = system(
        "mkdir -p vocab-only && cp \"$LODE_SHARED\"/models/all-MiniLM-L6-v2-tokenizer/vocab.txt "
        "\"$LODE_SHARED\"/models/all-MiniLM-L6-v2-tokenizer/tokenizer_config.json vocab-only/");
    struct wordpiece *wv = sys == 0 ? wordpiece_load(vocab_dir, &err) : NULL;
    CHECK(wv != NULL, "vocab.txt with tokenizer_config.json loads");
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int n = 0, good = 0, good_v = 0;
    /* the 20 texts joined by spaces, again and again past the size read at
     * once: their ids must be the texts' reference ids one after another */
    struct buf big = {0};
    GArray *want = g_array_new(FALSE, FALSE, sizeof(int));
    while (f && getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, JSON_ALLOW_NUL, NULL);
        if (!r)
            continue;
        json_t *jt = json_object_get(r, "text");
        const char *tx = json_string_value(jt); /* may hold NUL */
        json_t *ids = json_object_get(r, "ids");
        for (int rep = 0; tx && rep < 200; rep++) {
            buf_add(&big, tx, json_string_length(jt));
            buf_addc(&big, ' ');
            /* the reference ids hold [CLS] and [SEP] */
            for (size_t i = 1; i + 1 < json_array_size(ids); i++) {
                int id = (int)json_integer_value(json_array_get(ids, i));
                g_array_append_val(want, id);
            }
        }
        n++;
        int bad;
        if (same_ids(wp, r, &bad))
            good++;
        else
            printf("# differs at piece %d: %s\n", bad,
                   json_string_value(json_object_get(r, "text")));
        if (wv && same_ids(wv, r, &bad))
            good_v++;
        json_decref(r);
    }
    free(line);
    if (f)
        fclose(f);
    CHECK(n == 20 && good == n, "tokenizer.json: identical ids for %d of %d reference texts", good,
          n);
    CHECK(n == 20 && good_v == n, "vocab.txt: identical ids for %d of %d reference texts", good_v,
          n);
    /* the texts in the file's order, each 200 times over */
    struct wp_token *bt;
    size_t nb = wordpiece_encode(wp, big.data, big.len, &bt);
    int same = nb == want->len && big.len > 4 * 65536;
    for (size_t i = 0; same && i < nb; i++)
        same = bt[i].id == g_array_index(want, int, i) && bt[i].end <= big.len;
    CHECK(same, "a %zu-byte text read a piece at a time: its %zu ids are the references' (%u)",
          big.len, nb, want->len);
    struct wp_token *bm;
    size_t nm = wordpiece_encode_max(wp, big.data, big.len, 510, &bm);
    int prefix = nm == 510;
    for (size_t i = 0; prefix && i < nm; i++)
        prefix = bm[i].id == bt[i].id && bm[i].start == bt[i].start;
    CHECK(prefix, "wordpiece_encode_max: the first 510 of them");
    free(bt);
    free(bm);
    buf_free(&big);
    g_array_free(want, TRUE);

    const char *s = "Café déjà-vu";
    struct wp_token *t;
    size_t k = wordpiece_encode(wp, s, strlen(s), &t);
    int spans = k >= 4 && t[0].start == 0 && t[0].end == 5 && /* "Café" is 5 bytes */
        t[1].start == 6 && !strcmp(wordpiece_piece(wp, t[1].id), "de");
    CHECK(spans, "tokens point at their bytes in the original text (Café -> [0, 5))");
    CHECK(k && t[k - 1].end == strlen(s), "the last token ends at the end of the text");
    free(t);
    wordpiece_free(wp);
    wordpiece_free(wv);
    return check_failures ? 1 : 0;
}
