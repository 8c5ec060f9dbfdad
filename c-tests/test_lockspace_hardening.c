/* lockspace driver, issue 8 item 4: what a lock state string or a hostile file can make
 * the driver open. A state (migration hand-over) may only name resources of this
 * lockspace: never a user's lease file the guest did not declare. Special files (device
 * nodes, FIFOs) at a lease path are refused before they are opened for anything, and a
 * disk image is never opened at all (its identity comes from stat). "Opened" is watched
 * with inotify's IN_OPEN, which an O_PATH open does not raise. */
#include "test_lockspace_util.h"
#include <sys/inotify.h>
#include <sys/sysmacros.h>

/* An inotify watch for opens of `path`. */
static int watch_opens(const char *path)
{
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CHECK(in >= 0);
    CHECK(inotify_add_watch(in, path, IN_OPEN) >= 0);
    return in;
}

/* Whether `path` was opened since the watch began (then closes the watch). */
static int was_opened(int in)
{
    char buf[4096];
    ssize_t n = read(in, buf, sizeof(buf));
    close(in);
    return n > 0;
}

/* A special file to play a lease file or a disk: a character device (a copy of
 * /dev/null's node) when root may create one, a FIFO otherwise. */
static const char *special_file(const char *name)
{
    const char *p = ls_path(name);
    if (mknod(p, S_IFCHR | 0600, makedev(1, 3)) != 0)
        CHECK(mkfifo(p, 0600) == 0);
    return p;
}

int main(void)
{
    ls_setup();
    const char *userlease = ls_disk_file("user-leases.bin");
    const char *disk = ls_disk_file("vm.img");

    /* A state naming a user's lease file the guest did not declare: refused, and the
     * file is never opened. */
    ls_manager *m = ls_new("vmH", 0x48);
    CHECK(ls_add_disk(m, disk, 0) == 0);
    char state[PATH_MAX * 2];
    snprintf(state, sizeof(state), "lockspace/1;l:x:0:key:space:%s:0", userlease);
    int in = watch_opens(userlease);
    CHECK(drv->drvAcquire(m, state, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "lock state names lease 'key'");
    CHECK_CONTAINS(virGetLastErrorMessage(), userlease);
    CHECK_CONTAINS(virGetLastErrorMessage(), "not a resource of domain 'vmH'");
    CHECK(!was_opened(in));
    /* ... and refused all or nothing: the disk is not held either. */
    ls_manager *other = ls_new("vmO", 0x4f);
    CHECK(ls_add_disk(other, disk, 0) == 0);
    CHECK(drv->drvAcquire(other, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(other, NULL, 0) == 0);
    ls_free(other);
    /* Relative lease paths never get that far. */
    CHECK(drv->drvAcquire(m, "lockspace/1;l:x:0:key:space:etc/passwd:0", 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_INVALID_ARG, "not absolute");
    /* Declared, the same lease in a state is fine. */
    CHECK(ls_add_lease(m, "key", "space", userlease, 0, 0) == 0);
    CHECK(drv->drvAcquire(m, state, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(m, NULL, 0) == 0);
    ls_free(m);

    /* A state naming a disk opens files of the lockspace only, never the disk. */
    const char *elsewhere = ls_disk_file("not-my-disk.img");
    m = ls_new("vmH", 0x48);
    snprintf(state, sizeof(state), "lockspace/1;d:x:0:%s", elsewhere);
    in = watch_opens(elsewhere);
    CHECK(drv->drvAcquire(m, state, 0, 0, NULL) == 0);
    CHECK(!was_opened(in));
    CHECK(drv->drvRelease(m, NULL, 0) == 0);
    ls_free(m);

    /* A device node or FIFO as a user's lease file: refused before being opened. */
    const char *dev = special_file("lease-device");
    m = ls_new("vmH", 0x48);
    CHECK(ls_add_lease(m, "devkey", "space", dev, 0, 0) == 0);
    in = watch_opens(dev);
    CHECK(drv->drvAcquire(m, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_CONFIG_UNSUPPORTED, "is not a regular file");
    CHECK_CONTAINS(virGetLastErrorMessage(), dev);
    CHECK(!was_opened(in));
    ls_free(m);

    /* A device node as a disk: locked by name and identity, never opened. */
    const char *devdisk = special_file("disk-device");
    m = ls_new("vmH", 0x48);
    CHECK(ls_add_disk(m, devdisk, 0) == 0);
    in = watch_opens(devdisk);
    CHECK(drv->drvAcquire(m, NULL, 0, 0, NULL) == 0);
    CHECK(!was_opened(in));
    CHECK(drv->drvRelease(m, NULL, 0) == 0);
    ls_free(m);

    TEST_DONE();
}
