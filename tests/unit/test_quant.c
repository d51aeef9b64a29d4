/* Unit tests of quant.h and the team: half-float conversions, each
 * format's error bounds, the products against float reference sums, and
 * the AVX2 kernels against the portable ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "check.h"
#include "model/kernels.h"
#include "model/quant.h"
#include "base/threads.h"

static uint64_t rng = 12345;

static double gauss(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    double u = ((rng >> 11) + 0.5) / 9007199254740992.0;
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    double v = ((rng >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void half_tests(void)
{
    struct {
        float f;
        uint16_t h;
    } cases[] = {
        {0.0f, 0x0000},           {-0.0f, 0x8000},          {1.0f, 0x3C00}, {-2.0f, 0xC000},
        {65504.0f, 0x7BFF},       {65520.0f, 0x7C00},       /* rounds to infinity */
        {5.9604645e-8f, 0x0001},                            /* the smallest subnormal */
        {6.1035156e-5f, 0x0400},                            /* the smallest normal */
        {1.0009765625f, 0x3C01},  {1.00048828125f, 0x3C00}, /* a tie: to even */
        {1.00146484375f, 0x3C02},                           /* a tie: to even, upwards */
        {INFINITY, 0x7C00},       {-INFINITY, 0xFC00},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (f32_to_f16(cases[i].f) != cases[i].h) {
            ok = 0;
            printf("# f32_to_f16(%g) = %04x, want %04x\n", cases[i].f, f32_to_f16(cases[i].f),
                   cases[i].h);
        }
    CHECK(ok, "float to half: exact values, overflow, subnormals, ties to even");
    int round = 1;
    for (uint32_t h = 0; h < 0x7C00; h++)
        round &= f32_to_f16(f16_to_f32((uint16_t)h)) == h &&
            f32_to_f16(-f16_to_f32((uint16_t)h)) == (h | 0x8000);
    CHECK(round, "every finite half survives half -> float -> half");
    CHECK((f32_to_f16(NAN) & 0x7C00) == 0x7C00 && (f32_to_f16(NAN) & 0x3FF), "NaN stays NaN");
    CHECK(f32_to_bf16(1.0f) == 0x3F80 && f32_to_bf16(1.00390625f) == 0x3F80 &&
              f32_to_bf16(1.01171875f) == 0x3F82 && bf16_to_f32(0x3F80) == 1.0f,
          "float to bfloat16 rounds to nearest even");
}

static void format_tests(void)
{
    enum { N = 256 * 64 };
    float *x = malloc(sizeof *x * N), *y = malloc(sizeof *y * N);
    unsigned char *q = malloc(N * 4);
    for (int i = 0; i < N; i++)
        x[i] = (float)gauss() * (i % 512 < 256 ? 1.0f : 0.01f); /* two scales of blocks */
    struct {
        enum ggml_type t;
        double rel; /* relative RMS error allowed */
    } f[] = {{GGML_F16, 0.001}, {GGML_BF16, 0.005}, {GGML_Q8_0, 0.006}, {GGML_Q4_0, 0.1},
             {GGML_Q4_K, 0.09}, {GGML_Q5_K, 0.045}, {GGML_Q6_K, 0.022}};
    for (size_t k = 0; k < sizeof f / sizeof *f; k++) {
        quant_row(f[k].t, x, q, N);
        dequant_row(f[k].t, q, y, N);
        /* errors relative to each block's size, so small blocks count too */
        double worst = 0, se = 0, ss = 0;
        for (int b = 0; b < N / 32; b++) {
            double amax = 0;
            for (int j = 0; j < 32; j++)
                amax = fmax(amax, fabs(x[32 * b + j]));
            for (int j = 0; j < 32; j++) {
                double e = fabs((double)y[32 * b + j] - x[32 * b + j]);
                worst = fmax(worst, e / amax);
                se += e * e / (amax * amax);
                ss += (double)x[32 * b + j] * x[32 * b + j] / (amax * amax);
            }
        }
        double rel = sqrt(se / ss);
        CHECK(rel <= f[k].rel, "%s: relative RMS error %.4f (at most %.3f)", ggml_type_name(f[k].t),
              rel, f[k].rel);
        if (f[k].t == GGML_Q8_0)
            /* half a step, and the scale's rounding to a half float */
            CHECK(worst <= (0.5 + 127.0 / 2048) / 127,
                  "Q8_0: no value off by more than half a step (%.5f of the block's max)", worst);
        if (f[k].t == GGML_Q4_0)
            CHECK(worst <= 1.0 / 8 * 1.01, "Q4_0: no value off by more than a step (%.4f)", worst);
    }
    free(x);
    free(y);
    free(q);
}

