/* tokenizer.c - tokenizer.h's decoder tokenizers, from GGUF metadata or a
 * Hugging Face tokenizer.json: SentencePiece BPE by scores with byte
 * fallback, byte-level BPE by merge ranks after the pre-tokenizer regex,
 * special tokens, and decoding back to text. */
#include "model/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/heap.h"

/* ---- pre-tokenizer regexes (llama.cpp's, by tokenizer.ggml.pre) ---- */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define RE_LLAMA3                                                              \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| " \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                          \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| " \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static const struct {
    const char *pre;
    const char *re[2];
    int nfc;
} pretok[] = {
    {"qwen2", {RE_QWEN2, NULL}, 1},      {"llama3", {RE_LLAMA3, NULL}, 0},
    {"llama-bpe", {RE_LLAMA3, NULL}, 0}, {"smaug-bpe", {RE_LLAMA3, NULL}, 0},
    {"smollm", {"\\p{N}", RE_GPT2}, 0},  {"gpt2", {RE_GPT2, NULL}, 0},
    {"default", {RE_GPT2, NULL}, 0},
};

static int add_regex(struct tokenizer *t, const char *pattern, lode_error *err)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        lode_seterr(err, "pre-tokenizer regex: %s at %zu", (char *)msg, (size_t)off);
        return -1;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* faster where JIT exists; fine without */
    t->re = xreallocarray(t->re, (size_t)t->nre + 1, sizeof *t->re);
    t->re[t->nre++] = re;
    return 0;
}

/* ---- building ---- */

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the
 * others for code points from 256 on. */
static void byte_tables(struct tokenizer *t)
{
    int n = 0;
    for (int b = 0; b < 512; b++)
        t->cp_byte[b] = -1;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        t->byte_cp[b] = keep ? (uint16_t)b : (uint16_t)(256 + n++);
        t->cp_byte[t->byte_cp[b]] = (int16_t)b;
    }
}

static void init(struct tokenizer *t, enum tok_kind kind, int n)
{
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->n = n;
    t->piece = xcalloc((size_t)n + 1, sizeof *t->piece);
    t->plen = xcalloc((size_t)n + 1, sizeof *t->plen);
    t->score = xcalloc((size_t)n + 1, sizeof *t->score);
    t->type = xcalloc((size_t)n + 1, 1);
    t->index = g_hash_table_new(g_str_hash, g_str_equal);
    t->bos = t->eos = t->unk = -1;
    for (int i = 0; i < 256; i++)
        t->byte_id[i] = -1;
    byte_tables(t);
}

static void set_piece(struct tokenizer *t, int id, const char *s, size_t len)
{
    t->piece[id] = xstrndup(s, len);
    t->plen[id] = (uint32_t)len;
    /* the first of duplicate pieces wins, as in llama.cpp */
    if (!g_hash_table_contains(t->index, t->piece[id]))
        g_hash_table_insert(t->index, t->piece[id], GINT_TO_POINTER(id + 1));
}

int tok_lookup(const struct tokenizer *t, const char *piece)
{
    return GPOINTER_TO_INT(g_hash_table_lookup(t->index, piece)) - 1;
}

static int by_length_desc(const void *a, const void *b, void *ud)
{
    const struct tokenizer *t = ud;
    int x = *(const int *)a, y = *(const int *)b;
    return t->plen[x] != t->plen[y] ? (t->plen[x] < t->plen[y] ? 1 : -1) : x - y;
}

static void add_eog(struct tokenizer *t, int id)
{
    if (id < 0 || id >= t->n)
        return;
    for (int i = 0; i < t->neog; i++)
        if (t->eog[i] == id)
            return;
    t->eog = xreallocarray(t->eog, (size_t)t->neog + 1, sizeof *t->eog);
    t->eog[t->neog++] = id;
}

/* Special tokens, end-of-generation tokens and byte tokens, once the
 * vocabulary is in. */
