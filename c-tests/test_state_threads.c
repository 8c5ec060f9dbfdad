/* test_state_threads.c: the virState* functions from several threads at once. Concurrent
 * Reload/Stop/ShutdownPrepare/ShutdownWait reach every initialized driver once per call;
 * a Cleanup racing with them never lets a hook run on a cleaned-up driver (a reload while it
 * runs is refused with VIR_ERR_OPERATION_INVALID instead of waiting); two threads calling
 * virStateInitialize at once initialize every driver exactly once. Shutdown calls from
 * several threads while start-ups and cleanups cycle: every initialization is matched by
 * exactly one cleanup, no hook runs on a cleaned-up driver, nothing is left initialized. */
#include "test_state_util.h"

#define THREADS 8
#define ITERS 200
#define NDRV 4

static volatile int stop_flag;
static int race_rc_errors;

static void *hammer(void *arg)
{
    (void)arg;
    for (int k = 0; k < ITERS; k++) {
        int rc;
        switch (k % 4) {
        case 0: rc = virStateReload(); break;
        case 1: rc = virStateStop(); break;
        case 2: rc = virStateShutdownPrepare(); break;
        default: rc = virStateShutdownWait(); break;
        }
        if (rc != 0)
            __atomic_add_fetch(&race_rc_errors, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* A reload while initialize or cleanup runs is refused at once (never waits for it: a
 * hook's helper thread could be the caller); anything else must succeed. */
static int refused_reloads;
static void *reload_until_stopped(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST)) {
        if (virStateReload() == 0)
            continue;
        if (virGetLastErrorCode() == VIR_ERR_OPERATION_INVALID &&
            strstr(virGetLastErrorMessage(), "state drivers are being "))
            __atomic_add_fetch(&refused_reloads, 1, __ATOMIC_SEQ_CST);
        else
            __atomic_add_fetch(&race_rc_errors, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void setup(void)
{
    TD_REGISTER(0, "a", 0, 0);
    TD_REGISTER(1, "b", 0, 1);
    TD_REGISTER(2, "c", 1, 2);
    TD_REGISTER(3, "d", 2, 3);
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
}

static int hooks_and_cleanup(void)
{
    pthread_t th[THREADS];
    setup();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);

    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, hammer, NULL) == 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    CHECK(race_rc_errors == 0);
    for (int i = 0; i < NDRV; i++)
        for (int h = H_RELOAD; h <= H_WAIT; h++)
            CHECK(tds[i].n_hook[h] == THREADS * ITERS / 4);

    /* Cleanup while reloads run. */
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, reload_until_stopped, NULL) == 0);
    sleep_ms(20);
    CHECK(virStateCleanup() == 0);
    int after[NDRV];
    for (int i = 0; i < NDRV; i++)
        after[i] = __atomic_load_n(&tds[i].n_hook[H_RELOAD], __ATOMIC_SEQ_CST);
    sleep_ms(20);
    __atomic_store_n(&stop_flag, 1, __ATOMIC_SEQ_CST);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    CHECK(race_rc_errors == 0);
    for (int i = 0; i < NDRV; i++) {
        CHECK(tds[i].hook_after_cleanup == 0);   /* no hook on a cleaned-up driver */
        CHECK(tds[i].n_hook[H_RELOAD] == after[i]); /* none once cleanup returned */
        CHECK(tds[i].n_hook[H_CLEANUP] == 1);
        CHECK(!tds[i].drv.initialized);
    }
    return 0;
}

/* Errors are per thread: every thread whose reload failed sees the failing driver's error,
 * however the calls interleave. */
static int wrong_errors;

static void *failing_reloads(void *arg)
{
    (void)arg;
    for (int k = 0; k < ITERS; k++) {
        if (virStateReload() != -1 || !strstr(virGetLastErrorMessage(), "Reload of c state driver failed"))
            __atomic_add_fetch(&wrong_errors, 1, __ATOMIC_SEQ_CST);
        virResetLastError();
    }
    return NULL;
}

static int per_thread_errors(void)
{
    pthread_t th[THREADS];
    setup();
    tds[2].hook_rc[H_RELOAD] = -1;
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, failing_reloads, NULL) == 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    CHECK(wrong_errors == 0);
    CHECK(tds[3].n_hook[H_RELOAD] == THREADS * ITERS); /* the one after c still ran */
    CHECK(virStateCleanup() == 0);
    return 0;
}

