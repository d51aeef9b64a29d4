#include "chat.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const names[] = {"plain", "chatml", "llama3", "llama2", "mistral", "phi3",
                                    "gemma"};

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
};

static void lit(struct out *o, const char *text)
{
    size_t n = strlen(text);
    g_string_append_len(o->s, text, (gssize)n);
    for (size_t i = 0; i < n; i++) {
        guint8 one = 1;
        g_byte_array_append(o->allow, &one, 1);
    }
}

static void content(struct out *o, const char *text)
{
    size_t n = strlen(text);
    g_string_append_len(o->s, text, (gssize)n);
    for (size_t i = 0; i < n; i++) {
        guint8 zero = 0;
        g_byte_array_append(o->allow, &zero, 1);
    }
}

static int is(const struct chat_msg *m, const char *role)
{
    return !strcmp(m->role, role);
}

char *chat_render(enum chat_format f, const struct chat_msg *m, size_t n, char **allow,
                  size_t *len)
{
    struct out o = {g_string_new(NULL), g_byte_array_new()};
    const char *sys = n && is(&m[0], "system") ? m[0].content : NULL;
    size_t first = sys ? 1 : 0;
    switch (f) {
    case CHAT_CHATML:
        for (size_t i = 0; i < n; i++) {
            lit(&o, "<|im_start|>");
            lit(&o, m[i].role);
            lit(&o, "\n");
            content(&o, m[i].content);
            lit(&o, "<|im_end|>\n");
        }
        lit(&o, "<|im_start|>assistant\n");
        break;
    case CHAT_LLAMA3: /* BOS comes from the tokenizer */
        for (size_t i = 0; i < n; i++) {
            lit(&o, "<|start_header_id|>");
            lit(&o, m[i].role);
            lit(&o, "<|end_header_id|>\n\n");
            content(&o, m[i].content);
            lit(&o, "<|eot_id|>");
        }
        lit(&o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case CHAT_PHI3:
        for (size_t i = 0; i < n; i++) {
            lit(&o, "<|");
            lit(&o, m[i].role);
            lit(&o, "|>\n");
            content(&o, m[i].content);
            lit(&o, "<|end|>\n");
        }
        lit(&o, "<|assistant|>\n");
        break;
    case CHAT_LLAMA2:
    case CHAT_MISTRAL:
        for (size_t i = first; i < n; i++) {
            if (is(&m[i], "assistant")) {
                lit(&o, " ");
                content(&o, m[i].content);
                lit(&o, "</s>");
                continue;
            }
            lit(&o, "[INST] ");
            if (sys && i == first) {
                if (f == CHAT_LLAMA2) {
                    lit(&o, "<<SYS>>\n");
                    content(&o, sys);
                    lit(&o, "\n<</SYS>>\n\n");
                } else {
                    content(&o, sys);
                    lit(&o, "\n\n");
                }
            }
            content(&o, m[i].content);
            lit(&o, f == CHAT_LLAMA2 ? " [/INST]" : "[/INST]");
        }
        break;
    case CHAT_GEMMA: /* no system role: it opens the first user turn */
        for (size_t i = first; i < n; i++) {
            lit(&o, "<start_of_turn>");
            lit(&o, is(&m[i], "assistant") ? "model" : "user");
            lit(&o, "\n");
            if (sys && i == first) {
                content(&o, sys);
                content(&o, "\n\n");
            }
            content(&o, m[i].content);
            lit(&o, "<end_of_turn>\n");
        }
        lit(&o, "<start_of_turn>model\n");
        break;
    case CHAT_PLAIN:
        for (size_t i = 0; i < n; i++) {
            content(&o, m[i].content);
            content(&o, "\n\n");
        }
        content(&o, "Answer:");
        break;
    }
    *len = o.s->len;
    *allow = (char *)g_byte_array_free(o.allow, FALSE);
    return g_string_free(o.s, FALSE);
}
