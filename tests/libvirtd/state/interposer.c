/* interposer.c: runs Debian's unmodified libvirtd 9.0 on virtcore's state core (a test
 * tool, built by c-tests/state.mk, never installed).
 *
 * LD_PRELOADed into /usr/sbin/libvirtd, it defines libvirt's virRegisterStateDriver,
 * virStateInitialize, virStateCleanup, virStateReload, virStateStop,
 * virStateShutdownPrepare and virStateShutdownWait with libvirt's symbol version
 * (LIBVIRT_PRIVATE_9.0.0, interposer.map). libvirtd, its driver modules and libvirt.so
 * itself (remoteRegister; built without -Bsymbolic) bind to these at run time, and they
 * hand every call to virtcore, which this file dlopens privately (RTLD_LOCAL |
 * RTLD_DEEPBIND; its functions looked up at VIRTCORE_0.1, so libvirt's names never clash).
 *
 * - A 9.0 driver is registered with virtcore through a shadow struct whose hooks are
 *   trampolines: they call the driver's real hook and, when it fails, carry the error the
 *   driver reported to libvirt (libvirt's thread-local error) over to virtcore, so that
 *   virtcore's "Initialization of NAME state driver failed: MESSAGE" has the driver's own
 *   code and message. The shadow's `initialized` is mirrored into the real struct.
 * - When a virtcore call fails, its error (code, domain, message) is reported to libvirt
 *   with virReportErrorHelper, so libvirtd logs libvirt's message and acts on the result.
 * - Tiers: virtcore's defaults (QEMU and libvirt's other hypervisors in tier 1, the rest
 *   in tier 0); VIRTCORE_STATE_TIERS="NAME=TIER,..." overrides by name.
 * - virtcore's log (each driver's tier and start time) goes to $VIRTCORE_STATE_LOG
 *   (appended) if set, else is left to virtcore (stderr).
 * - LD_PRELOAD is removed from the environment at load time, so the processes libvirtd
 *   starts (QEMU, dnsmasq, helpers) do not load this file.
 * - VIRTCORE_STATE_PARALLEL=N (off by default): the drivers of a tier start on N threads;
 *   each worker first takes the identity of libvirtd's start-up thread
 *   (virIdentityGetCurrent there, virIdentitySetCurrent on the worker, through
 *   virtcoreStateSetThreadHook). Only for drivers that may start side by side.
 * - The autostart markers go to /run/libvirt/virtcore (9.0 drivers autostart inside their
 *   own stateInitialize, as in libvirt, so none is written in practice). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef VIRTCORE_SO
#error "build with -DVIRTCORE_SO='\"/path/to/libvirtcore.so.0\"'"
#endif

#define EXPORT __attribute__((visibility("default")))

/* libvirt 9.0's src/driver-state.h (also virtcore's virStateDriver). */
typedef void (*inhibit_cb)(bool inhibit, void *opaque);
typedef int (*init_fn)(bool privileged, const char *root, bool monolithic, inhibit_cb cb,
                       void *opaque);
typedef int (*hook_fn)(void);
typedef struct {
    const char *name;
    bool initialized;
    init_fn stateInitialize;
    hook_fn stateCleanup, stateReload, stateStop, stateShutdownPrepare, stateShutdownWait;
} state_driver;
_Static_assert(sizeof(state_driver) == 64, "libvirt 9.0's virStateDriver");

/* libvirt's public virError (virtcore's has the same layout). For an error raised by
 * virReportErrorHelper, `message` is "PREFIX: TEXT" (the prefix from the code) and `str2`
 * is TEXT alone. */
typedef struct {
    int code;
    int domain;
    char *message;
    int level;
    void *conn, *dom;
    char *str1, *str2, *str3;
    int int1, int2;
    void *net;
} lv_error_head;

/* From libvirt.so.0 (the daemon's own libvirt). */
extern void virReportErrorHelper(int domcode, int errcode, const char *filename,
                                 const char *funcname, size_t linenr, const char *fmt, ...);
