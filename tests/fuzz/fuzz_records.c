/* The NDJSON record reader: lines (with a small line limit), records and
 * their typed fields: integers in range, vectors, chunk text, names. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/lines.h"
#include "base/record.h"
#include "base/util.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("records", 0);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET) < 0)
        die("cannot make the input");
    struct lines r;
    lines_init(&r, fd, 4096);
    char *line;
    size_t len;
    int rc;
    while ((rc = lines_next(&r, &line, &len)) != LINE_EOF && rc != LINE_ERROR) {
        if (rc != LINE_OK)
            continue;
        lode_error err;
        json_t *rec = record_parse(line, len, &err);
        if (!rec)
            continue;
        int dim;
        free(record_vector(rec, &dim, &err));
        struct buf scratch = {0};
        size_t n;
        record_chunk_text(rec, &scratch, &n);
        buf_free(&scratch);
        free(record_name(rec, "source"));
        struct buf out = {0};
        record_dump(&out, rec);
        buf_free(&out);
        json_decref(rec);
    }
    lines_free(&r);
    close(fd);
    return 0;
}
