/* Hugging Face tokenizers: tokenizer.json for the byte-level BPE reader
 * (first byte even), for WordPiece (1 mod 4) or for Unigram (3 mod 4);
 * with the first byte 2 mod 4 the rest is a vocab.txt instead. Each one
 * that loads encodes a text. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "fuzz.h"
#include "model/tokenizer.h"
#include "model/unigram.h"
#include "model/wordpiece.h"

static const char text[] =
    "Hello, world! caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 [SEP] <|im_end|> 3.14  e\xCC\x82\xCC\x81 "
    "\xEF\xBD\xB6\xEF\xBE\x9E <mask> \xE2\x96\x81x ";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tok", fuzz_dir());
    mkdir(dir, 0700);
    char tj[640], vt[640];
    snprintf(tj, sizeof tj, "%s/tokenizer.json", dir);
    snprintf(vt, sizeof vt, "%s/vocab.txt", dir);
    unlink(tj);
    unlink(vt);
    int vocab = data[0] % 4 == 2;
    fuzz_file(vocab ? "tok/vocab.txt" : "tok/tokenizer.json", data + 1, size - 1);
    lode_error err;
    if (data[0] % 2 == 0 && !vocab) {
        struct tokenizer t;
        if (tok_from_hf(dir, &t, &err) == 0) {
            int *ids = NULL;
            tok_encode(&t, text, sizeof text - 1, 1, 1, &ids);
            free(ids);
            tok_free(&t);
        }
    } else if (data[0] % 4 == 3) {
        struct unigram *u = unigram_load(dir, &err);
        if (u) {
            int *ids = NULL;
            unigram_encode(u, text, sizeof text - 1, &ids);
            free(ids);
            unigram_free(u);
        }
    } else {
        struct wordpiece *wp = wordpiece_load(dir, &err);
        if (wp) {
            struct wp_token *tk = NULL;
            wordpiece_encode(wp, text, sizeof text - 1, &tk);
            free(tk);
            wordpiece_free(wp);
        }
    }
    return 0;
}
