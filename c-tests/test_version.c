/* test_version.c: the header's version macros (generated from Cargo.toml's version) agree
 * with each other and with the loaded library's virtcoreGetVersion. */
#include "testutil.h"

int main(void)
{
    unsigned long v = 0;
    CHECK(VIRTCORE_VERSION_NUMBER ==
          VIRTCORE_VERSION_MAJOR * 1000000 + VIRTCORE_VERSION_MINOR * 1000 +
              VIRTCORE_VERSION_MICRO);
    CHECK(VIRTCORE_VERSION_MINOR < 1000 && VIRTCORE_VERSION_MICRO < 1000);
    CHECK(virtcoreGetVersion(&v) == 0);
    CHECK(v == VIRTCORE_VERSION_NUMBER);
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);

    CHECK(virtcoreGetVersion(NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "libVer");
    printf("virtcore %d.%d.%d (%lu)\n", VIRTCORE_VERSION_MAJOR, VIRTCORE_VERSION_MINOR,
           VIRTCORE_VERSION_MICRO, v);
    TEST_DONE();
}
