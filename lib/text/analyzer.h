/* analyzer.h - words for BM25, by default as Lucene's EnglishAnalyzer (what
 * Anserini uses for its BEIR baselines) makes them; a store may choose
 * another (analyzer_open).
 *
 * Tokens are runs of letters, marks and digits (any script, through
 * utf8proc), an apostrophe between letters ("don't") and a period or comma
 * between digits ("3.14", "1,000") staying inside; they are lowercased, a
 * possessive "'s" is dropped, Lucene's 33 English stop words are left out,
 * and the rest is stemmed by Porter's algorithm (libstemmer's "porter", as
 * Lucene's PorterStemFilter). Words longer than ANALYZER_MAX_WORD bytes
 * are left out (Lucene's 255-character limit; LMDB keys hold 511 bytes).
 * The same analyzer reads documents and queries.
 *
 * Caveats: an analyzer holds a stemmer, which is not thread-safe: one per
 * thread.
 */
#ifndef LODE_ANALYZER_H
#define LODE_ANALYZER_H

#include <stddef.h>

#include "base/error.h"

#define ANALYZER_MAX_WORD 255

struct analyzer;

/* english (the default, above); porter (the same without stop words);
 * snowball:LANG (libstemmer's stemmer for LANG, and Snowball's stop list
 * where lode has it: english, german, french, russian); standard (words
 * lowercased, no stemming, no stop words); cjk (runs of Han, Hiragana,
 * Katakana and Hangul as overlapping bigrams, a lone character as itself,
 * as Lucene's CJKAnalyzer; other words as standard). NULL with err (listing
 * the analyzers) for an unknown one. Question words (analyzer_query_terms)
 * are English: the other analyzers keep them. */
struct analyzer *analyzer_open(const char *spec, lode_error *err);
/* analyzer_open("english"), which cannot fail but for memory. */
struct analyzer *analyzer_new(void);
/* The name it was opened with. */
const char *analyzer_spec(const struct analyzer *a);
void analyzer_free(struct analyzer *a);

/* Calls fn(ud, term, len) for each term of text in order. Returns the
 * number of terms. */
size_t analyzer_terms(struct analyzer *a, const char *text, size_t len,
                      void (*fn)(void *ud, const char *term, size_t n), void *ud);

/* The terms of a query: as analyzer_terms, less the words that make it a
 * question rather than say what it is about (interrogatives, auxiliaries,
 * personal pronouns: how, what, which, who, does, do, can, should, I,
 * you, ...): "What does aptitude do?" is about aptitude, not about "do". A
 * query of nothing but such words keeps them. Documents keep them all. */
size_t analyzer_query_terms(struct analyzer *a, const char *text, size_t len,
                            void (*fn)(void *ud, const char *term, size_t n), void *ud);

#endif