static void finish(struct tokenizer *t)
{
    t->specials = xmalloc(sizeof *t->specials * ((size_t)t->n + 1));
    for (int i = 0; i < t->n; i++) {
        if ((t->type[i] == TT_CONTROL || t->type[i] == TT_USER) && t->plen[i])
            t->specials[t->nspecials++] = i;
        /* <0xNN> with two hex digits: sscanf's %X would take "-1" (a byte
         * 0xFFFFFFFF; llama.cpp's PLaMo-2 advisory) */
        const char *p = t->piece[i];
        if (t->type[i] == TT_BYTE && t->plen[i] == 6 && !strncmp(p, "<0x", 3) &&
            g_ascii_isxdigit(p[3]) && g_ascii_isxdigit(p[4]) && p[5] == '>')
            t->byte_id[g_ascii_xdigit_value(p[3]) << 4 | g_ascii_xdigit_value(p[4])] = i;
    }
    g_qsort_with_data(t->specials, t->nspecials, sizeof *t->specials, by_length_desc, t);
    add_eog(t, t->eos);
    static const char *const ends[] = {
        "<|im_end|>",    "<|eot_id|>",      "<|end|>", "<end_of_turn>",
        "<|endoftext|>", "<|end_of_text|>", "</s>",    NULL};
    for (int i = 0; ends[i]; i++) {
        int id = tok_lookup(t, ends[i]);
        if (id >= 0 && t->type[id] == TT_CONTROL)
            add_eog(t, id);
    }
}

static int kv_bool(const struct gguf *g, const char *key, int def)
{
    const struct gguf_kv *kv = gguf_find(g, key);
    return kv && kv->type == GGUF_BOOL ? kv->v.u != 0 : def;
}

int tok_from_gguf(const struct gguf *g, struct tokenizer *t, lode_error *err)
{
    const char *model = gguf_str(g, "tokenizer.ggml.model");
    const struct gguf_kv *tokens = gguf_find(g, "tokenizer.ggml.tokens");
    if (!model || !tokens || tokens->type != GGUF_ARRAY || tokens->atype != GGUF_STRING ||
        tokens->count == 0 || tokens->count > (1u << 24)) {
        lode_seterr(err, "no tokenizer in the file (tokenizer.ggml.model and .tokens)");
        return -1;
    }
    enum tok_kind kind;
    if (!strcmp(model, "llama"))
        kind = TOK_SPM;
    else if (!strcmp(model, "gpt2"))
        kind = TOK_BPE;
    else {
        lode_seterr(err, "tokenizer \"%s\" is not supported (llama and gpt2 are)", model);
        return -1;
    }
    int n = (int)tokens->count;
    init(t, kind, n);
    for (int i = 0; i < n; i++)
        set_piece(t, i, (const char *)tokens->astr[i], tokens->astrlen[i]);
    const struct gguf_kv *sc = gguf_find(g, "tokenizer.ggml.scores");
    if (sc && sc->type == GGUF_ARRAY && sc->atype == GGUF_F32 && sc->count == (uint64_t)n)
        for (int i = 0; i < n; i++)
            memcpy(&t->score[i], sc->adata + 4 * (size_t)i, 4);
    const struct gguf_kv *ty = gguf_find(g, "tokenizer.ggml.token_type");
    for (int i = 0; i < n; i++)
        t->type[i] = TT_NORMAL;
    if (ty && ty->type == GGUF_ARRAY && ty->atype == GGUF_I32 && ty->count == (uint64_t)n)
        for (int i = 0; i < n; i++) {
            const unsigned char *p = ty->adata + 4 * (size_t)i;
            t->type[i] = p[0];
        }
    int64_t bos = gguf_int(g, "tokenizer.ggml.bos_token_id", -1);
    int64_t eos = gguf_int(g, "tokenizer.ggml.eos_token_id", -1);
    int64_t unk = gguf_int(g, "tokenizer.ggml.unknown_token_id", -1);
    t->bos = bos >= 0 && bos < n ? (int)bos : -1;
    t->eos = eos >= 0 && eos < n ? (int)eos : -1;
    t->unk = unk >= 0 && unk < n ? (int)unk : -1;
    t->add_bos = kv_bool(g, "tokenizer.ggml.add_bos_token", kind == TOK_SPM);
    t->add_space_prefix = kv_bool(g, "tokenizer.ggml.add_space_prefix", kind == TOK_SPM);
    if (kind == TOK_BPE) {
        const struct gguf_kv *mg = gguf_find(g, "tokenizer.ggml.merges");
        if (!mg || mg->type != GGUF_ARRAY || mg->atype != GGUF_STRING) {
            lode_seterr(err, "a gpt2 tokenizer without tokenizer.ggml.merges");
            tok_free(t);
            return -1;
        }
        t->merges = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        for (uint64_t i = 0; i < mg->count; i++) {
            char *m = xstrndup((const char *)mg->astr[i], mg->astrlen[i]);
            if (g_hash_table_contains(t->merges, m))
                free(m);
            else
                g_hash_table_insert(t->merges, m, GINT_TO_POINTER((int)i + 1));
        }
        const char *pre = gguf_str(g, "tokenizer.ggml.pre");
        size_t k = sizeof pretok / sizeof *pretok - 1; /* default */
        for (size_t i = 0; pre && i < sizeof pretok / sizeof *pretok; i++)
            if (!strcmp(pre, pretok[i].pre))
                k = i;
        if (pre && strcmp(pre, pretok[k].pre))
            warning("pre-tokenizer \"%s\" is not known; splitting as GPT-2 does", pre);
        for (int r = 0; r < 2 && pretok[k].re[r]; r++)
            if (add_regex(t, pretok[k].re[r], err) < 0) {
                tok_free(t);
                return -1;
            }
        t->nfc = pretok[k].nfc;
    }
    finish(t);
    return 0;
}

