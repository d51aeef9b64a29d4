/* vectors.h - the store's vectors and HNSW graph, to and from memory.
 *
 * Vectors are kept in blocks of STORE_VECTORS_BLOCK (float32: dim floats
 * each; int8: the block's scales, then dim bytes each), already
 * normalised. A graph node is [level][count, neighbours] for each level,
 * counts as 16-bit and neighbours as 32-bit little-endian numbers.
 */
#ifndef LODE_VECTORS_H
#define LODE_VECTORS_H

#include "store/hnsw.h"
#include "store/store.h"
#include "base/util.h"

/* Reads the whole graph and its vectors (inside the open transaction).
 * Returns the number of links dropped because they led nowhere (a damaged
 * store), or a negative code (LODE_ECORRUPT for a malformed block or node). */
long vectors_load(struct store *s, struct hnsw *h, lode_error *err);
/* Writes the vectors of nodes (whole blocks) and every node whose links
 * changed since hnsw_clean(). Returns 0 or the code of the put that failed
 * (LODE_EMAPFULL: grow the map and redo the transaction). */
int vectors_save(struct store *s, struct hnsw *h, const uint32_t *nodes, size_t n);

#endif
