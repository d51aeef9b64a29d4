/* memory.h - conversation memory kept in a store (lode-generate --session):
 * a session's turns are chunk records of the source "session:NAME", so
 * they are searched with the documents, listed by lode-index --dump, and
 * removed with lode-index --delete session:NAME.
 *
 * A turn record: id "session:NAME#N", type "turn", text "Q: question\nA:
 * answer" (what BM25 finds; a note, whose question is empty: "Note: text"), meta {session, question, answer, standalone,
 * time (seconds since 1970), pinned, citations}. Pinned turns (notes given
 * with --remember, answers kept with --pin) never expire.
 *
 * Caveats: the session is written whole (its doc hash changes, so the
 * store replaces its earlier chunks): a save costs the session's length.
 * Turns carry no vector.
 */
#ifndef LODE_MEMORY_H
#define LODE_MEMORY_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

struct turn {
    char *question, *answer, *standalone;
    json_t *citations; /* may be NULL */
    double time;
    int pinned;
};

struct session {
    char *name, *source; /* NAME, "session:NAME" */
    struct turn *t;      /* oldest first */
    size_t n;
};

/* A session's turns read from the store dir (none when the store or the
 * session does not exist yet). 0, or a negative code. */
int memory_load(const char *dir, const char *name, struct session *s, lode_error *err);
void memory_free(struct session *s);

/* Writes the session's turns into the store dir (created when missing), in
 * one transaction. 0, or a negative code. */
int memory_save(const char *dir, const struct session *s, lode_error *err);

/* Drops the unpinned turns older than days (0: every unpinned turn), as of
 * now; returns how many. */
size_t memory_forget(struct session *s, double days, double now);

/* A follow-up made a standalone query without a model: when the question
 * leans on the last turn (it starts with "and", "what about", "how about",
 * or names "it", "they", "this", "that", "there"..., or has at most three
 * words), the last turn's standalone question's content words it lacks are
 * added; else the question as it is. malloc'd. */
char *memory_standalone(const struct session *s, const char *question);

/* Appends a turn (copies the strings; takes citations). */
void memory_add(struct session *s, const char *question, const char *standalone, const char *answer,
                json_t *citations, double time, int pinned);

#endif
