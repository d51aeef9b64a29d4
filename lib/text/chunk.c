/* chunk.c - chunk.h's splitting: tokens estimated per grapheme, sentence
 * boundaries (abbreviations, initials, decimals, CJK stops), and chunks cut
 * at the strongest boundary that fits, overlapping from a sentence start. */
#include "text/chunk.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "base/util.h"

/* ---- the token estimate ---- */

enum cls { C_SPACE, C_LETTER, C_DIGIT, C_OTHER, C_WIDE };

static int is_wide(utf8proc_int32_t c)
{
    return (c >= 0x3040 && c <= 0x30FF) || /* hiragana, katakana */
        (c >= 0x3400 && c <= 0x4DBF) ||    /* CJK extension A */
        (c >= 0x4E00 && c <= 0x9FFF) ||    /* CJK unified */
        (c >= 0xAC00 && c <= 0xD7AF) ||    /* hangul syllables */
        (c >= 0xF900 && c <= 0xFAFF) ||    /* CJK compatibility */
        (c >= 0x20000 && c <= 0x2FA1F);    /* CJK extensions B-F */
}

static enum cls classify(utf8proc_int32_t c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
        return C_SPACE;
    if (is_wide(c))
        return C_WIDE;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_DIGIT;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        return C_SPACE;
    default:
        return C_OTHER;
    }
}

struct grapheme {
    size_t start, end;
    enum cls cls;
};

/* Next grapheme cluster at *pos; 0 at the end. Invalid bytes count as one
 * symbol each. */
static int next_grapheme(const char *s, size_t len, size_t *pos, struct grapheme *g)
{
    if (*pos >= len)
        return 0;
    utf8proc_int32_t c, prev;
    utf8proc_ssize_t n =
        utf8proc_iterate((const utf8proc_uint8_t *)s + *pos, (utf8proc_ssize_t)(len - *pos), &c);
    g->start = *pos;
    if (n <= 0) {
        g->end = *pos + 1;
        g->cls = C_OTHER;
        *pos = g->end;
        return 1;
    }
    g->cls = classify(c);
    size_t at = *pos + (size_t)n;
    utf8proc_int32_t state = 0;
    prev = c;
    while (at < len && g->cls != C_SPACE) {
        utf8proc_int32_t d;
        utf8proc_ssize_t m =
            utf8proc_iterate((const utf8proc_uint8_t *)s + at, (utf8proc_ssize_t)(len - at), &d);
        if (m <= 0 || utf8proc_grapheme_break_stateful(prev, d, &state))
            break;
        prev = d;
        at += (size_t)m;
    }
    g->end = at;
    *pos = at;
    return 1;
}

static void push(struct span **v, size_t *n, size_t *cap, size_t start, size_t end)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *v = xreallocarray(*v, *cap, sizeof **v);
    }
    (*v)[*n].start = start;
    (*v)[(*n)++].end = end;
}

size_t chunk_estimate_tokens(const char *text, size_t len, struct span **out)
{
    struct span *v = NULL;
    size_t n = 0, cap = 0, pos = 0;
    struct grapheme g;
    enum cls run = C_SPACE;
    size_t run_start = 0, run_count = 0, per = 1;
    while (next_grapheme(text, len, &pos, &g)) {
        if ((g.cls == C_LETTER || g.cls == C_DIGIT) && g.cls == run && run_count < per) {
            run_count++;
            v[n - 1].end = g.end;
            continue;
        }
        run = g.cls;
        if (g.cls == C_SPACE)
            continue;
        run_start = g.start;
        run_count = 1;
        per = g.cls == C_LETTER ? 8 : g.cls == C_DIGIT ? 3 : 1;
        push(&v, &n, &cap, run_start, g.end);
    }
    *out = v;
    return n;
}

/* ---- boundaries ---- */

enum strength { B_NONE, B_WORD, B_LINE, B_SENTENCE, B_PARA, B_HEADING };

static const char *const abbreviations[] = {
    "mr",  "mrs",  "ms",   "dr",   "prof", "sr",     "jr",   "st",   "vs",  "e.g", "i.e",
    "cf",  "al",   "fig",  "figs", "no",   "nos",    "vol",  "vols", "pp",  "ed",  "eds",
    "inc", "ltd",  "co",   "corp", "jan",  "feb",    "mar",  "apr",  "jun", "jul", "aug",
    "sep", "sept", "oct",  "nov",  "dec",  "approx", "dept", "est",  "ca",  "eq",  "eqs",
    "sec", "ch",   "art",  "gen",  "col",  "capt",   "lt",   "sgt",  "rev", "mt",  "ft",
    "op",  "cit",  "resp", "ref",  "refs", "tab",    "viz",  "etc",  "u.s", NULL,
};

