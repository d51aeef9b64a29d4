/* An encoder's config.json (and the pooling and sentence-transformers
 * files beside it) over a real tiny BERT's weights and vocabulary. */
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "fuzz.h"
#include "model/bert.h"

static char dir[600];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "%s/bert", fuzz_dir());
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp -r '%s/models/tiny-bert-f32' '%s' && chmod -R u+w '%s'",
             fuzz_shared(), dir, dir);
    if (system(cmd) != 0)
        die("cannot copy the tiny BERT");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        LLVMFuzzerInitialize(NULL, NULL);
    fuzz_file("bert/config.json", data, size);
    struct bert m;
    lode_error err;
    if (bert_load(dir, &m, &err) == 0)
        bert_free(&m);
    return 0;
}
