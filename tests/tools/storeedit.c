/* storeedit: changes a store behind lode's back, for the tests of stores
 * whose contents cannot be trusted.
 *
 *   storeedit DIR str KEY VALUE        meta KEY = the string VALUE
 *   storeedit DIR u64 KEY N            meta KEY = N as 8 little-endian bytes
 *   storeedit DIR put DB KEY VALUE     in database DB, KEY = VALUE (strings)
 *   storeedit DIR del DB KEY           in database DB, KEY removed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/store.h"

int main(int argc, char **argv)
{
    util_set_progname("storeedit");
    int meta = argc == 5 && (!strcmp(argv[2], "str") || !strcmp(argv[2], "u64"));
    int put = argc == 6 && !strcmp(argv[2], "put"), del = argc == 5 && !strcmp(argv[2], "del");
    if (!meta && !put && !del) {
        fprintf(stderr, "usage: storeedit DIR str|u64 KEY VALUE | put DB KEY VALUE | del DB KEY\n");
        return 2;
    }
    struct store s;
    lode_error err;
    if (store_open(argv[1], STORE_WRITE, 0, &s, &err) < 0 || store_begin(&s, 1, &err) < 0)
        die("%s", err.msg);
    int rc;
    if (meta) {
        rc = !strcmp(argv[2], "str") ? store_set_meta_str(&s, argv[3], argv[4])
                                     : store_set_meta_u64(&s, argv[3], strtoull(argv[4], NULL, 10));
    } else {
        MDB_dbi db;
        if (mdb_dbi_open(s.txn, argv[3], 0, &db) != 0)
            die("no database %s", argv[3]);
        rc = put ? store_put(&s, db, argv[4], strlen(argv[4]), argv[5], strlen(argv[5]))
                 : store_del(&s, db, argv[4], strlen(argv[4]));
    }
    if (rc < 0 || store_commit(&s, &err) < 0)
        die("cannot change %s", argv[3]);
    store_close(&s);
    return 0;
}
