/* lockspace driver, disks: two guests and one exclusive disk (the second is refused with
 * VIR_ERR_RESOURCE_BUSY naming the first: guest name, UUID, pid, host), shared disks,
 * read-only use, a holder killed with SIGKILL frees its disk, lease files (name, 0600,
 * O_CLOEXEC, a planted symlink refused). Each guest is its own process (agents). */
#include "test_lockspace_util.h"
#include <dirent.h>
#include <pthread.h>

/* Threads of one process: each its own guest and disk, many cycles; plus every
 * thread trying one common disk (OFD locks conflict between guests of one process). */
static char common_disk[PATH_MAX], thread_disks[4][PATH_MAX];
static int common_wins;
static pthread_mutex_t wins_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;

static void *thread_main(void *arg)
{
    long i = (long)arg;
    char name[32];
    snprintf(name, sizeof(name), "vmT%ld", i);
    const char *disk = thread_disks[i];
    for (int n = 0; n < 200; n++) {
        ls_manager *m = ls_new(name, (unsigned char)(0x60 + i));
        if (!m || ls_add_disk(m, disk, 0) < 0 || drv->drvAcquire(m, NULL, 0, 0, NULL) < 0 ||
            drv->drvRelease(m, NULL, 0) < 0)
            return (void *)1;
        ls_free(m);
    }
    ls_manager *m = ls_new(name, (unsigned char)(0x60 + i));
    if (!m || ls_add_disk(m, common_disk, 0) < 0)
        return (void *)1;
    pthread_barrier_wait(&barrier);
    if (drv->drvAcquire(m, NULL, 0, 0, NULL) == 0) {
        pthread_mutex_lock(&wins_lock);
        common_wins++;
        pthread_mutex_unlock(&wins_lock);
    } else if (virGetLastErrorCode() != LS_ERR_RESOURCE_BUSY) {
        return (void *)1;
    }
    pthread_barrier_wait(&barrier); /* everyone tried before anyone releases */
    drv->drvRelease(m, NULL, 0);
    ls_free(m);
    return NULL;
}

/* The lease file of a disk: lockspace dir / hex SHA-256 of the canonical path. */
static void lease_of(const char *canon, char *out, size_t len)
{
    char cmd[PATH_MAX + 64], hex[80] = "";
    snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | sha256sum", canon);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    CHECK(fscanf(p, "%64s", hex) == 1);
    pclose(p);
    snprintf(out, len, "%s/%s", ls_leases, hex);
}

/* Descriptors of this process open on files of the lockspace directory. */
static int lease_fds(int *fds, int max)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    CHECK(d != NULL);
    while ((e = readdir(d)) && n < max) {
        char link[PATH_MAX + 32], target[PATH_MAX] = "";
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t r = readlink(link, target, sizeof(target) - 1);
        if (r > 0 && strncmp(target, ls_leases, strlen(ls_leases)) == 0 &&
            target[strlen(ls_leases)] == '/') /* a file in it, not the held directory */
            fds[n++] = atoi(e->d_name);
    }
    closedir(d);
    return n;
}

