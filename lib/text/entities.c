/* entities.c - entities.h's rules: one PCRE2 pattern for the kinds of
 * entities, sentence bounds, acronym expansions, and the relation patterns
 * tried where an entity ends. */
#include "text/entities.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <glib.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/record.h"
#include "base/util.h"

#define MONTHS \
    "January|February|March|April|May|June|July|August|September|October|November|December"
#define CAPWORD "\\p{Lu}[\\p{Ll}\\p{Lu}\\p{N}]*(?:-\\p{Lu}?[\\p{Ll}\\p{Lu}\\p{N}]+)*"

/* the kinds, first match wins at a position */
static const char PATTERN[] =
    "(?<url>https?://[^\\s<>\"'()\\[\\]]*[^\\s<>\"'()\\[\\].,;:!?])"
    "|(?<email>[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)*\\.[A-Za-z]{2,})"
    "|(?<date>\\b\\d{4}-\\d{2}-\\d{2}\\b|\\b(?:" MONTHS
    ")\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4}\\b"
    "|\\b\\d{1,2}\\s+(?:" MONTHS ")\\s+\\d{4}\\b)"
    "|(?<version>\\bv\\d+(?:\\.\\d+)+(?:-[\\w.]+)?\\b|\\b\\d+\\.\\d+\\.\\d+(?:-[\\w.]+)?\\b"
    "|(?<=[Vv]ersion )\\d+(?:\\.\\d+)*\\b)"
    "|(?<quantity>\\b\\d+(?:[.,]\\d+)?\\s?(?:%|[KMGTP]i?B|[km]?m|kg|ms|min|[kMG]?Hz|kW|W|°C"
    "|tokens|bytes|pages|cores|threads|dimensions)(?![\\w]))"
    "|(?<name>\\b" CAPWORD
    "(?:[ \\t]+(?:(?:of|the|for|de|du|des|del|von|van|la|le)[ \\t]+)?" CAPWORD ")*)";

/* what follows an entity: a copula and an article, an appositive, a
 * parenthesis */
static const char COPULA[] = "\\s+(?:is|was|are|were)\\s+(?:a|an|the)\\s+";
static const char APPOSITIVE[] = ",\\s+(?:the|a|an)\\s+";
static const char PAREN[] = "\\s*\\(([^()\\n]{1,60})\\)";

/* words a capitalised run does not start with */
static const char *const STARTERS[] = {
    "The",   "A",    "An", "This", "That", "These", "Those", "It",    "Its",     "In",    "On",
    "At",    "For",  "If", "When", "What", "Which", "Who",   "How",   "Why",     "Where", "We",
    "You",   "They", "He", "She",  "I",    "Our",   "Your",  "Their", "There",   "Here",  "And",
    "But",   "Or",   "So", "As",   "By",   "To",    "From",  "With",  "Without", "Each",  "Every",
    "All",   "Some", "No", "Not",  "Then", "Also",  "See",   "Use",   "Note",    "After", "Before",
    "While", "Once", "Of", "One",  "Two",  NULL};

/* words a relation's phrase ends before */
static const char *const FUNCTION_WORDS[] = {
    "that", "which", "who", "whose", "for",  "with", "in", "of",  "on",  "to",   "by", "from",
    "and",  "or",    "as",  "at",    "into", "than", "is", "was", "are", "were", NULL};

struct entities {
    pcre2_code *re, *copula, *appositive, *paren;
    pcre2_match_data *md;
    GHashTable *starters, *function_words;
};

struct mention {
    size_t start, end;
    const char *type;
    char *name, *norm;
    int initial; /* a lone capitalised word that starts its sentence */
    size_t sentence;
};

static pcre2_code *compile(const char *pat, lode_error *err)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        lode_fail(err, LODE_EFAILED, "entity rules: %s at %zu", (char *)msg, (size_t)off);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

static GHashTable *word_set(const char *const *w)
{
    GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);
    for (; *w; w++)
        g_hash_table_add(t, (gpointer)*w);
    return t;
}

struct entities *entities_new(lode_error *err)
{
    struct entities *e = xcalloc(1, sizeof *e);
    if (!(e->re = compile(PATTERN, err)) || !(e->copula = compile(COPULA, err)) ||
        !(e->appositive = compile(APPOSITIVE, err)) || !(e->paren = compile(PAREN, err))) {
        entities_free(e);
        return NULL;
    }
    e->md = pcre2_match_data_create(8, NULL);
    if (!e->md)
        lode_oom(0);
    e->starters = word_set(STARTERS);
    e->function_words = word_set(FUNCTION_WORDS);
    return e;
}

