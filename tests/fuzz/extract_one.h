/* extract_one.h - the body of the document-format targets: the input is a
 * document named FUZZ_NAME (its extension is the type's hint; the content
 * decides), extracted in this process as lode-extract's worker does. */
#ifndef LODE_EXTRACT_ONE_H
#define LODE_EXTRACT_ONE_H

#include <string.h>

#include "base/blob.h"
#include "docs/extract.h"
#include "fuzz.h"

static void one_record(struct extract_sink *s, int page, json_t *rec)
{
    (void)s, (void)page;
    json_decref(rec);
}

static void one_split(struct extract_sink *s, int pages, int block, const char *doc)
{
    (void)s, (void)pages, (void)block, (void)doc;
}

static void one_done(struct extract_sink *s, const char *source, int ok)
{
    (void)s, (void)source, (void)ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct extract_opts o = {0};
    unpack_limits_default(&o.limits);
    o.limits.max_total = 64u << 20; /* the fuzzer's memory, not a user's */
    o.jobs = 1;
    struct extract_sink sink = {one_record, one_record, one_split, one_done, NULL};
    struct blob b;
    blob_own(&b, NULL, 0);
    b.data = data;
    b.len = size;
    extract_document(&o, &sink, FUZZ_NAME, &b, NULL, 0, 0);
    return 0;
}

#endif
