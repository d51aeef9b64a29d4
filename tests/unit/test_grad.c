/* The trainer's hand-written backward pass against central finite
 * differences, in double (train.h compiled with TRAIN_F64), on the shared
 * tiny random models:
 *
 *  - llama-tiny-f32 (2 layers, dim 64, 4 heads over 2 KV heads, FFN 128,
 *    norm RoPE): LoRA A and B on all seven projections of both layers
 *    (28 tensors), the attention, feed-forward and output norms' weights
 *    (5 tensors), and the token embeddings of the tokens used (the
 *    embedding's backward), 12 elements of each, on a sequence packing two
 *    examples with some positions untargeted;
 *  - qwen2-tiny-f16 (q/k/v biases, NEOX RoPE, 2 heads over 1 KV head):
 *    LoRA A and B on all seven projections (14 tensors), 6 elements each;
 *  - qwen3-tiny-f16 (per-head q/k RMS norm, head size 32 = key_length, not
 *    dim / heads): LoRA A and B on all seven projections of both layers,
 *    every norm's weights including the four q/k norms, and the embeddings
 *    (38 tensors), 3 elements each.
 *
 * Under the sanitizers (LODE_SAN=1, tests/run.sh's second pass) a quarter
 * of the elements, at least 2 a tensor: the same code, the same tensors.
 *
 * Each element's relative error |analytic - numeric| / max(|analytic|,
 * |numeric|, 1e-7) must be under 1e-4 (h = 1e-5). Then the float trainer
 * (what lode-finetune runs) against the double one: the same loss and
 * gradients to float precision.
 */
#include "train/train.h"
#define TRAIN_F64
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char *shared(void)
{
    const char *s = getenv("LODE_SHARED");
    return s ? s : "../shared";
}

static uint64_t rng = 99;

