/* lode-ocr: text for scanned pages and images (lode-ocr(1)). */
#include <errno.h>
#include <jansson.h>
#include <leptonica/allheaders.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "docs/charset.h"
#include "base/forkpool.h"
#include "base/lines.h"
#include "base/program.h"
#include "docs/ocr.h"
#include "docs/textquality.h"
#include "docs/raster.h"
#include "docs/source.h"

enum reason { PASS, NEEDED, FORCED, BAD_TEXT };

struct job {
    json_t *rec;
    char *error; /* input that failed before OCR */
    char where[48];
    enum reason reason;
    double quality; /* of the text layer, for BAD_TEXT */
};

struct run {
    const char *lang, *tessdata;
    int dpi, force, redo_bad, verbose;
    double min_conf, min_quality, timeout;
    uint64_t max_pixels;
    struct ocr_options oo;
    struct ocr_engine *engine; /* made before the first worker forks */
    struct unpack_limits limits;
    struct program *p;
    struct forkpool *pool;
    struct lines *lr;
    unsigned long long recognised, passed;
};

/* ---- in the worker ---- */

static void emit(int fd, char tag, json_t *rec)
{
    struct buf b = {0};
    buf_addc(&b, tag);
    buf_addc(&b, ' ');
    record_dump(&b, rec);
    if (write_all(fd, b.data, b.len) < 0)
        _exit(4);
    buf_free(&b);
}

static void fail(int fd, const json_t *rec, const char *msg)
{
    json_t *e = json_object();
    record_set_str(e, "stage", "ocr");
    const char *v;
    if ((v = record_str(rec, "source")))
        record_set_str(e, "source", v);
    if ((v = record_str(rec, "id")))
        record_set_str(e, "id", v);
    if (json_is_integer(json_object_get(rec, "page")))
        record_set_int(e, "page", record_int(rec, "page", 0));
    record_set_str(e, "error", msg);
    emit(fd, 'E', e);
    json_decref(e);
}

static void run_job(void *jp, int fd, void *ud)
{
    struct job *job = jp;
    struct run *run = ud;
    raster_quiet();
    char *source = record_name(job->rec, "source"); /* the file's own bytes */
    const char *type = record_str(job->rec, "type");
    int page = (int)record_int(job->rec, "page", 1);
    struct blob data;
    lode_error err = {0};
    int loaded = source_load(source, &run->limits, &data, &err);
    free(source);
    if (loaded < 0) {
        fail(fd, job->rec, err.msg);
        return;
    }
    int dpi = 0;
    PIX *pix = raster_page(&data, type, page, run->dpi, run->max_pixels, &dpi, &err);
    if (!pix) {
        blob_free(&data);
        fail(fd, job->rec, err.msg);
        return;
    }
    struct ocr_result res;
    if (ocr_recognize(run->engine, pix, dpi, &run->oo, &res, &err) < 0) {
        pixDestroy(&pix);
        blob_free(&data);
        fail(fd, job->rec, err.msg);
        return;
    }
    json_t *out = json_deep_copy(job->rec);
    struct buf text = {0};
    charset_clean_text(&text, res.text, strlen(res.text));
    buf_rtrim(&text);
    record_set_text(out, "text", text.data ? text.data : "", text.len);
    record_set_str(out, "ocr", "done");
    json_object_set_new(out, "ocr_conf", json_real(round(res.conf * 10) / 10));
    record_set_int(out, "ocr_rotate", res.rotate);
    json_t *meta = record_object(out, "meta");
    record_set_str(meta, "ocr_lang", run->lang);
    if (!strcmp(type, "pdf"))
        record_set_int(meta, "ocr_dpi", run->dpi);
    if (res.skew != 0)
        json_object_set_new(meta, "ocr_deskew", json_real(round(res.skew * 100) / 100));
    if (res.rotate || res.rotate_refused)
        json_object_set_new(meta, "ocr_rotate_conf", json_real(round(res.rotate_conf * 100) / 100));
    if (res.rotate_refused)
        record_set_int(meta, "ocr_rotate_refused", res.rotate_refused);
    if (res.conf < run->min_conf)
        json_object_set_new(meta, "ocr_low_conf", json_true());
    if (job->reason == BAD_TEXT)
        json_object_set_new(meta, "text_quality", json_real(round(job->quality * 1000) / 1000));
    if (job->reason != NEEDED)
        record_set_str(meta, "ocr_replaced",
                       job->reason == BAD_TEXT ? "bad text layer" : "--force");
    emit(fd, 'R', out);
    json_decref(out);
    buf_free(&text);
    free(res.text);
    pixDestroy(&pix);
    blob_free(&data);
}

/* ---- in the parent ---- */

