/* test_state_hook_thread.c: a state-driver hook that hands work to a helper thread and
 * joins it, where the helper calls virStateReload, must not deadlock (libvirt has no lock
 * there). While virStateInitialize or virStateCleanup runs, the helper's call is refused at
 * once (VIR_ERR_OPERATION_INVALID, "state drivers are being initialized"/"cleaned up");
 * from a reload hook, the helper's nested reload runs. A watchdog alarm turns a deadlock
 * into a failure instead of a hung test run (nothing here depends on timing). */
#include <signal.h>
#include "test_state_util.h"

struct helper_result {
    int rc, code;
    char msg[256];
};

static void *reload_helper(void *arg)
{
    struct helper_result *r = arg;
    r->rc = virStateReload();
    r->code = virGetLastErrorCode();
    snprintf(r->msg, sizeof(r->msg), "%s", r->rc < 0 ? virGetLastErrorMessage() : "");
    return NULL;
}

/* Runs virStateReload on a new thread and waits for it, as a hook would. */
static struct helper_result run_helper(void)
{
    struct helper_result r = {99, 0, ""};
    pthread_t th;
    if (pthread_create(&th, NULL, reload_helper, &r) != 0 || pthread_join(th, NULL) != 0)
        r.rc = 98;
    return r;
}

static struct helper_result from_init, from_auto, from_cleanup, from_reload;
static int reload_depth;

static void init_extra(int i)
{
    if (i == 0)
        from_init = run_helper();
}
static void auto_hook(void) { from_auto = run_helper(); }
static int cleanup_hook(void) { from_cleanup = run_helper(); return 0; }
static int reload_hook(void)
{
    /* The helper's nested reload calls this hook again: only the outer one spawns. */
    if (__atomic_add_fetch(&reload_depth, 1, __ATOMIC_SEQ_CST) == 1)
        from_reload = run_helper();
    return 0;
}

#define CHECK_REFUSED(r, what)                                                       \
    do {                                                                             \
        CHECK((r).rc == -1 && (r).code == VIR_ERR_OPERATION_INVALID);                \
        if (!strstr((r).msg, "virStateReload refused: state drivers are being " what)) { \
            fprintf(stderr, "%s:%d: unexpected message '%s'\n", __FILE__, __LINE__,  \
                    (r).msg);                                                        \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static int scenario(void)
{
    alarm(120); /* deadlock watchdog */
    TD_REGISTER(0, "storage", 0, 0);
    TD_REGISTER(1, "qemu", 1, 1);
    td_init_extra = init_extra;
    tds[1].ext.stateAutoStart = auto_hook;
    tds[1].drv.stateCleanup = cleanup_hook;
    tds[0].drv.stateReload = reload_hook;
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);

    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_REFUSED(from_init, "initialized");
    CHECK_REFUSED(from_auto, "initialized");
    CHECK(tds[0].drv.initialized && tds[1].drv.initialized);

    /* From a reload hook: the helper's reload is not refused and reaches the drivers. */
    CHECK(virStateReload() == 0);
    CHECK(from_reload.rc == 0);
    CHECK(reload_depth == 2);
    CHECK(tds[1].n_hook[H_RELOAD] == 2);

    CHECK(virStateCleanup() == 0);
    CHECK_REFUSED(from_cleanup, "cleaned up");
    CHECK(!tds[0].drv.initialized && !tds[1].drv.initialized);

    /* Afterwards nothing is left busy. */
    CHECK(virStateReload() == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(virStateCleanup() == 0);
    return 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    CHECK_FORKED(scenario);
    rm_tree(td_base);
    TEST_DONE();
}
