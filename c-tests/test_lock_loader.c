/* test_lock_loader.c: virLockManagerPluginNew's failure levels, each with its own error
 * naming the path, symbol or callback (purpose-built plugins from plugins/testdrv.c);
 * bad names refused before any file is touched; the plugin directory and its overrides;
 * config file path; refcounting, drvDeinit refusal; concurrent loading. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

#define CFGDIR "/etc/virtcore-test"

static void use_dir(const char *virtcore_dir, const char *libvirt_dir)
{
    if (virtcore_dir) setenv("VIRTCORE_LOCK_DRIVER_DIR", virtcore_dir, 1);
    else unsetenv("VIRTCORE_LOCK_DRIVER_DIR");
    if (libvirt_dir) setenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR", libvirt_dir, 1);
    else unsetenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR");
}

/* The loaded module, if it is loaded (a handle the caller must dlclose). */
static void *module(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.so", TEST_PLUGIN_DIR, name);
    return dlopen(path, RTLD_NOW | RTLD_NOLOAD);
}

static int read_int(void *h, const char *sym)
{
    int *p = dlsym(h, sym);
    return p ? *p : -12345;
}

/* PluginNew(name) fails with @code and a message containing both needles. */
static void expect_fail(const char *name, int code, const char *n1, const char *n2)
{
    virResetLastError();
    virLockManagerPlugin *p = virLockManagerPluginNew(name, "qemu", CFGDIR, 0);
    if (p) {
        fprintf(stderr, "plugin '%s' unexpectedly loaded\n", name ? name : "(NULL)");
        exit(1);
    }
    CHECK_ERROR(code, n1);
    CHECK_ERROR(code, n2);
    CHECK(virGetLastError()->domain == VIR_FROM_LOCKING);
}

static char warnings[4096];
static void log_cb(int prio, const char *src, const char *msg, void *opaque)
{
    (void)src; (void)opaque;
    if (prio >= VIR_LOG_WARN && strlen(warnings) + strlen(msg) + 2 < sizeof(warnings)) {
        strcat(warnings, msg);
        strcat(warnings, "\n");
    }
}

