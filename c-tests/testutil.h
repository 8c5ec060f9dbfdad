/* testutil.h: tiny assertion helpers shared by the C tests. Each test is one program;
 * a failed CHECK prints where and why (with virtcore's last error) and exits 1. */
#ifndef VIRTCORE_TESTUTIL_H
#define VIRTCORE_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <virtcore.h>

static int testutil_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        testutil_checks++;                                                           \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n  last error: [%d] %s\n",      \
                    __FILE__, __LINE__, #cond, virGetLastErrorCode(),                \
                    virGetLastErrorMessage());                                       \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* The last error has this code and its message contains `needle`. */
#define CHECK_ERROR(code, needle)                                                    \
    do {                                                                             \
        CHECK(virGetLastErrorCode() == (code));                                      \
        if (strstr(virGetLastErrorMessage(), (needle)) == NULL) {                    \
            fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__,        \
                    __LINE__, virGetLastErrorMessage(), (needle));                   \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#define TEST_DONE()                                                                  \
    do {                                                                             \
        printf("%s: %d checks passed\n", __FILE__, testutil_checks);                 \
        return 0;                                                                    \
    } while (0)

#define SKIP(why)                                                                    \
    do {                                                                             \
        printf("%s\n", why);                                                         \
        return 77;                                                                   \
    } while (0)

#endif
