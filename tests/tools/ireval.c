/* ireval: retrieval quality of a run against BEIR qrels.
 *
 *   ireval QRELS.tsv RUN.ndjson
 *
 * QRELS: "query-id corpus-id score" lines (tab-separated, a header line
 * allowed); a score above 0 is relevant, with that gain. RUN: lode-query's
 * output, one record per query with qid and hits[].id, best first.
 * Prints {"queries","ndcg@10","recall@100","mrr@10"} averaged over the
 * queries that have relevant documents, as pytrec_eval computes them for
 * BEIR (nDCG with linear gains and log2(rank + 1) discounts; a query with
 * no answer in the run scores 0).
 */
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GHashTable *read_qrels(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    /* qid -> (docid -> gain) */
    GHashTable *q = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)g_hash_table_destroy);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char qid[1024], did[1024];
        double score;
        if (sscanf(line, "%1023s %1023s %lf", qid, did, &score) != 3 || score <= 0)
            continue; /* the header, or not relevant */
        GHashTable *d = g_hash_table_lookup(q, qid);
        if (!d) {
            d = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
            g_hash_table_insert(q, g_strdup(qid), d);
        }
        double *g = g_new(double, 1);
        *g = score;
        g_hash_table_replace(d, g_strdup(did), g);
    }
    fclose(f);
    return q;
}

static int desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ireval QRELS.tsv RUN.ndjson\n");
        return 2;
    }
    GHashTable *qrels = read_qrels(argv[1]);
    GHashTable *done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    FILE *run = fopen(argv[2], "r");
    if (!run) {
        perror(argv[2]);
        return 2;
    }
    double ndcg = 0, recall = 0, mrr = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, run) > 0) {
        json_t *r = json_loads(line, 0, NULL);
        const char *qid = json_string_value(json_object_get(r, "qid"));
        GHashTable *rel = qid ? g_hash_table_lookup(qrels, qid) : NULL;
        if (!rel || g_hash_table_contains(done, qid)) {
            json_decref(r);
            continue;
        }
        g_hash_table_add(done, g_strdup(qid));
        json_t *hits = json_object_get(r, "hits");
        double dcg = 0, found = 0, rr = 0;
        for (size_t i = 0; i < json_array_size(hits) && i < 100; i++) {
            const char *id = json_string_value(json_object_get(json_array_get(hits, i), "id"));
            double *g = id ? g_hash_table_lookup(rel, id) : NULL;
            if (!g)
                continue;
            found++;
            if (i < 10) {
                dcg += *g / log2((double)i + 2);
                if (rr == 0)
                    rr = 1.0 / ((double)i + 1);
            }
        }
        size_t n = g_hash_table_size(rel), j = 0;
        double *gains = malloc(sizeof *gains * n), idcg = 0;
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, rel);
        while (g_hash_table_iter_next(&it, &k, &v))
            gains[j++] = *(double *)v;
        qsort(gains, n, sizeof *gains, desc);
        for (size_t i = 0; i < n && i < 10; i++)
            idcg += gains[i] / log2((double)i + 2);
        free(gains);
        ndcg += idcg > 0 ? dcg / idcg : 0;
        recall += found / (double)n;
        mrr += rr;
        json_decref(r);
    }
    free(line);
    fclose(run);
    /* queries with relevant documents but no answer count as 0 */
    double nq = g_hash_table_size(qrels);
    printf(
        "{\"queries\":%.0f,\"answered\":%u,\"ndcg@10\":%.4f,\"recall@100\":%.4f,\"mrr@10\":%.4f}\n",
        nq, g_hash_table_size(done), ndcg / nq, recall / nq, mrr / nq);
    g_hash_table_destroy(qrels);
    g_hash_table_destroy(done);
    return 0;
}
