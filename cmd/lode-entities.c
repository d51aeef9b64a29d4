/* lode-entities: entities and relations added to chunk records
 * (lode-entities(1)). */
#include <jansson.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/program.h"
#include "text/entities.h"

int main(int argc, char **argv)
{
    struct program p;
    program_init(&p, argv[0]);
    const struct opt table[] = {
        OPTS_COMMON(&p.common),
        OPT_END,
    };
    const struct opts_program prog = {
        "lode-entities",
        "[OPTION]...",
        "Add the entities (names, acronyms with their expansions, e-mail addresses, URLs,\n"
        "dates, versions, quantities) and the relations between them (X is a Y, X, the Y,\n"
        "X (Y), and entities in one sentence) of each chunk record's text on standard\n"
        "input, as \"entities\" and \"relations\"; lode-index keeps them as a graph.",
        table,
        "Exit status: 0 all records read, 1 some failed (see --errors), 2 usage,\n"
        "3 fatal. See lode-entities(1) and lode-records(7).\n",
    };
    opts_parse_filter(&prog, argc, argv, "records");
    lode_error err;
    struct entities *e = entities_new(&err);
    if (!e)
        die("%s", err.msg);
    program_open(&p, "entities", "records", 1, 0);
    unsigned long long found = 0, related = 0;
    json_t *rec;
    while ((rec = program_next(&p))) {
        json_t *text = json_object_get(rec, "text");
        if (!json_is_string(text)) {
            const char *src = record_str(rec, "source");
            report_fail(&p.rep, src ? src : p.in.where, record_str(rec, "id"),
                        "the record has no \"text\" string");
            json_decref(rec);
            continue;
        }
        json_t *ents, *rels;
        entities_find(e, json_string_value(text), json_string_length(text), &ents, &rels);
        found += json_array_size(ents);
        related += json_array_size(rels);
        json_object_set_new(rec, "entities", ents);
        json_object_set_new(rec, "relations", rels);
        output_record(&p.out, rec);
        p.rep.ok++;
        json_decref(rec);
    }
    buf_addf(&p.rep.summary_extra, "; %llu entities, %llu relations", found, related);
    report_metric(&p.rep, "entities_total", "counter", "Entity mentions found.", (double)found);
    report_metric(&p.rep, "relations_total", "counter", "Relations found.", (double)related);
    entities_free(e);
    return program_close(&p);
}
