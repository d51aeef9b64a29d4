/* HTML pages through libxml2's HTML parser. */
#define FUZZ_NAME "fuzz.html"
#include "extract_one.h"
