/* report.h - what a run tells its user: failed inputs, progress, the
 * closing summary, metrics, and the exit status (lode-records(7)).
 *
 * Caveats:
 *  - One report per program run, owned by main; not thread-safe.
 *  - Error records are appended to --errors FILE with one write() each, so
 *    several programs of a pipeline may share one file.
 */
#ifndef LODE_REPORT_H
#define LODE_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/opts.h"
#include "base/util.h"

struct report {
    const char *stage; /* "extract": the `stage` of error records */
    const char *unit;  /* what is counted: "documents", "records" */
    int errors_fd;     /* -1 without --errors */
    int errors_error;  /* errno when it could not be opened or written, 0 */
    const char *metrics_path;
    int progress;
    int quiet; /* the summary only when an input failed */
    double started, last_progress;
    uint64_t ok, failed; /* inputs that succeeded, failed */
    uint64_t total;      /* inputs expected, for the estimate; 0 unknown */
    uint64_t records_in, records_out, bytes_in, bytes_out;
    struct buf summary_extra; /* appended to the summary line */
    struct buf metrics_extra; /* program-specific metric lines */
};

/* Opens --errors: -1 (errors_error set) when it cannot. A later write that
 * fails sets errors_error too; the program skeleton makes either fatal. */
int report_open(struct report *r, const char *stage, const char *unit, const struct common_opts *c);

/* A failed input: counts it, appends an error record, says it on stderr.
 * source and id may be NULL. */
void report_fail(struct report *r, const char *source, const char *id, const char *fmt, ...)
    LODE_PRINTF(4, 5);
/* The same for an error record someone else built ({"error": ...} at least);
 * stage is filled in when missing. Counts one failure when count is set. */
void report_fail_record(struct report *r, json_t *err, int count);

/* Call after each unit of work; prints at most a few times a second. */
void report_progress(struct report *r);
/* The same line for other work: done of total (0: unknown) units, and
 * extra text (may be NULL). */
void report_progress_of(struct report *r, uint64_t done, uint64_t total, const char *unit,
                        const char *extra);

/* Adds a metric line: name{stage="..."} value, with its HELP and TYPE. */
void report_metric(struct report *r, const char *name, const char *type, const char *help,
                   double value);

/* Prints the summary, writes metrics, closes files; returns the exit status. */
int report_close(struct report *r);

#endif