static double gauss(void)
{
    double u = (uniform01(&rng) + 1e-12), v = uniform01(&rng);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

struct seq {
    int ids[16], tgt[16], n, starts[2], nstarts;
};

static double loss_of(struct trainer *t, const struct seq *s)
{
    int count;
    return trainer_run_f64(t, s->ids, s->tgt, s->n, s->starts, s->nstarts, TRAIN_FORWARD, 1, 7,
                           &count);
}

/* Checks `per` elements of every parameter whose name contains one of
 * the filters; returns the largest relative error. */
static double check_params(struct trainer *t, const struct seq *s, int per, int *tensors,
                           int *elements, const int *used, int dim)
{
    const char *san = getenv("LODE_SAN");
    if (san && !strcmp(san, "1"))
        per = per / 4 > 2 ? per / 4 : 2;
    int count;
    trainer_zero_grad_f64(t);
    trainer_run_f64(t, s->ids, s->tgt, s->n, s->starts, s->nstarts, TRAIN_GRAD, 1, 7, &count);
    double worst = 0;
    for (int i = 0; i < trainer_nparams_f64(t); i++) {
        struct tparam_f64 *p = trainer_param_f64(t, i);
        int is_embd = !strcmp(p->name, "token_embd.weight");
        (*tensors)++;
        for (int k = 0; k < per; k++) {
            size_t j;
            if (is_embd) /* an element of a row that is used */
                j = (size_t)used[k % s->n] * (size_t)dim + (size_t)(k * 7 % dim);
            else
                j = (size_t)((double)k / per * (double)p->n + k) % p->n;
            double keep = p->w[j], h = 1e-5;
            p->w[j] = keep + h;
            double up = loss_of(t, s);
            p->w[j] = keep - h;
            double down = loss_of(t, s);
            p->w[j] = keep;
            double num = (up - down) / (2 * h), ana = p->g[j];
            double den = fmax(fmax(fabs(num), fabs(ana)), 1e-7);
            double rel = fabs(num - ana) / den;
            if (rel > worst) {
                worst = rel;
                if (rel > 1e-4)
                    printf("# %s[%zu]: analytic %.10g numeric %.10g\n", p->name, j, ana, num);
            }
            (*elements)++;
        }
    }
    return worst;
}

static void randomise(struct trainer *t, double sd)
{
    for (int i = 0; i < trainer_nparams_f64(t); i++) {
        struct tparam_f64 *p = trainer_param_f64(t, i);
        int norm = strstr(p->name, "norm") != NULL;
        for (size_t j = 0; j < p->n && strcmp(p->name, "token_embd.weight"); j++)
            p->w[j] = norm ? 1 + 0.3 * gauss() : sd * gauss();
    }
}

static void llama_tests(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/tiny-gguf/llama-tiny-f32.gguf", shared());
    struct decoder m;
    lode_error err;
    if (decoder_load(path, &m, &err) < 0) {
        CHECK(0, "load %s: %s", path, err.msg);
        return;
    }
    struct train_cfg c = {(1u << LORA_NT) - 1, 3, 6, 0, 1, 5, 1};
    struct trainer *t = trainer_new_f64(&m, &c, NULL);
    randomise(t, 0.3);
    struct seq s = {{1, 72, 300, 45, 9, 410, 2, 1, 88, 17, 263, 500}, {0}, 12, {0, 7}, 2};
    for (int i = 0; i < s.n; i++)
        s.tgt[i] = i + 1 < s.n && i != 6 && i != 2 ? s.ids[i + 1] : -1;
    int tensors = 0, elements = 0;
    double worst = check_params(t, &s, 12, &tensors, &elements, s.ids, m.dim);
    CHECK(worst < 1e-4 && tensors == 28 + 5 + 1,
          "llama-tiny: %d elements of %d tensors (LoRA A/B x 7 projections x 2 layers, 5 norms, "
          "token embeddings) match finite differences, worst relative error %.2e",
          elements, tensors, worst);

    /* dropout: the masks are the same in both passes */
    trainer_free_f64(t);
    c.dropout = 0.25f;
    c.base_grads = 0;
    t = trainer_new_f64(&m, &c, NULL);
    randomise(t, 0.3);
    tensors = elements = 0;
    worst = check_params(t, &s, 6, &tensors, &elements, s.ids, m.dim);
    CHECK(worst < 1e-4 && tensors == 28,
          "llama-tiny with dropout 0.25: %d elements of %d LoRA tensors, worst relative error %.2e",
          elements, tensors, worst);
    trainer_free_f64(t);

    /* the float trainer computes the same */
    c.dropout = 0;
    struct trainer *td = trainer_new_f64(&m, &c, NULL);
    struct trainer *tf = trainer_new(&m, &c, NULL);
    randomise(td, 0.3);
    for (int i = 0; i < trainer_nparams(tf); i++) {
        struct tparam *pf = trainer_param(tf, i);
        struct tparam_f64 *pd = trainer_param_f64(td, i);
        for (size_t j = 0; j < pf->n; j++)
            pf->w[j] = (float)pd->w[j];
    }
    int cd, cf;
    trainer_zero_grad(tf);
    trainer_zero_grad_f64(td);
    double ld = trainer_run_f64(td, s.ids, s.tgt, s.n, s.starts, s.nstarts, 1, 1, 7, &cd);
    double lf = trainer_run(tf, s.ids, s.tgt, s.n, s.starts, s.nstarts, 1, 1, 7, &cf);
    double gerr = 0, gmax = 0;
    for (int i = 0; i < trainer_nparams(tf); i++) {
        struct tparam *pf = trainer_param(tf, i);
        struct tparam_f64 *pd = trainer_param_f64(td, i);
        for (size_t j = 0; j < pf->n; j++) {
            gerr = fmax(gerr, fabs(pf->g[j] - pd->g[j]));
            gmax = fmax(gmax, fabs(pd->g[j]));
        }
    }
    CHECK(cd == cf && fabs(ld - lf) < 1e-4 * fabs(ld) && gerr < 1e-4 * gmax,
          "float trainer = double trainer: loss %.8f vs %.8f, gradients within %.2e of %.2e", lf,
          ld, gerr, gmax);
    trainer_free(tf);
    trainer_free_f64(td);
    decoder_free(&m);
}

static void qwen2_tests(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/tiny-gguf/qwen2-tiny-f16.gguf", shared());
    struct decoder m;
    lode_error err;
    if (decoder_load(path, &m, &err) < 0) {
        CHECK(0, "load %s: %s", path, err.msg);
        return;
    }
    struct train_cfg c = {(1u << LORA_NT) - 1, 2, 4, 0, 1, 3, 0};
    struct trainer *t = trainer_new_f64(&m, &c, NULL);
    randomise(t, 0.3);
    struct seq s = {{9707, 11, 1879, 0, 151644, 77091}, {-1, -1, 0, -1, 0, 0}, 6, {0}, 1};
    s.tgt[2] = 15;
    s.tgt[4] = 2610;
    s.tgt[5] = 198;
    int tensors = 0, elements = 0;
    double worst = check_params(t, &s, 6, &tensors, &elements, s.ids, m.dim);
    CHECK(worst < 1e-4 && tensors == 14,
          "qwen2-tiny (biases, NEOX RoPE): %d elements of %d LoRA tensors, worst relative error "
          "%.2e",
          elements, tensors, worst);
    trainer_free_f64(t);
    decoder_free(&m);
}

static void qwen3_tests(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/qwen3-tiny/qwen3-tiny-f16.gguf", shared());
    struct decoder m;
    lode_error err;
    if (decoder_load(path, &m, &err) < 0) {
        CHECK(0, "load %s: %s", path, err.msg);
        return;
    }
    struct train_cfg c = {(1u << LORA_NT) - 1, 2, 4, 0, 1, 3, 1};
    struct trainer *t = trainer_new_f64(&m, &c, NULL);
    randomise(t, 0.3);
    struct seq s = {{151644, 872, 198, 9707, 151645, 198}, {-1, -1, 0, 0, 0, -1}, 6, {0}, 1};
    s.tgt[2] = 9707;
    s.tgt[3] = 151645;
    s.tgt[4] = 198;
    int tensors = 0, elements = 0;
    double worst = check_params(t, &s, 3, &tensors, &elements, s.ids, m.dim);
    CHECK(worst < 1e-4 && tensors == 28 + 9 + 1,
          "qwen3-tiny (per-head q/k norms): %d elements of %d tensors (LoRA, 9 norms, embeddings) "
          "match finite differences, worst relative error %.2e",
          elements, tensors, worst);
    trainer_free_f64(t);
    decoder_free(&m);
}

int main(void)
{
    llama_tests();
    qwen2_tests();
    qwen3_tests();
    return check_failures ? 1 : 0;
}
