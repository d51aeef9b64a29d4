/* bert.c - bert.h's encoders: config.json and the safetensors weights
 * checked against each other, ids with [CLS] and [SEP] cut to the model's
 * window, the forward pass over packed sequences (no padding), pooling
 * and normalisation as the sentence-transformers modules say. */
#include "model/bert.h"

#include <errno.h>
#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hash.h"
#include "base/threads.h"
#include "model/kernels.h"

/* ---- loading ---- */

static json_t *load_json(const char *dir, const char *name, int required, lode_error *err)
{
    char *path = xasprintf("%s/%s", dir, name);
    json_error_t je;
    json_t *j = NULL;
    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        j = json_load_file(path, 0, &je);
        if (!j)
            lode_seterr(err, "%s: %s (line %d)", path, je.text, je.line);
    } else if (required) {
        lode_seterr(err, "%s: no such file", path);
    }
    free(path);
    return j;
}

static int get_int(json_t *c, const char *key, int def, int lo, int hi, int *out, lode_error *err)
{
    json_t *v = json_object_get(c, key);
    if (!v) {
        if (def < 0) {
            lode_seterr(err, "config.json has no %s", key);
            return -1;
        }
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        lode_seterr(err, "config.json: %s must be an integer from %d to %d", key, lo, hi);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* Hashes the files that make the model what it is. */
static void identity(struct bert *m, const char *dir)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    static const char *const files[] = {"config.json",
                                        "tokenizer.json",
                                        "vocab.txt",
                                        "modules.json",
                                        "1_Pooling/config.json",
                                        "sentence_bert_config.json",
                                        NULL};
    for (int i = 0; files[i]; i++) {
        char *path = xasprintf("%s/%s", dir, files[i]);
        gchar *data;
        gsize len;
        if (g_file_get_contents(path, &data, &len, NULL)) {
            g_checksum_update(c, (const guchar *)files[i], (gssize)strlen(files[i]) + 1);
            g_checksum_update(c, (const guchar *)data, (gssize)len);
            g_free(data);
        }
        free(path);
    }
    const unsigned char *p = m->st.file.data;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | p[i];
    hash_sampled(c, p, m->st.file.len, (size_t)(8 + hl)); /* checked to fit by safetensors_open */
    char *real = realpath(dir, NULL);
    const char *name = real ? real : dir;
    const char *slash = strrchr(name, '/');
    if (slash && slash[1])
        name = slash + 1;
    snprintf(m->id, sizeof m->id, "%.120s@%.12s", name, g_checksum_get_string(c));
    free(real);
    g_checksum_free(c);
}

/* Reads the sentence-transformers modules: pooling, normalisation. */
static int modules(struct bert *m, const char *dir, lode_error *err)
{
    m->pooling = POOL_MEAN;
    json_t *mods = load_json(dir, "modules.json", 0, err);
    if (!mods)
        return err->msg[0] ? -1 : 0;
    size_t i;
    json_t *mod;
    const char *forkpool_path = NULL;
    json_array_foreach(mods, i, mod)
    {
        const char *type = json_string_value(json_object_get(mod, "type"));
        if (!type)
            continue;
        if (strstr(type, "Normalize"))
            m->normalize = 1;
        if (strstr(type, "Pooling"))
            forkpool_path = json_string_value(json_object_get(mod, "path"));
    }
    int rc = 0;
    if (forkpool_path) {
        char *name = xasprintf("%s/config.json", forkpool_path);
        json_t *p = load_json(dir, name, 1, err);
        free(name);
        if (!p) {
            rc = -1;
        } else {
            int modes = 0;
            if (json_is_true(json_object_get(p, "pooling_mode_cls_token")))
                m->pooling = POOL_CLS, modes++;
            if (json_is_true(json_object_get(p, "pooling_mode_mean_tokens")))
                m->pooling = POOL_MEAN, modes++;
            if (json_is_true(json_object_get(p, "pooling_mode_max_tokens")))
                m->pooling = POOL_MAX, modes++;
            if (json_is_true(json_object_get(p, "pooling_mode_mean_sqrt_len_tokens")))
                m->pooling = POOL_MEAN_SQRT, modes++;
            if (modes != 1) {
                lode_seterr(err, "%s/%s/config.json: exactly one pooling mode is supported", dir,
                            forkpool_path);
                rc = -1;
            }
            json_decref(p);
        }
    }
    json_decref(mods);
    return rc;
}

/* A cross-encoder's config: BertForSequenceClassification with one label;
 * other heads (two labels, token classification) are refused. */
static int cross_encoder(json_t *c, struct bert *m, lode_error *err)
{
    json_t *arch = json_object_get(c, "architectures");
    size_t i;
    json_t *a;
    json_array_foreach(arch, i, a)
    {
        const char *name = json_string_value(a);
        if (name &&
            (!strcmp(name, "BertForSequenceClassification") ||
             !strcmp(name, "XLMRobertaForSequenceClassification")))
            m->classifier = 1;
        else if (name && strstr(name, "For") && strcmp(name, "BertForMaskedLM") &&
                 strcmp(name, "BertForPreTraining") && strcmp(name, "XLMRobertaForMaskedLM")) {
            lode_seterr(err,
                        "config.json: architecture %s is not supported (BertModel, "
                        "XLMRobertaModel and their ForSequenceClassification are)",
                        name);
            return -1;
        }
    }
    if (!m->classifier)
        return 0;
    json_t *labels = json_object_get(c, "id2label");
    json_t *nl = json_object_get(c, "num_labels");
    long n = json_is_object(labels) ? (long)json_object_size(labels) : 1;
    if (json_is_integer(nl))
        n = (long)json_integer_value(nl);
    if (n != 1) {
        lode_seterr(err,
                    "config.json: a classifier of %ld labels; a re-ranker has one (a "
                    "relevance score per pair)",
                    n);
        return -1;
    }
    return 0;
}

static const float *tensor(struct bert *m, const char *prefix, const char *name, int ndim,
                           int64_t a, int64_t b, lode_error *err)
{
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    int64_t shape[2] = {a, b};
    return safetensors_f32(&m->st, full, ndim, shape, err);
}

int bert_load(const char *dir, struct bert *m, lode_error *err)
{
    memset(m, 0, sizeof *m);
    err->msg[0] = 0;
    struct stat dst;
    if (stat(dir, &dst) < 0)
        return lode_fail(err, lode_errno_code(errno),
                         "%s: %s (an encoder is a folder with config.json, "
                         "model.safetensors and tokenizer.json)",
                         dir, strerror(errno));
    if (!S_ISDIR(dst.st_mode)) {
        /* a file: say what it is, not that DIR/config.json is missing */
        char magic[4] = {0};
        FILE *f = fopen(dir, "rb");
        size_t got = f ? fread(magic, 1, 4, f) : 0;
        if (f)
            fclose(f);
        if (got == 4 && !memcmp(magic, "GGUF", 4))
            return lode_fail(err, LODE_EUNSUPPORTED,
                             "%s is a GGUF file, a decoder's for lode-generate: encoders are "
                             "Hugging Face folders (config.json, model.safetensors, "
                             "tokenizer.json)",
                             dir);
        return lode_fail(err, LODE_EINVAL,
                         "%s is a file, not a model folder (config.json, model.safetensors, "
                         "tokenizer.json)",
                         dir);
    }
    json_t *c = load_json(dir, "config.json", 1, err);
    if (!c)
        return -1;
    int rc = -1;
    const char *act = json_string_value(json_object_get(c, "hidden_act"));
    json_t *eps = json_object_get(c, "layer_norm_eps");
    if (get_int(c, "hidden_size", -1, 1, 65536, &m->hidden, err) ||
        get_int(c, "num_hidden_layers", -1, 1, 1024, &m->layers, err) ||
        get_int(c, "num_attention_heads", -1, 1, 1024, &m->heads, err) ||
        get_int(c, "intermediate_size", -1, 1, 1 << 20, &m->inter, err) ||
        get_int(c, "max_position_embeddings", 512, 2, 1 << 20, &m->max_pos, err) ||
        get_int(c, "type_vocab_size", 2, 1, 1024, &m->type_vocab, err) ||
        get_int(c, "vocab_size", -1, 1, 1 << 24, &m->vocab, err))
        goto out;
    if (m->hidden % m->heads) {
        lode_seterr(err, "config.json: hidden_size %d is not a multiple of num_attention_heads %d",
                    m->hidden, m->heads);
        goto out;
    }
    m->eps = json_is_number(eps) ? (float)json_number_value(eps) : 1e-12f;
    if (!act || !strcmp(act, "gelu"))
        m->gelu_tanh = 0;
    else if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") ||
             !strcmp(act, "gelu_fast"))
        m->gelu_tanh = 1;
    else {
        lode_seterr(err, "config.json: activation %s is not supported (gelu and its tanh form are)",
                    act);
        goto out;
    }
    const char *mt = json_string_value(json_object_get(c, "model_type"));
    if (mt && strcmp(mt, "bert") && strcmp(mt, "xlm-roberta")) {
        lode_seterr(
            err, "config.json: model_type %s; lode-embed runs BERT and XLM-RoBERTa encoders", mt);
        goto out;
    }
    m->roberta = mt && !strcmp(mt, "xlm-roberta");
    if (m->roberta &&
        (get_int(c, "pad_token_id", 1, 0, m->max_pos - 3, &m->pad_id, err) ||
         m->pad_id >= m->vocab)) {
        if (!err->msg[0])
            lode_seterr(err, "config.json: pad_token_id %d is not a token", m->pad_id);
        goto out;
    }
    char *path = xasprintf("%s/model.safetensors", dir);
    int st = safetensors_open(path, &m->st, err);
    free(path);
    if (st < 0)
        goto out;
    const char *pre = safetensors_find(&m->st, "bert.embeddings.word_embeddings.weight") ? "bert."
        : safetensors_find(&m->st, "roberta.embeddings.word_embeddings.weight") ? "roberta."
                                                                                : "";
    int64_t H = m->hidden, I = m->inter;
    if (!(m->word = tensor(m, pre, "embeddings.word_embeddings.weight", 2, m->vocab, H, err)) ||
        !(m->pos =
              tensor(m, pre, "embeddings.position_embeddings.weight", 2, m->max_pos, H, err)) ||
        !(m->type = tensor(m, pre, "embeddings.token_type_embeddings.weight", 2, m->type_vocab, H,
                           err)) ||
        !(m->ln_g = tensor(m, pre, "embeddings.LayerNorm.weight", 1, H, 0, err)) ||
        !(m->ln_b = tensor(m, pre, "embeddings.LayerNorm.bias", 1, H, 0, err)))
        goto out;
    m->layer = xcalloc((size_t)m->layers, sizeof *m->layer);
    for (int l = 0; l < m->layers; l++) {
        struct bert_layer *L = &m->layer[l];
        char p[64];
        snprintf(p, sizeof p, "%sencoder.layer.%d.", pre, l);
        if (!(L->q_w = tensor(m, p, "attention.self.query.weight", 2, H, H, err)) ||
            !(L->q_b = tensor(m, p, "attention.self.query.bias", 1, H, 0, err)) ||
            !(L->k_w = tensor(m, p, "attention.self.key.weight", 2, H, H, err)) ||
            !(L->k_b = tensor(m, p, "attention.self.key.bias", 1, H, 0, err)) ||
            !(L->v_w = tensor(m, p, "attention.self.value.weight", 2, H, H, err)) ||
            !(L->v_b = tensor(m, p, "attention.self.value.bias", 1, H, 0, err)) ||
            !(L->o_w = tensor(m, p, "attention.output.dense.weight", 2, H, H, err)) ||
            !(L->o_b = tensor(m, p, "attention.output.dense.bias", 1, H, 0, err)) ||
            !(L->ln1_g = tensor(m, p, "attention.output.LayerNorm.weight", 1, H, 0, err)) ||
            !(L->ln1_b = tensor(m, p, "attention.output.LayerNorm.bias", 1, H, 0, err)) ||
            !(L->i_w = tensor(m, p, "intermediate.dense.weight", 2, I, H, err)) ||
            !(L->i_b = tensor(m, p, "intermediate.dense.bias", 1, I, 0, err)) ||
            !(L->f_w = tensor(m, p, "output.dense.weight", 2, H, I, err)) ||
            !(L->f_b = tensor(m, p, "output.dense.bias", 1, H, 0, err)) ||
            !(L->ln2_g = tensor(m, p, "output.LayerNorm.weight", 1, H, 0, err)) ||
            !(L->ln2_b = tensor(m, p, "output.LayerNorm.bias", 1, H, 0, err)))
            goto out;
    }
    if (cross_encoder(c, m, err) < 0)
        goto out;
    /* RoBERTa's head (dense, tanh, out_proj over <s>) has BERT's pooler
     * and classifier's shapes and arithmetic under other names */
    if (m->classifier && m->roberta &&
        (!(m->pool_w = tensor(m, "", "classifier.dense.weight", 2, H, H, err)) ||
         !(m->pool_b = tensor(m, "", "classifier.dense.bias", 1, H, 0, err)) ||
         !(m->cls_w = tensor(m, "", "classifier.out_proj.weight", 2, 1, H, err)) ||
         !(m->cls_b = tensor(m, "", "classifier.out_proj.bias", 1, 1, 0, err))))
        goto out;
    if (m->classifier && !m->roberta &&
        (!(m->pool_w = tensor(m, pre, "pooler.dense.weight", 2, H, H, err)) ||
         !(m->pool_b = tensor(m, pre, "pooler.dense.bias", 1, H, 0, err)) ||
         !(m->cls_w = tensor(m, "", "classifier.weight", 2, 1, H, err)) ||
         !(m->cls_b = tensor(m, "", "classifier.bias", 1, 1, 0, err))))
        goto out;
    if (m->roberta) {
        if (!(m->utok = unigram_load(dir, err)))
            goto out;
        m->bos_id = unigram_bos(m->utok);
        m->eos_id = unigram_eos(m->utok);
        if (unigram_size(m->utok) > (size_t)m->vocab) {
            lode_seterr(err, "the tokenizer has %zu pieces, the model %d embeddings",
                        unigram_size(m->utok), m->vocab);
            goto out;
        }
    } else {
        if (!(m->tok = wordpiece_load(dir, err)))
            goto out;
        m->bos_id = wordpiece_cls(m->tok);
        m->eos_id = wordpiece_sep(m->tok);
        if (wordpiece_vocab_size(m->tok) > m->vocab) {
            lode_seterr(err, "the tokenizer has %d pieces, the model %d embeddings",
                        wordpiece_vocab_size(m->tok), m->vocab);
            goto out;
        }
    }
    if (modules(m, dir, err) < 0)
        goto out;
    /* RoBERTa's positions start past pad_token_id */
    int most = m->roberta ? m->max_pos - m->pad_id - 1 : m->max_pos;
    m->max_seq = most < 512 ? most : 512;
    json_t *sb = load_json(dir, "sentence_bert_config.json", 0, err);
    if (sb) {
        json_t *ms = json_object_get(sb, "max_seq_length");
        if (json_is_integer(ms) && json_integer_value(ms) >= 2 && json_integer_value(ms) <= most)
            m->max_seq = (int)json_integer_value(ms);
        json_decref(sb);
    } else if (err->msg[0]) {
        goto out;
    }
    json_t *stc = load_json(dir, "config_sentence_transformers.json", 0, err);
    if (stc) {
        json_t *prompts = json_object_get(stc, "prompts");
        const char *q = json_string_value(json_object_get(prompts, "query"));
        const char *dflt = json_string_value(json_object_get(stc, "default_prompt_name"));
        const char *d = dflt ? json_string_value(json_object_get(prompts, dflt)) : NULL;
        m->query_prompt = q ? xstrdup(q) : NULL;
        m->default_prompt = d ? xstrdup(d) : NULL;
        json_decref(stc);
    } else if (err->msg[0]) {
        goto out;
    }
    identity(m, dir);
    for (int l = 0; l < m->layers; l++) {
        struct bert_layer *L = &m->layer[l];
        const float *src[6] = {L->q_w, L->k_w, L->v_w, L->o_w, L->i_w, L->f_w};
        int rows[6] = {m->hidden, m->hidden, m->hidden, m->hidden, m->inter, m->hidden};
        for (int k = 0; k < 6; k++) {
            int cols = k == 5 ? m->inter : m->hidden;
            sgemm_pack(&L->w[k], src[k], rows[k], cols);
            /* packed, the file's copy is read again only by bert_quantize */
            if (sgemm_packed(&L->w[k]))
                blob_drop(&m->st.file, src[k], (size_t)rows[k] * (size_t)cols * sizeof(float));
        }
    }
    rc = 0;
out:
    json_decref(c);
    if (rc < 0)
        bert_free(m);
    return rc;
}