static void bad_names(void)
{
    char sub[4096];
    /* ../testdrv would resolve to a real plugin from DIR/sub: refused all the same. */
    snprintf(sub, sizeof(sub), "%s/sub", TEST_PLUGIN_DIR);
    mkdir(sub, 0755);
    use_dir(sub, NULL);
    expect_fail("../testdrv", VIR_ERR_INVALID_ARG, "'../testdrv'", "invalid lock manager plugin name");
    use_dir(TEST_PLUGIN_DIR, NULL);
    expect_fail("/abs", VIR_ERR_INVALID_ARG, "'/abs'", "plugin name");
    expect_fail(TEST_PLUGIN_DIR "/testdrv", VIR_ERR_INVALID_ARG, "plugin name", "testdrv");
    expect_fail("", VIR_ERR_INVALID_ARG, "''", "plugin name");
    expect_fail("test.drv", VIR_ERR_INVALID_ARG, "'test.drv'", "plugin name");
    expect_fail("a b", VIR_ERR_INVALID_ARG, "'a b'", "plugin name");
    expect_fail(NULL, VIR_ERR_INVALID_ARG, "name in virLockManagerPluginNew must not be NULL", "name");

    CHECK(virLockManagerPluginNew("nop", NULL, CFGDIR, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "driverName in virLockManagerPluginNew must not be NULL");
    CHECK(virLockManagerPluginNew("nop", "qemu", NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "configDir in virLockManagerPluginNew must not be NULL");
    CHECK(virLockManagerPluginNew("nop", "../qemu", CFGDIR, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "'../qemu'");
    CHECK(virLockManagerPluginNew("nop", "qemu", CFGDIR, 0x4) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags (0x4) in function virLockManagerPluginNew");
}

static void failure_levels(void)
{
    use_dir(TEST_PLUGIN_DIR, NULL);
    expect_fail("doesnotexist", VIR_ERR_SYSTEM_ERROR, "not found",
                TEST_PLUGIN_DIR "/doesnotexist.so");
    expect_fail("notelf", VIR_ERR_SYSTEM_ERROR, "failed to load lock manager plugin " TEST_PLUGIN_DIR "/notelf.so",
                "ELF"); /* dlerror(): "... invalid ELF header" */
    expect_fail("nosym", VIR_ERR_INTERNAL_ERROR, TEST_PLUGIN_DIR "/nosym.so", "'virLockDriverImpl'");
    expect_fail("badver", VIR_ERR_CONFIG_UNSUPPORTED, TEST_PLUGIN_DIR "/badver.so", "version 2000000 (major 2)");
    expect_fail("nullcb", VIR_ERR_INTERNAL_ERROR, TEST_PLUGIN_DIR "/nullcb.so", "no 'drvAcquire' callback");
    expect_fail("initfail", VIR_ERR_OPERATION_FAILED, TEST_PLUGIN_DIR "/initfail.so",
                "testdrv cannot read " CFGDIR "/qemu-initfail.conf");
    expect_fail("initsilent", VIR_ERR_OPERATION_FAILED, TEST_PLUGIN_DIR "/initsilent.so",
                "refused to initialize (drvInit with config file " CFGDIR "/qemu-initsilent.conf)");
    /* A refused plugin is not left loaded. */
    CHECK(module("nosym") == NULL && module("badver") == NULL && module("initfail") == NULL);
}

/* Not accessible: readable by root only, loaded by an unprivileged child. */
static void not_accessible(void)
{
    char dir[] = "/tmp/vc-lock-XXXXXX", src[4096], dst[4096], cmd[9000];
    int status;
    pid_t pid;

    CHECK(mkdtemp(dir) != NULL);
    CHECK(chmod(dir, 0755) == 0);
    snprintf(src, sizeof(src), "%s/testdrv.so", TEST_PLUGIN_DIR);
    snprintf(dst, sizeof(dst), "%s/secret.so", dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
    CHECK(system(cmd) == 0);
    CHECK(chmod(dst, 0000) == 0);
    if (geteuid() != 0) {
        printf("not root: the not-accessible level is checked as the current user\n");
    }
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
            _exit(3);
        use_dir(dir, NULL);
        if (virLockManagerPluginNew("secret", "qemu", CFGDIR, 0) != NULL)
            _exit(4);
        if (virGetLastErrorCode() != VIR_ERR_SYSTEM_ERROR ||
            !strstr(virGetLastErrorMessage(), "not accessible") ||
            !strstr(virGetLastErrorMessage(), dst)) {
            fprintf(stderr, "child: %s\n", virGetLastErrorMessage());
            _exit(5);
        }
        _exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(dst);
    rmdir(dir);
}

static void directories(void)
{
    virLockManagerPlugin *p;

    /* libvirt's variable alone works... */
    use_dir(NULL, TEST_PLUGIN_DIR);
    p = virLockManagerPluginNew("testdrv", "qemu", CFGDIR, 0);
    CHECK(p != NULL);
    virLockManagerPluginUnref(p);
    /* ...virtcore's wins over it... */
    use_dir("/nonexistent-virtcore-dir", TEST_PLUGIN_DIR);
    expect_fail("testdrv", VIR_ERR_SYSTEM_ERROR, "/nonexistent-virtcore-dir/testdrv.so", "not found");
    /* ...and without either, the build's LOCKDRIVERDIR is used. */
    use_dir(NULL, NULL);
    expect_fail("doesnotexist", VIR_ERR_SYSTEM_ERROR, "/virtcore/lock-driver/doesnotexist.so", "not found");
    /* nop needs no file at all. */
    use_dir("/nonexistent-virtcore-dir", NULL);
    p = virLockManagerPluginNew("nop", "lxc", CFGDIR, 0);
    CHECK(p != NULL);
    CHECK(strcmp(virLockManagerPluginGetName(p), "nop") == 0);
    CHECK(!virLockManagerPluginUsesState(p));
    CHECK(virLockManagerPluginGetDriver(p) != NULL);
    CHECK(virLockManagerPluginGetDriver(p)->version == VIR_LOCK_MANAGER_VERSION);
    virLockManagerPluginUnref(p);
}

static void lifecycle(void)
{
    virLockManagerPlugin *p, *s;
    void *h;
    virLockDriver *impl;

    use_dir(TEST_PLUGIN_DIR, NULL);
    CHECK(module("testdrv") == NULL);
    p = virLockManagerPluginNew("testdrv", "qemu", CFGDIR, 0);
    CHECK(p != NULL);
    CHECK(strcmp(virLockManagerPluginGetName(p), "testdrv") == 0);
    CHECK(!virLockManagerPluginUsesState(p));
    h = module("testdrv");
    CHECK(h != NULL);
    impl = dlsym(h, "virLockDriverImpl");
    CHECK(impl != NULL && virLockManagerPluginGetDriver(p) == impl);
    CHECK(strcmp((char *)dlsym(h, "testdrv_config"), CFGDIR "/qemu-testdrv.conf") == 0);
    CHECK(*(unsigned int *)dlsym(h, "testdrv_version") == VIR_LOCK_MANAGER_VERSION);
    CHECK(read_int(h, "testdrv_inits") == 1);

    /* Ref/Unref, also through the generic object API. */
    virLockManagerPluginRef(p);
    CHECK(virObjectRef(p) == p);
    virObjectUnref(p);
    virLockManagerPluginUnref(p);
    CHECK(read_int(h, "testdrv_deinits") == 0);
    dlclose(h);
    virLockManagerPluginUnref(p); /* last: drvDeinit, dlclose */
    CHECK(module("testdrv") == NULL);

    s = virLockManagerPluginNew("statedrv", "qemu", CFGDIR, 0);
    CHECK(s != NULL && virLockManagerPluginUsesState(s));
    virLockManagerPluginUnref(s);

    /* drvDeinit refusing: a warning, and the module stays loaded forever. */
    virtcoreLogSetCallback(log_cb, NULL);
    virtcoreLogSetLevel(VIR_LOG_WARN);
    p = virLockManagerPluginNew("deinitfail", "qemu", CFGDIR, 0);
    CHECK(p != NULL);
    virLockManagerPluginUnref(p);
    h = module("deinitfail");
    CHECK(h != NULL);
    CHECK(read_int(h, "testdrv_deinits") == 1);
    dlclose(h);
    CHECK(strstr(warnings, "deinitfail.so refused to deinitialize") != NULL);
    virtcoreLogSetCallback(NULL, NULL);
    virtcoreLogSetLevel(0);

    /* NULL and foreign pointers. */
    virResetLastError();
    virLockManagerPluginUnref(NULL);
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);
    virLockManagerPluginRef(NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "plugin in virLockManagerPluginRef must not be NULL");
    CHECK(virLockManagerPluginGetName(NULL) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "plugin in virLockManagerPluginGetName must not be NULL");
    CHECK(!virLockManagerPluginUsesState(NULL));
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "plugin in virLockManagerPluginUsesState must not be NULL");
    CHECK(virLockManagerPluginGetDriver(NULL) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "plugin in virLockManagerPluginGetDriver must not be NULL");
    {
        long junk[8] = {0};
        virLockManagerPlugin *bogus = (virLockManagerPlugin *)junk;
        CHECK(virLockManagerPluginGetName(bogus) == NULL);
        CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virLockManagerPlugin");
        virLockManagerPluginUnref(bogus);
        CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virLockManagerPlugin");
        virLockManagerPluginRef(bogus);
        CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virLockManagerPlugin");
    }
}

/* Several threads load, reference and unload the same plugin while one reference stays
 * held: drvInit and drvDeinit never overlap and their counts balance. */
#define THREADS 4
#define ROUNDS 100
static virLockDriver *nop_driver;
static void *worker(void *arg)
{
    int i;
    (void)arg;
    for (i = 0; i < ROUNDS; i++) {
        /* A context on the shared built-in table while other threads load and drop nop
         * plugins: the context must find (and keep) a live one. */
        virLockManagerParam param = { .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "name" };
        virLockManager *lock = virLockManagerNew(nop_driver, 0, 1, &param, 0);
        if (!lock ||
            virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/d", 0, NULL, 0) < 0 ||
            virLockManagerAcquire(lock, NULL, 0, 0, NULL) < 0 ||
            virLockManagerRelease(lock, NULL, 0) < 0 ||
            virLockManagerFree(lock) < 0)
            return (void *)2;
        virLockManagerPlugin *p = virLockManagerPluginNew("testdrv", "qemu", CFGDIR, 0);
        virLockManagerPlugin *n = virLockManagerPluginNew("nop", "qemu", CFGDIR, 0);
        if (!p || !n)
            return (void *)1;
        virLockManagerPluginRef(p);
        virLockManagerPluginUnref(p);
        virLockManagerPluginUnref(p);
        virLockManagerPluginUnref(n);
    }
    return NULL;
}

static void threads(void)
{
    pthread_t t[THREADS];
    void *rv;
    int i;
    virLockManagerPlugin *keep;
    void *h;

    use_dir(TEST_PLUGIN_DIR, NULL);
    keep = virLockManagerPluginNew("testdrv", "qemu", CFGDIR, 0);
    CHECK(keep != NULL);
    {
        virLockManagerPlugin *nop = virLockManagerPluginNew("nop", "qemu", CFGDIR, 0);
        CHECK(nop != NULL);
        nop_driver = virLockManagerPluginGetDriver(nop);
        virLockManagerPluginUnref(nop); /* the built-in table outlives its plugins */
    }
    for (i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);
    for (i = 0; i < THREADS; i++) {
        CHECK(pthread_join(t[i], &rv) == 0);
        CHECK(rv == NULL);
    }
    h = module("testdrv");
    CHECK(h != NULL);
    CHECK(read_int(h, "testdrv_inits") == 1 + THREADS * ROUNDS);
    CHECK(read_int(h, "testdrv_deinits") == THREADS * ROUNDS);
    dlclose(h);
    virLockManagerPluginUnref(keep);
    CHECK(module("testdrv") == NULL);
}

int main(void)
{
    bad_names();
    failure_levels();
    not_accessible();
    directories();
    lifecycle();
    threads();
    TEST_DONE();
}