static json_t *load_json(const char *dir, const char *name, lode_error *err)
{
    char *path = xasprintf("%s/%s", dir, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j && err)
        lode_seterr(err, "%s: %s", path, je.text);
    free(path);
    return j;
}

/* The regex of a Split pre-tokenizer, searched through a Sequence. */
static const char *split_regex(json_t *pre)
{
    const char *type = json_string_value(json_object_get(pre, "type"));
    if (type && !strcmp(type, "Split"))
        return json_string_value(json_object_get(json_object_get(pre, "pattern"), "Regex"));
    json_t *seq = json_object_get(pre, "pretokenizers");
    for (size_t i = 0; i < json_array_size(seq); i++) {
        const char *r = split_regex(json_array_get(seq, i));
        if (r)
            return r;
    }
    return NULL;
}

int tok_from_hf(const char *dir, struct tokenizer *t, lode_error *err)
{
    json_t *j = load_json(dir, "tokenizer.json", err);
    if (!j)
        return -1;
    json_t *model = json_object_get(j, "model"), *vocab = json_object_get(model, "vocab");
    json_t *merges = json_object_get(model, "merges"), *added = json_object_get(j, "added_tokens");
    const char *mtype = json_string_value(json_object_get(model, "type"));
    const char *dec = json_string_value(json_object_get(json_object_get(j, "decoder"), "type"));
    if (!mtype || strcmp(mtype, "BPE") || !json_is_object(vocab) || !json_is_array(merges) ||
        !dec || strcmp(dec, "ByteLevel")) {
        if (mtype && (!strcmp(mtype, "WordPiece") || !strcmp(mtype, "Unigram")))
            lode_seterr(err,
                        "%s/tokenizer.json is a %s tokenizer, an encoder's (BERT, XLM-R): "
                        "decoders (Llama, Qwen, Phi-3) come as GGUF files or byte-level BPE "
                        "folders; encoders are for lode-embed and lode-rerank",
                        dir, mtype);
        else
            lode_seterr(err, "%s/tokenizer.json: only byte-level BPE tokenizers are supported",
                        dir);
        json_decref(j);
        return -1;
    }
    int n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(vocab, key, v)
    {
        if (json_is_integer(v) && json_integer_value(v) >= n && json_integer_value(v) < (1 << 24))
            n = (int)json_integer_value(v) + 1;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_int_t id = json_integer_value(json_object_get(json_array_get(added, i), "id"));
        if (id >= n && id < (1 << 24))
            n = (int)id + 1;
    }
    init(t, TOK_BPE, n);
    json_object_foreach(vocab, key, v)
    {
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            set_piece(t, (int)json_integer_value(v), key, strlen(key));
        t->type[json_integer_value(v)] = TT_NORMAL;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *a = json_array_get(added, i);
        json_int_t id = json_integer_value(json_object_get(a, "id"));
        const char *content = json_string_value(json_object_get(a, "content"));
        if (id < 0 || id >= n || !content)
            continue;
        if (!t->piece[id])
            set_piece(t, (int)id, content, strlen(content));
        t->type[id] = json_is_true(json_object_get(a, "special")) ? TT_CONTROL : TT_USER;
    }
    for (int i = 0; i < n; i++)
        if (!t->piece[i]) {
            t->piece[i] = xstrdup("");
            t->type[i] = TT_UNUSED;
        }
    t->merges = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    for (size_t i = 0; i < json_array_size(merges); i++) {
        json_t *m = json_array_get(merges, i);
        char *s = json_is_string(m)   ? xstrdup(json_string_value(m))
            : json_array_size(m) == 2 ? xasprintf("%s %s", json_string_value(json_array_get(m, 0)),
                                                  json_string_value(json_array_get(m, 1)))
                                      : NULL;
        if (!s)
            continue;
        if (g_hash_table_contains(t->merges, s))
            free(s);
        else
            g_hash_table_insert(t->merges, s, GINT_TO_POINTER((int)i + 1));
    }
    const char *norm = json_string_value(json_object_get(json_object_get(j, "normalizer"), "type"));
    t->nfc = norm && !strcmp(norm, "NFC");
    const char *re = split_regex(json_object_get(j, "pre_tokenizer"));
    int rc = add_regex(t, re ? re : RE_GPT2, err);
    json_decref(j);
    if (rc < 0) {
        tok_free(t);
        return -1;
    }
    json_t *cfg = load_json(dir, "tokenizer_config.json", NULL);
    t->add_bos = json_is_true(json_object_get(cfg, "add_bos_token"));
    const char *names[2] = {"bos_token", "eos_token"};
    int *ids[2] = {&t->bos, &t->eos};
    for (int i = 0; i < 2; i++) {
        json_t *b = json_object_get(cfg, names[i]);
        const char *s = json_is_string(b) ? json_string_value(b)
                                          : json_string_value(json_object_get(b, "content"));
        if (s)
            *ids[i] = tok_lookup(t, s);
    }
    json_decref(cfg);
    finish(t);
    return 0;
}