static void deliver(void *jp, const char *line, size_t len, void *ud)
{
    struct run *run = ud;
    (void)jp;
    if (len < 2)
        return;
    if (line[0] == 'R') {
        output_line(&run->p->out, line + 2, len - 2 + 1); /* the '\n' follows */
        run->p->rep.ok++;
        run->recognised++;
    } else if (line[0] == 'E') {
        lode_error err;
        json_t *e = record_parse(line + 2, len - 2, &err);
        if (e) {
            report_fail_record(&run->p->rep, e, 1);
            json_decref(e);
        }
    }
}

static void job_free(struct job *job)
{
    json_decref(job->rec);
    free(job->error);
    free(job);
}

static void finish(struct forkpool *p, struct forkpool_item *it, void *jp,
                   const struct forkpool_end *end, void *ud)
{
    struct job *job = jp;
    struct run *run = ud;
    (void)p;
    (void)it;
    const char *source = job->rec ? record_str(job->rec, "source") : NULL;
    const char *id = job->rec ? record_str(job->rec, "id") : NULL;
    if (job->error) {
        report_fail(&run->p->rep, source ? source : job->where, id, "%s", job->error);
    } else if (end->start_errno) {
        report_fail(&run->p->rep, source ? source : job->where, id, "cannot start a worker: %s",
                    strerror(end->start_errno));
    } else if (!end->ran) {
        output_record(&run->p->out, job->rec);
        run->p->rep.ok++;
        run->passed++;
    } else if (end->timed_out) {
        report_fail(&run->p->rep, source, id, "OCR timed out after %g s (--timeout)", run->timeout);
    } else if (end->signal) {
        report_fail(&run->p->rep, source, id, "OCR crashed (signal %d, %s)", end->signal,
                    strsignal(end->signal));
    } else if (end->code) {
        report_fail(&run->p->rep, source, id, "OCR failed (exit status %d%s)", end->code,
                    end->code == 3 ? ": out of memory" : "");
    }
    program_flush(run->p);
    report_progress(&run->p->rep);
    job_free(job);
}

static double deadline(void *jp, void *ud)
{
    struct run *run = ud;
    (void)jp;
    return run->timeout > 0 ? now_seconds() + run->timeout : 0;
}

static const struct forkpool_ops ops = {run_job, NULL, deliver, finish, deadline};

static int blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r')
            return 0;
    return 1;
}

/* Decides what a record needs; 0 with job->error set when it cannot be OCRed. */
static void classify(struct run *run, struct job *job)
{
    const char *type = record_str(job->rec, "type");
    const char *ocr = record_str(job->rec, "ocr");
    const char *text = record_str(job->rec, "text");
    int pageable = type && (!strcmp(type, "pdf") || !strcmp(type, "image"));
    if (ocr && !strcmp(ocr, "needed"))
        job->reason = NEEDED;
    else if (run->force && pageable)
        job->reason = FORCED;
    else if (run->redo_bad && type && !strcmp(type, "pdf") && text && !blank(text)) {
        job->quality = text_quality(text, record_strlen(job->rec, "text"));
        if (job->quality >= 0 && job->quality < run->min_quality)
            job->reason = BAD_TEXT;
    }
    if (job->reason == PASS)
        return;
    if (!pageable)
        job->error = xasprintf("cannot OCR a record of type %s (only PDF pages and images)",
                               type ? type : "(none)");
    else if (!record_str(job->rec, "source"))
        job->error = xstrdup("the record has no \"source\" to read the page from");
    else if (!json_is_integer(json_object_get(job->rec, "page")) ||
             record_int(job->rec, "page", 0) < 1)
        job->error = xstrdup("the record has no page number");
}