/* ggml's reference quantisers of Q4_1, Q5_0 and Q5_1 (ggml-quants.c), to
 * check that lode reads those layouts as ggml writes them. */
static void put_h(unsigned char *p, float v)
{
    uint16_t h = f32_to_f16(v);
    p[0] = (unsigned char)h, p[1] = (unsigned char)(h >> 8);
}

static void ggml_q4_1(const float *x, unsigned char *y)
{
    float mn = x[0], mx = x[0];
    for (int j = 1; j < 32; j++)
        mn = x[j] < mn ? x[j] : mn, mx = x[j] > mx ? x[j] : mx;
    float d = (mx - mn) / 15, id = d ? 1 / d : 0;
    put_h(y, d), put_h(y + 2, mn);
    for (int j = 0; j < 16; j++) {
        int a = (int)((x[j] - mn) * id + 0.5f), b = (int)((x[16 + j] - mn) * id + 0.5f);
        y[4 + j] = (unsigned char)((a > 15 ? 15 : a) | (b > 15 ? 15 : b) << 4);
    }
}

static void ggml_q5(const float *x, unsigned char *y, int one)
{
    float mn = x[0], mx = x[0], amax = 0, max = 0;
    for (int j = 0; j < 32; j++) {
        mn = x[j] < mn ? x[j] : mn, mx = x[j] > mx ? x[j] : mx;
        if (fabsf(x[j]) > amax)
            amax = fabsf(x[j]), max = x[j];
    }
    float d = one ? (mx - mn) / 31 : max / -16, id = d ? 1 / d : 0;
    put_h(y, d);
    if (one)
        put_h(y + 2, mn);
    unsigned char *qh = y + (one ? 4 : 2), *qs = qh + 4;
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        float x0 = one ? (x[j] - mn) * id + 0.5f : x[j] * id + 16.5f;
        float x1 = one ? (x[16 + j] - mn) * id + 0.5f : x[16 + j] * id + 16.5f;
        int a = (int8_t)x0, b = (int8_t)x1;
        a = a > 31 ? 31 : a, b = b > 31 ? 31 : b;
        qs[j] = (unsigned char)((a & 0xF) | (b & 0xF) << 4);
        h |= (uint32_t)((a & 0x10) >> 4) << j;
        h |= (uint32_t)((b & 0x10) >> 4) << (j + 16);
    }
    memcpy(qh, &h, 4);
}

/* matvec on each of T tokens and matmul on all of them against Σ w q(x),
 * q(x) the activations as the kernels round them (xq, T x cols): equal to
 * float rounding, 1e-5 of the largest value, on this CPU level. Returns
 * the largest error relative to the float product Σ w x. */
