/* lockspace driver, lock state and acquire modes: Inquire/Release state strings and
 * Acquire from a state in another process (migration hand-over), stale and malformed
 * states, REGISTER_ONLY, RESTRICT (and what survives exec). Guests are processes. */
#include "test_lockspace_util.h"

/* Copies an agent's reply text (the buffer is reused by the next command). */
static char *dup_reply(const char *s)
{
    char *d = strdup(s);
    CHECK(d != NULL);
    return d;
}

/* Waits until process `pid` runs the exec'ed program (sleep). */
int main(void)
{
    ls_setup();
    const char *disk = ls_disk_file("vm.img"), *shared = ls_disk_file("common.img");
    const char *leasefile = ls_disk_file("leases.bin");
    char canon[PATH_MAX], expect[PATH_MAX + 32];
    CHECK(realpath(disk, canon) != NULL);

    /* Source of a migration: holds a disk, a shared disk and a lease. */
    ls_agent *src = ls_agent_start();
    AGENT_OK(src, "new vmM 77");
    AGENT_OK(src, "disk %s 0", disk);
    AGENT_OK(src, "disk %s %u", shared, LS_SHARED);
    AGENT_OK(src, "lease key1 space %s 0 0", leasefile);
    AGENT_OK(src, "acquire 0");
    char *inq = dup_reply(AGENT_OK(src, "inquire"));
    snprintf(expect, sizeof(expect), "lockspace/1;d:x:1:%s;", canon);
    CHECK(strncmp(inq, expect, strlen(expect)) == 0);
    CHECK_CONTAINS(inq, ";d:s:0:");
    CHECK_CONTAINS(inq, ";l:x:1:key1:space:");

    /* Another process (the daemon) inquiring for the same guest (its pid) and resources
     * sees the same state, read from the lease files; another guest sees nothing. */
    ls_manager *d = ls_new_pid("vmM", 77, src->pid);
    CHECK(ls_add_disk(d, disk, 0) == 0 && ls_add_disk(d, shared, LS_SHARED) == 0);
    CHECK(ls_add_lease(d, "key1", "space", leasefile, 0, 0) == 0);
    char *dmn = NULL;
    CHECK(drv->drvInquire(d, &dmn, 0) == 0 && dmn != NULL);
    CHECK(strcmp(dmn, inq) == 0);
    free(dmn);
    ls_free(d);
    d = ls_new("vmOther", 78);
    CHECK(ls_add_disk(d, disk, 0) == 0);
    CHECK(drv->drvInquire(d, &dmn, 0) == 0 && dmn == NULL);
    ls_free(d);

    /* While the source holds them, the state cannot be taken over. The destination
     * declares the guest's resources as libvirt does (a state may not name a user's
     * lease file the guest did not declare: see test_lockspace_hardening.c). */
    ls_agent *dst = ls_agent_start();
    AGENT_OK(dst, "new vmM 77");
    AGENT_OK(dst, "lease key1 space %s 0 0", leasefile);
    AGENT_OK(dst, "disk %s 0", disk);
    AGENT_OK(dst, "disk %s %u", shared, LS_SHARED);
    const char *msg = AGENT_ERR(dst, LS_ERR_RESOURCE_BUSY, "acquire 0 %s", inq);
    CHECK_CONTAINS(msg, "vmM");

    /* The source releases (pause before migration): the state comes back. */
    char *rel = dup_reply(AGENT_OK(src, "release"));
    CHECK(strcmp(rel, inq) == 0);
    CHECK(strcmp(AGENT_OK(src, "inquire"), "") == 0); /* nothing held any more */

    /* The destination takes over with the state. */
    AGENT_OK(dst, "acquire 0 %s", rel);
    char *dstate = dup_reply(AGENT_OK(dst, "inquire"));
    CHECK(strncmp(dstate, "lockspace/1;", 12) == 0);
    snprintf(expect, sizeof(expect), ";d:x:2:%s", canon);
    CHECK_CONTAINS(dstate, expect);
    CHECK_CONTAINS(dstate, ";d:s:0:");
    CHECK_CONTAINS(dstate, ";l:x:2:key1:space:");
    /* Third parties now see the destination as the holder. */
    ls_manager *t = ls_new("vmT", 0x33);
    CHECK(ls_add_disk(t, disk, 0) == 0);
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmM");
    char pidtext[32];
    snprintf(pidtext, sizeof(pidtext), "pid %d", (int)dst->pid);
    CHECK_CONTAINS(virGetLastErrorMessage(), pidtext);
    ls_free(t);
    t = ls_new("vmT", 0x33);
    CHECK(ls_add_lease(t, "key1", "space", leasefile, 0, 0) == 0);
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "lease 'key1'");
    CHECK_CONTAINS(virGetLastErrorMessage(), "vmM");
    ls_free(t);

    /* A stale state: the source's old state once the lease moved on is refused. */
    char *dsrel = dup_reply(AGENT_OK(dst, "release"));
    msg = AGENT_ERR(src, LS_ERR_OPERATION_INVALID, "acquire 0 %s", rel);
    CHECK_CONTAINS(msg, "stale");
    CHECK_CONTAINS(msg, canon);
    /* ... and refused all or nothing: nothing is held after it. */
    CHECK(strcmp(AGENT_OK(src, "inquire"), "") == 0);
    /* Someone else takes and drops the disk: the destination's state is stale too. */
    t = ls_new("vmT", 0x33);
    CHECK(ls_add_disk(t, disk, 0) == 0);
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(t, NULL, 0) == 0);
    ls_free(t);
    AGENT_ERR(dst, LS_ERR_OPERATION_INVALID, "acquire 0 %s", dsrel);
    /* Malformed states are invalid arguments. */
    msg = AGENT_ERR(dst, LS_ERR_INVALID_ARG, "acquire 0 lockspace/9;d:x:1:/x");
    CHECK_CONTAINS(msg, "invalid lock state");
    AGENT_ERR(dst, LS_ERR_INVALID_ARG, "acquire 0 lockspace/1;d:x:one:/x");
    AGENT_ERR(dst, LS_ERR_INVALID_ARG, "acquire 0 lockspace/1;q:x:1:/x");
    ls_agent_stop(src, 0);
    ls_agent_stop(dst, 0);
    free(inq);
    free(rel);
    free(dstate);
    free(dsrel);

    /* REGISTER_ONLY (a guest started paused): the owner is recorded, nothing locked. */
    ls_agent *p = ls_agent_start();
    AGENT_OK(p, "new vmP 99");
    AGENT_OK(p, "disk %s 0", disk);
    AGENT_OK(p, "acquire %u", LS_REGISTER_ONLY);
    CHECK(strcmp(AGENT_OK(p, "inquire"), "") == 0);
    t = ls_new("vmT", 0x33);
    CHECK(ls_add_disk(t, disk, 0) == 0);
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == 0); /* not locked: T may take it */
    msg = AGENT_ERR(p, LS_ERR_RESOURCE_BUSY, "acquire 0"); /* resume: T holds it */
    CHECK_CONTAINS(msg, "vmT");
    CHECK(strstr(msg, "guest 'vmP'") == NULL); /* a registered owner is not a holder */
    CHECK(drv->drvRelease(t, NULL, 0) == 0);
    AGENT_OK(p, "acquire 0"); /* resume now takes the lock */
    CHECK_CONTAINS(AGENT_OK(p, "inquire"), "lockspace/1;d:x:");
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == -1);
    CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmP");
    ls_agent_stop(p, 0);
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(t, NULL, 0) == 0);

    /* Without RESTRICT, the lease files are close-on-exec: exec drops the locks. */
    ls_agent *e = ls_agent_start();
    AGENT_OK(e, "new vmE 88");
    AGENT_OK(e, "disk %s 0", disk);
    AGENT_OK(e, "acquire 0");
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == -1);
    AGENT_OK(e, "exec");
    wait_exec(e->pid);
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(t, NULL, 0) == 0);
    ls_agent_stop(e, SIGKILL);

    /* RESTRICT (right before exec'ing the guest): no more lock calls in that process,
     * and the locks survive the exec, held by the guest program until it dies. */
    ls_agent *r = ls_agent_start();
    AGENT_OK(r, "new vmR 66");
    AGENT_OK(r, "disk %s 0", disk);
    AGENT_OK(r, "acquire %u", LS_RESTRICT);
    msg = AGENT_ERR(r, LS_ERR_OPERATION_INVALID, "disk %s 0", shared);
    CHECK_CONTAINS(msg, "RESTRICT");
    AGENT_ERR(r, LS_ERR_OPERATION_INVALID, "acquire 0");
    AGENT_ERR(r, LS_ERR_OPERATION_INVALID, "release");
    CHECK_CONTAINS(AGENT_OK(r, "inquire"), "lockspace/1;d:x:");
    AGENT_OK(r, "free");
    AGENT_OK(r, "new vmR 66"); /* a new manager is still restricted */
    AGENT_ERR(r, LS_ERR_OPERATION_INVALID, "disk %s 0", disk);
    AGENT_OK(r, "exec");
    wait_exec(r->pid);
    for (int i = 0; i < 3; i++) { /* still held after the exec */
        CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == -1);
        CHECK_ERROR(LS_ERR_RESOURCE_BUSY, "vmR");
        usleep(20000);
    }
    ls_agent_stop(r, SIGKILL); /* the guest dies: the disk is free */
    CHECK(drv->drvAcquire(t, NULL, 0, 0, NULL) == 0);
    CHECK(drv->drvRelease(t, NULL, 0) == 0);
    ls_free(t);

    CHECK(drv->drvDeinit() == 0);
    TEST_DONE();
}
