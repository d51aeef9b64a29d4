/* CSV and TSV tables (delimiter and header guess, quoting). */
#define FUZZ_NAME "fuzz.csv"
#include "extract_one.h"
