/* textquality.h - is a page's text layer real text?
 *
 * A text layer can be garbage: the invisible layer of an earlier bad OCR
 * ("Tbe qnick brovvn"), or a font whose codes do not map to letters
 * ("(QKDQFH WKH SHUIRUPDQFH"). The score is the share of words that look
 * like words of a language: letters only (or a number), a vowel unless
 * short, no run of five consonants or of three same letters, a sane mix of
 * cases. It shrinks with the share of replacement, private-use and control
 * characters once they pass a tenth of the text, and is halved when vowels
 * are not 20-65% of the Latin letters, when over a fifth of the words are
 * single letters ("A l e t t e r"), or when classic misreadings of the
 * commonest English words ("tbe", "aud") pass 2% of the words. It needs no
 * dictionary and works for any Latin-script language; other scripts count
 * as good.
 */
#ifndef LODE_TEXTQUALITY_H
#define LODE_TEXTQUALITY_H

#include <stddef.h>

/* 0 (garbage) to 1 (clean); -1 when there are too few words to judge. */
double text_quality(const char *text, size_t len);

#endif
