/* test_lockspace_pidreuse.c: a daemon keeps the pidfds of the guests it reached for as
 * long as the plugin is loaded (one pidfd_open per guest, not per call). A pidfd names
 * one process for good: when the guest exits and a new guest process gets the same pid
 * (the guest started again), the daemon must reach the new process, never act through
 * the old pidfd nor refuse the new guest as gone. clone3 with set_tid gives the new
 * process the old pid (root only; skipped where that cannot be had). What the daemon
 * keeps (pidfds, looks at lease files) is gone after the last drvDeinit. */
#include "test_lockspace_util.h"

/* A guest started paused (as qemuProcessHook): registers `disk` and execs sleep. */
static void register_and_exec(ls_agent *g, const char *disk)
{
    AGENT_OK(g, "new vm1 17");
    AGENT_OK(g, "disk %s 0", disk);
    AGENT_OK(g, "acquire %u", LS_REGISTER_ONLY | LS_RESTRICT);
    AGENT_OK(g, "exec");
    wait_exec(g->pid);
}

int main(void)
{
    ls_setup();
    char *disk = strdup(ls_disk_file("d1.img"));
    CHECK(disk != NULL);
    ls_agent *t = ls_agent_start();
    AGENT_OK(t, "new other 51");
    AGENT_OK(t, "disk %s 0", disk);

    /* The daemon resumes and pauses the guest: it now keeps the guest's pidfd. */
    ls_agent *g = ls_agent_start();
    register_and_exec(g, disk);
    pid_t pid = g->pid;
    ls_agent *d = ls_agent_start();
    AGENT_OK(d, "newpid vm1 17 %d", (int)pid);
    AGENT_OK(d, "disk %s 0", disk);
    AGENT_OK(d, "acquire 0");
    AGENT_ERR(t, LS_ERR_RESOURCE_BUSY, "acquire 0");
    AGENT_OK(d, "release");
    AGENT_OK(d, "free");

    /* The guest exits; the guest starts again in a process with the same pid. */
    ls_agent_stop(g, SIGKILL);
    g = ls_agent_start_as(pid);
    if (!g) {
        ls_agent_stop(d, 0);
        ls_agent_stop(t, 0);
        SKIP("cannot start a process with a given pid here (clone3 set_tid)");
    }
    CHECK(g->pid == pid);
    register_and_exec(g, disk);

    /* Resumed by the same daemon: locked in the new process, named as its holder. */
    AGENT_OK(d, "newpid vm1 17 %d", (int)pid);
    AGENT_OK(d, "disk %s 0", disk);
    AGENT_OK(d, "acquire 0");
    const char *msg = AGENT_ERR(t, LS_ERR_RESOURCE_BUSY, "acquire 0");
    char want[64];
    snprintf(want, sizeof(want), "pid %d,", (int)pid);
    CHECK_CONTAINS(msg, want);
    CHECK_CONTAINS(AGENT_OK(d, "release"), "d:x:");
    AGENT_OK(t, "acquire 0");
    AGENT_OK(t, "release");
    /* Resumed again through the same manager and paused: the lock is the new guest's. */
    AGENT_OK(d, "acquire 0");
    ls_agent_stop(g, SIGKILL);
    AGENT_OK(t, "acquire 0"); /* the guest's exit freed it: nothing held in the daemon */
    AGENT_OK(t, "release");

    /* Gone for good: the kept pidfd is not taken for the process, acquire says so. */
    AGENT_OK(d, "free");
    AGENT_OK(d, "newpid vm1 17 %d", (int)pid);
    AGENT_OK(d, "disk %s 0", disk);
    msg = AGENT_ERR(d, LS_ERR_OPERATION_INVALID, "acquire 0");
    CHECK_CONTAINS(msg, "does not exist");
    CHECK(strcmp(AGENT_OK(d, "release"), "") == 0);

    /* The last drvDeinit closes what the daemon kept between calls. */
    CHECK(atoi(AGENT_OK(d, "kept")) > 0);
    AGENT_OK(d, "free");
    AGENT_OK(d, "deinit");
    CHECK(strcmp(AGENT_OK(d, "kept"), "0") == 0);

    ls_agent_stop(d, 0);
    ls_agent_stop(t, 0);
    free(disk);
    TEST_DONE();
}
