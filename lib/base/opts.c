/* opts.c - the option tables of opts.h: --help written from the table,
 * short and long options with their values parsed and range-checked,
 * operands moved to the end; --help, --version and usage errors exit here,
 * for main. */
#include "base/opts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void common_opts_init(struct common_opts *c)
{
    memset(c, 0, sizeof *c);
    c->progress = -1;
    c->max_line = LODE_DEFAULT_MAX_LINE;
}

void opts_usage(const struct opts_program *prog, int to_stderr)
{
    FILE *f = to_stderr ? stderr : stdout;
    fprintf(f, "Usage: %s %s\n", prog->name, prog->synopsis);
    if (to_stderr) {
        fprintf(f, "Try '%s --help' for more information.\n", prog->name);
        return;
    }
    fprintf(f, "%s\n\nOptions:\n", prog->summary);
    for (const struct opt *o = prog->table; o->kind; o++) {
        char left[64];
        int n;
        if (o->short_name)
            n = snprintf(left, sizeof left, "  -%c, --%s%s%s", o->short_name, o->long_name,
                         o->argname ? " " : "", o->argname ? o->argname : "");
        else
            n = snprintf(left, sizeof left, "      --%s%s%s", o->long_name, o->argname ? " " : "",
                         o->argname ? o->argname : "");
        if (n < 26)
            fprintf(f, "%-26s  %s\n", left, o->help);
        else
            fprintf(f, "%s\n%28s%s\n", left, "", o->help);
    }
    fprintf(f, "%-26s  %s\n", "  -h, --help", "show this help and exit");
    fprintf(f, "%-26s  %s\n", "      --version", "show the version and exit");
    if (prog->footer)
        fprintf(f, "\n%s", prog->footer);
}

static _Noreturn void bad(const struct opts_program *prog, const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", prog->name);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    opts_usage(prog, 1);
    exit(LODE_EXIT_USAGE);
}

static void set_value(const struct opts_program *prog, const struct opt *o, const char *arg)
{
    char *end;
    switch (o->kind) {
    case OPT_FLAG:
        *(int *)o->value = o->flag_value;
        break;
    case OPT_INT: {
        errno = 0;
        long v = strtol(arg, &end, 10);
        if (errno || end == arg || *end || v < INT_MIN || v > INT_MAX)
            bad(prog, "--%s wants an integer", o->long_name);
        *(int *)o->value = (int)v;
        break;
    }
    case OPT_DOUBLE: {
        errno = 0;
        double v = strtod(arg, &end);
        if (errno || end == arg || *end)
            bad(prog, "--%s wants a number", o->long_name);
        *(double *)o->value = v;
        break;
    }
    case OPT_STRING:
        *(const char **)o->value = arg;
        break;
    case OPT_SIZE:
        /* every size lode takes is a limit or a first size: 0 is a mistake */
        if (parse_size(arg, (uint64_t *)o->value) < 0 || !*(uint64_t *)o->value)
            bad(prog, "--%s wants a positive size such as 512K, 64M or 1G", o->long_name);
        break;
    case OPT_LIST: {
        struct opt_list *l = o->value;
        l->items = xreallocarray(l->items, l->n + 1, sizeof *l->items);
        l->items[l->n++] = arg;
        break;
    }
    case OPT_END_KIND:
        break;
    }
}

int opts_parse(const struct opts_program *prog, int argc, char **argv)
{
    char **operands = xcalloc((size_t)argc + 1, sizeof *operands);
    int nops = 0;
    int i;
    for (i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == 0) {
            operands[nops++] = a;
            continue;
        }
        const struct opt *o = NULL;
        const char *arg = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            if (len == 4 && !strncmp(name, "help", 4)) {
                opts_usage(prog, 0);
                exit(LODE_EXIT_OK);
            }
            if (len == 7 && !strncmp(name, "version", 7)) {
                printf("%s %s\n", prog->name, LODE_VERSION);
                exit(LODE_EXIT_OK);
            }
            for (const struct opt *t = prog->table; t->kind; t++)
                if (strlen(t->long_name) == len && !strncmp(t->long_name, name, len))
                    o = t;
            if (!o)
                bad(prog, "unknown option '%s'", a);
            if (eq) {
                if (o->kind == OPT_FLAG)
                    bad(prog, "option '%s' takes no value", a);
                arg = eq + 1;
            }
        } else {
            if (a[1] == 'h' && a[2] == 0) {
                opts_usage(prog, 0);
                exit(LODE_EXIT_OK);
            }
            for (const struct opt *t = prog->table; t->kind; t++)
                if (t->short_name && t->short_name == a[1])
                    o = t;
            if (!o)
                bad(prog, "unknown option '%s'", a);
            if (a[2]) {
                if (o->kind == OPT_FLAG)
                    bad(prog, "option '%s' takes no value", a);
                arg = a + 2;
            }
        }
        if (o->kind != OPT_FLAG && !arg) {
            if (i + 1 >= argc)
                bad(prog, "option '%s' needs a value", a);
            arg = argv[++i];
        }
        set_value(prog, o, arg);
    }
    for (; i < argc; i++)
        operands[nops++] = argv[i];
    int first = argc - nops;
    for (int k = 0; k < nops; k++)
        argv[first + k] = operands[k];
    free(operands);
    return first;
}

void opts_parse_filter(const struct opts_program *prog, int argc, char **argv, const char *what)
{
    int first = opts_parse(prog, argc, argv);
    if (first != argc) {
        fprintf(stderr, "%s: %s are read from standard input, not %s\n", prog->name, what,
                argv[first]);
        opts_usage(prog, 1);
        exit(LODE_EXIT_USAGE);
    }
}