extern lv_error_head *virGetLastError(void);
extern void *virIdentityGetCurrent(void);
extern int virIdentitySetCurrent(void *ident);
/* Raises an error with exactly this message (virReportErrorHelper would prefix it again). */
extern void virRaiseErrorFull(const char *filename, const char *funcname, size_t linenr,
                              int domain, int code, int level, const char *str1,
                              const char *str2, const char *str3, int int1, int int2,
                              const char *fmt, ...);

/* From virtcore, looked up by version. */
static struct {
    int (*reg)(state_driver *);
    int (*init)(bool, bool, const char *, bool, inhibit_cb, void *);
    int (*cleanup)(void), (*reload)(void), (*stop)(void), (*prepare)(void), (*wait)(void);
    int (*set_tier)(const char *, int);
    int (*set_run_dir)(const char *);
    void (*set_log)(void (*)(int, const char *, const char *, void *), void *);
    int (*set_log_level)(int);
    int (*set_parallel)(unsigned);
    int (*set_thread_hook)(void (*)(void *), void *);
    lv_error_head *(*last_error)(void);
    void (*report)(int, int, const char *, const char *, size_t, const char *, ...);
} vc;

static void die(const char *what)
{
    fprintf(stderr, "virtcore state interposer: %s\n", what);
    _exit(70);
}

static void lookup(void *handle, void *slot, size_t size, const char *name)
{
    void *p = dlvsym(handle, name, "VIRTCORE_0.1");
    if (!p)
        die(name);
    memcpy(slot, &p, size);
}
#define LOOKUP(h, field, name) lookup((h), &vc.field, sizeof(vc.field), (name))

static int log_fd = -1;
static bool parallel;

static void log_to_file(int priority, const char *source, const char *message, void *opaque)
{
    static const char *const names[] = {"?", "debug", "info", "warning", "error"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    (void)opaque;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    /* Like libvirt's log lines, with the thread id (libvirt's "PID:" field is one too). */
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03ld: %d: %s : %s: %s\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, (int)gettid(),
                     names[priority >= 1 && priority <= 4 ? priority : 0], source, message);
    if (n > 0 && write(log_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0) {
        /* nothing to do: logging must never fail the daemon */
    }
}

/* VIRTCORE_STATE_TIERS="QEMU=1,udev=0": the daemon's tier for drivers by name. */
static void apply_tiers(const char *spec)
{
    char *copy = strdup(spec), *save = NULL, *tok;
    if (!copy)
        die("out of memory");
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strrchr(tok, '=');
        if (!eq)
            die("VIRTCORE_STATE_TIERS: expected NAME=TIER");
        *eq = '\0';
        if (vc.set_tier(tok, atoi(eq + 1)) < 0)
            die("VIRTCORE_STATE_TIERS: refused by virtcoreStateDriverSetTier");
    }
    free(copy);
}

__attribute__((constructor)) static void interposer_load(void)
{
    const char *v;
    /* Children of libvirtd must not load this file. */
    unsetenv("LD_PRELOAD");
    void *h = dlopen(VIRTCORE_SO, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h)
        die(dlerror());
    LOOKUP(h, reg, "virRegisterStateDriver");
    LOOKUP(h, init, "virStateInitialize");
    LOOKUP(h, cleanup, "virStateCleanup");
    LOOKUP(h, reload, "virStateReload");
    LOOKUP(h, stop, "virStateStop");
    LOOKUP(h, prepare, "virStateShutdownPrepare");
    LOOKUP(h, wait, "virStateShutdownWait");
    LOOKUP(h, set_tier, "virtcoreStateDriverSetTier");
    LOOKUP(h, set_run_dir, "virtcoreStateSetRunDir");
    LOOKUP(h, set_log, "virtcoreLogSetCallback");
    LOOKUP(h, set_log_level, "virtcoreLogSetLevel");
    LOOKUP(h, last_error, "virGetLastError");
    LOOKUP(h, set_parallel, "virtcoreStateSetParallel");
    LOOKUP(h, set_thread_hook, "virtcoreStateSetThreadHook");
    LOOKUP(h, report, "virReportErrorHelper");
    if ((v = getenv("VIRTCORE_STATE_LOG")) && *v) {
        log_fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0)
            die("cannot open $VIRTCORE_STATE_LOG");
        vc.set_log(log_to_file, NULL);
        if (!getenv("VIRTCORE_DEBUG"))
            vc.set_log_level(2); /* info: tiers and start times */
    }
    if ((v = getenv("VIRTCORE_STATE_TIERS")) && *v)
        apply_tiers(v);
    if ((v = getenv("VIRTCORE_STATE_PARALLEL")) && *v && atoi(v) > 1) {
        if (vc.set_parallel((unsigned)atoi(v)) < 0)
            die("VIRTCORE_STATE_PARALLEL refused by virtcoreStateSetParallel");
        parallel = true;
    }
    if (vc.set_run_dir("/run/libvirt/virtcore") < 0)
        die("virtcoreStateSetRunDir refused /run/libvirt/virtcore");
}

