/* analyzer.c - analyzer.h's words: tokens split as Lucene's
 * StandardTokenizer does for these scripts, lowercased, then per analyzer
 * possessives and stop words dropped and stems taken through libstemmer, or
 * CJK runs made bigrams. */
#include "text/analyzer.h"

#include <glib.h>
#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/buf.h"
#include "base/util.h"

enum kind { AN_ENGLISH, AN_PORTER, AN_SNOWBALL, AN_STANDARD, AN_CJK };

struct analyzer {
    enum kind kind;
    char spec[48];
    struct sb_stemmer *stem; /* NULL: no stemming */
    GHashTable *stop;        /* NULL: no stop words */
    int cjk;                 /* CJK runs into bigrams */
    struct buf word;
    int word_cjk; /* the word being read is a CJK run */
};

/* Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET */
static const char *const stop_words[] = {
    "a",    "an",    "and",   "are",  "as",   "at", "be",  "but",  "by",   "for",  "if",  "in",
    "into", "is",    "it",    "no",   "not",  "of", "on",  "or",   "such", "that", "the", "their",
    "then", "there", "these", "they", "this", "to", "was", "will", "with", NULL,
};

/* Words that make a query a question (analyzer_query_terms) */
static const char *const question_words[] = {
    "how",    "what",  "which",  "who",   "whom",  "whose", "why",  "when",  "where",
    "whats",  "does",  "do",     "did",   "doing", "done",  "can",  "could", "would",
    "should", "shall", "may",    "might", "must",  "i",     "me",   "my",    "we",
    "us",     "our",   "you",    "your",  "am",    "were",  "been", "being", "have",
    "has",    "had",   "please", "tell",  NULL,
};

static int listed(const char *const *list, size_t longest, const char *w, size_t n)
{
    if (n > longest)
        return 0;
    for (int i = 0; list[i]; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], w, n))
            return 1;
    return 0;
}

#include "text/stopwords.inc"

static GHashTable *stop_set(const char *const *words)
{
    GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);
    for (int i = 0; words[i]; i++)
        g_hash_table_add(h, (gpointer)words[i]);
    return h;
}

/* Snowball's stop lists that lode carries, by libstemmer's language name */
static const char *const *snowball_stops(const char *lang)
{
    if (!strcmp(lang, "german"))
        return stop_german;
    if (!strcmp(lang, "french"))
        return stop_french;
    if (!strcmp(lang, "russian"))
        return stop_russian;
    if (!strcmp(lang, "english"))
        return stop_words;
    return NULL;
}

static void known_list(struct buf *b)
{
    buf_adds(b, "english, porter, standard, cjk, snowball:LANG (LANG one of");
    const char **l = sb_stemmer_list();
    for (int i = 0; l && l[i]; i++)
        buf_addf(b, " %s", l[i]);
    buf_addc(b, ')');
}

struct analyzer *analyzer_open(const char *spec, lode_error *err)
{
    if (!spec || !*spec)
        spec = "english";
    struct analyzer *a = xcalloc(1, sizeof *a);
    snprintf(a->spec, sizeof a->spec, "%s", spec);
    const char *stem = NULL;
    if (!strcmp(spec, "english")) {
        a->kind = AN_ENGLISH, stem = "porter";
        a->stop = stop_set(stop_words);
    } else if (!strcmp(spec, "porter")) {
        a->kind = AN_PORTER, stem = "porter";
    } else if (!strcmp(spec, "standard")) {
        a->kind = AN_STANDARD;
    } else if (!strcmp(spec, "cjk")) {
        a->kind = AN_CJK, a->cjk = 1;
    } else if (!strncmp(spec, "snowball:", 9) && spec[9]) {
        a->kind = AN_SNOWBALL, stem = spec + 9;
        const char *const *st = snowball_stops(stem);
        if (st)
            a->stop = stop_set(st);
    } else {
        struct buf b = {0};
        known_list(&b);
        lode_fail(err, LODE_EINVAL, "unknown analyzer \"%s\"; the analyzers are %s", spec, b.data);
        buf_free(&b);
        free(a);
        return NULL;
    }
    if (stem) {
        a->stem = sb_stemmer_new(stem, "UTF_8");
        if (!a->stem) {
            struct buf b = {0};
            known_list(&b);
            lode_fail(err, LODE_EINVAL, "libstemmer has no language \"%s\"; the analyzers are %s",
                      stem, b.data);
            buf_free(&b);
            analyzer_free(a);
            return NULL;
        }
    }
    return a;
}

struct analyzer *analyzer_new(void)
{
    lode_error err;
    struct analyzer *a = analyzer_open("english", &err);
    if (!a) /* libstemmer always has porter: only memory can lack */
        lode_oom(0);
    return a;
}

const char *analyzer_spec(const struct analyzer *a)
{
    return a->spec;
}

void analyzer_free(struct analyzer *a)
{
    if (!a)
        return;
    if (a->stem)
        sb_stemmer_delete(a->stem);
    if (a->stop)
        g_hash_table_destroy(a->stop);
    buf_free(&a->word);
    free(a);
}

/* Han, Hiragana, Katakana and Hangul: what the cjk analyzer bigrams */
static int is_cjk(utf8proc_int32_t c)
{
    return (c >= 0x1100 && c <= 0x11FF) || (c >= 0x2E80 && c <= 0x2FDF) ||
        (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3130 && c <= 0x318F) ||
        (c >= 0x31F0 && c <= 0x31FF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA960 && c <= 0xA97F) ||
        (c >= 0xAC00 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFAFF) ||
        (c >= 0xFF66 && c <= 0xFF9F) || (c >= 0x20000 && c <= 0x2FA1F);
}

