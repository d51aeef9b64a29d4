/* pages.h - a store's data.mdb read page by page with pread, without LMDB,
 * for what LMDB cannot do: say what is damaged (lode-index --check) and
 * read what is not (--salvage).
 *
 * LMDB trusts its pages; this reader trusts nothing: every page number is
 * checked against the last page the meta page names, every page against
 * its own number and kind, every node against its page's bounds, every
 * overflow run against the file, and a page reached twice (a cycle, or two
 * parents) is a problem. A damaged page is reported and its subtree
 * skipped; the rest is read. (64-bit LMDB 0.9 layout.)
 *
 * Caveats: reads the last committed tree of a file no writer is changing
 * (a writer may reuse free pages under it: --salvage copies a store that is
 * not being written).
 */
#ifndef LODE_PAGES_H
#define LODE_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct pages;

/* A problem found: msg names the database and page. */
typedef void (*pages_problem_fn)(void *ud, const char *msg);
/* An entry that could be read, in key order; val holds vn bytes. */
typedef void (*pages_entry_fn)(void *ud, const void *key, size_t kn, const void *val, size_t vn);

/* Opens DIR/data.mdb; NULL with err when it has no valid meta page. */
struct pages *pages_open(const char *dir, lode_error *err);
void pages_close(struct pages *p);

/* Walks the named database (NULL: the free list), calling entry (may be
 * NULL) for each readable entry and problem for each damage. Returns the
 * entries read, or LODE_ENOTFOUND when the database is not in the store. */
long pages_walk(struct pages *p, const char *db, pages_entry_fn entry, pages_problem_fn problem,
                void *ud);

/* Walks the main database, every database it names and the free list;
 * returns the number of problems. */
long pages_check(struct pages *p, pages_problem_fn problem, void *ud);

/* Turns to the tree of the other meta page (the previous commit; again:
 * back to the newest): 0, or LODE_ENOTFOUND when it is not valid. */
int pages_older(struct pages *p);

/* The last resort when no tree can be followed (its root cut off): every
 * leaf page of the file that is whole, whatever its database, each entry
 * handed to entry. Free pages are leaves too: entries of earlier commits
 * (deleted or replaced records) come back with the rest. */
long pages_scan(struct pages *p, pages_entry_fn entry, pages_problem_fn problem, void *ud);

#endif
