/* test_state_worker_stack.c: parallel initialization gives drivers the stack sequential
 * mode gives them (found by the state tests: workers had Rust's default 2 MiB). */
#include <sys/resource.h>
#include "test_state_util.h"

/* Sequential mode runs stateInitialize on the caller's thread (8 MiB main thread,
 * RLIMIT_STACK); parallel workers must get as much, or a driver needing 3 MiB of stack
 * would work sequentially and crash (SIGSEGV) in parallel mode. */
#define BIG_STACK (3 * 1024 * 1024)
static volatile char stack_sink;

static virDrvStateInitResult big_stack_init(bool p, const char *r, bool m,
                                            virStateInhibitCallback cb, void *o)
{
    volatile char buf[BIG_STACK];
    memset((char *)buf, 1, sizeof(buf));
    stack_sink = buf[BIG_STACK / 2];
    sleep_ms(30); /* so that no single thread takes both drivers of the tier */
    return VIR_DRV_STATE_INIT_COMPLETE;
}

static unsigned int stack_threads;

static int big_stack_start(void)
{
    static virStateDriver a = {.name = "big1", .stateInitialize = big_stack_init};
    static virStateDriver b = {.name = "big2", .stateInitialize = big_stack_init};
    CHECK(virRegisterStateDriver(&a) == 0 && virRegisterStateDriver(&b) == 1);
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
    CHECK(virtcoreStateSetParallel(stack_threads) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(virStateCleanup() == 0);
    return 0;
}

static void worker_stack(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) < 0 ||
        (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * BIG_STACK)) {
        printf("stack limit too small for the worker-stack check; not run\n");
        return;
    }
    stack_threads = 0;
    CHECK(run_forked(big_stack_start) == 0); /* sequential: fine */
    stack_threads = 2;
    CHECK(run_forked(big_stack_start) == 0); /* parallel: as fine */
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    worker_stack();
    rm_tree(td_base);
    TEST_DONE();
}
