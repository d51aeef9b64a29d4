/* lode-extract: documents into page records (lode-extract(1)). */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "docs/extract.h"
#include "base/hash.h"
#include "base/lines.h"
#include "base/forkpool.h"
#include "base/program.h"
#include "docs/source.h"
#include "base/walk.h"

/* A PDF whose pages are shared among several jobs, or resumed after a
 * crash: counted as one document when its last part finishes. */
struct docpart {
    int refs;
    int parts_left;
    int failed;
    int pages;
    double deadline;
    char hash[HASH_HEX_LEN + 1];
};

struct job {
    char *path;
    json_t *base; /* the input record's other fields */
    char *error;  /* an input that failed before extraction */
    struct docpart *part;
    int first, last; /* page range of a part */
    int last_page;   /* last page delivered */
};

struct run {
    struct extract_opts xo;
    struct program *p;
    double timeout;
    struct forkpool *pool;
};

/* ---- in the worker ---- */

struct child_sink {
    struct extract_sink sink;
    struct buf out;
    int fd;
    int fault_page; /* LODE_FAULT_PAGE=N[:hang]: crash (or hang) before */
    int fault_hang; /* writing page N, to test recovery */
};

static void child_flush(struct child_sink *cs, size_t at_least)
{
    if (cs->out.len >= at_least && cs->out.len) {
        if (write_all(cs->fd, cs->out.data, cs->out.len) < 0)
            _exit(4); /* the parent is gone */
        buf_reset(&cs->out);
    }
}

static void child_line(struct child_sink *cs, char tag, int page, json_t *rec)
{
    buf_addf(&cs->out, "%c %d ", tag, page);
    record_dump(&cs->out, rec);
    json_decref(rec);
    child_flush(cs, 1u << 16);
}

static void sink_record(struct extract_sink *s, int page, json_t *rec)
{
    struct child_sink *cs = (struct child_sink *)s;
    if (page == cs->fault_page) {
        child_flush(cs, 0);
        if (cs->fault_hang)
            for (;;)
                pause();
        signal(SIGSEGV, SIG_DFL); /* a plain crash, not a sanitizer report */
        raise(SIGSEGV);
    }
    child_line(cs, 'R', page, rec);
}

static void sink_error(struct extract_sink *s, int page, json_t *err)
{
    child_line((struct child_sink *)s, 'E', page, err);
}

static void sink_split(struct extract_sink *s, int pages, int block, const char *doc)
{
    struct child_sink *cs = (struct child_sink *)s;
    buf_addf(&cs->out, "P %d %d %s\n", pages, block, doc);
    child_flush(cs, 0); /* the parent schedules the other parts at once */
}

static void sink_done(struct extract_sink *s, const char *source, int ok)
{
    (void)source;
    struct child_sink *cs = (struct child_sink *)s;
    buf_addf(&cs->out, "D %d\n", ok);
}

static void run_job(void *jp, int fd, void *ud)
{
    struct job *job = jp;
    struct run *run = ud;
#ifdef LODE_TEST_HOOKS
    const char *fault = getenv("LODE_FAULT_PAGE"); /* build/hooks/ only: see HACKING.md */
#else
    const char *fault = NULL;
#endif
    struct child_sink cs = {{sink_record, sink_error, sink_split, sink_done, job->base},
                            {0},
                            fd,
                            fault ? atoi(fault) : 0,
                            fault && strstr(fault, ":hang")};
    struct blob data;
    lode_error err = {0};
    if (source_load(job->path, &run->xo.limits, &data, &err) < 0) {
        json_t *e = json_object();
        record_set_str(e, "stage", "extract");
        record_set_name(e, "source", job->path);
        record_set_str(e, "error", err.msg);
        sink_error(&cs.sink, 0, e);
        sink_done(&cs.sink, job->path, 0);
    } else {
        /* A later part of a split PDF knows its hash already; a first job
         * that announces no split still reports its page count (P) so a
         * crash can be resumed after the page that caused it. */
        extract_document(&run->xo, &cs.sink, job->path, &data, job->part ? job->part->hash : NULL,
                         job->first, job->last);
        blob_free(&data);
    }
    child_flush(&cs, 0);
    buf_free(&cs.out);
}

