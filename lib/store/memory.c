/* memory.c - memory.h's sessions: turns read through the source table,
 * written whole through the indexer, expired, and follow-ups completed. */
#include "store/memory.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/record.h"
#include "base/util.h"
#include "store/index.h"
#include "store/store.h"

static void session_init(struct session *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    s->source = xasprintf("session:%s", name);
}

void memory_add(struct session *s, const char *question, const char *standalone, const char *answer,
                json_t *citations, double time, int pinned)
{
    s->t = xreallocarray(s->t, s->n + 1, sizeof *s->t);
    s->t[s->n++] = (struct turn){xstrdup(question),
                                 xstrdup(answer ? answer : ""),
                                 xstrdup(standalone ? standalone : question),
                                 citations,
                                 time,
                                 pinned};
}

static int by_time(const void *a, const void *b)
{
    const struct turn *x = a, *y = b;
    return (x->time > y->time) - (x->time < y->time);
}

int memory_load(const char *dir, const char *name, struct session *s, lode_error *err)
{
    session_init(s, name);
    char *data = xasprintf("%s/data.mdb", dir);
    int exists = access(data, F_OK) == 0;
    free(data);
    if (!exists)
        return 0;
    struct store st;
    int rc = store_open(dir, STORE_READ, 0, &st, err);
    if (rc < 0 || (rc = store_begin(&st, 0, err)) < 0) {
        if (rc == 0)
            store_close(&st);
        return rc;
    }
    MDB_val v;
    struct store_source src;
    if (store_get(&st, st.sources, s->source, strlen(s->source), &v) == 0 &&
        store_source_parse(&v, &src) == 0) {
        for (uint32_t i = 0; i < src.n; i++) {
            unsigned char key[4];
            put_be32(key, store_source_num(&src, i));
            MDB_val c;
            if (store_get(&st, st.chunks, key, 4, &c))
                continue;
            json_t *rec = record_parse(c.mv_data, c.mv_size, err);
            json_t *meta = rec ? json_object_get(rec, "meta") : NULL;
            const char *q = record_str(meta, "question");
            if (q) {
                json_t *cites = json_object_get(meta, "citations");
                memory_add(s, q, record_str(meta, "standalone"), record_str(meta, "answer"),
                           cites ? json_incref(cites) : NULL,
                           json_number_value(json_object_get(meta, "time")),
                           json_is_true(json_object_get(meta, "pinned")));
            }
            json_decref(rec);
        }
    }
    store_abort(&st);
    store_close(&st);
    if (s->n > 1)
        qsort(s->t, s->n, sizeof *s->t, by_time);
    return 0;
}

void memory_free(struct session *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->t[i].question);
        free(s->t[i].answer);
        free(s->t[i].standalone);
        json_decref(s->t[i].citations);
    }
    free(s->t);
    free(s->name);
    free(s->source);
    memset(s, 0, sizeof *s);
}

static json_t *turn_record(const struct session *s, size_t i, const char *doc)
{
    const struct turn *t = &s->t[i];
    json_t *rec = json_object();
    char *id = xasprintf("%s#%zu", s->source, i + 1);
    record_set_str(rec, "id", id);
    free(id);
    record_set_str(rec, "doc", doc);
    record_set_str(rec, "source", s->source);
    record_set_str(rec, "type", "turn");
    char *text = *t->question ? xasprintf("Q: %s\nA: %s", t->question, t->answer)
                              : xasprintf("Note: %s", t->answer);
    record_set_str(rec, "text", text);
    free(text);
    json_t *meta = json_object();
    record_set_str(meta, "session", s->name);
    record_set_str(meta, "question", t->question);
    record_set_str(meta, "standalone", t->standalone);
    record_set_str(meta, "answer", t->answer);
    json_object_set_new(meta, "time", json_real(t->time));
    json_object_set_new(meta, "pinned", json_boolean(t->pinned));
    if (t->citations)
        json_object_set(meta, "citations", t->citations);
    json_object_set_new(rec, "meta", meta);
    return rec;
}

