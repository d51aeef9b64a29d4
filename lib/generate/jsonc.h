/* jsonc.h - decoding held to one JSON shape, so that what a small model
 * writes always parses (lode-entities -m):
 *
 *   {"triples":[{"head":"S","rel":"S","tail":"S"},...]}
 *
 * no white space, 1 to JSONC_MAX_TRIPLES triples, each string 1 to
 * JSONC_MAX_STRING bytes of UTF-8 without quotes, backslashes or control
 * characters (leads E0, ED, F0 and F4 left out, so that any continuation
 * byte is valid and a cut string can be completed).
 */
#ifndef LODE_JSONC_H
#define LODE_JSONC_H

#include <glib.h>
#include <stddef.h>

#define JSONC_MAX_TRIPLES 8
#define JSONC_MAX_STRING 48

struct jsonc {
    int seg;     /* the literal being written, or a string or choice state */
    int off;     /* bytes of the literal written */
    int len;     /* bytes of the string so far */
    int pending; /* UTF-8 continuation bytes the string still needs */
    int triples; /* objects begun */
};

void jsonc_init(struct jsonc *c);
/* 1 when bytes s[0..n) may come next (c moves past them), else 0 (c as it
 * was). */
int jsonc_step(struct jsonc *c, const char *s, size_t n);
/* The output is a whole document. */
int jsonc_complete(const struct jsonc *c);
/* Appends what completes the document from c. */
void jsonc_close(const struct jsonc *c, GString *out);

struct decoder;
struct decoder_state;
struct tokenizer;

/* Each token's bytes, worked out once for the mask. */
struct jsonc_vocab {
    int n;
    char **piece;
    size_t *len;
};
struct jsonc_vocab *jsonc_vocab_new(const struct tokenizer *t, int n);
void jsonc_vocab_free(struct jsonc_vocab *v);

/* Runs the prompt ids[0..n) and then decodes greedily among the tokens the
 * shape allows, at most max_tokens, completing the document when it is cut
 * short: the result (malloc'd) always parses. */
char *jsonc_generate(const struct decoder *m, struct decoder_state *st, const struct tokenizer *t,
                     const struct jsonc_vocab *v, const int *ids, size_t n, int max_tokens);

#endif
