/* test_state_conformance.c: ONE program, built twice: against virtcore (this binary) and
 * against Debian's libvirt.so.0 (bin/state_conformance_libvirt, see state.mk), driving
 * libvirt 9.0's state-driver API with drivers compiled the 9.0 way (the 64-byte struct,
 * registered with virRegisterStateDriver). Where the two libraries behave alike it checks
 * the same thing; where virtcore keeps a documented improvement, it checks each library's
 * own documented behaviour (LV(x, y): x under libvirt, y under virtcore).
 *
 * - layout: libvirt writes `initialized` and calls every hook through the struct this file
 *   declares (offsets 0..56, size 64), so the layout is Debian's; virtcore uses the same.
 * - duplicate names are accepted (Debian registers two "udev" drivers).
 * - a failing driver stops start-up; libvirt leaves it and those before it marked
 *   initialized and cleans all of them (and drivers never started) up later; virtcore
 *   rolls back at once and cleans up only initialized drivers.
 * - a skipped driver and one registered after start-up get stateCleanup/stateReload under
 *   libvirt, not under virtcore.
 * - virStateStop returns 1 (not -1) when a hook fails, in both; every stop hook runs.
 * - virStateShutdownPrepare/Wait: -1 in both; libvirt stops at the first failure, virtcore
 *   calls every driver.
 * - a second virStateInitialize starts only the drivers registered since, in both.
 * - virtcore's default tiers: libvirt's "QEMU" starts after the drivers of tier 0 although
 *   registered first; libvirt runs registration order. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef AGAINST_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
/* libvirt 9.0's src/driver-state.h (not installed by libvirt-dev), as 9.0 declares it. */
typedef enum {
    VIR_DRV_STATE_INIT_ERROR = -1,
    VIR_DRV_STATE_INIT_SKIPPED,
    VIR_DRV_STATE_INIT_COMPLETE,
} virDrvStateInitResult;
typedef void (*virStateInhibitCallback)(bool inhibit, void *opaque);
typedef virDrvStateInitResult (*virDrvStateInitialize)(bool privileged, const char *root,
                                                       bool monolithic,
                                                       virStateInhibitCallback callback,
                                                       void *opaque);
typedef int (*virDrvStateCleanup)(void);
typedef int (*virDrvStateReload)(void);
typedef int (*virDrvStateStop)(void);
typedef int (*virDrvStateShutdownPrepare)(void);
typedef int (*virDrvStateShutdownWait)(void);
typedef struct _virStateDriver virStateDriver;
struct _virStateDriver {
    const char *name;
    bool initialized;
    virDrvStateInitialize stateInitialize;
    virDrvStateCleanup stateCleanup;
    virDrvStateReload stateReload;
    virDrvStateStop stateStop;
    virDrvStateShutdownPrepare stateShutdownPrepare;
    virDrvStateShutdownWait stateShutdownWait;
};
/* src/libvirt_internal.h and virerror.h (exported @LIBVIRT_PRIVATE_9.0.0). */
int virRegisterStateDriver(virStateDriver *driver);
int virStateInitialize(bool privileged, bool mandatory, const char *root, bool monolithic,
                       virStateInhibitCallback callback, void *opaque);
int virStateCleanup(void);
int virStateReload(void);
int virStateStop(void);
int virStateShutdownPrepare(void);
int virStateShutdownWait(void);
void virReportErrorHelper(int domcode, int errcode, const char *filename,
                          const char *funcname, size_t linenr, const char *fmt, ...);
#define LV(libvirt, virtcore) (libvirt)
#define SETUP() (void)virInitialize()
#else
#include "virtcore.h"
#define LV(libvirt, virtcore) (virtcore)
#define SETUP() (void)0
#endif

