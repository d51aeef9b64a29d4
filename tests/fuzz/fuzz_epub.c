/* EPUB books (container, OPF spine, XHTML chapters). */
#define FUZZ_NAME "fuzz.epub"
#include "extract_one.h"
