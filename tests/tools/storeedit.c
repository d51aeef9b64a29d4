/* storeedit: changes one meta setting of a store behind lode's back, for
 * the tests of stores whose settings cannot be trusted.
 *
 *   storeedit DIR str KEY VALUE     meta KEY = the string VALUE
 *   storeedit DIR u64 KEY N         meta KEY = N as 8 little-endian bytes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/store.h"

int main(int argc, char **argv)
{
    util_set_progname("storeedit");
    if (argc != 5 || (strcmp(argv[2], "str") && strcmp(argv[2], "u64"))) {
        fprintf(stderr, "usage: storeedit DIR str|u64 KEY VALUE\n");
        return 2;
    }
    struct store s;
    lode_error err;
    if (store_open(argv[1], STORE_WRITE, 0, &s, &err) < 0 || store_begin(&s, 1, &err) < 0)
        die("%s", err.msg);
    int rc = !strcmp(argv[2], "str") ? store_set_meta_str(&s, argv[3], argv[4])
                                     : store_set_meta_u64(&s, argv[3], strtoull(argv[4], NULL, 10));
    if (rc < 0 || store_commit(&s, &err) < 0)
        die("cannot write %s", argv[3]);
    store_close(&s);
    return 0;
}