static int init_rc[2], init_code[2];

static void *init_thread(void *arg)
{
    int k = (int)(long)arg;
    init_rc[k] = virStateInitialize(false, true, NULL, false, NULL, NULL);
    init_code[k] = virGetLastErrorCode();
    return NULL;
}

static int concurrent_initialize(void)
{
    pthread_t th[2 + THREADS];
    setup();
    tds[0].init_sleep_ms = 20;
    __atomic_store_n(&stop_flag, 0, __ATOMIC_SEQ_CST);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[2 + t], NULL, reload_until_stopped, NULL) == 0);
    for (int k = 0; k < 2; k++)
        CHECK(pthread_create(&th[k], NULL, init_thread, (void *)(long)k) == 0);
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    __atomic_store_n(&stop_flag, 1, __ATOMIC_SEQ_CST);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[2 + t], NULL);
    /* One starts the drivers; the other is refused while that runs, or (if it came
     * after) finds nothing left to start and returns 0, as libvirt 9.0 does. */
    for (int k = 0; k < 2; k++)
        CHECK(init_rc[k] == 0 || init_code[k] == VIR_ERR_OPERATION_INVALID);
    CHECK(init_rc[0] == 0 || init_rc[1] == 0);
    for (int i = 0; i < NDRV; i++) {
        CHECK(tds[i].n_init == 1 && tds[i].n_auto == 1);
        CHECK(tds[i].drv.initialized);
        /* A reload that reached a driver saw it fully initialized. */
        if (tds[i].n_hook[H_RELOAD])
            CHECK(tds[i].initialized_at_hook);
    }
    CHECK(virStateCleanup() == 0);
    return 0;
}

/* Shutdown requests from several threads while the main thread cycles start-up and
 * cleanup: each returns 0 (done, or deferred to the running start-up) or is refused while
 * a cleanup runs; a start-up ends complete or aborted by a request. */
static int shutdown_bad_rc;
static void *shutdown_until_stopped(void *arg)
{
    int k = (int)(long)arg;
    while (!__atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST)) {
        int rc;
        switch (k++ % 3) {
        case 0: rc = virStateShutdownPrepare(); break;
        case 1: rc = virStateShutdownWait(); break;
        default: rc = virStateCleanup(); break;
        }
        if (rc != 0 && virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID)
            __atomic_add_fetch(&shutdown_bad_rc, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static int shutdown_during_startups(void)
{
    pthread_t th[THREADS];
    int aborted = 0, bad_init = 0;
    setup();
    tds[1].init_sleep_ms = 1;
    __atomic_store_n(&stop_flag, 0, __ATOMIC_SEQ_CST);
    for (int t = 0; t < THREADS / 2; t++)
        CHECK(pthread_create(&th[t], NULL, shutdown_until_stopped, (void *)(long)t) == 0);
    for (int k = 0; k < 100; k++) {
        int rc = virStateInitialize(false, true, NULL, false, NULL, NULL);
        if (rc < 0 && virGetLastErrorCode() == VIR_ERR_OPERATION_ABORTED)
            aborted++;
        else if (rc < 0 && virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID)
            bad_init++;
        (void)virStateCleanup();
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_SEQ_CST);
    for (int t = 0; t < THREADS / 2; t++)
        pthread_join(th[t], NULL);
    CHECK(virStateCleanup() == 0);
    CHECK(bad_init == 0 && shutdown_bad_rc == 0);
    for (int i = 0; i < NDRV; i++) {
        CHECK(!tds[i].drv.initialized);
        CHECK(tds[i].n_init == tds[i].n_hook[H_CLEANUP]);
        CHECK(tds[i].hook_after_cleanup == 0);
    }
    printf("shutdown_during_startups: %d of 100 start-ups aborted by a request\n", aborted);
    return 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    CHECK_FORKED(hooks_and_cleanup);
    CHECK_FORKED(concurrent_initialize);
    CHECK_FORKED(per_thread_errors);
    CHECK_FORKED(shutdown_during_startups);
    rm_tree(td_base);
    TEST_DONE();
}
