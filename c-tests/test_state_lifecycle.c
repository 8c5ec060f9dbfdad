/* test_state_lifecycle.c: virStateReload, virStateStop, virStateShutdownPrepare,
 * virStateShutdownWait call the hook of every initialized driver in initialization order
 * (skipped drivers and drivers without the hook are left out), return -1 if any hook
 * failed (virStateStop: 1, as libvirt 9.0) while still calling all of them, with the first failing driver's own error
 * (code, domain, message) as "STEP of NAME state driver failed: MESSAGE";
 * virStateCleanup runs in reverse order, returns -1 if one failed but cleans up every
 * driver. A hook calling back into virState* is refused instead of deadlocking. */
#include "test_state_util.h"

static int reentry_rc[4], reentry_code[4];

static int reentrant_reload(void)
{
    reentry_rc[0] = virStateReload();
    reentry_code[0] = virGetLastErrorCode();
    reentry_rc[1] = virStateCleanup();
    reentry_code[1] = virGetLastErrorCode();
    reentry_rc[2] = virRegisterStateDriver(&tds[5].drv);
    reentry_code[2] = virGetLastErrorCode();
    reentry_rc[3] = virtcoreStateSetParallel(2);
    reentry_code[3] = virGetLastErrorCode();
    return 0;
}

typedef int (*lifecycle_fn)(void);

/* Installed as storage's hook: reports its own error, then fails. */
static int storage_reports_and_fails(void)
{
    trace_add("reported", "storage");
    virReportErrorHelper(VIR_FROM_STORAGE, VIR_ERR_CONFIG_UNSUPPORTED, __FILE__, __func__,
                         __LINE__, "pool config '%s' is invalid", "/etc/pools/p1.xml");
    return -1;
}

static void set_storage_hook(int h, int (*fn)(void))
{
    virStateDriver *d = &tds[1].drv;
    switch (h) {
    case H_RELOAD: d->stateReload = fn; break;
    case H_STOP: d->stateStop = fn; break;
    case H_PREPARE: d->stateShutdownPrepare = fn; break;
    case H_WAIT: d->stateShutdownWait = fn; break;
    default: d->stateCleanup = fn; break;
    }
}

static int (*const storage_hooks[H_COUNT])(void) = {
    td_cleanup_1, td_reload_1, td_stop_1, td_prepare_1, td_wait_1,
};

static void check_hook(lifecycle_fn fn, int h, const char *expected_ok, const char *step)
{
    char named[128];
    /* virStateStop keeps libvirt 9.0's return value: 1 (not -1) when a hook failed. */
    const int failed = h == H_STOP ? 1 : -1;
    /* All succeed. */
    trace_reset();
    CHECK(fn() == 0);
    CHECK_TRACE(expected_ok);
    /* One in the middle fails without reporting: -1 naming it, the later ones still run. */
    tds[1].hook_rc[h] = -1;
    trace_reset();
    CHECK(fn() == failed);
    CHECK(virGetLastErrorCode() != VIR_ERR_OK);
    snprintf(named, sizeof(named), "%s of storage state driver failed", step);
    CHECK_MSG(named);
    CHECK_TRACE(expected_ok);
    tds[1].hook_rc[h] = 0;
    /* It reports its own error: kept (code, domain, message), with the driver named. Two
     * fail (storage, then hyp): the first failure's error is the one returned. */
    set_storage_hook(h, storage_reports_and_fails);
    tds[0].hook_rc[h] = -1;
    CHECK(fn() == failed);
    CHECK_ERROR(VIR_ERR_CONFIG_UNSUPPORTED, named);
    CHECK(strncmp(virGetLastErrorMessage(), named, strlen(named)) == 0);
    CHECK_MSG("pool config '/etc/pools/p1.xml' is invalid");
    CHECK(virGetLastErrorDomain() == VIR_FROM_STORAGE);
    set_storage_hook(h, storage_hooks[h]);
    tds[0].hook_rc[h] = 0;
    /* A positive return is not a failure (libvirt: < 0 fails). */
    tds[0].hook_rc[h] = 1;
    CHECK(fn() == 0);
    tds[0].hook_rc[h] = 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    TD_REGISTER(0, "hyp", 1, 0);
    TD_REGISTER(1, "storage", 0, 1);
    TD_REGISTER(2, "skipped", 0, 2);
    TD_REGISTER(3, "network", 0, 3);
    TD_REGISTER(4, "nohooks", 0, 4);
    tds[2].init_result = VIR_DRV_STATE_INIT_SKIPPED;
    tds[4].drv.stateReload = NULL;
    tds[4].drv.stateStop = NULL;
    tds[4].drv.stateShutdownPrepare = NULL;
    tds[4].drv.stateShutdownWait = NULL;
    tds[4].drv.stateCleanup = NULL;
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == 0);

    check_hook(virStateReload, H_RELOAD, "reload:storage reload:network reload:hyp",
               "Reload");
    check_hook(virStateStop, H_STOP, "stop:storage stop:network stop:hyp", "Stop");
    check_hook(virStateShutdownPrepare, H_PREPARE,
               "prepare:storage prepare:network prepare:hyp", "Shutdown preparation");
    check_hook(virStateShutdownWait, H_WAIT, "wait:storage wait:network wait:hyp",
               "Shutdown wait");
    CHECK(tds[0].initialized_at_hook && tds[1].initialized_at_hook);
    CHECK(tds[2].n_hook[H_RELOAD] == 0 && tds[2].n_hook[H_STOP] == 0);

    /* Re-entry from a hook: every virState* call is refused, nothing deadlocks. */
    td_make(5, "newcomer", 0);
    tds[3].drv.stateReload = reentrant_reload;
    CHECK(virStateReload() == 0);
    for (int i = 0; i < 4; i++) {
        CHECK(reentry_rc[i] == -1);
        CHECK(reentry_code[i] == VIR_ERR_OPERATION_INVALID);
    }
    CHECK(tds[0].drv.initialized); /* the refused cleanup did nothing */

    /* Cleanup: reverse order; failing ones make it -1, the others still run, and the
     * first failure in cleanup order (network before storage) is the error. */
    tds[3].hook_rc[H_CLEANUP] = -1;
    set_storage_hook(H_CLEANUP, storage_reports_and_fails);
    trace_reset();
    CHECK(virStateCleanup() == -1);
    CHECK(virGetLastErrorCode() != VIR_ERR_OK);
    CHECK_MSG("Cleanup of network state driver failed");
    CHECK_TRACE("cleanup:hyp cleanup:network reported:storage");
    for (int i = 0; i < 5; i++)
        CHECK(!tds[i].drv.initialized);

    /* After cleanup no hook is reached, and a second cleanup does nothing. */
    trace_reset();
    CHECK(virStateReload() == 0);
    CHECK(virStateStop() == 0);
    CHECK(virStateShutdownPrepare() == 0);
    CHECK(virStateShutdownWait() == 0);
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("");

    rm_tree(td_base);
    TEST_DONE();
}
