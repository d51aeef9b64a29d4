/* query.c - the query plan of query.h: opening the stores with their
 * statistics and the model for query texts, answering a query in the mode
 * decided (BM25, dense, or both fused), and the statistics a host emits
 * for the others. */
#include "store/query.h"

#include <errno.h>
#include <glib.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/lines.h"
#include "base/opts.h"
#include "base/record.h"
#include "store/index.h"

static const char *const mode_names[] = {"auto", "bm25", "dense", "hybrid"};

int query_mode_parse(const char *s)
{
    for (int m = 0; m < 4; m++)
        if (!strcmp(s, mode_names[m]))
            return m;
    return -1;
}

const char *query_mode_name(enum query_mode m)
{
    return (unsigned)m < 4 ? mode_names[m] : "?";
}

/* --global-stats FILE: every record summed; each shard at most once. */
static int read_global(struct query *q, const char *path, lode_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lode_fail(err, lode_errno_code(errno), "cannot open %s: %s", path, strerror(errno));
    struct lines lr;
    lines_init(&lr, fd, LODE_DEFAULT_MAX_LINE);
    bm25_stats_init(&q->global);
    q->have_global = 1;
    json_t *seen = json_object();
    char *line;
    size_t len, lineno = 0;
    int n_of = 0, rc = 0, lrc;
    while (!rc && (lrc = lines_next(&lr, &line, &len)) != LINE_EOF) {
        lineno++;
        if (lrc == LINE_ERROR) {
            rc =
                lode_fail(err, lode_errno_code(errno), "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (lrc == LINE_TOO_LONG) {
            rc = lode_fail(err, LODE_EINVAL, "%s:%zu: a line longer than 256M", path, lineno);
            break;
        }
        lode_error e;
        json_t *rec = record_parse(line, len, &e);
        struct bm25_stats one;
        if (!rec || bm25_stats_parse(rec, &one, &e) < 0) {
            json_decref(rec);
            rc = lode_fail(err, LODE_EINVAL, "%s:%zu: %s", path, lineno, e.msg);
            break;
        }
        const char *shard = record_str(rec, "shard");
        int k, nshards;
        if (shard && hash_parse_shard(shard, &k, &nshards) == 0) {
            char key[16];
            snprintf(key, sizeof key, "%d", k);
            if (json_object_get(seen, key) || (n_of && n_of != nshards))
                rc = lode_fail(err, LODE_EINVAL,
                               "%s:%zu: shard %s again, or of another split: "
                               "gather each shard's statistics once",
                               path, lineno, shard);
            json_object_set_new(seen, key, json_true());
            n_of = nshards;
        }
        if (!rc && bm25_stats_sum(&q->global, &one, &e) < 0)
            rc = lode_fail(err, LODE_EINVAL, "%s:%zu: %s", path, lineno, e.msg);
        bm25_stats_free(&one);
        json_decref(rec);
    }
    if (!rc && !lineno)
        rc = lode_fail(err, LODE_EINVAL,
                       "%s holds no statistics: write it with lode-query --emit-stats", path);
    if (!rc && n_of && json_object_size(seen) != (size_t)n_of)
        warning("%s has the statistics of %zu of %d shards: scores are not the whole collection's",
                path, json_object_size(seen), n_of);
    lines_free(&lr);
    close(fd);
    json_decref(seen);
    return rc;
}

/* The model for query texts: -m, then $LODE_EMBED_MODEL, then the one the
 * stores remember; it must be the one their vectors were made with. */
static int choose_model(struct query *q, lode_error *err)
{
    const char *stored = q->sh.model, *dir = q->o.dirs[0], *model = q->o.model;
    const char *env = q->o.env_model;
    char *remembered = NULL;
    for (size_t i = 0; !model && !env && !remembered && i < q->sh.n; i++)
        if (store_begin(&q->sh.stores[i], 0, err) == 0) {
            remembered = store_meta_str(&q->sh.stores[i], "model_path");
            store_abort(&q->sh.stores[i]);
        }
    const char *use = model ? model : env ? env : remembered;
    int rc = 0;
    lode_error e;
    if (!use) {
        snprintf(q->downgrade, sizeof q->downgrade,
                 "%s holds vectors but no embedding model is known for query texts (give -m "
                 "or LODE_EMBED_MODEL, or remember one with lode-index -m)",
                 dir);
    } else if (bert_load_encoder(use, &q->model, &e) < 0) {
        if (model)
            rc = lode_fail(err, e.code, "cannot load the model %s: %s", use, e.msg);
        else
            snprintf(q->downgrade, sizeof q->downgrade, "cannot load the model %s: %s", use, e.msg);
    } else if ((stored && strcmp(stored, q->model.id)) || q->model.hidden != q->sh.dim) {
        if (model)
            rc = lode_fail(err, LODE_EINVAL, "%s holds vectors of %s; %s is %s", dir,
                           stored ? stored : "another model", use, q->model.id);
        else
            snprintf(q->downgrade, sizeof q->downgrade, "%s holds vectors of %s, not of %s (%s)",
                     dir, stored ? stored : "another model", use, q->model.id);
        bert_free(&q->model);
    } else {
        q->have_model = 1;
    }
    free(remembered);
    return rc;
}

int query_open(struct query *q, const struct query_opts *o, lode_error *err)
{
    memset(q, 0, sizeof *q);
    q->o = *o;
    if (q->o.ef < q->o.k)
        q->o.ef = q->o.k;
    q->mode = o->mode;
    /* vectors for searching, or for --mmr's similarities */
    int rc = shards_open(&q->sh, o->dirs, o->ndirs,
                         (o->mode != QUERY_BM25 || o->mmr >= 0) && !o->emit, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < q->sh.n; i++)
        searcher_question_words(q->sh.se[i], o->question_words);
    if (o->global_stats && (rc = read_global(q, o->global_stats, err)) < 0)
        return rc;
    int dim = q->sh.dim;
    if (q->mode != QUERY_BM25 && dim && !o->emit && (rc = choose_model(q, err)) < 0)
        return rc;
    if (q->mode == QUERY_AUTO)
        q->mode = dim && q->have_model ? QUERY_HYBRID : QUERY_BM25;
    /* a downgrade: vectors (searched by default, or hybrid asked for) and
     * no model for query texts; never without a word */
    if (!dim || q->have_model || q->mode == QUERY_DENSE || o->emit)
        q->downgrade[0] = 0;
    if (q->downgrade[0]) {
        if (o->strict)
            return lode_fail(err, LODE_EINVAL, "%s (--strict)", q->downgrade);
        warning("%s: query texts are searched by BM25 alone", q->downgrade);
    }
    if (q->mode != QUERY_BM25 && !dim && !o->emit)
        return lode_fail(err, LODE_EINVAL,
                         "%s holds no vectors: --mode %s needs records embedded "
                         "by lode-embed",
                         o->dirs[0], query_mode_name(q->mode));
    if (o->emit) {
        q->emit = xcalloc(q->sh.n, sizeof *q->emit);
        for (size_t i = 0; i < q->sh.n; i++)
            bm25_stats_init(&q->emit[i]);
    }
    return 0;
}

/* The hits as written, duplicates collapsed (a share for --merge keeps
 * them: the merge collapses). */
static json_t *final_hits(struct query *plan, struct rlist *hits, size_t k)
{
    int mmr = plan->o.mmr >= 0;
    /* MMR reads the texts even when they are not written */
    json_t *arr = rlist_json(&plan->sh, hits, plan->o.no_text && !mmr);
    /* and the hits' vectors, by hit (rlist_json left out the chunks gone) */
    GHashTable *vec_of = NULL;
    int dim = plan->sh.dim;
    if (mmr && dim) {
        vec_of = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free);
        for (size_t i = 0, j = 0; i < hits->n; i++) {
            if (!hits->v[i].rec)
                continue;
            float *v = xmalloc(sizeof *v * (size_t)dim);
            if (searcher_vector(plan->sh.se[hits->v[i].shard], hits->v[i].num, v) < 0)
                free(v);
            else
                g_hash_table_insert(vec_of, json_array_get(arr, j), v);
            j++;
        }
    }
    if (plan->o.memory != QUERY_MEMORY_ALL) {
        /* conversations' turns: only the one asked for, or none */
        json_t *kept = json_array();
        size_t j;
        json_t *x;
        json_array_foreach(arr, j, x)
        {
            const char *src = record_str(x, "source");
            int turn = src && !strncmp(src, "session:", 8);
            if (!turn || (plan->o.session && !strcmp(src + 8, plan->o.session)))
                json_array_append(kept, x);
        }
        hits_replace(arr, kept, json_array_size(kept));
    }
    if (plan->o.dedup != QUERY_DEDUP_NONE)
        hits_dedup(arr, plan->o.dedup == QUERY_DEDUP_NEAR, mmr ? json_array_size(arr) : k);
    if (mmr) {
        /* cosines when every candidate has a vector, else word sets */
        size_t n = json_array_size(arr);
        const float **vecs = xcalloc(n + 1, sizeof *vecs);
        int all = vec_of != NULL;
        for (size_t i = 0; all && i < n; i++)
            all = (vecs[i] = g_hash_table_lookup(vec_of, json_array_get(arr, i))) != NULL;
        hits_mmr(arr, plan->o.mmr, k, all ? vecs : NULL, dim);
        free(vecs);
        if (vec_of)
            g_hash_table_destroy(vec_of);
    }
    while (json_array_size(arr) > k)
        json_array_remove(arr, json_array_size(arr) - 1);
    size_t i;
    json_t *h;
    if (mmr && plan->o.no_text)
        json_array_foreach(arr, i, h) json_object_del(h, "text");
    return arr;
}

