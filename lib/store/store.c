/* store.c - store.h's LMDB environment: opening with the writer lock and
 * the map sized from the file, transactions that adopt a grown map, LMDB's
 * codes into lode's, meta values, and the postings and source encodings. */
#include "store/store.h"

#include <errno.h>
#include <link.h>
#include <math.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <ucontext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STORE_INITIAL_MAP (64ull << 20)

int store_code(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return LODE_OK;
    case MDB_NOTFOUND:
        return LODE_ENOTFOUND;
    case MDB_MAP_FULL:
        return LODE_EMAPFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
    case MDB_BAD_DBI:
        return LODE_ECORRUPT;
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case MDB_TLS_FULL:
    case MDB_BAD_VALSIZE:
        return LODE_ELIMIT;
    case MDB_KEYEXIST:
        return LODE_EINVAL;
    default:
        return rc > 0 ? lode_errno_code(rc) : LODE_EFAILED;
    }
}

int store_fail(struct store *s, lode_error *err, int rc, const char *what)
{
    int code = store_code(rc);
    return lode_fail(err, code, "%s: %s: %s", s->dir, what, mdb_strerror(rc));
}

static int open_db(struct store *s, MDB_txn *txn, const char *name, unsigned flags, MDB_dbi *dbi,
                   lode_error *err)
{
    int rc = mdb_dbi_open(txn, name, flags, dbi);
    if (rc) {
        char what[64];
        snprintf(what, sizeof what, "the %s database", name);
        return store_fail(s, err, rc, what);
    }
    return 0;
}

int store_open(const char *dir, enum store_mode mode, int nowait, struct store *s, lode_error *err)
{
    return store_open_sized(dir, mode, nowait, 0, s, err);
}

/* LMDB maps data.mdb and trusts it: a file cut short faults (SIGBUS) on the
 * first page past its end. Its two meta pages say where the last page is;
 * a file that does not reach it, or without a valid meta page, is refused
 * before LMDB sees it. (64-bit LMDB 0.9 layout: a 16-byte page header,
 * then magic, version, address, map size, the two databases of 48 bytes,
 * the first's md_pad the page size, the last page, the transaction.) */
#define LMDB_MAGIC 0xBEEFC0DEu

static int meta_page(const unsigned char *p, uint64_t *psize, uint64_t *last, uint64_t *txnid)
{
    uint32_t magic, pad;
    memcpy(&magic, p + 16, 4);
    memcpy(&pad, p + 16 + 24, 4);
    memcpy(last, p + 16 + 120, 8);
    memcpy(txnid, p + 16 + 128, 8);
    *psize = pad;
    return magic == LMDB_MAGIC && pad >= 512 && pad <= 65536 && !(pad & (pad - 1));
}

