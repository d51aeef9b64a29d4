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
    int orientation;        /* detect pages turned by 90, 180, 270 degrees */
    double rotate_min_conf; /* Tesseract's orientation confidence a turn needs */
    int deskew;             /* straighten small skew */
    int psm;                /* Tesseract's page segmentation mode (3: automatic) */
};

/* The defaults: automatic layout analysis, as the tesseract command does;
 * a turn needs an orientation confidence of 2 (Tesseract's own scale; the
 * turned test pages here score 2.4-11, a photographed receipt that was
 * upright 1.5) and then a recognition more confident than the upright
 * page's. */
#define OCR_PSM_DEFAULT 3
#define OCR_ROTATE_MIN_CONF_DEFAULT 2.0

/* Whether Tesseract's page segmentation mode m yields text (0, OSD only, and
 * 2, layout without recognition, do not). */
int ocr_psm_valid(int m);

struct ocr_result {
    char *text;  /* UTF-8, malloc'd */
    double conf; /* mean word confidence 0-100 */
    int rotate;  /* clockwise rotation applied, degrees */
    double skew; /* skew corrected, degrees (0 when none) */
    /* A turn Tesseract proposed (clockwise degrees, its confidence) and
     * that was not applied, because its confidence was below the threshold
     * or the turned page read less confidently than the upright one. */
    int rotate_refused;
    double rotate_conf; /* the orientation confidence of the turn considered */
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
