/* test_state_parallel.c: virtcoreStateSetParallel(N) gives the same results as sequential
 * mode: same autostart order (tier by tier, registration order), every init of a tier
 * before its autostarts and before the next tier, the same error (the first failing
 * driver in registration order, even when a later one fails first in time), and a failing
 * driver in a parallel tier rolls back every driver that completed. An init hook on a
 * worker thread calling back into virState* is refused rather than deadlocking. The
 * daemon's per-thread hook (virtcoreStateSetThreadHook) runs on every worker before it
 * initializes a driver, never on the calling thread, and cannot call virState*. */
#include "test_state_util.h"

#define N 15

/* 15 drivers, tier i % 3, so tiers are registered interleaved. */
static void setup(void)
{
    for (int i = 0; i < N; i++) {
        char name[8];
        snprintf(name, sizeof(name), "d%02d", i);
        CHECK(virtcoreRegisterStateDriverExt(td_make(i, name, i % 3), &tds[i].ext) == i);
        tds[i].init_sleep_ms = 1 + (i * 7) % 4;
    }
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
}

static const char *const expected_autostarts =
    "auto:d00 auto:d03 auto:d06 auto:d09 auto:d12 "
    "auto:d01 auto:d04 auto:d07 auto:d10 auto:d13 "
    "auto:d02 auto:d05 auto:d08 auto:d11 auto:d14";

/* Every init of tier t comes after every autostart of tier t-1 and before every autostart
 * of tier t. */
static void check_tier_phases(void)
{
    for (int i = 0; i < N; i++) {
        char me[16], other[16];
        snprintf(me, sizeof(me), "init:%s", tds[i].name);
        int pos = trace_pos(me);
        CHECK(pos >= 0);
        for (int j = 0; j < N; j++) {
            snprintf(other, sizeof(other), "auto:%s", tds[j].name);
            if (j % 3 < i % 3)
                CHECK(trace_pos(other) < pos);
            else
                CHECK(trace_pos(other) > pos);
        }
    }
}

/* In parallel mode the first two drivers of tier 0 wait (up to 10 s) until both are
 * inside stateInitialize at the same time: proves the tier really runs in parallel. */
static pthread_mutex_t rv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rv_cond = PTHREAD_COND_INITIALIZER;
static int rv_count;
static bool rv_met;

static void rendezvous(int i)
{
    if (i != 0 && i != 3)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&rv_lock);
    rv_count++;
    pthread_cond_broadcast(&rv_cond);
    while (rv_count < 2 && pthread_cond_timedwait(&rv_cond, &rv_lock, &until) == 0) {
    }
    if (rv_count >= 2)
        rv_met = true;
    pthread_mutex_unlock(&rv_lock);
}

static int sequential(void)
{
    setup();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_STR(trace_only("auto:"), expected_autostarts);
    CHECK_STR(trace_only("init:"), "init:d00 init:d03 init:d06 init:d09 init:d12 "
                                   "init:d01 init:d04 init:d07 init:d10 init:d13 "
                                   "init:d02 init:d05 init:d08 init:d11 init:d14");
    check_tier_phases();
    CHECK(virStateCleanup() == 0);
    return 0;
}

