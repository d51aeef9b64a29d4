/* unpack.c - unpack.h's archives through libarchive: members listed and
 * read in order, plain compressed files as one member, and the budget of
 * expanded bytes, ratio and depth that stops archive bombs. */
#include "docs/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

void unpack_limits_default(struct unpack_limits *l)
{
    l->max_total = 1ull << 30;
    l->max_ratio = 200;
    l->ratio_floor = 64ull << 20;
    l->max_depth = 4;
}

int unpack_is_archive(const unsigned char *p, size_t n)
{
    if (n >= 4 && !memcmp(p, "PK\3\4", 4))
        return 1; /* zip */
    if (n >= 4 && (!memcmp(p, "PK\5\6", 4)))
        return 1; /* empty zip */
    if (n >= 2 && p[0] == 0x1F && p[1] == 0x8B)
        return 1; /* gzip */
    if (n >= 3 && !memcmp(p, "BZh", 3))
        return 1;
    if (n >= 6 &&
        !memcmp(p,
                "\xFD"
                "7zXZ\0",
                6))
        return 1;
    if (n >= 4 && !memcmp(p, "\x28\xB5\x2F\xFD", 4))
        return 1; /* zstd */
    if (n >= 6 && !memcmp(p, "7z\xBC\xAF\x27\x1C", 6))
        return 1;
    if (n >= 7 && !memcmp(p, "Rar!\x1A\x07", 6))
        return 1;
    if (n >= 262 && !memcmp(p + 257, "ustar", 5))
        return 1;
    return 0;
}

