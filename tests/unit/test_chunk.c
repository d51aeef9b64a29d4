/* Unit tests of chunk.h: the token estimate, sentence boundaries, where
 * chunks end, overlap, and never cutting UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "text/chunk.h"

static size_t count(const char *s)
{
    struct span *t;
    size_t n = chunk_estimate_tokens(s, strlen(s), &t);
    free(t);
    return n;
}

/* Chunks text with the estimate; returns "chunk|chunk|..." (static). */
static const char *chunks(const char *s, size_t size, size_t overlap)
{
    static char out[8192];
    struct span *t;
    size_t nt = chunk_estimate_tokens(s, strlen(s), &t);
    struct chunk *c;
    size_t nc = chunk_text(s, strlen(s), t, nt, size, overlap, &c);
    out[0] = 0;
    for (size_t i = 0; i < nc; i++) {
        if (i)
            strcat(out, "|");
        strncat(out, s + c[i].start, c[i].end - c[i].start);
    }
    free(t);
    free(c);
    return out;
}

int main(void)
{
    CHECK(count("hello world") == 2, "two short words are two tokens");
    CHECK(count("internationalization") == 3, "a 20-letter word is 3 tokens (8 letters each)");
    CHECK(count("1234567") == 3, "7 digits are 3 tokens (3 digits each)");
    CHECK(count("a, b.") == 4, "punctuation counts one token each");
    CHECK(count("日本語のテキスト") == 8, "each CJK character or kana is a token");
    CHECK(count("   \n\t ") == 0, "whitespace has no tokens");
    CHECK(count("e\xCC\x81t\xC3\xA9") == 1, "a combining accent stays in its word");
    CHECK(count("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD ok") == 2,
          "an emoji with a skin tone is one token");
    CHECK(count("x\xE2\x80\x8By") == 3, "a zero-width space is a token, not whitespace");

    CHECK_STR(chunks("One two three.", 100, 10), "One two three.", "short text is one chunk");
    CHECK_STR(chunks("  padded text  \n", 100, 10), "padded text",
              "chunks never start or end with whitespace");
    CHECK_STR(chunks("Alpha beta gamma. Delta epsilon zeta.", 6, 0),
              "Alpha beta gamma.|Delta epsilon zeta.", "a chunk ends at a sentence end");
    CHECK_STR(chunks("Dr. Watson met Mr. Holmes. They left.", 8, 0),
              "Dr. Watson met Mr. Holmes.|They left.",
              "titles such as Dr. and Mr. do not end sentences");
    CHECK_STR(chunks("Pi is 3.14 today. It rains. Yes.", 7, 0), "Pi is 3.14 today.|It rains. Yes.",
              "a decimal point does not end a sentence");
    CHECK_STR(chunks("Written by J. R. R. Tolkien in England. A book.", 12, 0),
              "Written by J. R. R. Tolkien in England.|A book.", "initials do not end sentences");
    CHECK_STR(chunks("See e.g. the manual. Then stop.", 8, 0), "See e.g. the manual.|Then stop.",
              "e.g. does not end a sentence");
    CHECK_STR(chunks("It costs 5 USD. it is cheap. Buy.", 9, 0),
              "It costs 5 USD. it is cheap.|Buy.",
              "a lowercase word after a period continues the sentence");
    CHECK_STR(chunks("First para words here.\n\nSecond para words here.", 9, 0),
              "First para words here.|Second para words here.", "a paragraph break is preferred");
    CHECK_STR(chunks("intro text here\n\n# Title\n\nbody words", 5, 0),
              "intro text here|# Title\n\nbody words", "a heading starts a chunk");
    CHECK_STR(chunks("a b c d e f g h i j", 4, 0), "a b c d|e f g h|i j",
              "words when nothing stronger");
    CHECK_STR(chunks("aaaaaaaabbbbbbbbccccccccdddddddd", 2, 0), "aaaaaaaabbbbbbbb|ccccccccdddddddd",
              "a word longer than a chunk is cut between its tokens");
    CHECK_STR(chunks("一二三四五六", 4, 0), "一二三四|五六",
              "CJK text without spaces is cut between characters");
    CHECK_STR(chunks("これは文。あれも文。", 7, 0), "これは文。|あれも文。",
              "an ideographic full stop ends a sentence");
    CHECK_STR(chunks("one two three four five six seven eight", 4, 2),
              "one two three four|three four five six|five six seven eight",
              "chunks overlap by N tokens");
    CHECK_STR(chunks("alpha beta gamma. delta\n\n# Next\n\nepsilon zeta", 6, 3),
              "alpha beta gamma. delta|# Next\n\nepsilon zeta", "no overlap across a heading");
    CHECK_STR(chunks("Sentence one here. Sentence two here. Three four five six.", 9, 5),
              "Sentence one here. Sentence two here.|Sentence two here. Three four five six.",
              "an overlap starts at a sentence when it holds one");
    /* were "2." a sentence end, the later break after it would win */
    CHECK_STR(chunks("1.\nItem one text.\n2.\nItem two text.", 8, 0),
              "1.\nItem one text.|2.\nItem two text.",
              "a number opening a line does not end a sentence");
    {
        /* many tokens: every chunk advances and stays within the size */
        char big[4000];
        big[0] = 0;
        for (int i = 0; i < 300; i++)
            strcat(big, i % 7 == 6 ? "end. " : "word ");
        struct span *t;
        size_t nt = chunk_estimate_tokens(big, strlen(big), &t);
        struct chunk *c;
        size_t nc = chunk_text(big, strlen(big), t, nt, 16, 15, &c);
        int good = nc > 0;
        for (size_t i = 0; i < nc; i++) {
            good &= c[i].tokens <= 16 && c[i].tokens >= 1;
            if (i)
                good &= c[i].start > c[i - 1].start && c[i].end > c[i - 1].end;
        }
        good &= c[nc - 1].end == strlen(big) - 1;
        CHECK(good, "overlap one short of the size still advances (%zu chunks)", nc);
        free(t);
        free(c);
    }
    return check_failures ? 1 : 0;
}