void entities_free(struct entities *e)
{
    if (!e)
        return;
    pcre2_code_free(e->re);
    pcre2_code_free(e->copula);
    pcre2_code_free(e->appositive);
    pcre2_code_free(e->paren);
    pcre2_match_data_free(e->md);
    if (e->starters)
        g_hash_table_destroy(e->starters);
    if (e->function_words)
        g_hash_table_destroy(e->function_words);
    free(e);
}

/* Case-folded, runs of white space as one space. */
char *entities_fold(const char *s, size_t n)
{
    char *f = g_utf8_casefold(s, (gssize)n);
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; f[i]; i++) {
        if (f[i] == ' ' || f[i] == '\t' || f[i] == '\n' || f[i] == '\r') {
            space = o > 0;
            continue;
        }
        if (space)
            f[o++] = ' ';
        space = 0;
        f[o++] = f[i];
    }
    f[o] = 0;
    char *r = xstrdup(f);
    g_free(f);
    return r;
}

static char *date_norm(const char *s, size_t n)
{
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    if (n == 10 && s[4] == '-')
        return xstrndup(s, n);
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)(n < 63 ? n : 63), s);
    char mon[16] = "";
    int d = 0, y = 0;
    if (sscanf(buf, "%15[A-Za-z] %d%*[^0-9]%d", mon, &d, &y) != 3 &&
        sscanf(buf, "%d %15[A-Za-z] %d", &d, mon, &y) != 3)
        return entities_fold(s, n);
    for (int m = 0; m < 12; m++)
        if (!strcmp(mon, months[m]))
            return xasprintf("%04d-%02d-%02d", y, m + 1, d);
    return entities_fold(s, n);
}

/* Sentence starts: 0, after .!? and white space, after a newline. */
static size_t *sentences(const char *t, size_t len, size_t *n)
{
    size_t cap = 16, k = 0;
    size_t *v = xmalloc(cap * sizeof *v);
    v[k++] = 0;
    for (size_t i = 0; i < len; i++) {
        int end = t[i] == '\n' ||
            ((t[i] == '.' || t[i] == '!' || t[i] == '?') && i + 1 < len &&
             (t[i + 1] == ' ' || t[i + 1] == '\n' || t[i + 1] == '\t'));
        if (!end)
            continue;
        size_t j = i + 1;
        while (j < len && (t[j] == ' ' || t[j] == '\n' || t[j] == '\t' || t[j] == '\r'))
            j++;
        if (j < len && j > v[k - 1]) {
            v = xgrowarray(v, &cap, k + 1, sizeof *v);
            v[k++] = j;
        }
        i = j - 1;
    }
    *n = k;
    return v;
}

static size_t sentence_of(const size_t *s, size_t n, size_t at)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s[mid] <= at)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Does the acronym's letters appear in order in the long form, the first at
 * a word's start? (Schwartz and Hearst, matching from the end.) */
static int expands(const char *lng, size_t ln, const char *acr, size_t an)
{
    if (an < 2 || ln <= an)
        return 0;
    long l = (long)ln - 1;
    for (long a = (long)an - 1; a >= 0; a--) {
        char c = g_ascii_tolower(acr[a]);
        if (!g_ascii_isalnum(c))
            continue;
        while (l >= 0 &&
               (g_ascii_tolower(lng[l]) != c ||
                (a == 0 && l > 0 && lng[l - 1] != ' ' && lng[l - 1] != '-')))
            l--;
        if (l < 0)
            return 0;
        l--;
    }
    return 1;
}

static int all_caps(const char *s, size_t n)
{
    int letters = 0;
    for (size_t i = 0; i < n; i++) {
        if (g_ascii_islower(s[i]) || (unsigned char)s[i] >= 0x80)
            return 0;
        letters += g_ascii_isupper(s[i]) != 0;
    }
    return letters >= 2;
}

static int inner_capital(const char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (g_ascii_isupper(s[i]) || g_ascii_isdigit(s[i]))
            return 1;
    return 0;
}

/* The phrase a relation points at, from at: words up to punctuation or a
 * function word, four at most; NULL when there is none. */
static char *phrase(struct entities *e, const char *t, size_t len, size_t at, size_t *end)
{
    size_t i = at, words = 0, last = at;
    while (i < len && words < 4) {
        size_t w = i;
        while (
            i < len &&
            (g_ascii_isalnum(t[i]) || t[i] == '-' || t[i] == '\'' || (unsigned char)t[i] >= 0x80))
            i++;
        if (i == w)
            break;
        char *word = xstrndup(t + w, i - w);
        int stop = g_hash_table_contains(e->function_words, word);
        free(word);
        if (stop) {
            i = w;
            break;
        }
        words++;
        last = i;
        if (i < len && t[i] == ' ' && i + 1 < len && g_ascii_isalnum(t[i + 1]))
            i++;
        else
            break;
    }
    if (!words)
        return NULL;
    *end = last;
    return entities_fold(t + at, last - at);
}

