/* lode-index: chunk records into a store (lode-index(1), lode-store(7)). */
#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bert.h"
#include "base/hash.h"
#include "store/index.h"
#include "base/program.h"
#include "text/analyzer.h"
#include "store/kg.h"
#include "store/maintenance.h"
#include "store/snapshot.h"

struct run {
    struct program *p;
    struct buf echo; /* --echo: lines waiting for their batch's commit */
    int echoing;
    double pending_since; /* when the oldest uncommitted record came; 0: none */
};

struct cfg {
    const char *dir, *bm25, *quantize, *model, *shard, *salvage, *dump_graph;
    const char *snapshot, *restore;
    int del, skip, echo, stats, check, compact, dump, nowait, threads, list, keep;
    double commit_every; /* seconds; 0: at batch boundaries only */
    uint64_t map_size;
    struct index_opts io;
};

static void committed(void *ud)
{
    struct run *run = ud;
    const char *p = run->echo.data, *end = p + run->echo.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        output_line(&run->p->out, p, (size_t)(nl - p) + 1);
        p = nl + 1;
    }
    if (run->echo.len)
        program_flush(run->p);
    run->echo.len = 0;
    run->pending_since = 0;
}

static void echo_line(struct run *run, const char *line, size_t len)
{
    if (!run->echoing || !line)
        return;
    buf_add(&run->echo, line, len);
    buf_add(&run->echo, "\n", 1);
}

/* The source a record names: source, else id, else a plain line's text. */
static const char *source_of(const json_t *rec)
{
    const char *s = record_str(rec, "source");
    if (!s)
        s = record_str(rec, "id");
    if (!s)
        s = record_str(rec, "q");
    return s;
}

/* --skip-unchanged: passes on the records of new or changed sources. */
static int skip_unchanged(struct program *p, const char *dir)
{
    struct run run = {.p = p, .echoing = 1};
    struct store s;
    lode_error err;
    int have = store_open(dir, STORE_READ, 0, &s, &err) == 0; /* no store yet: all are new */
    GHashTable *known = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    unsigned long long same = 0;
    program_open(p, "index", "records", 1, 0);
    json_t *rec;
    while ((rec = program_next(p))) {
        const char *src = source_of(rec);
        if (!src) {
            report_fail(&p->rep, p->in.where, NULL, "the record has no source or id");
            json_decref(rec);
            continue;
        }
        gpointer v;
        if (!g_hash_table_lookup_extended(known, src, NULL, &v)) {
            v = GINT_TO_POINTER(have && index_unchanged(&s, src, record_str(rec, "doc")));
            g_hash_table_insert(known, xstrdup(src), v);
        }
        if (GPOINTER_TO_INT(v))
            same++;
        else
            echo_line(&run, p->in.line, p->in.len);
        p->rep.ok++;
        json_decref(rec);
        committed(&run);
    }
    buf_free(&run.echo);
    buf_addf(&p->rep.summary_extra, "; %llu of unchanged sources held back", same);
    report_metric(&p->rep, "index_unchanged_records_total", "counter",
                  "Records of unchanged sources held back.", (double)same);
    g_hash_table_destroy(known);
    if (have)
        store_close(&s);
    return program_close(p);
}

static int stats(const char *dir)
{
    struct store s;
    lode_error err;
    if (store_open(dir, STORE_READ, 0, &s, &err) < 0)
        die("%s", err.msg);
    json_t *o = store_stats(&s, &err);
    if (!o)
        die("%s", err.msg);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    printf("%s\n", text);
    free(text);
    json_decref(o);
    store_close(&s);
    if (fflush(stdout) != 0)
        die("cannot write standard output");
    return LODE_EXIT_OK;
}

static int dump(const char *dir)
{
    struct store s;
    lode_error err;
    if (store_open(dir, STORE_READ, 0, &s, &err) < 0)
        die("%s", err.msg);
    long n = store_dump(&s, 1, &err);
    store_close(&s);
    if (n < 0)
        die("%s", err.msg);
    return LODE_EXIT_OK;
}

