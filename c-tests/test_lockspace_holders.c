/* test_lockspace_holders.c: a refusal names every holder (issue 8 item 2): each guest
 * holding the resource (name, UUID, its own pid, host), shared and exclusive, whatever
 * order they came in; a dead holder is never named and its slot is reused; the limit on
 * holders per resource and the error past it. */
#include "test_lockspace_util.h"

#define NSHARED 6

/* The message names guest `name` (UUID byte `b`) as process `pid`. */
static void names(const char *msg, const char *name, unsigned char b, pid_t pid)
{
    char want[256];
    snprintf(want, sizeof(want), "guest '%s' (uuid %s, pid %d, host ", name, ls_uuid_text(b),
             (int)pid);
    CHECK_CONTAINS(msg, want);
}

static void names_not(const char *msg, const char *name, pid_t pid)
{
    char want[128];
    snprintf(want, sizeof(want), "guest '%s'", name);
    CHECK(strstr(msg, want) == NULL);
    snprintf(want, sizeof(want), "pid %d,", (int)pid);
    CHECK(strstr(msg, want) == NULL);
}

int main(void)
{
    ls_setup();
    char disk[PATH_MAX], big[PATH_MAX], name[32];
    snprintf(disk, sizeof(disk), "%s", ls_disk_file("shared.img"));
    snprintf(big, sizeof(big), "%s", ls_disk_file("crowded.img"));
    const char *msg;

    /* Shared holders, each its own process, registering in a scrambled order. */
    ls_agent *s[NSHARED];
    static const int order[NSHARED] = {3, 0, 5, 1, 4, 2};
    for (int i = 0; i < NSHARED; i++) {
        s[i] = ls_agent_start();
        snprintf(name, sizeof(name), "s%d", i);
        AGENT_OK(s[i], "new %s %d", name, 0x40 + i);
        AGENT_OK(s[i], "disk %s %u", disk, LS_SHARED);
    }
    for (int k = 0; k < NSHARED; k++)
        AGENT_OK(s[order[k]], "acquire 0");
    /* Some leave and come back: their slots move around. */
    AGENT_OK(s[0], "release");
    AGENT_OK(s[4], "release");
    AGENT_OK(s[4], "acquire 0");
    AGENT_OK(s[0], "acquire 0");

    /* One more shared holder taken from a "daemon" for a guest registered in its own
     * process: named with the guest's pid, not the daemon's. */
    ls_agent *g = ls_agent_start();
    AGENT_OK(g, "new guest 80");
    AGENT_OK(g, "disk %s %u", disk, LS_SHARED);
    AGENT_OK(g, "acquire %u", LS_REGISTER_ONLY | LS_RESTRICT);
    AGENT_OK(g, "exec");
    wait_exec(g->pid);
    ls_agent *d = ls_agent_start();
    AGENT_OK(d, "newpid guest 80 %d", (int)g->pid);
    AGENT_OK(d, "disk %s %u", disk, LS_SHARED);
    AGENT_OK(d, "acquire 0");

    /* An exclusive request is refused, naming every holder. */
    ls_agent *x = ls_agent_start();
    AGENT_OK(x, "new excl 90");
    AGENT_OK(x, "disk %s 0", disk);
    msg = AGENT_ERR(x, LS_ERR_RESOURCE_BUSY, "acquire 0");
    CHECK_CONTAINS(msg, "for domain 'excl' is locked by ");
    for (int i = 0; i < NSHARED; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        names(msg, name, 0x40 + i, s[i]->pid);
    }
    names(msg, "guest", 80, g->pid);
    names_not(msg, "excl", d->pid); /* the daemon is nobody's holder */

    /* A dead holder is never named; a newcomer reuses its slot. */
    pid_t dead = s[3]->pid;
    ls_agent_stop(s[3], SIGKILL);
    msg = AGENT_ERR(x, LS_ERR_RESOURCE_BUSY, "acquire 0");
    names_not(msg, "s3", dead);
    names(msg, "s5", 0x45, s[5]->pid);
    s[3] = ls_agent_start();
    AGENT_OK(s[3], "new late 99");
    AGENT_OK(s[3], "disk %s %u", disk, LS_SHARED);
    AGENT_OK(s[3], "acquire 0");
    msg = AGENT_ERR(x, LS_ERR_RESOURCE_BUSY, "acquire 0");
    names(msg, "late", 99, s[3]->pid);
    names_not(msg, "s3", dead);

    /* Everyone leaves: the exclusive request goes through, and is itself named. */
    for (int i = 0; i < NSHARED; i++)
        ls_agent_stop(s[i], 0);
    ls_agent_stop(g, SIGKILL);
    AGENT_OK(x, "acquire 0");
    ls_agent *y = ls_agent_start();
    AGENT_OK(y, "new shy 91");
    AGENT_OK(y, "disk %s %u", disk, LS_SHARED);
    msg = AGENT_ERR(y, LS_ERR_RESOURCE_BUSY, "acquire 0");
    names(msg, "excl", 91 - 1, x->pid);
    ls_agent_stop(y, 0);
    ls_agent_stop(x, 0);
    ls_agent_stop(d, 0);

    /* The limit: 63 holders per resource (slot 0 is the exclusive holder's, 63 slots for
     * shared or registered ones). Each guest here is its own open file in one process. */
    ls_agent *many = ls_agent_start();
    for (int i = 1; i <= 63; i++) {
        AGENT_OK(many, "new m%d %d", i, i);
        AGENT_OK(many, "disk %s %u", big, LS_SHARED);
        AGENT_OK(many, "acquire 0");
    }
    AGENT_OK(many, "new m64 64");
    AGENT_OK(many, "disk %s %u", big, LS_SHARED);
    msg = AGENT_ERR(many, LS_ERR_RESOURCE_BUSY, "acquire 0");
    CHECK_CONTAINS(msg, "no free holder slot (at most 63 shared or registered holders per resource)");
    /* A failed acquire changed nothing: one more holder leaves, the newcomer gets in. */
    AGENT_OK(many, "new m7 7");
    AGENT_OK(many, "disk %s %u", big, LS_SHARED);
    AGENT_OK(many, "release");
    AGENT_OK(many, "new m64 64");
    AGENT_OK(many, "disk %s %u", big, LS_SHARED);
    AGENT_OK(many, "acquire 0");
    ls_agent_stop(many, 0);

    CHECK(drv->drvDeinit() == 0);
    TEST_DONE();
}