int bert_load_encoder(const char *dir, struct bert *m, lode_error *err)
{
    if (bert_load(dir, m, err) < 0)
        return -1;
    if (!m->classifier)
        return 0;
    int roberta = m->roberta;
    bert_free(m);
    return lode_fail(err, LODE_EUNSUPPORTED,
                     "%s is a cross-encoder (%sForSequenceClassification), not an embedding "
                     "model: lode-rerank scores pairs with it",
                     dir, roberta ? "XLMRoberta" : "Bert");
}

int bert_quantize(struct bert *m, lode_error *err)
{
    if (m->hidden % 32 || m->inter % 32)
        return lode_fail(err, LODE_EINVAL,
                         "8-bit weights need widths that are multiples of 32 (hidden %d, "
                         "intermediate %d)",
                         m->hidden, m->inter);
    size_t H = (size_t)m->hidden, I = (size_t)m->inter;
    size_t rh = ggml_row_size(GGML_Q8_0, H), ri = ggml_row_size(GGML_Q8_0, I);
    size_t per = 4 * H * rh + I * rh + H * ri;
    m->q8buf = xmalloc(per * (size_t)m->layers);
    unsigned char *p = m->q8buf;
    for (int l = 0; l < m->layers; l++) {
        struct bert_layer *L = &m->layer[l];
        const float *src[6] = {L->q_w, L->k_w, L->v_w, L->o_w, L->i_w, L->f_w};
        size_t rows[6] = {H, H, H, H, I, H}, cols[6] = {H, H, H, H, H, I};
        for (int k = 0; k < 6; k++) {
            size_t rb = ggml_row_size(GGML_Q8_0, cols[k]);
            L->q8[k] = (struct qmat){GGML_Q8_0, (int64_t)rows[k], (int64_t)cols[k], rb, p};
            for (size_t r = 0; r < rows[k]; r++)
                quant_row(GGML_Q8_0, src[k] + r * cols[k], p + r * rb, (int64_t)cols[k]);
            blob_drop(&m->st.file, src[k], rows[k] * cols[k] * sizeof(float));
            p += rows[k] * rb;
        }
    }
    m->int8 = 1;
    /* the packed float copies are not used any more */
    for (int l = 0; l < m->layers; l++)
        for (int k = 0; k < 6; k++)
            sgemm_free(&m->layer[l].w[k]);
    return 0;
}

