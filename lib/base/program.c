/* program.c - the program skeleton of program.h: the record loop around a
 * filter's work, and the fatal ends of a program's own input and output. */
#include "base/program.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void program_init(struct program *p, const char *argv0)
{
    memset(p, 0, sizeof *p);
    util_set_progname(argv0);
    p->name = util_progname();
    common_opts_init(&p->common);
}

int program_usage(const struct program *p, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", p->name, msg, p->name);
    return LODE_EXIT_USAGE;
}

/* the program's own streams failed: nothing more can be said to its user */
static void check_streams(struct program *p)
{
    if (p->out.error)
        die("cannot write output: %s", strerror(p->out.error));
    if (p->rep.errors_error)
        die("cannot write the error file: %s", strerror(p->rep.errors_error));
    if (p->has_input && p->in.error)
        die("cannot read standard input: %s", strerror(p->in.error));
}

void program_open(struct program *p, const char *stage, const char *unit, int input, int plain)
{
    if (report_open(&p->rep, stage, unit, &p->common) < 0)
        die("cannot open %s: %s", p->common.errors_path, strerror(p->rep.errors_error));
    output_init(&p->out, 1);
    if (input)
        input_init(&p->in, 0, &p->rep, p->common.max_line, plain);
    p->has_input = input;
    p->opened = 1;
}

void program_flush(struct program *p)
{
    output_flush(&p->out);
    check_streams(p);
}

json_t *program_next(struct program *p)
{
    program_flush(p);
    report_progress(&p->rep);
    json_t *rec = input_next(&p->in);
    check_streams(p);
    return rec;
}

int program_wait(struct program *p, double seconds)
{
    program_flush(p);
    return lines_wait(&p->in.lr, seconds);
}

int program_close(struct program *p)
{
    output_close(&p->out);
    check_streams(p);
    p->rep.records_out = p->out.records;
    p->rep.bytes_out = p->out.bytes;
    if (p->has_input) {
        p->rep.bytes_in += p->in.lr.bytes;
        input_free(&p->in);
    }
    return report_close(&p->rep);
}
