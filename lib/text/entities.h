/* entities.h - named things in a text and the relations between them, found
 * by rules, without a model (lode-entities(1)).
 *
 * Entities: e-mail addresses, URLs, dates, versions, quantities, acronyms
 * and proper names (runs of capitalised words, with "of", "the", "for",
 * "de", "von"... between them, not "and"; a capitalised word that only starts
 * sentences is not a name; leading articles are dropped). An expansion
 * followed by its acronym in parentheses ("Lightning Memory-Mapped
 * Database (LMDB)", the acronym's letters found in order in the words, as
 * Schwartz and Hearst match them) makes the acronym an alias: both
 * mentions get the expansion's norm. norm: the name case-folded with its
 * spaces collapsed (dates as YYYY-MM-DD, versions without a leading v).
 *
 * Relations: "X is a Y" and "X was/are a/an/the Y" (is_a), "X, the Y,"
 * (appositive), "X (Y)" where Y is not X's acronym (parenthetical), with Y
 * the words after the article up to punctuation or a function word (four at
 * most), case-folded; and every pair of entities in one sentence (co, head
 * and tail in norm order). head and tail are norms.
 *
 * Caveats: English rules; the model-driven extractor is lode-entities -m.
 */
#ifndef LODE_ENTITIES_H
#define LODE_ENTITIES_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

struct entities;

/* The rules, compiled once (PCRE2); NULL with err. One per thread. */
struct entities *entities_new(lode_error *err);
void entities_free(struct entities *e);

/* The "entities" ([{"name","type","span","norm"}]) and "relations"
 * ([{"head","rel","tail","span"}]) of text, as new references; spans are
 * byte offsets [start, end) into text. */
void entities_find(struct entities *e, const char *text, size_t len, json_t **entities,
                   json_t **relations);

/* s case-folded with runs of white space as one space (malloc'd): how
 * names become norms, and how a query's words are matched to them. */
char *entities_fold(const char *s, size_t n);

#endif
