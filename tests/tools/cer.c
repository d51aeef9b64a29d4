/* cer REF HYP: character error rate of HYP against REF.
 *
 * Both texts are whitespace-normalised first (every run of whitespace is one
 * space, none at either end); the CER is the Levenshtein distance between
 * their Unicode code point sequences over the reference's length. Prints it
 * with 4 decimals. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

static gunichar *load(const char *path, glong *n)
{
    gchar *data;
    gsize len;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "cer: %s\n", err->message);
        exit(2);
    }
    if (!g_utf8_validate(data, (gssize)len, NULL)) {
        fprintf(stderr, "cer: %s is not UTF-8\n", path);
        exit(2);
    }
    gunichar *u = g_utf8_to_ucs4_fast(data, (glong)len, n);
    g_free(data);
    glong o = 0;
    int space = 0;
    for (glong i = 0; i < *n; i++) {
        if (g_unichar_isspace(u[i])) {
            space = o > 0;
            continue;
        }
        if (space)
            u[o++] = ' ';
        space = 0;
        u[o++] = u[i];
    }
    *n = o;
    return u;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: cer REF HYP\n");
        return 2;
    }
    glong n, m;
    gunichar *r = load(argv[1], &n), *h = load(argv[2], &m);
    glong *prev = g_new(glong, m + 1), *cur = g_new(glong, m + 1);
    for (glong j = 0; j <= m; j++)
        prev[j] = j;
    for (glong i = 1; i <= n; i++) {
        cur[0] = i;
        for (glong j = 1; j <= m; j++) {
            glong sub = prev[j - 1] + (r[i - 1] != h[j - 1]);
            glong del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        glong *t = prev;
        prev = cur;
        cur = t;
    }
    printf("%.4f\n", n ? (double)prev[m] / (double)n : (m ? 1.0 : 0.0));
    g_free(prev);
    g_free(cur);
    g_free(r);
    g_free(h);
    return 0;
}