static double check_products(const struct qmat *m, const float *x, const float *xq, int T,
                             struct team *team)
{
    size_t C = (size_t)m->cols, R = (size_t)m->rows;
    float *row = malloc(sizeof *row * C), *yv = malloc(sizeof *yv * R);
    float *ym = malloc(sizeof *ym * R * (size_t)T);
    qmat_matmul(m, x, T, ym, team);
    double err = 0, merr = 0, exact = 0, maxy = 0;
    for (int t = 0; t < T; t++) {
        qmat_matvec(m, x + (size_t)t * C, yv, team);
        for (size_t r = 0; r < R; r++) {
            qmat_row(m, (int64_t)r, row);
            double sq = 0, sx = 0;
            for (size_t c = 0; c < C; c++) {
                sq += (double)row[c] * xq[(size_t)t * C + c];
                sx += (double)row[c] * x[(size_t)t * C + c];
            }
            maxy = fmax(maxy, fabs(sx));
            err = fmax(err, fabs(yv[r] - sq));
            merr = fmax(merr, fabs(ym[(size_t)t * R + r] - sq));
            exact = fmax(exact, fabs(ym[(size_t)t * R + r] - sx));
        }
    }
    CHECK(err <= 1e-5 * maxy,
          "%s matrix-vector kernel (%s path): Σ w q(x) to float rounding (%.2g)",
          ggml_type_name(m->type), cpu_level_name(cpu_level()), err / maxy);
    CHECK(merr <= 1e-5 * maxy,
          "...and the matrix-matrix one on %d tokens x %zu rows x %zu columns (%.2g)", T, R, C,
          merr / maxy);
    free(row);
    free(yv);
    free(ym);
    return exact / maxy;
}

/* Activations rounded as quant_act() does: per 32, scale max / 127. */
static void q8_round(const float *x, int n, float *out)
{
    for (int b = 0; b < n / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[32 * b + j]));
        float d = amax / 127, id = d ? 1 / d : 0;
        for (int j = 0; j < 32; j++)
            out[32 * b + j] = (float)lrintf(x[32 * b + j] * id) * d;
    }
}

static void legacy_tests(void)
{
    float x[32], y[32];
    unsigned char q[32];
    double worst[3] = {0, 0, 0};
    for (int rep = 0; rep < 200; rep++) {
        for (int j = 0; j < 32; j++)
            x[j] = (float)gauss();
        float mn = x[0], mx = x[0];
        for (int j = 1; j < 32; j++)
            mn = x[j] < mn ? x[j] : mn, mx = x[j] > mx ? x[j] : mx;
        enum ggml_type t[3] = {GGML_Q4_1, GGML_Q5_0, GGML_Q5_1};
        for (int k = 0; k < 3; k++) {
            if (k == 0)
                ggml_q4_1(x, q);
            else
                ggml_q5(x, q, k == 2);
            dequant_row(t[k], q, y, 32);
            for (int j = 0; j < 32; j++)
                worst[k] = fmax(worst[k], fabs(y[j] - x[j]) / (mx - mn));
        }
    }
    /* half a step of the range (Q5_0: a step of its signed scale), and the
     * scales' rounding to half floats */
    CHECK(worst[0] <= 0.5 / 15 * 1.02,
          "Q4_1 written as ggml does reads back within half a step (%.4f)", worst[0]);
    CHECK(worst[1] <= 1.0 / 16, "Q5_0 written as ggml does reads back within a step (%.4f)",
          worst[1]);
    CHECK(worst[2] <= 0.5 / 31 * 1.05,
          "Q5_1 written as ggml does reads back within half a step (%.4f)", worst[2]);

    /* their products: Σ w q(x) with the activations rounded as Q8_0's are
     * (per 32, scale max / 127); 544 columns, not a multiple of 64, and
     * rows and tokens not of 4, for the matrix-matrix kernels' edges */
    enum { R = 23, C = 544, T = 6 };
    float *w = malloc(sizeof *w * R * C), *xa = malloc(sizeof *xa * C * T),
          *xq = malloc(sizeof *xq * C * T);
    for (int i = 0; i < R * C; i++)
        w[i] = (float)gauss();
    for (int i = 0; i < C * T; i++)
        xa[i] = (float)gauss();
    q8_round(xa, C * T, xq);
    struct team *team = team_new(2);
    enum ggml_type t[3] = {GGML_Q4_1, GGML_Q5_0, GGML_Q5_1};
    int bytes[3] = {20, 22, 24};
    for (int k = 0; k < 3; k++) {
        size_t rb = (size_t)bytes[k] * (C / 32);
        unsigned char *data = malloc(rb * R);
        for (int r = 0; r < R; r++)
            for (int b = 0; b < C / 32; b++) {
                unsigned char *blk = data + (size_t)r * rb + (size_t)b * (size_t)bytes[k];
                if (k == 0)
                    ggml_q4_1(w + (size_t)r * C + 32 * b, blk);
                else
                    ggml_q5(w + (size_t)r * C + 32 * b, blk, k == 2);
            }
        struct qmat m = {t[k], R, C, rb, data};
        check_products(&m, xa, xq, T, team);
        free(data);
    }
    /* Q8_0 and Q4_0, written by quant_row() */
    enum ggml_type own[2] = {GGML_Q8_0, GGML_Q4_0};
    for (int k = 0; k < 2; k++) {
        size_t rb = ggml_row_size(own[k], C);
        unsigned char *data = malloc(rb * R);
        for (int r = 0; r < R; r++)
            quant_row(own[k], w + (size_t)r * C, data + (size_t)r * rb, C);
        struct qmat m = {own[k], R, C, rb, data};
        check_products(&m, xa, xq, T, team);
        free(data);
    }
    team_free(team);
    free(w);
    free(xa);
    free(xq);
}

