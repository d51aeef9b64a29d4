/* unigram.h - SentencePiece Unigram tokenizers as Hugging Face's
 * tokenizer.json declares them (XLM-RoBERTa, BGE-M3, multilingual-e5,
 * bge-reranker): the Precompiled normaliser (SentencePiece's compiled
 * charsmap: a darts-clone double-array trie and its replacement strings),
 * the Replace and Strip normalisers XLM-R's files use, the Metaspace
 * pre-tokeniser, Viterbi segmentation over the pieces' scores, and the
 * special tokens split out of the text first.
 *
 * As Hugging Face does (its ids are the reference, ../shared/README.md):
 * the charsmap is applied per extended grapheme cluster (a cluster under 6
 * bytes becomes the replacement of its shortest prefix in the map, else
 * each character is looked up alone); a character no piece covers is the
 * unknown piece, scored as the lowest piece score less 10, and consecutive
 * unknown characters fuse into one; trailing whitespace survives as a last
 * U+2581 piece.
 *
 * Tokens carry the bytes of the original text they came from: a piece's
 * normalised bytes are traced back through the charsmap (a cluster's
 * replacement to the whole cluster), the collapsed runs of spaces and
 * Metaspace (the U+2581 put in front has none: start == end, at the
 * text's start); a special has its own bytes.
 *
 * Caveats: tokenizer.json is untrusted input: every offset of the trie and
 * the strings is checked.
 */
#ifndef LODE_UNIGRAM_H
#define LODE_UNIGRAM_H

#include <stddef.h>

#include "base/util.h"
#include "model/wordpiece.h" /* struct wp_token: an id and its bytes */

struct unigram;

/* dir/tokenizer.json; NULL with a reason: LODE_ENOTFOUND when the folder
 * holds no Unigram model (no tokenizer.json, or another model type: a
 * WordPiece folder), LODE_EUNSUPPORTED for a normaliser or pre-tokeniser it
 * does not read, others for a damaged file. */
struct unigram *unigram_load(const char *dir, lode_error *err);
void unigram_free(struct unigram *u);

/* The ids of text's pieces, specials typed in the text included, without
 * the template's <s> and </s>: the count, the ids in *ids (free them). */
size_t unigram_encode(const struct unigram *u, const char *text, size_t len, int **ids);
/* The first max tokens (SIZE_MAX: all) with their bytes in *out (free
 * it). Memory follows max, not len: a prefix of the text is encoded, cut
 * before a lone space between ASCII letters or digits, where the pieces of
 * the prefix are those of the whole text; a text with no such space in
 * 64 KiB is cut at a character and encoded with 64 tokens to spare, which
 * may differ only from the whole text's near that cut. */
size_t unigram_encode_max(const struct unigram *u, const char *text, size_t len, size_t max,
                          struct wp_token **out);
/* The template's ids (<s> and </s>), the unknown piece's, the vocabulary's
 * size, and a piece's text (NULL out of range). */
int unigram_bos(const struct unigram *u);
int unigram_eos(const struct unigram *u);
int unigram_unk(const struct unigram *u);
size_t unigram_size(const struct unigram *u);
const char *unigram_piece(const struct unigram *u, int id);

#endif
