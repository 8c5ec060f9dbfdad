/* test_state_failure.c: a failing stateInitialize. The error is kept (code and domain of
 * the driver's own error) with the message "Initialization of NAME state driver failed:
 * MESSAGE" and logged at error level; the drivers initialized before it are cleaned up
 * in reverse order, later ones never run, nothing of the failing tier autostarts, and -1
 * is returned. A failed start leaves the library usable: the start can be retried. */
#include "test_state_util.h"

/* Error-level log messages, as the daemon's log callback sees them. */
static char logged[2048];

static void log_cb(int priority, const char *source, const char *message, void *opaque)
{
    if (priority == VIR_LOG_ERROR && opaque == logged) {
        size_t len = strlen(logged);
        snprintf(logged + len, sizeof(logged) - len, "%s\n", message);
    }
}

static void setup(void)
{
    TD_REGISTER(0, "a", 0, 0);
    TD_REGISTER(1, "b", 0, 1);
    TD_REGISTER(2, "c0", 1, 2);
    TD_REGISTER(3, "c", 1, 3);
    TD_REGISTER(4, "d", 1, 4);
    TD_REGISTER(5, "e", 2, 5);
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
}

static int with_error(void)
{
    setup();
    tds[3].init_result = VIR_DRV_STATE_INIT_ERROR;
    tds[3].err_code = VIR_ERR_CONFIG_UNSUPPORTED;
    tds[3].err_msg = "disk /dev/sdz of guest vm1 is missing";
    virtcoreLogSetCallback(log_cb, logged);
    CHECK(virtcoreLogSetLevel(VIR_LOG_ERROR) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    /* The failure is logged too, at error level. */
    CHECK(strstr(logged, "Initialization of c state driver failed: "));
    CHECK(strstr(logged, "disk /dev/sdz of guest vm1 is missing"));
    virtcoreLogSetCallback(NULL, NULL);
    CHECK_ERROR(VIR_ERR_CONFIG_UNSUPPORTED, "Initialization of c state driver failed: ");
    CHECK_MSG("disk /dev/sdz of guest vm1 is missing");
    CHECK(strncmp(virGetLastErrorMessage(), "Initialization of c state driver failed: ", 41) == 0);
    CHECK(virGetLastErrorDomain() == VIR_FROM_QEMU);
    CHECK_TRACE("init:a init:b auto:a auto:b init:c0 init:c cleanup:c0 cleanup:b cleanup:a");
    for (int i = 0; i < 6; i++)
        CHECK(!tds[i].drv.initialized);
    CHECK(tds[3].n_hook[H_CLEANUP] == 0); /* the failing driver itself is not cleaned up */

    /* Nothing is initialized now: the hooks reach no driver. */
    trace_reset();
    CHECK(virStateReload() == 0);
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("");

    /* Registration is open again, and a retry with the problem fixed succeeds (tier 0's
     * autostarts already ran this boot, so they are not repeated). */
    TD_REGISTER(6, "late", 2, 6);
    tds[3].init_result = VIR_DRV_STATE_INIT_COMPLETE;
    tds[3].err_code = 0;
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_TRACE("init:a init:b init:c0 init:c init:d auto:c0 auto:c auto:d "
                "init:e init:late auto:e auto:late");
    CHECK(virStateCleanup() == 0);
    return 0;
}

/* A driver that fails without reporting anything still gets a named error. */
static int without_error(void)
{
    setup();
    tds[0].init_result = VIR_DRV_STATE_INIT_ERROR;
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == -1);
    CHECK(virGetLastErrorCode() != VIR_ERR_OK);
    CHECK_MSG("Initialization of a state driver failed");
    CHECK_TRACE("init:a");
    return 0;
}

/* An error a driver reported but then returned COMPLETE does not fail the start. */
static int stale_error(void)
{
    setup();
    tds[1].err_code = VIR_ERR_OPERATION_FAILED;
    tds[1].err_msg = "harmless";
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    for (int i = 0; i < 6; i++)
        CHECK(tds[i].drv.initialized);
    CHECK(virStateCleanup() == 0);
    return 0;
}

/* A cleanup failing during the rollback is logged, but the error returned is still the
 * initialization failure that caused the rollback. */
static int rollback_cleanup_fails(void)
{
    setup();
    tds[0].hook_rc[H_CLEANUP] = -1;
    tds[2].init_result = VIR_DRV_STATE_INIT_ERROR;
    tds[2].err_code = VIR_ERR_NO_DOMAIN;
    tds[2].err_msg = "guest vm7 vanished";
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_NO_DOMAIN, "Initialization of c0 state driver failed: ");
    CHECK_MSG("guest vm7 vanished");
    CHECK_TRACE("init:a init:b auto:a auto:b init:c0 cleanup:b cleanup:a");
    CHECK(!tds[0].drv.initialized && !tds[1].drv.initialized);
    return 0;
}

/* The first tier fails: nothing autostarts at all. */
static int first_tier(void)
{
    setup();
    tds[1].init_result = VIR_DRV_STATE_INIT_ERROR;
    tds[1].err_code = VIR_ERR_NO_STORAGE_POOL;
    tds[1].err_msg = "pool 'default' not found";
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_NO_STORAGE_POOL, "Initialization of b state driver failed: ");
    CHECK_MSG("pool 'default' not found");
    CHECK_TRACE("init:a init:b cleanup:a");
    return 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    CHECK_FORKED(with_error);
    CHECK_FORKED(without_error);
    CHECK_FORKED(stale_error);
    CHECK_FORKED(first_tier);
    CHECK_FORKED(rollback_cleanup_fails);
    rm_tree(td_base);
    TEST_DONE();
}
