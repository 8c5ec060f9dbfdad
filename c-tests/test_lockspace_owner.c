/* test_lockspace_owner.c: a guest's locks live in the guest's own process, whichever
 * process asks for them (issue 8 item 1). Plays libvirt's real sequence with real
 * processes: the "guest" registers (REGISTER_ONLY|RESTRICT, as qemuProcessHook does in
 * the forked child) and execs sleep; a "daemon" (another process, drvNew pid = the
 * guest's) resumes/acquires, pauses/releases, hot-plugs/unplugs, is killed and replaced;
 * a third process is refused, naming the guest's pid, until the guest dies. */
#include "test_lockspace_util.h"

static char *dup_reply(const char *s)
{
    char *d = strdup(s);
    CHECK(d != NULL);
    return d;
}

/* A guest started paused: registers its disks and execs. */
static ls_agent *start_guest(const char *name, int uuid_byte, const char *const *disks,
                             const unsigned *flags, int n)
{
    ls_agent *g = ls_agent_start();
    AGENT_OK(g, "new %s %d", name, uuid_byte);
    for (int i = 0; i < n; i++)
        AGENT_OK(g, "disk %s %u", disks[i], flags[i]);
    AGENT_OK(g, "acquire %u", LS_REGISTER_ONLY | LS_RESTRICT);
    AGENT_OK(g, "exec");
    wait_exec(g->pid);
    return g;
}

/* A daemon's manager for guest `name` in process `pid`, with `disks`. */
static void daemon_manager(ls_agent *d, const char *name, int uuid_byte, pid_t pid,
                           const char *const *disks, const unsigned *flags, int n)
{
    AGENT_OK(d, "newpid %s %d %d", name, uuid_byte, (int)pid);
    for (int i = 0; i < n; i++)
        AGENT_OK(d, "disk %s %u", disks[i], flags[i]);
}

/* `t` (a third process, manager set up) is refused, naming guest `name` as `pid`. */
static void refused_by(ls_agent *t, const char *name, pid_t pid)
{
    char want[128];
    const char *msg = AGENT_ERR(t, LS_ERR_RESOURCE_BUSY, "acquire 0");
    snprintf(want, sizeof(want), "guest '%s'", name);
    CHECK_CONTAINS(msg, want);
    snprintf(want, sizeof(want), "pid %d,", (int)pid);
    CHECK_CONTAINS(msg, want);
}