static int match_at(struct entities *e, pcre2_code *re, const char *t, size_t len, size_t at)
{
    return pcre2_match(re, (PCRE2_SPTR)t, len, at, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, e->md,
                       NULL) > 0;
}

static void add_relation(json_t *rels, const char *head, const char *rel, const char *tail,
                         size_t start, size_t end)
{
    json_t *r = json_object();
    record_set_str(r, "head", head);
    record_set_str(r, "rel", rel);
    record_set_str(r, "tail", tail);
    json_object_set_new(r, "span", json_pack("[II]", (json_int_t)start, (json_int_t)end));
    json_array_append_new(rels, r);
}

static const char *group(pcre2_code *re, PCRE2_SIZE *ov)
{
    static const char *const kinds[] = {"url", "email", "date", "version", "quantity", "name"};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        int g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)kinds[k]);
        if (g > 0 && ov[2 * g] != PCRE2_UNSET)
            return kinds[k];
    }
    return NULL;
}

void entities_find(struct entities *e, const char *text, size_t len, json_t **entities,
                   json_t **relations)
{
    *entities = json_array();
    *relations = json_array();
    if (!len || !g_utf8_validate_len(text, len, NULL))
        return;
    size_t ns;
    size_t *sent = sentences(text, len, &ns);
    struct mention *m = NULL;
    size_t nm = 0, cap = 0;
    GHashTable *mid_caps = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    for (size_t at = 0; at < len;) {
        int rc = pcre2_match(e->re, (PCRE2_SPTR)text, len, at, PCRE2_NO_UTF_CHECK, e->md, NULL);
        if (rc <= 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        size_t s = ov[0], end = ov[1];
        at = end > s ? end : s + 1;
        const char *kind = group(e->re, ov);
        if (!kind)
            continue;
        if (!strcmp(kind, "name")) {
            /* leading sentence words and articles are not part of a name */
            while (s < end) {
                size_t w = s;
                while (w < end && text[w] != ' ' && text[w] != '\t')
                    w++;
                char *word = xstrndup(text + s, w - s);
                int starter = g_hash_table_contains(e->starters, word);
                free(word);
                if (!starter)
                    break;
                s = w;
                while (s < end && (text[s] == ' ' || text[s] == '\t'))
                    s++;
            }
            if (s >= end)
                continue;
        }
        m = xgrowarray(m, &cap, nm + 1, sizeof *m);
        struct mention *x = &m[nm++];
        memset(x, 0, sizeof *x);
        x->start = s, x->end = end;
        x->sentence = sentence_of(sent, ns, s);
        x->name = xstrndup(text + s, end - s);
        int one_word = !memchr(x->name, ' ', end - s) && !memchr(x->name, '\t', end - s);
        if (!strcmp(kind, "name") && one_word && all_caps(x->name, end - s))
            kind = "acronym";
        x->type = kind;
        if (!strcmp(kind, "date"))
            x->norm = date_norm(x->name, end - s);
        else if (!strcmp(kind, "version"))
            x->norm = xstrdup(x->name + (x->name[0] == 'v'));
        else if (!strcmp(kind, "url"))
            x->norm = xstrdup(x->name);
        else
            x->norm = entities_fold(x->name, end - s);
        if (!strcmp(kind, "name")) {
            size_t first = s;
            while (first > sent[x->sentence] &&
                   strchr(" \t\"'([*#>-", text[first - 1])) /* quotes, bullets, headings */
                first--;
            int initial = first == sent[x->sentence];
            if (initial && one_word && !inner_capital(x->name, end - s))
                x->initial = 1;
            else if (!initial)
                for (char *w = x->name; *w;) {
                    size_t wl = strcspn(w, " \t");
                    g_hash_table_add(mid_caps, xstrndup(w, wl));
                    w += wl;
                    w += strspn(w, " \t");
                }
        }
    }
    /* a lone sentence-initial word is a name only when it is one elsewhere */
    size_t keep = 0;
    for (size_t i = 0; i < nm; i++) {
        if (m[i].initial && !g_hash_table_contains(mid_caps, m[i].name)) {
            free(m[i].name);
            free(m[i].norm);
            continue;
        }
        m[keep++] = m[i];
    }
    nm = keep;
    g_hash_table_destroy(mid_caps);
    /* expansions: "Long Form (LF)" makes LF an alias of the long form */
    GHashTable *alias = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    for (size_t i = 0; i + 1 < nm; i++) {
        struct mention *l = &m[i], *a = &m[i + 1];
        if (strcmp(l->type, "name") || strcmp(a->type, "acronym"))
            continue;
        size_t p = l->end;
        while (p < a->start && (text[p] == ' ' || text[p] == '\t'))
            p++;
        if (p < a->start && text[p] == '(' && a->end < len && text[a->end] == ')' &&
            expands(l->name, strlen(l->name), a->name, strlen(a->name)))
            g_hash_table_replace(alias, xstrdup(a->norm), xstrdup(l->norm));
    }
    for (size_t i = 0; i < nm; i++) {
        const char *to = g_hash_table_lookup(alias, m[i].norm);
        if (to && !strcmp(m[i].type, "acronym")) {
            free(m[i].norm);
            m[i].norm = xstrdup(to);
        }
        json_t *o = json_object();
        record_set_str(o, "name", m[i].name);
        record_set_str(o, "type", m[i].type);
        json_object_set_new(o, "span",
                            json_pack("[II]", (json_int_t)m[i].start, (json_int_t)m[i].end));
        record_set_str(o, "norm", m[i].norm);
        json_array_append_new(*entities, o);
    }
    /* relations where an entity ends */
    for (size_t i = 0; i < nm; i++) {
        struct mention *x = &m[i];
        size_t pend, after = x->end;
        /* "Long Form (LF) is a ...": the relation starts after the alias */
        if (i + 1 < nm && !strcmp(m[i + 1].type, "acronym") && !strcmp(m[i + 1].norm, x->norm) &&
            strcmp(x->type, "acronym") && m[i + 1].end < len && text[m[i + 1].end] == ')')
            after = m[i + 1].end + 1;
        if (match_at(e, e->copula, text, len, after)) {
            size_t at = pcre2_get_ovector_pointer(e->md)[1];
            char *tail = phrase(e, text, len, at, &pend);
            if (tail)
                add_relation(*relations, x->norm, "is_a", tail, x->start, pend);
            free(tail);
        } else if (match_at(e, e->appositive, text, len, after)) {
            size_t at = pcre2_get_ovector_pointer(e->md)[1];
            char *tail = phrase(e, text, len, at, &pend);
            /* the appositive closes with a comma before the sentence ends */
            size_t q = tail ? pend : len;
            while (q < len && q < pend + 80 && !strchr(",.;:!?()\n", text[q]))
                q++;
            if (tail && q < len && text[q] == ',')
                add_relation(*relations, x->norm, "appositive", tail, x->start, q + 1);
            free(tail);
        } else if (after == x->end && match_at(e, e->paren, text, len, x->end)) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
            size_t ps = ov[2], pe = ov[3], close = ov[1];
            /* the acronym of an expansion is an alias, not a relation */
            int is_alias = i + 1 < nm && m[i + 1].start == ps && m[i + 1].end == pe &&
                !strcmp(m[i + 1].norm, x->norm);
            const char *tail = NULL;
            for (size_t j = i + 1; j < nm && m[j].start < close; j++)
                if (m[j].start == ps && m[j].end == pe)
                    tail = m[j].norm; /* the parenthesis is an entity */
            char *folded = tail ? NULL : entities_fold(text + ps, pe - ps);
            if (!is_alias)
                add_relation(*relations, x->norm, "parenthetical", tail ? tail : folded, x->start,
                             close);
            free(folded);
        }
    }
    /* co-occurrence: each pair of distinct entities in a sentence (the first
     * 50 of a sentence) */
    for (size_t i = 0; i < nm;) {
        size_t j = i;
        while (j < nm && m[j].sentence == m[i].sentence)
            j++;
        size_t lim = j - i > 50 ? i + 50 : j;
        size_t send = m[i].sentence + 1 < ns ? sent[m[i].sentence + 1] : len;
        GHashTable *pairs = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        for (size_t a = i; a < lim; a++)
            for (size_t b = a + 1; b < lim; b++) {
                int c = strcmp(m[a].norm, m[b].norm);
                if (!c)
                    continue;
                const char *h = c < 0 ? m[a].norm : m[b].norm, *t = c < 0 ? m[b].norm : m[a].norm;
                char *key = xasprintf("%s\x1f%s", h, t);
                if (g_hash_table_add(pairs, key))
                    add_relation(*relations, h, "co", t, sent[m[i].sentence], send);
            }
        g_hash_table_destroy(pairs);
        i = j;
    }
    for (size_t i = 0; i < nm; i++) {
        free(m[i].name);
        free(m[i].norm);
    }
    free(m);
    free(sent);
    g_hash_table_destroy(alias);
}
