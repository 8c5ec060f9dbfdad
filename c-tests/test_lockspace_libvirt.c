/* lockspace driver loaded by Debian's libvirt 9.0 itself (libvirt.so.0, not virtcore):
 * virLockManagerPluginNew finds it through LIBVIRT_LOCK_MANAGER_PLUGIN_DIR, passes
 * CONFIGDIR/qemu-lockspace.conf to drvInit, and errors reach libvirt's own last error
 * (the plugin finds libvirt's virReportErrorHelper at run time). Two processes, one
 * disk: the second is refused naming the first; SIGKILL of the holder frees it. A config
 * file that is a FIFO, a device, a directory or too large is refused, never read. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_lock_private.h"

static int checks;
#define CHECK(c)                                                                     \
    do {                                                                             \
        checks++;                                                                    \
        if (!(c)) {                                                                  \
            virErrorPtr e_ = virGetLastError();                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n  libvirt error: [%d] %s\n",   \
                    __FILE__, __LINE__, #c, e_ ? e_->code : 0,                       \
                    e_ && e_->message ? e_->message : "");                           \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)
#define CHECK_MSG(code_, needle)                                                     \
    do {                                                                             \
        virErrorPtr e_ = virGetLastError();                                          \
        CHECK(e_ != NULL && e_->code == (code_) && e_->domain == VIR_FROM_LOCKING);  \
        CHECK(e_->message && strstr(e_->message, (needle)));                         \
    } while (0)

static char root[64];

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (root[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

static void *new_guest(lvPlugin *plugin, const char *name, unsigned char b)
{
    lvParam p[4];
    memset(p, 0, sizeof(p));
    p[0].type = 7; p[0].key = "uuid"; memset(p[0].value.uuid, b, 16);
    p[1].type = 0; p[1].key = "name"; p[1].value.cstr = name;
    p[2].type = 4; p[2].key = "id"; p[2].value.ui = 1;
    p[3].type = 4; p[3].key = "pid"; p[3].value.ui = (unsigned)getpid();
    return virLockManagerNew(plugin->driver, 0, 4, p, 0);
}

int main(void)
{
    char path[PATH_MAX], disk[PATH_MAX], logfile[PATH_MAX + 32];
    snprintf(root, sizeof(root), "/tmp/lockspace-libvirt-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    /* libvirt's log, where the plugin's warnings go (an unknown key, below). */
    snprintf(logfile, sizeof(logfile), "3:file:%s/libvirt.log", root);
    CHECK(setenv("LIBVIRT_LOG_OUTPUTS", logfile, 1) == 0);
    if (virInitialize() < 0)
        return 1;
    atexit(cleanup);
    snprintf(path, sizeof(path), "%s/leases", root);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(disk, sizeof(disk), "%s/qemu-lockspace.conf", root);
    FILE *f = fopen(disk, "w");
    CHECK(f != NULL);
    fprintf(f, "lockspace_dir = \"%s\"\nlockspace_dri = \"/typo\"\n", path);
    CHECK(fclose(f) == 0);
    snprintf(disk, sizeof(disk), "%s/disk.img", root);
    f = fopen(disk, "w");
    CHECK(f != NULL && fclose(f) == 0);
    CHECK(setenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR", LOCKSPACE_DIR, 1) == 0);

    /* A config whose lockspace directory other users may write to: libvirt's loader
     * fails, with our error (naming the directory) as libvirt's last error. */
    snprintf(path, sizeof(path), "%s/open-dir", root);
    CHECK(mkdir(path, 0700) == 0 && chmod(path, 0777) == 0);
    snprintf(path, sizeof(path), "%s/lxc-lockspace.conf", root);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "lockspace_dir = \"%s/open-dir\"\n", root);
    CHECK(fclose(f) == 0);
    lvPlugin *bad = virLockManagerPluginNew("lockspace", "lxc", root, 0);
    CHECK(bad == NULL);
    CHECK_MSG(VIR_ERR_CONFIG_UNSUPPORTED, "open-dir' is writable by other users");

    /* A config that is a FIFO, a device, a directory or larger than 10 MiB: refused,
     * naming it, instead of blocking libvirtd's start-up or reading without end. */
    snprintf(path, sizeof(path), "%s/fifo-lockspace.conf", root);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(virLockManagerPluginNew("lockspace", "fifo", root, 0) == NULL);
    CHECK_MSG(VIR_ERR_CONFIG_UNSUPPORTED, "fifo-lockspace.conf' is not a regular file");
    snprintf(path, sizeof(path), "%s/zero-lockspace.conf", root);
    CHECK(symlink("/dev/zero", path) == 0);
    CHECK(virLockManagerPluginNew("lockspace", "zero", root, 0) == NULL);
    CHECK_MSG(VIR_ERR_CONFIG_UNSUPPORTED, "zero-lockspace.conf' is not a regular file");
    snprintf(path, sizeof(path), "%s/dir-lockspace.conf", root);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(virLockManagerPluginNew("lockspace", "dir", root, 0) == NULL);
    CHECK_MSG(VIR_ERR_CONFIG_UNSUPPORTED, "dir-lockspace.conf' is not a regular file");
    snprintf(path, sizeof(path), "%s/big-lockspace.conf", root);
    CHECK(truncate(path, 0) != 0 && (f = fopen(path, "w")) != NULL && fclose(f) == 0);
    CHECK(truncate(path, 10 * 1024 * 1024 + 1) == 0);
    CHECK(virLockManagerPluginNew("lockspace", "big", root, 0) == NULL);
    CHECK_MSG(VIR_ERR_CONFIG_UNSUPPORTED, "big-lockspace.conf' is larger than 10485760 bytes");

    lvPlugin *plugin = virLockManagerPluginNew("lockspace", "qemu", root, 0);
    CHECK(plugin != NULL);
    /* The misspelt key is a warning in libvirt's log, naming it. */
    char cmd[PATH_MAX + 80];
    snprintf(cmd, sizeof(cmd), "grep -q \"unknown setting 'lockspace_dri'\" '%s/libvirt.log'", root);
    CHECK(system(cmd) == 0);
    CHECK(virLockManagerPluginUsesState(plugin));
    CHECK(strcmp(virLockManagerPluginGetName(plugin), "lockspace") == 0);

    int ready[2];
    CHECK(pipe(ready) == 0);
    fflush(NULL);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        void *lock = new_guest(plugin, "vm-first", 0x11);
        int fd = 7;
        char ok = lock && virLockManagerAddResource(lock, 0, disk, 0, NULL, 0) == 0 &&
                  virLockManagerAcquire(lock, NULL, 0, 0, &fd) == 0 && fd == -1 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    char ok = 0;
    CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y');

    void *lock = new_guest(plugin, "vm-second", 0x22);
    CHECK(lock != NULL);
    CHECK(virLockManagerAddResource(lock, 0, disk, 0, NULL, 0) == 0);
    CHECK(virLockManagerAcquire(lock, NULL, 0, 0, NULL) == -1);
    CHECK_MSG(VIR_ERR_RESOURCE_BUSY, "vm-first");
    char pidtext[32];
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)child);
    CHECK_MSG(VIR_ERR_RESOURCE_BUSY, pidtext);
    CHECK_MSG(VIR_ERR_RESOURCE_BUSY, "11111111-1111-1111-1111-111111111111");
    /* Bad flags through libvirt's API. */
    CHECK(virLockManagerAcquire(lock, NULL, 8, 0, NULL) == -1);
    CHECK_MSG(VIR_ERR_INVALID_ARG, "flags (0x8)");

    CHECK(kill(child, SIGKILL) == 0);
    CHECK(waitpid(child, NULL, 0) == child);
    CHECK(virLockManagerAcquire(lock, NULL, 0, 0, NULL) == 0);
    char *state = NULL;
    CHECK(virLockManagerInquire(lock, &state, 0) == 0 && state != NULL);
    CHECK(strncmp(state, "lockspace/1;d:x:", 16) == 0);
    free(state);
    CHECK(virLockManagerRelease(lock, &state, 0) == 0 && state != NULL);
    free(state);
    CHECK(virLockManagerFree(lock) == 0);
    virLockManagerPluginUnref(plugin);
    printf("%s: %d checks passed\n", __FILE__, checks);
    return 0;
}
