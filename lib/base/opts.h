/* opts.h - one option table per program, so that parsing and --help cannot
 * drift apart (git's parse-options).
 *
 * A program declares `struct opt table[]` ending in OPT_END, usually with
 * OPTS_COMMON() for the options every program shares, and calls
 * opts_parse(). -h/--help (usage on stdout, exit 0) and --version are
 * handled here; a bad option prints usage to stderr and exits 2.
 */
#ifndef LODE_OPTS_H
#define LODE_OPTS_H

#include <stddef.h>
#include <stdint.h>

enum opt_kind {
    OPT_END_KIND = 0,
    OPT_FLAG,   /* int *: set to flag_value */
    OPT_INT,    /* int *: decimal integer */
    OPT_DOUBLE, /* double * */
    OPT_STRING, /* const char **: last one wins */
    OPT_SIZE,   /* uint64_t *: 512, 64K, 256M, 1G */
    OPT_LIST,   /* struct opt_list *: every occurrence kept, in order */
};

struct opt {
    char short_name; /* 0: long only */
    const char *long_name;
    enum opt_kind kind;
    void *value;
    const char *argname; /* shown in --help; NULL for flags */
    const char *help;
    int flag_value;
};

struct opt_list {
    const char **items;
    size_t n;
};

/* a table row, kept on one line */
/* clang-format off */
#define OPT_END {0, NULL, OPT_END_KIND, NULL, NULL, NULL, 0}
/* clang-format on */

/* Options every program has (lode-records(7), "Conventions"). */
struct common_opts {
    const char *errors_path;  /* --errors FILE: append error records */
    const char *metrics_path; /* --metrics FILE: Prometheus text, written at exit */
    int progress;             /* -1 when stderr is a terminal, 0 off, 1 on */
    int quiet;                /* -q: the summary only when an input failed */
    uint64_t max_line;        /* --max-line: longest input line accepted */
};

#define LODE_DEFAULT_MAX_LINE (256ull << 20)

void common_opts_init(struct common_opts *c);

#define OPTS_COMMON(c)                                                                \
    {0,          "errors",                                                            \
     OPT_STRING, &(c)->errors_path,                                                   \
     "FILE",     "append one JSON error record per failed input to FILE",             \
     0},                                                                              \
        {0,          "metrics",                                                       \
         OPT_STRING, &(c)->metrics_path,                                              \
         "FILE",     "write Prometheus text-format metrics to FILE at the end",       \
         0},                                                                          \
        {0,        "progress",                                                        \
         OPT_FLAG, &(c)->progress,                                                    \
         NULL,     "show progress on stderr even when it is not a terminal",          \
         1},                                                                          \
        {0, "no-progress", OPT_FLAG, &(c)->progress, NULL, "never show progress", 0}, \
        {'q',      "quiet",                                                           \
         OPT_FLAG, &(c)->quiet,                                                       \
         NULL,     "print the summary only when an input failed (cron)",              \
         1},                                                                          \
    {                                                                                 \
        0, "max-line", OPT_SIZE, &(c)->max_line, "SIZE",                              \
            "longest input line accepted (default 256M); longer lines fail alone", 0  \
    }

struct opts_program {
    const char *name;     /* "lode-extract" */
    const char *synopsis; /* "[OPTION]... [PATH]..." */
    const char *summary;  /* one paragraph: what the program does */
    const struct opt *table;
    const char *footer; /* exit status, examples; may be NULL */
};

/* Parses argv. Returns the index of the first non-option argument; options
 * and operands may be mixed, operands are moved to the end of argv in order. */
int opts_parse(const struct opts_program *prog, int argc, char **argv);

/* opts_parse() for a filter, which takes no operands: one is a usage error
 * ("WHAT are read from standard input"), exit 2. */
void opts_parse_filter(const struct opts_program *prog, int argc, char **argv, const char *what);

void opts_usage(const struct opts_program *prog, int to_stderr);

#endif
