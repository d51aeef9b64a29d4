/* answer.h - from query results to an answer with citations.
 *
 * The prompt numbers the hits [1]..[k] with their source and page and asks
 * for an answer that cites them by number. Hits are added best first while
 * they fit the token budget; the first that does not fit is cut at the
 * last sentence that does (never inside a sentence), and the rest are left
 * out. Citations are the [n] (or [n, m]) of the answer that name a hit
 * that was given, each once, in the order they first appear.
 *
 * Without a model, the answer is extractive: the sentences of the hits
 * that score best against the query (BM25 over the hits' sentences, with
 * lode's analyzer), best first, each followed by its hit's number.
 */
#ifndef LODE_ANSWER_H
#define LODE_ANSWER_H

#include <jansson.h>
#include <stddef.h>

#include "model/tokenizer.h"

struct rag_prompt {
    char *system, *user;
    json_t **hits; /* the hits given, [1] first (borrowed from the record) */
    int given;
    int cut; /* the last one given was cut short */
};

/* The prompt for a record with q and hits, in at most budget tokens.
 * Returns -1 when not even the question fits. */
int answer_prompt(const struct tokenizer *t, const json_t *rec, size_t budget,
                  struct rag_prompt *p);
void answer_prompt_free(struct rag_prompt *p);

/* [{"n","id","source","page"}] for the answer's citations of the hits. */
json_t *answer_citations(const char *answer, json_t *const *hits, int given);

/* The extractive answer of a record with q and hits (at most max
 * sentences); sets *citations. Free the text. */
char *answer_extractive(const json_t *rec, int max, json_t **citations);

struct decoder;
struct decoder_state;

/* A follow-up made a standalone question by the model: the system prompt
 * ANSWER_STANDALONE_SYSTEM, the user message "Earlier question: PREVIOUS\n
 * Follow-up: QUESTION\nThe follow-up as a question that stands alone:",
 * rendered in chat format f, decoded greedily to the end of the line (48
 * tokens at most). NULL when it writes nothing but white space. */
#define ANSWER_STANDALONE_SYSTEM                                                             \
    "Rewrite the follow-up question so that it can be understood without the conversation. " \
    "Write only the question."
char *answer_standalone(const struct decoder *m, struct decoder_state *st, int f,
                        const char *previous, const char *question);

#endif