static int is_abbreviation(const char *w, size_t n)
{
    for (int i = 0; abbreviations[i]; i++)
        if (strlen(abbreviations[i]) == n && !strncasecmp(w, abbreviations[i], n))
            return 1;
    return 0;
}

/* 1 when the text before `at` ends a sentence, looking at the word before
 * and the text after. */
static int sentence_end(const char *t, size_t len, size_t at, size_t next)
{
    size_t i = at;
    /* closing quotes and brackets after the punctuation */
    while (i > 0) {
        unsigned char c = (unsigned char)t[i - 1];
        if (c == ')' || c == ']' || c == '"' || c == '\'' || c == '}') {
            i--;
            continue;
        }
        if (i >= 3 &&
            (!memcmp(t + i - 3, "\xE2\x80\x9D", 3) || !memcmp(t + i - 3, "\xE2\x80\x99", 3))) {
            i -= 3; /* ” ’ */
            continue;
        }
        if (i >= 2 && !memcmp(t + i - 2, "\xC2\xBB", 2)) {
            i -= 2; /* » */
            continue;
        }
        break;
    }
    if (i == 0)
        return 0;
    if (i >= 3 &&
        (!memcmp(t + i - 3, "\xE3\x80\x82", 3) || !memcmp(t + i - 3, "\xEF\xBC\x81", 3) ||
         !memcmp(t + i - 3, "\xEF\xBC\x9F", 3) || !memcmp(t + i - 3, "\xE2\x80\xA6", 3)))
        return 1; /* 。！？… */
    char p = t[i - 1];
    if (p == '!' || p == '?')
        return 1;
    if (p != '.')
        return 0;
    /* the word before the period */
    size_t w = i - 1;
    while (w > 0 && !isspace((unsigned char)t[w - 1]) && t[w - 1] != '(' && t[w - 1] != '"')
        w--;
    size_t wl = i - 1 - w;
    if (wl == 1 && isalpha((unsigned char)t[w]))
        return 0; /* an initial */
    if (wl && is_abbreviation(t + w, wl))
        return 0;
    /* "12." opening a line numbers a list item */
    size_t digits = 0;
    while (digits < wl && isdigit((unsigned char)t[w + digits]))
        digits++;
    if (wl && digits == wl && (w == 0 || t[w - 1] == '\n'))
        return 0;
    /* a lowercase word after it continues the sentence */
    if (next < len && islower((unsigned char)t[next]))
        return 0;
    return 1;
}

static int heading_at(const char *t, size_t len, size_t at)
{
    size_t k = 0;
    while (at + k < len && t[at + k] == '#' && k < 7)
        k++;
    return k >= 1 && k <= 6 && at + k < len && t[at + k] == ' ';
}

static enum strength boundary(const char *t, size_t len, const struct span *tok, size_t i)
{
    if (i == 0)
        return B_HEADING;
    size_t a = tok[i - 1].end, b = tok[i].start;
    int newlines = 0, space = 0;
    for (size_t k = a; k < b; k++) {
        if (t[k] == '\n')
            newlines++;
        else if (isspace((unsigned char)t[k]) || (unsigned char)t[k] >= 0x80)
            space = 1; /* wide spaces, NBSP */
    }
    if (newlines && heading_at(t, len, b))
        return B_HEADING;
    if (newlines >= 2)
        return B_PARA;
    if (!newlines && !space) {
        /* CJK sentences end without a space */
        if (a >= 3 &&
            (!memcmp(t + a - 3, "\xE3\x80\x82", 3) || !memcmp(t + a - 3, "\xEF\xBC\x81", 3) ||
             !memcmp(t + a - 3, "\xEF\xBC\x9F", 3)))
            return B_SENTENCE;
        return B_NONE;
    }
    if (sentence_end(t, len, a, b))
        return B_SENTENCE;
    return newlines ? B_LINE : B_WORD;
}

size_t chunk_sentences(const char *t, size_t len, struct span **out)
{
    struct span *tok, *v = NULL;
    size_t n = chunk_estimate_tokens(t, len, &tok), ns = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || boundary(t, len, tok, i) >= B_SENTENCE)
            push(&v, &ns, &cap, tok[i].start, tok[i].end);
        else
            v[ns - 1].end = tok[i].end;
    }
    free(tok);
    *out = v;
    return ns;
}

/* ---- chunking ---- */

/* ---- tables ---- */

