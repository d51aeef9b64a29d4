/* program.h - the skeleton every cmd/lode-*.c is written on: the common
 * options, the report, standard input as records, standard output,
 * progress, metrics, the closing summary and the exit status
 * (lode-records(7), "Conventions").
 *
 * A filter reads as a recipe:
 *
 *     struct program p;
 *     program_init(&p, argv[0]);
 *     ...its option table, with OPTS_COMMON(&p.common); opts_parse_filter()
 *     if (size < 1)
 *         return program_usage(&p, "--size must be at least 1");
 *     ...open its model or store; die() when it cannot (exit 3)
 *     program_open(&p, "chunk", "records", 0);
 *     json_t *rec;
 *     while ((rec = program_next(&p))) {
 *         ...output_record(&p.out, ...), p.rep.ok++ or report_fail(&p.rep, ...)
 *         json_decref(rec);
 *     }
 *     buf_addf(&p.rep.summary_extra, "; %llu chunks", n);
 *     return program_close(&p);
 *
 * Caveats:
 *  - This is main's own layer and, with opts.h (--help, usage errors) and
 *    the allocators (util.h), the only part of lib/ that ends a program:
 *    exit status 3 when standard input cannot be read, or standard output
 *    or the --errors file cannot be written (a full disk, a closed pipe).
 *    The modules below return codes.
 *  - Output is flushed after every record program_next() hands out, so a
 *    slow stream is passed on as it comes.
 */
#ifndef LODE_PROGRAM_H
#define LODE_PROGRAM_H

#include <jansson.h>

#include "base/input.h"
#include "base/opts.h"
#include "base/record.h"
#include "base/report.h"
#include "base/util.h"

struct program {
    const char *name;          /* "lode-chunk", from argv[0] */
    struct common_opts common; /* --errors, --metrics, --progress, --max-line */
    struct report rep;
    struct output out; /* standard output */
    struct input in;   /* standard input, once program_open()ed with input */
    int has_input, opened;
};

/* First thing in main: the program's name for messages, the common
 * options' defaults. */
void program_init(struct program *p, const char *argv0);

/* A usage error: "NAME: message" and where --help is on stderr; returns
 * LODE_EXIT_USAGE for main to return. */
int program_usage(const struct program *p, const char *fmt, ...) LODE_PRINTF(2, 3);

/* Opens the report (the stage of error records, the unit counted), standard
 * output, and, when input is set, standard input as records (with plain, a
 * line that is not JSON is the query {"q": line}). */
void program_open(struct program *p, const char *stage, const char *unit, int input, int plain);

/* The next input record (a new reference, the caller's), or NULL at the end;
 * before it, what the last one wrote is flushed and progress shown. */
json_t *program_next(struct program *p);

/* 1 when the next program_next() will not block (a record, the end or a
 * read error is there), 0 when seconds passed without one: for programs
 * that hold work back (a batch, a transaction) until their input pauses. */
int program_wait(struct program *p, double seconds);

/* Writes what is pending now; exits 3 when standard output fails. */
void program_flush(struct program *p);

/* The end of the run: output closed, the counts of input and output into the
 * report, the summary, metrics; returns the exit status. */
int program_close(struct program *p);

#endif
