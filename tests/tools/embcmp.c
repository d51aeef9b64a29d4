/* embcmp REF OUT: compares embeddings record by record, in order.
 * REF has "embedding" arrays (the float64 reference); OUT has "vec" (base64
 * little-endian float32) or "embedding". Prints "records N min_cosine C
 * max_abs_error E" and, when REF records have "truncated", whether every
 * OUT record agrees ("truncated_agree 1"). */
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double *vector(json_t *r, size_t *d)
{
    json_t *a = json_object_get(r, "embedding");
    if (json_is_array(a)) {
        *d = json_array_size(a);
        double *v = calloc(*d + 1, sizeof *v);
        for (size_t i = 0; i < *d; i++)
            v[i] = json_number_value(json_array_get(a, i));
        return v;
    }
    const char *b64 = json_string_value(json_object_get(r, "vec"));
    if (!b64)
        return NULL;
    gsize n;
    guchar *bytes = g_base64_decode(b64, &n);
    *d = n / 4;
    double *v = calloc(*d + 1, sizeof *v);
    for (size_t i = 0; i < *d; i++) {
        uint32_t u = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
            (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
        float f;
        memcpy(&f, &u, 4);
        v[i] = f;
    }
    g_free(bytes);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: embcmp REF OUT\n");
        return 2;
    }
    FILE *a = fopen(argv[1], "r"), *b = fopen(argv[2], "r");
    if (!a || !b) {
        perror("embcmp");
        return 2;
    }
    char *la = NULL, *lb = NULL;
    size_t ca = 0, cb = 0;
    double min_cos = 1, max_err = 0;
    int n = 0, agree = 1, bad = 0;
    while (getline(&la, &ca, a) > 0) {
        if (getline(&lb, &cb, b) <= 0) {
            bad = 1;
            break;
        }
        json_t *ra = json_loads(la, JSON_ALLOW_NUL, NULL),
               *rb = json_loads(lb, JSON_ALLOW_NUL, NULL);
        size_t da, db;
        double *va = ra ? vector(ra, &da) : NULL, *vb = rb ? vector(rb, &db) : NULL;
        if (!va || !vb || da != db) {
            bad = 1;
            break;
        }
        double dot = 0, na = 0, nb = 0;
        for (size_t i = 0; i < da; i++) {
            dot += va[i] * vb[i];
            na += va[i] * va[i];
            nb += vb[i] * vb[i];
            double e = fabs(va[i] - vb[i]);
            if (e > max_err)
                max_err = e;
        }
        double cos = dot / (sqrt(na) * sqrt(nb));
        if (cos < min_cos)
            min_cos = cos;
        json_t *ta = json_object_get(ra, "truncated");
        if (json_is_boolean(ta) &&
            json_is_true(ta) != json_is_true(json_object_get(rb, "truncated")))
            agree = 0;
        free(va);
        free(vb);
        json_decref(ra);
        json_decref(rb);
        n++;
    }
    printf("records %d min_cosine %.8f max_abs_error %.3g truncated_agree %d\n", n, min_cos,
           max_err, agree);
    free(la);
    free(lb);
    return bad ? 1 : 0;
}
