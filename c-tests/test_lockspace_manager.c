/* lockspace driver through virtcore's own manager API (what users call):
 * virLockManagerPluginNew finds LOCKDRIVERDIR/lockspace.so (VIRTCORE_LOCK_DRIVER_DIR),
 * passes CONFIGDIR/qemu-lockspace.conf; a guest in another process holding a disk makes
 * the second guest fail with VIR_ERR_RESOURCE_BUSY naming it; SIGKILL frees the disk;
 * Release's state lets another process take over; a config error surfaces through
 * PluginNew; dropping the plugin while locks are held keeps it loaded. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static char root[64];

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (root[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

static void write_conf(const char *driver, const char *dir)
{
    char path[PATH_MAX];
    CHECK(snprintf(path, sizeof(path), "%s/%s-lockspace.conf", root, driver) < PATH_MAX);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "# lockspace for %s\nlockspace_dir = \"%s\"\n", driver, dir);
    CHECK(fclose(f) == 0);
}

static virLockManager *guest(virLockManagerPlugin *plugin, const char *name, unsigned char b)
{
    virLockManagerParam p[4];
    memset(p, 0, sizeof(p));
    p[0].type = VIR_LOCK_MANAGER_PARAM_TYPE_UUID; p[0].key = "uuid";
    for (int i = 0; i < 16; i++)
        p[0].value.uuid[i] = (unsigned char)(b + i);
    p[1].type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING; p[1].key = "name";
    p[1].value.cstr = name;
    p[2].type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT; p[2].key = "id"; p[2].value.ui = 1;
    p[3].type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT; p[3].key = "pid";
    p[3].value.ui = (unsigned)getpid();
    return virLockManagerNew(virLockManagerPluginGetDriver(plugin),
                             VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 4, p, 0);
}

/* Forks a guest process that acquires `disk` (from `state` if given) and then waits
 * to be killed; returns its pid once it holds the lock. */
static pid_t holder(virLockManagerPlugin *plugin, const char *name, unsigned char b,
                    const char *disk, const char *state)
{
    int ready[2];
    CHECK(pipe(ready) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        virLockManager *lock = guest(plugin, name, b);
        char ok = lock && (state || virLockManagerAddResource(
                               lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, disk, 0, NULL, 0) == 0) &&
                          virLockManagerAcquire(lock, state, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT,
                                                NULL) == 0 ? 'y' : 'n';
        if (ok != 'y')
            fprintf(stderr, "holder %s: %s\n", name, virGetLastErrorMessage());
        if (write(ready[1], &ok, 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    char ok = 0;
    CHECK(read(ready[0], &ok, 1) == 1);
    CHECK(ok == 'y');
    close(ready[0]);
    close(ready[1]);
    return pid;
}

static void kill_holder(pid_t pid)
{
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, NULL, 0) == pid);
}

int main(void)
{
    char so[] = LOCKSPACE_SO, leases[PATH_MAX], disk[PATH_MAX], pidtext[32];
    CHECK(setenv("VIRTCORE_LOCK_DRIVER_DIR", dirname(so), 1) == 0);
    snprintf(root, sizeof(root), "/tmp/lockspace-manager-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    atexit(cleanup);
    CHECK(snprintf(leases, sizeof(leases), "%s/leases", root) < PATH_MAX);
    CHECK(mkdir(leases, 0700) == 0);
    CHECK(snprintf(disk, sizeof(disk), "%s/guest.img", root) < PATH_MAX);
    int fd = open(disk, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    write_conf("qemu", leases);
    char missing[PATH_MAX];
    CHECK(snprintf(missing, sizeof(missing), "%s/open-dir", root) < PATH_MAX);
    CHECK(mkdir(missing, 0700) == 0 && chmod(missing, 0777) == 0);
    write_conf("lxc", missing);

    /* The config error reaches the caller of virLockManagerPluginNew. */
    CHECK(virLockManagerPluginNew("lockspace", "lxc", root, 0) == NULL);
    CHECK(strstr(virGetLastErrorMessage(), missing) != NULL);
    CHECK(strstr(virGetLastErrorMessage(), "is writable by other users (mode 0777)") != NULL);

    virLockManagerPlugin *plugin = virLockManagerPluginNew("lockspace", "qemu", root, 0);
    CHECK(plugin != NULL);
    CHECK(strcmp(virLockManagerPluginGetName(plugin), "lockspace") == 0);
    CHECK(virLockManagerPluginUsesState(plugin));

    /* Two guests, one disk. */
    pid_t first = holder(plugin, "guest-one", 0x10, disk, NULL);
    virLockManager *lock = guest(plugin, "guest-two", 0x20);
    CHECK(lock != NULL);
    CHECK(virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, disk, 0, NULL, 0) == 0);
    CHECK(virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, NULL) == -1);
    CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, "guest 'guest-one'");
    CHECK(virGetLastError()->domain == VIR_FROM_LOCKING);
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)first);
    CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, pidtext);
    CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, "10111213-1415-1617-1819-1a1b1c1d1e1f");
    kill_holder(first);
    int lfd = 99;
    CHECK(virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, &lfd) == 0);
    CHECK(lfd == -1);

    /* Migration hand-over: release here, take over in another process from the state. */
    char *state = NULL;
    CHECK(virLockManagerInquire(lock, &state, 0) == 0 && state != NULL);
    free(state);
    CHECK(virLockManagerRelease(lock, &state, 0) == 0 && state != NULL);
    pid_t dest = holder(plugin, "guest-two", 0x20, NULL, state);
    virLockManager *other = guest(plugin, "guest-three", 0x30);
    CHECK(other != NULL);
    CHECK(virLockManagerAddResource(other, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, disk, 0, NULL, 0) == 0);
    CHECK(virLockManagerAcquire(other, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, NULL) == -1);
    CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, "guest 'guest-two'");
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)dest);
    CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, pidtext);
    kill_holder(dest);
    /* The old state is stale now (the destination took the disk with it). */
    CHECK(virLockManagerAcquire(lock, state, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, NULL) == -1);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "stale");
    free(state);
    CHECK(virLockManagerFree(lock) == 0);

    /* Dropping the last plugin reference while holding locks: the driver refuses to be
     * unloaded, the locks stay, and a reloaded plugin can still release them. */
    CHECK(virLockManagerAcquire(other, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, NULL) == 0);
    CHECK(virLockManagerFree(other) == 0);
    virLockManagerPluginUnref(plugin);
    plugin = virLockManagerPluginNew("lockspace", "qemu", root, 0);
    CHECK(plugin != NULL);
    lock = guest(plugin, "guest-four", 0x40);
    CHECK(virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, disk, 0, NULL, 0) == 0);
    CHECK(virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, NULL) == -1);
    CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, "guest 'guest-three'");
    other = guest(plugin, "guest-three", 0x30);
    CHECK(virLockManagerRelease(other, NULL, 0) == 0); /* all of guest-three's locks */
    CHECK(virLockManagerFree(other) == 0);
    CHECK(virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, NULL) == 0);
    CHECK(virLockManagerRelease(lock, NULL, 0) == 0);
    CHECK(virLockManagerFree(lock) == 0);
    virLockManagerPluginUnref(plugin);
    TEST_DONE();
}
