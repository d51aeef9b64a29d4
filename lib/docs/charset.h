/* charset.h - document bytes into valid UTF-8.
 *
 * Order of evidence: a byte-order mark (UTF-8, UTF-16LE/BE, UTF-32LE/BE);
 * UTF-16 without a mark when NUL bytes show it; then a declared charset
 * (an HTML meta tag, an XML declaration) when it is known; then UTF-8 when
 * the bytes are valid UTF-8; else Windows-1252, which decodes any byte.
 * Line ends are left as they are; the result never holds invalid UTF-8 and
 * never a NUL byte.
 */
#ifndef LODE_CHARSET_H
#define LODE_CHARSET_H

#include <stddef.h>

/* Returns a malloc'd NUL-terminated UTF-8 string and its length in *outlen.
 * *used (may be NULL) receives the name of the encoding that was applied. */
char *charset_to_utf8(const char *data, size_t len, const char *declared, size_t *outlen,
                      const char **used);

/* Finds a charset declared in the first bytes of an HTML or XML document
 * (<meta charset>, http-equiv Content-Type, <?xml encoding=...?>). Writes it
 * lowercased into out; returns 0 when found. */
int charset_sniff_declared(const char *data, size_t len, char *out, size_t outsize);

/* Appends UTF-8 text with line ends made '\n', form feeds made a blank
 * line, and other control characters (C0 but tab and newline, DEL) left out:
 * what every record's text goes through. */
struct buf;
void charset_clean_text(struct buf *out, const char *s, size_t n);

/* 1 when the bytes look like text in some encoding rather than binary. */
int charset_looks_textual(const unsigned char *data, size_t len);

#endif
