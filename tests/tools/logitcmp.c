/* logitcmp: lode-generate --score --logits against reference logits.
 *
 *   logitcmp REF.f32 VOCAB OUT.json
 *
 * REF.f32 holds every position's logits (float32, row-major). Prints the
 * largest difference of the last position's logits, and 1 when the argmax
 * at every position is the reference's, else 0. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: logitcmp REF.f32 VOCAB OUT.json\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    int V = atoi(argv[2]);
    if (!f || V < 1)
        return 2;
    fseek(f, 0, SEEK_END);
    long n = ftell(f) / (long)sizeof(float) / V;
    fseek(f, 0, SEEK_SET);
    float *ref = malloc(sizeof *ref * (size_t)n * (size_t)V);
    if (!ref || fread(ref, sizeof *ref, (size_t)n * (size_t)V, f) != (size_t)n * (size_t)V)
        return 2;
    fclose(f);
    json_t *o = json_load_file(argv[3], 0, NULL);
    json_t *logits = json_object_get(o, "logits"), *argmax = json_object_get(o, "argmax");
    double diff = json_array_size(logits) == (size_t)V ? 0 : INFINITY;
    for (int i = 0; i < V && isfinite(diff); i++) {
        double d = fabs(json_number_value(json_array_get(logits, (size_t)i)) -
                        ref[(size_t)(n - 1) * V + i]);
        diff = d > diff ? d : diff;
    }
    int same = json_array_size(argmax) == (size_t)n;
    for (long t = 0; t < n && same; t++) {
        int best = 0;
        for (int i = 1; i < V; i++)
            if (ref[(size_t)t * V + i] > ref[(size_t)t * V + best])
                best = i;
        same = json_integer_value(json_array_get(argmax, (size_t)t)) == best;
    }
    printf("%.3g %d\n", diff, same);
    json_decref(o);
    free(ref);
    return 0;
}
