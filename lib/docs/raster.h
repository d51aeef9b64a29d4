/* raster.h - a page of a source as an 8-bit grayscale Leptonica image, for
 * OCR.
 *
 * PDF pages are rendered by poppler through cairo at a given resolution;
 * images are decoded by Leptonica, a multi-page TIFF page by page. The
 * pixel count is checked before anything is decoded or rendered, so a
 * decompression bomb (a tiny file that claims a gigapixel image) fails with
 * a clear error instead of exhausting memory.
 */
#ifndef LODE_RASTER_H
#define LODE_RASTER_H

#include <stdint.h>

#include "docs/source.h"
#include "base/util.h"

struct Pix;

/* Page `page` (from 1) of the document in data, of type "pdf" or "image".
 * *dpi receives the resolution (the one asked for a PDF, the file's or 0
 * for an image). Returns NULL with a reason. */
struct Pix *raster_page(const struct blob *data, const char *type, int page, int render_dpi,
                        uint64_t max_pixels, int *dpi, lode_error *err);

/* Quiets Leptonica's messages (it prints about every oddity of a file). */
void raster_quiet(void);

#endif
