/* The settings a store keeps (meta): lines KEY=VALUE are written into a
 * new store's meta (KEY#=N as an 8-byte number), then read as every
 * reader and writer reads them: checked, and a searcher opened over them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "fuzz.h"
#include "store/search.h"
#include "store/store.h"

static char dir[600];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        snprintf(dir, sizeof dir, "%s/settings", fuzz_dir());
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        die("cannot remove %s", dir);
    struct store s;
    lode_error err;
    if (store_open(dir, STORE_WRITE, 0, &s, &err) < 0 || store_begin(&s, 1, &err) < 0)
        die("%s", err.msg);
    char *text = xstrndup((const char *)data, size);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq || eq == line)
            continue;
        *eq = 0;
        size_t kl = strlen(line);
        if (kl > 1 && line[kl - 1] == '#') {
            line[kl - 1] = 0;
            store_set_meta_u64(&s, line, strtoull(eq + 1, NULL, 10));
        } else {
            store_set_meta_str(&s, line, eq + 1);
        }
    }
    free(text);
    if (store_commit(&s, &err) == 0 && store_begin(&s, 0, &err) == 0) {
        store_check_settings(&s, &err);
        store_abort(&s);
        struct searcher *se = searcher_open(&s, 1, &err);
        if (se)
            searcher_close(se);
    }
    store_close(&s);
    return 0;
}