static int check(const char *dir)
{
    lode_error err;
    double t = now_seconds();
    long problems = store_check_dir(dir, stderr, &err);
    if (problems < 0)
        die("%s", err.msg);
    printf("{\"store\":\"%s\",\"ok\":%s,\"problems\":%ld,\"seconds\":%.3f}\n", dir,
           problems ? "false" : "true", problems, now_seconds() - t);
    if (fflush(stdout) != 0)
        die("cannot write standard output");
    error("%s: %s", dir, problems ? "problems found (see above)" : "consistent");
    return problems ? LODE_EXIT_FAILED : LODE_EXIT_OK;
}

static int dump_graph(const char *dir, const char *format)
{
    struct store s;
    lode_error err;
    if (store_open(dir, STORE_READ, 0, &s, &err) < 0)
        die("%s", err.msg);
    int neo = !strncmp(format, "neo4j:", 6);
    long n = kg_dump(&s, neo ? "neo4j" : format, neo ? format + 6 : NULL, stdout, &err);
    store_close(&s);
    if (n < 0)
        die("%s", err.msg);
    error("%s: %ld nodes%s%s", dir, n, neo ? " written to " : "", neo ? format + 6 : "");
    return LODE_EXIT_OK;
}

static int salvage(const char *dir, const char *out, int threads)
{
    struct salvage_stats st;
    lode_error err;
    double t = now_seconds();
    if (store_salvage(dir, out, threads, stderr, &st, &err) < 0)
        die("%s", err.msg);
    printf("{\"store\":\"%s\",\"salvaged_to\":\"%s\",\"chunks\":%llu,\"vectors\":%llu,"
           "\"chunks_before\":%llu,\"unreadable\":%llu,\"problems\":%llu,\"seconds\":%.3f}\n",
           dir, out, st.chunks, st.vectors, st.expected, st.unreadable, st.problems,
           now_seconds() - t);
    if (fflush(stdout) != 0)
        die("cannot write standard output");
    error("%s: %llu chunks (%llu with vectors) copied into %s%s", dir, st.chunks, st.vectors, out,
          st.problems ? "; damaged parts skipped (see above)" : "");
    return LODE_EXIT_OK;
}

static void snapshot_line(const char *dir, const char *key, const struct snapshot_info *in,
                          double t)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I}", "store", dir, key, in->path, "time", in->time,
                          "chunks", (json_int_t)in->chunks, "bytes", (json_int_t)in->bytes);
    if (!strcmp(key, "snapshot"))
        json_object_set_new(o, "pruned", json_integer(in->pruned));
    json_object_set_new(o, "seconds", json_real(now_seconds() - t));
    if (json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4)) < 0 ||
        putchar('\n') == EOF || fflush(stdout) != 0)
        die("cannot write standard output");
    json_decref(o);
}

/* --snapshot, --snapshots, --restore and --keep alone */
static int snapshots(const struct cfg *c)
{
    lode_error err;
    struct snapshot_info in;
    double t = now_seconds();
    if (c->snapshot) {
        if (snapshot_take(c->dir, c->snapshot, c->keep == INT_MIN ? -1 : c->keep, stderr, &in,
                          &err) < 0)
            die("%s", err.msg);
        snapshot_line(c->dir, "snapshot", &in, t);
        error("%s: snapshot of %llu chunks in %s%s", c->dir, (unsigned long long)in.chunks, in.path,
              in.pruned ? "; older ones pruned" : "");
    } else if (c->restore) {
        if (snapshot_restore(c->dir, c->restore, c->nowait, stderr, &in, &err) < 0)
            die("%s", err.msg);
        snapshot_line(c->dir, "kept_as", &in, t);
        error("%s: now %s; what it held before is the snapshot %s", c->dir, c->restore, in.path);
    } else if (c->list) {
        long n = snapshot_list(c->dir, stdout, &err);
        if (n < 0 || fflush(stdout) != 0)
            die("%s", n < 0 ? err.msg : "cannot write standard output");
    } else {
        long n = snapshot_prune(c->dir, c->keep, stderr, &err);
        if (n < 0)
            die("%s", err.msg);
        error("%s: %ld snapshots pruned", c->dir, n);
    }
    return LODE_EXIT_OK;
}