void bert_free(struct bert *m)
{
    free(m->q8buf);
    for (int l = 0; m->layer && l < m->layers; l++)
        for (int k = 0; k < 6; k++)
            sgemm_free(&m->layer[l].w[k]);
    free(m->layer);
    safetensors_close(&m->st);
    wordpiece_free(m->tok);
    unigram_free(m->utok);
    free(m->query_prompt);
    free(m->default_prompt);
    memset(m, 0, sizeof *m);
}

void bert_work_free(struct bert_work *w)
{
    free(w->x);
    free(w->tmp);
    free(w->inter);
    free(w->scores);
    free(w->starts);
    memset(w, 0, sizeof *w);
}

/* XLM-R's pieces of prefix + text: <s>, at most max_seq - 2, </s> */
static int unigram_ids(const struct bert *m, const char *prefix, const char *text, size_t len,
                       int **ids, int *truncated)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    char *full = xmalloc(pl + len + 1);
    memcpy(full, prefix ? prefix : "", pl);
    memcpy(full + pl, text, len);
    full[pl + len] = 0;
    struct wp_token *t;
    /* one piece past the window says whether it was cut */
    size_t n = unigram_encode_max(m->utok, full, pl + len, (size_t)m->max_seq - 1, &t);
    free(full);
    size_t keep = n > (size_t)m->max_seq - 2 ? (size_t)m->max_seq - 2 : n;
    *truncated = keep < n;
    int *v = xmalloc((keep + 2) * sizeof *v);
    v[0] = m->bos_id;
    for (size_t i = 0; i < keep; i++)
        v[i + 1] = t[i].id;
    v[keep + 1] = m->eos_id;
    free(t);
    *ids = v;
    return (int)keep + 2;
}

