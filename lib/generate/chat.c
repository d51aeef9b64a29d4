/* chat.c - chat.h's templates: the families by name or detected from
 * tokenizer.chat_template, messages rendered as each family writes them,
 * and for training the assistant turns and their end markers marked. */
#include "generate/chat.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const char *const names[] = {"plain",   "chatml", "llama3", "llama2",
                                    "mistral", "phi3",   "gemma"};

int chat_format_by_name(const char *name)
{
    for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

const char *chat_format_name(enum chat_format f)
{
    return names[f];
}

const char *chat_format_names(void)
{
    return "chatml, llama3, llama2, mistral, phi3, gemma, plain";
}

enum chat_format chat_detect(const char *tmpl, const struct tokenizer *t)
{
    if (tmpl) {
        if (strstr(tmpl, "<|im_start|>"))
            return CHAT_CHATML;
        if (strstr(tmpl, "<|start_header_id|>"))
            return CHAT_LLAMA3;
        if (strstr(tmpl, "<start_of_turn>"))
            return CHAT_GEMMA;
        if (strstr(tmpl, "<|assistant|>") && strstr(tmpl, "<|end|>"))
            return CHAT_PHI3;
        if (strstr(tmpl, "[INST]"))
            return strstr(tmpl, "<<SYS>>") ? CHAT_LLAMA2 : CHAT_MISTRAL;
    }
    if (t && tok_lookup(t, "<|im_start|>") >= 0)
        return CHAT_CHATML;
    if (t && tok_lookup(t, "<|start_header_id|>") >= 0)
        return CHAT_LLAMA3;
    return CHAT_PLAIN;
}

struct out {
    GString *s;
    GByteArray *allow;
    GByteArray *train; /* NULL, or 1 for the bytes of assistant turns */
    guint8 mark;       /* what train gets now */
};

static void put(struct out *o, const char *text, guint8 allow)
{
    size_t n = strlen(text);
    g_string_append_len(o->s, text, (gssize)n);
    for (size_t i = 0; i < n; i++) {
        g_byte_array_append(o->allow, &allow, 1);
        if (o->train)
            g_byte_array_append(o->train, &o->mark, 1);
    }
}

static void lit(struct out *o, const char *text)
{
    put(o, text, 1);
}

static void content(struct out *o, const char *text)
{
    put(o, text, 0);
}

/* A message's text and the marker that closes its turn; an assistant's
 * are what training teaches. */
static void turn(struct out *o, const struct chat_msg *msg, const char *end)
{
    o->mark = !strcmp(msg->role, "assistant");
    content(o, msg->content);
    lit(o, end);
    o->mark = 0;
}

static int is(const struct chat_msg *m, const char *role)
{
    return !strcmp(m->role, role);
}

static void render(enum chat_format f, const struct chat_msg *m, size_t n, int open, struct out *o)
{
    const char *sys = n && is(&m[0], "system") ? m[0].content : NULL;
    size_t first = sys ? 1 : 0;
    switch (f) {
    case CHAT_CHATML:
        for (size_t i = 0; i < n; i++) {
            lit(o, "<|im_start|>");
            lit(o, m[i].role);
            lit(o, "\n");
            turn(o, &m[i], "<|im_end|>");
            lit(o, "\n");
        }
        if (open)
            lit(o, "<|im_start|>assistant\n");
        break;
    case CHAT_LLAMA3: /* BOS comes from the tokenizer */
        for (size_t i = 0; i < n; i++) {
            lit(o, "<|start_header_id|>");
            lit(o, m[i].role);
            lit(o, "<|end_header_id|>\n\n");
            turn(o, &m[i], "<|eot_id|>");
        }
        if (open)
            lit(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case CHAT_PHI3:
        for (size_t i = 0; i < n; i++) {
            lit(o, "<|");
            lit(o, m[i].role);
            lit(o, "|>\n");
            turn(o, &m[i], "<|end|>");
            lit(o, "\n");
        }
        if (open)
            lit(o, "<|assistant|>\n");
        break;
    case CHAT_LLAMA2:
    case CHAT_MISTRAL:
        for (size_t i = first; i < n; i++) {
            if (is(&m[i], "assistant")) {
                lit(o, " ");
                turn(o, &m[i], "</s>");
                continue;
            }
            lit(o, "[INST] ");
            if (sys && i == first) {
                if (f == CHAT_LLAMA2) {
                    lit(o, "<<SYS>>\n");
                    content(o, sys);
                    lit(o, "\n<</SYS>>\n\n");
                } else {
                    content(o, sys);
                    lit(o, "\n\n");
                }
            }
            content(o, m[i].content);
            lit(o, f == CHAT_LLAMA2 ? " [/INST]" : "[/INST]");
        }
        break;
    case CHAT_GEMMA: /* no system role: it opens the first user turn */
        for (size_t i = first; i < n; i++) {
            lit(o, "<start_of_turn>");
            lit(o, is(&m[i], "assistant") ? "model" : "user");
            lit(o, "\n");
            if (sys && i == first) {
                content(o, sys);
                content(o, "\n\n");
            }
            turn(o, &m[i], "<end_of_turn>");
            lit(o, "\n");
        }
        if (open)
            lit(o, "<start_of_turn>model\n");
        break;
    case CHAT_PLAIN: /* an assistant's turn ends with the end of the text */
        for (size_t i = 0; i < n; i++) {
            if (is(&m[i], "assistant")) {
                content(o, "Answer: ");
                turn(o, &m[i], "");
            } else {
                content(o, m[i].content);
            }
            if (i + 1 < n || open)
                content(o, "\n\n");
        }
        if (open)
            content(o, "Answer:");
        break;
    }
}

char *chat_render(enum chat_format f, const struct chat_msg *m, size_t n, char **allow, size_t *len)
{
    struct out o = {g_string_new(NULL), g_byte_array_new(), NULL, 0};
    render(f, m, n, 1, &o);
    *len = o.s->len;
    *allow = (char *)g_byte_array_free(o.allow, FALSE);
    return g_string_free(o.s, FALSE);
}

char *chat_render_train(enum chat_format f, const struct chat_msg *m, size_t n, char **allow,
                        char **train, size_t *len)
{
    struct out o = {g_string_new(NULL), g_byte_array_new(), g_byte_array_new(), 0};
    render(f, m, n, 0, &o);
    *len = o.s->len;
    *allow = (char *)g_byte_array_free(o.allow, FALSE);
    *train = (char *)g_byte_array_free(o.train, FALSE);
    return g_string_free(o.s, FALSE);
}