/* Q2_K and Q3_K decoded as ggml's dequantize_row_q2_K / _q3_K loop over
 * them (32 values at a time, the Q3_K scales unpacked through ggml's
 * kmask words), against dequant_row()'s element-by-element form. */
static void ggml_q2_k(const unsigned char *b, float *y)
{
    float d = f16_to_f32((uint16_t)(b[80] | b[81] << 8)),
          min = f16_to_f32((uint16_t)(b[82] | b[83] << 8));
    const unsigned char *q = b + 16;
    int is = 0;
    for (int n = 0; n < 256; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
            int sc = b[is++];
            float dl = d * (sc & 0xF), ml = min * (sc >> 4);
            for (int l = 0; l < 16; ++l)
                *y++ = dl * ((q[l] >> shift) & 3) - ml;
            sc = b[is++];
            dl = d * (sc & 0xF), ml = min * (sc >> 4);
            for (int l = 0; l < 16; ++l)
                *y++ = dl * ((q[l + 16] >> shift) & 3) - ml;
            shift += 2;
        }
        q += 32;
    }
}

static void ggml_q3_k(const unsigned char *b, float *y)
{
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t aux[4];
    memcpy(aux, b + 96, 12);
    uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    const int8_t *scales = (const int8_t *)aux;
    float d = f16_to_f32((uint16_t)(b[108] | b[109] << 8));
    const unsigned char *q = b + 32, *hm = b;
    int is = 0;
    unsigned m = 1;
    for (int n = 0; n < 256; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
            float dl = d * (scales[is++] - 32);
            for (int l = 0; l < 16; ++l)
                *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
            dl = d * (scales[is++] - 32);
            for (int l = 0; l < 16; ++l)
                *y++ = dl * (((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
            shift += 2;
            m <<= 1;
        }
        q += 32;
    }
}

static void kquant_read_tests(void)
{
    enum { NB = 8 };
    unsigned char q2[NB * 84], q3[NB * 110];
    for (size_t i = 0; i < sizeof q2; i++)
        q2[i] = (unsigned char)(gauss() * 1000);
    for (size_t i = 0; i < sizeof q3; i++)
        q3[i] = (unsigned char)(gauss() * 1000);
    for (int b = 0; b < NB; b++) {                      /* sane scales: finite halves */
        q2[b * 84 + 80] = 0x00, q2[b * 84 + 81] = 0x2C; /* 0.0625 */
        q2[b * 84 + 82] = 0x00, q2[b * 84 + 83] = 0x28; /* 0.03125 */
        q3[b * 110 + 108] = 0x00, q3[b * 110 + 109] = 0x2C;
    }
    float want[NB * 256], got[NB * 256];
    int same2 = 1, same3 = 1;
    for (int b = 0; b < NB; b++)
        ggml_q2_k(q2 + b * 84, want + b * 256);
    dequant_row(GGML_Q2_K, q2, got, NB * 256);
    for (int i = 0; i < NB * 256; i++)
        same2 &= want[i] == got[i];
    for (int b = 0; b < NB; b++)
        ggml_q3_k(q3 + b * 110, want + b * 256);
    dequant_row(GGML_Q3_K, q3, got, NB * 256);
    for (int i = 0; i < NB * 256; i++)
        same3 &= want[i] == got[i];
    CHECK(quant_readable(GGML_Q2_K) && same2, "Q2_K: 8 random blocks decode as ggml's loop does");
    CHECK(quant_readable(GGML_Q3_K) && same3, "Q3_K: 8 random blocks decode as ggml's loop does");
}

/* The K-quant kernels against what they compute, Σ w * q(x) with q(x) the
 * activations as ggml's quantize_row_q8_K_ref rounds them (written here
 * again): equal up to float rounding (1e-5 of the largest value), on random
 * blocks of all five types, for whichever path LODE_CPU leaves (the suite
 * runs this binary on each). */
static void q8k_round(const float *x, int n, float *out)
{
    for (int b = 0; b < n / 256; b++) {
        float amax = 0, max = 0;
        for (int j = 0; j < 256; j++)
            if (fabsf(x[256 * b + j]) > amax)
                amax = fabsf(x[256 * b + j]), max = x[256 * b + j];
        float iscale = amax ? -127.f / max : 0;
        for (int j = 0; j < 256; j++) {
            int v = (int)nearbyintf(iscale * x[256 * b + j]);
            out[256 * b + j] = amax ? (float)(v > 127 ? 127 : v) * (1 / iscale) : 0;
        }
    }
}

static void k_kernel_tests(void)
{
    enum { R = 41, C = 768, T = 7 };
    static const struct {
        enum ggml_type t;
        int bytes, d_at[2]; /* where the F16 scales are, to keep them sane */
    } kinds[] = {{GGML_Q2_K, 84, {80, 82}},
                 {GGML_Q3_K, 110, {108, -1}},
                 {GGML_Q4_K, 144, {0, 2}},
                 {GGML_Q5_K, 176, {0, 2}},
                 {GGML_Q6_K, 210, {208, -1}}};
    float *x = malloc(sizeof *x * C * T), *xq = malloc(sizeof *xq * C * T);
    for (int i = 0; i < C * T; i++)
        x[i] = (float)gauss();
    q8k_round(x, C * T, xq);
    struct team *team = team_new(2);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        size_t rb = (size_t)kinds[k].bytes * (C / 256);
        unsigned char *data = malloc(rb * R);
        for (size_t i = 0; i < rb * R; i++)
            data[i] = (unsigned char)(gauss() * 1000);
        for (size_t b = 0; b < rb * R / (size_t)kinds[k].bytes; b++)
            for (int h = 0; h < 2; h++)
                if (kinds[k].d_at[h] >= 0) {
                    unsigned char *d = data + b * (size_t)kinds[k].bytes + kinds[k].d_at[h];
                    uint16_t v = f32_to_f16((float)(0.01 + 0.02 * fabs(gauss())));
                    d[0] = (unsigned char)v, d[1] = (unsigned char)(v >> 8);
                }
        struct qmat m = {kinds[k].t, R, C, rb, data};
        double exact = check_products(&m, x, xq, T, team);
        CHECK(exact <= 0.04, "...and the float product within the 8-bit activations' 4%% (%.2g)",
              exact);
        free(data);
    }
    team_free(team);
    free(x);
    free(xq);
}

static void product_tests(void)
{
    enum { R = 96, C = 512, T = 5 };
    float *w = malloc(sizeof *w * R * C), *x = malloc(sizeof *x * C * T);
    for (int i = 0; i < R * C; i++)
        w[i] = (float)gauss() * 0.05f;
    for (int i = 0; i < C * T; i++)
        x[i] = (float)gauss();
    struct team *team = team_new(3);
    enum ggml_type types[] = {GGML_F32,  GGML_F16,  GGML_BF16, GGML_Q8_0,
                              GGML_Q4_0, GGML_Q4_K, GGML_Q5_K, GGML_Q6_K};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        size_t rb = ggml_row_size(types[k], C);
        unsigned char *data = malloc(rb * R);
        for (int r = 0; r < R; r++)
            quant_row(types[k], w + (size_t)r * C, data + (size_t)r * rb, C);
        struct qmat m = {types[k], R, C, rb, data};
        /* the reference: double sums over the dequantised rows */
        float *row = malloc(sizeof *row * C), *y1 = malloc(sizeof *y1 * R),
              *yt = malloc(sizeof *yt * R * T);
        double maxerr = 0, maxy = 0, mmerr = 0;
        qmat_matvec(&m, x, y1, team);
        qmat_matmul(&m, x, T, yt, team);
        for (int r = 0; r < R; r++) {
            qmat_row(&m, r, row);
            for (int t = 0; t < T; t++) {
                double s = 0;
                for (int c = 0; c < C; c++)
                    s += (double)row[c] * x[(size_t)t * C + c];
                maxy = fmax(maxy, fabs(s));
                if (t == 0)
                    maxerr = fmax(maxerr, fabs(y1[r] - s));
                mmerr = fmax(mmerr, fabs(yt[(size_t)t * R + r] - s));
            }
        }
        /* Q8_0, Q4_0 and the K-quants' products use 8-bit activations
         * (blocks of 32; of 256 for the K-quants, ggml's Q8_K): within 2%
         * and 4% of the largest value (k_kernel_tests bounds them exactly) */
        double lim = types[k] == GGML_Q8_0 || types[k] == GGML_Q4_0 ? 0.02
            : quant_is_k(types[k])                                  ? 0.04
                                                                    : 1e-5;
        CHECK(maxerr <= lim * maxy,
              "%s: matrix-vector product within %g of the largest value (%.2g)",
              ggml_type_name(types[k]), lim, maxerr / maxy);
        CHECK(mmerr <= lim * maxy, "%s: matrix-matrix product within %g (%.2g)",
              ggml_type_name(types[k]), lim, mmerr / maxy);
        free(row);
        free(y1);
        free(yt);
        free(data);
    }
    team_free(team);
    free(w);
    free(x);
}