size_t bert_tokens(const struct bert *m, const char *text, size_t len, int **ids)
{
    size_t n;
    int *v;
    if (m->utok) {
        int *t;
        n = unigram_encode(m->utok, text, len, &t);
        v = xmalloc((n + 2) * sizeof *v);
        if (n)
            memcpy(v + 1, t, n * sizeof *v);
        free(t);
    } else {
        struct wp_token *t;
        n = wordpiece_encode(m->tok, text, len, &t);
        v = xmalloc((n + 2) * sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i + 1] = t[i].id;
        free(t);
    }
    v[0] = m->bos_id;
    v[n + 1] = m->eos_id;
    *ids = v;
    return n + 2;
}

const char *bert_piece(const struct bert *m, int id)
{
    return m->utok ? unigram_piece(m->utok, id) : wordpiece_piece(m->tok, id);
}

int bert_ids(const struct bert *m, const char *prefix, const char *text, size_t len, int **ids,
             int *truncated)
{
    if (m->utok)
        return unigram_ids(m, prefix, text, len, ids, truncated);
    struct wp_token *t;
    size_t n;
    if (prefix && *prefix) {
        size_t pl = strlen(prefix);
        char *full = xmalloc(pl + len + 1);
        memcpy(full, prefix, pl);
        memcpy(full + pl, text, len);
        full[pl + len] = 0;
        n = wordpiece_encode_max(m->tok, full, pl + len, (size_t)m->max_seq - 1, &t);
        free(full);
    } else {
        /* one token past the window says whether it was cut */
        n = wordpiece_encode_max(m->tok, text, len, (size_t)m->max_seq - 1, &t);
    }
    size_t keep = n;
    *truncated = 0;
    if (keep > (size_t)m->max_seq - 2) {
        keep = (size_t)m->max_seq - 2;
        *truncated = 1;
    }
    int *v = xmalloc((keep + 2) * sizeof *v);
    v[0] = wordpiece_cls(m->tok);
    for (size_t i = 0; i < keep; i++)
        v[i + 1] = t[i].id;
    v[keep + 1] = wordpiece_sep(m->tok);
    free(t);
    *ids = v;
    return (int)keep + 2;
}

