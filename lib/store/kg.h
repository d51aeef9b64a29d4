/* kg.h - the store's knowledge graph: the entities and relations of its
 * chunks (lode-entities), kept in step with the chunks (lode-store(7)).
 *
 * Tables, all counted by chunks so that a chunk's removal undoes its
 * addition exactly (an entity with no chunk left disappears):
 *   kg_entities  norm -> {"chunks":N,"names":{name:N},"types":{type:N}}
 *                (its name and type are the most frequent, ties by order)
 *   kg_mentions  norm \0 chunk number (4 bytes) -> "": the chunks of an entity
 *   kg_edges     a \0 b \0 rel \0 '>' or '<' -> count (4 bytes): each
 *                relation under both ends, '>' from its head
 *   kg_aliases   an acronym's folded form -> {norm:N}
 * A relation's tail may be a phrase that is no entity ("key-value store"):
 * it is a node of type "concept" in the dump.
 *
 * Errors: a negative store code (the transaction is the caller's).
 * Caveats: entities whose norm is over 200 bytes, relations over 32, are
 * left out (LMDB keys hold 511 bytes).
 */
#ifndef LODE_KG_H
#define LODE_KG_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

/* In a write transaction: chunk num's entities and relations (rec's
 * "entities" and "relations"; malformed items are skipped) added to the
 * graph (delta +1) or taken out (-1). */
int kg_apply(struct store *s, uint32_t num, const json_t *rec, int delta);

/* --dump-graph: "jsonl" (one node or edge object a line) or "graphml" to
 * out, or "neo4j" as dir/nodes.csv and dir/relationships.csv in the
 * headers of neo4j-admin database import. The number of nodes, or a
 * negative code. */
long kg_dump(struct store *s, const char *format, const char *dir, FILE *out, lode_error *err);

/* In a read transaction: the entity named name (a norm, a name in any
 * case, or an alias) as {"entity","type","aliases","chunks","neighbours":
 * [{"name","rel","direction","count"}]} and its chunk numbers (malloc'd),
 * or NULL when the store has no such entity. */
json_t *kg_entity(struct store *s, const char *name, uint32_t **chunks, size_t *nchunks);

/* In a read transaction: chunk numbers reached from the entities named in
 * text (its words and runs of up to four words, case-folded, matched
 * against norms and aliases) and from their neighbours, scored by mentions
 * (1 each) and edge counts (count / (count + 1) each): the best k, in
 * *nums and *scores (malloc'd); returns how many. */
size_t kg_search(struct store *s, const char *text, size_t k, uint32_t **nums, double **scores);

/* In a read transaction (--check): the graph built again from the chunk
 * records, in memory, compared with the tables; problem is called for the
 * first differences of each table. The number of differing entries. */
long kg_check(struct store *s, void (*problem)(void *ud, const char *msg), void *ud);

#endif
