/* pages.c - pages.h's reader of LMDB's file format: meta pages, branch and
 * leaf pages, overflow runs, the main database's named databases. */
#include "store/pages.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* LMDB 0.9, 64-bit: a page starts with its number (8), padding (2), flags
 * (2), lower and upper bounds of its free space (2 + 2; an overflow page's
 * page count in their place), then the node offsets (2 each). A node:
 * data size or child page low 32 bits (4), flags or child page high 16
 * bits (2), key size (2), the key, the data. A database record (MDB_db):
 * pad (4), flags (2), depth (2), four counts (8 each), the root (8). */
#define PAGE_HDR 16
#define NODE_HDR 8
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define F_BIGDATA 0x01
#define F_SUBDATA 0x02
#define F_DUPDATA 0x04
#define DB_SIZE 48
#define MAX_DEPTH 32
#define NO_PAGE UINT64_MAX
#define META_MAGIC 0xBEEFC0DEu

struct pages {
    char *dir;
    int fd;
    uint64_t psize, last, filepages;
    uint64_t free_root, main_root;
    unsigned char *seen; /* a bit per page: reached in this walk */
    /* the walk in progress */
    const char *db;
    pages_entry_fn entry;
    pages_problem_fn problem;
    void *ud;
    long entries, problems;
    int scanning;                    /* pages_scan: pages may be reached twice */
    int older_ok;                    /* the other meta page is valid, unused */
    uint64_t older_free, older_main; /* its roots */
    /* the main database's walk: the one looked for, or all collected */
    const char *find;
    uint64_t find_root;
    int found; /* 1, or -1 for a database with duplicate keys */
    int collect;
    char **names;
    uint64_t *roots;
    size_t nnames;
};

static uint16_t u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t u32(const unsigned char *p)
{
    return (uint32_t)u16(p) | (uint32_t)u16(p + 2) << 16;
}

