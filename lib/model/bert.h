/* bert.h - BERT-family sentence encoders in sentence-transformers layout
 * (all-MiniLM, bge, e5, gte...), and XLM-RoBERTa encoders (BGE-M3,
 * multilingual-e5: model_type xlm-roberta, a Unigram tokenizer.json,
 * position ids from pad_token_id + 1 counting the tokens that are not
 * <pad>, one token type).
 *
 * A model is a directory: config.json (the shapes), model.safetensors
 * (tensor names with or without a "bert." prefix; F32 used in place, F16 and
 * BF16 converted), tokenizer.json or vocab.txt (wordpiece.h), and the
 * sentence-transformers files when present: modules.json (a Normalize
 * module means L2-normalised output), the pooling module's config (mean,
 * CLS, max or mean-sqrt-len pooling; mean when there is none),
 * sentence_bert_config.json (max_seq_length) and
 * config_sentence_transformers.json (prompts such as e5's "query: ").
 * Every shape the config states is checked against the weights. A
 * BertForSequenceClassification with one label (a cross-encoder re-ranker,
 * ms-marco-MiniLM) loads with its pooler and classifier, an
 * XLMRobertaForSequenceClassification (bge-reranker) with RoBERTa's head
 * (dense, tanh, out_proj: the same arithmetic), and scores pairs
 * (bert_pair_ids, bert_score).
 *
 * Sequences are run packed, one after another without padding, so a text
 * gives the same vector alone and in any batch. Caveats: a model is
 * read-only after bert_load() and may be shared by threads; each thread
 * needs its own struct bert_work.
 */
#ifndef LODE_BERT_H
#define LODE_BERT_H

#include "model/quant.h"
#include "model/sgemm.h"
#include "model/safetensors.h"
#include "base/util.h"
#include "model/unigram.h"
#include "model/wordpiece.h"

enum bert_pooling { POOL_MEAN, POOL_CLS, POOL_MAX, POOL_MEAN_SQRT };

struct bert_layer {
    const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b; /* (hidden, hidden), (hidden) */
    const float *o_w, *o_b, *ln1_g, *ln1_b;         /* attention output, its LayerNorm */
    const float *i_w, *i_b;                         /* (inter, hidden), (inter) */
    const float *f_w, *f_b, *ln2_g, *ln2_b;         /* (hidden, inter), (hidden); LayerNorm */
    struct sgemm_w w[6]; /* q, k, v, o, i, f for the float product (sgemm.h) */
    struct qmat q8[6];   /* bert_quantize: the same as 8-bit rows */
};

struct bert {
    int hidden, layers, heads, inter, max_pos, type_vocab, vocab;
    /* a cross-encoder (BertForSequenceClassification, one label): the
     * pooler and the classifier over [CLS] */
    int classifier;
    const float *pool_w, *pool_b; /* (hidden, hidden), (hidden) */
    const float *cls_w, *cls_b;   /* (1, hidden), (1) */
    float eps;
    int gelu_tanh;
    enum bert_pooling pooling;
    int normalize;
    int max_seq;                    /* tokens, [CLS] and [SEP] included */
    const float *word, *pos, *type; /* (vocab, hidden), (max_pos, hidden), (type_vocab, hidden) */
    const float *ln_g, *ln_b;
    struct bert_layer *layer;
    struct safetensors st;
    int int8;                   /* the six matrices of each layer multiplied as 8-bit rows */
    unsigned char *q8buf;       /* their bytes */
    struct wordpiece *tok;      /* BERT's, or NULL */
    struct unigram *utok;       /* XLM-R's, or NULL */
    int roberta;                /* positions from pad_id + 1, skipping <pad> */
    int pad_id, bos_id, eos_id; /* [CLS] and [SEP], or <s> and </s> */
    char *query_prompt, *default_prompt;
    char id[160]; /* name@hash, what records carry as "model"; the hash
                                 * covers config, tokenizer and weights (sampled
                                 * past 64 MiB) */
};

/* A forward pass's buffers for up to cap_tokens packed tokens (T), of
 * sequences of up to cap_len tokens. */
struct bert_work {
    float *x, *tmp;         /* (T, hidden): the stream, and a layer's output */
    float *scores;          /* attention's scratch (kernels.h), one a team member */
    float *inter;           /* (T, max(inter, 4 * hidden)): the feed-forward's, and ... */
    float *q, *k, *v, *ctx; /* ... (T, hidden) each, the attention's, in the same memory */
    int *starts;            /* (sequences + 1): each sequence's first token */
    size_t cap_tokens, cap_scores, cap_seqs;
    struct team *team; /* the threads its products may share (NULL: the caller's
                        * alone); the caller's, set before a pass */
};

int bert_load(const char *dir, struct bert *m, lode_error *err);
/* The same for an embedding model: a cross-encoder (a classifier) is
 * refused with LODE_EUNSUPPORTED, saying lode-rerank runs it. */
int bert_load_encoder(const char *dir, struct bert *m, lode_error *err);
/* The opt-in 8-bit mode: each layer's six matrices as ggml's Q8_0 rows
 * (a scale per 32 weights) multiplied against 8-bit activations, as
 * quant.h's matrix products do; the embeddings, norms and pooling stay
 * float. Vectors keep a cosine above 0.999 to the float ones on the
 * models tested. -1 when a width is not a multiple of 32. */
int bert_quantize(struct bert *m, lode_error *err);
void bert_free(struct bert *m);
void bert_work_free(struct bert_work *w);

/* The ids of prefix (a prompt such as "query: ", or NULL) and text: [CLS]
 * (<s>), at most max_seq - 2 pieces, [SEP] (</s>). Returns the count;
 * *truncated tells whether pieces were cut. */
int bert_ids(const struct bert *m, const char *prefix, const char *text, size_t len, int **ids,
             int *truncated);

/* Every id of text, [CLS] and [SEP] around them, not cut (the count); and
 * a piece's text (NULL out of range): for lode-embed --tokenize. */
size_t bert_tokens(const struct bert *m, const char *text, size_t len, int **ids);
const char *bert_piece(const struct bert *m, int id);

/* A pair for a cross-encoder: [CLS] a [SEP] b [SEP], token types 0 up to
 * the first [SEP] and 1 after (RoBERTa: <s> a </s></s> b </s>, all 0), cut
 * to the window as Hugging Face's "longest_first" does (the budget is
 * max_seq less the 3 or 4 specials; when both sides pass
 * half of it the first keeps half, the second the rest, else the shorter
 * keeps all). Returns the count; *truncated tells whether pieces were cut;
 * kept[2], when not NULL, the pieces of a and b kept. */
int bert_pair_ids(const struct bert *m, const char *a, size_t alen, const char *b, size_t blen,
                  int **ids, int **types, int *truncated, int *kept);

/* A cross-encoder's scores of n pairs: classifier(tanh(pooler([CLS]))), the
 * raw logit (what sentence-transformers' CrossEncoder returns for a one-label
 * model without an activation). */
void bert_score(const struct bert *m, int n, int *const *ids, int *const *types, const int *lens,
                struct bert_work *w, float *scores);

/* Embeds n id sequences into out[n][hidden]. */
void bert_forward(const struct bert *m, int n, int *const *ids, const int *lens,
                  struct bert_work *w, float *out);

/* One text's vector into out[hidden]. */
void bert_embed(const struct bert *m, const char *prefix, const char *text, size_t len,
                struct bert_work *w, float *out);

#endif
