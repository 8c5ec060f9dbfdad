/* test_state_known_bugs.c: behaviour the state-driver implementation gets wrong at the
 * time of writing (reported to the lead). Each check is real: with
 * VIRTCORE_KNOWN_BUGS=fail in the environment a failing check fails the program (exit 1);
 * otherwise the failures are printed and the program exits 77 (SKIP, with the reason in
 * `make check`'s output) so the suite stays green until the fix lands. Once fixed, the
 * program passes. */
#include <ctype.h>
#include <sys/resource.h>
#include "test_state_util.h"

static int bugs;

#define KNOWN_BUG(cond, ...)                                                           \
    do {                                                                               \
        testutil_checks++;                                                             \
        if (!(cond)) {                                                                 \
            bugs++;                                                                    \
            fprintf(stderr, "%s:%d: KNOWN BUG: ", __FILE__, __LINE__);                 \
            fprintf(stderr, __VA_ARGS__);                                              \
            fprintf(stderr, "\n");                                                     \
            printf("known bug: ");                                                     \
            printf(__VA_ARGS__);                                                       \
            printf("\n");                                                              \
        }                                                                              \
    } while (0)

/* 1. A failing lifecycle hook's error. libvirt's virStateReload & co. return -1 and leave
 * the driver's own error as the last error; DESIGN.md: "every failing call leaves a
 * specific message that names the thing that failed". virtcore replaces it with
 * "operation failed: reload failed for at least one state driver" (VIR_ERR_OPERATION_FAILED,
 * VIR_FROM_NONE), which loses the driver's code, domain and message and names no driver. */
static int report_and_fail(void)
{
    virReportErrorHelper(VIR_FROM_STORAGE, VIR_ERR_CONFIG_UNSUPPORTED, __FILE__, __func__,
                         __LINE__, "pool config '%s' is invalid", "/etc/pools/p1.xml");
    return -1;
}

static void hook_errors(void)
{
    struct {
        const char *what;
        int (*call)(void);
    } calls[] = {
        {"virStateReload", virStateReload},
        {"virStateStop", virStateStop},
        {"virStateShutdownPrepare", virStateShutdownPrepare},
        {"virStateShutdownWait", virStateShutdownWait},
        {"virStateCleanup", virStateCleanup},
    };
    TD_REGISTER(0, "storage", 0, 0);
    TD_REGISTER(1, "qemu", 1, 1);
    tds[0].drv.stateReload = report_and_fail;
    tds[0].drv.stateStop = report_and_fail;
    tds[0].drv.stateShutdownPrepare = report_and_fail;
    tds[0].drv.stateShutdownWait = report_and_fail;
    tds[0].drv.stateCleanup = report_and_fail;
    CHECK(virtcoreStateSetRunDir(fresh_dir()) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        CHECK(calls[i].call() == -1);
        KNOWN_BUG(virGetLastErrorCode() == VIR_ERR_CONFIG_UNSUPPORTED &&
                      virGetLastErrorDomain() == VIR_FROM_STORAGE &&
                      strstr(virGetLastErrorMessage(), "pool config '/etc/pools/p1.xml' is invalid") &&
                      strstr(virGetLastErrorMessage(), "storage"),
                  "%s: the failing driver's error (code %d, domain %d, naming 'storage') is "
                  "lost: got code %d, domain %d, \"%s\"",
                  calls[i].what, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_STORAGE,
                  virGetLastErrorCode(), virGetLastErrorDomain(), virGetLastErrorMessage());
    }
    /* A hook failing without reporting anything: the message still names the driver. */
    tds[1].hook_rc[H_RELOAD] = -1;
    tds[0].drv.stateReload = NULL;
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(virStateReload() == -1);
    KNOWN_BUG(strstr(virGetLastErrorMessage(), "qemu") != NULL,
              "virStateReload: the error does not name the failing driver 'qemu': \"%s\"",
              virGetLastErrorMessage());
    virStateCleanup();
}

/* 2. The public header declares "typedef struct InitOptions InitOptions;", a Rust-internal
 * type with no vir/VIR prefix: any C program with its own InitOptions no longer compiles
 * ("conflicting types for 'InitOptions'"). Every type the header declares should carry
 * libvirt's or virtcore's prefix. */
static void header_names(void)
{
    FILE *f = fopen(VIRTCORE_HEADER, "r");
    char line[1024];
    CHECK(f);
    while (fgets(line, sizeof(line), f)) {
        char name[256];
        const char *p;
        if (strncmp(line, "typedef ", 8) != 0 || !strchr(line, ';'))
            continue;
        /* The declared name: after "(*" for function pointers, else the last identifier. */
        if ((p = strstr(line, "(*"))) {
            p += 2;
        } else {
            p = strchr(line, ';');
            while (p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
                p--;
        }
        size_t n = 0;
        while ((isalnum((unsigned char)p[n]) || p[n] == '_') && n < sizeof(name) - 1)
            n++;
        memcpy(name, p, n);
        name[n] = '\0';
        KNOWN_BUG(strncmp(name, "vir", 3) == 0 || strncmp(name, "VIR", 3) == 0,
                  "virtcore.h declares type '%s' without the vir/VIR prefix "
                  "(clashes with C programs' own names)", name);
    }
    fclose(f);
}

/* 3. Parallel mode runs stateInitialize on threads with Rust's default 2 MiB stack, while
 * sequential mode runs it on the caller's thread (8 MiB main thread, RLIMIT_STACK; also
 * glibc's pthread default). A driver needing 3 MiB of stack works sequentially and
 * crashes (SIGSEGV) in parallel mode: not "the same results as sequential". */
#define BIG_STACK (3 * 1024 * 1024)
static volatile char stack_sink;

static virDrvStateInitResult big_stack_init(bool p, const char *r, bool m,
                                            virStateInhibitCallback cb, void *o)
{
    volatile char buf[BIG_STACK];
    memset((char *)buf, 1, sizeof(buf));
    stack_sink = buf[BIG_STACK / 2];
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
    int rc = run_forked(big_stack_start);
    KNOWN_BUG(rc == 0,
              "parallel mode: a stateInitialize using 3 MiB of stack, fine sequentially, "
              "kills the process in parallel mode (exit %d; worker threads have 2 MiB stacks)",
              rc);
}

static int hook_errors_scenario(void)
{
    hook_errors();
    return bugs ? 3 : 0;
}

int main(void)
{
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    int rc = run_forked(hook_errors_scenario); /* fresh registry */
    CHECK(rc == 0 || rc == 3);
    if (rc == 3)
        bugs++;
    worker_stack();
    header_names();
    rm_tree(td_base);
    if (bugs) {
        const char *strict = getenv("VIRTCORE_KNOWN_BUGS");
        if (strict && strcmp(strict, "fail") == 0)
            return 1;
        SKIP("known state-driver bugs, reported: run c-tests/bin/test_state_known_bugs for details; VIRTCORE_KNOWN_BUGS=fail to fail");
    }
    TEST_DONE();
}
