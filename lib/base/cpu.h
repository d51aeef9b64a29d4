/* cpu.h - which kernel path this CPU runs.
 *
 * The kernels keep a portable C path and add AVX2 (with FMA and F16C) and
 * AVX-512 VNNI (with VL) paths, chosen at run time by cpu_level(). The
 * environment variable LODE_CPU=portable|avx2|avx512 lowers the level (it
 * never raises it above what the CPU has), so that one machine can run
 * every path it supports: the tests do, and a benchmark can compare them.
 *
 * Caveats:
 *  - The level is read once per process (the first call) and then fixed:
 *    a fact about the machine, not state.
 */
#ifndef LODE_CPU_H
#define LODE_CPU_H

enum cpu_level {
    CPU_PORTABLE = 0, /* plain C */
    CPU_AVX2 = 1,     /* AVX2, FMA, F16C */
    CPU_AVX512 = 2,   /* the above and AVX-512 F, VL, VNNI */
};

enum cpu_level cpu_level(void);
/* "portable", "avx2", "avx512" */
const char *cpu_level_name(enum cpu_level l);

#endif
