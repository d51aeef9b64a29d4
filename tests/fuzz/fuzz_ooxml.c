/* OOXML documents (docx, pptx, xlsx: the zip and its XML parts). */
#define FUZZ_NAME "fuzz.docx"
#include "extract_one.h"
