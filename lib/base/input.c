/* input.c - the record loop of input.h: NDJSON lines into records, blank
 * lines skipped, over-long and non-JSON lines reported as failures, plain
 * lines as queries, a read error kept for the program skeleton. */
#include "base/input.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/record.h"

void input_init(struct input *in, int fd, struct report *rep, uint64_t max_line, int plain)
{
    memset(in, 0, sizeof *in);
    lines_init(&in->lr, fd, max_line);
    in->rep = rep;
    in->plain = plain;
}

json_t *input_next(struct input *in)
{
    char *line;
    size_t len;
    int rc;
    while ((rc = lines_next(&in->lr, &line, &len)) != LINE_EOF) {
        if (rc == LINE_ERROR) {
            in->error = errno ? errno : EIO;
            break;
        }
        snprintf(in->where, sizeof in->where, "<stdin>:%llu", (unsigned long long)in->lr.lineno);
        if (rc == LINE_TOO_LONG) {
            in->rep->records_in++;
            report_fail(in->rep, in->where, NULL, "line of %zu bytes is longer than --max-line",
                        len);
            continue;
        }
        size_t lead = strspn(line, " \t");
        if (lead == len)
            continue;
        in->rep->records_in++;
        in->line = line;
        in->len = len;
        if (in->plain && line[lead] != '{') {
            json_t *q = json_object();
            record_set_text(q, "q", line + lead, len - lead);
            return q;
        }
        lode_error err;
        json_t *rec = record_parse(line, len, &err);
        if (rec)
            return rec;
        report_fail(in->rep, in->where, NULL, "%s", err.msg);
    }
    in->line = NULL;
    return NULL;
}

void input_free(struct input *in)
{
    lines_free(&in->lr);
}