static int is_word(utf8proc_int32_t c)
{
    utf8proc_category_t cat = utf8proc_category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME) ||
        (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

static int is_digit(utf8proc_int32_t c)
{
    return utf8proc_category(c) == UTF8PROC_CATEGORY_ND;
}

/* A CJK run as overlapping bigrams (a run of one character as itself), as
 * Lucene's CJKBigramFilter makes them. */
static void emit_bigrams(struct analyzer *a, void (*fn)(void *, const char *, size_t), void *ud,
                         size_t *count)
{
    const char *w = a->word.data;
    size_t n = a->word.len, first = 0;
    size_t second = (size_t)utf8proc_iterate((const utf8proc_uint8_t *)w, (utf8proc_ssize_t)n,
                                             &(utf8proc_int32_t){0});
    if (second >= n) {
        fn(ud, w, n);
        (*count)++;
        return;
    }
    while (second < n) {
        utf8proc_int32_t c;
        size_t third = second +
            (size_t)utf8proc_iterate((const utf8proc_uint8_t *)w + second,
                                     (utf8proc_ssize_t)(n - second), &c);
        fn(ud, w + first, third - first);
        (*count)++;
        first = second;
        second = third;
    }
}

static void emit(struct analyzer *a, int question, void (*fn)(void *, const char *, size_t),
                 void *ud, size_t *count)
{
    struct buf *w = &a->word;
    if (a->word_cjk) {
        emit_bigrams(a, fn, ud, count);
        return;
    }
    /* possessive (English) */
    if (a->kind == AN_ENGLISH || a->kind == AN_PORTER) {
        if (w->len >= 2 && w->data[w->len - 1] == 's' && w->data[w->len - 2] == '\'')
            w->len -= 2;
        else if (w->len >= 4 && !memcmp(w->data + w->len - 4, "\xE2\x80\x99s", 4))
            w->len -= 4;
        w->data[w->len] = 0;
    }
    if (!w->len || w->len > ANALYZER_MAX_WORD ||
        (a->stop && g_hash_table_contains(a->stop, w->data)) ||
        (question && (a->kind == AN_ENGLISH || a->kind == AN_PORTER) &&
         listed(question_words, 6, w->data, w->len)))
        return;
    if (!a->stem) {
        fn(ud, w->data, w->len);
        (*count)++;
        return;
    }
    const sb_symbol *s = sb_stemmer_stem(a->stem, (const sb_symbol *)w->data, (int)w->len);
    if (!s)
        lode_oom(0);
    int n = sb_stemmer_length(a->stem);
    fn(ud, (const char *)s, (size_t)n);
    (*count)++;
}

static size_t terms(struct analyzer *a, const char *text, size_t len, int question,
                    void (*fn)(void *ud, const char *term, size_t n), void *ud);

size_t analyzer_terms(struct analyzer *a, const char *text, size_t len,
                      void (*fn)(void *ud, const char *term, size_t n), void *ud)
{
    return terms(a, text, len, 0, fn, ud);
}

static void count_only(void *ud, const char *term, size_t n)
{
    (void)ud, (void)term, (void)n;
}

size_t analyzer_query_terms(struct analyzer *a, const char *text, size_t len,
                            void (*fn)(void *ud, const char *term, size_t n), void *ud)
{
    int question = terms(a, text, len, 1, count_only, NULL) > 0;
    return terms(a, text, len, question, fn, ud);
}

static size_t terms(struct analyzer *a, const char *text, size_t len, int question,
                    void (*fn)(void *ud, const char *term, size_t n), void *ud)
{
    size_t count = 0, i = 0;
    utf8proc_int32_t prev = 0;
    buf_reset(&a->word);
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &c);
        if (n <= 0) {
            c = ' ';
            n = 1;
        }
        if (is_word(c)) {
            /* the cjk analyzer keeps CJK runs and other words apart */
            int cjk = a->cjk && is_cjk(c);
            if (a->word.len && cjk != a->word_cjk) {
                emit(a, question, fn, ud, &count);
                buf_reset(&a->word);
            }
            a->word_cjk = cjk;
            buf_add_utf8(&a->word, (unsigned)utf8proc_tolower(c));
            prev = c;
            i += (size_t)n;
            continue;
        }
        /* joiners stay inside a word when a word character follows */
        if (a->word.len && !a->word_cjk && (c == '\'' || c == 0x2019 || c == '.' || c == ',') &&
            i + (size_t)n < len) {
            utf8proc_int32_t next;
            if (utf8proc_iterate((const utf8proc_uint8_t *)text + i + n,
                                 (utf8proc_ssize_t)(len - i - (size_t)n), &next) > 0) {
                int apostrophe = (c == '\'' || c == 0x2019) && !is_digit(prev) && is_word(next) &&
                    !is_digit(next);
                int decimal = (c == '.' || c == ',') && is_digit(prev) && is_digit(next);
                if (apostrophe || decimal) {
                    buf_add_utf8(&a->word, c == 0x2019 ? '\'' : (unsigned)c);
                    i += (size_t)n;
                    continue;
                }
            }
        }
        if (a->word.len) {
            emit(a, question, fn, ud, &count);
            buf_reset(&a->word);
        }
        i += (size_t)n;
    }
    if (a->word.len) {
        emit(a, question, fn, ud, &count);
        buf_reset(&a->word);
    }
    return count;
}
