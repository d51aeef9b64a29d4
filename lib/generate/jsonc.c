/* jsonc.c - jsonc.h's automaton: literals between three strings, a choice
 * after the list opens and after each object. */
#include "generate/jsonc.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "model/decoder.h"
#include "model/tokenizer.h"

/* segments: literals, then the string and choice states */
enum {
    L_OPEN,   /* {"triples":[ */
    L_HEAD,   /* {"head":" */
    L_REL,    /* ","rel":" */
    L_TAIL,   /* ","tail":" */
    L_OBJEND, /* "} */
    L_END,    /* ]} */
    S_HEAD,
    S_REL,
    S_TAIL,
    C_FIRST, /* { or ] */
    C_NEXT,  /* , or ] */
    DONE
};

static const char *const LIT[] = {"{\"triples\":[", "{\"head\":\"", "\",\"rel\":\"",
                                  "\",\"tail\":\"", "\"}",          "]}"};

void jsonc_init(struct jsonc *c)
{
    memset(c, 0, sizeof *c);
    c->seg = L_OPEN;
}

/* after a literal is whole */
static int after(int seg)
{
    switch (seg) {
    case L_OPEN:
        return C_FIRST;
    case L_HEAD:
        return S_HEAD;
    case L_REL:
        return S_REL;
    case L_TAIL:
        return S_TAIL;
    case L_OBJEND:
        return C_NEXT;
    default:
        return DONE;
    }
}

static int byte(struct jsonc *c, unsigned char b)
{
    if (c->seg <= L_END) {
        if ((unsigned char)LIT[c->seg][c->off] != b)
            return 0;
        if (!LIT[c->seg][++c->off]) {
            c->seg = after(c->seg);
            c->off = 0;
        }
        return 1;
    }
    if (c->seg == C_FIRST || c->seg == C_NEXT) {
        int more = c->triples < JSONC_MAX_TRIPLES;
        if (b == ']' && c->seg == C_NEXT) { /* one triple at least */
            c->seg = L_END, c->off = 1;
            return 1;
        }
        if (c->seg == C_FIRST && b == '{' && more) {
            c->seg = L_HEAD, c->off = 1, c->triples++;
            return 1;
        }
        if (c->seg == C_NEXT && b == ',' && more) {
            c->seg = L_HEAD, c->off = 0, c->triples++;
            return 1;
        }
        return 0;
    }
    if (c->seg == S_HEAD || c->seg == S_REL || c->seg == S_TAIL) {
        if (c->pending) {
            if ((b & 0xC0) != 0x80)
                return 0;
            c->pending--;
            c->len++;
            return 1;
        }
        if (b == '"') {
            if (!c->len)
                return 0;
            c->seg = c->seg == S_HEAD ? L_REL : c->seg == S_REL ? L_TAIL : L_OBJEND;
            c->off = 1, c->len = 0;
            return 1;
        }
        int need = b < 0x80                                        ? 0
            : (b >= 0xC2 && b <= 0xDF)                             ? 1
            : ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) ? 2
            : (b >= 0xF1 && b <= 0xF3)                             ? 3
                                                                   : -1;
        if (need < 0 || b < 0x20 || b == '\\' || b == 0x7F || c->len + 1 + need > JSONC_MAX_STRING)
            return 0;
        c->pending = need;
        c->len++;
        return 1;
    }
    return 0;
}

int jsonc_step(struct jsonc *c, const char *s, size_t n)
{
    struct jsonc t = *c;
    for (size_t i = 0; i < n; i++)
        if (!byte(&t, (unsigned char)s[i]))
            return 0;
    *c = t;
    return 1;
}

int jsonc_complete(const struct jsonc *c)
{
    return c->seg == DONE;
}

void jsonc_close(const struct jsonc *c, GString *out)
{
    struct jsonc t = *c;
    while (t.seg != DONE) {
        char b;
        if (t.seg <= L_END)
            b = LIT[t.seg][t.off];
        else if (t.seg == C_FIRST)
            b = '{';
        else if (t.seg == C_NEXT)
            b = ']';
        else if (t.pending)
            b = (char)0x80;
        else
            b = t.len ? '"' : '?';
        byte(&t, (unsigned char)b);
        g_string_append_c(out, b);
    }
}

/* ---- decoding under the constraint ---- */

struct jsonc_vocab *jsonc_vocab_new(const struct tokenizer *t, int n)
{
    struct jsonc_vocab *v = xcalloc(1, sizeof *v);
    v->n = n;
    v->piece = xcalloc((size_t)n, sizeof *v->piece);
    v->len = xcalloc((size_t)n, sizeof *v->len);
    GString *s = g_string_new(NULL);
    for (int i = 0; i < n; i++) {
        g_string_truncate(s, 0);
        if (!tok_is_eog(t, i))
            tok_piece(t, i, s);
        v->piece[i] = xstrndup(s->str, s->len); /* (a piece with NUL bytes is cut there) */
        v->len[i] = strlen(v->piece[i]);
    }
    g_string_free(s, TRUE);
    return v;
}

void jsonc_vocab_free(struct jsonc_vocab *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n; i++)
        free(v->piece[i]);
    free(v->piece);
    free(v->len);
    free(v);
}

char *jsonc_generate(const struct decoder *m, struct decoder_state *st, const struct tokenizer *t,
                     const struct jsonc_vocab *v, const int *ids, size_t n, int max_tokens)
{
    float *logits = xmalloc(sizeof *logits * (size_t)m->vocab);
    decoder_prefill(m, st, ids, n, 512, logits);
    struct jsonc c;
    jsonc_init(&c);
    GString *out = g_string_new(NULL);
    for (int produced = 0; produced < max_tokens && !jsonc_complete(&c) && st->n_past < st->ctx;
         produced++) {
        /* greedy over the tokens the shape allows (an empty piece never) */
        int best = -1;
        for (int i = 0; i < v->n && i < m->vocab; i++) {
            struct jsonc tc = c;
            if (v->len[i] && (best < 0 || logits[i] > logits[best]) &&
                jsonc_step(&tc, v->piece[i], v->len[i]))
                best = i;
        }
        if (best < 0)
            break;
        jsonc_step(&c, v->piece[best], v->len[best]);
        g_string_append_len(out, v->piece[best], (gssize)v->len[best]);
        decoder_eval(m, st, &best, 1, logits, 0);
    }
    (void)t;
    jsonc_close(&c, out); /* cut short: completed, so it still parses */
    free(logits);
    char *r = xstrndup(out->str, out->len);
    g_string_free(out, TRUE);
    return r;
}