int main(void)
{
    ls_setup();
    char *d1 = dup_reply(ls_disk_file("d1.img")), *d2 = dup_reply(ls_disk_file("d2.img"));
    char *d3 = dup_reply(ls_disk_file("d3.img")), *d4 = dup_reply(ls_disk_file("d4.img"));
    const char *boot[] = {d1, d2};
    const unsigned bootf[] = {0, LS_SHARED};
    const char *msg;

    ls_agent *g = start_guest("vm1", 0x11, boot, bootf, 2);
    ls_agent *t1 = ls_agent_start(), *t3 = ls_agent_start(), *t4 = ls_agent_start();
    AGENT_OK(t1, "new other 51");
    AGENT_OK(t1, "disk %s 0", d1);
    AGENT_OK(t3, "new other3 53");
    AGENT_OK(t3, "disk %s 0", d3);
    AGENT_OK(t4, "new other4 54");
    AGENT_OK(t4, "disk %s 0", d4);
    /* Registered, paused: nothing locked yet. */
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");

    /* Resume from the daemon: the lock is taken in the guest's process. */
    ls_agent *d = ls_agent_start();
    daemon_manager(d, "vm1", 0x11, g->pid, boot, bootf, 2);
    /* Registration is the guest's own business. */
    msg = AGENT_ERR(d, LS_ERR_OPERATION_INVALID, "acquire %u", LS_REGISTER_ONLY);
    CHECK_CONTAINS(msg, "own process");
    AGENT_OK(d, "acquire 0");
    AGENT_OK(d, "acquire 0"); /* again: already held, nothing changes */
    refused_by(t1, "vm1", g->pid);
    CHECK_CONTAINS(AGENT_OK(d, "inquire"), "d:x:");

    /* Pause: released from the daemon, the disk is free; the old state goes stale once
     * someone else took the disk; resume takes it again. */
    char *paused = dup_reply(AGENT_OK(d, "release"));
    CHECK_CONTAINS(paused, "lockspace/1;");
    CHECK_CONTAINS(paused, "d1.img");
    CHECK_CONTAINS(paused, "d:s:");
    CHECK(strcmp(AGENT_OK(d, "release"), "") == 0); /* nothing left to release */
    AGENT_OK(t1, "acquire 0");
    msg = AGENT_ERR(d, LS_ERR_RESOURCE_BUSY, "acquire 0");
    CHECK_CONTAINS(msg, "guest 'other'");
    AGENT_OK(t1, "release");
    msg = AGENT_ERR(d, LS_ERR_OPERATION_INVALID, "acquire 0 %s", paused);
    CHECK_CONTAINS(msg, "stale");
    AGENT_OK(t1, "acquire 0"); /* the stale resume changed nothing */
    AGENT_OK(t1, "release");
    char *fresh = dup_reply(AGENT_OK(d, "acquire 0"));
    (void)fresh;
    char *again = dup_reply(AGENT_OK(d, "release"));
    AGENT_OK(d, "acquire 0 %s", again); /* a state of no one since: accepted */
    refused_by(t1, "vm1", g->pid);

    /* Hot-plug d3: locked by the daemon, handed to the guest. */
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm1 17 %d", (int)g->pid);
    AGENT_OK(d, "disk %s 0", d3);
    AGENT_OK(d, "acquire 0");
    refused_by(t3, "vm1", g->pid);

    /* The daemon dies (SIGKILL): the guest keeps every lock. */
    ls_agent_stop(d, SIGKILL);
    refused_by(t1, "vm1", g->pid);
    refused_by(t3, "vm1", g->pid);

    /* A new daemon hot-plugs d4, then unplugs d3: d4 stays, d3 is free. */
    d = ls_agent_start();
    AGENT_OK(d, "newpid vm1 17 %d", (int)g->pid);
    AGENT_OK(d, "disk %s 0", d4);
    AGENT_OK(d, "acquire 0");
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm1 17 %d", (int)g->pid);
    AGENT_OK(d, "disk %s 0", d3);
    CHECK_CONTAINS(AGENT_OK(d, "inquire"), "d3.img");
    CHECK_CONTAINS(AGENT_OK(d, "release"), "d3.img");
    AGENT_OK(t3, "acquire 0");
    AGENT_OK(t3, "release");
    refused_by(t4, "vm1", g->pid);
    /* Plugged back in (moved back after another guest used it). */
    AGENT_OK(d, "acquire 0");
    refused_by(t3, "vm1", g->pid);

    /* SIGTERM too, then pause and resume through a third daemon. */
    ls_agent_stop(d, SIGTERM);
    refused_by(t1, "vm1", g->pid);
    refused_by(t3, "vm1", g->pid);
    refused_by(t4, "vm1", g->pid);
    d = ls_agent_start();
    daemon_manager(d, "vm1", 0x11, g->pid, boot, bootf, 2);
    AGENT_OK(d, "release");
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");
    refused_by(t3, "vm1", g->pid); /* a pause of the boot disks leaves the plugged ones */
    AGENT_OK(d, "acquire 0");
    refused_by(t1, "vm1", g->pid);

    /* The guest exits (SIGKILL): every disk is free, boot and hot-plugged alike. */
    pid_t dead = g->pid;
    ls_agent_stop(g, SIGKILL);
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t3, "acquire 0");
    AGENT_OK(t4, "acquire 0");
    AGENT_OK(t1, "release");
    AGENT_OK(t3, "release");
    AGENT_OK(t4, "release");

    /* The guest's pid is gone: acquire says so; release has nothing to do. */
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm1 17 %d", (int)dead);
    AGENT_OK(d, "disk %s 0", d1);
    msg = AGENT_ERR(d, LS_ERR_OPERATION_INVALID, "acquire 0");
    CHECK_CONTAINS(msg, "does not exist");
    CHECK_CONTAINS(msg, "domain 'vm1'");
    CHECK(strcmp(AGENT_OK(d, "release"), "") == 0);

    /* An unrelated process (never registered): refused, and nothing is locked. */
    ls_agent *u = ls_agent_start();
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm1 17 %d", (int)u->pid);
    AGENT_OK(d, "disk %s 0", d1);
    msg = AGENT_ERR(d, LS_ERR_OPERATION_INVALID, "acquire 0");
    CHECK_CONTAINS(msg, "is not domain 'vm1'");
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");

    /* A registered guest, but another one (pid of vm2 given for vm1): refused. */
    ls_agent *g2 = start_guest("vm2", 0x22, boot, bootf, 1);
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm1 17 %d", (int)g2->pid);
    AGENT_OK(d, "disk %s 0", d1);
    msg = AGENT_ERR(d, LS_ERR_OPERATION_INVALID, "acquire 0");
    CHECK_CONTAINS(msg, "is not domain 'vm1'");
    /* ... while vm2's own daemon manager works, and its lock names vm2's pid. */
    AGENT_OK(d, "free");
    daemon_manager(d, "vm2", 0x22, g2->pid, boot, bootf, 1);
    AGENT_OK(d, "acquire 0");
    refused_by(t1, "vm2", g2->pid);
    ls_agent_stop(g2, SIGKILL);
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");

    /* No ptrace permission over the guest (a daemon that is not root): says so. The
     * lease files are given to it (a lease file must be 0600 and owned by a trusted
     * user) so that only the permission to the guest is missing; given back after. */
    ls_agent *g4 = start_guest("vm4", 0x44, boot, bootf, 1);
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "chown 65534 '%s'/*", ls_leases);
    CHECK(system(cmd) == 0);
    ls_agent *nobody = ls_agent_start();
    AGENT_OK(nobody, "setuid 65534");
    daemon_manager(nobody, "vm4", 0x44, g4->pid, boot, bootf, 1);
    msg = AGENT_ERR(nobody, LS_ERR_OPERATION_DENIED, "acquire 0");
    CHECK_CONTAINS(msg, "ptrace");
    CHECK_CONTAINS(msg, "domain 'vm4'");
    ls_agent_stop(nobody, 0);
    snprintf(cmd, sizeof(cmd), "chown 0 '%s'/*", ls_leases);
    CHECK(system(cmd) == 0);
    /* A kernel without pidfd_getfd (seccomp makes it fail with ENOSYS): says so. */
    ls_agent *old = ls_agent_start();
    AGENT_OK(old, "nopidfd");
    daemon_manager(old, "vm4", 0x44, g4->pid, boot, bootf, 1);
    msg = AGENT_ERR(old, LS_ERR_OPERATION_UNSUPPORTED, "acquire 0");
    CHECK_CONTAINS(msg, "pidfd_getfd");
    CHECK_CONTAINS(msg, "5.6");
    ls_agent_stop(old, 0);
    /* Neither error took anything. */
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");
    ls_agent_stop(g4, SIGKILL);

    /* A guest started running (RESTRICT alone: it took its lock itself, slot 0 of an
     * exclusive holder), paused and resumed by the daemon. */
    ls_agent *g3 = ls_agent_start();
    AGENT_OK(g3, "new vm3 55");
    AGENT_OK(g3, "disk %s 0", d1);
    AGENT_OK(g3, "acquire %u", LS_RESTRICT);
    AGENT_OK(g3, "exec");
    wait_exec(g3->pid);
    refused_by(t1, "vm3", g3->pid);
    AGENT_OK(d, "free");
    daemon_manager(d, "vm3", 55, g3->pid, boot, bootf, 1);
    CHECK_CONTAINS(AGENT_OK(d, "release"), "d:x:");
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");
    AGENT_OK(d, "acquire 0");
    refused_by(t1, "vm3", g3->pid);
    ls_agent_stop(g3, SIGKILL);
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");
    /* The daemon's manager that reached vm3 before (it keeps the process's pidfd and
     * its look at the lease files between calls) sees it gone: nothing to release, and
     * an acquire is refused (nothing is taken for a dead guest). */
    CHECK(strcmp(AGENT_OK(d, "release"), "") == 0);
    msg = AGENT_ERR(d, LS_ERR_OPERATION_INVALID, "acquire 0");
    CHECK_CONTAINS(msg, "domain 'vm3'");
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");

    /* Leases: one in a user's file registered at start, resumed from the daemon; one in
     * the lockspace directory and one more in the user's file, attached later. */
    char *lf = dup_reply(ls_disk_file("leases.bin"));
    ls_agent *g5 = ls_agent_start();
    AGENT_OK(g5, "new vm5 85");
    AGENT_OK(g5, "lease k1 - %s 0 0", lf);
    AGENT_OK(g5, "acquire %u", LS_REGISTER_ONLY | LS_RESTRICT);
    AGENT_OK(g5, "exec");
    wait_exec(g5->pid);
    ls_agent *t5 = ls_agent_start();
    AGENT_OK(t5, "new other5 86");
    AGENT_OK(t5, "lease k1 - %s 0 0", lf);
    AGENT_OK(t5, "lease k2 space - 0 0");
    AGENT_OK(t5, "lease k3 - %s 4096 0", lf);
    AGENT_OK(t5, "acquire 0"); /* registered only: free */
    AGENT_OK(t5, "release");
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm5 85 %d", (int)g5->pid);
    AGENT_OK(d, "lease k1 - %s 0 0", lf);
    AGENT_OK(d, "acquire 0");
    refused_by(t5, "vm5", g5->pid);
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm5 85 %d", (int)g5->pid);
    AGENT_OK(d, "lease k2 space - 0 0");
    AGENT_OK(d, "lease k3 - %s 4096 0", lf);
    AGENT_OK(d, "acquire 0");
    ls_agent_stop(d, SIGKILL);
    d = ls_agent_start();
    AGENT_OK(d, "newpid vm5 85 %d", (int)g5->pid);
    AGENT_OK(d, "lease k1 - %s 0 0", lf);
    CHECK_CONTAINS(AGENT_OK(d, "release"), "k1");
    AGENT_OK(t5, "free");
    AGENT_OK(t5, "new other5 86");
    AGENT_OK(t5, "lease k1 - %s 0 0", lf);
    AGENT_OK(t5, "acquire 0");
    AGENT_OK(t5, "release");
    AGENT_OK(t5, "lease k2 space - 0 0");
    refused_by(t5, "vm5", g5->pid); /* k2 and k3 are still the guest's */
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm5 85 %d", (int)g5->pid);
    AGENT_OK(d, "lease k2 space - 0 0");
    AGENT_OK(d, "lease k3 - %s 4096 0", lf);
    msg = AGENT_OK(d, "release");
    CHECK_CONTAINS(msg, "k2");
    CHECK_CONTAINS(msg, "k3");
    AGENT_OK(t5, "lease k3 - %s 4096 0", lf);
    AGENT_OK(t5, "acquire 0");
    AGENT_OK(t5, "release");
    ls_agent_stop(g5, SIGKILL);
    ls_agent_stop(t5, 0);
    free(lf);

    /* Many disks attached one by one (more than a default socket buffer holds in
     * flight), one detached from the middle: the others stay. */
    ls_agent *g6 = start_guest("vm6", 0x66, boot, bootf, 0);
    enum { NPLUG = 320 };
    for (int i = 0; i < NPLUG; i++) {
        char nm[32];
        snprintf(nm, sizeof(nm), "plug%d.img", i);
        AGENT_OK(d, "free");
        AGENT_OK(d, "newpid vm6 102 %d", (int)g6->pid);
        AGENT_OK(d, "disk %s 0", ls_path(nm)); /* need not exist */
        AGENT_OK(d, "acquire 0");
    }
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm6 102 %d", (int)g6->pid);
    AGENT_OK(d, "disk %s 0", ls_path("plug100.img"));
    CHECK_CONTAINS(AGENT_OK(d, "release"), "plug100.img");
    ls_agent *t6 = ls_agent_start();
    AGENT_OK(t6, "new other6 103");
    AGENT_OK(t6, "disk %s 0", ls_path("plug100.img"));
    AGENT_OK(t6, "acquire 0");
    AGENT_OK(t6, "free");
    AGENT_OK(t6, "new other6 103");
    AGENT_OK(t6, "disk %s 0", ls_path("plug319.img"));
    refused_by(t6, "vm6", g6->pid);
    AGENT_OK(t6, "free");
    AGENT_OK(t6, "new other6 103");
    AGENT_OK(t6, "disk %s 0", ls_path("plug0.img"));
    refused_by(t6, "vm6", g6->pid);
    ls_agent_stop(g6, SIGKILL);
    AGENT_OK(t6, "acquire 0");
    ls_agent_stop(t6, 0);

    /* Migration on one host: the source guest (paused from its daemon) hands its state
     * to a destination process of the same guest (same UUID, another pid), resumed from
     * the destination's daemon; the source's leftover registration does not count. */
    ls_agent *src = start_guest("vm7", 0x77, boot, bootf, 2);
    ls_agent *dst = start_guest("vm7", 0x77, boot, bootf, 2);
    AGENT_OK(d, "free");
    daemon_manager(d, "vm7", 0x77, src->pid, boot, bootf, 2);
    AGENT_OK(d, "acquire 0");
    char *handover = dup_reply(AGENT_OK(d, "inquire"));
    CHECK_CONTAINS(handover, "d1.img");
    free(handover);
    handover = dup_reply(AGENT_OK(d, "release"));
    ls_agent *dd = ls_agent_start();
    daemon_manager(dd, "vm7", 0x77, dst->pid, boot, bootf, 2);
    AGENT_OK(dd, "acquire 0 %s", handover);
    refused_by(t1, "vm7", dst->pid);
    CHECK(strcmp(AGENT_OK(d, "inquire"), "") == 0); /* the source holds nothing now */
    CHECK_CONTAINS(AGENT_OK(dd, "inquire"), "d1.img");
    msg = AGENT_ERR(d, LS_ERR_RESOURCE_BUSY, "acquire 0"); /* the source cannot resume */
    CHECK_CONTAINS(msg, "vm7");
    ls_agent_stop(src, SIGKILL);
    refused_by(t1, "vm7", dst->pid);
    ls_agent_stop(dst, SIGKILL);
    AGENT_OK(t1, "acquire 0");
    AGENT_OK(t1, "release");
    ls_agent_stop(dd, 0);
    free(handover);

    ls_agent_stop(u, SIGKILL);
    ls_agent_stop(d, 0);
    ls_agent_stop(t1, 0);
    ls_agent_stop(t3, 0);
    ls_agent_stop(t4, 0);
    free(paused);
    free(fresh);
    free(again);
    free(d1);
    free(d2);
    free(d3);
    free(d4);
    CHECK(drv->drvDeinit() == 0);
    TEST_DONE();
}