int query_answer(struct query *plan, json_t *q, lode_error *err)
{
    const char *text = record_str(q, "q");
    int dim = 0;
    float *vec = record_vector(q, &dim, err);
    if (!vec && err->msg[0])
        return err->code = LODE_EINVAL; /* its message says why */
    size_t k = (size_t)plan->o.k;
    json_t *kv = json_object_get(q, "k");
    if (kv) {
        if (!json_is_integer(kv) || json_integer_value(kv) < 1 || json_integer_value(kv) > 10000) {
            free(vec);
            return lode_fail(err, LODE_EINVAL, "\"k\" must be an integer from 1 to 10000");
        }
        k = (size_t)json_integer_value(kv);
    }
    /* the query's conditions and --filter's, together */
    struct filter *f = filter_new();
    filter_extend(f, plan->o.filter);
    json_t *fv = json_object_get(q, "filter");
    if (fv && filter_add_json(f, fv, err) < 0) {
        filter_free(f);
        free(vec);
        return err->code = LODE_EINVAL;
    }
    enum query_mode mode = plan->mode;
    if (!text && !vec) {
        lode_fail(err, LODE_EINVAL, "the query has neither \"q\" text nor a vector");
        goto fail;
    }
    if (mode == QUERY_BM25 && !text) {
        lode_fail(err, LODE_EINVAL, "BM25 needs \"q\" text");
        goto fail;
    }
    if (vec && dim != plan->sh.dim) {
        lode_fail(err, LODE_EINVAL, "the query vector has %d values; the store's have %d", dim,
                  plan->sh.dim);
        goto fail;
    }
    if (plan->emit) {
        if (!text) {
            lode_fail(err, LODE_EINVAL, "statistics need \"q\" text");
            goto fail;
        }
        if (shards_begin(&plan->sh, err) < 0)
            goto fail;
        for (size_t i = 0; i < plan->sh.n; i++)
            search_bm25_stats(plan->sh.se[i], text, &plan->emit[i]);
        shards_end(&plan->sh);
        free(vec);
        filter_free(f);
        return 1;
    }
    if (mode != QUERY_BM25 && !vec) {
        if (!plan->have_model) {
            if (mode == QUERY_DENSE) {
                lode_fail(err, LODE_EINVAL,
                          "no embedding model for the query: give -m, or a vector in \"vec\"");
                goto fail;
            }
            mode = QUERY_BM25;
        } else {
            vec = xmalloc(sizeof *vec * (size_t)plan->model.hidden);
            bert_embed(&plan->model, plan->model.query_prompt, text, strlen(text), &plan->work,
                       vec);
        }
    }
    if (plan->downgrade[0] && mode == QUERY_BM25 && !vec) {
        json_object_set_new(q, "mode", json_string("bm25"));
        json_object_set_new(q, "mode_reason", json_string(plan->downgrade));
    }
    if (mode == QUERY_HYBRID && !text)
        mode = QUERY_DENSE;
    if (shards_begin(&plan->sh, err) < 0)
        goto fail;
    /* BM25's statistics: given, summed over the stores, or the one store's own */
    struct bm25_stats qst, *st = plan->have_global ? &plan->global : NULL;
    bm25_stats_init(&qst);
    if (mode != QUERY_DENSE && !st && plan->sh.n > 1) {
        if (shards_stats(&plan->sh, text, &qst, err) < 0) {
            bm25_stats_free(&qst);
            shards_end(&plan->sh);
            goto fail;
        }
        st = &qst;
    }
    /* k hits after duplicates collapse: a list that lost some to it is
     * searched again twice as deep (duplicates are rare, so this is rare);
     * a share for --merge gives twice k, the merge collapsing them; MMR
     * chooses among four times k */
    size_t want = k, fetch = k;
    if (plan->o.mmr >= 0)
        fetch = want * 4 > 40 ? want * 4 : 40;
    if (plan->have_global && plan->o.dedup != QUERY_DEDUP_NONE)
        fetch *= 2;
    for (;;) {
        struct rlist hits = {0};
        size_t depth = fetch > SEARCH_FUSE_DEPTH ? fetch : SEARCH_FUSE_DEPTH;
        if (plan->o.graph && text && !plan->have_global) {
            /* the graph's list fused with the mode's one or two by rank */
            struct rlist l[3];
            size_t nl = 0;
            if (mode != QUERY_DENSE)
                l[nl++] = shards_bm25(&plan->sh, text, st, f, depth);
            if (mode != QUERY_BM25)
                l[nl++] =
                    shards_dense(&plan->sh, vec, f, depth,
                                 plan->o.ef > (int)depth ? plan->o.ef : (int)depth, plan->o.exact);
            l[nl++] = shards_graph(&plan->sh, text, f, depth);
            const struct rlist *lists[3] = {&l[0], &l[1], &l[2]};
            hits = rlist_fuse_n(&plan->sh, lists, nl, fetch);
            for (size_t i = 0; i < nl; i++)
                rlist_free(&l[i]);
        } else if (mode == QUERY_BM25) {
            hits = shards_bm25(&plan->sh, text, st, f, fetch);
        } else if (mode == QUERY_DENSE) {
            hits = shards_dense(&plan->sh, vec, f, fetch,
                                plan->o.ef > (int)fetch ? plan->o.ef : (int)fetch, plan->o.exact);
        } else {
            struct rlist a = shards_bm25(&plan->sh, text, st, f, depth);
            struct rlist b =
                shards_dense(&plan->sh, vec, f, depth,
                             plan->o.ef > (int)depth ? plan->o.ef : (int)depth, plan->o.exact);
            if (plan->have_global) {
                /* one host's share: both lists, for lode-query --merge to fuse */
                json_object_set_new(q, "bm25_hits", rlist_json(&plan->sh, &a, plan->o.no_text));
                json_object_set_new(q, "dense_hits", rlist_json(&plan->sh, &b, plan->o.no_text));
                rlist_free(&a);
                rlist_free(&b);
                break;
            }
            hits = rlist_fuse(&plan->sh, &a, &b, fetch);
            rlist_free(&a);
            rlist_free(&b);
        }
        size_t found = hits.n;
        json_t *arr = plan->have_global ? rlist_json(&plan->sh, &hits, plan->o.no_text)
                                        : final_hits(plan, &hits, want);
        rlist_free(&hits);
        if (!plan->have_global && json_array_size(arr) < want && found >= fetch &&
            fetch < want * 8) {
            json_decref(arr);
            fetch *= 2;
            continue;
        }
        json_object_set_new(q, "hits", arr);
        break;
    }
    shards_end(&plan->sh);
    bm25_stats_free(&qst);
    free(vec);
    filter_free(f);
    return 0;
fail:
    free(vec);
    filter_free(f);
    return err->code ? err->code : LODE_EFAILED;
}

