/* test_lockspace_handover.c: which lock states drvAcquire from the daemon checks (issue
 * 18). libvirt 9.0 keeps the state of a pause until a resume succeeds, also across the
 * guest's stop, and hands it to the next ordinary start: a freshly started guest must not
 * be locked out by it, while a guest receiving a migration ("-incoming" in its command
 * line) and a guest resumed after a pause by this daemon still refuse a stale state. */
#include "test_lockspace_util.h"

static char *dup_reply(const char *s)
{
    char *d = strdup(s);
    CHECK(d != NULL);
    return d;
}

/* A guest started paused (registers its disk, execs): "exec" or "exec-incoming". */
static ls_agent *start_guest(const char *disk, const char *exec)
{
    ls_agent *g = ls_agent_start();
    AGENT_OK(g, "new vm1 17");
    AGENT_OK(g, "disk %s 0", disk);
    AGENT_OK(g, "acquire %u", LS_REGISTER_ONLY | LS_RESTRICT);
    AGENT_OK(g, "%s", exec);
    wait_exec(g->pid);
    return g;
}

/* The daemon's manager for vm1 in process `pid`. */
static ls_agent *daemon_for(pid_t pid, const char *disk)
{
    ls_agent *d = ls_agent_start();
    AGENT_OK(d, "newpid vm1 17 %d", (int)pid);
    AGENT_OK(d, "disk %s 0", disk);
    return d;
}

/* Another guest takes the disk and gives it back: every older state is stale now. */
static void taken_and_freed(const char *disk)
{
    ls_agent *t = ls_agent_start();
    AGENT_OK(t, "new other 51");
    AGENT_OK(t, "disk %s 0", disk);
    AGENT_OK(t, "acquire 0");
    AGENT_OK(t, "release");
    ls_agent_stop(t, 0);
}

int main(void)
{
    ls_setup();
    char *d1 = dup_reply(ls_disk_file("d1.img"));

    /* A first run of vm1: resumed, then paused by the daemon (the state libvirt keeps),
     * then stopped. */
    ls_agent *g = start_guest(d1, "exec");
    ls_agent *d = daemon_for(g->pid, d1);
    AGENT_OK(d, "acquire 0");
    char *old = dup_reply(AGENT_OK(d, "release"));
    CHECK_CONTAINS(old, "d:x:");
    /* Resumed by the daemon that paused it after someone took the disk: stale. */
    taken_and_freed(d1);
    CHECK_CONTAINS(AGENT_ERR(d, LS_ERR_OPERATION_INVALID, "acquire 0 %s", old), "stale");
    ls_agent_stop(d, 0);
    ls_agent_stop(g, SIGKILL);

    /* An ordinary start with that old state: the new guest takes its disk. */
    g = start_guest(d1, "exec");
    d = daemon_for(g->pid, d1);
    AGENT_OK(d, "acquire 0 %s", old);
    ls_agent *t = ls_agent_start();
    AGENT_OK(t, "new other 51");
    AGENT_OK(t, "disk %s 0", d1);
    CHECK_CONTAINS(AGENT_ERR(t, LS_ERR_RESOURCE_BUSY, "acquire 0"), "guest 'vm1'");
    /* Paused by this daemon and resumed with its own fresh state: accepted. */
    char *mine = dup_reply(AGENT_OK(d, "release"));
    AGENT_OK(d, "acquire 0 %s", mine);
    ls_agent_stop(d, 0);
    ls_agent_stop(g, SIGKILL);

    /* A guest receiving a migration whose state went stale during the hand-over (someone
     * took the disk after the source paused): refused, nothing taken. */
    g = start_guest(d1, "exec");
    d = daemon_for(g->pid, d1);
    AGENT_OK(d, "acquire 0");
    char *handed = dup_reply(AGENT_OK(d, "release"));
    ls_agent_stop(d, 0);
    ls_agent *dest = start_guest(d1, "exec-incoming");
    ls_agent *dd = daemon_for(dest->pid, d1);
    taken_and_freed(d1);
    CHECK_CONTAINS(AGENT_ERR(dd, LS_ERR_OPERATION_INVALID, "acquire 0 %s", handed), "stale");
    AGENT_OK(t, "acquire 0"); /* the refused resume took nothing */
    AGENT_OK(t, "release");
    /* With a state nobody overtook, the destination takes the disk. */
    ls_agent_stop(dd, 0);
    ls_agent_stop(dest, SIGKILL);
    d = daemon_for(g->pid, d1);
    AGENT_OK(d, "acquire 0");
    free(handed);
    handed = dup_reply(AGENT_OK(d, "release"));
    ls_agent_stop(d, 0);
    dest = start_guest(d1, "exec-incoming");
    dd = daemon_for(dest->pid, d1);
    AGENT_OK(dd, "acquire 0 %s", handed);
    CHECK_CONTAINS(AGENT_ERR(t, LS_ERR_RESOURCE_BUSY, "acquire 0"), "guest 'vm1'");

    ls_agent_stop(dd, 0);
    ls_agent_stop(dest, SIGKILL);
    ls_agent_stop(g, SIGKILL);
    ls_agent_stop(t, 0);
    free(d1);
    free(old);
    free(mine);
    free(handed);
    CHECK(drv->drvDeinit() == 0);
    TEST_DONE();
}
