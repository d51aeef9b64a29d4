/* cpu.c - the kernel path of cpu.h: what the CPU reports through GCC's
 * __builtin_cpu_supports, lowered by LODE_CPU. */
#include "base/cpu.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"portable", "avx2", "avx512"};

#if defined(__x86_64__) && defined(__GNUC__)
/* F16C by CPUID (leaf 1, ECX bit 29): clang's __builtin_cpu_supports lacks it */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
}
#endif

static enum cpu_level detected(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || !has_f16c())
        return CPU_PORTABLE;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vnni"))
        return CPU_AVX512;
    return CPU_AVX2;
#else
    return CPU_PORTABLE;
#endif
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static enum cpu_level level; /* set once by decide(), read-only after */

static void decide(void)
{
    level = detected();
    const char *cap = getenv("LODE_CPU");
    for (int l = 0; cap && l < (int)(sizeof names / sizeof *names); l++)
        if (!strcmp(cap, names[l]) && (enum cpu_level)l < level)
            level = (enum cpu_level)l;
}

enum cpu_level cpu_level(void)
{
    pthread_once(&once, decide);
    return level;
}

const char *cpu_level_name(enum cpu_level l)
{
    return (unsigned)l < sizeof names / sizeof *names ? names[l] : "?";
}
