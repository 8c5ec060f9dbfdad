/* testdrv.c: a purpose-built lock driver plugin for the loader and manager tests.
 *
 * Built several times with different -D switches (see c-tests/locking.mk), each variant
 * breaking exactly one thing the loader checks:
 *   (none)           a well-behaved driver that records its calls (testdrv.so)
 *   -DNO_IMPL        no virLockDriverImpl symbol                  (nosym.so)
 *   -DBAD_VERSION    plugin ABI 2.0.0                             (badver.so)
 *   -DNULL_ACQUIRE   drvAcquire is NULL (mandatory)               (nullcb.so)
 *   -DNO_INQUIRE     drvInquire is NULL (optional)                (noinquire.so)
 *   -DINIT_FAIL=1    drvInit fails and reports why                (initfail.so)
 *   -DINIT_FAIL=2    drvInit fails silently                       (initsilent.so)
 *   -DDEINIT_FAIL    drvDeinit returns -1: must never be unloaded  (deinitfail.so)
 *   -DUSES_STATE     sets VIR_LOCK_MANAGER_USES_STATE             (statedrv.so)
 *
 * Resource names steer failures: "fail-silent" makes drvAddResource fail without an
 * error, "fail-busy" makes it report VIR_ERR_RESOURCE_BUSY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <virtcore.h>

#define VIR_FROM_THIS VIR_FROM_LOCKING

/* What the test reads back (through dlsym on the loaded module). */
char testdrv_config[4096];
unsigned int testdrv_version;
int testdrv_inits, testdrv_deinits, testdrv_news, testdrv_frees;
int testdrv_resources, testdrv_acquires, testdrv_releases;
char testdrv_owner[256];
unsigned int testdrv_last_flags;
/* The failure action of every drvAcquire, one digit each, in order. */
char testdrv_actions[256];
/* Every call after drvInit, in order: "new(name,id,pid,uri,flags)", "add(type,name,flags[,params])",
 * "acquire(flags,state)", "release", "inquire", "free", separated by ';'. */
char testdrv_log[16384];

