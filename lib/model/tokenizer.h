/* tokenizer.h - the tokenizers of decoder models: SentencePiece BPE
 * (GGUF "llama": scores, byte fallback, a space prefix) and byte-level
 * BPE (GGUF "gpt2", or a Hugging Face tokenizer.json): merges by rank
 * after a pre-tokenizer regex (PCRE2) named by tokenizer.ggml.pre or
 * given by tokenizer.json.
 *
 * Special tokens: control tokens (<s>, <|im_start|>...) are recognised in
 * text only when asked (special), so user text cannot inject them;
 * user-defined added tokens always are, as llama.cpp and Hugging Face do.
 *
 * Caveats: a tokenizer is read-only once loaded and may be shared.
 */
#ifndef LODE_TOKENIZER_H
#define LODE_TOKENIZER_H

#include <glib.h>
#include <stddef.h>

#include "model/gguf.h"
#include "base/util.h"

enum tok_kind { TOK_SPM, TOK_BPE };

enum tok_type { /* GGUF token types */
                TT_NORMAL = 1,
                TT_UNKNOWN = 2,
                TT_CONTROL = 3,
                TT_USER = 4,
                TT_UNUSED = 5,
                TT_BYTE = 6,
};

struct tokenizer {
    enum tok_kind kind;
    int n;        /* vocabulary size */
    char **piece; /* each token's text as stored (NUL-terminated) */
    uint32_t *plen;
    float *score;       /* SPM merge priorities */
    uint8_t *type;      /* enum tok_type */
    GHashTable *index;  /* piece -> id + 1 */
    GHashTable *merges; /* BPE: "left right" -> rank + 1 */
    void **re;          /* pre-tokenizer regexes (pcre2_code *), applied in turn */
    int nre;
    int nfc; /* NFC-normalise text first */
    int add_bos, add_space_prefix;
    int bos, eos, unk;     /* -1 when none */
    int byte_id[256];      /* SPM byte fallback <0xXX>, -1 when missing */
    uint16_t byte_cp[256]; /* BPE: the character standing for each byte ... */
    int16_t cp_byte[512];  /* ... and back (-1: none) */
    int *specials;         /* control and user-defined tokens, longest first */
    int nspecials;
    int *eog; /* ids that end a turn (eos, <|im_end|>, <|eot_id|>...) */
    int neog;
};

int tok_from_gguf(const struct gguf *g, struct tokenizer *t, lode_error *err);
/* A Hugging Face directory's tokenizer.json (byte-level BPE) and
 * tokenizer_config.json (add_bos_token, bos and eos). */
int tok_from_hf(const char *dir, struct tokenizer *t, lode_error *err);
void tok_free(struct tokenizer *t);

/* The ids of text: BOS first when add_bos and the model adds one; special:
 * recognise control tokens written in the text. Returns the count. */
size_t tok_encode(const struct tokenizer *t, const char *text, size_t len, int add_bos, int special,
                  int **ids);
/* The same where allow[i] says whether a control token may start at byte
 * i (NULL: nowhere; TOK_ALL_SPECIAL: anywhere), as chat_render() marks
 * its own text. */
extern const char TOK_ALL_SPECIAL[1];
size_t tok_encode_masked(const struct tokenizer *t, const char *text, size_t len, int add_bos,
                         const char *allow, int **ids);
/* The bytes a token stands for, appended to out (SPM: U+2581 as a space,
 * <0xXX> as its byte; BPE: the byte-level characters as bytes; control
 * tokens as their text). */
void tok_piece(const struct tokenizer *t, int id, GString *out);
int tok_is_eog(const struct tokenizer *t, int id);
/* The id of a token's exact text, or -1. */
int tok_lookup(const struct tokenizer *t, const char *piece);

#endif
