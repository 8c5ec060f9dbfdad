/* test_objects.c: virObjectRef/Unref/Lock/Unlock refuse what is not a live virtcore
 * object (NULL, foreign memory, an object already freed) with an error instead of
 * crashing. A double unref is refused without reading the freed memory: test_domain_valgrind
 * runs this program under memcheck. Real objects (domains, lists, plugins) are otherwise
 * exercised by the subsystem tests. */
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

    /* Double unref of a real object: the second is refused (the registry of live objects
     * is consulted before the freed header would be read). */
    virDomainObjList *doms = virDomainObjListNew();
    CHECK(doms != NULL);
    virResetLastError();
    virObjectUnref(doms);
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);
    virObjectUnref(doms);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virtcore object");
    CHECK(virObjectRef(doms) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virtcore object");
    virObjectLock(doms);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "virObjectLock");

    /* The same through the lock-manager plugin's own unref. */
    virLockManagerPlugin *plugin = virLockManagerPluginNew("nop", "qemu", "/nonexistent", 0);
    CHECK(plugin != NULL);
    virResetLastError();
    virLockManagerPluginUnref(plugin);
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);
    virLockManagerPluginUnref(plugin);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virLockManagerPlugin");
    virObjectUnref(plugin);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virtcore object");

    TEST_DONE();
}
