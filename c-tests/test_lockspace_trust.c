/* test_lockspace_trust.c: issue 16's attacks on the lockspace directory and its lease
 * files, each made by a real other user (uid 65534 through setpriv), each asserting
 * that the second writer is refused or that the attack has no effect:
 *  - a parent of lockspace_dir handed to another user after the check, who renames the
 *    directory away and puts a fresh 0777 one (or a symlink to another root directory)
 *    in its place: a guest start (and REGISTER_ONLY, and the daemon's inquire) after
 *    the swap is refused, while the first guest holds the disk;
 *  - lockspace_dir in a sticky directory, pre-created as a symlink by that user;
 *  - a hard link, FIFO, symlink or another user's file planted as a lease file: refused
 *    unopened, naming the disk, the hard link's target untouched;
 *  - a lease file whose header another process damaged: an exclusive acquire recovers;
 *  - and, not an attack: a guest's child whose descriptors libvirt closed still checks.
 * Needs root (to be root and nobody); skipped otherwise. */
#include "test_lockspace_util.h"

static char cmdbuf[3 * PATH_MAX];

/* Runs a shell command as uid/gid 65534 with no groups: the other local user. */
static void as_nobody(const char *fmt, ...)
{
    char inner[2 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inner, sizeof(inner), fmt, ap);
    va_end(ap);
    snprintf(cmdbuf, sizeof(cmdbuf),
             "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \"%s\"", inner);
    int st = system(cmdbuf);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "as nobody failed: %s\n", cmdbuf);
        exit(1);
    }
    testutil_checks++;
}

static void sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmdbuf, sizeof(cmdbuf), fmt, ap);
    va_end(ap);
    CHECK(system(cmdbuf) == 0);
}

/* The config file of the test tree, naming `dir`. */
static void use_dir(const char *dir)
{
    char text[PATH_MAX + 64];
    snprintf(text, sizeof(text), "lockspace_dir = \"%s\"\n", dir);
    ls_write_file(ls_conf, text);
}

/* The lease file of disk `canon` in `dir`. */
static void lease_of(const char *dir, const char *canon, char *out, size_t len)
{
    char cmd[PATH_MAX + 64], hex[80] = "";
    snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | sha256sum", canon);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    CHECK(fscanf(p, "%64s", hex) == 1);
    pclose(p);
    CHECK(snprintf(out, len, "%s/%s", dir, hex) < (int)len);
}

/* A guest (agent) holding `disk` exclusively. */
static ls_agent *holder(const char *name, int uuid, const char *disk)
{
    ls_agent *a = ls_agent_start();
    AGENT_OK(a, "new %s %d", name, uuid);
    AGENT_OK(a, "disk %s 0", disk);
    AGENT_OK(a, "acquire 0");
    return a;
}

/* After the swap of a parent: every use refuses, and nothing lands in the new directory. */
static void swapped_parent(int symlink_variant)
{
    const char *parent = ls_path(symlink_variant ? "s1b" : "s1");
    char locks[PATH_MAX], other[PATH_MAX];
    snprintf(locks, sizeof(locks), "%s/locks", parent);
    snprintf(other, sizeof(other), "%s-otherroot", parent);
    CHECK(mkdir(parent, 0755) == 0 && mkdir(locks, 0755) == 0 && mkdir(other, 0755) == 0);
    use_dir(locks);
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == 0);
    const char *disk = ls_disk_file(symlink_variant ? "d1b.img" : "d1.img");
    ls_agent *a = holder("vmA", 0xa1, disk);

    /* The operator's mistake: the parent is handed to another user. */
    CHECK(chown(parent, 65534, 65534) == 0);
    if (symlink_variant)
        as_nobody("mv '%s' '%s/old' && ln -s '%s' '%s'", locks, parent, other, locks);
    else
        as_nobody("mv '%s' '%s/old' && mkdir '%s' && chmod 0777 '%s'", locks, parent, locks,
                  locks);

    /* The second writer, as a guest start, a REGISTER_ONLY start, and the daemon. */
    ls_agent *b = ls_agent_start();
    AGENT_OK(b, "new vmB 178");
    AGENT_OK(b, "disk %s 0", disk);
    const char *msg = AGENT_ERR(b, LS_ERR_CONFIG_UNSUPPORTED, "acquire 0");
    CHECK_CONTAINS(msg, "is not safe");
    CHECK_CONTAINS(msg, "owned by uid 65534");
    msg = AGENT_ERR(b, LS_ERR_CONFIG_UNSUPPORTED, "acquire %u", LS_REGISTER_ONLY);
    CHECK_CONTAINS(msg, "owned by uid 65534");
    ls_agent *d = ls_agent_start();
    AGENT_OK(d, "newpid vmA 161 %d", (int)a->pid);
    AGENT_OK(d, "disk %s 0", disk);
    AGENT_ERR(d, LS_ERR_CONFIG_UNSUPPORTED, "inquire");
    /* Nothing was created where the other user pointed. */
    snprintf(cmdbuf, sizeof(cmdbuf), "test -z \"$(ls -A '%s')\"", symlink_variant ? other : locks);
    CHECK(system(cmdbuf) == 0);
    /* A process checking afresh refuses too. */
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(drv->drvInit(LS_VERSION, ls_conf, 0) == -1 ? 0 : 1);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ls_agent_stop(d, 0);
    ls_agent_stop(b, 0);
    ls_agent_stop(a, 0);
    CHECK(drv->drvDeinit() == 0);
}

