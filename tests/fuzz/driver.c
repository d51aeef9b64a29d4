/* driver.c - runs a fuzz target over files and folders of inputs once,
 * without libFuzzer: what make check does with every target's corpus, so
 * that the targets build and their seeds pass under ASan and UBSan.
 *
 *   fuzz_NAME FILE|DIR...     prints "NAME: N inputs"; exit 0 unless a
 *                             sanitizer or the target stops it
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/blob.h"
#include "base/util.h"
#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static long run_file(const char *path)
{
    struct blob b;
    lode_error err;
    if (blob_map_file(path, &b, &err) < 0)
        die("%s: %s", path, err.msg);
    /* a private copy: the target may not read past its input */
    uint8_t *copy = xmalloc(b.len ? b.len : 1);
    memcpy(copy, b.data, b.len);
    blob_free(&b);
    LLVMFuzzerTestOneInput(copy, b.len);
    free(copy);
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static long run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        die("%s: cannot read", path);
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    if (!d)
        die("%s: cannot read the folder", path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            names = xgrowarray(names, &cap, n + 1, sizeof *names);
            names[n++] = xasprintf("%s/%s", path, e->d_name);
        }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    long count = 0;
    for (size_t i = 0; i < n; i++) {
        count += run_path(names[i]);
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    util_set_progname(argv[0]);
    LLVMFuzzerInitialize(&argc, &argv);
    long n = 0;
    for (int i = 1; i < argc; i++)
        n += run_path(argv[i]);
    printf("%s: %ld inputs\n", util_progname(), n);
    return 0;
}