int store_check_file(const char *dir, int writable, lode_error *err)
{
    char *path = xasprintf("%s/data.mdb", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        goto out; /* none yet, or LMDB's own error */
    if (st.st_size == 0) {
        /* a writer starts it afresh; a reader has nothing to read */
        if (!writable)
            rc = lode_fail(err, LODE_ECORRUPT, "%s is damaged: data.mdb is empty", dir);
        goto out;
    }
    unsigned char m0[160], m1[160];
    uint64_t ps0 = 0, last0 = 0, tx0 = 0, ps1 = 0, last1 = 0, tx1 = 0;
    int ok0 =
        pread(fd, m0, sizeof m0, 0) == (ssize_t)sizeof m0 && meta_page(m0, &ps0, &last0, &tx0);
    int ok1 = ok0 && pread(fd, m1, sizeof m1, (off_t)ps0) == (ssize_t)sizeof m1 &&
        meta_page(m1, &ps1, &last1, &tx1) && ps1 == ps0;
    if (!ok0) {
        rc = lode_fail(err, LODE_ECORRUPT,
                       "%s is damaged: data.mdb has no valid LMDB header (%lld bytes)", dir,
                       (long long)st.st_size);
        goto out;
    }
    uint64_t last = ok1 && tx1 > tx0 ? last1 : last0;
    if (last > (uint64_t)INT64_MAX / ps0 - 1 || (uint64_t)st.st_size < (last + 1) * ps0)
        rc = lode_fail(err, LODE_ECORRUPT,
                       "%s is damaged: data.mdb is cut short (%lld bytes; its pages run to "
                       "%llu): lode-index --salvage OUT copies what it still holds",
                       dir, (long long)st.st_size,
                       (unsigned long long)((last + 1) * ps0 > (last + 1) ? (last + 1) * ps0 : 0));
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* ---- the damage guard ----
 * LMDB trusts its pages: a damaged one makes it fail an assertion (abort)
 * or read outside a page (SIGSEGV), and a file cut while mapped faults
 * (SIGBUS). The guard turns each into "DIR is damaged" and exit status 3
 * instead of a core dump: LMDB's assertion callback, and a handler for the
 * faults whose address lies in a store's map (any other fault is a bug and
 * is re-raised as it was). Signals are process-wide, so the maps are too:
 * this table is the store layer's one piece of process state, written
 * only by store_open/store_close and the map's growth. */
#define GUARD_MAPS 16

static struct guard_map {
    const char *dir; /* the store's s->dir, stable while it is open */
    uintptr_t lo, hi;
} guard_maps[GUARD_MAPS];
static uintptr_t lmdb_lo, lmdb_hi; /* LMDB's code: a fault there is a broken page */

static int find_lmdb(struct dl_phdr_info *info, size_t size, void *ud)
{
    (void)size;
    uintptr_t want = (uintptr_t)ud;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && want >= lo && want < hi) {
            lmdb_lo = lo, lmdb_hi = hi;
            return 1;
        }
    }
    return 0;
}

static uintptr_t fault_pc(void *uc)
{
#if defined(__x86_64__)
    return (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)((ucontext_t *)uc)->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

static void guard_say(const char *dir, const char *what)
{
    const char *parts[] = {util_progname(),
                           ": ",
                           dir,
                           " is damaged: ",
                           what,
                           "; lode-index --check says what, lode-index --salvage OUT copies what "
                           "can still be read\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        size_t n = strlen(parts[i]);
        if (write(2, parts[i], n) != (ssize_t)n)
            break;
    }
}

static void guard_fault(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr, pc = fault_pc(uc);
    const char *dir = NULL;
    for (int i = 0; i < GUARD_MAPS && !dir; i++)
        if (guard_maps[i].dir && a >= guard_maps[i].lo && a < guard_maps[i].hi)
            dir = guard_maps[i].dir;
    if (!dir && pc >= lmdb_lo && pc < lmdb_hi)
        for (int i = 0; i < GUARD_MAPS && !dir; i++)
            dir = guard_maps[i].dir; /* LMDB followed a broken page of an open store */
    if (dir) {
        guard_say(dir,
                  sig == SIGBUS ? "a page could not be read (SIGBUS)"
                                : "LMDB followed a broken page (SIGSEGV)");
        _exit(3);
    }
    signal(sig, SIG_DFL); /* not a store's: the crash it is */
    raise(sig);
}

static void guard_assert(MDB_env *env, const char *msg)
{
    const char *dir = mdb_env_get_userctx(env);
    char what[256];
    snprintf(what, sizeof what, "LMDB found a broken page (%s)", msg);
    guard_say(dir ? dir : "the store", what);
    _exit(3);
}

/* Where data.mdb is mapped: LMDB does not say (mdb_env_info's address is
 * the one a fixed map asked for), the kernel does, by the file's inode. */
static int map_range(struct store *s, uintptr_t *lo, uintptr_t *hi)
{
    mdb_filehandle_t fd;
    struct stat st;
    if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) < 0)
        return -1;
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return -1;
    char line[512];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long long a, b, off, ino;
        unsigned maj, min;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &a, &b, perms, &off, &maj, &min, &ino) ==
                7 &&
            ino == (unsigned long long)st.st_ino && maj == major(st.st_dev) &&
            min == minor(st.st_dev) && (found < 0 || b - a > *hi - *lo)) {
            *lo = (uintptr_t)a, *hi = (uintptr_t)b;
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/* Registers (or moves) s's map with the guard. */
static void guard_map(struct store *s)
{
    uintptr_t lo = 0, hi = 0;
    if (map_range(s, &lo, &hi) < 0)
        return;
    int slot = -1;
    for (int i = 0; i < GUARD_MAPS; i++)
        if (guard_maps[i].dir == s->dir || (slot < 0 && !guard_maps[i].dir))
            slot = i;
    if (slot < 0)
        return; /* more stores open than the table holds: those go unguarded */
    if (!guard_maps[slot].dir) {
        if (!lmdb_hi)
            dl_iterate_phdr(find_lmdb, (void *)(uintptr_t)mdb_cursor_get);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = guard_fault;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
    }
    guard_maps[slot].lo = lo;
    guard_maps[slot].hi = hi;
    guard_maps[slot].dir = s->dir;
}

static void guard_unmap(struct store *s)
{
    for (int i = 0; i < GUARD_MAPS; i++)
        if (s->dir && guard_maps[i].dir == s->dir)
            memset(&guard_maps[i], 0, sizeof guard_maps[i]);
}

/* A new environment opened with flags (0, or an LMDB code with none left). */
static int env_open(struct store *s, unsigned flags)
{
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, 16);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, 1024);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (rc == 0)
        rc = mdb_env_set_userctx(s->env, s->dir);
    if (rc == 0)
        rc = mdb_env_set_assert(s->env, guard_assert);
    if (rc == 0)
        rc = mdb_env_open(s->env, s->dir, flags, 0644);
    if (rc && s->env) {
        mdb_env_close(s->env);
        s->env = NULL;
    }
    return rc;
}

