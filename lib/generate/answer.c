/* answer.c - answer.h's cited answers: the prompt numbering the hits with
 * their source and page, fitted to the context by tokens; the citations an
 * answer may make; and extractive answers from the hits' best sentences
 * (BM25, text/bm25.h). */
#include "generate/answer.h"
#include "model/decoder.h"
#include "generate/chat.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/analyzer.h"
#include "text/bm25.h"
#include "text/chunk.h"
#include "base/record.h"
#include "base/util.h"

static const char SYSTEM[] =
    "You answer questions from the numbered sources the user gives. Use only what the sources "
    "say. Cite every statement with the number of its source in square brackets, like [1] or "
    "[2][3]. If the sources do not answer the question, say that they do not.";

static size_t count_tokens(const struct tokenizer *t, const char *s, size_t n)
{
    int *ids;
    size_t k = tok_encode(t, s, n, 0, 0, &ids);
    free(ids);
    return k;
}

/* "[n] source, page p\n" */
static void hit_header(GString *s, int n, const json_t *hit)
{
    const char *src = record_str(hit, "source");
    long long page = record_int(hit, "page", 0);
    g_string_append_printf(s, "[%d] %s", n,
                           src                         ? src
                               : record_str(hit, "id") ? record_str(hit, "id")
                                                       : "");
    if (page > 0)
        g_string_append_printf(s, ", page %lld", page);
    g_string_append_c(s, '\n');
}

int answer_prompt(const struct tokenizer *t, const json_t *rec, size_t budget, struct rag_prompt *p)
{
    memset(p, 0, sizeof *p);
    const char *q = record_str(rec, "q");
    json_t *hits = json_object_get(rec, "hits");
    GString *tail = g_string_new("Question: ");
    g_string_append(tail, q ? q : "");
    size_t fixed =
        count_tokens(t, SYSTEM, strlen(SYSTEM)) + count_tokens(t, tail->str, tail->len) + 8;
    if (fixed > budget) {
        g_string_free(tail, TRUE);
        return -1;
    }
    size_t left = budget - fixed;
    GString *user = g_string_new(json_array_size(hits) ? "Sources:\n\n" : "");
    p->hits = xcalloc(json_array_size(hits) + 1, sizeof *p->hits);
    for (size_t i = 0; i < json_array_size(hits); i++) {
        json_t *hit = json_array_get(hits, i);
        struct buf scratch = {0};
        size_t tlen;
        const char *text = record_chunk_text(hit, &scratch, &tlen); /* a table's header too */
        if (!text)
            continue;
        GString *block = g_string_new(NULL);
        hit_header(block, p->given + 1, hit);
        size_t head = block->len;
        g_string_append_len(block, text, (gssize)tlen);
        g_string_append(block, "\n\n");
        size_t need = count_tokens(t, block->str, block->len);
        if (need > left) {
            /* the longest run of whole sentences that fits */
            struct span *sent;
            size_t ns = chunk_sentences(text, tlen, &sent), lo = 0, hi = ns;
            while (lo < hi) {
                size_t mid = (lo + hi + 1) / 2;
                g_string_truncate(block, head);
                g_string_append_len(block, text, (gssize)sent[mid - 1].end);
                g_string_append(block, "\n\n");
                if (count_tokens(t, block->str, block->len) <= left)
                    lo = mid;
                else
                    hi = mid - 1;
            }
            if (lo > 0) {
                g_string_truncate(block, head);
                g_string_append_len(block, text, (gssize)sent[lo - 1].end);
                g_string_append(block, "\n\n");
                g_string_append(user, block->str);
                p->hits[p->given++] = hit;
                p->cut = 1;
            }
            free(sent);
            g_string_free(block, TRUE);
            buf_free(&scratch);
            break; /* the lower-ranked ones are left out */
        }
        g_string_append(user, block->str);
        left -= need;
        p->hits[p->given++] = hit;
        g_string_free(block, TRUE);
        buf_free(&scratch);
    }
    g_string_append(user, tail->str);
    g_string_free(tail, TRUE);
    p->system = xstrdup(SYSTEM);
    p->user = g_string_free(user, FALSE);
    return 0;
}

