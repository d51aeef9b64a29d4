/* OpenDocument files (odt, odp, ods). */
#define FUZZ_NAME "fuzz.odt"
#include "extract_one.h"
