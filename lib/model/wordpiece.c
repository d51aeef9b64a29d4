/* wordpiece.c - wordpiece.h's BERT tokenizer as Hugging Face applies it:
 * the BertNormalizer (lower case, accents, CJK spacing), splitting on
 * whitespace and punctuation, greedy longest-match pieces, byte spans. */
#include "model/wordpiece.h"

#include <glib.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/buf.h"

struct wordpiece {
    char **pieces;   /* by id */
    int n;           /* ids 0..n-1 */
    size_t cap;      /* room for cap */
    GHashTable *ids; /* piece -> id + 1 */
    int unk, cls, sep;
    int lowercase, strip_accents, chinese, clean;
    int max_chars;
    char *prefix; /* "##" */
};

/* One code point of the normalised text and the bytes it came from. */
struct ncp {
    int32_t c;
    size_t start, end;
};

struct ncps {
    struct ncp *v;
    size_t n, cap;
};

static void push(struct ncps *a, int32_t c, size_t s, size_t e)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = xreallocarray(a->v, a->cap, sizeof *a->v);
    }
    a->v[a->n].c = c;
    a->v[a->n].start = s;
    a->v[a->n++].end = e;
}

/* ---- loading ---- */

static void add_piece(struct wordpiece *wp, const char *piece, int id)
{
    if (id < 0 || id > 10000000)
        return;
    if (id >= wp->n) {
        wp->pieces = xgrowarray(wp->pieces, &wp->cap, (size_t)id + 1, sizeof *wp->pieces);
        for (int i = wp->n; i <= id; i++)
            wp->pieces[i] = NULL;
        wp->n = id + 1;
    }
    if (wp->pieces[id]) {
        /* the same id again (added tokens repeat the vocabulary's): the
         * table's key is the old string, drop it before freeing it */
        if (GPOINTER_TO_INT(g_hash_table_lookup(wp->ids, wp->pieces[id])) == id + 1)
            g_hash_table_remove(wp->ids, wp->pieces[id]);
        free(wp->pieces[id]);
    }
    wp->pieces[id] = xstrdup(piece);
    g_hash_table_replace(wp->ids, wp->pieces[id], GINT_TO_POINTER(id + 1));
}

