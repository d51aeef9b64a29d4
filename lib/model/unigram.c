/* unigram.c - unigram.h's tokenizer: the charsmap trie walked as
 * darts-clone lays it out, graphemes by utf8proc, Metaspace, and a Viterbi
 * pass per pre-token over a hash of the pieces. */
#include "model/unigram.h"

#include <glib.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "base/buf.h"
#include "base/codec.h"

#define UNK_PENALTY 10.0
#define METASPACE "\xe2\x96\x81" /* U+2581 */

struct special {
    char *text;
    size_t len;
    int id, lstrip, rstrip;
};

struct unigram {
    char **pieces;
    double *scores;
    size_t n, maxlen; /* maxlen: the longest piece in bytes */
    GHashTable *ids;  /* piece -> id + 1 */
    double unk_score;
    int unk, bos, eos;
    uint32_t *trie; /* the charsmap's double array, or NULL: no Precompiled */
    size_t ntrie;
    char *norm; /* its replacement strings, NUL-separated */
    size_t nnorm;
    int collapse;         /* Replace(Regex " {2,}", content) */
    char *collapse_to;    /* ... its content */
    int strip_l, strip_r; /* Strip */
    int prepend;          /* Metaspace: 2 always, 1 first, 0 never */
    struct special *sp;
    size_t nsp;
};

/* ---- the charsmap ---- */

/* The replacement of the shortest prefix of s the trie holds, or NULL
 * (darts-clone's commonPrefixSearch, first result). */
static const char *charsmap_first(const struct unigram *u, const char *s, size_t n, size_t *used)
{
    if (!u->trie || !u->ntrie)
        return NULL;
    uint32_t unit = u->trie[0];
    size_t pos = (size_t)((unit >> 10) << ((unit & (1u << 9)) >> 6));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        pos ^= c;
        if (pos >= u->ntrie)
            return NULL;
        unit = u->trie[pos];
        if ((unit & ((1u << 31) | 0xFF)) != c)
            return NULL;
        pos ^= (size_t)((unit >> 10) << ((unit & (1u << 9)) >> 6));
        if (pos >= u->ntrie)
            return NULL;
        if ((unit >> 8) & 1) {
            size_t v = u->trie[pos] & ((1u << 31) - 1);
            if (v >= u->nnorm || !memchr(u->norm + v, 0, u->nnorm - v))
                return NULL; /* a damaged map: no replacement */
            *used = i + 1;
            return u->norm + v;
        }
    }
    return NULL;
}

static size_t char_len(const char *s, size_t n)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &cp);
    return k > 0 ? (size_t)k : 1;
}

/* Text being normalised, each byte with the original bytes [s, e) it came
 * from (the spans of the tokens at the end) */
struct range {
    size_t s, e;
};
struct mtext {
    struct buf b;
    GArray *src; /* struct range per byte of b */
};

static void mt_init(struct mtext *t)
{
    t->b = (struct buf){0};
    t->src = g_array_new(FALSE, FALSE, sizeof(struct range));
}

static void mt_free(struct mtext *t)
{
    buf_free(&t->b);
    g_array_free(t->src, TRUE);
}

static void mt_add(struct mtext *t, const char *p, size_t k, size_t s, size_t e)
{
    buf_add(&t->b, p, k);
    struct range r = {s, e};
    for (size_t i = 0; i < k; i++)
        g_array_append_val(t->src, r);
}

static const struct range *mt_at(const struct mtext *t, size_t i)
{
    return &g_array_index(t->src, struct range, i);
}

/* Precompiled, per extended grapheme cluster, into out; s is at original
 * offset base */
static void precompiled(const struct unigram *u, const char *s, size_t n, size_t base,
                        struct mtext *out)
{
    size_t i = 0;
    while (i < n) {
        /* the cluster [i, j) */
        size_t j = i + char_len(s + i, n - i);
        utf8proc_int32_t prev, cur, state = 0;
        utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &prev);
        while (j < n) {
            size_t k = char_len(s + j, n - j);
            if (utf8proc_iterate((const utf8proc_uint8_t *)s + j, (utf8proc_ssize_t)(n - j), &cur) <
                    0 ||
                prev < 0 || utf8proc_grapheme_break_stateful(prev, cur, &state))
                break;
            prev = cur;
            j += k;
        }
        size_t used;
        const char *r = j - i < 6 ? charsmap_first(u, s + i, j - i, &used) : NULL;
        if (r) {
            mt_add(out, r, strlen(r), base + i, base + j);
        } else {
            for (size_t c = i; c < j;) {
                size_t k = char_len(s + c, j - c);
                const char *rc = charsmap_first(u, s + c, k, &used);
                if (rc && used == k)
                    mt_add(out, rc, strlen(rc), base + c, base + c + k);
                else
                    mt_add(out, s + c, k, base + c, base + c + k);
                c += k;
            }
        }
        i = j;
    }
}