/* ---- in the parent ---- */

static struct job *job_new(const char *path, json_t *base)
{
    struct job *j = xcalloc(1, sizeof *j);
    j->path = xstrdup(path);
    j->base = base;
    return j;
}

static void job_free(struct job *j)
{
    if (j->part && --j->part->refs == 0)
        free(j->part);
    json_decref(j->base);
    free(j->path);
    free(j->error);
    free(j);
}

static struct job *part_job(struct job *of, int first, int last)
{
    struct job *j = job_new(of->path, json_incref(of->base));
    j->part = of->part;
    j->part->refs++;
    j->part->parts_left++;
    j->first = first;
    j->last = last;
    return j;
}

static void arrived(struct forkpool *p, struct forkpool_item *it, void *jp, const char *line,
                    size_t len, void *ud)
{
    struct job *job = jp;
    struct run *run = ud;
    (void)len;
    if (line[0] != 'P')
        return;
    int pages = 0, block = 0;
    char hash[HASH_HEX_LEN + 1];
    if (sscanf(line, "P %d %d %16s", &pages, &block, hash) != 3 || block < 1)
        return;
    struct docpart *dp = xcalloc(1, sizeof *dp);
    dp->refs = 1;
    dp->parts_left = 1;
    dp->pages = pages;
    dp->deadline = run->timeout > 0 ? now_seconds() + run->timeout : 0;
    memcpy(dp->hash, hash, sizeof dp->hash);
    job->part = dp;
    job->first = 1;
    job->last = block;
    /* insert the parts in order: each right after the first job, last first;
     * the last part takes the pages short of a whole block (the reader's
     * statistics windows are whole blocks' pages: lode-extract(1)) */
    int parts = pages / block;
    for (int k = parts - 1; k >= 1; k--) {
        int first = k * block + 1, last = k == parts - 1 ? pages : first + block - 1;
        forkpool_insert_after(p, it, part_job(job, first, last));
    }
}

static void deliver(void *jp, const char *line, size_t len, void *ud)
{
    struct job *job = jp;
    struct run *run = ud;
    if (len < 2)
        return;
    const char *sp = memchr(line + 2, ' ', len - 2);
    switch (line[0]) {
    case 'R':
        if (!sp)
            return;
        job->last_page = atoi(line + 2);
        output_line(&run->p->out, sp + 1, (size_t)(line + len - sp - 1) + 1);
        break;
    case 'E': {
        if (!sp)
            return;
        lode_error err;
        json_t *e = record_parse(sp + 1, (size_t)(line + len - sp - 1), &err);
        if (!e)
            return;
        report_fail_record(&run->p->rep, e, 0);
        json_decref(e);
        if (job->part)
            job->part->failed = 1;
        break;
    }
    case 'D':
        if (job->part)
            break; /* a PDF in parts is counted when its last part ends */
        if (line[2] == '1')
            run->p->rep.ok++;
        else
            run->p->rep.failed++;
        break;
    }
}

static void end_message(char *msg, size_t n, const struct forkpool_end *end, double timeout)
{
    if (end->timed_out)
        snprintf(msg, n, "timed out after %g s (--timeout)", timeout);
    else if (end->signal)
        snprintf(msg, n, "the reader crashed (signal %d, %s)", end->signal, strsignal(end->signal));
    else if (end->code == 3)
        snprintf(msg, n, "the reader ran out of memory");
    else
        snprintf(msg, n, "the reader failed (exit status %d)", end->code);
}

