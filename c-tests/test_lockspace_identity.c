/* lockspace driver, issue 8 item 3: one image is one resource however it is reached.
 * Symlinks and path spellings were already one (canonical path); here a hard link and
 * a bind mount of the same image conflict, shared use through two names is shared, the
 * refusal names the holder (guest name and pid), and a release frees every name.
 * The bind mount lives in a private mount namespace of this test (root only). */
#include "test_lockspace_util.h"
#include <sched.h>
#include <sys/mount.h>

static char bind_dir[PATH_MAX];

static void unmount_bind(void)
{
    if (bind_dir[0])
        umount2(bind_dir, MNT_DETACH);
}

/* Guest `name` (uuid byte `u`) tries `path` with `flags` in this process: 0 or -1. */
static int try_disk(const char *name, unsigned char u, const char *path, unsigned flags)
{
    ls_manager *m = ls_new(name, u);
    CHECK(m != NULL);
    CHECK(ls_add_disk(m, path, flags) == 0);
    int rc = drv->drvAcquire(m, NULL, 0, 0, NULL);
    if (rc == 0)
        CHECK(drv->drvRelease(m, NULL, 0) == 0);
    ls_free(m);
    return rc;
}

int main(void)
{
    /* A private mount namespace first, so that agents forked later share it. */
    int can_bind = getuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
                   mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
    ls_setup();
    const char *images = ls_path("images");
    CHECK(mkdir(images, 0755) == 0);
    char img[PATH_MAX], hard[PATH_MAX], other[PATH_MAX], via_bind[PATH_MAX];
    snprintf(img, sizeof(img), "%s/a.img", images);
    snprintf(hard, sizeof(hard), "%s/a-hardlink.img", images);
    snprintf(other, sizeof(other), "%s/b.img", images);
    ls_write_file(img, "");
    ls_write_file(other, "");
    CHECK(link(img, hard) == 0);

    /* Guest A holds the image by its first name, in another process. */
    ls_agent *a = ls_agent_start();
    AGENT_OK(a, "new vmA 10");
    AGENT_OK(a, "disk %s 0", img);
    AGENT_OK(a, "acquire 0");
    char pidtext[32];
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)a->pid);

    /* A hard link is the same image: refused, naming the holder. */
    CHECK(try_disk("vmB", 11, hard, 0) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
    CHECK_CONTAINS(virGetLastErrorMessage(), pidtext);
    CHECK_CONTAINS(virGetLastErrorMessage(), hard);
    CHECK_CONTAINS(virGetLastErrorMessage(), "vmB");
    /* Shared use through the link is refused as well; another image is not. */
    CHECK(try_disk("vmB", 11, hard, LS_SHARED) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
    CHECK(try_disk("vmB", 11, other, 0) == 0);
    /* Read-only use takes no lock (as libvirt's lockd). */
    CHECK(try_disk("vmB", 11, hard, LS_READONLY) == 0);

    /* A bind mount of the image's directory: the same image under another path. */
    if (can_bind) {
        snprintf(bind_dir, sizeof(bind_dir), "%s/bind", ls_root);
        CHECK(mkdir(bind_dir, 0755) == 0);
        CHECK(mount(images, bind_dir, NULL, MS_BIND, NULL) == 0);
        atexit(unmount_bind);
        CHECK(snprintf(via_bind, sizeof(via_bind), "%s/a.img", bind_dir) < PATH_MAX);
        char canon[PATH_MAX];
        CHECK(realpath(via_bind, canon) != NULL && strcmp(canon, via_bind) == 0);
        CHECK(try_disk("vmC", 12, via_bind, 0) == -1);
        CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
        CHECK_CONTAINS(virGetLastErrorMessage(), pidtext);
        CHECK_CONTAINS(virGetLastErrorMessage(), via_bind);
    } else {
        printf("# bind mount case skipped: needs root and unshare(CLONE_NEWNS)\n");
    }

    /* Once A releases, every name is free; A's state names only its path. */
    const char *st = AGENT_OK(a, "release");
    CHECK(strncmp(st, "lockspace/1;d:x:", 16) == 0);
    CHECK(strchr(st + 16, ';') == NULL); /* one entry: no host-local identity entry */
    CHECK(try_disk("vmB", 11, hard, 0) == 0);
    if (can_bind)
        CHECK(try_disk("vmC", 12, via_bind, 0) == 0);

    /* Two names shared by two guests: both get it; an exclusive third does not. */
    AGENT_OK(a, "free");
    AGENT_OK(a, "new vmA 10");
    AGENT_OK(a, "disk %s %u", img, LS_SHARED);
    AGENT_OK(a, "acquire 0");
    ls_manager *b = ls_new("vmB", 11);
    CHECK(ls_add_disk(b, hard, LS_SHARED) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    CHECK(try_disk("vmC", 12, can_bind ? via_bind : hard, 0) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
    CHECK_CONTAINS(virGetLastErrorMessage(), "vmB");
    /* One guest naming the image twice (both names) does not conflict with itself. */
    ls_manager *d = ls_new("vmD", 13);
    CHECK(ls_add_disk(d, other, 0) == 0);
    char other_link[PATH_MAX];
    snprintf(other_link, sizeof(other_link), "%s/b-hardlink.img", images);
    CHECK(link(other, other_link) == 0);
    CHECK(ls_add_disk(d, other_link, 0) == 0);
    CHECK(drv->drvAcquire(d, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(d, NULL, 0) == 0);
    ls_free(d);
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    ls_free(b);
    ls_agent_stop(a, 0);
    TEST_DONE();
}