/* The pieces of a text for a pair, up to cap (at least cap when it has
 * more); *out (free it) */
static size_t pair_side(const struct bert *m, const char *t, size_t len, size_t cap,
                        struct wp_token **out)
{
    return m->utok ? unigram_encode_max(m->utok, t, len, cap, out)
                   : wordpiece_encode_max(m->tok, t, len, cap, out);
}

int bert_pair_ids(const struct bert *m, const char *a, size_t alen, const char *b, size_t blen,
                  int **ids, int **types, int *truncated, int *kept)
{
    struct wp_token *ta, *tb;
    /* longest-first truncation only needs each side up to the window */
    size_t cap = (size_t)m->max_seq;
    size_t na = pair_side(m, a, alen, cap, &ta), nb = pair_side(m, b, blen, cap, &tb);
    if (na == cap && nb == cap) {
        /* both past the window: which is longer decides who gets the odd token */
        free(ta);
        free(tb);
        na = pair_side(m, a, alen, SIZE_MAX, &ta);
        nb = pair_side(m, b, blen, SIZE_MAX, &tb);
    }
    /* BERT: [CLS] a [SEP] b [SEP]; RoBERTa: <s> a </s></s> b </s> */
    size_t specials = m->roberta ? 4 : 3;
    size_t budget = (size_t)m->max_seq > specials ? (size_t)m->max_seq - specials : 0, ka = na,
           kb = nb;
    *truncated = na + nb > budget;
    if (*truncated) {
        /* the shorter side (the first on a tie) keeps all of itself when it
         * fits in half the budget, else half; the other side the rest */
        size_t half = budget / 2;
        if (na <= nb) {
            ka = na <= half ? na : half;
            kb = budget - ka;
        } else {
            kb = nb <= half ? nb : half;
            ka = budget - kb;
        }
    }
    size_t n = ka + kb + specials;
    int *v = xmalloc(n * sizeof *v), *t = xmalloc(n * sizeof *t);
    size_t k = 0;
    /* one token type for RoBERTa: all 0 */
    int second = m->roberta ? 0 : 1;
    v[k] = m->bos_id, t[k++] = 0;
    for (size_t i = 0; i < ka; i++)
        v[k] = ta[i].id, t[k++] = 0;
    v[k] = m->eos_id, t[k++] = 0;
    if (m->roberta)
        v[k] = m->eos_id, t[k++] = 0;
    for (size_t i = 0; i < kb; i++)
        v[k] = tb[i].id, t[k++] = second;
    v[k] = m->eos_id, t[k++] = second;
    free(ta);
    free(tb);
    if (kept)
        kept[0] = (int)ka, kept[1] = (int)kb;
    *ids = v;
    *types = t;
    return (int)n;
}

