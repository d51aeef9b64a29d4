/* image files: the format's header, sizes and pages. */
#define FUZZ_NAME "fuzz.png"
#include "extract_one.h"
