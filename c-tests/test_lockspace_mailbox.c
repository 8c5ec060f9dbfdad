/* test_lockspace_mailbox.c: another local user cannot be taken for a guest, nor keep
 * a guest from starting (issue 16, items 2, 3 and their tests in item 7). Root runs the
 * guests and the daemon (agents); the other user is lockspace_squatter, run through
 * `setpriv --reuid=65534 --regid=65534 --clear-groups`, which does all it can to look
 * like the guest's mailbox (see lockspace_squatter.c).
 *  1. pid reuse: a guest registers and dies; the other user's process gets its pid
 *     (clone3 with set_tid, then setpriv) and claims its mailbox. The daemon's resume and
 *     hot-plug fail with "process N is not domain 'vm1' as registered" and nothing (no
 *     descriptor) reaches that process; the disks stay free for everyone else.
 *  2. names claimed in advance: the other user binds the name a guest's mailbox would
 *     have had before the guest starts; the guest still starts (registers), and the
 *     daemon resumes it and hot-plugs a disk into it. The guest's mailbox has no name.
 * Needs root (set_tid, setpriv); skipped otherwise. */
#include "test_lockspace_util.h"
#include <sched.h>
#include <sys/socket.h>

typedef struct {
    pid_t pid;
    FILE *to, *from;
} squatter;

static char squatter_path[PATH_MAX];

/* The guest's UUID byte: no other test's, so that names in /proc/net/unix are ours. */
#define GUEST_UUID 0xa7u

/* Copies lockspace_squatter (next to this program) into the test's tree, which every
 * user can read: the checkout may be in a directory the other user cannot enter. */
static void copy_squatter(void)
{
    char self[PATH_MAX], src[PATH_MAX + 32], cmd[4 * PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK(n > 0);
    self[n] = 0;
    *strrchr(self, '/') = 0;
    snprintf(src, sizeof(src), "%s/lockspace_squatter", self);
    snprintf(squatter_path, sizeof(squatter_path), "%s/squatter", ls_root);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0755 '%s'", src, squatter_path,
             squatter_path);
    CHECK(system(cmd) == 0);
}

/* Starts the squatter for guest UUID byte `u` at `pid` (claiming `pid`'s names); with
 * `as` > 0, in a process whose pid is `as` (clone3 set_tid). Returns 0, or -1 when that
 * pid cannot be had. `*bound`: whether the abstract name was free. */