static void finish(struct forkpool *p, struct forkpool_item *it, void *jp,
                   const struct forkpool_end *end, void *ud)
{
    struct job *job = jp;
    struct run *run = ud;
    if (end->start_errno) {
        report_fail(&run->p->rep, job->path, NULL, "cannot start a worker: %s",
                    strerror(end->start_errno));
    } else if (!end->ran) {
        report_fail(&run->p->rep, job->path, NULL, "%s", job->error);
    } else if (end->timed_out || end->signal || end->code) {
        char msg[256];
        end_message(msg, sizeof msg, end, run->timeout);
        if (job->part) {
            /* a paged document: the page being read failed; the rest of the
             * range is tried again unless time is up */
            int page = job->last_page ? job->last_page + 1 : job->first;
            job->part->failed = 1;
            if (end->timed_out) {
                json_t *e = json_object();
                record_set_str(e, "stage", "extract");
                record_set_name(e, "source", job->path);
                record_set_str(e, "doc", job->part->hash);
                record_set_int(e, "page", page);
                char full[320];
                snprintf(full, sizeof full, "%s; pages %d-%d were not extracted", msg, page,
                         job->last);
                record_set_str(e, "error", full);
                report_fail_record(&run->p->rep, e, 0);
                json_decref(e);
            } else {
                json_t *e = json_object();
                record_set_str(e, "stage", "extract");
                record_set_name(e, "source", job->path);
                record_set_str(e, "doc", job->part->hash);
                record_set_int(e, "page", page);
                record_set_str(e, "error", msg);
                report_fail_record(&run->p->rep, e, 0);
                json_decref(e);
                if (page < job->last)
                    forkpool_insert_after(p, it, part_job(job, page + 1, job->last));
            }
        } else {
            report_fail(&run->p->rep, job->path, NULL, "%s", msg); /* counts it */
        }
    }
    if (job->part && --job->part->parts_left == 0) {
        if (job->part->failed)
            run->p->rep.failed++;
        else
            run->p->rep.ok++;
    }
    program_flush(run->p);
    report_progress(&run->p->rep);
    job_free(job);
}

static double deadline(void *jp, void *ud)
{
    struct job *job = jp;
    struct run *run = ud;
    if (job->part && job->part->deadline > 0)
        return job->part->deadline;
    return run->timeout > 0 ? now_seconds() + run->timeout : 0;
}

static const struct forkpool_ops ops = {run_job, arrived, deliver, finish, deadline};

/* ---- inputs ---- */

struct inputs {
    struct run *run;
    char **paths;  /* expanded operands */
    char **errors; /* why an operand cannot be read, or NULL */
    size_t n, next;
    struct lines *lr;
};

static void on_path(void *ud, const char *path, const char *error)
{
    struct inputs *in = ud;
    in->paths = xreallocarray(in->paths, in->n + 1, sizeof *in->paths);
    in->errors = xreallocarray(in->errors, in->n + 1, sizeof *in->errors);
    in->paths[in->n] = xstrdup(path);
    in->errors[in->n] = error ? xstrdup(error) : NULL;
    in->n++;
}

static void add_input(struct run *run, const char *path, json_t *base, const char *error);

/* The next expanded operand into the pool; 0 when none is left. */
static int next_operand(void *ud)
{
    struct inputs *in = ud;
    if (in->next >= in->n)
        return 0;
    add_input(in->run, in->paths[in->next], NULL, in->errors[in->next]);
    free(in->paths[in->next]);
    free(in->errors[in->next]);
    in->next++;
    return 1;
}

static void add_input(struct run *run, const char *path, json_t *base, const char *error)
{
    struct job *j = job_new(path, base);
    if (error) {
        j->error = xstrdup(error);
        forkpool_add(run->pool, j, 0);
    } else {
        forkpool_add(run->pool, j, 1);
    }
}

/* One line of standard input: {"path":...} (other fields pass through) or a
 * plain path; a line starting with '{' or '[' is JSON. A directory is
 * expanded. */
