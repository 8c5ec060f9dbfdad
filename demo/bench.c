/* bench.c: start-up time of 20 state drivers in 3 tiers, each stateInitialize doing about
 * 2 ms of work, sequential versus virtcoreStateSetParallel(N). Every start runs in a fresh
 * process (the driver registry is process-global) with a fresh autostart run dir, and
 * reports its time and the order in which the autostart hooks ran. */
#define _XOPEN_SOURCE 700
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define NDRV 20
#define RUNS 5

static int auto_log[NDRV];
static int nauto;

static virDrvStateInitResult bench_init(bool privileged, const char *root, bool monolithic,
                                        virStateInhibitCallback cb, void *opaque)
{
    struct timespec ts = {0, 2 * 1000 * 1000};
    (void)privileged; (void)root; (void)monolithic; (void)cb; (void)opaque;
    while (nanosleep(&ts, &ts) != 0) {
    }
    return VIR_DRV_STATE_INIT_COMPLETE;
}

/* Autostart hooks run on the thread calling virStateInitialize, one after another. */
#define AUTO(i) static void bench_auto_##i(void) { auto_log[nauto++] = i; }
AUTO(0) AUTO(1) AUTO(2) AUTO(3) AUTO(4) AUTO(5) AUTO(6) AUTO(7) AUTO(8) AUTO(9)
AUTO(10) AUTO(11) AUTO(12) AUTO(13) AUTO(14) AUTO(15) AUTO(16) AUTO(17) AUTO(18) AUTO(19)
static void (*const autos[NDRV])(void) = {
    bench_auto_0, bench_auto_1, bench_auto_2, bench_auto_3, bench_auto_4,
    bench_auto_5, bench_auto_6, bench_auto_7, bench_auto_8, bench_auto_9,
    bench_auto_10, bench_auto_11, bench_auto_12, bench_auto_13, bench_auto_14,
    bench_auto_15, bench_auto_16, bench_auto_17, bench_auto_18, bench_auto_19,
};

struct bench_result {
    int rc;
    double ms;
    int order[NDRV];
    int nauto;
};

/* Registration order interleaves the tiers (driver i is in tier i % 3), so the expected
 * autostart order is: tier 0 in registration order, then tier 1, then tier 2. */
static void child(const char *rundir, unsigned int parallel, int fd)
{
    static virStateDriver drv[NDRV];
    static virtcoreStateDriverExt ext[NDRV];
    static char names[NDRV][16];
    struct bench_result r;
    struct timespec t0, t1;
    int i;

    memset(&r, 0, sizeof(r));
    for (i = 0; i < NDRV; i++) {
        snprintf(names[i], sizeof(names[i]), "drv%02d", i);
        drv[i].name = names[i];
        drv[i].stateInitialize = bench_init;
        ext[i].size = sizeof(ext[i]);
        ext[i].stateAutoStart = autos[i];
        ext[i].tier = i % 3;
        if (virtcoreRegisterStateDriverExt(&drv[i], &ext[i]) < 0)
            r.rc = -1;
    }
    if (virtcoreStateSetRunDir(rundir) < 0 || virtcoreStateSetParallel(parallel) < 0)
        r.rc = -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (r.rc == 0)
        r.rc = virStateInitialize(false, true, NULL, false, NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    memcpy(r.order, auto_log, sizeof(r.order));
    r.nauto = nauto;
    virStateCleanup();
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        _exit(1);
    _exit(0);
}

static int run_once(const char *rundir, unsigned int parallel, struct bench_result *r)
{
    int fds[2], status;
    pid_t pid;
    ssize_t n;

    if (pipe(fds) < 0)
        return -1;
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        child(rundir, parallel, fds[1]);
    }
    close(fds[1]);
    n = read(fds[0], r, sizeof(*r));
    close(fds[0]);
    waitpid(pid, &status, 0);
    return (n == (ssize_t)sizeof(*r) && r->rc == 0 && r->nauto == NDRV) ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int demo_bench(const char *root)
{
    static const unsigned int modes[] = {0, 2, 4};
    int expected[NDRV], ref[NDRV];
    int m, k, i, n = 0, bad = 0;

    for (k = 0; k < 3; k++)
        for (i = k; i < NDRV; i += 3)
            expected[n++] = i;

    printf("\nStart-up time of %d drivers in 3 tiers (7/7/6), each stateInitialize doing ~2 ms of\n"
           "work (nanosleep); median of %d starts, each a fresh process with a fresh run dir:\n\n",
           NDRV, RUNS);
    printf("  %-32s %10s %15s   %s\n", "mode", "median", "(min-max)", "autostart order");
    for (m = 0; m < 3; m++) {
        double ms[RUNS];
        int same = 1;
        for (k = 0; k < RUNS; k++) {
            struct bench_result r;
            char rundir[PATH_MAX];
            snprintf(rundir, sizeof(rundir), "%s/run/bench-%d-%d", root, m, k);
            if (run_once(rundir, modes[m], &r) < 0) {
                printf("  start-up failed (mode %u)\n", modes[m]);
                return -1;
            }
            ms[k] = r.ms;
            if (m == 0 && k == 0)
                memcpy(ref, r.order, sizeof(ref));
            if (memcmp(r.order, ref, sizeof(ref)) != 0 ||
                memcmp(r.order, expected, sizeof(expected)) != 0)
                same = 0;
        }
        qsort(ms, RUNS, sizeof(ms[0]), cmp_double);
        {
            char label[64], range[48];
            if (modes[m] == 0)
                snprintf(label, sizeof(label), "sequential");
            else
                snprintf(label, sizeof(label), "virtcoreStateSetParallel(%u)", modes[m]);
            snprintf(range, sizeof(range), "(%.1f-%.1f ms)", ms[0], ms[RUNS - 1]);
            printf("  %-32s %7.1f ms %15s   %s\n", label, ms[RUNS / 2], range,
                   m == 0 ? (same ? "tier by tier, registration order (reference)"
                                  : "NOT the expected order")
                          : (same ? "identical to sequential" : "DIFFERENT from sequential"));
        }
        if (!same)
            bad = 1;
    }
    printf("  (parallel threads only help when drivers of one tier wait, e.g. on I/O; this\n"
           "   machine has %ld CPU(s))\n", sysconf(_SC_NPROCESSORS_ONLN));
    /* The figures move with whatever else the machine runs: say so rather than let a
     * reader take one run's order of the modes for a result. */
    printf("  These timings are one run of the demo on a machine that may be busy: with\n"
           "  other load the modes' order can flip. Only the autostart order is checked;\n"
           "  the ranges show the spread of the %d starts.\n", RUNS);
    return bad ? -1 : 0;
}