/* lockspace_dir in a sticky, world-writable directory (as /tmp, made here so nothing on
 * the machine changes), pre-created by the other user as a symlink to a root-owned
 * directory (which the directory's own owner and mode check would accept). With
 * fs.protected_symlinks=1 the kernel refuses root to follow it anyway; the driver
 * refuses it by its owner, whatever that setting, and says so. An entry of root's own
 * in the same sticky directory is fine. */
static void sticky_symlink(void)
{
    const char *sticky = ls_path("sticky");
    const char *target = ls_path("sticky-target");
    char ls[PATH_MAX], mine[PATH_MAX];
    CHECK(mkdir(sticky, 0755) == 0 && chmod(sticky, 01777) == 0 && mkdir(target, 0755) == 0);
    snprintf(ls, sizeof(ls), "%s/ls", sticky);
    as_nobody("ln -s '%s' '%s'", target, ls);
    use_dir(ls);
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == -1);
    CHECK_ERROR(LS_ERR_CONFIG_UNSUPPORTED, "owned by uid 65534");
    CHECK_CONTAINS(virGetLastErrorMessage(), ls);
    /* The other user's own directory there: refused the same way. */
    snprintf(mine, sizeof(mine), "%s/theirs", sticky);
    as_nobody("mkdir -m 0755 '%s'", mine);
    use_dir(mine);
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == -1);
    CHECK_ERROR(LS_ERR_CONFIG_UNSUPPORTED, "owned by uid 65534");
    snprintf(mine, sizeof(mine), "%s/mine", sticky);
    use_dir(mine);
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == 0);
    CHECK(drv->drvDeinit() == 0);
}

