/* analyzer.c - analyzer.h's words: tokens split as Lucene's
 * StandardTokenizer does for these scripts, lowercased, possessives and
 * stop words dropped, Porter-stemmed through libstemmer. */
#include "text/analyzer.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/buf.h"
#include "base/util.h"

struct analyzer {
    struct sb_stemmer *stem;
    struct buf word;
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

struct analyzer *analyzer_new(void)
{
    struct analyzer *a = xcalloc(1, sizeof *a);
    a->stem = sb_stemmer_new("porter", "UTF_8");
    if (!a->stem) /* libstemmer always has porter: only memory can lack */
        lode_oom(0);
    return a;
}

void analyzer_free(struct analyzer *a)
{
    if (!a)
        return;
    sb_stemmer_delete(a->stem);
    buf_free(&a->word);
    free(a);
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

static void emit(struct analyzer *a, int question, void (*fn)(void *, const char *, size_t),
                 void *ud, size_t *count)
{
    struct buf *w = &a->word;
    /* possessive */
    if (w->len >= 2 && w->data[w->len - 1] == 's' && w->data[w->len - 2] == '\'')
        w->len -= 2;
    else if (w->len >= 4 && !memcmp(w->data + w->len - 4, "\xE2\x80\x99s", 4))
        w->len -= 4;
    if (!w->len || listed(stop_words, 5, w->data, w->len) ||
        (question && listed(question_words, 6, w->data, w->len)))
        return;
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
            buf_add_utf8(&a->word, (unsigned)utf8proc_tolower(c));
            prev = c;
            i += (size_t)n;
            continue;
        }
        /* joiners stay inside a word when a word character follows */
        if (a->word.len && (c == '\'' || c == 0x2019 || c == '.' || c == ',') &&
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
