/* gguf.h - GGUF files (versions 2 and 3): llama.cpp's and Ollama's model
 * format, validated and mapped.
 *
 * The whole file is untrusted: every length, count and offset is checked
 * before it is used. Strings must fit the file, counts are bounded by what
 * the file could hold, tensors have 1 to 4 dimensions whose first is a
 * multiple of the type's block size, lie inside the data section at the
 * file's alignment, do not overlap, and have unique names. Tensor data stays
 * in the mapped file (no copies).
 */
#ifndef LODE_GGUF_H
#define LODE_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/blob.h"
#include "base/util.h"

enum gguf_vtype {
    GGUF_U8 = 0,
    GGUF_I8,
    GGUF_U16,
    GGUF_I16,
    GGUF_U32,
    GGUF_I32,
    GGUF_F32,
    GGUF_BOOL,
    GGUF_STRING,
    GGUF_ARRAY,
    GGUF_U64,
    GGUF_I64,
    GGUF_F64,
};

/* ggml tensor types lode reads or knows the size of */
enum ggml_type {
    GGML_F32 = 0,
    GGML_F16 = 1,
    GGML_Q4_0 = 2,
    GGML_Q4_1 = 3,
    GGML_Q5_0 = 6,
    GGML_Q5_1 = 7,
    GGML_Q8_0 = 8,
    GGML_Q8_1 = 9,
    GGML_Q2_K = 10,
    GGML_Q3_K = 11,
    GGML_Q4_K = 12,
    GGML_Q5_K = 13,
    GGML_Q6_K = 14,
    GGML_Q8_K = 15,
    GGML_I8 = 24,
    GGML_I16 = 25,
    GGML_I32 = 26,
    GGML_I64 = 27,
    GGML_F64 = 28,
    GGML_BF16 = 30,
};

struct gguf_kv {
    char *key;
    enum gguf_vtype type;
    union {
        uint64_t u;
        int64_t i;
        double f;
    } v;                        /* scalars */
    char *str;                  /* GGUF_STRING */
    enum gguf_vtype atype;      /* GGUF_ARRAY: element type ... */
    uint64_t count;             /* ... number of elements ... */
    const unsigned char *adata; /* ... and where they start in the file */
    const unsigned char **astr; /* string arrays: each element's start */
    uint32_t *astrlen;          /* ... and length */
};

struct gguf_tensor {
    char *name;
    enum ggml_type type;
    int ndim;
    uint64_t ne[4]; /* ne[0] is the row length, as in ggml */
    uint64_t count;
    const void *data;
    size_t nbytes;
};

struct gguf {
    struct blob file;
    uint32_t version;
    size_t alignment;
    struct gguf_kv *kv;
    size_t nkv;
    struct gguf_tensor *t;
    size_t nt;
};

int gguf_open(const char *path, struct gguf *g, lode_error *err);
/* The same over len bytes in memory (copied; name for messages): what the
 * fuzz target parses. */
int gguf_open_mem(const void *data, size_t len, const char *name, struct gguf *g, lode_error *err);
void gguf_close(struct gguf *g);
const struct gguf_kv *gguf_find(const struct gguf *g, const char *key);
/* Scalar values with a default when absent or not a number. */
int64_t gguf_int(const struct gguf *g, const char *key, int64_t def);
double gguf_float(const struct gguf *g, const char *key, double def);
const char *gguf_str(const struct gguf *g, const char *key);
const struct gguf_tensor *gguf_tensor(const struct gguf *g, const char *name);
/* Size in bytes of n elements of a type, 0 when unknown or n is not whole blocks. */
size_t ggml_row_size(enum ggml_type type, uint64_t n);
const char *ggml_type_name(enum ggml_type type);

/* ---- writing ---- */

/* A GGUF v3 file being put together: metadata in order, then tensors
 * (their data referenced, not copied: it must live until gguf_write()).
 * The file is written to PATH.tmp and renamed, so a reader never sees half
 * of it. */
struct gguf_writer;

struct gguf_writer *gguf_writer_new(void);
void gguf_writer_free(struct gguf_writer *w);
/* A key of another file, as it is (any type, arrays included). */
void gguf_put_kv(struct gguf_writer *w, const struct gguf_kv *kv);
void gguf_put_str(struct gguf_writer *w, const char *key, const char *v);
void gguf_put_u32(struct gguf_writer *w, const char *key, uint32_t v);
void gguf_put_f32(struct gguf_writer *w, const char *key, float v);
void gguf_put_bool(struct gguf_writer *w, const char *key, int v);
/* Arrays: strings, float32 or int32 values. */
void gguf_put_strs(struct gguf_writer *w, const char *key, const char *const *v, size_t n);
void gguf_put_f32s(struct gguf_writer *w, const char *key, const float *v, size_t n);
void gguf_put_i32s(struct gguf_writer *w, const char *key, const int32_t *v, size_t n);
void gguf_put_tensor(struct gguf_writer *w, const char *name, enum ggml_type type, int ndim,
                     const uint64_t *ne, const void *data, size_t nbytes);
int gguf_write(struct gguf_writer *w, const char *path, lode_error *err);

#endif
