/* test_lock_api.c: the manager API (virLockManagerNew, AddResource, Acquire, Release,
 * Inquire, Free) through the built-in nop, the recording test plugin and a driver table
 * defined in this program: argument checks (NULL, unknown flags, types, actions), errors
 * naming plugin and callback, plugin errors passed through unchanged, and contexts
 * keeping their plugin loaded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unistd.h>
#include "testutil.h"

#define CFGDIR "/etc/virtcore-test"

static unsigned char uuid[16] = {0x4d, 0xc1, 0x7a, 0x1b, 0x6e, 0x3f, 0x41, 0x8c,
                                 0x9a, 0x2d, 0x55, 0x10, 0x01, 0x02, 0x03, 0x04};

static void domain_params(virLockManagerParam p[5])
{
    memset(p, 0, 5 * sizeof(*p));
    p[0].type = VIR_LOCK_MANAGER_PARAM_TYPE_UUID;  p[0].key = "uuid";
    memcpy(p[0].value.uuid, uuid, 16);
    p[1].type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING; p[1].key = "name"; p[1].value.str = (char *)"guest-a";
    p[2].type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT;  p[2].key = "id";   p[2].value.ui = 7;
    p[3].type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT;  p[3].key = "pid";  p[3].value.ui = (unsigned)getpid();
    p[4].type = VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING; p[4].key = "uri"; p[4].value.cstr = "qemu:///system";
}

static void *module(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.so", TEST_PLUGIN_DIR, name);
    return dlopen(path, RTLD_NOW | RTLD_NOLOAD);
}

static int read_int(const char *mod, const char *sym)
{
    void *h = module(mod);
    int v = -12345;
    if (h) {
        int *p = dlsym(h, sym);
        if (p) v = *p;
        dlclose(h);
    }
    return v;
}

static void argument_checks(virLockDriver *drv)
{
    virLockManagerParam p[5];
    virLockManager *lock;
    char *state = NULL;
    int fd;
    long junk[8] = {0};

    domain_params(p);
    CHECK(virLockManagerNew(NULL, VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, p, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "driver in virLockManagerNew must not be NULL");
    CHECK(virLockManagerNew(drv, VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, p, 0x2) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags (0x2) in function virLockManagerNew");
    CHECK(virLockManagerNew(drv, 3, 5, p, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unknown lock manager object type 3");
    CHECK(virLockManagerNew(drv, VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "params in virLockManagerNew must not be NULL");
    p[2].key = NULL;
    CHECK(virLockManagerNew(drv, VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, p, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "params[2].key in virLockManagerNew must not be NULL");
    p[2].key = "id";
    p[3].type = 99;
    CHECK(virLockManagerNew(drv, VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, p, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "params[3] ('pid') in virLockManagerNew has unknown type 99");
    domain_params(p);

    lock = virLockManagerNew(drv, VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, p, 0);
    CHECK(lock != NULL);
    CHECK(lock->driver == drv);

    CHECK(virLockManagerAddResource(NULL, 0, "/d", 0, NULL, 0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "lock in virLockManagerAddResource must not be NULL");
    CHECK(virLockManagerAddResource((virLockManager *)junk, 0, "/d", 0, NULL, 0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live lock manager");
    CHECK(virLockManagerAddResource(lock, 0, NULL, 0, NULL, 0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "name in virLockManagerAddResource must not be NULL");
    CHECK(virLockManagerAddResource(lock, 9, "/d", 0, NULL, 0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unknown lock manager resource type 9 for '/d'");
    CHECK(virLockManagerAddResource(lock, 0, "/d", 0, NULL, 0x4) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags (0x4) in function virLockManagerAddResource");
    CHECK(virLockManagerAddResource(lock, 1, "lease", 2, NULL, 0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "params in virLockManagerAddResource must not be NULL");

    CHECK(virLockManagerAcquire(NULL, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "lock in virLockManagerAcquire must not be NULL");
    CHECK(virLockManagerAcquire(lock, NULL, 0x8, 0, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags (0x8) in function virLockManagerAcquire");
    fd = 42;
    CHECK(virLockManagerAcquire(lock, NULL, 0, 17, &fd) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unknown lock failure action 17");

    CHECK(virLockManagerRelease(NULL, &state, 0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "lock in virLockManagerRelease must not be NULL");
    CHECK(virLockManagerRelease(lock, &state, 0x1) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags (0x1) in function virLockManagerRelease");
    CHECK(state == NULL);

    CHECK(virLockManagerInquire(NULL, &state, 0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "lock in virLockManagerInquire must not be NULL");
    CHECK(virLockManagerInquire(lock, NULL, 0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "state in virLockManagerInquire must not be NULL");
    CHECK(virLockManagerInquire(lock, &state, 0x1) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags (0x1) in function virLockManagerInquire");

    virResetLastError();
    CHECK(virLockManagerFree(NULL) == 0);
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);
    CHECK(virLockManagerFree((virLockManager *)junk) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "lock");
    CHECK(virLockManagerFree(lock) == 0);
}

static void nop_cycle(void)
{
    virLockManagerPlugin *plugin = virLockManagerPluginNew("nop", "qemu", CFGDIR, 0);
    virLockManagerParam p[5];
    virLockManager *lock;
    char *state = (char *)"garbage";
    int fd = 99;

    CHECK(plugin != NULL);
    argument_checks(virLockManagerPluginGetDriver(plugin));
    domain_params(p);
    lock = virLockManagerNew(virLockManagerPluginGetDriver(plugin),
                             VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, p, VIR_LOCK_MANAGER_NEW_STARTED);
    CHECK(lock != NULL);
    CHECK(virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/var/lib/a.img", 0, NULL, 0) == 0);
    CHECK(virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/var/lib/b.img", 0, NULL,
                                    VIR_LOCK_MANAGER_RESOURCE_SHARED | VIR_LOCK_MANAGER_RESOURCE_READONLY) == 0);
    CHECK(virLockManagerAcquire(lock, NULL, VIR_LOCK_MANAGER_ACQUIRE_RESTRICT, VIR_DOMAIN_LOCK_FAILURE_PAUSE, &fd) == 0);
    CHECK(fd == -1); /* nop leaks no descriptor */
    CHECK(virLockManagerInquire(lock, &state, 0) == 0 && state == NULL);
    state = (char *)"garbage";
    CHECK(virLockManagerRelease(lock, &state, 0) == 0 && state == NULL);
    CHECK(virLockManagerRelease(lock, NULL, 0) == 0);
    CHECK(virLockManagerFree(lock) == 0);
    virLockManagerPluginUnref(plugin);
}

