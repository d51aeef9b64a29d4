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
    /* "eng+deu" loads with English alone when German is missing: say so */
    char **loaded = TessBaseAPIGetLoadedLanguagesAsVector(api);
    char *want = xstrdup(lang), *save = NULL;
    for (char *l = strtok_r(want, "+", &save); l; l = strtok_r(NULL, "+", &save)) {
        int have = *l == '~'; /* ~LANG: not to be loaded */
        for (size_t i = 0; !have && loaded && loaded[i]; i++)
            have = !strcmp(loaded[i], l);
        if (!have) {
            lode_seterr(err,
                        "no Tesseract language data for '%s' (of --lang %s): install "
                        "tesseract-ocr-%s, or set --tessdata or TESSDATA_PREFIX",
                        l, lang, l);
            free(want);
            TessDeleteTextArray(loaded);
            TessBaseAPIEnd(api);
            TessBaseAPIDelete(api);
            return NULL;
        }
    }
    free(want);
    TessDeleteTextArray(loaded);
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

int ocr_psm_valid(int m)
{
    return m >= 1 && m < PSM_COUNT && m != PSM_OSD_ONLY && m != PSM_AUTO_ONLY;
}

#define DESKEW_MIN_DEGREES 1.0f

/* A copy of img straightened when it is skewed by a degree or more. */
static PIX *straighten(PIX *img, int deskew, double *skew)
{
    *skew = 0;
    if (deskew) {
        l_float32 angle = 0, conf = 0;
        PIX *straight = pixFindSkewAndDeskew(img, 0, &angle, &conf);
        /* Tesseract finds lines through a skew of a degree or so by itself,
         * and reads such pages better unrotated (measured on eurotext.tif) */
        if (straight && straight != img && conf > 2.0f && fabsf(angle) >= DESKEW_MIN_DEGREES) {
            *skew = angle;
            return straight;
        }
        if (straight)
            pixDestroy(&straight);
    }
    return pixClone(img);
}

/* One recognition of img: its text (malloc'd), mean word confidence and,
 * words not NULL, the sum of its words' confidences (100 a word: about how
 * many words were read right; what an upright and a turned reading are
 * compared by). */
static int read_page(TessBaseAPI *api, PIX *img, int dpi, int psm, char **text, double *conf,
                     double *words, lode_error *err)
{
    TessBaseAPISetPageSegMode(api, (TessPageSegMode)psm);
    TessBaseAPISetImage2(api, img);
    if (dpi > 0)
        TessBaseAPISetSourceResolution(api, dpi);
    int rc = 0;
    if (TessBaseAPIRecognize(api, NULL) != 0) {
        lode_seterr(err, "Tesseract could not recognise the page");
        rc = -1;
    } else {
        char *t = TessBaseAPIGetUTF8Text(api);
        *text = xstrdup(t ? t : "");
        TessDeleteText(t);
        int c = TessBaseAPIMeanTextConf(api);
        *conf = c < 0 ? 0 : c;
        TessResultIterator *it = words ? TessBaseAPIGetIterator(api) : NULL;
        if (it) {
            *words = 0;
            do {
                char *w = TessResultIteratorGetUTF8Text(it, RIL_WORD);
                if (w && w[strspn(w, " \t\n")])
                    *words += TessResultIteratorConfidence(it, RIL_WORD);
                TessDeleteText(w);
            } while (TessResultIteratorNext(it, RIL_WORD));
            TessResultIteratorDelete(it);
        }
    }
    TessBaseAPIClear(api);
    return rc;
}

/* The clockwise turn Tesseract's orientation detection proposes (0 when
 * none) and its confidence. */
static int proposed_turn(TessBaseAPI *osd, PIX *img, int dpi, double *conf)
{
    int deg = 0, cw = 0;
    float c = 0, script_conf = 0;
    const char *script = NULL;
    *conf = 0;
    TessBaseAPISetImage2(osd, img);
    if (dpi > 0)
        TessBaseAPISetSourceResolution(osd, dpi);
    if (TessBaseAPIDetectOrientationScript(osd, &deg, &c, &script, &script_conf) && deg % 90 == 0) {
        /* deg is how far the page is turned counter-clockwise */
        cw = (360 - deg % 360) % 360;
        *conf = c;
    }
    TessBaseAPIClear(osd);
    return cw;
}

int ocr_recognize(struct ocr_engine *e, PIX *pix, int dpi, const struct ocr_options *o,
                  struct ocr_result *out, lode_error *err)
{
    memset(out, 0, sizeof *out);
    int cw = 0;
    if (o->orientation && e->osd)
        cw = proposed_turn(e->osd, pix, dpi, &out->rotate_conf);
    double skew0 = 0, words0 = 0;
    PIX *upright = straighten(pix, o->deskew, &skew0);
    /* the words' confidences are summed only when a turn is to be weighed */
    int weigh = cw && out->rotate_conf >= o->rotate_min_conf;
    int rc = read_page(e->api, upright, dpi, o->psm, &out->text, &out->conf, weigh ? &words0 : NULL,
                       err);
    pixDestroy(&upright);
    out->skew = skew0;
    if (rc < 0 || !cw)
        return rc;
    if (out->rotate_conf < o->rotate_min_conf) {
        out->rotate_refused = cw;
        return 0;
    }
    /* a turn is kept only when the turned page reads at least as well: on
     * sparse pages (receipts, forms) the guess is often wrong */
    PIX *turned = pixRotateOrth(pix, cw / 90);
    double skew1 = 0;
    PIX *straight = turned ? straighten(turned, o->deskew, &skew1) : NULL;
    pixDestroy(&turned);
    char *text1 = NULL;
    double conf1 = 0, words1 = 0;
    if (!straight) {
        lode_seterr(err, "cannot turn the page image (out of memory)");
        rc = -1;
    } else {
        rc = read_page(e->api, straight, dpi, o->psm, &text1, &conf1, &words1, err);
        pixDestroy(&straight);
    }
    if (rc < 0) {
        free(out->text);
        out->text = NULL;
        return -1;
    }
    /* a tie with words read: Tesseract turned the lines itself */
    if (words1 > words0 || (words1 == words0 && words1 > 0)) {
        free(out->text);
        out->text = text1;
        out->conf = conf1;
        out->skew = skew1;
        out->rotate = cw;
    } else {
        free(text1);
        out->rotate_refused = cw;
    }
    return 0;
}