struct sum_ctx {
    long long part[8];
};

static void add_part(void *ud, int w, int nw)
{
    struct sum_ctx *c = ud;
    int64_t lo, hi;
    team_share(1000001, w, nw, &lo, &hi);
    long long s = 0;
    for (int64_t i = lo; i < hi; i++)
        s += i;
    c->part[w] = s;
}

static void team_tests(void)
{
    /* shares in whole units: contiguous, covering, cut only at the end */
    int units_ok = 1;
    for (int64_t n = 0; n <= 130; n++)
        for (int nw = 1; nw <= 5; nw++) {
            int64_t next = 0;
            for (int w = 0; w < nw; w++) {
                int64_t lo, hi;
                team_share_units(n, 12, w, nw, &lo, &hi);
                if (lo >= hi)
                    continue;
                units_ok &= lo == next && lo % 12 == 0 && (hi % 12 == 0 || hi == n);
                next = hi;
            }
            units_ok &= next == n;
        }
    CHECK(units_ok,
          "team_share_units: n of 0 to 130 in units of 12 over 1 to 5 workers, whole "
          "units in order, all covered");
    struct team *t = team_new(4);
    int ok = 1;
    for (int rep = 0; rep < 2000 && ok; rep++) {
        struct sum_ctx c = {{0}};
        team_run(t, add_part, &c);
        long long s = 0;
        for (int i = 0; i < 4; i++)
            s += c.part[i];
        ok = s == 1000001LL * 1000000 / 2;
    }
    CHECK(ok, "a team of 4 runs 2000 jobs, each member its share, all of them done");
    team_free(t);
}

int main(void)
{
    kquant_read_tests();
    k_kernel_tests();
    half_tests();
    format_tests();
    legacy_tests();
    product_tests();
    team_tests();
    return check_failures != 0;
}
