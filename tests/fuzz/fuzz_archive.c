/* Archives through libarchive (zip, tar, gzip, bzip2, xz, 7z...): members,
 * names, the expansion limits, nested archives listed. */
#include "base/blob.h"
#include "docs/unpack.h"
#include "fuzz.h"

static int member(void *ud, const char *name, struct blob *data, const char *why)
{
    (void)ud, (void)name, (void)why;
    if (data) {
        unpack_is_archive(data->data, data->len);
        blob_free(data);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct unpack_limits lim;
    unpack_limits_default(&lim);
    lim.max_total = 16u << 20;
    struct unpack_budget budget = {0, size};
    struct blob b;
    blob_own(&b, NULL, 0);
    b.data = data;
    b.len = size;
    lode_error err;
    unpack_each(&b, "fuzz.bin", &lim, &budget, member, NULL, &err);
    char **names = NULL;
    int n = unpack_names(&b, &names, 100, &err);
    if (n > 0) {
        struct blob one;
        struct unpack_budget b2 = {0, size};
        if (unpack_read(&b, "fuzz.bin", names[0], &lim, &b2, &one, &err) == 0)
            blob_free(&one);
        unpack_names_free(names, n);
    }
    return 0;
}
