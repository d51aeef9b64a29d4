/* codec.h - numbers as bytes: big-endian keys (they sort as numbers do),
 * little-endian values, and LEB128 varints, as the store lays them out
 * (lode-store(7)). The varint reader is given the end of its bytes and
 * never reads past it. */
#ifndef LODE_CODEC_H
#define LODE_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Big-endian keys for numbers, so that they sort. */
static inline void put_be32(unsigned char k[4], uint32_t v)
{
    k[0] = (unsigned char)(v >> 24), k[1] = (unsigned char)(v >> 16);
    k[2] = (unsigned char)(v >> 8), k[3] = (unsigned char)v;
}
static inline uint32_t get_be32(const unsigned char *k)
{
    return (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
}

/* Little-endian values and varints. */
void put_le32(unsigned char *p, uint32_t v);
static inline uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
size_t put_varint(unsigned char *p, uint64_t v);
/* Reads a varint at *p below end; 0 on a truncated value. */
int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v);

#endif