/* ---- pieces ---- */

/* The id of the n bytes at s, or -1; key is the caller's maxlen + 1 bytes,
 * so the Viterbi pass allocates nothing per lookup */
static int piece_id(const struct unigram *u, const char *s, size_t n, char *key)
{
    if (n > u->maxlen)
        return -1;
    memcpy(key, s, n);
    key[n] = 0;
    gpointer v = g_hash_table_lookup(u->ids, key);
    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

struct node {
    double score;
    int start, id, set;
};

/* Viterbi over one pre-token, the bytes [from, from + n) of t: its tokens
 * appended to toks */
static void viterbi(const struct unigram *u, const struct mtext *t, size_t from, size_t n,
                    GArray *toks)
{
    const char *s = t->b.data + from;
    struct node *b = xcalloc(n + 1, sizeof *b);
    char *key = xmalloc(u->maxlen + 1);
    b[0].set = 1;
    for (size_t st = 0; st < n;) {
        size_t clen = char_len(s + st, n - st);
        if (b[st].set) {
            int single = 0;
            for (size_t len = clen; st + len <= n && len <= u->maxlen;
                 len += char_len(s + st + len, n - st - len)) {
                int id = piece_id(u, s + st, len, key);
                if (id >= 0) {
                    double cand = b[st].score + u->scores[id];
                    struct node *x = &b[st + len];
                    if (!x->set || cand > x->score)
                        *x = (struct node){cand, (int)st, id, 1};
                    single |= len == clen;
                }
                if (st + len == n)
                    break;
            }
            if (!single) {
                double cand = b[st].score + u->unk_score;
                struct node *x = &b[st + clen];
                if (!x->set || cand > x->score)
                    *x = (struct node){cand, (int)st, u->unk, 1};
            }
        }
        st += clen;
    }
    /* back from the end, consecutive unknowns fused; a token's bytes are
     * those of its first and last normalised bytes */
    GArray *rev = g_array_new(FALSE, FALSE, sizeof(struct wp_token));
    for (size_t at = n; at > 0 && b[at].set;) {
        int id = b[at].id;
        size_t ps = from + (size_t)b[at].start;
        struct wp_token *last =
            rev->len ? &g_array_index(rev, struct wp_token, rev->len - 1) : NULL;
        if (id == u->unk && last && last->id == u->unk) {
            last->start = mt_at(t, ps)->s;
        } else {
            struct wp_token tk = {id, mt_at(t, ps)->s, mt_at(t, from + at - 1)->e};
            g_array_append_val(rev, tk);
        }
        at = (size_t)b[at].start;
    }
    for (guint i = rev->len; i > 0; i--)
        g_array_append_val(toks, g_array_index(rev, struct wp_token, i - 1));
    g_array_free(rev, TRUE);
    free(key);
    free(b);
}

/* One stretch of text between specials, at original offset base:
 * normalised, pre-tokenised, encoded */
static void encode_plain(const struct unigram *u, const char *s, size_t n, size_t base,
                         GArray *toks, int first)
{
    struct mtext a, c, ms;
    mt_init(&a);
    mt_init(&c);
    mt_init(&ms);
    if (u->trie)
        precompiled(u, s, n, base, &a);
    else
        for (size_t i = 0; i < n; i++)
            mt_add(&a, s + i, 1, base + i, base + i + 1);
    const char *p = a.b.data ? a.b.data : "";
    size_t m = a.b.len;
    /* Replace(" {2,}") */
    for (size_t i = 0; i < m;) {
        if (u->collapse && p[i] == ' ' && i + 1 < m && p[i + 1] == ' ') {
            size_t run = i;
            while (i < m && p[i] == ' ')
                i++;
            mt_add(&c, u->collapse_to, strlen(u->collapse_to), mt_at(&a, run)->s,
                   mt_at(&a, i - 1)->e);
        } else {
            mt_add(&c, p + i, 1, mt_at(&a, i)->s, mt_at(&a, i)->e);
            i++;
        }
    }
    p = c.b.data ? c.b.data : "";
    m = c.b.len;
    size_t lo = 0, hi = m;
    if (u->strip_l)
        while (lo < hi && g_ascii_isspace(p[lo]))
            lo++;
    if (u->strip_r)
        while (hi > lo && g_ascii_isspace(p[hi - 1]))
            hi--;
    /* Metaspace: spaces become U+2581, then one in front unless the text
     * starts with one (it has no bytes of its own: those of the text's
     * start, empty), then split before each */
    if (hi > lo && (u->prepend == 2 || (u->prepend == 1 && first)) && p[lo] != ' ' &&
        !(hi - lo >= 3 && !memcmp(p + lo, METASPACE, 3)))
        mt_add(&ms, METASPACE, 3, mt_at(&c, lo)->s, mt_at(&c, lo)->s);
    for (size_t i = lo; i < hi; i++) {
        if (p[i] == ' ')
            mt_add(&ms, METASPACE, 3, mt_at(&c, i)->s, mt_at(&c, i)->e);
        else
            mt_add(&ms, p + i, 1, mt_at(&c, i)->s, mt_at(&c, i)->e);
    }
    const char *q = ms.b.data ? ms.b.data : "";
    size_t start = 0, len = ms.b.len;
    for (size_t i = 3; i + 3 <= len; i++)
        if (!memcmp(q + i, METASPACE, 3)) {
            viterbi(u, &ms, start, i - start, toks);
            start = i;
            i += 2;
        }
    if (len > start)
        viterbi(u, &ms, start, len - start, toks);
    mt_free(&a);
    mt_free(&c);
    mt_free(&ms);
}

/* Every token of text[0, len) */
static GArray *encode_all(const struct unigram *u, const char *text, size_t len)
{
    GArray *toks = g_array_new(FALSE, FALSE, sizeof(struct wp_token));
    size_t from = 0;
    int first = 1;
    for (size_t i = 0; i <= len;) {
        /* the longest special that starts here */
        const struct special *hit = NULL;
        for (size_t k = 0; i < len && k < u->nsp; k++)
            if (u->sp[k].len <= len - i && !memcmp(text + i, u->sp[k].text, u->sp[k].len) &&
                (!hit || u->sp[k].len > hit->len))
                hit = &u->sp[k];
        if (!hit && i < len) {
            i++;
            continue;
        }
        size_t end = i;
        if (hit && hit->lstrip)
            while (end > from && g_ascii_isspace(text[end - 1]))
                end--;
        if (end > from)
            encode_plain(u, text + from, end - from, from, toks, first);
        first = 0;
        if (!hit)
            break;
        struct wp_token tk = {hit->id, i, i + hit->len};
        g_array_append_val(toks, tk);
        i += hit->len;
        if (hit->rstrip)
            while (i < len && g_ascii_isspace(text[i]))
                i++;
        from = i;
    }
    return toks;
}

/* Where a prefix of text can end at or after at and encode as the start of
 * the whole: before a lone space between ASCII letters or digits (a
 * pre-token ends there, no normaliser reaches across it). A text without
 * one for CUT_SEARCH bytes is cut at a character there. */
#define CUT_SEARCH 65536
static size_t clean_cut(const char *t, size_t len, size_t at, int *forced)
{
    *forced = 0;
    for (size_t c = at ? at : 1; c + 1 < len && c < at + CUT_SEARCH; c++)
        if (t[c] == ' ' && g_ascii_isalnum(t[c - 1]) && g_ascii_isalnum(t[c + 1]))
            return c;
    size_t c = at + CUT_SEARCH;
    if (c >= len)
        return len;
    while (c < len && ((unsigned char)t[c] & 0xC0) == 0x80)
        c++;
    *forced = 1;
    return c;
}

size_t unigram_encode_max(const struct unigram *u, const char *text, size_t len, size_t max,
                          struct wp_token **out)
{
    /* a prefix several times the window's likely bytes, grown until it
     * gives more than max tokens or is the whole text */
    size_t try = max > len / 64 ? len : max * 64 + 4096;
    for (;;) {
        int forced = 0;
        size_t cut = try >= len ? len : clean_cut(text, len, try, &forced);
        GArray *toks = encode_all(u, text, cut);
        /* past a forced cut, pieces near it may differ: keep a margin */
        if (cut == len || toks->len > max + (forced ? 64 : 0)) {
            size_t n = toks->len < max ? toks->len : max;
            *out = (struct wp_token *)(void *)g_array_free(toks, FALSE);
            return n;
        }
        g_array_free(toks, TRUE);
        try = try > len / 4 ? len : try * 4;
    }
}

size_t unigram_encode(const struct unigram *u, const char *text, size_t len, int **ids)
{
    struct wp_token *t;
    size_t n = unigram_encode_max(u, text, len, SIZE_MAX, &t);
    int *v = xmalloc((n + 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = t[i].id;
    free(t);
    *ids = v;
    return n;
}

/* ---- loading ---- */

static int load_charsmap(struct unigram *u, const char *b64, lode_error *err)
{
    gsize n = 0;
    guchar *blob = g_base64_decode(b64, &n);
    int rc = 0;
    if (n < 4) {
        rc = lode_fail(err, LODE_ECORRUPT, "precompiled_charsmap: %zu bytes", (size_t)n);
    } else {
        uint32_t tsize = get_le32(blob);
        if (tsize % 4 || tsize > n - 4) {
            rc = lode_fail(err, LODE_ECORRUPT, "precompiled_charsmap: a trie of %u bytes in %zu",
                           tsize, (size_t)n);
        } else {
            u->ntrie = tsize / 4;
            u->trie = xcalloc(u->ntrie + 1, sizeof *u->trie);
            for (size_t i = 0; i < u->ntrie; i++)
                u->trie[i] = get_le32(blob + 4 + 4 * i);
            u->nnorm = n - 4 - tsize;
            u->norm = xmalloc(u->nnorm + 1);
            memcpy(u->norm, blob + 4 + tsize, u->nnorm);
            u->norm[u->nnorm] = 0;
        }
    }
    g_free(blob);
    return rc;
}

/* One normaliser of the sequence; LODE_EUNSUPPORTED for others */
static int load_normalizer(struct unigram *u, json_t *n, lode_error *err)
{
    const char *type = json_string_value(json_object_get(n, "type"));
    if (!type)
        return lode_fail(err, LODE_EINVAL, "tokenizer.json: a normalizer without a type");
    if (!strcmp(type, "Sequence")) {
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(n, "normalizers"), i, x)
        {
            int rc = load_normalizer(u, x, err);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!strcmp(type, "Precompiled")) {
        const char *b64 = json_string_value(json_object_get(n, "precompiled_charsmap"));
        if (!b64)
            return lode_fail(err, LODE_EINVAL, "tokenizer.json: Precompiled without a charsmap");
        return u->trie ? 0 : load_charsmap(u, b64, err);
    }
    if (!strcmp(type, "Replace")) {
        const char *re = json_string_value(json_object_get(json_object_get(n, "pattern"), "Regex"));
        const char *to = json_string_value(json_object_get(n, "content"));
        if (!re || strcmp(re, " {2,}") || !to)
            return lode_fail(err, LODE_EUNSUPPORTED,
                             "tokenizer.json: a Replace normalizer other than \" {2,}\"");
        u->collapse = 1;
        free(u->collapse_to);
        u->collapse_to = xstrdup(strcmp(to, METASPACE) ? to : " ");
        return 0;
    }
    if (!strcmp(type, "Strip")) {
        u->strip_l = json_is_true(json_object_get(n, "strip_left"));
        u->strip_r = json_is_true(json_object_get(n, "strip_right"));
        return 0;
    }
    return lode_fail(err, LODE_EUNSUPPORTED, "tokenizer.json: the %s normalizer is not read", type);
}

struct unigram *unigram_load(const char *dir, lode_error *err)
{
    char *path = xasprintf("%s/tokenizer.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        lode_fail(err, access(path, F_OK) ? LODE_ENOTFOUND : LODE_EINVAL, "%s: %s", path, je.text);
        free(path);
        return NULL;
    }
    struct unigram *u = xcalloc(1, sizeof *u);
    u->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    u->prepend = 2;
    u->bos = u->eos = -1;
    json_t *model = json_object_get(j, "model"), *vocab = json_object_get(model, "vocab");
    const char *mtype = json_string_value(json_object_get(model, "type"));
    json_t *unk = json_object_get(model, "unk_id");
    int rc = 0;
    if (!mtype || strcmp(mtype, "Unigram"))
        rc = lode_fail(err, LODE_ENOTFOUND, "%s: a %s model, not Unigram", path,
                       mtype ? mtype : "typeless");
    else if (!json_is_array(vocab) || !json_array_size(vocab) ||
             json_array_size(vocab) > (1u << 24))
        rc = lode_fail(err, LODE_EINVAL, "%s: the vocabulary is not a list of pieces", path);
    if (!rc) {
        u->n = json_array_size(vocab);
        u->pieces = xcalloc(u->n, sizeof *u->pieces);
        u->scores = xcalloc(u->n, sizeof *u->scores);
        double lo = 0;
        for (size_t i = 0; !rc && i < u->n; i++) {
            json_t *e = json_array_get(vocab, i);
            const char *p = json_string_value(json_array_get(e, 0));
            json_t *sc = json_array_get(e, 1);
            if (!p || !json_is_number(sc)) {
                rc = lode_fail(err, LODE_EINVAL, "%s: vocabulary entry %zu is not [piece, score]",
                               path, i);
                break;
            }
            u->pieces[i] = xstrdup(p);
            u->scores[i] = json_number_value(sc);
            if (u->scores[i] < lo)
                lo = u->scores[i];
            size_t pl = strlen(p);
            if (pl > u->maxlen)
                u->maxlen = pl;
            if (!g_hash_table_contains(u->ids, p))
                g_hash_table_insert(u->ids, g_strdup(p), GINT_TO_POINTER((int)i + 1));
        }
        u->unk_score = lo - UNK_PENALTY;
        if (!rc &&
            (!json_is_integer(unk) || json_integer_value(unk) < 0 ||
             json_integer_value(unk) >= (json_int_t)u->n))
            rc = lode_fail(err, LODE_EINVAL, "%s: no unk_id in the vocabulary", path);
        else if (!rc)
            u->unk = (int)json_integer_value(unk);
    }
    json_t *norm = json_object_get(j, "normalizer");
    if (!rc && json_is_object(norm))
        rc = load_normalizer(u, norm, err);
    json_t *pre = json_object_get(j, "pre_tokenizer");
    if (!rc && json_is_object(pre)) {
        const char *pt = json_string_value(json_object_get(pre, "type"));
        const char *scheme = json_string_value(json_object_get(pre, "prepend_scheme"));
        json_t *rep = json_object_get(pre, "replacement");
        if (!pt || strcmp(pt, "Metaspace") ||
            (rep && strcmp(json_string_value(rep) ? json_string_value(rep) : "", METASPACE)))
            rc = lode_fail(err, LODE_EUNSUPPORTED, "%s: the pre-tokenizer %s is not read", path,
                           pt ? pt : "(typeless)");
        else if (scheme)
            u->prepend = !strcmp(scheme, "always") ? 2 : !strcmp(scheme, "first") ? 1 : 0;
        else if (json_is_false(json_object_get(pre, "add_prefix_space")))
            u->prepend = 0;
    }
    /* the specials, split out of the text before anything else */
    json_t *added = json_object_get(j, "added_tokens"), *a;
    size_t i;
    json_array_foreach(added, i, a)
    {
        const char *c = json_string_value(json_object_get(a, "content"));
        json_t *id = json_object_get(a, "id");
        if (rc || !c || !*c || !json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= (json_int_t)u->n)
            continue;
        u->sp = xreallocarray(u->sp, u->nsp + 1, sizeof *u->sp);
        u->sp[u->nsp++] = (struct special){xstrdup(c), strlen(c), (int)json_integer_value(id),
                                           json_is_true(json_object_get(a, "lstrip")),
                                           json_is_true(json_object_get(a, "rstrip"))};
    }
    /* the template: <s> ... </s> (XLM-R's post_processor) */
    gpointer sv = g_hash_table_lookup(u->ids, "<s>"), ev = g_hash_table_lookup(u->ids, "</s>");
    int s = sv ? GPOINTER_TO_INT(sv) - 1 : -1, e = ev ? GPOINTER_TO_INT(ev) - 1 : -1;
    u->bos = s;
    u->eos = e;
    if (!rc && (s < 0 || e < 0))
        rc = lode_fail(err, LODE_EUNSUPPORTED, "%s: no <s> and </s> pieces", path);
    json_decref(j);
    free(path);
    if (rc) {
        unigram_free(u);
        return NULL;
    }
    return u;
}

void unigram_free(struct unigram *u)
{
    if (!u)
        return;
    for (size_t i = 0; u->pieces && i < u->n; i++)
        free(u->pieces[i]);
    for (size_t i = 0; i < u->nsp; i++)
        free(u->sp[i].text);
    free(u->sp);
    free(u->pieces);
    free(u->scores);
    g_hash_table_destroy(u->ids);
    free(u->trie);
    free(u->norm);
    free(u->collapse_to);
    free(u);
}

int unigram_bos(const struct unigram *u)
{
    return u->bos;
}

int unigram_eos(const struct unigram *u)
{
    return u->eos;
}

int unigram_unk(const struct unigram *u)
{
    return u->unk;
}

size_t unigram_size(const struct unigram *u)
{
    return u->n;
}

const char *unigram_piece(const struct unigram *u, int id)
{
    return id >= 0 && (size_t)id < u->n ? u->pieces[id] : NULL;
}
