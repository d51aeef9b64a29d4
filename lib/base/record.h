/* record.h - NDJSON records (lode-records(7)) over jansson.
 *
 * Records are JSON objects; fields a program does not know are kept as they
 * are, in their order. Every string a program puts into a record goes
 * through record_set_text(), which guarantees valid UTF-8.
 */
#ifndef LODE_RECORD_H
#define LODE_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/util.h"

/* Parses one line; only a JSON object whose integer fields are in range
 * (record_check_ints) is a record. NULL with a reason. */
json_t *record_parse(const char *line, size_t len, lode_error *err);

/* 0 when the integer fields of lode-records(7) (page, pages, chunk, span)
 * are absent, null or in range; else -1 and err names the field. */
int record_check_ints(const json_t *rec, lode_error *err);

/* Appends the record as one compact line with '\n' to out. */
void record_dump(struct buf *out, const json_t *rec);

/* The string value of key, or NULL when absent or not a string. */
const char *record_str(const json_t *rec, const char *key);
/* Its length in bytes (strings may hold NUL). */
size_t record_strlen(const json_t *rec, const char *key);
/* The integer value of key, or def. */
long long record_int(const json_t *rec, const char *key, long long def);

/* The text a chunk is embedded, indexed and read by: its "table_header"
 * (the header rows of the table it continues, lode-chunk), a newline, and
 * its "text"; just "text" when it has no header. NULL when the record has
 * no "text" string. The result points into the record or into *scratch. */
const char *record_chunk_text(const json_t *rec, struct buf *scratch, size_t *len);

/* Sets key to the text s[0..n), repairing invalid UTF-8 (U+FFFD) and
 * dropping NUL bytes. */
void record_set_text(json_t *rec, const char *key, const char *s, size_t n);
void record_set_str(json_t *rec, const char *key, const char *s);
/* File names are bytes, JSON strings UTF-8: sets key to the name with each
 * byte of an invalid sequence written U+FFFD and two hex digits, and a
 * U+FFFD of the name U+FFFD "u", so that names stay distinct (x\xff.md is
 * "x\uFFFDFF.md", x\xfe.md "x\uFFFDFE.md"); UTF-8 names are unchanged. */
void record_set_name(json_t *rec, const char *key, const char *name);
/* The bytes record_set_name() was given (malloc'd), or NULL. */
char *record_name(const json_t *rec, const char *key);
void record_set_int(json_t *rec, const char *key, long long v);

/* Returns the object rec[key], creating it when missing or not an object. */
json_t *record_object(json_t *rec, const char *key);

/* Sets vec (base64 of little-endian float32) or, as_array, embedding (a
 * JSON array). */
void record_set_vector(json_t *rec, const float *v, int dim, int as_array);
/* The record's vector from vec (base64, or an array) or embedding; NULL
 * with err->msg empty when it has none, NULL with a reason when it is
 * malformed (NaN and infinities included). */
float *record_vector(const json_t *rec, int *dim, lode_error *err);

/* Writes the record as one line to fd with a single write (safe for several
 * writers appending to one file). */
int record_write_fd(int fd, const json_t *rec);

/* Standard output of a filter: records are buffered and written in large
 * writes. A write error (disk full, closed pipe) is kept in error (errno)
 * and nothing more is written; output_flush() and output_close() return -1
 * once it happened (the program skeleton makes it fatal, exit 3). */
struct output {
    int fd;
    struct buf pending;
    uint64_t records, bytes;
    int error; /* errno of the first failed write, 0 */
};

void output_init(struct output *o, int fd);
void output_record(struct output *o, const json_t *rec);
/* A ready line, '\n' included. */
void output_line(struct output *o, const char *line, size_t len);
int output_flush(struct output *o);
int output_close(struct output *o);
#endif
