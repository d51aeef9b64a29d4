/* check.h - the C tests' one macro: prints "ok - what" or "not ok - what". */
#ifndef LODE_TEST_CHECK_H
#define LODE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        int check_ok_ = (cond);                           \
        printf("%s - ", check_ok_ ? "ok" : "not ok");     \
        printf(__VA_ARGS__);                              \
        printf("%s\n", check_ok_ ? "" : "  [" #cond "]"); \
        if (!check_ok_)                                   \
            check_failures++;                             \
    } while (0)

#define CHECK_STR(got, want, what)                                                         \
    do {                                                                                   \
        const char *g_ = (got), *w_ = (want);                                              \
        int same_ = g_ && w_ && !strcmp(g_, w_);                                           \
        printf("%s - %s", same_ ? "ok" : "not ok", what);                                  \
        if (!same_)                                                                        \
            printf("  [got \"%s\", want \"%s\"]", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
        printf("\n");                                                                      \
        if (!same_)                                                                        \
            check_failures++;                                                              \
    } while (0)

#endif
