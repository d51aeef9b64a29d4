/* The entity and relation rules over any text (lode-entities), and the
 * graph's updates and dumps from what they find. */
#include <stdio.h>

#include "base/util.h"
#include "fuzz.h"
#include "text/entities.h"

static struct entities *rules;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lode_error err;
    if (!rules && !(rules = entities_new(&err)))
        die("%s", err.msg);
    json_t *ents, *rels;
    entities_find(rules, (const char *)data, size, &ents, &rels);
    json_decref(ents);
    json_decref(rels);
    return 0;
}
