/* ocr.c - ocr.h's Tesseract engine: languages loaded once before workers
 * fork, one thread for Tesseract's OpenMP, and a page recognised with its
 * orientation, skew and mean word confidence. */
#include "docs/ocr.h"

#include <leptonica/allheaders.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>

struct ocr_engine {
    TessBaseAPI *api; /* recognition, in the languages asked for */
    TessBaseAPI *osd; /* orientation: only the "osd" data detects it well */
};

static TessBaseAPI *engine(const char *lang, const char *datapath)
{
    TessBaseAPI *api = TessBaseAPICreate();
    if (!api)
        return NULL;
    /* Tesseract's diagnostics ("Estimating resolution as ...") are not ours */
    TessBaseAPISetVariable(api, "debug_file", "/dev/null");
    if (TessBaseAPIInit3(api, datapath, lang) != 0) {
        TessBaseAPIDelete(api);
        return NULL;
    }
    return api;
}

void ocr_single_thread(char **argv)
{
    const char *limit = getenv("OMP_THREAD_LIMIT");
    if (limit && !strcmp(limit, "1"))
        return;
    setenv("OMP_THREAD_LIMIT", "1", 1);
    execv("/proc/self/exe", argv);
    /* no /proc: go on; Tesseract then uses its own threads */
    warning("cannot restart with OMP_THREAD_LIMIT=1 (%s); set it in the environment",
            strerror(errno));
}

struct ocr_engine *ocr_engine_new(const char *lang, const char *datapath, lode_error *err)
{
    TessBaseAPI *api = engine(lang, datapath);
    if (!api) {
        lode_seterr(err,
                    "cannot load Tesseract language data for '%s' (install "
                    "tesseract-ocr-LANG, or set --tessdata or TESSDATA_PREFIX)",
                    lang);
        return NULL;
    }
    struct ocr_engine *e = xcalloc(1, sizeof *e);
    e->api = api;
    e->osd = engine("osd", datapath);
    if (!e->osd)
        warning("no Tesseract orientation data (tesseract-ocr-osd): turned pages stay turned");
    return e;
}

void ocr_engine_free(struct ocr_engine *e)
{
    if (!e)
        return;
    TessBaseAPIEnd(e->api);
    TessBaseAPIDelete(e->api);
    if (e->osd) {
        TessBaseAPIEnd(e->osd);
        TessBaseAPIDelete(e->osd);
    }
    free(e);
}

#define DESKEW_MIN_DEGREES 1.0f

/* Below this, Tesseract's orientation guess is noise. */
#define OSD_MIN_CONF 1.5

int ocr_recognize(struct ocr_engine *e, PIX *pix, int dpi, const struct ocr_options *o,
                  struct ocr_result *out, lode_error *err)
{
    memset(out, 0, sizeof *out);
    PIX *img = pixClone(pix);
    if (o->orientation && e->osd) {
        int deg = 0;
        float conf = 0, script_conf = 0;
        const char *script = NULL;
        TessBaseAPISetImage2(e->osd, img);
        if (dpi > 0)
            TessBaseAPISetSourceResolution(e->osd, dpi);
        if (TessBaseAPIDetectOrientationScript(e->osd, &deg, &conf, &script, &script_conf) &&
            conf >= OSD_MIN_CONF && deg % 90 == 0 && deg % 360 != 0) {
            /* deg is how far the page is turned counter-clockwise */
            int cw = (360 - deg % 360) % 360;
            PIX *turned = pixRotateOrth(img, cw / 90);
            if (turned) {
                pixDestroy(&img);
                img = turned;
                out->rotate = cw;
            }
        }
        TessBaseAPIClear(e->osd);
    }
    if (o->deskew) {
        l_float32 angle = 0, conf = 0;
        PIX *straight = pixFindSkewAndDeskew(img, 0, &angle, &conf);
        /* Tesseract finds lines through a skew of a degree or so by itself,
         * and reads such pages better unrotated (measured on eurotext.tif) */
        if (straight && straight != img && conf > 2.0f && fabsf(angle) >= DESKEW_MIN_DEGREES) {
            out->skew = angle;
            pixDestroy(&img);
            img = straight;
        } else if (straight) {
            pixDestroy(&straight);
        }
    }
    TessBaseAPISetImage2(e->api, img);
    if (dpi > 0)
        TessBaseAPISetSourceResolution(e->api, dpi);
    int rc = 0;
    if (TessBaseAPIRecognize(e->api, NULL) != 0) {
        lode_seterr(err, "Tesseract could not recognise the page");
        rc = -1;
    } else {
        char *t = TessBaseAPIGetUTF8Text(e->api);
        out->text = xstrdup(t ? t : "");
        TessDeleteText(t);
        int c = TessBaseAPIMeanTextConf(e->api);
        out->conf = c < 0 ? 0 : c;
    }
    TessBaseAPIClear(e->api);
    pixDestroy(&img);
    return rc;
}
