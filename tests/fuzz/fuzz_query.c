/* Query records as lode-query reads them: q, k, mode, filters (fields,
 * lists, numbers), vectors, over a small BM25 store made once. */
#include <stdio.h>
#include <string.h>

#include "base/record.h"
#include "base/util.h"
#include "fuzz.h"
#include "store/index.h"
#include "store/query.h"

static struct query query;
static int opened;

static const char *chunks[] = {
    "{\"id\":\"a-1\",\"source\":\"a.md\",\"page\":1,\"type\":\"md\",\"meta\":{\"lang\":\"en\"},"
    "\"text\":\"lode reads PDF files and keeps BM25 postings in LMDB\"}",
    "{\"id\":\"b-1\",\"source\":\"b.csv\",\"page\":2,\"type\":\"csv\",\"meta\":{\"year\":2024},"
    "\"text\":\"formats: csv, html, docx, epub; vectors from MiniLM\"}",
    "{\"id\":\"c-1\",\"source\":\"c.txt\",\"page\":1,\"text\":\"the quick brown fox\"}",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static char dir[600];
    snprintf(dir, sizeof dir, "%s/kb", fuzz_dir());
    struct store s;
    lode_error err;
    if (store_open(dir, STORE_WRITE, 0, &s, &err) < 0)
        die("%s", err.msg);
    struct index_opts io = {
        .k1 = BM25_K1, .b = BM25_B, .batch = 10, .M = 16, .efc = 50, .threads = 1};
    struct indexer *ix = indexer_open(&s, &io, &err);
    for (size_t i = 0; ix && i < sizeof chunks / sizeof *chunks; i++)
        if (indexer_add(ix, record_parse(chunks[i], strlen(chunks[i]), &err), &err) < 0)
            die("%s", err.msg);
    struct index_stats st;
    if (!ix || indexer_close(ix, &st, &err) < 0)
        die("%s", err.msg);
    store_close(&s);
    static char *dirs[1];
    dirs[0] = dir;
    struct query_opts o = {
        .dirs = dirs, .ndirs = 1, .mode = QUERY_BM25, .k = 3, .ef = 10, .mmr = -1};
    if (query_open(&query, &o, &err) < 0)
        die("%s", err.msg);
    opened = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!opened)
        LLVMFuzzerInitialize(NULL, NULL);
    lode_error err;
    json_t *rec = record_parse((const char *)data, size, &err);
    if (!rec)
        return 0;
    query_answer(&query, rec, &err);
    json_decref(rec);
    return 0;
}
