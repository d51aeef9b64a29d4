/* wordf1 REF HYP: word-level precision, recall and F1 of HYP against REF.
 *
 * Words are maximal runs of letters and digits (Unicode categories L, M, N),
 * lowercased; the score compares them as multisets, so order and markup
 * (Markdown '#', '|', '-') do not count. Prints "precision recall f1". */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <utf8proc.h>

static GHashTable *words(const char *path, long *total)
{
    gchar *data;
    gsize len;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "wordf1: %s\n", err->message);
        exit(2);
    }
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GString *w = g_string_new(NULL);
    *total = 0;
    for (gsize i = 0; i <= len;) {
        utf8proc_int32_t c = -1;
        utf8proc_ssize_t n = i < len
            ? utf8proc_iterate((const utf8proc_uint8_t *)data + i, (utf8proc_ssize_t)(len - i), &c)
            : 1;
        if (n <= 0) {
            n = 1;
            c = -1;
        }
        int word = 0;
        if (c >= 0) {
            utf8proc_category_t cat = utf8proc_category(c);
            word = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO);
        }
        if (word) {
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t m = utf8proc_encode_char(utf8proc_tolower(c), enc);
            g_string_append_len(w, (const char *)enc, m);
        } else if (w->len) {
            gpointer old = g_hash_table_lookup(h, w->str);
            g_hash_table_replace(h, g_strdup(w->str), GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
            (*total)++;
            g_string_truncate(w, 0);
        }
        i += (gsize)n;
    }
    g_string_free(w, TRUE);
    g_free(data);
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: wordf1 REF HYP\n");
        return 2;
    }
    long nref, nhyp, common = 0;
    GHashTable *ref = words(argv[1], &nref), *hyp = words(argv[2], &nhyp);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, hyp);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        int a = GPOINTER_TO_INT(v), b = GPOINTER_TO_INT(g_hash_table_lookup(ref, k));
        common += a < b ? a : b;
    }
    double p = nhyp ? (double)common / nhyp : 0, r = nref ? (double)common / nref : 0;
    double f = p + r > 0 ? 2 * p * r / (p + r) : 0;
    printf("%.4f %.4f %.4f\n", p, r, f);
    g_hash_table_destroy(ref);
    g_hash_table_destroy(hyp);
    return 0;
}
