/* mkbert DIR [layers hidden heads inter vocab [xlm-roberta]]: writes a BERT
 * (or, with xlm-roberta, an XLM-RoBERTa: 514 positions from pad id 1 + 1,
 * one token type, LayerNorm eps 1e-5) encoder with
 * random weights (seeded, normal with standard deviation 0.02, LayerNorms 1
 * and 0) in sentence-transformers layout: config.json, model.safetensors,
 * modules.json, 1_Pooling/config.json, sentence_bert_config.json. The
 * defaults are all-MiniLM-L6-v2's shape (6 layers, 384 hidden, 12 heads,
 * 1536 feed-forward, 30522 pieces); copy a tokenizer beside it. For
 * benchmarks: the numbers are meaningless, the work is real. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct t {
    char name[96];
    int64_t a, b; /* b = 0: one dimension */
    int fill;     /* 0 random, 1 ones, 2 zeros */
};

static uint64_t state = 0x9E3779B97F4A7C15ull;

static double uniform(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return ((state >> 11) + 0.5) / 9007199254740992.0;
}

static float normal(void)
{
    return (float)(sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()));
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 7 && !(argc == 8 && !strcmp(argv[7], "xlm-roberta"))) {
        fprintf(stderr, "usage: mkbert DIR [layers hidden heads inter vocab [xlm-roberta]]\n");
        return 2;
    }
    int L = 6, H = 384, heads = 12, I = 1536, V = 30522, P = 512, xlmr = argc == 8;
    if (xlmr)
        P = 514;
    if (argc >= 7) {
        L = atoi(argv[2]);
        H = atoi(argv[3]);
        heads = atoi(argv[4]);
        I = atoi(argv[5]);
        V = atoi(argv[6]);
    }
    const char *dir = argv[1];
    char path[1024];
    struct t *ts = calloc(8 + 16 * (size_t)L, sizeof *ts);
    int n = 0;
#define T(nm, x, y, f)                                                                \
    (snprintf(ts[n].name, sizeof ts[n].name, "%s", nm), ts[n].a = (x), ts[n].b = (y), \
     ts[n].fill = (f), n++)
    T("embeddings.word_embeddings.weight", V, H, 0);
    T("embeddings.position_embeddings.weight", P, H, 0);
    T("embeddings.token_type_embeddings.weight", xlmr ? 1 : 2, H, 0);
    T("embeddings.LayerNorm.weight", H, 0, 1);
    T("embeddings.LayerNorm.bias", H, 0, 2);
    for (int l = 0; l < L; l++) {
        static const char *const names[] = {"attention.self.query", "attention.self.key",
                                            "attention.self.value", "attention.output.dense"};
        char nm[96];
        for (int k = 0; k < 4; k++) {
            snprintf(nm, sizeof nm, "encoder.layer.%d.%s.weight", l, names[k]);
            T(nm, H, H, 0);
            snprintf(nm, sizeof nm, "encoder.layer.%d.%s.bias", l, names[k]);
            T(nm, H, 0, 0);
        }
        snprintf(nm, sizeof nm, "encoder.layer.%d.attention.output.LayerNorm.weight", l);
        T(nm, H, 0, 1);
        snprintf(nm, sizeof nm, "encoder.layer.%d.attention.output.LayerNorm.bias", l);
        T(nm, H, 0, 2);
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense.weight", l);
        T(nm, I, H, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense.bias", l);
        T(nm, I, 0, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense.weight", l);
        T(nm, H, I, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense.bias", l);
        T(nm, H, 0, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.LayerNorm.weight", l);
        T(nm, H, 0, 1);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.LayerNorm.bias", l);
        T(nm, H, 0, 2);
    }
    /* header */
    size_t cap = 1 << 20, len = 0;
    char *h = malloc(cap);
    uint64_t off = 0;
    len += (size_t)snprintf(h + len, cap - len, "{");
    for (int i = 0; i < n; i++) {
        uint64_t bytes = (uint64_t)ts[i].a * (uint64_t)(ts[i].b ? ts[i].b : 1) * 4;
        if (ts[i].b)
            len += (size_t)snprintf(
                h + len, cap - len,
                "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],\"data_offsets\":[%llu,%llu]}",
                i ? "," : "", ts[i].name, (long long)ts[i].a, (long long)ts[i].b,
                (unsigned long long)off, (unsigned long long)(off + bytes));
        else
            len += (size_t)snprintf(
                h + len, cap - len,
                "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],\"data_offsets\":[%llu,%llu]}",
                i ? "," : "", ts[i].name, (long long)ts[i].a, (unsigned long long)off,
                (unsigned long long)(off + bytes));
        off += bytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8)
        h[len++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint64_t hl = len;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(hl >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(h, 1, len, f);
    float *buf = malloc(sizeof(float) * 1 << 20);
    for (int i = 0; i < n; i++) {
        int64_t count = ts[i].a * (ts[i].b ? ts[i].b : 1);
        while (count > 0) {
            int64_t k = count < (1 << 20) ? count : (1 << 20);
            for (int64_t j = 0; j < k; j++)
                buf[j] = ts[i].fill == 1 ? 1.0f : ts[i].fill == 2 ? 0.0f : 0.02f * normal();
            fwrite(buf, sizeof(float), (size_t)k, f);
            count -= k;
        }
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    fprintf(f,
            "{\"model_type\":\"%s\",\"hidden_size\":%d,\"num_hidden_layers\":%d,"
            "\"num_attention_heads\":%d,\"intermediate_size\":%d,\"vocab_size\":%d,"
            "\"max_position_embeddings\":%d,\"type_vocab_size\":%d,\"hidden_act\":\"gelu\","
            "\"pad_token_id\":1,\"layer_norm_eps\":%s}\n",
            xlmr ? "xlm-roberta" : "bert", H, L, heads, I, V, P, xlmr ? 1 : 2,
            xlmr ? "1e-5" : "1e-12");
    fclose(f);
    snprintf(path, sizeof path, "%s/modules.json", dir);
    f = fopen(path, "w");
    fprintf(f,
            "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models."
            "Transformer\"},"
            "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers."
            "models.Pooling\"},"
            "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers."
            "models.Normalize\"}]\n");
    fclose(f);
    snprintf(path, sizeof path, "mkdir -p '%s/1_Pooling'", dir);
    if (system(path) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/1_Pooling/config.json", dir);
    f = fopen(path, "w");
    fprintf(f, "{\"word_embedding_dimension\":%d,\"pooling_mode_mean_tokens\":true}\n", H);
    fclose(f);
    snprintf(path, sizeof path, "%s/sentence_bert_config.json", dir);
    f = fopen(path, "w");
    fprintf(f, "{\"max_seq_length\":256,\"do_lower_case\":false}\n");
    fclose(f);
    free(buf);
    free(h);
    free(ts);
    return 0;
}
