/* test_lock_abi.c: the lock-driver plugin ABI in virtcore.h has exactly libvirt 9.0's
 * layout and values (libvirt 9.0's lock_driver.h, x86-64). Compile-time asserts, plus run-time checks so
 * the test reports what it verified. */
#include <stddef.h>
#include "testutil.h"

#define SA(cond) _Static_assert(cond, #cond)

SA(VIR_LOCK_MANAGER_VERSION == 1000000);
SA(sizeof(virLockDriver) == 72);
SA(offsetof(virLockDriver, version) == 0);
SA(offsetof(virLockDriver, flags) == 4);
SA(offsetof(virLockDriver, drvInit) == 8);
SA(offsetof(virLockDriver, drvDeinit) == 16);
SA(offsetof(virLockDriver, drvNew) == 24);
SA(offsetof(virLockDriver, drvFree) == 32);
SA(offsetof(virLockDriver, drvAddResource) == 40);
SA(offsetof(virLockDriver, drvAcquire) == 48);
SA(offsetof(virLockDriver, drvRelease) == 56);
SA(offsetof(virLockDriver, drvInquire) == 64);
SA(sizeof(virLockManager) == 16);
SA(offsetof(virLockManager, driver) == 0);
SA(offsetof(virLockManager, privateData) == 8);
SA(sizeof(virLockManagerParam) == 32);
SA(offsetof(virLockManagerParam, type) == 0);
SA(offsetof(virLockManagerParam, key) == 8);
SA(offsetof(virLockManagerParam, value) == 16);
SA(offsetof(virLockManagerParam, value.iv) == 16);
SA(offsetof(virLockManagerParam, value.l) == 16);
SA(offsetof(virLockManagerParam, value.ui) == 16);
SA(offsetof(virLockManagerParam, value.ul) == 16);
SA(offsetof(virLockManagerParam, value.d) == 16);
SA(offsetof(virLockManagerParam, value.str) == 16);
SA(offsetof(virLockManagerParam, value.cstr) == 16);
SA(offsetof(virLockManagerParam, value.uuid) == 16);
SA(sizeof(((virLockManagerParam *)0)->value.uuid) == 16);
SA(VIR_LOCK_MANAGER_PARAM_TYPE_STRING == 0);
SA(VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING == 1);
SA(VIR_LOCK_MANAGER_PARAM_TYPE_INT == 2);
SA(VIR_LOCK_MANAGER_PARAM_TYPE_LONG == 3);
SA(VIR_LOCK_MANAGER_PARAM_TYPE_UINT == 4);
SA(VIR_LOCK_MANAGER_PARAM_TYPE_ULONG == 5);
SA(VIR_LOCK_MANAGER_PARAM_TYPE_DOUBLE == 6);
SA(VIR_LOCK_MANAGER_PARAM_TYPE_UUID == 7);
SA(VIR_LOCK_MANAGER_USES_STATE == 1);
SA(VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN == 0);
SA(VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK == 0);
SA(VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE == 1);
SA(VIR_LOCK_MANAGER_RESOURCE_READONLY == 1);
SA(VIR_LOCK_MANAGER_RESOURCE_SHARED == 2);
SA(VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY == 1);
SA(VIR_LOCK_MANAGER_ACQUIRE_RESTRICT == 2);
SA(VIR_LOCK_MANAGER_NEW_STARTED == 1);
SA(VIR_DOMAIN_LOCK_FAILURE_DEFAULT == 0);
SA(VIR_DOMAIN_LOCK_FAILURE_POWEROFF == 1);
SA(VIR_DOMAIN_LOCK_FAILURE_RESTART == 2);
SA(VIR_DOMAIN_LOCK_FAILURE_PAUSE == 3);
SA(VIR_DOMAIN_LOCK_FAILURE_IGNORE == 4);
SA(sizeof(virDomainLockFailureAction) == sizeof(int));

/* The callback typedefs have libvirt's signatures: assigning libvirt-shaped functions
 * to the table's slots compiles without casts (and -Werror catches any mismatch). */
static int f_init(unsigned int v, const char *c, unsigned int f) { (void)v; (void)c; (void)f; return 0; }
static int f_deinit(void) { return 0; }
static int f_new(virLockManager *m, unsigned int t, size_t n, virLockManagerParam *p, unsigned int f)
{ (void)m; (void)t; (void)n; (void)p; (void)f; return 0; }
static void f_free(virLockManager *m) { (void)m; }
static int f_add(virLockManager *m, unsigned int t, const char *name, size_t n,
                 virLockManagerParam *p, unsigned int f)
{ (void)m; (void)t; (void)name; (void)n; (void)p; (void)f; return 0; }
static int f_acq(virLockManager *m, const char *s, unsigned int f, virDomainLockFailureAction a, int *fd)
{ (void)m; (void)s; (void)f; (void)a; (void)fd; return 0; }
static int f_rel(virLockManager *m, char **s, unsigned int f) { (void)m; (void)s; (void)f; return 0; }

static virLockDriver table = {
    .version = VIR_LOCK_MANAGER_VERSION, .flags = VIR_LOCK_MANAGER_USES_STATE,
    .drvInit = f_init, .drvDeinit = f_deinit, .drvNew = f_new, .drvFree = f_free,
    .drvAddResource = f_add, .drvAcquire = f_acq, .drvRelease = f_rel, .drvInquire = f_rel,
};

int main(void)
{
    virLockManagerParam p;
    unsigned char *base = (unsigned char *)&table;

    CHECK((unsigned char *)&table.drvInit - base == 8);
    CHECK((unsigned char *)&table.drvInquire - base == 64);
    memset(&p, 0, sizeof(p));
    p.value.ul = 0x1122334455667788ULL;
    CHECK(p.value.uuid[0] == 0x88 && p.value.ui == 0x55667788u);
    CHECK(sizeof(table) == 72 && sizeof(virLockManager) == 16 && sizeof(p) == 32);
    TEST_DONE();
}
