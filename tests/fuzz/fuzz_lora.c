/* LoRA adapters (lode-generate --lora) and fine-tuning checkpoints
 * (lode-finetune --resume), both GGUF, read against a real tiny Llama. */
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"

#include "fuzz.h"
#include "model/gguf.h"
#include "model/lora.h"
#include "train/finetune.h"
#include "train/train.h"

static struct decoder model;
static struct trainer *trainer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char path[512];
    snprintf(path, sizeof path, "%s/models/tiny-gguf/llama-tiny-f32.gguf", fuzz_shared());
    lode_error err;
    if (decoder_load(path, &model, &err) < 0)
        die("%s", err.msg);
    /* lode-finetune's defaults: q and v, rank 8, alpha 16 */
    struct train_cfg tc = {(1u << LORA_Q) | (1u << LORA_V), 8, 16, 0, 1, 1, 0};
    trainer = trainer_new(&model, &tc, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!trainer)
        LLVMFuzzerInitialize(NULL, NULL);
    const char *path = fuzz_file("adapter.gguf", data, size);
    lode_error err;
    struct lora a = {0};
    if (lora_load(path, &model, 1.0f, &a, &err) == 0)
        lora_free(&a);
    /* a checkpoint of this run: its own fingerprint, so the rest is read */
    struct gguf g;
    if (gguf_open_mem(data, size, "fuzz.ckpt", &g, &err) == 0) {
        const char *fp = gguf_str(&g, "lode.finetune.fingerprint");
        if (fp)
            ft_checkpoint_load(trainer, path, fp, &err);
        gguf_close(&g);
    }
    return 0;
}
