/* A store's data.mdb as lode-index --check and --salvage read it without
 * LMDB (pages.c): meta pages, branches, leaves, overflow runs, the scan. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/util.h"
#include "fuzz.h"
#include "store/maintenance.h"
#include "store/pages.h"

static void quiet(void *ud, const char *msg)
{
    (void)ud, (void)msg;
}

static void entry(void *ud, const void *key, size_t kn, const void *val, size_t vn)
{
    (void)ud, (void)key, (void)kn, (void)val, (void)vn;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[600], out[600], cmd[700];
    snprintf(dir, sizeof dir, "%s/store", fuzz_dir());
    snprintf(out, sizeof out, "%s/salvaged", fuzz_dir());
    mkdir(dir, 0700);
    fuzz_file("store/data.mdb", data, size);
    lode_error err;
    struct pages *p = pages_open(dir, &err);
    if (!p)
        return 0;
    pages_check(p, quiet, NULL);
    pages_walk(p, "chunks", entry, quiet, NULL);
    pages_scan(p, entry, quiet, NULL);
    pages_close(p);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    if (system(cmd) != 0)
        die("cannot remove %s", out);
    FILE *null = fopen("/dev/null", "w");
    struct salvage_stats st;
    store_salvage(dir, out, 1, null, &st, &err);
    fclose(null);
    return 0;
}