static void testdrv_cycle(void)
{
    virLockManagerPlugin *plugin = virLockManagerPluginNew("testdrv", "qemu", CFGDIR, 0);
    virLockManagerParam p[5], lease[3];
    virLockManager *lock;
    char *state = NULL;
    int fd = -5;

    CHECK(plugin != NULL);
    domain_params(p);
    lock = virLockManagerNew(virLockManagerPluginGetDriver(plugin),
                             VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, p, VIR_LOCK_MANAGER_NEW_STARTED);
    CHECK(lock != NULL);
    CHECK(read_int("testdrv", "testdrv_news") == 1);
    {
        void *h = module("testdrv");
        CHECK(strcmp((char *)dlsym(h, "testdrv_owner"), "guest-a") == 0);
        CHECK(*(unsigned int *)dlsym(h, "testdrv_last_flags") == VIR_LOCK_MANAGER_NEW_STARTED);
        dlclose(h);
    }

    /* The plugin's own error passes through unchanged. */
    CHECK(virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "fail-busy", 0, NULL, 0) == -1);
    CHECK(virGetLastErrorCode() == VIR_ERR_RESOURCE_BUSY);
    CHECK(strcmp(virGetLastErrorMessage(), "resource busy: testdrv: 'fail-busy' is held by guest 'other'") == 0);
    /* A silent failure gets an error naming plugin and callback. */
    CHECK(virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "fail-silent", 0, NULL, 0) == -1);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "plugin " TEST_PLUGIN_DIR "/testdrv.so: drvAddResource failed");

    CHECK(virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/var/lib/a.img", 0, NULL, 0) == 0);
    memset(lease, 0, sizeof(lease));
    lease[0].type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING; lease[0].key = "path"; lease[0].value.str = (char *)"/var/lib/leases";
    lease[1].type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING; lease[1].key = "lockspace"; lease[1].value.str = (char *)"space";
    lease[2].type = VIR_LOCK_MANAGER_PARAM_TYPE_ULONG; lease[2].key = "offset"; lease[2].value.ul = 0;
    CHECK(virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE, "lease-1", 3, lease, 0) == 0);
    CHECK(read_int("testdrv", "testdrv_resources") == 2);

    CHECK(virLockManagerAcquire(lock, "bad-state", 0, 0, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "testdrv.so: drvAcquire failed without reporting an error");
    CHECK(virLockManagerAcquire(lock, NULL, VIR_LOCK_MANAGER_ACQUIRE_RESTRICT, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, &fd) == 0);
    CHECK(fd >= 0);
    close(fd);
    CHECK(read_int("testdrv", "testdrv_last_flags") == VIR_LOCK_MANAGER_ACQUIRE_RESTRICT);
    CHECK(virLockManagerInquire(lock, &state, 0) == 0);
    CHECK(state && strcmp(state, "testdrv:2") == 0);
    free(state);
    state = NULL;
    CHECK(virLockManagerRelease(lock, &state, 0) == 0);
    CHECK(state && strcmp(state, "testdrv:2") == 0);
    free(state);

    /* The context keeps the plugin loaded after the caller's last reference. */
    virLockManagerPluginUnref(plugin);
    CHECK(read_int("testdrv", "testdrv_deinits") == 0);
    CHECK(virLockManagerFree(lock) == 0);
    CHECK(module("testdrv") == NULL);
}

