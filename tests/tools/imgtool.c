/* imgtool: makes test images with Leptonica.
 *   imgtool rotate DEG IN OUT   rotate IN by DEG degrees (white corners), write PNG
 *   imgtool bomb W H OUT        a PNG whose header claims W x H pixels over
 *                               a few bytes of real data
 */
#include <leptonica/allheaders.h>
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

int main(int argc, char **argv)
{
    setMsgSeverity(L_SEVERITY_NONE);
    if (argc == 5 && !strcmp(argv[1], "rotate")) {
        PIX *p = pixRead(argv[3]);
        if (!p)
            return 1;
        PIX *g = pixConvertTo8(p, 0);
        PIX *r = pixRotate(g, (float)(atof(argv[2]) * 3.14159265358979 / 180.0), L_ROTATE_AREA_MAP,
                           L_BRING_IN_WHITE, 0, 0);
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
    fprintf(stderr, "usage: imgtool rotate DEG IN OUT | bomb W H OUT\n");
    return 2;
}
