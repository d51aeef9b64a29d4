/* ocr.h - recognition of a page image with Tesseract (C API).
 *
 * An engine is one TessBaseAPI with its language data loaded. Tesseract
 * runs single-threaded: OMP_THREAD_LIMIT=1 is set before the program starts
 * (ocr_single_thread),
 * because on a small machine Tesseract's own OpenMP threads cost several
 * times what they save; lode gets its parallelism from worker processes.
 *
 * Caveats: an engine is used by one thread at a time. A process may fork
 * after ocr_engine_new(); the children share the loaded data copy-on-write.
 */
#ifndef LODE_OCR_H
#define LODE_OCR_H

#include "base/util.h"

struct Pix;
struct ocr_engine;

struct ocr_options {
    int orientation; /* detect pages turned by 90, 180, 270 degrees */
    int deskew;      /* straighten small skew */
};

struct ocr_result {
    char *text;  /* UTF-8, malloc'd */
    double conf; /* mean word confidence 0-100 */
    int rotate;  /* clockwise rotation applied, degrees */
    double skew; /* skew corrected, degrees (0 when none) */
};

/* OpenMP reads OMP_THREAD_LIMIT when the program is loaded, so setting it
 * later is too late: when it is not 1, this sets it and executes the
 * program again (same arguments, same descriptors). Call first in main. */
void ocr_single_thread(char **argv);

/* lang as Tesseract takes it ("eng", "eng+deu"); datapath NULL for the
 * default or TESSDATA_PREFIX. */
struct ocr_engine *ocr_engine_new(const char *lang, const char *datapath, lode_error *err);
void ocr_engine_free(struct ocr_engine *e);
int ocr_recognize(struct ocr_engine *e, struct Pix *pix, int dpi, const struct ocr_options *o,
                  struct ocr_result *out, lode_error *err);

#endif
