/* safetensors.h - Hugging Face's safetensors files, validated and mapped.
 *
 * The file is memory-mapped; an F32 tensor whose bytes are 4-aligned is
 * used in place (no copy); F16 and BF16 tensors, and unaligned F32 ones,
 * are converted to float32 copies on first use. Before anything is used,
 * every claim of the header is checked: its length is inside the file, it
 * is one JSON object with unique names, every dtype is known, every
 * shape's element count times the dtype's size equals its byte range, every
 * range lies inside the data and no two overlap. A file that lies fails
 * with the reason.
 */
#ifndef LODE_SAFETENSORS_H
#define LODE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/blob.h"
#include "base/util.h"

enum st_dtype { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL };

struct st_tensor {
    char *name;
    enum st_dtype dtype;
    int ndim;
    int64_t shape[8];
    int64_t count; /* elements */
    const unsigned char *bytes;
    size_t nbytes;
    float *converted; /* float32 copy, when one was needed */
};

struct safetensors {
    struct blob file;
    struct st_tensor *t;
    size_t n;
};

int safetensors_open(const char *path, struct safetensors *st, lode_error *err);
void safetensors_close(struct safetensors *st);
struct st_tensor *safetensors_find(struct safetensors *st, const char *name);
/* The tensor as float32, checked to have this shape (ndim entries; -1 means
 * any). NULL with a reason when missing, of another shape, or not a float. */
const float *safetensors_f32(struct safetensors *st, const char *name, int ndim,
                             const int64_t *shape, lode_error *err);

#endif
