/* test_state_util.h: helpers shared by the c-tests/test_state_*.c programs.
 *
 * - A trace: every hook of a test driver appends "hook:name" (thread-safe), and a test
 *   compares the whole trace with the expected string.
 * - Up to TD_MAX test drivers whose behaviour is set per driver (tier, init result, error
 *   to report, return codes of the lifecycle hooks). stateInitialize carries no driver
 *   argument, so each driver gets its own generated set of hook functions.
 * - run_forked(): the registry is process-global and has no unregister, so scenarios that
 *   need a fresh registry run in a child process.
 */
#ifndef VIRTCORE_TEST_STATE_UTIL_H
#define VIRTCORE_TEST_STATE_UTIL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define TU __attribute__((unused))
#define TD_MAX 24

/* ---- trace --------------------------------------------------------------------------- */

static char td_trace[8192];
static pthread_mutex_t td_lock = PTHREAD_MUTEX_INITIALIZER;

static TU void trace_add(const char *hook, const char *name)
{
    pthread_mutex_lock(&td_lock);
    size_t len = strlen(td_trace);
    snprintf(td_trace + len, sizeof(td_trace) - len, "%s%s:%s", len ? " " : "", hook, name);
    pthread_mutex_unlock(&td_lock);
}

static TU void trace_reset(void)
{
    pthread_mutex_lock(&td_lock);
    td_trace[0] = '\0';
    pthread_mutex_unlock(&td_lock);
}

/* Only the entries of the trace starting with `prefix` (e.g. "auto:"), space-separated. */
static TU const char *trace_only(const char *prefix)
{
    static char out[8192];
    char copy[8192];
    char *save = NULL, *tok;
    out[0] = '\0';
    pthread_mutex_lock(&td_lock);
    snprintf(copy, sizeof(copy), "%s", td_trace);
    pthread_mutex_unlock(&td_lock);
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (strncmp(tok, prefix, strlen(prefix)) != 0)
            continue;
        size_t len = strlen(out);
        snprintf(out + len, sizeof(out) - len, "%s%s", len ? " " : "", tok);
    }
    return out;
}

/* Position of entry `what` ("init:a") in the trace, or -1. */
static TU int trace_pos(const char *what)
{
    char copy[8192];
    char *save = NULL, *tok;
    int i = 0;
    pthread_mutex_lock(&td_lock);
    snprintf(copy, sizeof(copy), "%s", td_trace);
    pthread_mutex_unlock(&td_lock);
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++)
        if (strcmp(tok, what) == 0)
            return i;
    return -1;
}

