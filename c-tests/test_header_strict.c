/* test_header_strict.c: the header compiles as strict ISO C99 (this file is built with
 * -std=c99 -pedantic -Wall -Wextra -Werror, see foundation.mk) and as C++ (header_cxx.cc),
 * and the types users embed or fill have the sizes libvirt's have on x86-64. */
#include <stddef.h>
#include "testutil.h"

int main(void)
{
    virtcoreStateDriverExt ext = {0};
    CHECK(sizeof(virError) == 80);
    CHECK(offsetof(virStateDriver, stateShutdownWait) == 56);
    CHECK(sizeof(virStateDriver) == 64); /* libvirt 9.0's, byte for byte */
    CHECK(offsetof(virtcoreStateDriverExt, size) == 0);
    CHECK(sizeof(ext.tier) == sizeof(int));
    CHECK(VIR_DRV_STATE_INIT_ERROR == -1 && VIR_DRV_STATE_INIT_SKIPPED == 0 &&
          VIR_DRV_STATE_INIT_COMPLETE == 1);
    CHECK(VIR_DRV_STATE_DRV_LIBVIRT == 0 && VIR_DRV_STATE_DRV_HYPERVISOR == 1);
    TEST_DONE();
}