static int compact(const char *dir, int threads, int nowait)
{
    struct compact_stats st;
    lode_error err;
    double t = now_seconds();
    if (store_compact(dir, threads, nowait, &st, &err) < 0)
        die("%s", err.msg);
    printf("{\"store\":\"%s\",\"bytes_before\":%llu,\"bytes_after\":%llu,\"vectors\":%llu,"
           "\"deleted_vectors_dropped\":%llu,\"seconds\":%.3f}\n",
           dir, st.bytes_before, st.bytes_after, st.vectors, st.nodes_dropped, now_seconds() - t);
    if (fflush(stdout) != 0)
        die("cannot write standard output");
    return LODE_EXIT_OK;
}

/* The model a store remembers for lode-query: its absolute path, and its
 * identity checked against the store's. */
static char *model_path(const char *dir, const char *store_dir)
{
    struct bert m;
    lode_error err;
    if (bert_load_encoder(dir, &m, &err) < 0)
        die("cannot load the model %s: %s", dir, err.msg);
    struct store s;
    if (store_open(store_dir, STORE_READ, 0, &s, &err) == 0) {
        if (store_begin(&s, 0, &err) == 0) {
            char *have = store_meta_str(&s, "model");
            if (have && strcmp(have, m.id))
                die("%s holds vectors of %s, not of %s (%s)", store_dir, have, m.id, dir);
            free(have);
            store_abort(&s);
        }
        store_close(&s);
    }
    bert_free(&m);
    char *real = realpath(dir, NULL);
    if (!real)
        die("%s: cannot resolve the path", dir);
    return real;
}

