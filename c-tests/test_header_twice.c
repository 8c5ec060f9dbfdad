/* test_header_twice.c: virtcore.h included twice (directly and through testutil.h) is
 * clean under -Wredundant-decls -Werror (built that way in foundation.mk): everything,
 * virReportErrorHelper included, sits inside the include guard. The virReportError macro
 * works as in libvirt: VIR_FROM_THIS, printf-style message, libvirt's prefix. */
#include <virtcore.h>
#include <virtcore.h>
#include "testutil.h"

#define VIR_FROM_THIS VIR_FROM_STORAGE

static int fail_on_purpose(const char *pool)
{
    virReportError(VIR_ERR_INTERNAL_ERROR, "pool '%s' has %d volumes", pool, 3);
    return -1;
}

int main(void)
{
    virResetLastError();
    CHECK(fail_on_purpose("default") == -1);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "internal error: pool 'default' has 3 volumes");
    CHECK(virGetLastError()->domain == VIR_FROM_STORAGE);
    TEST_DONE();
}
