/* safetensors files: the JSON header, dtypes, shapes and offsets. */
#include "fuzz.h"
#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct safetensors st;
    lode_error err;
    if (safetensors_open(fuzz_file("model.safetensors", data, size), &st, &err) == 0)
        safetensors_close(&st);
    return 0;
}