/* Parses and checks the options: 0, or the exit status of a usage error. */
static int options(struct program *p, struct cfg *c, int argc, char **argv)
{
    struct index_opts *io = &c->io;
    const struct opt table[] = {
        {'s', "store", OPT_STRING, &c->dir, "DIR",
         "the store (default $LODE_STORE); created when missing", 0},
        {0, "delete", OPT_FLAG, &c->del, NULL,
         "remove the sources the input names (records' source or id, or plain lines)", 1},
        {0, "skip-unchanged", OPT_FLAG, &c->skip, NULL,
         "write nothing; pass on only the records of sources that are new or changed", 1},
        {0, "echo", OPT_FLAG, &c->echo, NULL,
         "write each record taken to standard output once it is committed", 1},
        {0, "stats", OPT_FLAG, &c->stats, NULL, "print the store's figures as JSON and exit", 1},
        {0, "check", OPT_FLAG, &c->check, NULL, "verify the store's consistency and exit", 1},
        {0, "dump", OPT_FLAG, &c->dump, NULL, "write every chunk record the store holds and exit",
         1},
        {0, "dump-graph", OPT_STRING, &c->dump_graph, "FORMAT",
         "write the knowledge graph as jsonl, graphml or neo4j:DIR (CSV files), and exit", 0},
        {0, "salvage", OPT_STRING, &c->salvage, "OUT",
         "copy every chunk record that can still be read into a new store OUT, and exit", 0},
        {0, "snapshot", OPT_STRING, &c->snapshot, "DIR",
         "write a consistent, compacted copy of the store into the new folder DIR, and exit", 0},
        {0, "snapshots", OPT_FLAG, &c->list, NULL,
         "list the store's snapshots (path, time, chunks, bytes) as JSON lines, and exit", 1},
        {0, "restore", OPT_STRING, &c->restore, "DIR",
         "make the store the snapshot DIR, atomically, keeping what it was as a snapshot", 0},
        {0, "keep", OPT_INT, &c->keep, "N",
         "with --snapshot, or alone: remove the oldest snapshots beyond the newest N", 0},
        {0, "compact", OPT_FLAG, &c->compact, NULL,
         "rebuild the graph without deleted vectors, rewrite the file, and exit", 1},
        {0, "shard", OPT_STRING, &c->shard, "K/N",
         "keep only the sources that hash to shard K of N (0 to N-1); the store remembers it", 0},
        {0, "batch", OPT_INT, &io->batch, "N", "records per transaction, at least (default 1000)",
         0},
        {0, "commit-every", OPT_DOUBLE, &c->commit_every, "SEC",
         "commit what has arrived at least every SEC seconds (a stream that never ends)", 0},
        {0, "bm25", OPT_STRING, &c->bm25, "K1,B",
         "BM25 parameters the store keeps (default 0.9,0.4)", 0},
        {0, "quantize", OPT_STRING, &c->quantize, "TYPE",
         "keep vectors as f32 (default) or int8 (a new store only)", 0},
        {'M', "hnsw-m", OPT_INT, &io->M, "N", "HNSW links per node (default 16; a new store only)",
         0},
        {0, "ef-construction", OPT_INT, &io->efc, "N",
         "HNSW candidates while inserting (default 200; a new store only)", 0},
        {'m', "model", OPT_STRING, &c->model, "DIR",
         "remember DIR as the store's embedding model for lode-query", 0},
        {0, "analyzer", OPT_STRING, &io->analyzer, "NAME",
         "BM25's words: english (default), porter, snowball:LANG, standard, cjk (a new store)", 0},
        {'j', "jobs", OPT_INT, &c->threads, "N", "threads for graph inserts (default: all cores)",
         0},
        {0, "strict", OPT_FLAG, &io->strict, NULL,
         "fail the records that would mix chunks with and without vectors in the store", 1},
        {0, "nowait", OPT_FLAG, &c->nowait, NULL,
         "fail at once when another writer holds the store", 1},
        {0, "map-size", OPT_SIZE, &c->map_size, "SIZE",
         "the map's first size (default 64M); it doubles whenever it fills", 0},
        OPTS_COMMON(&p->common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-index",
        "-s STORE [OPTION]...",
        "Upsert the chunk records on standard input (id and text required; vec adds the\n"
        "vector) into STORE, an LMDB directory: a source's earlier chunks are replaced\n"
        "when its doc hash changed and its records skipped when it did not. Work is\n"
        "committed in batches; a killed run leaves the last committed state and the\n"
        "same run again completes it.",
        table,
        "Exit status: 0 all records indexed (--check: consistent), 1 some failed (see\n"
        "--errors; --check: problems found), 2 usage, 3 fatal (the store cannot be\n"
        "opened or written, disk full). See lode-index(1) and lode-store(7).\n",
    };
    opts_parse_filter(&prog, argc, argv, "records");
    if (!c->dir)
        return program_usage(p, "no store: give -s DIR or set LODE_STORE");
    if (c->stats + c->check + c->compact + c->dump + c->skip + c->del + !!c->salvage +
            !!c->dump_graph + !!c->snapshot + c->list + !!c->restore +
            (c->keep != INT_MIN && !c->snapshot) >
        1)
        return program_usage(p,
                             "--stats, --check, --dump, --dump-graph, --salvage, --compact, "
                             "--snapshot, --snapshots, --restore, --keep, --skip-unchanged "
                             "and --delete are separate runs");
    if (c->keep != INT_MIN && c->keep < (c->snapshot ? 1 : 0))
        return program_usage(p, "--keep takes a count: at least 1 with --snapshot, 0 alone");
    if (c->dump_graph && strcmp(c->dump_graph, "jsonl") && strcmp(c->dump_graph, "graphml") &&
        (strncmp(c->dump_graph, "neo4j:", 6) || !c->dump_graph[6]))
        return program_usage(p, "--dump-graph takes jsonl, graphml or neo4j:DIR");
    /* INT_MIN: not given (0 is given, and refused below) */
    io->vec_given = io->M != INT_MIN || io->efc != INT_MIN || c->quantize;
    if (io->M == INT_MIN)
        io->M = 16;
    if (io->efc == INT_MIN)
        io->efc = 200;
    if (!(c->commit_every >= 0 && c->commit_every <= 86400))
        return program_usage(p, "--commit-every takes seconds from 0 to 86400");
    if (io->batch < 1 || io->M < 2 || io->M > 256 || io->efc < 1 || c->threads < 1)
        return program_usage(p, "--batch, -j and --ef-construction must be positive, -M 2 to 256");
    if (c->bm25 && bm25_parse(c->bm25, &io->k1, &io->b) < 0)
        return program_usage(p, "--bm25 takes K1,B such as 0.9,0.4 (B between 0 and 1)");
    io->set_bm25 = c->bm25 != NULL;
    if (c->quantize && strcmp(c->quantize, "int8") && strcmp(c->quantize, "f32"))
        return program_usage(p, "--quantize takes f32 or int8");
    io->int8 = c->quantize && !strcmp(c->quantize, "int8");
    if (io->analyzer) {
        lode_error err = {0};
        struct analyzer *a = analyzer_open(io->analyzer, &err);
        if (!a)
            return program_usage(p, "--analyzer: %s", err.msg);
        analyzer_free(a);
    }
    if (c->shard && hash_parse_shard(c->shard, &io->shard_k, &io->shard_n) < 0)
        return program_usage(p, "--shard takes K/N with 0 <= K < N <= 4096, such as 0/3");
    return 0;
}

/* The summary line's counts and the metrics of an indexing run. */
static void summary(struct program *p, const struct cfg *c, const struct index_stats *st,
                    uint64_t elsewhere)
{
    struct report *r = &p->rep;
    if (c->del)
        buf_addf(&r->summary_extra, "; %llu sources deleted (%llu chunks)",
                 (unsigned long long)st->deleted_sources, (unsigned long long)st->deleted_chunks);
    else
        buf_addf(&r->summary_extra,
                 "; %llu chunks added, %llu unchanged, %llu sources replaced; %llu vectors in %s",
                 (unsigned long long)st->added, (unsigned long long)st->unchanged,
                 (unsigned long long)st->replaced_sources, (unsigned long long)st->vectors, c->dir);
    if (c->io.shard_n)
        buf_addf(&r->summary_extra, "; %llu records of other shards left out",
                 (unsigned long long)elsewhere);
    /* a mixed store: dense search cannot find the chunks without vectors */
    uint64_t plain = st->chunks > st->vectors ? st->chunks - st->vectors : 0;
    if (!c->del && st->added && st->vectors && plain)
        warning("%s holds %llu chunks without vectors among %llu with them: dense and hybrid "
                "search cannot find those (embed them with lode-embed, or keep them in a store "
                "of their own)",
                c->dir, (unsigned long long)plain, (unsigned long long)st->vectors);
    report_metric(r, "index_other_shard_records_total", "counter",
                  "Records left out because their source belongs to another shard.",
                  (double)elsewhere);
    report_metric(r, "index_chunks_added_total", "counter", "Chunks written.", (double)st->added);
    report_metric(r, "index_chunks_unchanged_total", "counter",
                  "Chunks of unchanged sources skipped.", (double)st->unchanged);
    report_metric(r, "index_sources_replaced_total", "counter",
                  "Sources whose earlier chunks were replaced.", (double)st->replaced_sources);
    report_metric(r, "index_sources_deleted_total", "counter", "Sources deleted.",
                  (double)st->deleted_sources);
    report_metric(r, "index_vectors", "gauge", "Live vectors in the store.", (double)st->vectors);
}

/* The records of standard input into the store (or, with --delete, the
 * sources they name out of it). */
static int index_records(struct program *p, struct cfg *c)
{
    struct index_opts *io = &c->io;
    char *mpath = c->model ? model_path(c->model, c->dir) : NULL;
    io->model_path = mpath;
    io->threads = c->threads;
    struct run run = {.p = p, .echoing = c->echo};
    io->committed = committed;
    io->ud = &run;
    program_open(p, "index", "records", 1, c->del);
    struct store s;
    lode_error err;
    if (store_open_sized(c->dir, STORE_WRITE, c->nowait, c->map_size, &s, &err) < 0)
        die("%s", err.msg);
    if (c->del && !c->shard && index_store_shard(&s, &io->shard_k, &io->shard_n, &err) < 0)
        die("%s", err.msg); /* deleting from a shard needs no --shard */
    struct indexer *ix = indexer_open(&s, io, &err);
    if (!ix)
        die("%s", err.msg);
    uint64_t elsewhere = 0;
    json_t *rec;
    for (;;) {
        /* a stream: what came commits when the input pauses past its time */
        if (c->commit_every > 0 && indexer_pending(ix)) {
            double left = run.pending_since + c->commit_every - now_seconds();
            if ((left <= 0 || !program_wait(p, left)) && indexer_commit(ix, &err) < 0)
                die("%s", err.msg);
        }
        if (!(rec = program_next(p)))
            break;
        const char *src = source_of(rec), *id = record_str(rec, "id");
        char *where = xstrdup(src ? src : p->in.where), *rid = id ? xstrdup(id) : NULL;
        int rc = 0,
            other = io->shard_n && src &&
            hash_shard(src, (unsigned)io->shard_n) != (unsigned)io->shard_k;
        if (other) {
            elsewhere++; /* another shard's: not an error */
            json_decref(rec);
        } else if (c->del) {
            rc = src ? indexer_delete(ix, src, &err)
                     : lode_fail(&err, LODE_EINVAL,
                                 "the record names no source (source, id, or a plain line)");
            json_decref(rec);
        } else {
            rc = indexer_add(ix, rec, &err); /* takes rec */
        }
        if (rc < 0 && rc != LODE_EINVAL)
            die("%s", err.msg); /* the store's: the last commit stands */
        if (rc < 0) {
            report_fail(&p->rep, where, rid, "%s", err.msg);
        } else {
            p->rep.ok++;
            if (!other)
                echo_line(&run, p->in.line, p->in.len);
        }
        free(where);
        free(rid);
        if (indexer_pending(ix) && !run.pending_since)
            run.pending_since = now_seconds();
    }
    struct index_stats st;
    if (indexer_close(ix, &st, &err) < 0)
        die("%s", err.msg);
    store_close(&s);
    committed(&run);
    buf_free(&run.echo);
    free(mpath);
    summary(p, c, &st, elsewhere);
    return program_close(p);
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    struct cfg c = {
        .dir = getenv("LODE_STORE"),
        .threads = cpu_count(),
        .keep = INT_MIN, /* not given */
        .io = {.k1 = BM25_K1, .b = BM25_B, .batch = 1000, .M = INT_MIN, .efc = INT_MIN}};
    int rc = options(&p, &c, argc, argv);
    if (rc)
        return rc;
    if (c.stats)
        return stats(c.dir);
    if (c.check)
        return check(c.dir);
    if (c.dump)
        return dump(c.dir);
    if (c.salvage)
        return salvage(c.dir, c.salvage, c.threads);
    if (c.dump_graph)
        return dump_graph(c.dir, c.dump_graph);
    if (c.compact)
        return compact(c.dir, c.threads, c.nowait);
    if (c.snapshot || c.restore || c.list || c.keep != INT_MIN)
        return snapshots(&c);
    if (c.skip)
        return skip_unchanged(&p, c.dir);
    return index_records(&p, &c);
}
