/* test_lock_lockd.c: Debian's lockd.so (built against libvirt 9.0) loaded by virtcore's
 * loader, with a running virtlockd: a guest acquires a disk, a second process is refused
 * the same disk (with virtlockd's reason), read-only use is allowed beside it, release
 * works and the disk can then be taken by another process.
 *
 * The program links virtcore first and Debian's libvirt second and calls libvirt's
 * virInitialize (lockd.so runs on libvirt's runtime); every virLockManager* / virError
 * call below must bind to virtcore, which the test checks with dladdr. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "testutil.h"
#include "lock_lockd_common.h"

static const unsigned char uuid_a[16] = {0xa1, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1};
static const unsigned char uuid_b[16] = {0xb2, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 2};
static char cfgdir[] = "/tmp/vc-lockd-cfg-XXXXXX";
static char disk[4096];

static virLockManager *guest(virLockManagerPlugin *plugin, const unsigned char *uuid,
                             const char *name, unsigned int id, unsigned int flags)
{
    virLockManagerParam p[5];
    virLockManager *lock;
    lockd_domain_params(p, uuid, name, id, (unsigned)getpid());
    lock = virLockManagerNew(virLockManagerPluginGetDriver(plugin),
                             VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, p, 0);
    if (lock && virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, disk,
                                          0, NULL, flags) < 0) {
        virLockManagerFree(lock);
        return NULL;
    }
    return lock;
}

/* Runs @fn in a child process; its exit status is the result. */
static int in_child(int (*fn)(virLockManagerPlugin *), virLockManagerPlugin *plugin)
{
    int status;
    pid_t pid = fork();
    if (pid == 0) {
        int rc = fn(plugin);
        fflush(stdout);
        _exit(rc);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static int second_guest_refused(virLockManagerPlugin *plugin)
{
    int fd = -1;
    virLockManager *lock = guest(plugin, uuid_b, "guest-b", 2, 0);
    if (!lock)
        return 10;
    if (virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, &fd) == 0)
        return 11;
    /* lockd.so reports into libvirt's error; virtcore passes libvirt's message on. */
    printf("refused as expected: [%d] %s\n", virGetLastErrorCode(), virGetLastErrorMessage());
    if (virGetLastErrorCode() != VIR_ERR_RESOURCE_BUSY)
        return 12;
    if (!strstr(virGetLastErrorMessage(), disk) || !strstr(virGetLastErrorMessage(), "locked"))
        return 13;
    if (fd != -1)
        return 14;
    virLockManagerFree(lock);
    return 0;
}

static int readonly_allowed(virLockManagerPlugin *plugin)
{
    int fd = -1;
    virLockManager *lock = guest(plugin, uuid_b, "guest-ro", 3, VIR_LOCK_MANAGER_RESOURCE_READONLY);
    if (!lock)
        return 20;
    if (virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, &fd) < 0) {
        fprintf(stderr, "read-only acquire: %s\n", virGetLastErrorMessage());
        return 21;
    }
    if (virLockManagerRelease(lock, NULL, 0) < 0)
        return 22;
    if (fd >= 0)
        close(fd);
    virLockManagerFree(lock);
    return 0;
}

static int second_guest_after_release(virLockManagerPlugin *plugin)
{
    int fd = -1;
    virLockManager *lock = guest(plugin, uuid_b, "guest-b", 2, 0);
    if (!lock)
        return 30;
    if (virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, &fd) < 0) {
        fprintf(stderr, "acquire after release: %s\n", virGetLastErrorMessage());
        return 31;
    }
    if (virLockManagerRelease(lock, NULL, 0) < 0)
        return 32;
    if (fd >= 0)
        close(fd);
    virLockManagerFree(lock);
    return 0;
}

/* Before anyone in the process called libvirt's virInitialize: virtcore's loader
 * initializes the libvirt.so.0 that lockd.so pulls in (lockd.so crashes otherwise). */
static int without_virinitialize(virLockManagerPlugin *unused)
{
    virLockManagerPlugin *plugin;
    virLockManager *lock;
    int fd = -1;
    (void)unused;
    plugin = virLockManagerPluginNew("lockd", "qemu", cfgdir, 0);
    if (!plugin) {
        fprintf(stderr, "load: %s\n", virGetLastErrorMessage());
        return 40;
    }
    lock = guest(plugin, uuid_b, "guest-c", 4, 0);
    if (!lock)
        return 41;
    if (virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, &fd) < 0) {
        fprintf(stderr, "acquire: %s\n", virGetLastErrorMessage());
        return 42;
    }
    if (virLockManagerRelease(lock, NULL, 0) < 0)
        return 43;
    close(fd);
    virLockManagerFree(lock);
    virLockManagerPluginUnref(plugin);
    return 0;
}

static int bound_to_virtcore(void *fn)
{
    Dl_info info;
    return dladdr(fn, &info) && info.dli_fname && strstr(info.dli_fname, "libvirtcore");
}

int main(void)
{
    const char *why;
    virLockManagerPlugin *plugin;
    virLockManager *lock;
    char *state = NULL;
    int fd = -1, dfd;

    /* Same-named functions of the two libraries are kept apart by symbol versions. */
    CHECK(bound_to_virtcore((void *)virLockManagerPluginNew));
    CHECK(bound_to_virtcore((void *)virLockManagerAcquire));
    CHECK(bound_to_virtcore((void *)virGetLastErrorMessage));
    CHECK(!bound_to_virtcore((void *)virInitialize));

    if ((why = lockd_start()))
        SKIP(why);
    CHECK(mkdtemp(cfgdir) != NULL);
    snprintf(disk, sizeof(disk), "%s/disk.img", cfgdir);
    dfd = open(disk, O_CREAT | O_WRONLY, 0600);
    CHECK(dfd >= 0);
    close(dfd);
    setenv("VIRTCORE_LOCK_DRIVER_DIR", LOCKD_DIR, 1);

    CHECK(in_child(without_virinitialize, NULL) == 0);
    CHECK(virInitialize() == 0);
    plugin = virLockManagerPluginNew("lockd", "qemu", cfgdir, 0);
    CHECK(plugin != NULL);
    CHECK(strcmp(virLockManagerPluginGetName(plugin), "lockd") == 0);
    CHECK(!virLockManagerPluginUsesState(plugin));

    /* lockd's drvNew insists on every domain parameter: its reason comes through. */
    {
        virLockManagerParam p[5];
        lockd_domain_params(p, uuid_a, "guest-a", 0, (unsigned)getpid());
        CHECK(virLockManagerNew(virLockManagerPluginGetDriver(plugin), 0, 5, p, 0) == NULL);
        CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "Missing ID parameter for domain object");
    }

    lock = guest(plugin, uuid_a, "guest-a", 1, 0);
    CHECK(lock != NULL);
    /* The fd keeps virtlockd's connection, which owns the lease, open (as QEMU does). */
    CHECK(virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, &fd) == 0);
    CHECK(fd >= 0);
    CHECK(virLockManagerInquire(lock, &state, 0) == 0);
    CHECK(state == NULL); /* lockd keeps no state */

    CHECK(in_child(second_guest_refused, plugin) == 0);
    CHECK(in_child(readonly_allowed, plugin) == 0);

    CHECK(virLockManagerRelease(lock, &state, 0) == 0);
    CHECK(state == NULL);
    close(fd);
    CHECK(in_child(second_guest_after_release, plugin) == 0);
    CHECK(virLockManagerFree(lock) == 0);
    virLockManagerPluginUnref(plugin);

    unlink(disk);
    rmdir(cfgdir);
    TEST_DONE();
}
