/* wordpiece.h - BERT's WordPiece tokenizer, as Hugging Face tokenizers
 * applies it (the reference is tokenizers.js with the model's
 * tokenizer.json).
 *
 * Normalizer (BertNormalizer): drop NUL, U+FFFD and control/format
 * characters, whitespace becomes a space, CJK ideographs get spaces around
 * them, then lowercasing and accent stripping (NFD without nonspacing marks)
 * as the model says. Pre-tokenizer (BertPreTokenizer): split at whitespace,
 * every punctuation character a word of its own. Model: greedy longest
 * match from the vocabulary, "##" on pieces inside a word, a word that
 * cannot be split, or longer than 100 characters, is [UNK].
 *
 * Every token carries its byte span in the original text, so chunkers can
 * cut text at token boundaries.
 */
#ifndef LODE_WORDPIECE_H
#define LODE_WORDPIECE_H

#include <stddef.h>

#include "base/util.h"

struct wordpiece;

struct wp_token {
    int id;
    size_t start, end; /* bytes of the original text */
};

/* From dir/tokenizer.json, else dir/vocab.txt with dir/tokenizer_config.json. */
struct wordpiece *wordpiece_load(const char *dir, lode_error *err);
void wordpiece_free(struct wordpiece *wp);

/* The tokens of text, without [CLS] and [SEP]; returns their number. The
 * text is read a piece at a time (cut at ASCII whitespace), so memory is
 * the tokens' and a piece's, not the text's. */
size_t wordpiece_encode(const struct wordpiece *wp, const char *text, size_t len,
                        struct wp_token **out);
/* The first max tokens only: reading stops there (a model's window of a
 * 100 MB text costs its first pieces). */
size_t wordpiece_encode_max(const struct wordpiece *wp, const char *text, size_t len, size_t max,
                            struct wp_token **out);
const char *wordpiece_piece(const struct wordpiece *wp, int id);
int wordpiece_cls(const struct wordpiece *wp);
int wordpiece_sep(const struct wordpiece *wp);
int wordpiece_vocab_size(const struct wordpiece *wp);

#endif