static int parallel(void)
{
    setup();
    td_init_extra = rendezvous;
    CHECK(virtcoreStateSetParallel(4) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(rv_met);
    CHECK_STR(trace_only("auto:"), expected_autostarts);
    check_tier_phases();
    for (int i = 0; i < N; i++)
        CHECK(tds[i].drv.initialized && tds[i].n_init == 1);
    /* Cleanup is still in reverse initialization order (tier, then registration). */
    trace_reset();
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("cleanup:d14 cleanup:d11 cleanup:d08 cleanup:d05 cleanup:d02 "
                "cleanup:d13 cleanup:d10 cleanup:d07 cleanup:d04 cleanup:d01 "
                "cleanup:d12 cleanup:d09 cleanup:d06 cleanup:d03 cleanup:d00");
    return 0;
}

static char seq_msg[512];

/* Tier 1 has two failing drivers: d04 (slow) and d10 (fails at once). */
static void setup_failing(void)
{
    setup();
    tds[4].init_result = VIR_DRV_STATE_INIT_ERROR;
    tds[4].err_code = VIR_ERR_OPERATION_FAILED;
    tds[4].err_msg = "d04 cannot start";
    tds[4].init_sleep_ms = 30;
    tds[10].init_result = VIR_DRV_STATE_INIT_ERROR;
    tds[10].err_code = VIR_ERR_NO_SUPPORT;
    tds[10].err_msg = "d10 cannot start";
    tds[10].init_sleep_ms = 0;
}

static void check_failed_start(void)
{
    CHECK_ERROR(VIR_ERR_OPERATION_FAILED, "Initialization of d04 state driver failed: ");
    CHECK_MSG("d04 cannot start");
    /* Tier 0 autostarted, tier 1 did not, tier 2 never started. */
    CHECK_STR(trace_only("auto:"), "auto:d00 auto:d03 auto:d06 auto:d09 auto:d12");
    for (int i = 2; i < N; i += 3)
        CHECK(tds[i].n_init == 0);
    /* Everything that completed was cleaned up exactly once; the failures were not. */
    for (int i = 0; i < N; i++) {
        CHECK(!tds[i].drv.initialized);
        bool completed = tds[i].n_init == 1 && tds[i].init_result == VIR_DRV_STATE_INIT_COMPLETE;
        CHECK(tds[i].n_hook[H_CLEANUP] == (completed ? 1 : 0));
    }
    /* Tier 0 is cleaned up last, in reverse order. */
    const char *cleanups = trace_only("cleanup:");
    const char *tail = "cleanup:d12 cleanup:d09 cleanup:d06 cleanup:d03 cleanup:d00";
    CHECK(strlen(cleanups) >= strlen(tail));
    CHECK_STR(cleanups + strlen(cleanups) - strlen(tail), tail);
}

static int failing_sequential(void)
{
    setup_failing();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    check_failed_start();
    CHECK(tds[10].n_init == 0); /* sequential stops at the first failure */
    CHECK_STR(trace_only("cleanup:"), "cleanup:d01 cleanup:d12 cleanup:d09 cleanup:d06 "
                                      "cleanup:d03 cleanup:d00");
    /* Hand the error to the parent through a file: the parent compares it with the
     * parallel run's. */
    FILE *f = fopen(seq_msg, "w");
    CHECK(f);
    fprintf(f, "%d %s\n", virGetLastErrorCode(), virGetLastErrorMessage());
    fclose(f);
    return 0;
}

static int failing_parallel(void)
{
    char expected[600];
    snprintf(expected, sizeof(expected), "%s", read_line(seq_msg));
    setup_failing();
    CHECK(virtcoreStateSetParallel(3) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    check_failed_start();
    char got[600];
    snprintf(got, sizeof(got), "%d %s", virGetLastErrorCode(), virGetLastErrorMessage());
    CHECK_STR(got, expected);
    return 0;
}

/* An init hook on a worker thread calling back into virState* is refused (it would
 * deadlock: the caller of virStateInitialize holds the lifecycle lock). alarm() turns a
 * hang into a failure. */
static int reentry_rc[3], reentry_code[3];

static void reenter(int i)
{
    if (i != 4)
        return;
    reentry_rc[0] = virStateReload();
    reentry_code[0] = virGetLastErrorCode();
    reentry_rc[1] = virStateInitialize(false, true, NULL, false, NULL, NULL);
    reentry_code[1] = virGetLastErrorCode();
    reentry_rc[2] = virStateCleanup();
    reentry_code[2] = virGetLastErrorCode();
}

static int reentry_from_worker(void)
{
    alarm(60);
    setup();
    td_init_extra = reenter;
    CHECK(virtcoreStateSetParallel(3) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    for (int k = 0; k < 3; k++) {
        CHECK(reentry_rc[k] == -1);
        CHECK(reentry_code[k] == VIR_ERR_OPERATION_INVALID);
    }
    CHECK(virStateCleanup() == 0);
    return 0;
}

/* The per-thread hook: a worker is "set up" (as libvirtd's identity) before any driver's
 * stateInitialize runs on it; the caller's thread was set up by the daemon itself. */
static __thread bool thread_set_up;
static int hook_calls, hook_opaque_ok, hook_reentry_rc = 99, inits_not_set_up;
static pthread_t main_thread;
static int marker;

static void thread_hook(void *opaque)
{
    __atomic_add_fetch(&hook_calls, 1, __ATOMIC_SEQ_CST);
    if (opaque == &marker)
        __atomic_add_fetch(&hook_opaque_ok, 1, __ATOMIC_SEQ_CST);
    CHECK(!pthread_equal(pthread_self(), main_thread));
    hook_reentry_rc = virStateReload();
    thread_set_up = true;
}

static void needs_set_up(int i)
{
    (void)i;
    if (!thread_set_up)
        __atomic_add_fetch(&inits_not_set_up, 1, __ATOMIC_SEQ_CST);
}

static int per_thread_hook(void)
{
    setup();
    main_thread = pthread_self();
    thread_set_up = true; /* what the daemon did on its own thread */
    td_init_extra = needs_set_up;
    CHECK(virtcoreStateSetThreadHook(thread_hook, &marker) == 0);
    CHECK(virtcoreStateSetParallel(3) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(inits_not_set_up == 0);
    /* Up to two workers per tier (the caller is the third), three tiers. */
    CHECK(hook_calls >= 1 && hook_calls <= 6 && hook_opaque_ok == hook_calls);
    CHECK(hook_reentry_rc == -1);
    CHECK(virStateCleanup() == 0);
    /* Removed: no further calls. */
    CHECK(virtcoreStateSetThreadHook(NULL, NULL) == 0);
    int before = hook_calls;
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(hook_calls == before);
    CHECK(virStateCleanup() == 0);
    return 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    snprintf(seq_msg, sizeof(seq_msg), "%s/sequential-error", td_base);
    CHECK_FORKED(sequential);
    CHECK_FORKED(parallel);
    CHECK_FORKED(failing_sequential);
    CHECK_FORKED(failing_parallel);
    CHECK_FORKED(reentry_from_worker);
    CHECK_FORKED(per_thread_hook);
    rm_tree(td_base);
    TEST_DONE();
}
