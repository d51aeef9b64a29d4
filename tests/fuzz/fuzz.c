/* fuzz.c - fuzz.h's scratch folder and shared path. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

static char scratch[256];

static void remove_scratch(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: cannot remove %s\n", scratch);
}

const char *fuzz_dir(void)
{
    if (!scratch[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(scratch, sizeof scratch, "%s/lode-fuzz-XXXXXX", base);
        if (!mkdtemp(scratch))
            die("fuzz: cannot make a scratch folder in %s", base);
        atexit(remove_scratch);
    }
    return scratch;
}

const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        die("fuzz: cannot write %s", path);
    return path;
}

const char *fuzz_shared(void)
{
    const char *s = getenv("LODE_SHARED");
    return s && *s ? s : "../shared";
}