int main(void)
{
    char host[256] = "", canon[PATH_MAX], lease[PATH_MAX + 80], pidtext[32];
    ls_setup();
    CHECK(gethostname(host, sizeof(host)) == 0);
    const char *disk = ls_disk_file("disk-a.img");
    CHECK(realpath(disk, canon) != NULL);

    /* Guest A takes the disk exclusively. */
    ls_agent *a = ls_agent_start();
    AGENT_OK(a, "new vmA 161");
    AGENT_OK(a, "disk %s 0", disk);
    AGENT_OK(a, "acquire 0");

    /* Guest B (this process) is refused, and told who holds it. */
    ls_manager *b = ls_new("vmB", 0xb2);
    CHECK(b != NULL);
    CHECK(ls_add_disk(b, disk, 0) == 0);
    int fd = 12345;
    CHECK(drv->drvAcquire(b, NULL, 0, 0, &fd) == -1);
    CHECK(fd == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
    CHECK(virGetLastError()->domain == LS_FROM_LOCKING);
    CHECK_CONTAINS(virGetLastErrorMessage(), ls_uuid_text(0xa1));
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)a->pid);
    CHECK_CONTAINS(virGetLastErrorMessage(), pidtext);
    CHECK_CONTAINS(virGetLastErrorMessage(), host);
    CHECK_CONTAINS(virGetLastErrorMessage(), canon);
    CHECK_CONTAINS(virGetLastErrorMessage(), "vmB");
    /* Refused: B holds nothing afterwards. */
    char *state = (char *)"x";
    CHECK(drv->drvInquire(b, &state, 0) == 0 && state == NULL);
    ls_free(b);

    /* A shared request is refused by an exclusive holder too. */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, disk, LS_SHARED) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
    ls_free(b);

    /* The same disk through a symlink is the same lease. */
    const char *link = ls_path("link-a.img");
    CHECK(symlink(disk, link) == 0);
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, link, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
    ls_free(b);

    /* Read-only use takes no lock: allowed next to the exclusive holder. */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, disk, LS_READONLY) == 0);
    CHECK(ls_add_disk(b, disk, LS_READONLY | LS_SHARED) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    ls_free(b);

    /* The lease file: named by the hash of the canonical path, mode 0600. */
    struct stat st;
    lease_of(canon, lease, sizeof(lease));
    CHECK(lstat(lease, &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);

    /* A releases; now B gets it, and its lease descriptors are close-on-exec. */
    AGENT_OK(a, "release");
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, disk, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    int fds[16];
    /* Two lease files: the disk's path and the image's host-local identity. */
    int nfds = lease_fds(fds, 16);
    CHECK(nfds == 2);
    for (int i = 0; i < nfds; i++) {
        CHECK(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
        CHECK(fcntl(fds[i], F_GETFL) & O_RDWR);
    }
    /* And A is refused, naming B (this process). */
    AGENT_OK(a, "free");
    AGENT_OK(a, "new vmA 161");
    AGENT_OK(a, "disk %s 0", disk);
    const char *msg = AGENT_ERR(a, LS_ERR_RESOURCE_BUSY, "acquire 0");
    CHECK_CONTAINS(msg, "vmB");
    CHECK_CONTAINS(msg, ls_uuid_text(0xb2));
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)getpid());
    CHECK_CONTAINS(msg, pidtext);
    /* Release through another manager of the same guest (libvirt's detach pattern). */
    ls_free(b);
    CHECK(lease_fds(fds, 16) == 2); /* freeing the manager keeps the lock */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, disk, 0) == 0);
    state = NULL;
    CHECK(drv->drvRelease(b, &state, 0) == 0);
    CHECK(state != NULL);
    CHECK_CONTAINS(state, "lockspace/1;d:x:");
    free(state);
    CHECK(lease_fds(fds, 16) == 0);
    ls_free(b);
    AGENT_OK(a, "acquire 0");

    /* SIGKILL of the holder frees the disk. */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, disk, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmA");
    ls_agent_stop(a, SIGKILL);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    ls_free(b);

    /* Shared disks: several shared holders, an exclusive request names them all. */
    const char *sdisk = ls_disk_file("shared.img");
    ls_agent *s1 = ls_agent_start(), *s2 = ls_agent_start();
    AGENT_OK(s1, "new vmS1 17");
    AGENT_OK(s1, "disk %s %u", sdisk, LS_SHARED);
    AGENT_OK(s1, "acquire 0");
    AGENT_OK(s2, "new vmS2 34");
    AGENT_OK(s2, "disk %s %u", sdisk, LS_SHARED);
    AGENT_OK(s2, "acquire 0");
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, sdisk, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmS1");
    CHECK_CONTAINS(virGetLastErrorMessage(), "vmS2");
    ls_agent_stop(s1, SIGKILL);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmS2");
    CHECK(strstr(virGetLastErrorMessage(), "guest 'vmS1'") == NULL); /* dead: stale */
    ls_agent_stop(s2, 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    /* Now exclusive: a shared request is refused. */
    s1 = ls_agent_start();
    AGENT_OK(s1, "new vmS1 17");
    AGENT_OK(s1, "disk %s %u", sdisk, LS_SHARED);
    msg = AGENT_ERR(s1, LS_ERR_RESOURCE_BUSY, "acquire 0");
    CHECK_CONTAINS(msg, "vmB");
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    AGENT_OK(s1, "acquire 0");
    ls_agent_stop(s1, 0);
    ls_free(b);

    /* Acquire is all or nothing: a busy second disk leaves the first one free. */
    const char *d1 = ls_disk_file("d1.img"), *d2 = ls_disk_file("d2.img");
    ls_agent *h = ls_agent_start();
    AGENT_OK(h, "new vmH 85");
    AGENT_OK(h, "disk %s 0", d2);
    AGENT_OK(h, "acquire 0");
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, d1, 0) == 0 && ls_add_disk(b, d2, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmH");
    CHECK(lease_fds(fds, 16) == 0);
    ls_agent *o = ls_agent_start();
    AGENT_OK(o, "new vmO 51");
    AGENT_OK(o, "disk %s 0", d1);
    AGENT_OK(o, "acquire 0"); /* d1 was not left locked by B's failed call */
    ls_agent_stop(o, 0);
    ls_agent_stop(h, 0);
    ls_free(b);

    /* A disk that does not exist yet: its absolute path as given is hashed. */
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, ls_path("not-yet.img"), 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == 0);
    lease_of(ls_path("not-yet.img"), lease, sizeof(lease));
    CHECK(access(lease, F_OK) == 0);
    CHECK(drv->drvRelease(b, NULL, 0) == 0);
    ls_free(b);

    /* A symlink planted at a lease path is refused before anything is opened (O_PATH |
     * O_NOFOLLOW, then fstat), its target untouched. */
    const char *victim = ls_disk_file("victim");
    const char *d3 = ls_disk_file("d3.img");
    char canon3[PATH_MAX];
    CHECK(realpath(d3, canon3) != NULL);
    lease_of(canon3, lease, sizeof(lease));
    CHECK(symlink(victim, lease) == 0);
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, d3, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_CONFIG_UNSUPPORTED, lease);
    CHECK_CONTAINS(virGetLastErrorMessage(), "is not a regular file");
    CHECK(stat(victim, &st) == 0 && st.st_size == 0);
    ls_free(b);
    /* Something other than a regular file at a lease path is refused too. */
    CHECK(unlink(lease) == 0 && mkfifo(lease, 0600) == 0);
    b = ls_new("vmB", 0xb2);
    CHECK(ls_add_disk(b, d3, 0) == 0);
    CHECK(drv->drvAcquire(b, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_CONFIG_UNSUPPORTED, "not a regular file");
    ls_free(b);

    /* Threads: independent guests work concurrently; on one disk exactly one wins. */
    /* (ls_path's buffers are not for threads: the paths are copied first.) */
    snprintf(common_disk, sizeof(common_disk), "%s", ls_disk_file("common.img"));
    for (int i = 0; i < 4; i++) {
        char file[32];
        snprintf(file, sizeof(file), "thread-%d.img", i);
        snprintf(thread_disks[i], sizeof(thread_disks[i]), "%s", ls_disk_file(file));
    }
    pthread_t th[4];
    CHECK(pthread_barrier_init(&barrier, NULL, 4) == 0);
    for (long i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, thread_main, (void *)i) == 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        CHECK(pthread_join(th[i], &rc) == 0);
        CHECK(rc == NULL);
    }
    CHECK(common_wins == 1);
    CHECK(lease_fds(fds, 16) == 0);

    CHECK(drv->drvDeinit() == 0);
    TEST_DONE();
}
