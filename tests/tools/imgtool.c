/* imgtool: makes test images with Leptonica.
 *   imgtool rotate DEG IN OUT   rotate IN by DEG degrees clockwise (white corners;
 *                               quarter turns turn the canvas), write PNG
 *   imgtool bomb W H OUT        a PNG whose header claims W x H pixels over
 *                               a few bytes of real data
 *   imgtool photo CONTRAST NOISE BLUR SEED IN OUT
 *                               IN as a poor photograph: ink at CONTRAST
 *                               (0-1) on grey paper, BLUR box blurs, then
 *                               Gaussian noise of NOISE grey levels from a
 *                               seeded generator (the same image every run)
 */
#include <leptonica/allheaders.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long crc_table[256];

static unsigned long crc(const unsigned char *buf, size_t len, unsigned long c)
{
    if (!crc_table[1])
        for (unsigned n = 0; n < 256; n++) {
            unsigned long k = n;
            for (int j = 0; j < 8; j++)
                k = k & 1 ? 0xedb88320UL ^ (k >> 1) : k >> 1;
            crc_table[n] = k;
        }
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ buf[i]) & 0xff] ^ (c >> 8);
    return c;
}

static void chunk(FILE *f, const char *type, const unsigned char *data, unsigned len)
{
    unsigned char hdr[8] = {len >> 24, len >> 16, len >> 8, len, 0, 0, 0, 0};
    memcpy(hdr + 4, type, 4);
    fwrite(hdr, 1, 8, f);
    if (len)
        fwrite(data, 1, len, f);
    unsigned long c = crc(hdr + 4, 4, 0xffffffffUL);
    c = (len ? crc(data, len, c) : c) ^ 0xffffffffUL;
    unsigned char t[4] = {c >> 24, c >> 16, c >> 8, c};
    fwrite(t, 1, 4, f);
}

/* xorshift64* and Box-Muller: portable, so the image is the same anywhere */
static double gauss(uint64_t *s)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        u[i] = ((*s * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
    }
    return sqrt(-2 * log(u[0] + 1e-300)) * cos(2 * 3.14159265358979 * u[1]);
}

static int photo(double contrast, double noise, int blur, uint64_t seed, const char *in,
                 const char *out)
{
    PIX *p = pixRead(in);
    if (!p)
        return 1;
    PIX *g = pixConvertTo8(p, 0);
    pixDestroy(&p);
    int w = pixGetWidth(g), h = pixGetHeight(g);
    double *a = malloc(sizeof *a * (size_t)w * h), *b = malloc(sizeof *b * (size_t)w * h);
    if (!a || !b)
        return 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            l_uint32 v = 0;
            pixGetPixel(g, x, y, &v);
            a[(size_t)y * w + x] = 230 - (255 - (double)v) * contrast;
        }
    for (int k = 0; k < blur; k++) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double s = a[(size_t)y * w + x];
                s += a[(size_t)((y + h - 1) % h) * w + x] + a[(size_t)((y + 1) % h) * w + x];
                s += a[(size_t)y * w + (x + w - 1) % w] + a[(size_t)y * w + (x + 1) % w];
                b[(size_t)y * w + x] = s / 5;
            }
        double *t = a;
        a = b;
        b = t;
    }
    uint64_t st = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double v = a[(size_t)y * w + x] + noise * gauss(&st);
            pixSetPixel(g, x, y, (l_uint32)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5));
        }
    free(a);
    free(b);
    int rc = pixWrite(out, g, IFF_PNG) ? 1 : 0;
    pixDestroy(&g);
    return rc;
}

int main(int argc, char **argv)
{
    setMsgSeverity(L_SEVERITY_NONE);
    if (argc == 5 && !strcmp(argv[1], "rotate")) {
        PIX *p = pixRead(argv[3]);
        if (!p)
            return 1;
        PIX *g = pixConvertTo8(p, 0);
        double deg = atof(argv[2]);
        /* quarter turns keep the whole page (pixRotate keeps the canvas) */
        PIX *r = fmod(deg, 90) == 0 ? pixRotateOrth(g, ((int)(deg / 90) % 4 + 4) % 4)
                                    : pixRotate(g, (float)(deg * 3.14159265358979 / 180.0),
                                                L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
        int rc = pixWrite(argv[4], r, IFF_PNG) ? 1 : 0;
        pixDestroy(&p);
        pixDestroy(&g);
        pixDestroy(&r);
        return rc;
    }
    if (argc == 5 && !strcmp(argv[1], "bomb")) {
        unsigned w = (unsigned)atol(argv[2]), h = (unsigned)atol(argv[3]);
        FILE *f = fopen(argv[4], "wb");
        if (!f)
            return 1;
        fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
        unsigned char ihdr[13] = {w >> 24, w >> 16, w >> 8, w, h >> 24, h >> 16, h >> 8,
                                  h,       8,       0,      0, 0,       0};
        chunk(f, "IHDR", ihdr, 13);
        static const unsigned char idat[] = {0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01};
        chunk(f, "IDAT", idat, sizeof idat);
        chunk(f, "IEND", NULL, 0);
        return fclose(f) ? 1 : 0;
    }
    if (argc == 8 && !strcmp(argv[1], "photo"))
        return photo(atof(argv[2]), atof(argv[3]), atoi(argv[4]), strtoull(argv[5], NULL, 10),
                     argv[6], argv[7]);
    fprintf(stderr,
            "usage: imgtool rotate DEG IN OUT | bomb W H OUT | photo CONTRAST NOISE BLUR "
            "SEED IN OUT\n");
    return 2;
}
