/* test_state_skipped.c: a driver whose stateInitialize returns VIR_DRV_STATE_INIT_SKIPPED
 * is neither autostarted, nor cleaned up, nor called by the lifecycle hooks; with
 * `mandatory` it is an error (libvirt 9's "Initialization of mandatory NAME state driver
 * skipped"), sequential and parallel alike. A driver without stateInitialize is ignored
 * like libvirt does. */
#include "test_state_util.h"

static void setup(void)
{
    TD_REGISTER(0, "a", 0, 0);
    TD_REGISTER(1, "b", 0, 1);
    TD_REGISTER(2, "c", 0, 2);
    TD_REGISTER(3, "d", 1, 3);
    tds[1].init_result = VIR_DRV_STATE_INIT_SKIPPED;
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
}

static int not_mandatory(void)
{
    setup();
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == 0);
    CHECK_TRACE("init:a init:b init:c auto:a auto:c init:d auto:d");
    CHECK(tds[0].drv.initialized && !tds[1].drv.initialized);
    CHECK(tds[2].drv.initialized && tds[3].drv.initialized);
    trace_reset();
    CHECK(virStateReload() == 0);
    CHECK(virStateStop() == 0);
    CHECK(virStateShutdownPrepare() == 0);
    CHECK(virStateShutdownWait() == 0);
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("reload:a reload:c reload:d stop:a stop:c stop:d "
                "prepare:a prepare:c prepare:d wait:a wait:c wait:d "
                "cleanup:d cleanup:c cleanup:a");
    return 0;
}

static int not_mandatory_parallel(void)
{
    setup();
    CHECK(virtcoreStateSetParallel(4) == 0);
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == 0);
    CHECK_STR(trace_only("auto:"), "auto:a auto:c auto:d");
    CHECK(tds[1].n_init == 1 && !tds[1].drv.initialized);
    trace_reset();
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("cleanup:d cleanup:c cleanup:a");
    return 0;
}

static int mandatory(void)
{
    setup();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_OPERATION_FAILED, "mandatory b state driver skipped");
    /* Stops at b like libvirt: c and d never run, a is rolled back, nothing autostarts. */
    CHECK_TRACE("init:a init:b cleanup:a");
    for (int i = 0; i < 4; i++)
        CHECK(!tds[i].drv.initialized);
    CHECK(virStateCleanup() == 0);
    CHECK(tds[0].n_hook[H_CLEANUP] == 1);
    return 0;
}

static int mandatory_parallel(void)
{
    setup();
    CHECK(virtcoreStateSetParallel(3) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_OPERATION_FAILED, "mandatory b state driver skipped");
    CHECK_STR(trace_only("auto:"), "");
    CHECK(tds[3].n_init == 0); /* the next tier never starts */
    /* Every driver that completed was cleaned up exactly once, b (skipped) was not. */
    CHECK(tds[0].n_hook[H_CLEANUP] == 1);
    CHECK(tds[1].n_hook[H_CLEANUP] == 0);
    CHECK(tds[2].n_hook[H_CLEANUP] == tds[2].n_init);
    for (int i = 0; i < 4; i++)
        CHECK(!tds[i].drv.initialized);
    return 0;
}

/* libvirt: a driver without stateInitialize is never initialized, so it is neither
 * autostarted nor cleaned up, and it does not count against `mandatory`. */
static int no_init_hook(void)
{
    setup();
    tds[1].drv.stateInitialize = NULL;
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_TRACE("init:a init:c auto:a auto:c init:d auto:d");
    CHECK(!tds[1].drv.initialized);
    trace_reset();
    CHECK(virStateReload() == 0);
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("reload:a reload:c reload:d cleanup:d cleanup:c cleanup:a");
    return 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    CHECK_FORKED(not_mandatory);
    CHECK_FORKED(not_mandatory_parallel);
    CHECK_FORKED(mandatory);
    CHECK_FORKED(mandatory_parallel);
    CHECK_FORKED(no_init_hook);
    rm_tree(td_base);
    TEST_DONE();
}