/* ---- the forward pass ---- */

#define BERT_GROUP_TOKENS 1024

static void grow(float **p, size_t n)
{
    free(*p);
    *p = xmalloc(n * sizeof **p);
}

static void reserve(struct bert_work *w, const struct bert *m, size_t tokens, size_t max_len, int n)
{
    if (tokens > w->cap_tokens) {
        size_t h = (size_t)m->hidden, i = (size_t)m->inter;
        grow(&w->x, tokens * h);
        grow(&w->tmp, tokens * h);
        /* q, k, v and the attention output are dead by the time the
         * feed-forward layer runs: they share its buffer */
        size_t shared = tokens * (i > 4 * h ? i : 4 * h);
        grow(&w->inter, shared);
        w->q = w->inter;
        w->k = w->q + tokens * h;
        w->v = w->k + tokens * h;
        w->ctx = w->v + tokens * h;
        w->cap_tokens = tokens;
    }
    size_t members = w->team ? (size_t)team_size(w->team) : 1;
    size_t scores = attention_scratch((int)max_len, m->hidden / m->heads) * members;
    if (scores > w->cap_scores) {
        grow(&w->scores, scores);
        w->cap_scores = scores;
    }
    if ((size_t)n + 1 > w->cap_seqs) {
        free(w->starts);
        w->starts = xmalloc(((size_t)n + 1) * sizeof *w->starts);
        w->cap_seqs = (size_t)n + 1;
    }
}