/* One planted entry at a disk's lease-file name: refused, naming the disk and the file. */
static void planted(const char *what, const char *plant, const char *needle)
{
    char canon[PATH_MAX], lease[PATH_MAX];
    const char *disk = ls_disk_file("planted.img");
    CHECK(realpath(disk, canon) != NULL);
    lease_of(ls_leases, canon, lease, sizeof(lease));
    /* Planted while the directory was open to everyone (or by root for a hard link:
     * protected_hardlinks keeps nobody from linking root's file). */
    CHECK(chmod(ls_leases, 0777) == 0);
    if (strcmp(what, "hardlink") == 0)
        sh(plant, lease);
    else
        as_nobody(plant, lease);
    CHECK(chmod(ls_leases, 0755) == 0);
    ls_manager *m = ls_new("vmP", 0x50);
    CHECK(ls_add_disk(m, disk, 0) == 0);
    CHECK(drv->drvAcquire(m, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(virGetLastErrorCode(), needle);
    CHECK_CONTAINS(virGetLastErrorMessage(), canon);
    CHECK_CONTAINS(virGetLastErrorMessage(), lease);
    /* Removed (what virtcore-lock gc does), the disk locks again. */
    CHECK(unlink(lease) == 0);
    CHECK(drv->drvAcquire(m, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(m, NULL, 0) == 0);
    ls_free(m);
    CHECK(unlink(lease) == 0);
}

static void planted_lease_files(void)
{
    use_dir(ls_leases);
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == 0);
    const char *victim = ls_path("victim");
    ls_write_file(victim, "precious data, not a lease file");
    CHECK(chmod(victim, 0600) == 0);
    char plant[PATH_MAX + 64];
    snprintf(plant, sizeof(plant), "ln '%s' '%%s'", victim);
    planted("hardlink", plant, "2 links");
    char text[64];
    FILE *f = fopen(victim, "r");
    CHECK(f != NULL && fgets(text, sizeof(text), f) != NULL);
    fclose(f);
    CHECK(strcmp(text, "precious data, not a lease file") == 0);
    planted("fifo", "mkfifo -m 0600 '%s'", "not a regular file");
    snprintf(plant, sizeof(plant), "ln -s '%s' '%%s'", victim);
    planted("symlink", plant, "not a regular file");
    planted("foreign", "umask 077 && touch '%s'", "owned by uid 65534");
    CHECK(drv->drvDeinit() == 0);
}

/* Garbage in a lease file's header (a process that had it open): the next exclusive
 * acquire rewrites it; a shared one says how to recover, naming the disk. */
static void damaged_header(void)
{
    char canon[PATH_MAX], lease[PATH_MAX];
    use_dir(ls_leases);
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == 0);
    const char *disk = ls_disk_file("damaged.img");
    CHECK(realpath(disk, canon) != NULL);
    lease_of(ls_leases, canon, lease, sizeof(lease));
    ls_manager *m = ls_new("vmD", 0xd0);
    CHECK(ls_add_disk(m, disk, 0) == 0);
    CHECK(drv->drvAcquire(m, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(m, NULL, 0) == 0);
    ls_free(m);
    int fd = open(lease, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, "GARBAGE!GARBAGE!", 16, 0) == 16);
    close(fd);
    m = ls_new("vmS", 0xd1);
    CHECK(ls_add_disk(m, disk, LS_SHARED) == 0);
    CHECK(drv->drvAcquire(m, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_INTERNAL, "no valid header");
    CHECK_CONTAINS(virGetLastErrorMessage(), canon);
    CHECK_CONTAINS(virGetLastErrorMessage(), "virtcore-lock gc");
    ls_free(m);
    m = ls_new("vmD", 0xd0);
    CHECK(ls_add_disk(m, disk, 0) == 0);
    CHECK(drv->drvAcquire(m, NULL, 0, 0, NULL) == 0);
    char *state = NULL;
    CHECK(drv->drvRelease(m, &state, 0) == 0);
    CHECK(state != NULL && strstr(state, "d:x:1:") != NULL); /* generation 1: rewritten */
    free(state);
    ls_free(m);
    CHECK(drv->drvDeinit() == 0);
}

/* libvirt's guest child closes every descriptor it does not keep before the lock hook
 * runs (REGISTER_ONLY, then exec): the held directory is gone there, its number maybe
 * another file's. The child walks the path again and never closes that other file. */
static void closed_in_child(void)
{
    use_dir(ls_leases);
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == 0);
    const char *disk = ls_disk_file("child.img");
    ls_manager *m = ls_new("vmC", 0xc0);
    CHECK(ls_add_disk(m, disk, 0) == 0);
    CHECK(drv->drvAcquire(m, NULL, 0, 0, NULL) == 0); /* the directory is held open now */
    CHECK(drv->drvRelease(m, NULL, 0) == 0);
    ls_free(m);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        int other = open("/dev/null", O_RDONLY); /* takes the lowest number */
        ls_manager *g = ls_new("vmC", 0xc0);
        if (!g || ls_add_disk(g, disk, 0) != 0 ||
            drv->drvAcquire(g, NULL, LS_REGISTER_ONLY, 0, NULL) != 0) {
            fprintf(stderr, "child: %s\n", virGetLastErrorMessage());
            _exit(1);
        }
        _exit(fcntl(other, F_GETFD) >= 0 ? 0 : 2);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(drv->drvDeinit() == 0);
}

/* With an argument, that case only (to see each attack fail on an older driver). */
int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
#define CASE(name, call)                                  \
    if (!only || strcmp(only, name) == 0)                 \
        call;
    if (geteuid() != 0 || system("command -v setpriv >/dev/null") != 0)
        SKIP("needs root and setpriv (attacks are made as uid 65534)");
    ls_load();
    CASE("rename", swapped_parent(0));
    CASE("symlink-swap", swapped_parent(1));
    CASE("sticky", sticky_symlink());
    CASE("planted", planted_lease_files());
    CASE("damaged", damaged_header());
    CASE("closed", closed_in_child());
    TEST_DONE();
}