void answer_prompt_free(struct rag_prompt *p)
{
    free(p->system);
    g_free(p->user);
    free(p->hits);
    memset(p, 0, sizeof *p);
}

static json_t *citation(int n, const json_t *hit)
{
    json_t *c = json_object();
    json_object_set_new(c, "n", json_integer(n));
    const char *keys[] = {"id", "source", "page"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(hit, keys[i]);
        if (v)
            json_object_set(c, keys[i], v);
    }
    return c;
}

json_t *answer_citations(const char *answer, json_t *const *hits, int given)
{
    json_t *out = json_array();
    char *seen = xcalloc((size_t)given + 1, 1);
    for (const char *p = answer; (p = strchr(p, '[')); p++) {
        /* [n] or [n, m, ...] */
        const char *q = p + 1;
        int nums[16], k = 0;
        for (;;) {
            while (*q == ' ')
                q++;
            if (*q < '0' || *q > '9')
                break;
            long v = 0;
            while (*q >= '0' && *q <= '9' && v < 100000)
                v = v * 10 + (*q++ - '0');
            if (k < 16)
                nums[k++] = (int)v;
            while (*q == ' ')
                q++;
            if (*q != ',')
                break;
            q++;
        }
        if (*q != ']' || k == 0)
            continue;
        for (int i = 0; i < k; i++)
            if (nums[i] >= 1 && nums[i] <= given && !seen[nums[i]]) {
                seen[nums[i]] = 1;
                json_array_append_new(out, citation(nums[i], hits[nums[i] - 1]));
            }
    }
    free(seen);
    return out;
}

/* ---- extractive ---- */

struct sentence {
    int hit; /* 1-based */
    const char *s;
    size_t n;
    GHashTable *tf; /* term -> count */
    size_t len;
    double score;
};