void tok_free(struct tokenizer *t)
{
    if (!t->piece)
        return;
    for (int i = 0; i < t->n; i++)
        free(t->piece[i]);
    free(t->piece);
    free(t->plen);
    free(t->score);
    free(t->type);
    if (t->index)
        g_hash_table_destroy(t->index);
    if (t->merges)
        g_hash_table_destroy(t->merges);
    for (int i = 0; i < t->nre; i++)
        pcre2_code_free(t->re[i]);
    free(t->re);
    free(t->specials);
    free(t->eog);
    memset(t, 0, sizeof *t);
}

int tok_is_eog(const struct tokenizer *t, int id)
{
    for (int i = 0; i < t->neog; i++)
        if (t->eog[i] == id)
            return 1;
    return 0;
}

/* ---- output ---- */

struct ids {
    int *v;
    size_t n, cap;
};

static void push(struct ids *o, int id)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->v = xreallocarray(o->v, o->cap, sizeof *o->v);
    }
    o->v[o->n++] = id;
}

static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* ---- SentencePiece BPE (llama.cpp's llm_tokenizer_spm) ---- */

struct sym {
    int prev, next;
    const char *s;
    size_t n;
};

struct bigram {
    int left, right;
    float score;
    size_t size;
};

/* a max-heap of bigrams: highest score, then leftmost */
static int bigram_before(const struct bigram *a, const struct bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

struct bheap {
    HEAP_FIELDS(struct bigram);
};

static inline int bigram_first(const struct bheap *h, const struct bigram *a,
                               const struct bigram *b)
{
    (void)h;
    return bigram_before(a, b);
}

HEAP_DEFINE(bheap, struct bigram, bigram_first)

static void try_bigram(const struct tokenizer *t, struct sym *sy, int l, int r, struct bheap *h,
                       GString *tmp)
{
    if (l < 0 || r < 0)
        return;
    g_string_truncate(tmp, 0);
    g_string_append_len(tmp, sy[l].s, (gssize)sy[l].n);
    g_string_append_len(tmp, sy[r].s, (gssize)sy[r].n);
    int id = tok_lookup(t, tmp->str);
    if (id < 0)
        return;
    bheap_push(h, (struct bigram){l, r, t->score[id], tmp->len});
}

static void spm_encode(const struct tokenizer *t, const char *text, size_t len, struct ids *out)
{
    if (!len)
        return;
    size_t nsym = 0;
    struct sym *sy = xmalloc(sizeof *sy * (len + 1));
    for (size_t i = 0; i < len; nsym++) {
        size_t n = utf8_len((unsigned char)text[i]);
        if (n > len - i)
            n = len - i;
        sy[nsym] = (struct sym){(int)nsym - 1, (int)nsym + 1, text + i, n};
        i += n;
    }
    sy[nsym - 1].next = -1;
    struct bheap h = {0};
    GString *tmp = g_string_new(NULL);
    for (size_t i = 1; i < nsym; i++)
        try_bigram(t, sy, (int)i - 1, (int)i, &h, tmp);
    while (h.n) {
        struct bigram b = bheap_pop(&h);
        struct sym *l = &sy[b.left], *r = &sy[b.right];
        if (!l->n || !r->n || l->n + r->n != b.size)
            continue; /* one side was merged already */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sy[r->next].prev = b.left;
        try_bigram(t, sy, l->prev, b.left, &h, tmp);
        try_bigram(t, sy, b.left, l->next, &h, tmp);
    }
    int last_unk = 0; /* the last symbol became <unk> */
    for (int i = 0; i >= 0 && i < (int)nsym; i = sy[i].next) {
        g_string_truncate(tmp, 0);
        g_string_append_len(tmp, sy[i].s, (gssize)sy[i].n);
        int id = tok_lookup(t, tmp->str);
        if (id >= 0) {
            push(out, id);
            last_unk = 0;
            continue;
        }
        /* a character no token covers: its bytes' tokens (byte fallback),
         * or, when the vocabulary lacks one of them, <unk> for the whole
         * character, a run of such characters being one <unk>, as
         * SentencePiece does */
        int bytes = 1;
        for (size_t k = 0; k < sy[i].n; k++)
            bytes &= t->byte_id[(unsigned char)sy[i].s[k]] >= 0;
        if (bytes) {
            for (size_t k = 0; k < sy[i].n; k++)
                push(out, t->byte_id[(unsigned char)sy[i].s[k]]);
            last_unk = 0;
        } else if (t->unk >= 0 && !last_unk) {
            push(out, t->unk);
            last_unk = 1;
        }
    }
    g_string_free(tmp, TRUE);
    free(h.v);
    free(sy);
}

/* ---- byte-level BPE ---- */

static void bpe_word(const struct tokenizer *t, const char *w, size_t len, struct ids *out)
{
    /* the word as byte-level characters */
    GString *s = g_string_sized_new(len * 2);
    for (size_t i = 0; i < len; i++) {
        utf8proc_uint8_t buf[4];
        utf8proc_ssize_t n =
            utf8proc_encode_char((utf8proc_int32_t)t->byte_cp[(unsigned char)w[i]], buf);
        g_string_append_len(s, (const char *)buf, n);
    }
    size_t n = 0;
    struct sym *sy = xmalloc(sizeof *sy * (s->len + 1));
    for (size_t i = 0; i < s->len; n++) {
        size_t k = utf8_len((unsigned char)s->str[i]);
        sy[n] = (struct sym){(int)n - 1, (int)n + 1, s->str + i, k};
        i += k;
    }
    GString *pair = g_string_new(NULL);
    /* merge the lowest-ranked adjacent pair, leftmost first, until none is left */
    for (;;) {
        int best = -1, best_rank = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            g_string_truncate(pair, 0);
            g_string_append_len(pair, sy[i].s, (gssize)sy[i].n);
            g_string_append_c(pair, ' ');
            g_string_append_len(pair, sy[i + 1].s, (gssize)sy[i + 1].n);
            int rank = GPOINTER_TO_INT(g_hash_table_lookup(t->merges, pair->str));
            if (rank && (best < 0 || rank < best_rank)) {
                best = (int)i;
                best_rank = rank;
            }
        }
        if (best < 0)
            break;
        sy[best].n += sy[best + 1].n;
        memmove(sy + best + 1, sy + best + 2, (n - (size_t)best - 2) * sizeof *sy);
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        g_string_truncate(pair, 0);
        g_string_append_len(pair, sy[i].s, (gssize)sy[i].n);
        int id = tok_lookup(t, pair->str);
        if (id >= 0) {
            push(out, id);
            continue;
        }
        /* not in the vocabulary: its characters one by one */
        for (size_t k = 0; k < sy[i].n;) {
            size_t c = utf8_len((unsigned char)sy[i].s[k]);
            char one[8] = {0};
            memcpy(one, sy[i].s + k, c);
            id = tok_lookup(t, one);
            if (id >= 0)
                push(out, id);
            else if (t->unk >= 0)
                push(out, t->unk);
            k += c;
        }
    }
    free(sy);
    g_string_free(pair, TRUE);
    g_string_free(s, TRUE);
}

/* Splits text by regex r into pieces, then the next regex or BPE. */
static void bpe_split(const struct tokenizer *t, int r, const char *text, size_t len,
                      struct ids *out)
{
    if (r >= t->nre) {
        bpe_word(t, text, len, out);
        return;
    }
    pcre2_code *re = t->re[r];
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    size_t at = 0;
    while (at < len) {
        int rc = pcre2_match(re, (PCRE2_SPTR)text, len, at, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0) {
            bpe_split(t, r + 1, text + at, len - at, out);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[0] > at) /* a gap the regex did not match is a piece too */
            bpe_split(t, r + 1, text + at, ov[0] - at, out);
        if (ov[1] == ov[0]) { /* an empty match: step one character */
            size_t c = utf8_len((unsigned char)text[ov[0]]);
            if (ov[0] + c > len)
                c = len - ov[0];
            bpe_split(t, r + 1, text + ov[0], c, out);
            at = ov[0] + c;
            continue;
        }
        bpe_split(t, r + 1, text + ov[0], ov[1] - ov[0], out);
        at = ov[1];
    }
    pcre2_match_data_free(md);
}

/* ---- the whole text ---- */

/* Plain text (no special tokens in it). first: the start of the input. */
static void encode_plain(const struct tokenizer *t, const char *text, size_t len, int first,
                         struct ids *out)
{
    if (!len)
        return;
    if (t->kind == TOK_SPM) {
        GString *s = g_string_sized_new(len + 8);
        if (t->add_space_prefix && first)
            g_string_append(s, "\xe2\x96\x81");
        for (size_t i = 0; i < len; i++) {
            if (text[i] == ' ')
                g_string_append(s, "\xe2\x96\x81");
            else
                g_string_append_c(s, text[i]);
        }
        spm_encode(t, s->str, s->len, out);
        g_string_free(s, TRUE);
    } else {
        bpe_split(t, 0, text, len, out);
    }
}

/* Text made valid UTF-8 (and NFC when the tokenizer wants it). */
static char *prepare(const struct tokenizer *t, const char *text, size_t len, size_t *outlen)
{
    GString *s = g_string_sized_new(len + 1);
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) {
            g_string_append(s, "\xef\xbf\xbd");
            i++;
        } else {
            g_string_append_len(s, text + i, n);
            i += (size_t)n;
        }
    }
    if (t->nfc && s->len) {
        /* utf8proc stops at NUL: normalise the pieces between NULs */
        GString *o = g_string_sized_new(s->len + 1);
        for (size_t i = 0; i <= s->len;) {
            size_t n = strlen(s->str + i);
            if (n) {
                utf8proc_uint8_t *norm = utf8proc_NFC((const utf8proc_uint8_t *)s->str + i);
                g_string_append(o, norm ? (const char *)norm : s->str + i);
                free(norm);
            }
            i += n + 1;
            if (i <= s->len)
                g_string_append_c(o, '\0');
        }
        g_string_free(s, TRUE);
        s = o;
    }
    *outlen = s->len;
    return g_string_free(s, FALSE);
}

