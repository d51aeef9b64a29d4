/* chunk.h - splitting page text into chunks of about N tokens.
 *
 * Tokens are byte spans of the text, from a model's tokenizer or from
 * chunk_estimate_tokens(). A chunk is a span of the text that starts at a
 * token and ends at a token, so `text[start, end)` never cuts a token or a
 * UTF-8 sequence and never begins or ends with whitespace.
 *
 * Where a chunk ends is chosen by the strength of the boundary before each
 * token, strongest first: a heading line ("# ..."), a blank line (a
 * paragraph), the end of a sentence, a line break, a space between words.
 * Only when a window of N tokens holds no boundary at all (a very long
 * word, or CJK text without punctuation) is it cut between two tokens. A
 * sentence ends at . ! ? and their CJK forms followed by space, except after
 * common abbreviations (e.g., Dr., Fig.), initials (J. R. R.) and before a
 * lowercase word; a decimal point has no space after it and never ends one.
 * Consecutive chunks overlap by about `overlap` tokens, starting at a word
 * (a sentence where the overlap holds one), except after a heading.
 *
 * Tables (Markdown rows, "| a | b |", the second line "| --- | --- |") are
 * split between rows; a chunk that starts below a table's header carries
 * that header (its two lines) as `header`, counted against its size, when
 * the header takes at most half of it.
 */
#ifndef LODE_CHUNK_H
#define LODE_CHUNK_H

#include <stddef.h>

struct span {
    size_t start, end;
};

struct chunk {
    size_t start, end; /* bytes of the text */
    size_t tokens;     /* of [start, end) */
    /* the header rows of the table the chunk starts in, bytes of the text
     * (start == end: none); its tokens are header_tokens */
    size_t header_start, header_end, header_tokens;
};

/* lode's token estimate, close to what WordPiece and BPE vocabularies give
 * for English and never far below: each run of letters is one token per 8
 * letters or part of it, each run of digits one per 3 digits, each other
 * character (punctuation, symbols, CJK ideographs, kana, hangul) one, each
 * counted per grapheme cluster. Returns the number of tokens. */
size_t chunk_estimate_tokens(const char *text, size_t len, struct span **out);

/* Chunks of at most size tokens. Returns the number of chunks (0 for text
 * without tokens). */
size_t chunk_text(const char *text, size_t len, const struct span *tokens, size_t ntokens,
                  size_t size, size_t overlap, struct chunk **out);

/* The text's sentences (and headings, paragraphs, lines that end one), as
 * the chunker finds their boundaries: spans that start and end at a
 * token. Returns the count. */
size_t chunk_sentences(const char *text, size_t len, struct span **out);

#endif
