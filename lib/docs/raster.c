/* raster.c - raster.h's page images: PDF pages rendered by poppler and
 * cairo to 8-bit grayscale at a resolution, images decoded by Leptonica,
 * both refused past the pixel limit; Leptonica's chatter silenced. */
#include "docs/raster.h"

#include <cairo.h>
#include <leptonica/allheaders.h>
#include <math.h>
#include <poppler.h>
#include <string.h>

void raster_quiet(void)
{
    setMsgSeverity(L_SEVERITY_NONE);
}

static PIX *render_pdf(const struct blob *data, int page, int dpi, uint64_t max_pixels,
                       lode_error *err)
{
    GBytes *bytes = g_bytes_new_static(data->data, data->len);
    GError *gerr = NULL;
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    PIX *pix = NULL;
    if (!doc) {
        lode_seterr(err, "unreadable PDF: %s", gerr ? gerr->message : "unknown error");
        if (gerr)
            g_error_free(gerr);
        g_bytes_unref(bytes);
        return NULL;
    }
    PopplerPage *pg = poppler_document_get_page(doc, page - 1);
    if (!pg) {
        lode_seterr(err, "the PDF has no page %d", page);
        goto out;
    }
    double wpt, hpt;
    poppler_page_get_size(pg, &wpt, &hpt);
    double scale = dpi / 72.0;
    double wd = ceil(wpt * scale), hd = ceil(hpt * scale);
    if (!(wd >= 1 && hd >= 1) || wd * hd > (double)max_pixels || wd > 1e6 || hd > 1e6) {
        lode_seterr(err,
                    "page %d would be %.0f x %.0f pixels at %d dpi, over the limit of %llu "
                    "pixels (--max-pixels)",
                    page, wd, hd, dpi, (unsigned long long)max_pixels);
        g_object_unref(pg);
        goto out;
    }
    int w = (int)wd, h = (int)hd;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        lode_seterr(err, "cannot make a %d x %d image", w, h);
        cairo_surface_destroy(surf);
        g_object_unref(pg);
        goto out;
    }
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    /* printing flags: form fields and annotations as printed, which is what
     * the reader of a scan sees */
    poppler_page_render_for_printing(pg, cr);
    cairo_destroy(cr);
    cairo_surface_flush(surf);
    pix = pixCreate(w, h, 8);
    if (!pix) {
        lode_seterr(err, "out of memory for a %d x %d image", w, h);
    } else {
        const unsigned char *src = cairo_image_surface_get_data(surf);
        int stride = cairo_image_surface_get_stride(surf);
        l_uint32 *dst = pixGetData(pix);
        int wpl = pixGetWpl(pix);
        for (int y = 0; y < h; y++) {
            const uint32_t *row = (const uint32_t *)(src + (size_t)y * (size_t)stride);
            l_uint32 *line = dst + (size_t)y * (size_t)wpl;
            for (int x = 0; x < w; x++) {
                uint32_t px = row[x];
                unsigned r = (px >> 16) & 0xFF, g = (px >> 8) & 0xFF, b = px & 0xFF;
                SET_DATA_BYTE(line, x, (r * 77 + g * 150 + b * 29) >> 8);
            }
        }
        pixSetResolution(pix, dpi, dpi);
    }
    cairo_surface_destroy(surf);
    g_object_unref(pg);
out:
    g_object_unref(doc);
    g_bytes_unref(bytes);
    return pix;
}

static PIX *decode_image(const struct blob *data, int page, uint64_t max_pixels, int *dpi,
                         lode_error *err)
{
    l_int32 format = 0, w = 0, h = 0, bps = 0, spp = 0, iscmap = 0;
    if (data->len == 0) {
        lode_seterr(err, "empty image");
        return NULL;
    }
    if (pixReadHeaderMem(data->data, data->len, &format, &w, &h, &bps, &spp, &iscmap) != 0) {
        lode_seterr(err, "unreadable or unsupported image");
        return NULL;
    }
    if (w <= 0 || h <= 0) {
        lode_seterr(err, "the image has no pixels (%d x %d)", w, h);
        return NULL;
    }
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        lode_seterr(err,
                    "the image is %d x %d pixels, over the limit of %llu pixels "
                    "(--max-pixels)",
                    w, h, (unsigned long long)max_pixels);
        return NULL;
    }
    PIX *raw;
    if (format == IFF_TIFF || format == IFF_TIFF_G3 || format == IFF_TIFF_G4 ||
        format == IFF_TIFF_PACKBITS || format == IFF_TIFF_RLE || format == IFF_TIFF_LZW ||
        format == IFF_TIFF_ZIP || format == IFF_TIFF_JPEG) {
        /* every page of a TIFF has its own size: check this one too */
        raw = pixReadMemTiff(data->data, data->len, page - 1);
        if (raw && (uint64_t)pixGetWidth(raw) * (uint64_t)pixGetHeight(raw) > max_pixels) {
            lode_seterr(err, "TIFF page %d is %d x %d pixels, over the limit (--max-pixels)", page,
                        pixGetWidth(raw), pixGetHeight(raw));
            pixDestroy(&raw);
            return NULL;
        }
    } else if (page != 1) {
        lode_seterr(err, "the image has no page %d", page);
        return NULL;
    } else {
        raw = pixReadMem(data->data, data->len);
    }
    if (!raw) {
        lode_seterr(err, "the image cannot be decoded (corrupt or truncated)");
        return NULL;
    }
    PIX *gray = pixConvertTo8(raw, 0);
    if (gray && pixGetDepth(raw) == 32) {
        pixDestroy(&gray);
        gray = pixConvertRGBToLuminance(raw);
    }
    l_int32 xres = 0, yres = 0;
    pixGetResolution(raw, &xres, &yres);
    *dpi = xres > 0 ? xres : 0;
    pixDestroy(&raw);
    if (!gray)
        lode_seterr(err, "the image cannot be converted to grayscale");
    return gray;
}

PIX *raster_page(const struct blob *data, const char *type, int page, int render_dpi,
                 uint64_t max_pixels, int *dpi, lode_error *err)
{
    *dpi = 0;
    if (page < 1) {
        lode_seterr(err, "no page number");
        return NULL;
    }
    if (!strcmp(type, "pdf")) {
        *dpi = render_dpi;
        return render_pdf(data, page, render_dpi, max_pixels, err);
    }
    return decode_image(data, page, max_pixels, dpi, err);
}
