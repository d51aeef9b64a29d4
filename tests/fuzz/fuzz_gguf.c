/* GGUF model files: the header (gguf_open_mem), the tokenizer a GGUF
 * carries, and the decoder's reading of its tensors and settings. */
#include <stdlib.h>

#include "fuzz.h"
#include "model/decoder.h"
#include "model/gguf.h"
#include "model/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gguf g;
    lode_error err;
    if (gguf_open_mem(data, size, "fuzz.gguf", &g, &err) < 0)
        return 0;
    struct tokenizer t;
    if (tok_from_gguf(&g, &t, &err) == 0) {
        int *ids = NULL;
        size_t n = tok_encode(&t, "Hello world <|im_start|> 42", 27, 1, 1, &ids);
        GString *s = g_string_new(NULL);
        for (size_t i = 0; i < n; i++)
            tok_piece(&t, ids[i], s);
        g_string_free(s, TRUE);
        free(ids);
        tok_free(&t);
    }
    gguf_close(&g);
    struct decoder m;
    if (decoder_load(fuzz_file("model.gguf", data, size), &m, &err) == 0)
        decoder_free(&m);
    return 0;
}