/* ---- errors both ways ----------------------------------------------------------------- */

/* virtcore's last error -> libvirt's (what libvirtd logs and reports), message as is. */
static void to_libvirt(const char *func)
{
    lv_error_head *e = vc.last_error();
    if (e && e->message)
        virRaiseErrorFull(__FILE__, func, __LINE__, e->domain, e->code, 2 /* VIR_ERR_ERROR */,
                          NULL, e->message, NULL, -1, -1, "%s", e->message);
    else
        virReportErrorHelper(0, 1, __FILE__, func, __LINE__, "%s failed in virtcore", func);
}

/* libvirt's last error (what a driver reported) -> virtcore's: the text without libvirt's
 * prefix, which virtcore's virReportErrorHelper adds again from the code. */
static void to_virtcore(const char *name, const char *hook)
{
    lv_error_head *e = virGetLastError();
    if (e && (e->str2 || e->message))
        vc.report(e->domain, e->code, __FILE__, hook, __LINE__, "%s",
                  e->str2 ? e->str2 : e->message);
    else
        vc.report(0, 1, __FILE__, hook, __LINE__, "%s of '%s' failed without an error", hook,
                  name);
}

/* ---- shadows and trampolines ---------------------------------------------------------- */

#define SLOTS 32
/* Indexed by a trampoline set's name number (0..7, 10..17, 20..27, 30..37). */
static state_driver *real[40];
static state_driver shadow[SLOTS];
static int nslots;
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static int t_init(int i, bool p, const char *r, bool m, inhibit_cb cb, void *o)
{
    int rc = real[i]->stateInitialize(p, r, m, cb, o);
    if (rc < 0)
        to_virtcore(real[i]->name, "stateInitialize");
    real[i]->initialized = rc == 1; /* VIR_DRV_STATE_INIT_COMPLETE, as virtcore counts */
    return rc;
}

static int t_hook(int i, hook_fn fn, const char *hook)
{
    int rc = fn();
    if (rc < 0)
        to_virtcore(real[i]->name, hook);
    return rc;
}

#define TRAMPOLINES(i)                                                                      \
    static int init_##i(bool p, const char *r, bool m, inhibit_cb cb, void *o)              \
    { return t_init(i, p, r, m, cb, o); }                                                   \
    static int cleanup_##i(void)                                                            \
    {                                                                                       \
        int rc = t_hook(i, real[i]->stateCleanup, "stateCleanup");                          \
        real[i]->initialized = false;                                                       \
        return rc;                                                                          \
    }                                                                                       \
    static int reload_##i(void) { return t_hook(i, real[i]->stateReload, "stateReload"); } \
    static int stop_##i(void) { return t_hook(i, real[i]->stateStop, "stateStop"); }       \
    static int prepare_##i(void)                                                            \
    { return t_hook(i, real[i]->stateShutdownPrepare, "stateShutdownPrepare"); }            \
    static int wait_##i(void)                                                               \
    { return t_hook(i, real[i]->stateShutdownWait, "stateShutdownWait"); }
