/*
 * report.c: the one variadic entry point, which stable Rust cannot define.
 *
 * virReportErrorHelper formats its message and hands it to the Rust side
 * (virtcore_report_formatted), which owns the thread-local last error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* The public declaration (inside the include guard, with C linkage for C++ users): the
 * compiler checks that this definition matches what users see. */
#include "virtcore.h"

/* Defined in src/error/report.rs. Declared hidden here so that the linker keeps it out of
 * the shared library's exported symbols (the most restrictive visibility wins in ELF). */
__attribute__((visibility("hidden")))
void virtcore_report_formatted(int domcode, int errorcode, const char *filename,
                               const char *funcname, size_t linenr, const char *message);

__asm__(".symver virReportErrorHelper, virReportErrorHelper@@@" VIRTCORE_VERSION_NODE);

void virReportErrorHelper(int domcode, int errorcode, const char *filename,
                          const char *funcname, size_t linenr, const char *fmt, ...)
{
    char stackbuf[1024];
    char *msg = NULL;
    char *heap = NULL;

    if (fmt) {
        va_list ap;
        int len;

        va_start(ap, fmt);
        len = vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
        va_end(ap);
        if (len >= 0 && (size_t)len < sizeof(stackbuf)) {
            msg = stackbuf;
        } else if (len >= 0 && (heap = malloc((size_t)len + 1)) != NULL) {
            va_start(ap, fmt);
            vsnprintf(heap, (size_t)len + 1, fmt, ap);
            va_end(ap);
            msg = heap;
        } else {
            msg = stackbuf; /* truncated, still NUL-terminated */
        }
    }
    virtcore_report_formatted(domcode, errorcode, filename, funcname, linenr, msg);
    free(heap);
}
