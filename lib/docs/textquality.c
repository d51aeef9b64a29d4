/* textquality.c - text_quality() of textquality.h: the share of words that
 * look like words (letters in plausible runs, few symbols and replacement
 * characters), from 0 for garbage layers to 1 for real text. */
#include "docs/textquality.h"

#include <string.h>
#include <strings.h>
#include <utf8proc.h>

/* How OCR engines of old misread the commonest English words ("the" as
 * "tbe", "and" as "aud", "with" as "witb"): frequent in a bad text layer,
 * never in real text of any language. */
static const char *const misreads[] = {
    "tbe",   "tlie", "tiie", "tne",   "thc",    "aud",   "anil", "witb", "wbich", "whicb", "bave",
    "frorn", "tbat", "thnt", "tliat", "wliich", "liave", "lias", "tlio", "iu",    "aiid",  NULL,
};

static int is_vowel(utf8proc_int32_t c)
{
    /* the base letter of accented vowels too */
    utf8proc_int32_t base = c;
    if (c > 0x7F) {
        utf8proc_int32_t buf[4];
        utf8proc_ssize_t n = utf8proc_decompose_char(c, buf, 4, UTF8PROC_DECOMPOSE, NULL);
        if (n > 0)
            base = buf[0];
    }
    base = utf8proc_tolower(base);
    return base == 'a' || base == 'e' || base == 'i' || base == 'o' || base == 'u' || base == 'y' ||
        c == 0xE6 || c == 0xF8 || c == 0x153;
}

struct word {
    utf8proc_int32_t c[48];
    int n, letters, digits, upper, lower, other, latin;
};

static int plausible(const struct word *w)
{
    if (w->digits && !w->letters)
        return 1; /* a number */
    if (w->digits || w->other)
        return 0; /* letters and digits mixed ("l0ok"), symbols inside */
    if (!w->latin)
        return 1; /* other scripts: no judgement */
    int vowels = 0, run = 0, same = 1;
    for (int i = 0; i < w->n; i++) {
        if (is_vowel(w->c[i])) {
            vowels++;
            run = 0;
        } else if (++run >= 5) {
            return 0;
        }
        if (i && utf8proc_tolower(w->c[i]) == utf8proc_tolower(w->c[i - 1])) {
            if (++same >= 3)
                return 0;
        } else {
            same = 1;
        }
    }
    if (!vowels && w->n > 3)
        return 0;
    /* case: lower, Capitalised, or UPPER; "tHe" and "THe" are not words */
    if (w->upper && w->lower) {
        if (!utf8proc_isupper(w->c[0]))
            return 0;
        if (w->upper > 1 && w->n > 2)
            return 0;
    }
    return 1;
}

static int misread(const struct word *w)
{
    char s[16];
    if (w->n >= (int)sizeof s)
        return 0;
    for (int i = 0; i < w->n; i++) {
        if (w->c[i] > 0x7F)
            return 0;
        s[i] = (char)utf8proc_tolower(w->c[i]);
    }
    s[w->n] = 0;
    for (int i = 0; misreads[i]; i++)
        if (!strcmp(s, misreads[i]))
            return 1;
    return 0;
}

double text_quality(const char *text, size_t len)
{
    struct word w;
    memset(&w, 0, sizeof w);
    long words = 0, good = 0, misreadings = 0, chars = 0, junk = 0, latin = 0, vowels = 0;
    long singles = 0; /* one-letter words: "a", "I", or "l e t t e r" */
    size_t i = 0;
    for (;;) {
        utf8proc_int32_t c = -1;
        utf8proc_ssize_t n = 0;
        if (i < len) {
            n = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i),
                                 &c);
            if (n <= 0) {
                n = 1;
                c = 0xFFFD;
            }
        }
        utf8proc_category_t cat = c >= 0 ? utf8proc_category(c) : UTF8PROC_CATEGORY_CN;
        int letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME;
        int digit = cat == UTF8PROC_CATEGORY_ND;
        int space = c < 0 || cat == UTF8PROC_CATEGORY_ZS || c == '\n' || c == '\t' || c == '\r';
        if (c >= 0 && !space) {
            chars++;
            if (c == 0xFFFD || cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CC ||
                cat == UTF8PROC_CATEGORY_CN)
                junk++;
        }
        /* punctuation at the ends of a word does not belong to it */
        int inner = !space && !letter && !digit && c != '-' && c != '\'' && c != 0x2019 &&
            !(cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO);
        if (letter && c < 0x250) {
            latin++;
            vowels += is_vowel(c);
        }
        if (letter || digit || inner) {
            if (w.n < 48)
                w.c[w.n++] = c;
            w.letters += letter;
            w.digits += digit;
            w.other += inner;
            w.upper += letter && utf8proc_isupper(c);
            w.lower += letter && utf8proc_islower(c);
            w.latin |= letter && c < 0x250;
        } else if (w.n) {
            if (w.n == 1 && w.letters && w.latin)
                singles++;
            if (w.n >= 2 || w.digits) {
                words++;
                int m = w.latin && !w.digits && misread(&w);
                misreadings += m;
                good += plausible(&w) && !m;
            }
            memset(&w, 0, sizeof w);
        }
        if (c < 0)
            break;
        i += (size_t)n;
    }
    if (words < 5)
        return -1;
    double score = (double)good / (double)words;
    if (chars && junk * 10 > chars)
        score *= 1.0 - (double)junk / (double)chars;
    /* Latin-script languages have 30-45% vowels; a font whose codes are
     * shifted letters has far fewer or far more */
    if (latin >= 60 && (vowels * 100 < latin * 20 || vowels * 100 > latin * 65))
        score *= 0.5;
    /* words spaced out letter by letter, a common defect of old OCR */
    if (singles * 100 > (words + singles) * 20)
        score *= 0.5;
    /* a few misreadings of "the" and "and" mean many more unseen ones */
    if (misreadings * 50 > words)
        score *= 0.5;
    return score;
}