size_t tok_encode(const struct tokenizer *t, const char *text, size_t len, int add_bos, int special,
                  int **ids)
{
    return tok_encode_masked(t, text, len, add_bos, special ? TOK_ALL_SPECIAL : NULL, ids);
}

const char TOK_ALL_SPECIAL[1];

size_t tok_encode_masked(const struct tokenizer *t, const char *text, size_t len, int add_bos,
                         const char *allow, int **ids)
{
    struct ids out = {0};
    if (add_bos && t->add_bos && t->bos >= 0)
        push(&out, t->bos);
    size_t n;
    char *s, *mask = NULL;
    if (allow && allow != TOK_ALL_SPECIAL) {
        /* runs of the mask prepared one by one, so the mask still fits */
        GString *all = g_string_sized_new(len + 1), *m = g_string_sized_new(len + 1);
        for (size_t a = 0, b; a < len; a = b) {
            for (b = a + 1; b < len && !allow[b] == !allow[a]; b++)
                ;
            size_t pn;
            char *p = prepare(t, text + a, b - a, &pn);
            g_string_append_len(all, p, (gssize)pn);
            for (size_t i = 0; i < pn; i++)
                g_string_append_c(m, allow[a] ? 1 : 0);
            g_free(p);
        }
        n = all->len;
        s = g_string_free(all, FALSE);
        mask = g_string_free(m, FALSE);
        allow = mask;
    } else {
        s = prepare(t, text, len, &n);
    }
    size_t start = 0, at = 0;
    int first = 1;
    while (at < n) {
        int hit = -1;
        for (int i = 0; i < t->nspecials; i++) {
            int id = t->specials[i];
            int may = allow == TOK_ALL_SPECIAL || (allow && allow[at]);
            if ((t->type[id] == TT_CONTROL && !may) || t->plen[id] > n - at ||
                memcmp(s + at, t->piece[id], t->plen[id]))
                continue;
            hit = id;
            break;
        }
        if (hit < 0) {
            at++;
            continue;
        }
        encode_plain(t, s + start, at - start, first, &out);
        push(&out, hit);
        first = 0;
        at += t->plen[hit];
        start = at;
    }
    encode_plain(t, s + start, n - start, first && start == 0, &out);
    g_free(s);
    g_free(mask);
    *ids = out.v ? out.v : xmalloc(sizeof(int));
    return out.n;
}

/* ---- decoding ---- */

void tok_piece(const struct tokenizer *t, int id, GString *out)
{
    if (id < 0 || id >= t->n)
        return;
    const char *p = t->piece[id];
    size_t n = t->plen[id];
    if (t->type[id] == TT_CONTROL || t->type[id] == TT_USER) {
        g_string_append_len(out, p, (gssize)n);
        return;
    }
    if (t->kind == TOK_SPM) {
        if (t->type[id] == TT_BYTE && n == 6) {
            unsigned v;
            if (sscanf(p + 3, "%2X", &v) == 1)
                g_string_append_c(out, (char)v);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (i + 3 <= n && !memcmp(p + i, "\xe2\x96\x81", 3)) {
                g_string_append_c(out, ' ');
                i += 2;
            } else {
                g_string_append_c(out, p[i]);
            }
        }
        return;
    }
    /* byte-level: each character stands for one byte */
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k =
            utf8proc_iterate((const utf8proc_uint8_t *)p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0)
            break;
        i += (size_t)k;
        if (cp >= 0 && cp < 512 && t->cp_byte[cp] >= 0)
            g_string_append_c(out, (char)t->cp_byte[cp]);
    }
}