#define CHECK_STR(actual, expected)                                                   \
    do {                                                                              \
        const char *a_ = (actual), *e_ = (expected);                                  \
        testutil_checks++;                                                            \
        if (strcmp(a_, e_) != 0) {                                                    \
            fprintf(stderr, "%s:%d: got      \"%s\"\n%s:%d: expected \"%s\"\n",       \
                    __FILE__, __LINE__, a_, __FILE__, __LINE__, e_);                  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#define CHECK_TRACE(expected) CHECK_STR(td_trace, (expected))

/* The last error message contains `needle`. */
#define CHECK_MSG(needle)                                                             \
    do {                                                                              \
        testutil_checks++;                                                            \
        if (!strstr(virGetLastErrorMessage(), (needle))) {                            \
            fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__,         \
                    __LINE__, virGetLastErrorMessage(), (needle));                    \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* ---- test drivers ------------------------------------------------------------------ */

enum { H_CLEANUP, H_RELOAD, H_STOP, H_PREPARE, H_WAIT, H_COUNT };
static const char *const td_hook_names[H_COUNT] = {"cleanup", "reload", "stop", "prepare",
                                                   "wait"};

struct td {
    virStateDriver drv;
    virtcoreStateDriverExt ext; /* tier, needs, autostart: registered with the driver */
    char name[32];
    /* behaviour */
    int init_result;       /* returned by stateInitialize */
    int err_code;          /* if nonzero, reported (VIR_FROM_QEMU) before returning */
    const char *err_msg;
    int hook_rc[H_COUNT];  /* returned by the lifecycle hooks */
    int init_sleep_ms;     /* work done in stateInitialize */
    bool call_inhibit;     /* call the inhibit callback (true, then false) */
    /* observations */
    int n_init, n_auto, n_hook[H_COUNT];
    bool seen_privileged, seen_monolithic;
    char seen_root[256];
    bool seen_root_null;
    virStateInhibitCallback seen_cb;
    void *seen_opaque;
    bool initialized_at_hook; /* drv.initialized when a lifecycle hook ran (must be true) */
    int hook_after_cleanup;   /* lifecycle hook calls after this driver's cleanup */
    bool cleaned;
};

static struct td tds[TD_MAX];

/* Optional per-test hook into every stateInitialize (e.g. a rendezvous). */
static void (*td_init_extra)(int i);

static TU void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static virDrvStateInitResult td_init(int i, bool privileged, const char *root,
                                     bool monolithic, virStateInhibitCallback cb,
                                     void *opaque)
{
    struct td *t = &tds[i];
    trace_add("init", t->name);
    __atomic_add_fetch(&t->n_init, 1, __ATOMIC_SEQ_CST);
    t->seen_privileged = privileged;
    t->seen_monolithic = monolithic;
    t->seen_root_null = root == NULL;
    snprintf(t->seen_root, sizeof(t->seen_root), "%s", root ? root : "");
    t->seen_cb = cb;
    t->seen_opaque = opaque;
    t->cleaned = false;
    if (t->call_inhibit && cb) {
        cb(true, opaque);
        cb(false, opaque);
    }
    if (td_init_extra)
        td_init_extra(i);
    if (t->init_sleep_ms)
        sleep_ms(t->init_sleep_ms);
    if (t->err_code)
        virReportErrorHelper(VIR_FROM_QEMU, t->err_code, __FILE__, __func__, __LINE__,
                             "%s", t->err_msg);
    return t->init_result;
}

static void td_autostart(int i)
{
    trace_add("auto", tds[i].name);
    __atomic_add_fetch(&tds[i].n_auto, 1, __ATOMIC_SEQ_CST);
}

static int td_hook(int i, int h)
{
    struct td *t = &tds[i];
    trace_add(td_hook_names[h], t->name);
    __atomic_add_fetch(&t->n_hook[h], 1, __ATOMIC_SEQ_CST);
    if (h == H_CLEANUP) {
        t->cleaned = true;
    } else {
        if (t->cleaned)
            __atomic_add_fetch(&t->hook_after_cleanup, 1, __ATOMIC_SEQ_CST);
        t->initialized_at_hook = t->drv.initialized;
    }
    return t->hook_rc[h];
}

#define TD_FUNCS(i)                                                                    \
    static virDrvStateInitResult td_init_##i(bool p, const char *r, bool m,            \
                                             virStateInhibitCallback cb, void *o)      \
    { return td_init(i, p, r, m, cb, o); }                                             \
    static void td_auto_##i(void) { td_autostart(i); }                                 \
    static int td_cleanup_##i(void) { return td_hook(i, H_CLEANUP); }                  \
    static int td_reload_##i(void) { return td_hook(i, H_RELOAD); }                    \
    static int td_stop_##i(void) { return td_hook(i, H_STOP); }                        \
    static int td_prepare_##i(void) { return td_hook(i, H_PREPARE); }                  \
    static int td_wait_##i(void) { return td_hook(i, H_WAIT); }

#define TD_LIST(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12)    \
    X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
TD_LIST(TD_FUNCS)

#define TD_ENTRY(i) {td_init_##i, td_auto_##i, td_cleanup_##i, td_reload_##i, td_stop_##i, \
                     td_prepare_##i, td_wait_##i},
static const struct {
    virDrvStateInitialize init;
    virDrvStateAutoStart autostart;
    virDrvStateCleanup cleanup;
    virDrvStateReload reload;
    virDrvStateStop stop;
    virDrvStateShutdownPrepare prepare;
    virDrvStateShutdownWait wait;
} td_fns[TD_MAX] TU = {TD_LIST(TD_ENTRY)};

/* Sets up test driver `i` (all hooks, autostart included, COMPLETE) and returns it. */
static TU virStateDriver *td_make(int i, const char *name, int tier)
{
    struct td *t = &tds[i];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->drv.name = t->name;
    t->drv.stateInitialize = td_fns[i].init;
    t->ext.size = sizeof(t->ext);
    t->ext.stateAutoStart = td_fns[i].autostart;
    t->drv.stateCleanup = td_fns[i].cleanup;
    t->drv.stateReload = td_fns[i].reload;
    t->drv.stateStop = td_fns[i].stop;
    t->drv.stateShutdownPrepare = td_fns[i].prepare;
    t->drv.stateShutdownWait = td_fns[i].wait;
    t->ext.tier = tier;
    t->init_result = VIR_DRV_STATE_INIT_COMPLETE;
    return &t->drv;
}

/* td_make + virtcoreRegisterStateDriverExt (the driver with its extension), checking the
 * returned index. The extension is read while registered: tests may change it until
 * virStateInitialize. */
#define TD_REGISTER(i, name, tier, expect_index)                                       \
    CHECK(virtcoreRegisterStateDriverExt(td_make((i), (name), (tier)), &tds[(i)].ext) ==  \
          (expect_index))

/* ---- processes and directories ----------------------------------------------------- */

/* Runs fn() in a child process; returns its exit status (0 = all its CHECKs passed). */
static TU int run_forked(int (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int rc = fn();
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

/* A scenario function that runs in a child: CHECK exits 1 there; it returns 0. */
#define CHECK_FORKED(fn)                                                               \
    do {                                                                               \
        int rc_ = run_forked(fn);                                                      \
        testutil_checks++;                                                             \
        if (rc_ != 0) {                                                                \
            fprintf(stderr, "%s:%d: scenario %s failed (exit %d)\n", __FILE__,          \
                    __LINE__, #fn, rc_);                                               \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static TU void rm_tree(const char *dir)
{
    char cmd[600];
    if (dir && strncmp(dir, "/tmp/virtcore-state-test-", 25) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
}

/* The temp dirs made by make_tmpdir, removed when the process that made them exits (also
 * after a failed CHECK); children (fork) exiting leave them alone. */
static const char *td_tmpdirs[4];
static pid_t td_tmpdir_owner;

static void td_remove_tmpdirs(void)
{
    if (getpid() != td_tmpdir_owner)
        return;
    for (int i = 0; i < 4; i++)
        if (td_tmpdirs[i])
            rm_tree(td_tmpdirs[i]);
}

/* A fresh temporary directory (absolute path) in `buf`, which must stay valid. */
static TU const char *make_tmpdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/virtcore-state-test-XXXXXX");
    if (!mkdtemp(buf))
        return NULL;
    if (!td_tmpdir_owner) {
        td_tmpdir_owner = getpid();
        atexit(td_remove_tmpdirs);
    }
    for (int i = 0; i < 4; i++)
        if (!td_tmpdirs[i]) {
            td_tmpdirs[i] = buf;
            break;
        }
    return buf;
}

/* The test's base temp dir (made by main with make_tmpdir) and a fresh subdirectory of it
 * for each call, e.g. an autostart run dir per scenario (markers of one scenario must not
 * skip the autostarts of the next). */
static char td_base[64];

static TU const char *fresh_dir(void)
{
    static char dir[128];
    static int n;
    snprintf(dir, sizeof(dir), "%s/d-%ld-%d", td_base, (long)getpid(), n++);
    if (mkdir(dir, 0755) < 0) {
        perror(dir);
        exit(1);
    }
    return dir;
}

static TU bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* First line of a file, without the newline ("" when it cannot be read). */
static TU const char *read_line(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

static TU const char *boot_id(void)
{
    static char id[64];
    snprintf(id, sizeof(id), "%s", read_line("/proc/sys/kernel/random/boot_id"));
    return id;
}

#endif