static struct archive *open_archive(const struct blob *arc, lode_error *err)
{
    struct archive *a = archive_read_new();
    if (!a)
        lode_oom(0);
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    archive_read_support_format_raw(a);
    if (archive_read_open_memory(a, arc->data, arc->len) != ARCHIVE_OK) {
        lode_seterr(err, "unreadable archive: %s", archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static const char *clean_name(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    while (*name == '/')
        name++;
    return name;
}

/* The member name of a compressed single file: the archive's base name
 * without .gz, .bz2, .xz, .zst, .z. */
static char *raw_member_name(const char *arcname)
{
    const char *base = strrchr(arcname, '/');
    base = base ? base + 1 : arcname;
    char *s = xstrdup(*base ? base : "data");
    static const char *suffixes[] = {".gz", ".bz2", ".xz", ".zst", ".z", ".Z", ".lzma", ".gzip"};
    size_t n = strlen(s);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t m = strlen(suffixes[i]);
        if (n > m && !strcmp(s + n - m, suffixes[i])) {
            s[n - m] = 0;
            return s;
        }
    }
    if (n > 4 && !strcmp(s + n - 4, ".tgz"))
        strcpy(s + n - 4, ".tar");
    return s;
}

/* Reads the current entry's data, counting it against the budget. Returns 0,
 * 1 when this member alone could not be read (why set), -1 to stop. */
static int read_entry(struct archive *a, const char *arcname, const char *member,
                      const struct unpack_limits *lim, struct unpack_budget *budget,
                      struct blob_writer *out, lode_error *why)
{
    char chunk[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(a, chunk, sizeof chunk);
        if (n == 0)
            return 0;
        if (n < 0) {
            const char *msg = archive_error_string(a);
            lode_seterr(why, "%s", msg ? msg : "cannot read member");
            return archive_errno(a) == ARCHIVE_FATAL ? -1 : 1;
        }
        budget->used += (uint64_t)n;
        if (budget->used > lim->max_total) {
            lode_seterr(why,
                        "archive bomb guard: %s!/%s expands beyond %llu bytes in all "
                        "(--max-expand)",
                        arcname, member, (unsigned long long)lim->max_total);
            return -1;
        }
        if (budget->used > lim->ratio_floor &&
            (double)budget->used > lim->max_ratio * (double)(budget->base ? budget->base : 1)) {
            lode_seterr(why,
                        "archive bomb guard: %s!/%s expands more than %g times the "
                        "archive's size (--max-ratio)",
                        arcname, member, lim->max_ratio);
            return -1;
        }
        if (blob_writer_add(out, chunk, (size_t)n, why) < 0)
            return -1;
    }
}

static int walk(const struct blob *arc, const char *arcname, const struct unpack_limits *lim,
                struct unpack_budget *budget, const char *want, struct blob *found, unpack_fn fn,
                void *ud, lode_error *err)
{
    struct archive *a = open_archive(arc, err);
    if (!a)
        return -1;
    if (!budget->base)
        budget->base = arc->len;
    int rc = want ? 1 : 0;
    int entries = 0;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_FATAL || (r != ARCHIVE_OK && r != ARCHIVE_WARN)) {
            const char *msg = archive_error_string(a);
            if (entries == 0 || r == ARCHIVE_FATAL) {
                lode_seterr(err, "%s: %s", entries ? "damaged archive" : "unreadable archive",
                            msg ? msg : "bad header");
                rc = -1;
                break;
            }
            continue; /* ARCHIVE_RETRY: skip this entry */
        }
        entries++;
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *raw = archive_entry_pathname(e);
        char *name;
        if (archive_format(a) == ARCHIVE_FORMAT_RAW || !raw)
            name = raw_member_name(arcname);
        else
            name = xstrdup(clean_name(raw));
        if (!*name || (want && strcmp(name, want))) {
            free(name);
            continue;
        }
        struct blob_writer data;
        blob_writer_init(&data, UNPACK_SPILL);
        lode_error why = {0};
        int r2 = read_entry(a, arcname, name, lim, budget, &data, &why);
        if (r2 < 0) {
            lode_seterr(err, "%s", why.msg);
            blob_writer_free(&data);
            free(name);
            rc = -1;
            break;
        }
        if (want) {
            if (r2 > 0) {
                lode_seterr(err, "%s!/%s: %s", arcname, name, why.msg);
                blob_writer_free(&data);
                rc = -1;
            } else {
                rc = blob_writer_finish(&data, found, &why) < 0 ? -1 : 0;
                if (rc < 0)
                    lode_seterr(err, "%s!/%s: %s", arcname, name, why.msg);
            }
            free(name);
            break;
        }
        int stop;
        if (r2 > 0) {
            stop = fn(ud, name, NULL, why.msg);
            blob_writer_free(&data);
        } else {
            struct blob b;
            if (blob_writer_finish(&data, &b, &why) < 0)
                stop = fn(ud, name, NULL, why.msg);
            else
                stop = fn(ud, name, &b, NULL);
        }
        free(name);
        if (stop)
            break;
    }
    archive_read_free(a);
    return rc;
}

int unpack_each(const struct blob *arc, const char *arcname, const struct unpack_limits *lim,
                struct unpack_budget *budget, unpack_fn fn, void *ud, lode_error *err)
{
    return walk(arc, arcname, lim, budget, NULL, NULL, fn, ud, err);
}

int unpack_read(const struct blob *arc, const char *arcname, const char *member,
                const struct unpack_limits *lim, struct unpack_budget *budget, struct blob *out,
                lode_error *err)
{
    return walk(arc, arcname, lim, budget, member, out, NULL, NULL, err);
}

int unpack_names(const struct blob *arc, char ***names, size_t max, lode_error *err)
{
    struct archive *a = open_archive(arc, err);
    if (!a)
        return -1;
    char **v = NULL;
    int n = 0;
    size_t cap = 0;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            if (n == 0) {
                const char *msg = archive_error_string(a);
                lode_seterr(err, "unreadable archive: %s", msg ? msg : "bad header");
                archive_read_free(a);
                return -1;
            }
            if (r == ARCHIVE_FATAL)
                break;
            continue;
        }
        if ((size_t)n >= max)
            break;
        const char *raw = archive_entry_pathname(e);
        v = xgrowarray(v, &cap, (size_t)n + 1, sizeof *v);
        v[n++] = xstrdup(raw ? clean_name(raw) : "");
    }
    archive_read_free(a);
    *names = v;
    return n;
}

void unpack_names_free(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
