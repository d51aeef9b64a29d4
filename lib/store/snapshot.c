/* snapshot.c - snapshot.h's copies: mdb_env_copy2 in one read transaction,
 * snapshot.json, the registry under its own lock file, pruning, and the
 * directory exchange that restore and --compact swap a copy in with. */
#include "store/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REGISTRY "snapshots.jsonl"
#define REGISTRY_LOCK "snapshots.lock"
#define SNAPSHOT_JSON "snapshot.json"

/* what a store directory of lode's holds */
static const char *const own_files[] = {
    "data.mdb", "lock.mdb", "writer.lock", REGISTRY, REGISTRY ".tmp", REGISTRY_LOCK, SNAPSHOT_JSON,
};

int snapshot_remove_dir(const char *dir)
{
    for (size_t i = 0; i < sizeof own_files / sizeof *own_files; i++) {
        char *p = xasprintf("%s/%s", dir, own_files[i]);
        unlink(p);
        free(p);
    }
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

static int has_data(const char *dir)
{
    char *path = xasprintf("%s/data.mdb", dir);
    int ok = access(path, F_OK) == 0;
    free(path);
    return ok;
}

static void utc_stamp(char *buf, size_t n, const char *fmt)
{
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, n, fmt, &tm))
        snprintf(buf, n, "%lld", (long long)t);
}

/* ---- the registry ---- */

/* The registry's lock (flock, exclusive): a descriptor, or -1 with err. */
static int lock_registry(const char *real, lode_error *err)
{
    char *p = xasprintf("%s/%s", real, REGISTRY_LOCK);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        lode_fail(err, lode_errno_code(errno), "cannot lock %s: %s", p, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    free(p);
    return fd;
}

/* The registry's entries (objects with a "path"), oldest first; lines that
 * are not are skipped (a registry cut by a crash loses one line at most). */
static json_t *read_registry(const char *real)
{
    json_t *list = json_array();
    char *p = xasprintf("%s/%s", real, REGISTRY);
    FILE *f = fopen(p, "r");
    free(p);
    if (!f)
        return list;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (json_is_object(o) && json_is_string(json_object_get(o, "path")))
            json_array_append_new(list, o);
        else
            json_decref(o);
    }
    free(line);
    fclose(f);
    return list;
}

/* Replaces the registry with list (a new file renamed over the old). */
static int write_registry(const char *real, json_t *list, lode_error *err)
{
    char *tmp = xasprintf("%s/%s.tmp", real, REGISTRY), *p = xasprintf("%s/%s", real, REGISTRY);
    FILE *f = fopen(tmp, "w");
    int rc = f ? 0 : -1;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) if (!rc &&
                                       (json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 ||
                                        fputc('\n', f) == EOF)) rc = -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (!rc && rename(tmp, p) < 0)
        rc = -1;
    if (rc) {
        rc = lode_fail(err, lode_errno_code(errno ? errno : EIO), "cannot write %s: %s", p,
                       strerror(errno ? errno : EIO));
        unlink(tmp);
    }
    free(tmp);
    free(p);
    return rc;
}

static json_t *info_json(const struct snapshot_info *in)
{
    return json_pack("{s:s,s:s,s:I,s:I}", "path", in->path, "time", in->time, "chunks",
                     (json_int_t)in->chunks, "bytes", (json_int_t)in->bytes);
}

static int register_snapshot(const char *real, const struct snapshot_info *in, lode_error *err)
{
    int lk = lock_registry(real, err);
    if (lk < 0)
        return err->code;
    json_t *list = read_registry(real);
    json_array_append_new(list, info_json(in));
    int rc = write_registry(real, list, err);
    json_decref(list);
    close(lk);
    return rc;
}

/* 1 when dir's snapshot.json says it is a snapshot of real */
static int snapshot_of(const char *dir, const char *real)
{
    char *p = xasprintf("%s/%s", dir, SNAPSHOT_JSON);
    json_t *o = json_load_file(p, 0, NULL);
    free(p);
    const char *of = json_string_value(json_object_get(o, "snapshot_of"));
    int yes = of && !strcmp(of, real);
    json_decref(o);
    return yes;
}

/* ---- copies ---- */

/* The open store s (real) as a snapshot in out, a new directory: the copy,
 * its figures, snapshot.json. */