static int lookup(const struct wordpiece *wp, const char *s)
{
    gpointer v = g_hash_table_lookup(wp->ids, s);
    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

static int flag(json_t *o, const char *key, int def)
{
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static int load_json(struct wordpiece *wp, const char *path, lode_error *err)
{
    json_error_t je;
    json_t *t = json_load_file(path, 0, &je);
    if (!t) {
        lode_seterr(err, "%s: %s (line %d)", path, je.text, je.line);
        return -1;
    }
    json_t *model = json_object_get(t, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    if (!type || strcmp(type, "WordPiece")) {
        lode_seterr(err, "%s: a %s tokenizer; lode-embed reads WordPiece (BERT) tokenizers", path,
                    type ? type : "unknown");
        json_decref(t);
        return -1;
    }
    json_t *vocab = json_object_get(model, "vocab");
    const char *piece;
    json_t *id;
    json_object_foreach(vocab, piece, id)
    {
        if (json_is_integer(id))
            add_piece(wp, piece, (int)json_integer_value(id));
    }
    json_t *added = json_object_get(t, "added_tokens");
    size_t i;
    json_t *a;
    json_array_foreach(added, i, a)
    {
        const char *content = json_string_value(json_object_get(a, "content"));
        if (content && json_is_integer(json_object_get(a, "id")))
            add_piece(wp, content, (int)json_integer_value(json_object_get(a, "id")));
    }
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    wp->unk = lookup(wp, unk ? unk : "[UNK]");
    const char *prefix = json_string_value(json_object_get(model, "continuing_subword_prefix"));
    wp->prefix = xstrdup(prefix ? prefix : "##");
    json_t *mc = json_object_get(model, "max_input_chars_per_word");
    wp->max_chars = json_is_integer(mc) ? (int)json_integer_value(mc) : 100;
    json_t *norm = json_object_get(t, "normalizer");
    const char *ntype = json_string_value(json_object_get(norm, "type"));
    if (ntype && !strcmp(ntype, "BertNormalizer")) {
        wp->clean = flag(norm, "clean_text", 1);
        wp->chinese = flag(norm, "handle_chinese_chars", 1);
        wp->lowercase = flag(norm, "lowercase", 1);
        json_t *sa = json_object_get(norm, "strip_accents");
        wp->strip_accents = json_is_boolean(sa) ? json_is_true(sa) : wp->lowercase;
    } else if (ntype) {
        lode_seterr(err, "%s: normalizer %s is not supported (BertNormalizer is)", path, ntype);
        json_decref(t);
        return -1;
    }
    const char *ptype =
        json_string_value(json_object_get(json_object_get(t, "pre_tokenizer"), "type"));
    if (ptype && strcmp(ptype, "BertPreTokenizer")) {
        lode_seterr(err, "%s: pre-tokenizer %s is not supported (BertPreTokenizer is)", path,
                    ptype);
        json_decref(t);
        return -1;
    }
    json_decref(t);
    return 0;
}

static int load_vocab_txt(struct wordpiece *wp, const char *dir, lode_error *err)
{
    char *path = xasprintf("%s/vocab.txt", dir);
    gchar *data;
    gsize len;
    if (!g_file_get_contents(path, &data, &len, NULL)) {
        lode_seterr(err, "%s: no tokenizer.json or vocab.txt", dir);
        free(path);
        return -1;
    }
    int id = 0;
    for (char *line = data, *end; line < data + len; line = end + 1, id++) {
        end = memchr(line, '\n', (size_t)(data + len - line));
        if (!end)
            end = data + len;
        size_t n = (size_t)(end - line);
        if (n && line[n - 1] == '\r')
            n--;
        char *piece = xstrndup(line, n);
        add_piece(wp, piece, id);
        free(piece);
    }
    g_free(data);
    free(path);
    wp->unk = lookup(wp, "[UNK]");
    wp->prefix = xstrdup("##");
    wp->max_chars = 100;
    wp->clean = wp->chinese = wp->lowercase = 1;
    char *cfg = xasprintf("%s/tokenizer_config.json", dir);
    json_t *c = json_load_file(cfg, 0, NULL);
    free(cfg);
    if (c) {
        wp->lowercase = flag(c, "do_lower_case", 1);
        wp->chinese = flag(c, "tokenize_chinese_chars", 1);
        json_t *sa = json_object_get(c, "strip_accents");
        wp->strip_accents = json_is_boolean(sa) ? json_is_true(sa) : wp->lowercase;
        json_decref(c);
    } else {
        wp->strip_accents = wp->lowercase;
    }
    return 0;
}

struct wordpiece *wordpiece_load(const char *dir, lode_error *err)
{
    struct wordpiece *wp = xcalloc(1, sizeof *wp);
    wp->ids = g_hash_table_new(g_str_hash, g_str_equal);
    char *path = xasprintf("%s/tokenizer.json", dir);
    int rc = g_file_test(path, G_FILE_TEST_EXISTS) ? load_json(wp, path, err)
                                                   : load_vocab_txt(wp, dir, err);
    free(path);
    if (rc == 0) {
        wp->cls = lookup(wp, "[CLS]");
        wp->sep = lookup(wp, "[SEP]");
        if (wp->unk < 0 || wp->cls < 0 || wp->sep < 0) {
            lode_seterr(err, "%s: the vocabulary lacks [UNK], [CLS] or [SEP]", dir);
            rc = -1;
        }
    }
    if (rc < 0) {
        wordpiece_free(wp);
        return NULL;
    }
    return wp;
}

void wordpiece_free(struct wordpiece *wp)
{
    if (!wp)
        return;
    g_hash_table_destroy(wp->ids);
    for (int i = 0; i < wp->n; i++)
        free(wp->pieces[i]);
    free(wp->pieces);
    free(wp->prefix);
    free(wp);
}

const char *wordpiece_piece(const struct wordpiece *wp, int id)
{
    return id >= 0 && id < wp->n && wp->pieces[id] ? wp->pieces[id] : "[UNK]";
}

int wordpiece_cls(const struct wordpiece *wp)
{
    return wp->cls;
}

int wordpiece_sep(const struct wordpiece *wp)
{
    return wp->sep;
}

int wordpiece_vocab_size(const struct wordpiece *wp)
{
    return wp->n;
}

/* ---- normalising ---- */

static int is_control(int32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
        cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS;
}

/* JavaScript's \s, which tokenizers.js uses */
static int is_space(int32_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xA0 || c == 0x1680 ||
        (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
        c == 0x3000 || c == 0xFEFF;
}

static int is_chinese(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
        (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
        (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int is_punct(int32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return 1;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

static int cased(int32_t c)
{
    return utf8proc_isupper(c) || utf8proc_islower(c) ||
        utf8proc_category(c) == UTF8PROC_CATEGORY_LT;
}

/* Lowercase and accent stripping of one code point into out. */
static void lower_strip(const struct wordpiece *wp, const struct ncps *all, size_t at, int32_t c,
                        size_t s, size_t e, struct ncps *out, const char *text, size_t len)
{
    int32_t lowered[3];
    int nl = 1;
    lowered[0] = c;
    if (wp->lowercase) {
        if (c == 0x130) { /* İ: full lowercase is i + combining dot */
            lowered[0] = 'i';
            lowered[1] = 0x307;
            nl = 2;
        } else if (c == 0x3A3) {
            /* final sigma: after a cased letter and not before one */
            int before = at > 0 && cased(all->v[at - 1].c);
            utf8proc_int32_t next = -1;
            if (e < len)
                utf8proc_iterate((const utf8proc_uint8_t *)text + e, (utf8proc_ssize_t)(len - e),
                                 &next);
            lowered[0] = before && !(next >= 0 && cased(next)) ? 0x3C2 : 0x3C3;
        } else {
            lowered[0] = utf8proc_tolower(c);
        }
    }
    for (int i = 0; i < nl; i++) {
        if (!wp->strip_accents) {
            push(out, lowered[i], s, e);
            continue;
        }
        utf8proc_int32_t d[16];
        utf8proc_ssize_t nd = utf8proc_decompose_char(lowered[i], d, 16, UTF8PROC_DECOMPOSE, NULL);
        if (nd <= 0 || nd > 16) {
            push(out, lowered[i], s, e);
            continue;
        }
        for (int k = 0; k < nd; k++)
            if (utf8proc_category(d[k]) != UTF8PROC_CATEGORY_MN)
                push(out, d[k], s, e);
    }
}

static void normalise(const struct wordpiece *wp, const char *text, size_t len, struct ncps *out)
{
    struct ncps cleaned = {0};
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
        if (n <= 0) {
            c = 0xFFFD;
            n = 1;
        }
        size_t s = i, e = i + (size_t)n;
        i = e;
        if (wp->clean) {
            if (c == 0 || c == 0xFFFD || is_control(c))
                continue;
            if (is_space(c))
                c = ' ';
        }
        if (wp->chinese && is_chinese(c)) {
            push(&cleaned, ' ', s, e);
            push(&cleaned, c, s, e);
            push(&cleaned, ' ', s, e);
        } else {
            push(&cleaned, c, s, e);
        }
    }
    for (size_t k = 0; k < cleaned.n; k++)
        lower_strip(wp, &cleaned, k, cleaned.v[k].c, cleaned.v[k].start, cleaned.v[k].end, out,
                    text, len);
    free(cleaned.v);
}

/* ---- WordPiece ---- */

static void add_token(struct wp_token **v, size_t *n, size_t *cap, int id, size_t s, size_t e)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = xreallocarray(*v, *cap, sizeof **v);
    }
    (*v)[*n].id = id;
    (*v)[*n].start = s;
    (*v)[(*n)++].end = e;
}

static void word(const struct wordpiece *wp, const struct ncp *w, size_t n, struct wp_token **v,
                 size_t *nv, size_t *cap)
{
    if ((int)n > wp->max_chars) {
        add_token(v, nv, cap, wp->unk, w[0].start, w[n - 1].end);
        return;
    }
    size_t mark = *nv;
    struct buf s = {0};
    size_t start = 0;
    /* byte offset in s after each code point */
    size_t *ends = xcalloc(n + 1, sizeof *ends);
    while (start < n) {
        buf_reset(&s);
        if (start > 0)
            buf_adds(&s, wp->prefix);
        for (size_t k = start; k < n; k++) {
            buf_add_utf8(&s, (unsigned)w[k].c);
            ends[k] = s.len;
        }
        int found = -1;
        size_t end = n;
        for (; end > start; end--) {
            char save = s.data[ends[end - 1]];
            s.data[ends[end - 1]] = 0;
            found = lookup(wp, s.data);
            s.data[ends[end - 1]] = save;
            if (found >= 0)
                break;
        }
        if (found < 0) {
            *nv = mark; /* the whole word is unknown */
            add_token(v, nv, cap, wp->unk, w[0].start, w[n - 1].end);
            break;
        }
        add_token(v, nv, cap, found, w[start].start, w[end - 1].end);
        start = end;
    }
    free(ends);
    buf_free(&s);
}

/* Pieces of text read one at a time: each ends at ASCII whitespace (where
 * no word, accent or final sigma spans the cut, so the tokens are those of
 * the whole text), or at a character boundary past WP_SLICE_MAX. */
#define WP_SLICE 65536
#define WP_SLICE_MAX (1u << 20)

static size_t slice_end(const char *text, size_t len, size_t at)
{
    if (len - at <= WP_SLICE)
        return len;
    for (size_t e = at + WP_SLICE; e < len && e < at + WP_SLICE_MAX; e++)
        if (text[e] == ' ' || text[e] == '\n' || text[e] == '\t' || text[e] == '\r')
            return e;
    size_t e = at + WP_SLICE_MAX < len ? at + WP_SLICE_MAX : len;
    while (e < len && ((unsigned char)text[e] & 0xC0) == 0x80)
        e++;
    return e;
}

static size_t encode_slice(const struct wordpiece *wp, const char *text, size_t len,
                           struct wp_token **out);

size_t wordpiece_encode(const struct wordpiece *wp, const char *text, size_t len,
                        struct wp_token **out)
{
    return wordpiece_encode_max(wp, text, len, SIZE_MAX, out);
}

size_t wordpiece_encode_max(const struct wordpiece *wp, const char *text, size_t len, size_t max,
                            struct wp_token **out)
{
    struct wp_token *v = NULL;
    size_t nv = 0, cap = 0;
    for (size_t at = 0; at < len && nv < max;) {
        size_t e = slice_end(text, len, at);
        struct wp_token *t;
        size_t n = encode_slice(wp, text + at, e - at, &t);
        if (n > max - nv)
            n = max - nv;
        v = xgrowarray(v, &cap, nv + n + 1, sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[nv++] = (struct wp_token){t[i].id, t[i].start + at, t[i].end + at};
        free(t);
        at = e;
    }
    *out = v;
    return nv;
}

static size_t encode_slice(const struct wordpiece *wp, const char *text, size_t len,
                           struct wp_token **out)
{
    struct ncps cps = {0};
    normalise(wp, text, len, &cps);
    struct wp_token *v = NULL;
    size_t nv = 0, cap = 0, i = 0;
    while (i < cps.n) {
        if (is_space(cps.v[i].c)) {
            i++;
            continue;
        }
        if (is_punct(cps.v[i].c)) {
            word(wp, &cps.v[i], 1, &v, &nv, &cap);
            i++;
            continue;
        }
        size_t j = i;
        while (j < cps.n && !is_space(cps.v[j].c) && !is_punct(cps.v[j].c))
            j++;
        word(wp, &cps.v[i], j - i, &v, &nv, &cap);
        i = j;
    }
    free(cps.v);
    *out = v;
    return nv;
}