#define X8(m, b) m(b##0) m(b##1) m(b##2) m(b##3) m(b##4) m(b##5) m(b##6) m(b##7)
#define ALL(m) X8(m, ) X8(m, 1) X8(m, 2) X8(m, 3)
/* Slots 0..7, 10..17, 20..27, 30..37: 32 sets of trampolines. */
ALL(TRAMPOLINES)

#define ENTRY(i) {init_##i, cleanup_##i, reload_##i, stop_##i, prepare_##i, wait_##i},
static const struct {
    init_fn init;
    hook_fn cleanup, reload, stop, prepare, wait;
} tramp[SLOTS] = {ALL(ENTRY)};
/* The real[] index the k-th trampoline set uses: the number in its name. */
static int slot_index(int k) { return k / 8 * 10 + k % 8; }

/* ---- libvirt's state-driver API, handed to virtcore ----------------------------------- */

EXPORT int virRegisterStateDriver(state_driver *driver)
{
    int rc;
    if (!driver || !driver->name) {
        rc = vc.reg(driver); /* virtcore refuses the bad argument, naming it */
        to_libvirt(__func__);
        return rc;
    }
    pthread_mutex_lock(&slots_lock);
    if (nslots == SLOTS) {
        pthread_mutex_unlock(&slots_lock);
        virReportErrorHelper(0, 1, __FILE__, __func__, __LINE__,
                             "too many state drivers for the interposer, cannot register %s",
                             driver->name);
        return -1;
    }
    int k = nslots, i = slot_index(k);
    real[i] = driver;
    shadow[k] = (state_driver){
        .name = driver->name,
        .stateInitialize = driver->stateInitialize ? tramp[k].init : NULL,
        .stateCleanup = driver->stateCleanup ? tramp[k].cleanup : NULL,
        .stateReload = driver->stateReload ? tramp[k].reload : NULL,
        .stateStop = driver->stateStop ? tramp[k].stop : NULL,
        .stateShutdownPrepare = driver->stateShutdownPrepare ? tramp[k].prepare : NULL,
        .stateShutdownWait = driver->stateShutdownWait ? tramp[k].wait : NULL,
    };
    rc = vc.reg(&shadow[k]);
    if (rc >= 0)
        nslots++;
    pthread_mutex_unlock(&slots_lock);
    if (rc < 0)
        to_libvirt(__func__);
    return rc;
}

/* A parallel worker's set-up: the identity libvirtd gave its start-up thread. */
static void adopt_identity(void *ident)
{
    int rc = virIdentitySetCurrent(ident);
    if (log_fd >= 0)
        log_to_file(rc < 0 ? 4 : 2, "interposer", rc < 0 ? "worker: cannot set libvirtd's identity"
                                                         : "worker: took libvirtd's identity",
                    NULL);
}

EXPORT int virStateInitialize(bool privileged, bool mandatory, const char *root,
                              bool monolithic, inhibit_cb callback, void *opaque)
{
    void *ident = parallel ? virIdentityGetCurrent() : NULL; /* a new reference */
    if (ident)
        vc.set_thread_hook(adopt_identity, ident);
    int rc = vc.init(privileged, mandatory, root, monolithic, callback, opaque);
    if (rc < 0)
        to_libvirt(__func__);
    if (ident) {
        void (*unref)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "g_object_unref");
        vc.set_thread_hook(NULL, NULL);
        if (unref)
            unref(ident);
    }
    return rc;
}

#define FORWARD(name, field)                                                                \
    EXPORT int name(void)                                                                   \
    {                                                                                       \
        int rc = vc.field();                                                                \
        if (rc < 0)                                                                         \
            to_libvirt(#name);                                                              \
        return rc;                                                                          \
    }
FORWARD(virStateCleanup, cleanup)
FORWARD(virStateReload, reload)
FORWARD(virStateStop, stop)
FORWARD(virStateShutdownPrepare, prepare)
FORWARD(virStateShutdownWait, wait)