int memory_save(const char *dir, const struct session *s, lode_error *err)
{
    struct store st;
    int rc = store_open(dir, STORE_WRITE, 0, &st, err);
    if (rc < 0)
        return rc;
    struct index_opts io = {
        .k1 = BM25_K1, .b = BM25_B, .batch = 1000, .M = 16, .efc = 200, .threads = 1};
    struct indexer *ix = indexer_open(&st, &io, err);
    if (!ix) {
        store_close(&st);
        return err->code ? err->code : LODE_EFAILED;
    }
    if (s->n == 0) {
        rc = indexer_delete(ix, s->source, err);
    } else {
        /* the doc hash of the whole session: any change replaces it */
        GString *all = g_string_new(NULL);
        for (size_t i = 0; i < s->n; i++)
            g_string_append_printf(all, "%s\x1f%s\x1f%.17g\x1f%d\x1e", s->t[i].question,
                                   s->t[i].answer, s->t[i].time, s->t[i].pinned);
        char doc[HASH_HEX_LEN + 1];
        hash_bytes(all->str, all->len, doc);
        g_string_free(all, TRUE);
        for (size_t i = 0; i < s->n && rc == 0; i++)
            rc = indexer_add(ix, turn_record(s, i, doc), err); /* takes the record */
    }
    struct index_stats stats;
    int crc = indexer_close(ix, &stats, rc ? NULL : err);
    store_close(&st);
    return rc ? rc : crc;
}

size_t memory_forget(struct session *s, double days, double now)
{
    size_t keep = 0, gone = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct turn *t = &s->t[i];
        if (!t->pinned && (days <= 0 || t->time < now - days * 86400)) {
            free(t->question);
            free(t->answer);
            free(t->standalone);
            json_decref(t->citations);
            gone++;
            continue;
        }
        s->t[keep++] = *t;
    }
    s->n = keep;
    return gone;
}

/* ---- follow-ups ---- */

static const char *const LEANING[] = {"it",    "its",   "they",  "them", "their", "this", "that",
                                      "these", "those", "there", "he",   "she",   "his",  "her",
                                      "one",   "ones",  "same",  "also", NULL};
static const char *const FUNCTION[] = {
    "a",    "an",    "the",   "and",  "or",    "of",     "to",    "in",   "on",   "for",
    "with", "by",    "at",    "from", "as",    "is",     "are",   "was",  "were", "be",
    "do",   "does",  "did",   "can",  "could", "should", "would", "will", "what", "which",
    "who",  "whom",  "whose", "how",  "why",   "when",   "where", "i",    "you",  "we",
    "my",   "your",  "our",   "me",   "about", "it",     "its",   "they", "them", "this",
    "that", "there", "not",   "no",   "if",    NULL};

static int listed(const char *const *list, const char *w)
{
    for (; *list; list++)
        if (!g_ascii_strcasecmp(*list, w))
            return 1;
    return 0;
}

/* The words of s (letters, digits, inner hyphens and dots), lowercased. */
static GPtrArray *words(const char *s)
{
    GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
    char **parts = g_regex_split_simple("[^\\p{L}\\p{N}.-]+", s, 0, 0);
    for (char **p = parts; p && *p; p++) {
        char *w = g_strstrip(*p);
        size_t n = strlen(w);
        while (n && (w[n - 1] == '.' || w[n - 1] == '-'))
            w[--n] = 0;
        if (n)
            g_ptr_array_add(v, g_utf8_strdown(w, -1));
    }
    g_strfreev(parts);
    return v;
}

char *memory_standalone(const struct session *s, const char *question)
{
    if (!s->n)
        return xstrdup(question);
    GPtrArray *q = words(question);
    int leans = q->len <= 3;
    if (q->len &&
        (!strcmp(g_ptr_array_index(q, 0), "and") ||
         (q->len > 1 && !strcmp(g_ptr_array_index(q, 1), "about") &&
          (!strcmp(g_ptr_array_index(q, 0), "what") || !strcmp(g_ptr_array_index(q, 0), "how")))))
        leans = 1;
    for (guint i = 0; i < q->len && !leans; i++)
        leans = listed(LEANING, g_ptr_array_index(q, i));
    if (!leans) {
        g_ptr_array_free(q, TRUE);
        return xstrdup(question);
    }
    GString *out = g_string_new(question);
    GPtrArray *prev = words(s->t[s->n - 1].standalone);
    for (guint i = 0; i < prev->len; i++) {
        const char *w = g_ptr_array_index(prev, i);
        int have = listed(FUNCTION, w);
        for (guint j = 0; j < q->len && !have; j++)
            have = !strcmp(w, g_ptr_array_index(q, j));
        if (!have) {
            g_string_append_printf(out, " %s", w);
            g_ptr_array_add(q, g_strdup(w)); /* once */
        }
    }
    g_ptr_array_free(prev, TRUE);
    g_ptr_array_free(q, TRUE);
    char *r = xstrdup(out->str);
    g_string_free(out, TRUE);
    return r;
}