json_t *query_emitted(struct query *q, lode_error *err)
{
    struct bm25_stats sum;
    bm25_stats_init(&sum);
    for (size_t i = 0; i < q->sh.n; i++)
        if (bm25_stats_sum(&sum, &q->emit[i], err) < 0) {
            bm25_stats_free(&sum);
            return NULL;
        }
    json_t *o = bm25_stats_json(&sum);
    json_t *stores = json_array();
    for (size_t i = 0; i < q->sh.n; i++)
        json_array_append_new(stores, json_string(q->o.dirs[i]));
    json_object_set_new(o, "stores", stores);
    int k, n;
    lode_error e;
    if (q->sh.n == 1 && index_store_shard(&q->sh.stores[0], &k, &n, &e) == 0 && n)
        json_object_set_new(o, "shard", json_sprintf("%d/%d", k, n));
    bm25_stats_free(&sum);
    return o;
}

void query_close(struct query *q)
{
    if (q->emit) { /* before the shards: their count says how many */
        for (size_t i = 0; i < q->sh.n; i++)
            bm25_stats_free(&q->emit[i]);
        free(q->emit);
    }
    shards_close(&q->sh);
    if (q->have_global)
        bm25_stats_free(&q->global);
    if (q->have_model) {
        bert_work_free(&q->work);
        bert_free(&q->model);
    }
}