static void forward_group(const struct bert *m, int n, int *const *ids, int *const *types,
                          const int *lens, struct bert_work *w, float *out, int score);

/* Sequences are run in groups of about BERT_GROUP_TOKENS tokens: the
 * activations of a group stay in the caches (measured faster than one big
 * product), and packing makes the result independent of grouping. out:
 * (n, hidden) vectors, or (n) scores. */
static void forward(const struct bert *m, int n, int *const *ids, int *const *types,
                    const int *lens, struct bert_work *w, float *out, int score)
{
    int s = 0;
    while (s < n) {
        int e = s + 1, tokens = lens[s];
        while (e < n && tokens + lens[e] <= BERT_GROUP_TOKENS)
            tokens += lens[e++];
        forward_group(m, e - s, ids + s, types ? types + s : NULL, lens + s, w,
                      out + (size_t)s * (score ? 1 : (size_t)m->hidden), score);
        s = e;
    }
}

void bert_forward(const struct bert *m, int n, int *const *ids, const int *lens,
                  struct bert_work *w, float *out)
{
    forward(m, n, ids, NULL, lens, w, out, 0);
}

void bert_score(const struct bert *m, int n, int *const *ids, int *const *types, const int *lens,
                struct bert_work *w, float *scores)
{
    forward(m, n, ids, types, lens, w, scores, 1);
}

/* y (n, out) = x (n, in) W^T (+ b): the layer's matrix k in float, or as 8-bit rows */
static void product(const struct bert *m, const struct bert_layer *L, int k, const float *x, int n,
                    const float *b, int out, float *y, struct team *team)
{
    if (!m->int8) {
        sgemm_apply(&L->w[k], x, n, b, y, team);
        return;
    }
    qmat_matmul(&L->q8[k], x, n, y, team);
    if (b)
        for (int t = 0; t < n; t++)
            for (int j = 0; j < out; j++)
                y[(size_t)t * out + j] += b[j];
}

/* A team member's share of the sequences' heads */
struct attend {
    const struct bert_work *w;
    int heads, dh, pairs;
    size_t scratch; /* floats a member */
};

static void attend_part(void *ctx, int worker, int nw)
{
    const struct attend *j = ctx;
    int64_t lo, hi;
    team_share(j->pairs, worker, nw, &lo, &hi);
    attention_packed(j->w->q, j->w->k, j->w->v, j->w->ctx, j->heads * j->dh, j->heads, j->dh,
                     j->w->starts, (int)lo, (int)hi, j->w->scores + (size_t)worker * j->scratch);
}

