/* chat.h - chat templates: messages into the text a model was trained on.
 *
 * The families lode knows (ChatML for Qwen and SmolLM, Llama 3, Llama 2,
 * Mistral, Phi-3, Gemma) are written out by hand, not interpreted from
 * the Jinja in the file: chat_detect() recognises the family from the
 * file's tokenizer.chat_template (or its special tokens). A model without
 * one gets "plain": the messages as paragraphs, then "Answer:".
 *
 * The rendered text comes with a mask of where special tokens may start:
 * only in the template's own text, never inside a message, so a document
 * or a question cannot smuggle in <|im_start|>.
 */
#ifndef LODE_CHAT_H
#define LODE_CHAT_H

#include <stddef.h>

#include "model/tokenizer.h"

enum chat_format {
    CHAT_PLAIN,
    CHAT_CHATML,
    CHAT_LLAMA3,
    CHAT_LLAMA2,
    CHAT_MISTRAL,
    CHAT_PHI3,
    CHAT_GEMMA
};

struct chat_msg {
    const char *role; /* system, user or assistant */
    const char *content;
};

/* -1 for an unknown name. */
int chat_format_by_name(const char *name);
const char *chat_format_name(enum chat_format f);
/* The family of a template text (may be NULL), or of the vocabulary. */
enum chat_format chat_detect(const char *tmpl, const struct tokenizer *t);

/* The prompt, the assistant's turn opened at its end; *allow[i] is 1
 * where a special token may start. Free both. */
char *chat_render(enum chat_format f, const struct chat_msg *m, size_t n, char **allow,
                  size_t *len);
/* A whole conversation as training sees it (no turn opened at the end),
 * with *train[i] 1 for the bytes of assistant turns and the markers that
 * close them: what the model is taught to write. */
char *chat_render_train(enum chat_format f, const struct chat_msg *m, size_t n, char **allow,
                        char **train, size_t *len);
/* The names, comma-separated, for --help and errors. */
const char *chat_format_names(void);

#endif