static void on_line(void *ud, char *line, size_t len, int rc)
{
    struct run *run = ud;
    struct job *job = xcalloc(1, sizeof *job);
    snprintf(job->where, sizeof job->where, "<stdin>:%llu", (unsigned long long)run->lr->lineno);
    if (rc == LINE_TOO_LONG) {
        job->error = xasprintf("line of %zu bytes is longer than --max-line", len);
    } else if (strspn(line, " \t") == len) {
        free(job);
        return;
    } else {
        lode_error err;
        job->rec = record_parse(line, len, &err);
        if (!job->rec)
            job->error = xstrdup(err.msg);
        else
            classify(run, job);
    }
    run->p->rep.records_in++;
    int needs_worker = !job->error && job->reason != PASS;
    if (needs_worker && !run->engine) {
        lode_error err;
        run->engine = ocr_engine_new(run->lang, run->tessdata, &err);
        if (!run->engine)
            die("%s", err.msg); /* exit 3: no page could be read */
    }
    forkpool_add(run->pool, job, needs_worker);
}

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    ocr_single_thread(argv);
    struct run run = {.lang = "eng",
                      .dpi = 300,
                      .min_conf = 50,
                      .min_quality = 0.5,
                      .timeout = 300,
                      .max_pixels = 100000000,
                      .p = &p};
    unpack_limits_default(&run.limits);
    run.oo.psm = OCR_PSM_DEFAULT;
    run.oo.rotate_min_conf = OCR_ROTATE_MIN_CONF_DEFAULT;
    int jobs = cpu_count(), no_rotate = 0, no_deskew = 0;
    const struct opt table[] = {
        {'j', "jobs", OPT_INT, &jobs, "N", "pages recognised in parallel (default: cores)", 0},
        {'l', "lang", OPT_STRING, &run.lang, "LANGS",
         "Tesseract languages, e.g. eng+deu (default eng)", 0},
        {0, "force", OPT_FLAG, &run.force, NULL,
         "OCR every PDF page and image, replacing any text layer", 1},
        {0, "redo-bad-text", OPT_FLAG, &run.redo_bad, NULL,
         "OCR PDF pages whose text layer scores below --min-quality", 1},
        {0, "min-quality", OPT_DOUBLE, &run.min_quality, "Q",
         "text-layer quality (0-1) below which --redo-bad-text applies (default 0.5)", 0},
        {0, "dpi", OPT_INT, &run.dpi, "N", "resolution PDF pages are rendered at (default 300)", 0},
        {0, "min-conf", OPT_DOUBLE, &run.min_conf, "N",
         "flag pages whose mean word confidence is below N (default 50)", 0},
        {0, "max-pixels", OPT_SIZE, &run.max_pixels, "N",
         "largest page image, in pixels (default 100M); bigger ones fail", 0},
        {0, "no-rotate", OPT_FLAG, &no_rotate, NULL, "do not detect pages turned by 90/180/270", 1},
        {0, "rotate-threshold", OPT_DOUBLE, &run.oo.rotate_min_conf, "C",
         "turn a page only at orientation confidence C or more, and when it then reads better "
         "(default 2)",
         0},
        {0, "psm", OPT_INT, &run.oo.psm, "N",
         "Tesseract's page layout mode, as tesseract --psm (default 3: automatic; not 0 or 2)", 0},
        {0, "no-deskew", OPT_FLAG, &no_deskew, NULL, "do not straighten slightly skewed pages", 1},
        {0, "tessdata", OPT_STRING, &run.tessdata, "DIR", "Tesseract's language data directory", 0},
        {0, "timeout", OPT_DOUBLE, &run.timeout, "SEC",
         "give up on a page after SEC seconds (default 300, 0: never)", 0},
        {'v', "verbose", OPT_FLAG, &run.verbose, NULL,
         "let Tesseract's and Leptonica's messages through", 1},
        OPTS_COMMON(&p.common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-ocr",
        "[OPTION]...",
        "Fill in the text of page records (from lode-extract) marked \"ocr\":\"needed\" by\n"
        "recognising the page image with Tesseract: PDF pages are rendered, images decoded,\n"
        "turned pages detected and rotated. Other records pass through unchanged, and the\n"
        "output keeps the input order.",
        table,
        "Exit status: 0 all records handled, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal (no language data). See lode-ocr(1) and lode-records(7).\n",
    };
    opts_parse_filter(&prog, argc, argv, "records");
    if (jobs < 1 || run.dpi < 30 || run.dpi > 2400 || run.timeout < 0 || run.max_pixels < 1)
        return program_usage(&p, "-j must be positive, --dpi between 30 and 2400");
    if (!ocr_psm_valid(run.oo.psm))
        return program_usage(&p, "--psm must be 1 or 3 to 13 (0 and 2 recognise no text)");
    if (!(run.oo.rotate_min_conf >= 0))
        return program_usage(&p, "--rotate-threshold must be 0 or more");
    if (!(run.min_quality >= 0 && run.min_quality <= 1) ||
        !(run.min_conf >= 0 && run.min_conf <= 100))
        return program_usage(&p, "--min-quality takes 0 to 1, --min-conf 0 to 100");
    run.oo.orientation = !no_rotate;
    run.oo.deskew = !no_deskew;
    signal(SIGPIPE, SIG_DFL);
    raster_quiet();
    program_open(&p, "ocr", "records", 0, 0);
    /* records are read as the pool has room: its loop is the record loop */
    run.pool = forkpool_new(jobs, &ops, &run, !run.verbose);
    struct lines lr;
    lines_init(&lr, 0, p.common.max_line);
    run.lr = &lr;
    forkpool_drive(run.pool, (size_t)jobs * 4 + 8, NULL, &lr, on_line, &run);
    forkpool_free(run.pool);
    p.rep.bytes_in = lr.bytes;
    lines_free(&lr);
    ocr_engine_free(run.engine);
    buf_addf(&p.rep.summary_extra, "; %llu pages recognised, %llu passed through", run.recognised,
             run.passed);
    report_metric(&p.rep, "ocr_pages_total", "counter", "Pages recognised.",
                  (double)run.recognised);
    return program_close(&p);
}