static void forward_group(const struct bert *m, int n, int *const *ids, int *const *types,
                          const int *lens, struct bert_work *w, float *out, int score)
{
    struct team *team = w->team && team_size(w->team) > 1 ? w->team : NULL;
    size_t T = 0, max_len = 1;
    for (int s = 0; s < n; s++) {
        T += (size_t)lens[s];
        if ((size_t)lens[s] > max_len)
            max_len = (size_t)lens[s];
    }
    reserve(w, m, T ? T : 1, max_len, n);
    const int H = m->hidden, I = m->inter, dh = H / m->heads;
    /* embeddings: word + position + token type (0 unless given), then LayerNorm */
    size_t t = 0;
    for (int s = 0; s < n; s++) {
        w->starts[s] = (int)t;
        int counted = 0; /* RoBERTa: the tokens so far that are not <pad> */
        for (int p = 0; p < lens[s]; p++, t++) {
            int id = ids[s][p];
            if (id < 0 || id >= m->vocab)
                id = m->bos_id; /* cannot happen: the tokenizer's ids are checked */
            int ty = types ? types[s][p] : 0;
            if (ty < 0 || ty >= m->type_vocab)
                ty = 0;
            int row = p;
            if (m->roberta)
                row = id == m->pad_id ? m->pad_id : m->pad_id + 1 + counted++;
            float *x = w->x + t * (size_t)H;
            const float *we = m->word + (size_t)id * H, *pe = m->pos + (size_t)row * H,
                        *te = m->type + (size_t)ty * H;
            for (int j = 0; j < H; j++)
                x[j] = we[j] + pe[j] + te[j];
        }
    }
    w->starts[n] = (int)T;
    int nt = (int)T;
    layer_norm(w->x, nt, H, m->ln_g, m->ln_b, m->eps);
    for (int l = 0; l < m->layers; l++) {
        const struct bert_layer *L = &m->layer[l];
        product(m, L, 0, w->x, nt, L->q_b, H, w->q, team);
        product(m, L, 1, w->x, nt, L->k_b, H, w->k, team);
        product(m, L, 2, w->x, nt, L->v_b, H, w->v, team);
        if (team) {
            struct attend job = {w, m->heads, dh, n * m->heads,
                                 attention_scratch((int)max_len, dh)};
            team_run(team, attend_part, &job);
        } else {
            attention_packed(w->q, w->k, w->v, w->ctx, H, m->heads, dh, w->starts, 0, n * m->heads,
                             w->scores);
        }
        /* biases are added in the passes after the products */
        product(m, L, 3, w->ctx, nt, NULL, H, w->tmp, team);
        residual_layer_norm(w->tmp, L->o_b, w->x, nt, H, L->ln1_g, L->ln1_b, m->eps);
        float *swap = w->x;
        w->x = w->tmp;
        w->tmp = swap;
        if (m->gelu_tanh) {
            product(m, L, 4, w->x, nt, L->i_b, I, w->inter, team);
            gelu_tanh(w->inter, T * (size_t)I);
        } else {
            product(m, L, 4, w->x, nt, NULL, I, w->inter, team);
            bias_gelu_erf(w->inter, nt, I, L->i_b);
        }
        product(m, L, 5, w->inter, nt, NULL, H, w->tmp, team);
        residual_layer_norm(w->tmp, L->f_b, w->x, nt, H, L->ln2_g, L->ln2_b, m->eps);
        swap = w->x;
        w->x = w->tmp;
        w->tmp = swap;
    }
    if (score) {
        /* the pooler (dense + tanh over [CLS]) and the classifier */
        for (int s = 0; s < n; s++) {
            const float *x = w->x + (size_t)w->starts[s] * H;
            double logit = m->cls_b[0];
            for (int i = 0; i < H; i++) {
                double a = m->pool_b[i];
                const float *row = m->pool_w + (size_t)i * H;
                for (int j = 0; j < H; j++)
                    a += (double)row[j] * x[j];
                logit += (double)m->cls_w[i] * tanh(a);
            }
            out[s] = (float)logit;
        }
        return;
    }
    for (int s = 0; s < n; s++) {
        float *o = out + (size_t)s * H;
        const float *x = w->x + (size_t)w->starts[s] * H;
        int len = lens[s];
        if (m->pooling == POOL_CLS || len == 0) {
            memcpy(o, x, sizeof(float) * (size_t)H);
        } else if (m->pooling == POOL_MAX) {
            memcpy(o, x, sizeof(float) * (size_t)H);
            for (int p = 1; p < len; p++)
                for (int j = 0; j < H; j++)
                    o[j] = x[(size_t)p * H + j] > o[j] ? x[(size_t)p * H + j] : o[j];
        } else {
            for (int j = 0; j < H; j++) {
                double sum = 0;
                for (int p = 0; p < len; p++)
                    sum += x[(size_t)p * H + j];
                o[j] = (float)(m->pooling == POOL_MEAN ? sum / len : sum / sqrt((double)len));
            }
        }
        if (m->normalize)
            l2_normalize(o, H);
    }
}

void bert_embed(const struct bert *m, const char *prefix, const char *text, size_t len,
                struct bert_work *w, float *out)
{
    int *ids, truncated;
    int n = bert_ids(m, prefix, text, len, &ids, &truncated);
    bert_forward(m, 1, &ids, &n, w, out);
    free(ids);
}
