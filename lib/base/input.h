/* input.h - the record loop of a filter: NDJSON lines from a descriptor,
 * with bad lines reported and skipped (lode-records(7)).
 *
 * A blank line is skipped; a line longer than --max-line or one that is not
 * a JSON object counts as a failed input (report_fail) and is skipped. With
 * plain set, a line that does not start with '{' is the query {"q": line},
 * as lode-query and lode-generate take it. A read error ends the input
 * with error set (errno).
 */
#ifndef LODE_INPUT_H
#define LODE_INPUT_H

#include <jansson.h>

#include "base/lines.h"
#include "base/report.h"

struct input {
    struct lines lr;
    struct report *rep;
    int plain;
    char where[64];   /* "<stdin>:LINE" of the last line */
    const char *line; /* the last line as read (valid until the next call) */
    size_t len;
    int error; /* errno of a failed read, 0 */
};

void input_init(struct input *in, int fd, struct report *rep, uint64_t max_line, int plain);
/* The next record (a new reference), or NULL at the end of the input or
 * at a read error (error says which). */
json_t *input_next(struct input *in);
void input_free(struct input *in);

#endif