static int checks;
#define CHECK(c)                                                                       \
    do {                                                                               \
        checks++;                                                                      \
        if (!(c)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__,     \
                    __LINE__, #c, virGetLastErrorMessage());                           \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)
#define CHECK_TRACE(expected)                                                          \
    do {                                                                               \
        checks++;                                                                      \
        if (strcmp(trace, (expected)) != 0) {                                          \
            fprintf(stderr, "%s:%d: trace \"%s\"\n%s:%d: expected \"%s\"\n", __FILE__,  \
                    __LINE__, trace, __FILE__, __LINE__, (expected));                  \
            exit(1);                                                                   \
        }                                                                              \
        trace[0] = '\0';                                                               \
    } while (0)

_Static_assert(sizeof(virStateDriver) == 64, "libvirt 9.0's virStateDriver is 64 bytes");
_Static_assert(offsetof(virStateDriver, name) == 0, "name");
_Static_assert(offsetof(virStateDriver, initialized) == 8, "initialized");
_Static_assert(offsetof(virStateDriver, stateInitialize) == 16, "stateInitialize");
_Static_assert(offsetof(virStateDriver, stateCleanup) == 24, "stateCleanup");
_Static_assert(offsetof(virStateDriver, stateReload) == 32, "stateReload");
_Static_assert(offsetof(virStateDriver, stateStop) == 40, "stateStop");
_Static_assert(offsetof(virStateDriver, stateShutdownPrepare) == 48, "prepare");
_Static_assert(offsetof(virStateDriver, stateShutdownWait) == 56, "wait");

/* ---- drivers: N slots, each with its own hooks and behaviour ------------------------- */

static char trace[4096];
static void add(const char *hook, int i);

enum { H_INIT, H_CLEANUP, H_RELOAD, H_STOP, H_PREPARE, H_WAIT, H_N };
#define N 6
struct slot {
    virStateDriver drv;
    char name[16];
    int rc[H_N]; /* returned by each hook (init: a virDrvStateInitResult) */
    bool seen_priv, seen_mono, seen_cb;
    char seen_root[32];
    void *seen_opaque;
} *s; /* the N slots (static in main) */

static void inhibit(bool on, void *opaque) { (void)on; (void)opaque; }

static int hook(int i, int h)
{
    static const char *names[H_N] = {"init", "cleanup", "reload", "stop", "prepare", "wait"};
    add(names[h], i);
    if (s[i].rc[h] < 0 || (h == H_INIT && s[i].rc[h] == VIR_DRV_STATE_INIT_ERROR))
        virReportErrorHelper(VIR_FROM_STORAGE, VIR_ERR_INTERNAL_ERROR, __FILE__, __func__,
                             __LINE__, "%s %s broke", s[i].name, names[h]);
    return s[i].rc[h];
}

#define FUNCS(i)                                                                       \
    static virDrvStateInitResult init_##i(bool p, const char *r, bool m,               \
                                          virStateInhibitCallback cb, void *o)         \
    {                                                                                  \
        s[i].seen_priv = p; s[i].seen_mono = m; s[i].seen_cb = cb == inhibit;          \
        s[i].seen_opaque = o;                                                          \
        snprintf(s[i].seen_root, sizeof(s[i].seen_root), "%s", r ? r : "(null)");      \
        return (virDrvStateInitResult)hook(i, H_INIT);                                 \
    }                                                                                  \
    static int cleanup_##i(void) { return hook(i, H_CLEANUP); }                        \
    static int reload_##i(void) { return hook(i, H_RELOAD); }                          \
    static int stop_##i(void) { return hook(i, H_STOP); }                              \
    static int prepare_##i(void) { return hook(i, H_PREPARE); }                        \
    static int wait_##i(void) { return hook(i, H_WAIT); }
FUNCS(0) FUNCS(1) FUNCS(2) FUNCS(3) FUNCS(4) FUNCS(5)

static void add(const char *hookname, int i)
{
    size_t len = strlen(trace);
    snprintf(trace + len, sizeof(trace) - len, "%s%s:%s", len ? " " : "", hookname,
             s[i].name);
}

/* Fills slot i (every hook, COMPLETE, all returning 0) and registers it the 9.0 way;
 * returns virRegisterStateDriver's result. */
static int reg(int i, const char *name)
{
#define SET(k) case k: d->stateInitialize = init_##k; d->stateCleanup = cleanup_##k;        \
    d->stateReload = reload_##k; d->stateStop = stop_##k;                               \
    d->stateShutdownPrepare = prepare_##k; d->stateShutdownWait = wait_##k; break;
    virStateDriver *d = &s[i].drv;
    memset(&s[i], 0, sizeof(s[i]));
    snprintf(s[i].name, sizeof(s[i].name), "%s", name);
    d->name = s[i].name;
    switch (i) { SET(0) SET(1) SET(2) SET(3) SET(4) SET(5) }
    s[i].rc[H_INIT] = VIR_DRV_STATE_INIT_COMPLETE;
    return virRegisterStateDriver(d);
}

static int init(bool mandatory)
{
    return virStateInitialize(true, mandatory, NULL, true, inhibit, &trace);
}

/* ---- scenarios (each in a fresh process: both registries are process-global) -------- */

static void layout(void)
{
    int base = reg(0, "net");
    CHECK(base >= 0);
    CHECK(!s[0].drv.initialized);
    CHECK(virStateInitialize(true, false, "/x/root", true, inhibit, &trace) == 0);
    CHECK(s[0].drv.initialized); /* the library wrote offset 8 */
    CHECK(s[0].seen_priv && s[0].seen_mono && s[0].seen_cb && s[0].seen_opaque == &trace);
    CHECK(strcmp(s[0].seen_root, "/x/root") == 0);
    CHECK(virStateReload() == 0 && virStateStop() == 0);
    CHECK(virStateShutdownPrepare() == 0 && virStateShutdownWait() == 0);
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("init:net reload:net stop:net prepare:net wait:net cleanup:net");
}

static void duplicates(void)
{
    int a = reg(0, "udev"), b = reg(1, "udev");
    CHECK(a >= 0 && b == a + 1);
    CHECK(init(false) == 0);
    CHECK(s[0].drv.initialized && s[1].drv.initialized);
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("init:udev init:udev cleanup:udev cleanup:udev");
}

static void failure(void)
{
    reg(0, "a");
    reg(1, "b");
    reg(2, "c");
    s[1].rc[H_INIT] = VIR_DRV_STATE_INIT_ERROR;
    CHECK(init(false) == -1);
    CHECK(strstr(virGetLastErrorMessage(), "b init broke"));
    CHECK_TRACE(LV("init:a init:b", "init:a init:b cleanup:a"));
    CHECK(s[0].drv.initialized == LV(true, false));
    CHECK(s[1].drv.initialized == LV(true, false));
    CHECK(!s[2].drv.initialized);
    /* What the daemon's exit path then does. */
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE(LV("cleanup:c cleanup:b cleanup:a", ""));
}

static void skipped_and_late(void)
{
    reg(0, "a");
    reg(1, "skips");
    s[1].rc[H_INIT] = VIR_DRV_STATE_INIT_SKIPPED;
    CHECK(init(false) == 0);
    CHECK(s[1].drv.initialized == LV(true, false));
    reg(2, "late"); /* registered after start-up, never initialized */
    CHECK(virStateReload() == 0);
    CHECK_TRACE(LV("init:a init:skips reload:a reload:skips reload:late",
                   "init:a init:skips reload:a"));
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE(LV("cleanup:late cleanup:skips cleanup:a", "cleanup:a"));
}

static void stop_and_shutdown(void)
{
    reg(0, "a");
    reg(1, "b");
    reg(2, "c");
    CHECK(init(false) == 0);
    CHECK_TRACE("init:a init:b init:c");
    s[1].rc[H_STOP] = -1;
    CHECK(virStateStop() == 1);
    CHECK_TRACE("stop:a stop:b stop:c");
    s[1].rc[H_RELOAD] = -1;
    CHECK(virStateReload() == -1);
    CHECK_TRACE("reload:a reload:b reload:c");
    s[1].rc[H_PREPARE] = -1;
    CHECK(virStateShutdownPrepare() == -1);
    CHECK_TRACE(LV("prepare:a prepare:b", "prepare:a prepare:b prepare:c"));
    s[1].rc[H_WAIT] = -1;
    CHECK(virStateShutdownWait() == -1);
    CHECK_TRACE(LV("wait:a wait:b", "wait:a wait:b wait:c"));
    s[0].rc[H_CLEANUP] = -1;
    CHECK(virStateCleanup() == -1); /* every driver is still cleaned up */
    CHECK_TRACE("cleanup:c cleanup:b cleanup:a");
}

static void second_initialize(void)
{
    reg(0, "a");
    CHECK(init(true) == 0);
    reg(1, "b");
    CHECK(init(true) == 0);
    CHECK(init(true) == 0);
    CHECK_TRACE("init:a init:b");
    CHECK(s[0].drv.initialized && s[1].drv.initialized);
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("cleanup:b cleanup:a");
}

static void default_tiers(void)
{
    reg(0, "QEMU");
    reg(1, "network");
    CHECK(init(false) == 0);
    CHECK_TRACE(LV("init:QEMU init:network", "init:network init:QEMU"));
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE(LV("cleanup:network cleanup:QEMU", "cleanup:QEMU cleanup:network"));
}

static void run(const char *name, void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        SETUP();
        fn();
        _exit(0);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "scenario %s failed\n", name);
        exit(1);
    }
    checks++;
}

int main(void)
{
    static struct slot slots[N];
    s = slots;
    run("layout", layout);
    run("duplicates", duplicates);
    run("failure", failure);
    run("skipped_and_late", skipped_and_late);
    run("stop_and_shutdown", stop_and_shutdown);
    run("second_initialize", second_initialize);
    run("default_tiers", default_tiers);
    printf("%s: %d checks passed (%s)\n", __FILE__, checks, LV("libvirt", "virtcore"));
    return 0;
}