static void missing_callbacks(void)
{
    virLockManagerPlugin *plugin = virLockManagerPluginNew("noinquire", "qemu", CFGDIR, 0);
    virLockManagerParam p[5];
    virLockManager *lock;
    char *state = NULL;
    /* A table defined by the program itself, with a hole the plugin check never saw. */
    static virLockDriver own;

    CHECK(plugin != NULL);
    domain_params(p);
    lock = virLockManagerNew(virLockManagerPluginGetDriver(plugin), 0, 5, p, 0);
    CHECK(lock != NULL);
    CHECK(virLockManagerInquire(lock, &state, 0) == -1);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "plugin " TEST_PLUGIN_DIR "/noinquire.so has no 'drvInquire' callback");
    CHECK(virLockManagerFree(lock) == 0);
    virLockManagerPluginUnref(plugin);

    plugin = virLockManagerPluginNew("nop", "qemu", CFGDIR, 0);
    own = *virLockManagerPluginGetDriver(plugin);
    own.drvRelease = NULL;
    lock = virLockManagerNew(&own, 0, 5, p, 0);
    CHECK(lock != NULL);
    CHECK(virLockManagerRelease(lock, &state, 0) == -1);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "has no 'drvRelease' callback");
    CHECK(strstr(virGetLastErrorMessage(), "lock manager driver 0x") != NULL);
    own.drvFree = NULL;
    CHECK(virLockManagerFree(lock) == -1);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "has no 'drvFree' callback");
    own.drvFree = virLockManagerPluginGetDriver(plugin)->drvFree;
    CHECK(virLockManagerFree(lock) == 0);
    own.drvNew = NULL;
    CHECK(virLockManagerNew(&own, 0, 5, p, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "has no 'drvNew' callback");
    virLockManagerPluginUnref(plugin);
}

int main(void)
{
    setenv("VIRTCORE_LOCK_DRIVER_DIR", TEST_PLUGIN_DIR, 1);
    nop_cycle();
    testdrv_cycle();
    missing_callbacks();
    TEST_DONE();
}