static uint64_t u64(const unsigned char *p)
{
    return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

static void say(struct pages *p, const char *fmt, ...) LODE_PRINTF(2, 3);
static void say(struct pages *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(msg, sizeof msg, "%s: ", p->db ? p->db : "free list");
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    p->problems++;
    if (p->problem)
        p->problem(p->ud, msg);
}

/* A meta page's page size, last page, transaction and the two roots. */
static int meta(const unsigned char *m, uint64_t *psize, uint64_t *last, uint64_t *txn,
                uint64_t *free_root, uint64_t *main_root)
{
    const unsigned char *b = m + PAGE_HDR;
    *psize = u32(b + 24);
    *free_root = u64(b + 24 + 40);
    *main_root = u64(b + 24 + DB_SIZE + 40);
    *last = u64(b + 120);
    *txn = u64(b + 128);
    return u32(b) == META_MAGIC && *psize >= 512 && *psize <= 65536 && !(*psize & (*psize - 1));
}

struct pages *pages_open(const char *dir, lode_error *err)
{
    char *path = xasprintf("%s/data.mdb", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        lode_fail(err, lode_errno_code(errno), "%s: %s", path, strerror(errno));
        free(path);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    free(path);
    unsigned char m0[PAGE_HDR + 136], m1[PAGE_HDR + 136];
    uint64_t ps0, l0, t0, f0, r0, ps1, l1, t1, f1, r1;
    int ok0 =
        pread(fd, m0, sizeof m0, 0) == (ssize_t)sizeof m0 && meta(m0, &ps0, &l0, &t0, &f0, &r0);
    int ok1 = ok0 && pread(fd, m1, sizeof m1, (off_t)ps0) == (ssize_t)sizeof m1 &&
        meta(m1, &ps1, &l1, &t1, &f1, &r1) && ps1 == ps0;
    if (!ok0) {
        close(fd);
        lode_fail(err, LODE_ECORRUPT, "%s is damaged: data.mdb has no valid LMDB header", dir);
        return NULL;
    }
    struct pages *p = xcalloc(1, sizeof *p);
    p->dir = xstrdup(dir);
    p->fd = fd;
    p->psize = ps0;
    int second = ok1 && t1 > t0;
    p->free_root = second ? f1 : f0;
    p->main_root = second ? r1 : r0;
    p->older_ok = second || ok1;
    p->older_free = second ? f0 : f1;
    p->older_main = second ? r0 : r1;
    p->filepages = (uint64_t)st.st_size / ps0;
    /* pages past the end are damage: read only what the file holds */
    uint64_t held = p->filepages ? p->filepages - 1 : 0;
    p->last = (second ? l1 : l0) > held ? held : (second ? l1 : l0);
    p->seen = xcalloc(held / 8 + 1, 1);
    return p;
}

void pages_close(struct pages *p)
{
    if (!p)
        return;
    close(p->fd);
    free(p->seen);
    free(p->dir);
    free(p);
}

/* Reads n pages from pgno into buf: 0, or -1 reported. */
static int read_pages(struct pages *p, uint64_t pgno, uint64_t n, unsigned char *buf)
{
    if (pgno < 2 || pgno > p->last || n > p->last - pgno + 1) {
        say(p, "page %llu%s is beyond the file's %llu pages", (unsigned long long)pgno,
            n > 1 ? " (an overflow run)" : "", (unsigned long long)p->last + 1);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t q = pgno + i;
        if (!p->scanning && (p->seen[q / 8] & (1u << (q % 8)))) {
            say(p, "page %llu is reached twice", (unsigned long long)q);
            return -1;
        }
        p->seen[q / 8] |= (unsigned char)(1u << (q % 8));
    }
    size_t len = (size_t)(n * p->psize);
    if (pread(p->fd, buf, len, (off_t)(pgno * p->psize)) != (ssize_t)len) {
        say(p, "page %llu cannot be read", (unsigned long long)pgno);
        return -1;
    }
    if (u64(buf) != pgno) {
        say(p, "page %llu says it is page %llu", (unsigned long long)pgno,
            (unsigned long long)u64(buf));
        return -1;
    }
    return 0;
}

/* A leaf node's value: in the page, or an overflow run. */
static void leaf_value(struct pages *p, const unsigned char *node, const unsigned char *end,
                       uint64_t pgno, size_t k)
{
    unsigned flags = u16(node + 4), ksize = u16(node + 6);
    size_t dsize = u32(node);
    const unsigned char *key = node + NODE_HDR, *data = key + ksize;
    if (flags & F_DUPDATA) {
        say(p, "page %llu: node %zu has duplicate values (no lode database does)",
            (unsigned long long)pgno, k);
        return;
    }
    if (!(flags & F_BIGDATA)) {
        if (dsize > (size_t)(end - data)) {
            say(p, "page %llu: node %zu's value runs past the page", (unsigned long long)pgno, k);
            return;
        }
        p->entries++;
        if (p->entry)
            p->entry(p->ud, key, ksize, data, dsize);
        return;
    }
    if (end - data < 8) {
        say(p, "page %llu: node %zu's overflow page number runs past the page",
            (unsigned long long)pgno, k);
        return;
    }
    uint64_t first = u64(data);
    uint64_t n = (dsize + PAGE_HDR + p->psize - 1) / p->psize;
    if (first < 2 || first > p->last || n > p->last - first + 1) {
        say(p, "page %llu: node %zu's value (%zu bytes at page %llu) is beyond the file",
            (unsigned long long)pgno, k, dsize, (unsigned long long)first);
        return;
    }
    unsigned char *run = xmalloc((size_t)(n * p->psize));
    if (read_pages(p, first, n, run) == 0) {
        if (!(u16(run + 10) & P_OVERFLOW) || u32(run + 12) < n)
            say(p, "page %llu: not the overflow run node %zu of page %llu points to",
                (unsigned long long)first, k, (unsigned long long)pgno);
        else {
            p->entries++;
            if (p->entry)
                p->entry(p->ud, key, ksize, run + PAGE_HDR, dsize);
        }
    }
    free(run);
}

static void walk(struct pages *p, uint64_t pgno, int depth,
                 void (*leaf)(struct pages *, const unsigned char *, const unsigned char *,
                              uint64_t, size_t))
{
    if (depth > MAX_DEPTH) {
        say(p, "page %llu is deeper than %d levels", (unsigned long long)pgno, MAX_DEPTH);
        return;
    }
    unsigned char *pg = xmalloc((size_t)p->psize);
    if (read_pages(p, pgno, 1, pg) < 0) {
        free(pg);
        return;
    }
    unsigned flags = u16(pg + 10), lower = u16(pg + 12), upper = u16(pg + 14);
    unsigned kind = flags & (P_BRANCH | P_LEAF | P_OVERFLOW);
    if (kind != P_BRANCH && kind != P_LEAF) {
        say(p, "page %llu is neither a branch nor a leaf (flags 0x%x)", (unsigned long long)pgno,
            flags);
        free(pg);
        return;
    }
    if (lower < PAGE_HDR || (lower - PAGE_HDR) % 2 || lower > upper || upper > p->psize) {
        say(p, "page %llu: its bounds %u..%u do not fit a page of %llu bytes",
            (unsigned long long)pgno, lower, upper, (unsigned long long)p->psize);
        free(pg);
        return;
    }
    size_t n = (lower - PAGE_HDR) / 2;
    if (kind == P_BRANCH && n < 1)
        say(p, "page %llu: a branch without children", (unsigned long long)pgno);
    const unsigned char *end = pg + p->psize;
    for (size_t i = 0; i < n; i++) {
        unsigned off = u16(pg + PAGE_HDR + 2 * i);
        if (off < upper || off > p->psize - NODE_HDR ||
            u16(pg + off + 6) > p->psize - off - NODE_HDR) {
            say(p, "page %llu: node %zu lies outside the page", (unsigned long long)pgno, i);
            continue;
        }
        const unsigned char *node = pg + off;
        if (kind == P_BRANCH)
            walk(p, (uint64_t)u32(node) | (uint64_t)u16(node + 4) << 32, depth + 1, leaf);
        else
            leaf(p, node, end, pgno, i);
    }
    free(pg);
}

/* The main database's leaves: each names a database (its MDB_db record);
 * the one looked for gives its root, or all are collected. */
static void main_leaf(struct pages *p, const unsigned char *node, const unsigned char *end,
                      uint64_t pgno, size_t k)
{
    unsigned flags = u16(node + 4), ksize = u16(node + 6);
    const unsigned char *key = node + NODE_HDR, *data = key + ksize;
    if (!(flags & F_SUBDATA) || u32(node) != DB_SIZE || end - data < DB_SIZE) {
        say(p, "page %llu: entry %zu is not a database", (unsigned long long)pgno, k);
        return;
    }
    p->entries++;
    int dups = (u16(data + 4) & 0x04) != 0; /* duplicate keys: not one of lode's */
    if (p->find && strlen(p->find) == ksize && !memcmp(p->find, key, ksize)) {
        p->found = dups ? -1 : 1;
        p->find_root = u64(data + 40);
    } else if (p->collect) {
        p->names = xrealloc(p->names, sizeof *p->names * (p->nnames + 1));
        p->roots = xrealloc(p->roots, sizeof *p->roots * (p->nnames + 1));
        p->names[p->nnames] = xstrndup((const char *)key, ksize);
        p->roots[p->nnames++] = dups ? NO_PAGE - 1 : u64(data + 40);
    }
}

static void data_leaf(struct pages *p, const unsigned char *node, const unsigned char *end,
                      uint64_t pgno, size_t k)
{
    leaf_value(p, node, end, pgno, k);
}

static void begin(struct pages *p, const char *db, pages_entry_fn entry, pages_problem_fn problem,
                  void *ud)
{
    memset(p->seen, 0, p->last / 8 + 1);
    p->db = db, p->entry = entry, p->problem = problem, p->ud = ud;
    p->entries = 0, p->problems = 0;
}

/* One database's tree from its root (NO_PAGE: empty; NO_PAGE - 1: one
 * with duplicate keys). */
static void walk_db(struct pages *p, const char *db, uint64_t root, pages_entry_fn entry,
                    pages_problem_fn problem, void *ud)
{
    begin(p, db, entry, problem, ud);
    if (root == NO_PAGE - 1)
        say(p, "it has duplicate keys (not a lode database)");
    else if (root != NO_PAGE)
        walk(p, root, 0, data_leaf);
}

long pages_walk(struct pages *p, const char *db, pages_entry_fn entry, pages_problem_fn problem,
                void *ud)
{
    uint64_t root = p->free_root;
    if (db) {
        begin(p, "main", NULL, problem, ud);
        p->find = db, p->found = 0;
        if (p->main_root != NO_PAGE)
            walk(p, p->main_root, 0, main_leaf);
        p->find = NULL;
        if (!p->found)
            return LODE_ENOTFOUND;
        root = p->found < 0 ? NO_PAGE - 1 : p->find_root;
    }
    walk_db(p, db, root, entry, problem, ud);
    return p->entries;
}

long pages_check(struct pages *p, pages_problem_fn problem, void *ud)
{
    begin(p, "main", NULL, problem, ud);
    p->collect = 1;
    if (p->main_root != NO_PAGE)
        walk(p, p->main_root, 0, main_leaf);
    p->collect = 0;
    long total = p->problems;
    for (size_t i = 0; i < p->nnames; i++) {
        walk_db(p, p->names[i], p->roots[i], NULL, problem, ud);
        total += p->problems;
    }
    walk_db(p, NULL, p->free_root, NULL, problem, ud);
    total += p->problems;
    for (size_t i = 0; i < p->nnames; i++)
        free(p->names[i]);
    free(p->names);
    free(p->roots);
    p->names = NULL, p->roots = NULL, p->nnames = 0;
    return total;
}

int pages_older(struct pages *p)
{
    if (!p->older_ok)
        return LODE_ENOTFOUND;
    uint64_t f = p->free_root, m = p->main_root;
    p->free_root = p->older_free, p->main_root = p->older_main;
    p->older_free = f, p->older_main = m;
    return 0;
}

long pages_scan(struct pages *p, pages_entry_fn entry, pages_problem_fn problem, void *ud)
{
    begin(p, "scan", entry, problem, ud);
    p->scanning = 1;
    unsigned char *pg = xmalloc((size_t)p->psize);
    for (uint64_t n = 2; n <= p->last; n++) {
        if (pread(p->fd, pg, (size_t)p->psize, (off_t)(n * p->psize)) != (ssize_t)p->psize)
            break;
        unsigned flags = u16(pg + 10), lower = u16(pg + 12), upper = u16(pg + 14);
        if (u64(pg) != n || (flags & (P_BRANCH | P_LEAF | P_OVERFLOW)) != P_LEAF ||
            lower < PAGE_HDR || (lower - PAGE_HDR) % 2 || lower > upper || upper > p->psize)
            continue;
        for (size_t i = 0; i < (lower - PAGE_HDR) / 2u; i++) {
            unsigned off = u16(pg + PAGE_HDR + 2 * i);
            if (off >= upper && off <= p->psize - NODE_HDR &&
                u16(pg + off + 6) <= p->psize - off - NODE_HDR)
                leaf_value(p, pg + off, pg + p->psize, n, i);
        }
    }
    free(pg);
    p->scanning = 0;
    return p->entries;
}