static void stdin_line(void *ud, char *line, size_t len, int rc)
{
    struct inputs *in = ud;
    struct run *run = in->run;
    char where[64];
    snprintf(where, sizeof where, "<stdin>:%llu", (unsigned long long)in->lr->lineno);
    run->p->rep.records_in++;
    if (rc == LINE_TOO_LONG) {
        char msg[128];
        snprintf(msg, sizeof msg, "line of %zu bytes is longer than --max-line", len);
        add_input(run, where, NULL, msg);
        return;
    }
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len)
        return; /* blank line */
    json_t *base = NULL;
    const char *path = line + i;
    if (line[i] == '{' || line[i] == '[') {
        lode_error err;
        base = record_parse(line, len, &err);
        if (!base) {
            add_input(run, where, NULL, err.msg);
            return;
        }
        path = record_str(base, "path");
        if (!path || !*path) {
            add_input(run, where, NULL, "the record has no \"path\" string");
            json_decref(base);
            return;
        }
    }
    char *p = xstrdup(path);
    json_t *rest = NULL;
    if (base) {
        rest = json_deep_copy(base);
        json_object_del(rest, "path");
        json_decref(base);
    }
    size_t before = in->n;
    walk_path(p, run->xo.hidden, on_path, in);
    for (size_t k = before; k < in->n; k++) {
        add_input(run, in->paths[k], rest ? json_incref(rest) : NULL, in->errors[k]);
        free(in->paths[k]);
        free(in->errors[k]);
    }
    in->n = before;
    json_decref(rest);
    free(p);
}

/* --list: the files the operands name, as records for lode-extract's
 * standard input (to split a collection across machines). */
static int list_paths(struct program *p, char **paths, int n, int hidden, int shard_k, int shard_n)
{
    if (n == 0)
        return program_usage(p, "--list needs the PATHs to list");
    struct inputs in = {0};
    for (int i = 0; i < n; i++)
        walk_path(paths[i], hidden, on_path, &in);
    struct output out;
    output_init(&out, 1);
    for (size_t i = 0; i < in.n; i++) {
        if (shard_n && hash_shard(in.paths[i], (unsigned)shard_n) != (unsigned)shard_k) {
            free(in.paths[i]);
            free(in.errors[i]);
            continue;
        }
        json_t *rec = json_object();
        record_set_str(rec, "path", in.paths[i]); /* invalid UTF-8 mended as everywhere */
        output_record(&out, rec);
        json_decref(rec);
        if (in.errors[i])
            error("%s: %s", in.paths[i], in.errors[i]);
        free(in.paths[i]);
        free(in.errors[i]);
    }
    free(in.paths);
    free(in.errors);
    if (output_close(&out) < 0)
        die("cannot write output: %s", strerror(out.error));
    return LODE_EXIT_OK;
}

