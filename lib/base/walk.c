/* walk.c - walk.h's expansion of path operands: directories read
 * recursively in byte order of names, hidden names skipped unless asked,
 * symbolic-link loops and unreadable entries reported with the path. */
#include "base/walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"

struct ancestor {
    dev_t dev;
    ino_t ino;
    const struct ancestor *up;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(const char *path, const struct stat *st, const struct ancestor *up, int hidden,
                     walk_fn fn, void *ud, int depth)
{
    for (const struct ancestor *a = up; a; a = a->up)
        if (a->dev == st->st_dev && a->ino == st->st_ino) {
            fn(ud, path, "symbolic link loop (a directory inside itself)");
            return;
        }
    if (depth > 256) {
        fn(ud, path, "directories nested too deep");
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fn(ud, path, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!hidden && e->d_name[0] == '.')
            continue;
        names = xgrowarray(names, &cap, n + 1, sizeof *names);
        names[n++] = xstrdup(e->d_name);
    }
    if (errno)
        fn(ud, path, strerror(errno));
    closedir(dir);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    struct ancestor self = {st->st_dev, st->st_ino, up};
    size_t plen = strlen(path);
    int slash = plen && path[plen - 1] == '/';
    for (size_t i = 0; i < n; i++) {
        char *child = xasprintf("%s%s%s", path, slash ? "" : "/", names[i]);
        struct stat cst;
        if (stat(child, &cst) == 0 && S_ISDIR(cst.st_mode))
            walk_dir(child, &cst, &self, hidden, fn, ud, depth + 1);
        else
            fn(ud, child, NULL); /* reading it tells what is wrong, if anything */
        free(child);
        free(names[i]);
    }
    free(names);
}

void walk_path(const char *path, int hidden, walk_fn fn, void *ud)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        walk_dir(path, &st, NULL, hidden, fn, ud, 0);
    else
        fn(ud, path, NULL);
}
