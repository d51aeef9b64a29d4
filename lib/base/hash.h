/* hash.h - content hashing (SHA-256 through GLib).
 *
 * A document's `doc` is the first 64 bits of the SHA-256 of its bytes, as 16
 * lowercase hex digits (lode-records(7)).
 */
#ifndef LODE_HASH_H
#define LODE_HASH_H

#include <glib.h>
#include <stddef.h>

#define HASH_HEX_LEN 16

/* out receives 16 hex digits and a NUL. */
void hash_bytes(const void *data, size_t len, char out[HASH_HEX_LEN + 1]);
/* The hash of several strings, each followed by a NUL, in order. */
void hash_strings(char out[HASH_HEX_LEN + 1], const char *first, ...);

/* The shard (0 to n-1) of a source: the first 64 bits of the SHA-256 of
 * its name up to the first "!/", modulo n, so that an archive's members
 * go where the archive goes and documents can be split before extraction. */
unsigned hash_shard(const char *source, unsigned n);
/* Parses "K/N" (0 <= K < N <= 4096); -1 when malformed. */
int hash_parse_shard(const char *spec, int *k, int *n);

/* Feeds a model file to c: all of it up to 64 MiB; of a larger file its
 * size, its first header bytes and 256 pieces of 4 KiB spread evenly, so
 * that a gigabyte model starts at once. A different model (retrained,
 * fine-tuned, quantised) differs in every piece: identity, not security. */
void hash_sampled(GChecksum *c, const unsigned char *p, size_t len, size_t header);

#endif