static int parse_tags(const struct opt_list *tags, json_t **out)
{
    if (!tags->n)
        return 0;
    *out = json_object();
    for (size_t i = 0; i < tags->n; i++) {
        const char *eq = strchr(tags->items[i], '=');
        if (!eq || eq == tags->items[i]) {
            json_decref(*out);
            *out = NULL;
            return -1;
        }
        char *key = xstrndup(tags->items[i], (size_t)(eq - tags->items[i]));
        record_set_str(*out, key, eq + 1);
        free(key);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    struct run run = {.p = &p};
    unpack_limits_default(&run.xo.limits);
    int jobs = cpu_count(), verbose = 0, max_depth = run.xo.limits.max_depth, list = 0;
    int shard_k = 0, shard_n = 0;
    const char *shard = NULL;
    double timeout = 60;
    struct opt_list tags = {0};
    const struct opt table[] = {
        {'j', "jobs", OPT_INT, &jobs, "N", "documents extracted in parallel (default: cores)", 0},
        {0, "hidden", OPT_FLAG, &run.xo.hidden, NULL,
         "also read files and archive members whose names start with '.'", 1},
        {0, "tag", OPT_LIST, &tags, "K=V", "add K: V to every record's meta (repeatable)", 0},
        {0, "keep-furniture", OPT_FLAG, &run.xo.keep_furniture, NULL,
         "PDF: keep running heads, footers and page numbers in the text (default: to meta)", 1},
        {0, "timeout", OPT_DOUBLE, &timeout, "SEC",
         "give up on a document after SEC seconds (default 60, 0: never)", 0},
        {0, "max-expand", OPT_SIZE, &run.xo.limits.max_total, "SIZE",
         "most bytes an archive may expand to (default 1G)", 0},
        {0, "max-ratio", OPT_DOUBLE, &run.xo.limits.max_ratio, "N",
         "most an archive may expand per byte, past 64M (default 200)", 0},
        {0, "max-depth", OPT_INT, &max_depth, "N", "archives inside archives (default 4)", 0},
        {'v', "verbose", OPT_FLAG, &verbose, NULL, "let the parsers' own warnings through", 1},
        {0, "list", OPT_FLAG, &list, NULL,
         "read nothing: write a {\"path\":...} record for each file the PATHs name, in order", 1},
        {0, "shard", OPT_STRING, &shard, "K/N",
         "with --list: only the files of shard K of N, as lode-index --shard splits sources", 0},
        OPTS_COMMON(&p.common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-extract",
        "[OPTION]... [PATH]...",
        "Extract the text of documents (PDF, DOCX, PPTX, XLSX, ODT, ODP, ODS, EPUB, HTML,\n"
        "Markdown, text, CSV, images, and archives of them) as NDJSON page records.\n"
        "PATHs may be files, directories (read recursively) or archive members\n"
        "(a.zip!/b.pdf); with none, or with -, paths or {\"path\":...} records are\n"
        "read from standard input.",
        table,
        "Exit status: 0 all documents read, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal. See lode-extract(1) and lode-records(7).\n",
    };
    int first = opts_parse(&prog, argc, argv), rc = -1;
    if (jobs < 1 || timeout < 0 || max_depth < 0 || run.xo.limits.max_ratio <= 0)
        rc = program_usage(&p, "-j, --timeout, --max-ratio and --max-depth must be positive");
    else if (parse_tags(&tags, &run.xo.tags) < 0)
        rc = program_usage(&p, "--tag wants KEY=VALUE");
    else if (shard && (!list || hash_parse_shard(shard, &shard_k, &shard_n) < 0))
        rc = program_usage(&p, "--shard takes K/N (0 <= K < N) and goes with --list");
    else if (list)
        rc = list_paths(&p, argv + first, argc - first, run.xo.hidden, shard_k, shard_n);
    if (rc >= 0) {
        free(tags.items);
        json_decref(run.xo.tags);
        return rc;
    }
    run.xo.limits.max_depth = max_depth;
    run.xo.jobs = jobs;
    run.timeout = timeout;
    signal(SIGPIPE, SIG_DFL);
    program_open(&p, "extract", "documents", 0, 0);
    /* documents are read as the pool has room: its loop is the record loop */
    run.pool = forkpool_new(jobs, &ops, &run, !verbose);
    struct inputs in = {&run, NULL, NULL, 0, 0, NULL};
    int use_stdin = first == argc;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "-"))
            use_stdin = 1;
        else
            walk_path(argv[i], run.xo.hidden, on_path, &in);
    }
    p.rep.total = in.n;
    struct lines lr;
    lines_init(&lr, 0, p.common.max_line);
    in.lr = &lr;
    forkpool_drive(run.pool, (size_t)jobs * 4 + 8, next_operand, use_stdin ? &lr : NULL, stdin_line,
                   &in);
    forkpool_free(run.pool);
    lines_free(&lr);
    free(in.paths);
    free(in.errors);
    buf_addf(&p.rep.summary_extra, "; %llu records", (unsigned long long)p.out.records);
    json_decref(run.xo.tags);
    free(tags.items);
    return program_close(&p);
}
