/* test_objects.c: virObjectRef/Unref/Lock/Unlock refuse what is not a live virtcore
 * object (NULL, foreign memory) with an error instead of crashing. Real objects
 * (domains, lists, plugins) are exercised by the subsystem tests. */
#include <stdint.h>
#include "testutil.h"

int main(void)
{
    uint64_t junk[8] = {0};
    uint32_t fake[8] = {0x56430001u, 1, 0, 0, 0, 0, 0, 0}; /* right magic family, no class */

    CHECK(virObjectRef(NULL) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "must not be NULL");

    virResetLastError();
    virObjectUnref(NULL); /* like libvirt: ignored */
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);

    CHECK(virObjectRef(junk) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virtcore object");
    virResetLastError();
    virObjectUnref(junk);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "virObjectUnref");
    virObjectLock(junk);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "virObjectLock");
    virObjectUnlock(junk);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "virObjectUnlock");
    virObjectLock(NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "must not be NULL");
    virObjectUnlock(NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "must not be NULL");

    CHECK(virObjectRef(fake) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virtcore object");
    /* Misaligned pointers are refused before anything is read through them. */
    CHECK(virObjectRef((char *)junk + 1) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "virObjectRef");

    /* Nothing was written into the foreign memory. */
    for (size_t i = 0; i < 8; i++)
        CHECK(junk[i] == 0);
    CHECK(fake[1] == 1);

    TEST_DONE();
}
