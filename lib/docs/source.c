/* source.c - source.h's loader: a path as a mapped file, or a chain of
 * archive members (a.zip!/b.tar!/c.pdf) unpacked one inside the other
 * within the limits of one top-level source. */
#include "docs/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docs/unpack.h"

static int load_member(const struct blob *arc, const char *arcname, const char *rest,
                       const struct unpack_limits *lim, struct unpack_budget *budget, int depth,
                       struct blob *out, lode_error *err)
{
    int rc = unpack_read(arc, arcname, rest, lim, budget, out, err);
    if (rc <= 0)
        return rc;
    if (depth >= lim->max_depth) {
        lode_seterr(err, "archives nested deeper than %d levels", lim->max_depth);
        return -1;
    }
    for (const char *bang = strstr(rest, "!/"); bang; bang = strstr(bang + 1, "!/")) {
        char *inner = xstrndup(rest, (size_t)(bang - rest));
        struct blob mid;
        rc = unpack_read(arc, arcname, inner, lim, budget, &mid, err);
        if (rc == 0) {
            char *midname = xasprintf("%s!/%s", arcname, inner);
            rc = load_member(&mid, midname, bang + 2, lim, budget, depth + 1, out, err);
            free(midname);
            blob_free(&mid);
        }
        free(inner);
        if (rc <= 0)
            return rc;
    }
    return 1;
}

int source_load(const char *spec, const struct unpack_limits *lim, struct blob *out,
                lode_error *err)
{
    struct stat st;
    if (!strstr(spec, "!/") || stat(spec, &st) == 0)
        return blob_map_file(spec, out, err);
    for (const char *bang = strstr(spec, "!/"); bang; bang = strstr(bang + 1, "!/")) {
        char *outer = xstrndup(spec, (size_t)(bang - spec));
        if (stat(outer, &st) == 0 && S_ISREG(st.st_mode)) {
            struct blob arc;
            int rc = blob_map_file(outer, &arc, err);
            if (rc == 0) {
                struct unpack_budget budget = {0, 0};
                rc = load_member(&arc, outer, bang + 2, lim, &budget, 1, out, err);
                if (rc > 0)
                    lode_seterr(err, "no member %s in %s", bang + 2, outer);
                blob_free(&arc);
            }
            free(outer);
            return rc == 0 ? 0 : -1;
        }
        free(outer);
    }
    lode_seterr(err, "%s", strerror(ENOENT));
    return -1;
}
