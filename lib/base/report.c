/* report.c - what a run tells (report.h): error records to --errors (one
 * write each) and stderr, the progress line at most four times a second,
 * the summary, and the Prometheus metrics file written atomically. */
#include "base/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/record.h"

int report_open(struct report *r, const char *stage, const char *unit, const struct common_opts *c)
{
    memset(r, 0, sizeof *r);
    r->stage = stage;
    r->unit = unit;
    r->errors_fd = -1;
    r->metrics_path = c->metrics_path;
    /* by default only the last program of a pipeline draws (its standard
     * output is not a pipe), so stages never overwrite each other's line */
    struct stat out;
    int piped = fstat(1, &out) == 0 && S_ISFIFO(out.st_mode);
    r->progress = c->progress < 0 ? !c->quiet && !piped && isatty(2) : c->progress;
    r->quiet = c->quiet;
    r->started = r->last_progress = now_seconds();
    if (c->errors_path) {
        r->errors_fd = open(c->errors_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (r->errors_fd < 0) {
            r->errors_error = errno;
            return -1;
        }
    }
    return 0;
}

/* Before a line of our own on a terminal: our progress line, or the last
 * stage's that shares the terminal, is cleared first, not written after. */
static void clear_progress(struct report *r)
{
    if (r->progress || isatty(2))
        (void)write_all(2, "\r\033[K", 4);
}

void report_fail_record(struct report *r, json_t *err, int count)
{
    if (!json_object_get(err, "stage")) {
        /* stage goes first: build a new object in the contract's order */
        json_t *o = json_object();
        record_set_str(o, "stage", r->stage);
        json_object_update(o, err);
        json_object_clear(err);
        json_object_update(err, o);
        json_decref(o);
    }
    if (count)
        r->failed++;
    const char *source = record_str(err, "source");
    const char *id = record_str(err, "id");
    const char *msg = record_str(err, "error");
    clear_progress(r);
    if (source && json_is_integer(json_object_get(err, "page")))
        error("%s: page %lld: %s", source, record_int(err, "page", 0), msg ? msg : "failed");
    else if (source || id)
        error("%s: %s", source ? source : id, msg ? msg : "failed");
    else
        error("%s", msg ? msg : "failed");
    if (r->errors_fd >= 0 && !r->errors_error && record_write_fd(r->errors_fd, err) < 0)
        r->errors_error = errno;
}

void report_fail(struct report *r, const char *source, const char *id, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_object();
    record_set_str(err, "stage", r->stage);
    if (source)
        record_set_str(err, "source", source);
    if (id)
        record_set_str(err, "id", id);
    record_set_str(err, "error", msg);
    report_fail_record(r, err, 1);
    json_decref(err);
}

static void hms(char *out, size_t n, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

void report_progress(struct report *r)
{
    report_progress_of(r, r->ok + r->failed, r->total, r->unit, NULL);
}

void report_progress_of(struct report *r, uint64_t done, uint64_t total, const char *unit,
                        const char *extra)
{
    if (!r->progress)
        return;
    double now = now_seconds();
    if (now - r->last_progress < 0.25 && !(total && done == total))
        return;
    r->last_progress = now;
    double elapsed = now - r->started;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    char el[32], left[48] = "";
    hms(el, sizeof el, elapsed);
    if (total && rate > 0 && done <= total) {
        char eta[32];
        hms(eta, sizeof eta, (double)(total - done) / rate);
        snprintf(left, sizeof left, ", %s left", eta);
    }
    char line[384];
    if (total)
        snprintf(line, sizeof line, "\r\033[K%s: %llu/%llu %s, %.2f/s, %s elapsed%s%s%s",
                 util_progname(), (unsigned long long)done, (unsigned long long)total, unit, rate,
                 el, left, extra ? ", " : "", extra ? extra : "");
    else
        snprintf(line, sizeof line, "\r\033[K%s: %llu %s, %.1f/s, %s elapsed%s%s", util_progname(),
                 (unsigned long long)done, unit, rate, el, extra ? ", " : "", extra ? extra : "");
    (void)write_all(2, line, strlen(line));
}

void report_metric(struct report *r, const char *name, const char *type, const char *help,
                   double value)
{
    buf_addf(&r->metrics_extra,
             "# HELP lode_%s %s\n# TYPE lode_%s %s\nlode_%s{stage=\"%s\"} %.17g\n", name, help,
             name, type, name, r->stage, value);
}

static void write_metrics(struct report *r, double elapsed)
{
    struct buf m = {0};
    struct buf saved = r->metrics_extra;
    r->metrics_extra = m;
    report_metric(r, "inputs_ok_total", "counter", "Inputs processed successfully.", (double)r->ok);
    report_metric(r, "inputs_failed_total", "counter", "Inputs that failed.", (double)r->failed);
    report_metric(r, "records_in_total", "counter", "Records read.", (double)r->records_in);
    report_metric(r, "records_out_total", "counter", "Records written.", (double)r->records_out);
    report_metric(r, "bytes_in_total", "counter", "Bytes read.", (double)r->bytes_in);
    report_metric(r, "bytes_out_total", "counter", "Bytes written.", (double)r->bytes_out);
    report_metric(r, "run_seconds", "gauge", "Wall-clock seconds of the run.", elapsed);
    report_metric(r, "last_run_timestamp_seconds", "gauge", "Unix time the run ended.",
                  (double)time(NULL));
    buf_add(&r->metrics_extra, saved.data ? saved.data : "", saved.len);
    buf_free(&saved);

    char *tmp = xasprintf("%s.tmp.%ld", r->metrics_path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, r->metrics_extra.data, r->metrics_extra.len) < 0 || fsync(fd) < 0 ||
        close(fd) < 0 || rename(tmp, r->metrics_path) < 0) {
        error("cannot write metrics to %s: %s", r->metrics_path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}

int report_close(struct report *r)
{
    double elapsed = now_seconds() - r->started;
    if (!r->quiet || r->failed) {
        /* one write: another stage's progress cannot come between the
         * clearing and the line */
        struct buf line = {0};
        if (r->progress || isatty(2))
            buf_add(&line, "\r\033[K", 4);
        buf_addf(&line, "%s: %llu ok, %llu failed%s\n", util_progname(), (unsigned long long)r->ok,
                 (unsigned long long)r->failed, r->summary_extra.data ? r->summary_extra.data : "");
        (void)write_all(2, line.data, line.len);
        buf_free(&line);
    } else {
        clear_progress(r);
    }
    if (r->metrics_path)
        write_metrics(r, elapsed);
    if (r->errors_fd >= 0)
        close(r->errors_fd);
    buf_free(&r->summary_extra);
    buf_free(&r->metrics_extra);
    return r->failed ? LODE_EXIT_FAILED : LODE_EXIT_OK;
}