static int squatter_start(squatter *s, unsigned char u, pid_t pid, pid_t as, int *bound)
{
    int down[2], up[2];
    CHECK(pipe2(down, O_CLOEXEC) == 0 && pipe2(up, O_CLOEXEC) == 0);
    fflush(NULL);
    if (as > 0) {
        pid_t tid = as;
        struct ls_clone_args ca = {.exit_signal = SIGCHLD,
                                   .set_tid = (unsigned long long)(uintptr_t)&tid,
                                   .set_tid_size = 1};
        s->pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    } else {
        s->pid = fork();
    }
    if (s->pid < 0) {
        close(down[0]), close(down[1]), close(up[0]), close(up[1]);
        return -1;
    }
    if (s->pid == 0) {
        dup2(down[0], 0);
        dup2(up[1], 1);
        syscall(SYS_close_range, 3, ~0U, 0);
        char pidtext[16];
        snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
        execlp("setpriv", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
               squatter_path, ls_uuid_text(u), pidtext, ls_leases, (char *)NULL);
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    s->to = fdopen(down[1], "w");
    s->from = fdopen(up[0], "r");
    CHECK(s->to && s->from);
    setvbuf(s->to, NULL, _IONBF, 0);
    char line[64] = "";
    CHECK(fgets(line, sizeof(line), s->from) != NULL);
    CHECK(sscanf(line, "ready %d", bound) == 1);
    /* Really the other user, with no group of root's. */
    char path[64], text[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t k = fread(text, 1, sizeof(text) - 1, f);
    text[k] = 0;
    fclose(f);
    CHECK_CONTAINS(text, "Uid:\t65534\t65534\t65534\t65534");
    CHECK_CONTAINS(text, "Gid:\t65534\t65534\t65534\t65534");
    CHECK(strstr(text, "Groups:\t \n") != NULL || strstr(text, "Groups:\t\n") != NULL);
    return 0;
}

/* How many lease files the squatter holds (open, or in flight in its sockets). */
static int squatter_count(squatter *s)
{
    char line[64] = "";
    CHECK(fputs("count\n", s->to) >= 0);
    CHECK(fgets(line, sizeof(line), s->from) != NULL);
    int n = -1;
    CHECK(sscanf(line, "got %d", &n) == 1);
    return n;
}

static void squatter_stop(squatter *s)
{
    int status;
    fputs("quit\n", s->to);
    fclose(s->to);
    fclose(s->from);
    CHECK(waitpid(s->pid, &status, 0) == s->pid);
}

/* A guest started paused (as qemuProcessHook): registers `disk`, execs sleep. */
static void register_and_exec(ls_agent *g, const char *disk)
{
    AGENT_OK(g, "new vm1 %u", GUEST_UUID);
    AGENT_OK(g, "disk %s 0", disk);
    AGENT_OK(g, "acquire %u", LS_REGISTER_ONLY | LS_RESTRICT);
    AGENT_OK(g, "exec");
    wait_exec(g->pid);
}

/* The daemon resumes guest vm1 in process `pid` with `disk` (0 or -1, reply in d). */
static const char *resume(ls_agent *d, pid_t pid, const char *disk)
{
    AGENT_OK(d, "newpid vm1 %u %d", GUEST_UUID, (int)pid);
    AGENT_OK(d, "disk %s 0", disk);
    return ls_agent_cmd(d, "acquire 0");
}

/* Lines of /proc/net/unix that name guest `u` (any abstract or path name with its UUID). */
static int names_of(unsigned char u)
{
    FILE *f = fopen("/proc/net/unix", "r");
    CHECK(f != NULL);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, ls_uuid_text(u)) != NULL;
    fclose(f);
    return n;
}

/* A pid no process has now (one just used and reaped). */
static pid_t free_pid(void)
{
    pid_t p = fork();
    CHECK(p >= 0);
    if (p == 0)
        _exit(0);
    CHECK(waitpid(p, NULL, 0) == p);
    return p;
}

int main(void)
{
    if (getuid() != 0)
        SKIP("needs root (clone3 set_tid, setpriv)");
    /* A network namespace of its own where possible: abstract names and /proc/net/unix
     * are per network namespace, so other programs on the machine cannot disturb it. */
    if (unshare(CLONE_NEWNET) != 0)
        printf("# no private network namespace: %s\n", strerror(errno));
    ls_setup();
    copy_squatter();
    char *disk = strdup(ls_disk_file("d1.img"));
    char *plug = strdup(ls_disk_file("d2.img"));
    CHECK(disk && plug);
    ls_agent *t = ls_agent_start(); /* another guest, to see who holds what */
    ls_agent *d = ls_agent_start(); /* the daemon */

    /* 1. The guest registers; the daemon resumes it and hot-plugs a disk into it. */
    ls_agent *g = ls_agent_start();
    register_and_exec(g, disk);
    pid_t pid = g->pid;
    CHECK(strncmp(resume(d, pid, disk), "ok", 2) == 0);
    AGENT_OK(d, "release");
    AGENT_OK(d, "free");
    CHECK(strncmp(resume(d, pid, plug), "ok", 2) == 0);
    AGENT_OK(t, "new other 51");
    AGENT_OK(t, "disk %s 0", plug);
    AGENT_ERR(t, LS_ERR_RESOURCE_BUSY, "acquire 0");
    AGENT_OK(d, "release");
    AGENT_OK(d, "free");

    /* The guest dies; the other user's process gets its pid and claims its mailbox. */
    ls_agent_stop(g, SIGKILL);
    squatter s;
    int bound = 0;
    if (squatter_start(&s, GUEST_UUID, pid, pid, &bound) < 0) {
        ls_agent_stop(d, 0);
        ls_agent_stop(t, 0);
        SKIP("cannot start a process with a given pid here (clone3 set_tid)");
    }
    CHECK(s.pid == pid && bound == 1);
    char want[128];
    snprintf(want, sizeof(want), "process %d is not domain 'vm1' as registered", (int)pid);
    /* Resume (a registered disk) and hot-plug (a disk the guest never opened): refused,
     * nothing handed over, both disks free for anyone. */
    for (int i = 0; i < 2; i++) {
        const char *r = resume(d, pid, i ? plug : disk);
        CHECK(strncmp(r, "err 55 ", 7) == 0);
        CHECK_CONTAINS(r, want);
        CHECK(strcmp(AGENT_OK(d, "release"), "") == 0);
        AGENT_OK(d, "free");
        CHECK(squatter_count(&s) == 0);
    }
    AGENT_OK(t, "acquire 0");
    AGENT_OK(t, "release");
    AGENT_OK(t, "free");
    AGENT_OK(t, "new other 51");
    AGENT_OK(t, "disk %s 0", disk);
    AGENT_OK(t, "acquire 0");
    AGENT_OK(t, "release");
    squatter_stop(&s);

    /* 2. Names claimed in advance: the other user binds the name the mailbox of guest
     * vm1 in process `next` would have had; the guest then starts as `next`. */
    pid_t next = free_pid();
    CHECK(squatter_start(&s, GUEST_UUID, next, 0, &bound) == 0);
    CHECK(bound == 1 && names_of(GUEST_UUID) == 1);
    g = ls_agent_start_as(next);
    CHECK(g != NULL && g->pid == next);
    register_and_exec(g, disk);
    CHECK(names_of(GUEST_UUID) == 1); /* only the squatter's: the mailbox has no name */
    CHECK(strncmp(resume(d, next, disk), "ok", 2) == 0);
    AGENT_OK(d, "free");
    CHECK(strncmp(resume(d, next, plug), "ok", 2) == 0);
    AGENT_OK(d, "free");
    AGENT_OK(t, "free");
    AGENT_OK(t, "new other 51");
    AGENT_OK(t, "disk %s 0", plug);
    AGENT_ERR(t, LS_ERR_RESOURCE_BUSY, "acquire 0"); /* the guest holds both */
    CHECK(squatter_count(&s) == 0);
    squatter_stop(&s);
    ls_agent_stop(g, SIGKILL);
    AGENT_OK(t, "acquire 0"); /* the guest's exit freed them */
    AGENT_OK(t, "release");

    ls_agent_stop(d, 0);
    ls_agent_stop(t, 0);
    free(disk);
    free(plug);
    TEST_DONE();
}