static void add_term(void *ud, const char *term, size_t n)
{
    struct sentence *s = ud;
    char *k = xstrndup(term, n);
    gpointer old = g_hash_table_lookup(s->tf, k);
    g_hash_table_replace(s->tf, k, GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
    s->len++;
}

static void add_query_term(void *ud, const char *term, size_t n)
{
    g_hash_table_add(ud, xstrndup(term, n));
}

static int best_first(const void *a, const void *b)
{
    const struct sentence *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    if (x->hit != y->hit)
        return x->hit - y->hit;
    return x->s < y->s ? -1 : x->s > y->s;
}

char *answer_extractive(const json_t *rec, int max, json_t **citations)
{
    const char *q = record_str(rec, "q");
    json_t *hits = json_object_get(rec, "hits");
    struct analyzer *an = analyzer_new();
    GHashTable *qt = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    if (q)
        analyzer_query_terms(an, q, strlen(q), add_query_term, qt); /* what it is about */
    struct sentence *v = NULL;
    size_t n = 0, cap = 0, total = 0;
    json_t **given = xcalloc(json_array_size(hits) + 1, sizeof *given);
    for (size_t h = 0; h < json_array_size(hits); h++) {
        json_t *hit = json_array_get(hits, h);
        given[h] = hit;
        const char *text = record_str(hit, "text");
        if (!text)
            continue;
        struct span *sp;
        size_t ns = chunk_sentences(text, strlen(text), &sp);
        for (size_t i = 0; i < ns; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                v = xreallocarray(v, cap, sizeof *v);
            }
            struct sentence *s = &v[n++];
            *s = (struct sentence){(int)h + 1,
                                   text + sp[i].start,
                                   sp[i].end - sp[i].start,
                                   g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL),
                                   0,
                                   0};
            analyzer_terms(an, s->s, s->n, add_term, s);
            total += s->len;
        }
        free(sp);
    }
    /* BM25 with the sentences as documents */
    const double k1 = BM25_SENTENCE_K1, b = BM25_SENTENCE_B;
    double avg = n ? (double)total / (double)n : 1;
    GHashTableIter it;
    gpointer term;
    g_hash_table_iter_init(&it, qt);
    while (g_hash_table_iter_next(&it, &term, NULL)) {
        size_t df = 0;
        for (size_t i = 0; i < n; i++)
            df += g_hash_table_contains(v[i].tf, term);
        if (!df)
            continue;
        double w = bm25_weight(1, bm25_idf((double)n, (double)df), k1);
        for (size_t i = 0; i < n; i++) {
            double tf = GPOINTER_TO_INT(g_hash_table_lookup(v[i].tf, term));
            if (tf > 0)
                v[i].score += BM25_TERM(w, tf, bm25_norm(k1, b, (double)v[i].len, avg));
        }
    }
    if (n) /* v is NULL when no hit has a sentence */
        qsort(v, n, sizeof *v, best_first);
    GString *out = g_string_new(NULL);
    json_t *cites = json_array();
    char *cited = xcalloc(json_array_size(hits) + 2, 1);
    for (size_t i = 0; i < n && (int)i < max; i++) {
        if (v[i].score <= 0 && i > 0)
            break; /* only the best hit's first sentence when nothing matches */
        if (out->len)
            g_string_append_c(out, ' ');
        g_string_append_len(out, v[i].s, (gssize)v[i].n);
        g_string_append_printf(out, " [%d]", v[i].hit);
        if (!cited[v[i].hit]) {
            cited[v[i].hit] = 1;
            json_array_append_new(cites, citation(v[i].hit, given[v[i].hit - 1]));
        }
        if (v[i].score <= 0)
            break;
    }
    for (size_t i = 0; i < n; i++)
        g_hash_table_destroy(v[i].tf);
    free(v);
    free(cited);
    free(given);
    g_hash_table_destroy(qt);
    analyzer_free(an);
    *citations = cites;
    return g_string_free(out, FALSE);
}

char *answer_standalone(const struct decoder *m, struct decoder_state *st, int f,
                        const char *previous, const char *question)
{
    char *user = xasprintf("Earlier question: %s\nFollow-up: %s\nThe follow-up as a question that "
                           "stands alone:",
                           previous, question);
    struct chat_msg msgs[2] = {{"system", ANSWER_STANDALONE_SYSTEM}, {"user", user}};
    char *allow;
    size_t len;
    char *text = chat_render((enum chat_format)f, msgs, 2, &allow, &len);
    int *ids;
    size_t n = tok_encode_masked(&m->tok, text, len, 1, allow, &ids);
    g_free(text);
    g_free(allow);
    free(user);
    GString *out = g_string_new(NULL);
    if (n && (int)n + 48 < st->ctx) {
        float *logits = xmalloc(sizeof *logits * (size_t)m->vocab);
        decoder_prefill(m, st, ids, n, 512, logits);
        for (int produced = 0; produced < 48; produced++) {
            int best = 0;
            for (int i = 1; i < m->vocab; i++)
                if (logits[i] > logits[best])
                    best = i;
            if (tok_is_eog(&m->tok, best))
                break;
            tok_piece(&m->tok, best, out);
            char *nl = strchr(out->str + strspn(out->str, " \t\n"), '\n');
            if (nl) {
                g_string_truncate(out, (gsize)(nl - out->str)); /* the line */
                break;
            }
            if (decoder_eval(m, st, &best, 1, logits, 0) < 0)
                break;
        }
        free(logits);
    }
    free(ids);
    g_strstrip(out->str);
    char *r = *out->str ? xstrdup(out->str) : NULL;
    g_string_free(out, TRUE);
    return r;
}