static int copy_store(struct store *s, const char *real, const char *out, struct snapshot_info *in,
                      lode_error *err)
{
    char *parent = g_path_get_dirname(out); /* a folder of snapshots is made as needed */
    int made = g_mkdir_with_parents(parent, 0755);
    g_free(parent);
    if (made < 0 || mkdir(out, 0755) < 0)
        return lode_fail(err, lode_errno_code(errno), "cannot create %s: %s%s", out,
                         strerror(errno),
                         errno == EEXIST ? " (a snapshot goes into a new folder)" : "");
    int rc = 0, e = mdb_env_copy2(s->env, out, MDB_CP_COMPACT);
    if (e)
        rc = lode_fail(err, store_code(e), "%s: cannot write the snapshot: %s", out,
                       mdb_strerror(e));
    char *abs = rc ? NULL : realpath(out, NULL);
    if (!rc && !abs)
        rc = lode_fail(err, lode_errno_code(errno), "%s: %s", out, strerror(errno));
    if (!rc) {
        snprintf(in->path, sizeof in->path, "%s", abs);
        utc_stamp(in->time, sizeof in->time, "%Y-%m-%dT%H:%M:%SZ");
        struct store c; /* the figures of the copy itself: one commit's */
        rc = store_open(out, STORE_READ, 0, &c, err);
        if (!rc) {
            if ((rc = store_begin(&c, 0, err)) == 0) {
                in->chunks = store_meta_u64(&c, "n", 0);
                store_abort(&c);
            }
            store_close(&c);
        }
        in->bytes = store_data_bytes(out);
    }
    if (!rc) {
        json_t *o = info_json(in);
        json_object_del(o, "path");
        json_object_set_new(o, "snapshot_of", json_string(real));
        char *p = xasprintf("%s/%s", out, SNAPSHOT_JSON);
        if (json_dump_file(o, p, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
            rc = lode_fail(err, LODE_EIO, "cannot write %s", p);
        free(p);
        json_decref(o);
    }
    free(abs);
    if (rc)
        snapshot_remove_dir(out);
    return rc;
}

int snapshot_take(const char *dir, const char *out, int keep, FILE *report,
                  struct snapshot_info *info, lode_error *err)
{
    memset(info, 0, sizeof *info);
    char *real = realpath(dir, NULL);
    if (!real)
        return lode_fail(err, lode_errno_code(errno), "%s: %s (no such store)", dir,
                         strerror(errno));
    struct store s;
    int rc = store_open(real, STORE_READ, 0, &s, err);
    if (!rc) {
        rc = copy_store(&s, real, out, info, err);
        store_close(&s);
    }
    lode_error e2;
    if (!rc && register_snapshot(real, info, &e2) < 0)
        fprintf(report, "%s: warning: %s; --snapshots will not list %s\n", util_progname(), e2.msg,
                info->path);
    if (!rc && keep >= 0) {
        long n = snapshot_prune(real, keep, report, err);
        if (n < 0)
            rc = (int)n;
        else
            info->pruned = (unsigned)n;
    }
    free(real);
    return rc;
}

long snapshot_list(const char *dir, FILE *out, lode_error *err)
{
    char *real = realpath(dir, NULL);
    if (!real)
        return lode_fail(err, lode_errno_code(errno), "%s: %s (no such store)", dir,
                         strerror(errno));
    json_t *list = read_registry(real);
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        const char *path = json_string_value(json_object_get(o, "path"));
        if (has_data(path))
            json_object_set_new(o, "bytes", json_integer((json_int_t)store_data_bytes(path)));
        else
            json_object_set_new(o, "missing", json_true());
        if (json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 || fputc('\n', out) == EOF)
            break;
    }
    long n = (long)json_array_size(list);
    json_decref(list);
    free(real);
    return n;
}

long snapshot_prune(const char *dir, int keep, FILE *report, lode_error *err)
{
    char *real = realpath(dir, NULL);
    if (!real)
        return lode_fail(err, lode_errno_code(errno), "%s: %s (no such store)", dir,
                         strerror(errno));
    int lk = lock_registry(real, err);
    if (lk < 0) {
        free(real);
        return err->code;
    }
    json_t *list = read_registry(real), *left = json_array(), *o;
    size_t i, present = 0;
    json_array_foreach(list, i, o) present +=
        (size_t)has_data(json_string_value(json_object_get(o, "path")));
    size_t drop = present > (size_t)keep ? present - (size_t)keep : 0;
    long removed = 0;
    json_array_foreach(list, i, o)
    {
        const char *path = json_string_value(json_object_get(o, "path"));
        if (!has_data(path))
            continue; /* gone: forgotten */
        if (drop) {
            drop--;
            if (!snapshot_of(path, real)) {
                fprintf(report, "%s: warning: %s is not a snapshot of %s (its %s says so); left\n",
                        util_progname(), path, real, SNAPSHOT_JSON);
            } else if (snapshot_remove_dir(path) < 0) {
                fprintf(report, "%s: warning: %s holds other files; its store files removed\n",
                        util_progname(), path);
                removed++;
                continue;
            } else {
                removed++;
                continue;
            }
        }
        json_array_append(left, o);
    }
    long rc = write_registry(real, left, err) < 0 ? err->code : removed;
    json_decref(list);
    json_decref(left);
    close(lk);
    free(real);
    return rc;
}

/* ---- swapping a copy in ---- */

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return errno == ENOENT ? 0 : -1;
    FILE *out = fopen(to, "wb");
    int rc = out ? 0 : -1;
    char buf[65536];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (ferror(in))
        rc = -1;
    fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

int snapshot_exchange(const char *real, const char *tmp, lode_error *err)
{
    int lk = lock_registry(real, err); /* no snapshot registers while the store moves */
    if (lk < 0)
        return err->code;
    char *from = xasprintf("%s/%s", real, REGISTRY), *to = xasprintf("%s/%s", tmp, REGISTRY);
    int rc = 0;
    if (copy_file(from, to) < 0)
        rc = lode_fail(err, lode_errno_code(errno ? errno : EIO), "cannot copy %s: %s", from,
                       strerror(errno ? errno : EIO));
    /* the copy's writer lock exists before it becomes the store, so a writer
     * waiting on the old lock finds its lock stale and opens the copy */
    char *lp = xasprintf("%s/writer.lock", tmp);
    int lock = rc ? -1 : open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (!rc &&
        (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0 ||
         renameat2(AT_FDCWD, tmp, AT_FDCWD, real, RENAME_EXCHANGE) < 0))
        rc = lode_fail(err, lode_errno_code(errno), "%s: cannot swap in %s: %s", real, tmp,
                       strerror(errno));
    if (lock >= 0)
        close(lock);
    close(lk);
    free(lp);
    free(from);
    free(to);
    return rc;
}

int snapshot_restore(const char *dir, const char *snap, int nowait, FILE *report,
                     struct snapshot_info *kept, lode_error *err)
{
    memset(kept, 0, sizeof *kept);
    char *real = realpath(dir, NULL), *sreal = realpath(snap, NULL);
    int rc = 0;
    if (!real || !sreal)
        rc = lode_fail(err, lode_errno_code(errno), "%s: %s", real ? snap : dir, strerror(errno));
    else if (!strcmp(real, sreal))
        rc = lode_fail(err, LODE_EINVAL, "%s is the store itself", snap);
    struct store sn = {0}, s = {0};
    int have_sn = 0, have_s = 0;
    /* the snapshot must be a readable store with sound settings */
    if (!rc && (rc = store_open(sreal, STORE_READ, 0, &sn, err)) == 0) {
        have_sn = 1;
        if ((rc = store_begin(&sn, 0, err)) == 0) {
            rc = store_check_settings(&sn, err);
            store_abort(&sn);
        }
    }
    if (!rc && (rc = store_open(real, STORE_WRITE, nowait, &s, err)) == 0)
        have_s = 1;
    char *kpath = NULL;
    if (!rc) {
        /* the store as it is, kept beside the snapshot as DIRNAME-TIME */
        char stamp[32];
        utc_stamp(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
        char *slash = strrchr(sreal, '/'), *base = strrchr(real, '/');
        int plen = slash ? (int)(slash - sreal) : 0;
        kpath = xasprintf("%.*s/%s-%s", plen, sreal, base ? base + 1 : real, stamp);
        for (int k = 2; access(kpath, F_OK) == 0 && k < 1000; k++) {
            free(kpath);
            kpath = xasprintf("%.*s/%s-%s.%d", plen, sreal, base ? base + 1 : real, stamp, k);
        }
        rc = copy_store(&s, real, kpath, kept, err);
        lode_error e2;
        if (!rc && register_snapshot(real, kept, &e2) < 0)
            fprintf(report, "%s: warning: %s; --snapshots will not list %s\n", util_progname(),
                    e2.msg, kept->path);
    }
    char *tmp = real ? xasprintf("%s.restore-%ld", real, (long)getpid()) : NULL;
    if (!rc && mkdir(tmp, 0755) < 0)
        rc = lode_fail(err, lode_errno_code(errno), "cannot create %s: %s", tmp, strerror(errno));
    else if (!rc) {
        int e = mdb_env_copy2(sn.env, tmp, MDB_CP_COMPACT);
        if (e)
            rc = lode_fail(err, store_code(e), "%s: cannot copy %s: %s", tmp, sreal,
                           mdb_strerror(e));
        if (!rc)
            rc = snapshot_exchange(real, tmp, err);
        /* tmp: the copy that could not be swapped in, or the old store's files */
        if (snapshot_remove_dir(tmp) < 0)
            fprintf(report, "%s: warning: %s holds other files; left\n", util_progname(), tmp);
    }
    if (have_s)
        store_close(&s);
    if (have_sn)
        store_close(&sn);
    free(tmp);
    free(kpath);
    free(real);
    free(sreal);
    return rc;
}