static void LOG(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
#include <stdarg.h>
static void LOG(const char *fmt, ...)
{
    va_list ap;
    size_t len = strlen(testdrv_log);
    va_start(ap, fmt);
    vsnprintf(testdrv_log + len, sizeof(testdrv_log) - len, fmt, ap);
    va_end(ap);
    len = strlen(testdrv_log);
    if (len + 1 < sizeof(testdrv_log)) {
        testdrv_log[len] = ';';
        testdrv_log[len + 1] = 0;
    }
}

struct priv {
    int nres;
    int held;
};

static __attribute__((unused)) int t_init(unsigned int version, const char *configFile, unsigned int flags)
{
    testdrv_version = version;
    snprintf(testdrv_config, sizeof(testdrv_config), "%s", configFile ? configFile : "(null)");
    testdrv_inits++;
    (void)flags;
#if defined(INIT_FAIL) && INIT_FAIL == 1
    virReportError(VIR_ERR_CONFIG_UNSUPPORTED, "testdrv cannot read %s", configFile);
    return -1;
#elif defined(INIT_FAIL) && INIT_FAIL == 2
    return -1;
#else
    return 0;
#endif
}

static __attribute__((unused)) int t_deinit(void)
{
    testdrv_deinits++;
#ifdef DEINIT_FAIL
    return -1;
#else
    return 0;
#endif
}

static __attribute__((unused)) int t_new(virLockManager *man, unsigned int type, size_t nparams,
                 virLockManagerParam *params, unsigned int flags)
{
    size_t i;
    struct priv *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    int id = -1, pid = -1;
    const char *uri = "-";
    for (i = 0; i < nparams; i++) {
        if (strcmp(params[i].key, "name") == 0 && params[i].type == VIR_LOCK_MANAGER_PARAM_TYPE_STRING)
            snprintf(testdrv_owner, sizeof(testdrv_owner), "%s", params[i].value.str);
        else if (strcmp(params[i].key, "id") == 0)
            id = params[i].value.iv;
        else if (strcmp(params[i].key, "pid") == 0)
            pid = params[i].value.iv;
        else if (strcmp(params[i].key, "uri") == 0 && params[i].value.cstr)
            uri = params[i].value.cstr;
    }
    LOG("new(%s,%d,%s,%s,%x)", testdrv_owner, id, pid == (int)getpid() ? "self" : "other", uri, flags);
    man->privateData = p;
    testdrv_news++;
    testdrv_last_flags = flags;
    (void)type;
    return 0;
}

static __attribute__((unused)) void t_free(virLockManager *man)
{
    free(man->privateData);
    man->privateData = NULL;
    LOG("free");
    testdrv_frees++;
}

static __attribute__((unused)) int t_add(virLockManager *man, unsigned int type, const char *name, size_t nparams,
                 virLockManagerParam *params, unsigned int flags)
{
    struct priv *p = man->privateData;
    size_t i;
    char extra[1024] = "";
    for (i = 0; i < nparams; i++) {
        size_t len = strlen(extra);
        if (params[i].type == VIR_LOCK_MANAGER_PARAM_TYPE_STRING)
            snprintf(extra + len, sizeof(extra) - len, ",%s=%s", params[i].key, params[i].value.str);
        else
            snprintf(extra + len, sizeof(extra) - len, ",%s=%llu", params[i].key, params[i].value.ul);
    }
    LOG("add(%u,%s,%x%s)", type, name, flags, extra);
    if (strcmp(name, "fail-silent") == 0)
        return -1;
    if (strcmp(name, "fail-busy") == 0) {
        virReportError(VIR_ERR_RESOURCE_BUSY, "testdrv: '%s' is held by guest 'other'", name);
        return -1;
    }
    p->nres++;
    testdrv_resources++;
    return 0;
}

#ifndef NULL_ACQUIRE
static __attribute__((unused)) int t_acquire(virLockManager *man, const char *state, unsigned int flags,
                     virDomainLockFailureAction action, int *fd)
{
    struct priv *p = man->privateData;
    LOG("acquire(%x,%s)", flags, state ? state : "-");
    if (strlen(testdrv_actions) < sizeof(testdrv_actions) - 1)
        testdrv_actions[strlen(testdrv_actions)] = (char)('0' + (int)action);
    if (state && strcmp(state, "bad-state") == 0)
        return -1;
    if (!(flags & VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY))
        p->held = p->nres;
    if (fd)
        *fd = dup(0);
    testdrv_acquires++;
    testdrv_last_flags = flags;
    return 0;
}
#endif

static __attribute__((unused)) int t_release(virLockManager *man, char **state, unsigned int flags)
{
    struct priv *p = man->privateData;
    (void)flags;
    if (state) {
        char buf[64];
        snprintf(buf, sizeof(buf), "testdrv:%d", p->held);
        *state = strdup(buf);
    }
    p->held = 0;
    testdrv_releases++;
    LOG("release");
    return 0;
}

#ifndef NO_INQUIRE
static __attribute__((unused)) int t_inquire(virLockManager *man, char **state, unsigned int flags)
{
    struct priv *p = man->privateData;
    char buf[64];
    (void)flags;
    LOG("inquire");
    snprintf(buf, sizeof(buf), "testdrv:%d", p->held);
    if (state)
        *state = strdup(buf);
    return 0;
}
#endif

#ifndef NO_IMPL
virLockDriver virLockDriverImpl = {
#ifdef BAD_VERSION
    .version = 2000000,
#else
    .version = VIR_LOCK_MANAGER_VERSION,
#endif
#ifdef USES_STATE
    .flags = VIR_LOCK_MANAGER_USES_STATE,
#else
    .flags = 0,
#endif
    .drvInit = t_init,
    .drvDeinit = t_deinit,
    .drvNew = t_new,
    .drvFree = t_free,
    .drvAddResource = t_add,
#ifdef NULL_ACQUIRE
    .drvAcquire = NULL,
#else
    .drvAcquire = t_acquire,
#endif
    .drvRelease = t_release,
#ifdef NO_INQUIRE
    .drvInquire = NULL,
#else
    .drvInquire = t_inquire,
#endif
};
#else
/* Something else exported, so the object is a valid plugin-looking library. */
int virLockDriverSomethingElse = 1;
#endif