int store_open_sized(const char *dir, enum store_mode mode, int nowait, uint64_t map,
                     struct store *s, lode_error *err)
{
    int code = LODE_EFAILED;
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    s->dir = xstrdup(dir);
    s->writable = mode == STORE_WRITE;
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (!s->writable || errno != ENOENT) {
            code = lode_fail(err, lode_errno_code(errno), "%s: %s (no such store)", dir,
                             strerror(errno));
            goto fail;
        }
        if (mkdir(dir, 0755) < 0) {
            code = lode_fail(err, lode_errno_code(errno), "cannot create %s: %s", dir,
                             strerror(errno));
            goto fail;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        code = lode_fail(err, LODE_EINVAL, "%s is not a store (not a directory)", dir);
        goto fail;
    }
    if (!s->writable) {
        char *data = xasprintf("%s/data.mdb", dir);
        int exists = access(data, F_OK) == 0;
        free(data);
        if (!exists) {
            code = lode_fail(err, LODE_ENOTFOUND, "%s is not a lode store (no data.mdb)", dir);
            goto fail;
        }
    } else {
        /* one writer: LMDB would make a second one wait silently */
        char *lock = xasprintf("%s/writer.lock", dir);
        s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        free(lock);
        if (s->lock_fd < 0) {
            code = lode_fail(err, lode_errno_code(errno), "%s: cannot open %s/writer.lock: %s", dir,
                             dir, strerror(errno));
            goto fail;
        }
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
            if (nowait) {
                code = lode_fail(err, LODE_EBUSY, "%s: another writer is using the store", dir);
                goto fail;
            }
            warning("%s: another writer is using the store; waiting for it", dir);
            if (flock(s->lock_fd, LOCK_EX) < 0) {
                code = lode_fail(err, lode_errno_code(errno), "%s: cannot lock the store: %s", dir,
                                 strerror(errno));
                goto fail;
            }
        }
        /* --compact swaps the directory: a lock taken on the old one is stale */
        struct stat held, now;
        char *lp = xasprintf("%s/writer.lock", dir);
        int stale = fstat(s->lock_fd, &held) < 0 || stat(lp, &now) < 0 ||
            held.st_ino != now.st_ino || held.st_dev != now.st_dev;
        free(lp);
        if (stale) {
            char *again = xstrdup(dir);
            store_close(s);
            int rc = store_open_sized(again, mode, nowait, map, s, err);
            free(again);
            return rc;
        }
    }
    if ((code = store_check_file(dir, s->writable, err)) < 0)
        goto fail;
    /* the map is at least what the file holds; it grows on demand */
    char *data = xasprintf("%s/data.mdb", dir);
    s->map_size = map ? map : STORE_INITIAL_MAP;
    if (stat(data, &st) == 0 && (uint64_t)st.st_size > s->map_size)
        s->map_size = (uint64_t)st.st_size;
    free(data);
    unsigned flags = (s->writable ? 0 : MDB_RDONLY) | MDB_NOTLS;
    int rc = env_open(s, flags);
    if (!s->writable && (rc == EACCES || rc == EROFS || rc == EPERM)) {
        /* read-only media, or a folder this user may not write: no lock
         * file (LMDB's readers table) can be opened; read without one,
         * which is safe while no writer changes the store (lode-store(7)) */
        int first = rc;
        rc = env_open(s, flags | MDB_NOLOCK);
        if (rc)
            rc = first;
        else
            s->nolock = 1;
    }
    if (rc) {
        char *lock = xasprintf("%s/lock.mdb", dir);
        code = lode_fail(err, store_code(rc), "%s: cannot open %s: %s", dir,
                         rc == EACCES || rc == EROFS || rc == EPERM ? lock : "the store",
                         mdb_strerror(rc));
        free(lock);
        goto fail;
    }
    guard_map(s);
    int dead = 0;
    if (!s->nolock)
        mdb_reader_check(s->env, &dead); /* readers of killed processes */
    MDB_txn *txn;
    rc = mdb_txn_begin(s->env, NULL, s->writable ? 0 : MDB_RDONLY, &txn);
    if (rc) {
        code = store_fail(s, err, rc, "cannot begin a transaction");
        goto fail;
    }
    unsigned create = s->writable ? MDB_CREATE : 0;
    if ((code = open_db(s, txn, "meta", create, &s->meta, err)) ||
        (code = open_db(s, txn, "chunks", create, &s->chunks, err)) ||
        (code = open_db(s, txn, "ids", create, &s->ids, err)) ||
        (code = open_db(s, txn, "sources", create, &s->sources, err)) ||
        (code = open_db(s, txn, "postings", create, &s->postings, err)) ||
        (code = open_db(s, txn, "lengths", create, &s->lengths, err)) ||
        (code = open_db(s, txn, "vectors", create, &s->vectors, err)) ||
        (code = open_db(s, txn, "graph", create, &s->graph, err)) ||
        (code = open_db(s, txn, "deleted", create, &s->deleted, err))) {
        mdb_txn_abort(txn);
        goto fail;
    }
    /* the graph's tables: created by a writer, optional for a reader */
    s->has_kg = mdb_dbi_open(txn, "kg_entities", create, &s->kg_entities) == 0 &&
        mdb_dbi_open(txn, "kg_mentions", create, &s->kg_mentions) == 0 &&
        mdb_dbi_open(txn, "kg_edges", create, &s->kg_edges) == 0 &&
        mdb_dbi_open(txn, "kg_aliases", create, &s->kg_aliases) == 0;
    if (s->writable && !s->has_kg) {
        code = lode_fail(err, LODE_ECORRUPT, "%s: cannot make the graph's tables", dir);
        mdb_txn_abort(txn);
        goto fail;
    }
    s->txn = txn;
    uint64_t format = store_meta_u64(s, "format", 0);
    if (format == 0 && s->writable) {
        store_set_meta_u64(s, "format", STORE_FORMAT);
    } else if (format != STORE_FORMAT) {
        code = lode_fail(err, LODE_EUNSUPPORTED, "%s: store format %llu; this lode reads format %d",
                         dir, (unsigned long long)format, STORE_FORMAT);
        mdb_txn_abort(txn);
        s->txn = NULL;
        goto fail;
    }
    s->txn = NULL;
    rc = mdb_txn_commit(txn);
    if (rc) {
        code = store_fail(s, err, rc, "cannot commit");
        goto fail;
    }
    return 0;
