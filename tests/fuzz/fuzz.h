/* fuzz.h - what the fuzz targets share: a scratch folder for the parsers
 * that read files, and the shared models some targets need loaded once.
 *
 * Each target defines LLVMFuzzerTestOneInput() (and may define
 * LLVMFuzzerInitialize()); it is linked with libFuzzer (make fuzz) or with
 * driver.c, which runs it over a corpus once (make check). A target never
 * keeps state between inputs except what its initialisation loaded.
 */
#ifndef LODE_FUZZ_H
#define LODE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A private scratch folder, made on first use and removed at exit. */
const char *fuzz_dir(void);
/* Writes data to NAME in the scratch folder; returns its path (static). */
const char *fuzz_file(const char *name, const uint8_t *data, size_t size);
/* ../shared (LODE_SHARED when set): the models some targets load. */
const char *fuzz_shared(void);

#endif