static size_t line_end(const char *t, size_t len, size_t i)
{
    const char *nl = memchr(t + i, '\n', len - i);
    return nl ? (size_t)(nl - t) : len;
}

/* "| --- | :---: |": a Markdown table's header separator. */
static int separator_line(const char *t, size_t a, size_t b)
{
    int dashes = 0;
    if (a >= b || t[a] != '|')
        return 0;
    for (size_t i = a; i < b; i++) {
        if (t[i] == '-')
            dashes++;
        else if (t[i] != '|' && t[i] != ':' && t[i] != ' ')
            return 0;
    }
    return dashes > 0;
}

/* For every token that begins a row below a table's header, the header's
 * bytes (hs[i] < he[i]); others get hs == he == 0. */
static void table_headers(const char *t, size_t len, const struct span *tok, size_t n, size_t *hs,
                          size_t *he)
{
    size_t k = 0; /* tokens before the current line */
    for (size_t i = 0; i < len;) {
        size_t e1 = line_end(t, len, i);
        size_t j = e1 < len ? e1 + 1 : len;
        size_t e2 = j < len ? line_end(t, len, j) : j;
        if (t[i] != '|' || !separator_line(t, j, e2)) {
            i = j;
            continue;
        }
        /* a table: header [i, e2); its rows follow while lines start with '|' */
        size_t r = e2 < len ? e2 + 1 : len;
        while (r < len && t[r] == '|') {
            size_t re = line_end(t, len, r);
            while (k < n && tok[k].start < r)
                k++;
            for (; k < n && tok[k].start < re; k++) {
                hs[k] = i;
                he[k] = e2;
            }
            r = re < len ? re + 1 : len;
        }
        i = r;
    }
}

size_t chunk_text(const char *t, size_t len, const struct span *tok, size_t n, size_t size,
                  size_t overlap, struct chunk **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    if (size < 1)
        size = 1;
    if (overlap >= size)
        overlap = size - 1;
    unsigned char *b = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)boundary(t, len, tok, i);
    b[n] = B_HEADING;
    size_t *hs = xcalloc(n, sizeof *hs), *he = xcalloc(n, sizeof *he);
    if (memchr(t, '|', len))
        table_headers(t, len, tok, n, hs, he);
    struct chunk *v = NULL;
    size_t nc = 0, cap = 0, s = 0, prev_end = 0, h0 = 0; /* h0: tokens before the header */
    while (s < n) {
        /* a chunk starting below a table's header carries it: fewer tokens of its own */
        size_t htok = 0, room = size;
        if (hs[s] < he[s]) {
            while (h0 > 0 && tok[h0 - 1].start >= hs[s])
                h0--;
            while (h0 < n && tok[h0].start < hs[s])
                h0++;
            for (size_t k = h0; k < n && tok[k].start < he[s]; k++)
                htok++;
            if (htok * 2 <= size)
                room = size - htok;
            else
                htok = 0;
        }
        size_t end;
        if (n - s <= room) {
            end = n;
        } else {
            size_t e = s + room;
            size_t min_fill = room / 4 ? room / 4 : 1;
            size_t min_heading = room / 8 ? room / 8 : 1;
            end = e;
            int best = -1;
            for (size_t k = e; k > s && k > prev_end; k--) {
                if (k - s < min_fill && !(b[k] == B_HEADING && k - s >= min_heading))
                    continue;
                if ((int)b[k] > best) {
                    best = b[k];
                    end = k;
                }
            }
        }
        if (nc == cap) {
            cap = cap ? cap * 2 : 16;
            v = xreallocarray(v, cap, sizeof *v);
        }
        v[nc].start = tok[s].start;
        v[nc].end = tok[end - 1].end;
        v[nc].tokens = end - s;
        v[nc].header_start = htok ? hs[s] : 0;
        v[nc].header_end = htok ? he[s] : 0;
        v[nc].header_tokens = htok;
        nc++;
        if (end >= n)
            break;
        prev_end = end; /* the next chunk must reach past this one */
        size_t next = end;
        if (overlap && b[end] != B_HEADING) {
            size_t from = end - s > overlap ? end - overlap : s + 1;
            size_t pick = 0;
            for (size_t k = from; k < end && !pick; k++)
                if (b[k] >= B_SENTENCE)
                    pick = k;
            for (size_t k = from; k < end && !pick; k++)
                if (b[k] >= B_WORD)
                    pick = k;
            if (pick)
                next = pick;
        }
        s = next > s ? next : s + 1;
    }
    free(hs);
    free(he);
    free(b);
    *out = v;
    return nc;
}