fail:
    store_close(s);
    return code;
}

void store_close(struct store *s)
{
    if (s->txn)
        mdb_txn_abort(s->txn);
    if (s->env)
        mdb_env_close(s->env);
    guard_unmap(s);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    free(s->dir);
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
}

int store_begin(struct store *s, int write, lode_error *err)
{
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &s->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* the writer grew the map: adopt its size */
        rc = mdb_env_set_mapsize(s->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &s->txn);
        guard_map(s);
    }
    if (rc) {
        s->txn = NULL;
        return store_fail(s, err, rc, "cannot begin a transaction");
    }
    return 0;
}

int store_commit(struct store *s, lode_error *err)
{
    int rc = mdb_txn_commit(s->txn);
    s->txn = NULL; /* committed, or aborted by LMDB */
    if (rc == MDB_MAP_FULL) {
        s->full_commits++;
        return lode_fail(err, LODE_EMAPFULL, "%s: cannot commit: the map (%llu bytes) is full",
                         s->dir, (unsigned long long)s->map_size);
    }
    if (rc) {
        /* LMDB reports a short write as EIO: say when the disk is full */
        struct statvfs fs;
        if ((rc == EIO || rc == ENOSPC) && statvfs(s->dir, &fs) == 0 &&
            (uint64_t)fs.f_bavail * fs.f_frsize < (1u << 20))
            return lode_fail(err, LODE_ENOSPACE,
                             "%s: cannot commit: no space left on the device (%llu bytes free); "
                             "the store keeps its last commit",
                             s->dir, (unsigned long long)fs.f_bavail * fs.f_frsize);
        if (rc == EIO)
            return lode_fail(err, LODE_EIO,
                             "%s: cannot commit: a write failed (the disk full, a file-size "
                             "limit, or an I/O error); the store keeps its last commit",
                             s->dir);
        return lode_fail(err, store_code(rc),
                         "%s: cannot commit: %s; the store keeps its last commit", s->dir,
                         mdb_strerror(rc));
    }
    return 0;
}

