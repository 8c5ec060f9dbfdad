/* test_state_shutdown_race.c: a shutdown asked for while virStateInitialize runs (SIGTERM
 * during the QEMU driver's reconnect, Launchpad bug 2059272) is honoured once the running
 * driver hook returns: virStateShutdownPrepare/Wait/Cleanup return 0 at once (they neither
 * wait, which could deadlock a hook's helper thread, nor touch a half-initialized driver),
 * no further driver is initialized or autostarted, every initialized driver then gets
 * prepare, wait and cleanup (reverse), nothing stays initialized, and virStateInitialize
 * returns -1 with VIR_ERR_OPERATION_ABORTED. Afterwards a new start-up works. Rendezvous
 * by pipes, no timing; a watchdog alarm turns a deadlock into a failure. */
#include <signal.h>
#include "test_state_util.h"

static int to_main[2], to_init[2];
static int rc_prepare = 99, rc_wait = 99, rc_cleanup = 99;

static void shutdown_calls(void)
{
    rc_prepare = virStateShutdownPrepare();
    rc_wait = virStateShutdownWait();
    rc_cleanup = virStateCleanup();
}

/* Driver 1 ("qemu-reconnect") blocks in its stateInitialize until main says go. */
static void init_blocks(int i)
{
    char c = 0;
    if (i != 1)
        return;
    if (write(to_main[1], &c, 1) != 1 || read(to_init[0], &c, 1) != 1)
        exit(3);
}

static void *run_init(void *arg)
{
    int *rc = arg;
    rc[0] = virStateInitialize(false, true, NULL, false, NULL, NULL);
    rc[1] = virGetLastErrorCode();
    return NULL;
}

static void setup(void)
{
    TD_REGISTER(0, "storage", 0, 0);
    TD_REGISTER(1, "qemu-reconnect", 1, 1);
    TD_REGISTER(2, "lxc", 1, 2);
    TD_REGISTER(3, "tier2", 2, 3);
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
}

static void check_shut_down(const int *rc)
{
    CHECK(rc[0] == -1 && rc[1] == VIR_ERR_OPERATION_ABORTED);
    /* qemu-reconnect finished its start-up; lxc and tier2 never started, qemu-reconnect
     * was not autostarted; then the shutdown in order and cleanup in reverse. */
    CHECK_TRACE("init:storage auto:storage init:qemu-reconnect prepare:storage "
                "prepare:qemu-reconnect wait:storage wait:qemu-reconnect "
                "cleanup:qemu-reconnect cleanup:storage");
    for (int i = 0; i < 4; i++)
        CHECK(!tds[i].drv.initialized);
    CHECK(tds[2].n_init == 0 && tds[3].n_init == 0 && tds[1].n_auto == 0);
    /* Nothing left busy or initialized: a new start-up runs every driver. */
    trace_reset();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(tds[3].drv.initialized && tds[2].n_init == 1);
    CHECK(virStateCleanup() == 0);
    CHECK(!tds[0].drv.initialized);
}

/* Another thread (the daemon's signal handling) asks for the shutdown. */
static int from_another_thread(void)
{
    pthread_t th;
    int rc[2] = {0, 0};
    char c = 0;
    alarm(120);
    setup();
    td_init_extra = init_blocks;
    CHECK(pipe(to_main) == 0 && pipe(to_init) == 0);
    CHECK(pthread_create(&th, NULL, run_init, rc) == 0);
    CHECK(read(to_main[0], &c, 1) == 1); /* qemu-reconnect is in its stateInitialize */
    shutdown_calls();
    CHECK(rc_prepare == 0 && rc_wait == 0 && rc_cleanup == 0);
    /* Nothing ran on the half-initialized driver, nor on storage yet. */
    CHECK(tds[0].n_hook[H_PREPARE] == 0 && tds[1].n_hook[H_PREPARE] == 0);
    CHECK(tds[0].n_hook[H_CLEANUP] == 0 && tds[0].drv.initialized);
    CHECK(write(to_init[1], &c, 1) == 1);
    CHECK(pthread_join(th, NULL) == 0);
    td_init_extra = NULL;
    check_shut_down(rc);
    return 0;
}

/* A hook's helper thread asks for it while the hook joins the helper: no deadlock. */
static void *helper(void *arg)
{
    (void)arg;
    shutdown_calls();
    return NULL;
}

static void init_spawns_helper(int i)
{
    pthread_t th;
    if (i != 1)
        return;
    if (pthread_create(&th, NULL, helper, NULL) != 0 || pthread_join(th, NULL) != 0)
        exit(3);
}

static int from_a_hook_helper(void)
{
    int rc[2] = {0, 0};
    alarm(120);
    setup();
    td_init_extra = init_spawns_helper;
    run_init(rc);
    td_init_extra = NULL;
    CHECK(rc_prepare == 0 && rc_wait == 0 && rc_cleanup == 0);
    check_shut_down(rc);
    return 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    CHECK_FORKED(from_another_thread);
    CHECK_FORKED(from_a_hook_helper);
    rm_tree(td_base);
    TEST_DONE();
}