void store_abort(struct store *s)
{
    if (s->txn)
        mdb_txn_abort(s->txn);
    s->txn = NULL;
}

int store_grow(struct store *s, lode_error *err)
{
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    uint64_t size = (uint64_t)info.me_mapsize * 2;
    int rc = mdb_env_set_mapsize(s->env, (size_t)size);
    if (rc)
        return lode_fail(err, store_code(rc), "%s: cannot grow the map to %llu bytes: %s", s->dir,
                         (unsigned long long)size, mdb_strerror(rc));
    s->map_size = size;
    guard_map(s);
    return 0;
}

int store_get(struct store *s, MDB_dbi db, const void *k, size_t kn, MDB_val *v)
{
    MDB_val key = {kn, (void *)k};
    return store_code(mdb_get(s->txn, db, &key, v));
}

int store_put(struct store *s, MDB_dbi db, const void *k, size_t kn, const void *v, size_t vn)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    return store_code(mdb_put(s->txn, db, &key, &val, 0));
}

int store_del(struct store *s, MDB_dbi db, const void *k, size_t kn)
{
    MDB_val key = {kn, (void *)k};
    int rc = mdb_del(s->txn, db, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : store_code(rc);
}

uint64_t store_meta_u64(struct store *s, const char *key, uint64_t def)
{
    MDB_val v;
    if (store_get(s, s->meta, key, strlen(key), &v) || v.mv_size != 8)
        return def;
    const unsigned char *p = v.mv_data;
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

int store_set_meta_u64(struct store *s, const char *key, uint64_t v)
{
    unsigned char b[8];
    put_le32(b, (uint32_t)v);
    put_le32(b + 4, (uint32_t)(v >> 32));
    return store_put(s, s->meta, key, strlen(key), b, 8);
}

char *store_meta_str(struct store *s, const char *key)
{
    MDB_val v;
    if (store_get(s, s->meta, key, strlen(key), &v))
        return NULL;
    return xstrndup(v.mv_data, v.mv_size);
}

int store_set_meta_str(struct store *s, const char *key, const char *v)
{
    return store_put(s, s->meta, key, strlen(key), v, strlen(v));
}

double store_meta_double(struct store *s, const char *key, double def)
{
    char *v = store_meta_str(s, key);
    double d = v ? strtod(v, NULL) : def;
    free(v);
    return d;
}

void store_meta_bm25(struct store *s, double *k1, double *b)
{
    *k1 = store_meta_double(s, "bm25_k1", BM25_K1);
    *b = store_meta_double(s, "bm25_b", BM25_B);
}

int store_set_meta_double(struct store *s, const char *key, double v)
{
    char b[64];
    snprintf(b, sizeof b, "%.17g", v);
    return store_set_meta_str(s, key, b);
}

/* A number setting: absent, or a whole decimal number in [lo, hi]. */
static int setting_number(struct store *s, const char *key, double lo, double hi, lode_error *err)
{
    MDB_val v;
    if (store_get(s, s->meta, key, strlen(key), &v))
        return 0;
    char b[64] = "";
    char *end = b;
    double d = NAN;
    if (v.mv_size < sizeof b) {
        memcpy(b, v.mv_data, v.mv_size);
        b[v.mv_size] = 0;
        d = strtod(b, &end);
    }
    if (end == b || *end || !(d >= lo && d <= hi))
        return lode_fail(err, LODE_ECORRUPT,
                         "%s is damaged: its setting %s is \"%.*s\" (a number from %g to %g)",
                         s->dir, key, v.mv_size < sizeof b ? (int)v.mv_size : 16,
                         (const char *)v.mv_data, lo, hi);
    return 0;
}

static int setting_u64(struct store *s, const char *key, uint64_t lo, uint64_t hi, lode_error *err)
{
    MDB_val v;
    if (store_get(s, s->meta, key, strlen(key), &v))
        return 0;
    uint64_t x = store_meta_u64(s, key, 0);
    if (v.mv_size != 8 || x < lo || x > hi)
        return lode_fail(err, LODE_ECORRUPT,
                         "%s is damaged: its setting %s is %llu (%llu to %llu)%s", s->dir, key,
                         (unsigned long long)x, (unsigned long long)lo, (unsigned long long)hi,
                         v.mv_size != 8 ? ", or not 8 bytes" : "");
    return 0;
}

int store_check_settings(struct store *s, lode_error *err)
{
    int rc;
    if ((rc = setting_number(s, "bm25_k1", 0, 1e6, err)) < 0 ||
        (rc = setting_number(s, "bm25_b", 0, 1, err)) < 0 ||
        (rc = setting_u64(s, "dim", 0, STORE_MAX_DIM, err)) < 0 ||
        (rc = setting_u64(s, "hnsw_m", 2, 256, err)) < 0 ||
        (rc = setting_u64(s, "hnsw_efc", 1, INT32_MAX, err)) < 0 ||
        (rc = setting_u64(s, "next", 0, UINT32_MAX, err)) < 0)
        return rc;
    char *q = store_meta_str(s, "quantize");
    int bad = q && strcmp(q, "f32") && strcmp(q, "int8");
    if (bad)
        rc = lode_fail(err, LODE_ECORRUPT,
                       "%s is damaged: its setting quantize is \"%.16s\" (f32 or int8)", s->dir, q);
    free(q);
    if (rc < 0)
        return rc;
    uint64_t next = store_meta_u64(s, "next", 0), n = store_meta_u64(s, "n", 0);
    if (n > next)
        return lode_fail(err, LODE_ECORRUPT,
                         "%s is damaged: it counts %llu chunks but has numbered only %llu", s->dir,
                         (unsigned long long)n, (unsigned long long)next);
    /* the counter must be past the last chunk: a writer would overwrite */
    uint64_t span;
    if ((rc = store_chunk_span(s, &span, err)) < 0)
        return rc;
    if (span > next)
        return lode_fail(err, LODE_ECORRUPT,
                         "%s is damaged: its chunk counter (%llu) is behind its chunks (the last "
                         "is number %llu); lode-index --salvage copies them into a new store",
                         s->dir, (unsigned long long)next, (unsigned long long)span - 1);
    return 0;
}

int store_chunk_span(struct store *s, uint64_t *span, lode_error *err)
{
    *span = 0;
    MDB_cursor *c;
    MDB_val k, v;
    if (mdb_cursor_open(s->txn, s->chunks, &c))
        return lode_fail(err, LODE_ECORRUPT, "%s is damaged: cannot read its chunks", s->dir);
    int rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_fail(s, err, rc, "its last chunk");
    if (k.mv_size != 4)
        return lode_fail(err, LODE_ECORRUPT, "%s is damaged: a chunk key of %zu bytes", s->dir,
                         k.mv_size);
    *span = (uint64_t)get_be32(k.mv_data) + 1;
    return 0;
}

size_t store_postings_key(unsigned char *key, const char *term, size_t tl, uint32_t base)
{
    memcpy(key, term, tl);
    key[tl] = 0;
    put_be32(key + tl + 1, base);
    return tl + 5;
}

size_t store_encode_postings(unsigned char *out, uint32_t base, const uint32_t *pairs, size_t n)
{
    size_t p = put_varint(out, n);
    uint32_t prev = base;
    for (size_t i = 0; i < n; i++) {
        p += put_varint(out + p, pairs[2 * i] - prev);
        p += put_varint(out + p, pairs[2 * i + 1]);
        prev = pairs[2 * i];
    }
    return p;
}

size_t store_decode_postings(const MDB_val *v, uint32_t base, uint32_t **pairs)
{
    const unsigned char *p = v->mv_data, *end = p + v->mv_size;
    uint64_t n, d, tf;
    *pairs = NULL;
    if (!get_varint(&p, end, &n) || n == 0 || n > STORE_POSTINGS_BLOCK * 4)
        return 0;
    uint32_t *out = xmalloc(sizeof *out * (2 * n + 1));
    uint64_t prev = base;
    for (uint64_t i = 0; i < n; i++) {
        if (!get_varint(&p, end, &d) || !get_varint(&p, end, &tf) || (i && d == 0) ||
            prev + d > UINT32_MAX || tf == 0 || tf > UINT32_MAX) {
            free(out);
            return 0;
        }
        prev += d;
        out[2 * i] = (uint32_t)prev;
        out[2 * i + 1] = (uint32_t)tf;
    }
    *pairs = out;
    return (size_t)n;
}

size_t store_count_postings(const MDB_val *v)
{
    const unsigned char *p = v->mv_data, *end = p + v->mv_size;
    uint64_t n;
    if (!get_varint(&p, end, &n) || n > STORE_POSTINGS_BLOCK * 4)
        return 0;
    return (size_t)n;
}

int store_source_parse(const MDB_val *v, struct store_source *out)
{
    const unsigned char *p = v->mv_data;
    if (v->mv_size < 21)
        return LODE_ECORRUPT;
    out->complete = p[0];
    memcpy(out->doc, p + 1, 16);
    out->doc[16] = 0;
    out->doc[strnlen(out->doc, 16)] = 0;
    out->n = get_le32(p + 17);
    out->nums = p + 21;
    if ((size_t)out->n != (v->mv_size - 21) / 4 || (v->mv_size - 21) % 4)
        return LODE_ECORRUPT;
    return 0;
}

uint64_t store_data_bytes(const char *dir)
{
    char *path = xasprintf("%s/data.mdb", dir);
    struct stat st;
    uint64_t n = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    free(path);
    return n;
}
