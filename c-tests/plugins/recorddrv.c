/* recorddrv.c: a lock driver plugin that records every call it receives, for the
 * differential test (test_domain_diff.c). The same .so is loaded by Debian's libvirt.so.0
 * and by virtcore, so it declares libvirt's plugin ABI itself (libvirt 9.0's
 * src/locking/lock_driver.h, checked by test_lock_abi.c) and includes neither header.
 *
 * Each call becomes one line handed to `domain_diff_record()`, a function of the test
 * program found with dlsym (the program is linked with -rdynamic). Every call succeeds;
 * release and inquire hand back the state "recstate" so the caller's state passing is
 * recorded too. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct virLockManagerParam {
    int type;
    const char *key;
    union {
        int iv;
        long long l;
        unsigned int ui;
        unsigned long long ul;
        double d;
        char *str;
        const char *cstr;
        unsigned char uuid[16];
    } value;
} virLockManagerParam;

typedef struct virLockDriver virLockDriver;
typedef struct virLockManager {
    virLockDriver *driver;
    void *privateData;
} virLockManager;

struct virLockDriver {
    unsigned int version;
    unsigned int flags;
    int (*drvInit)(unsigned int version, const char *configFile, unsigned int flags);
    int (*drvDeinit)(void);
    int (*drvNew)(virLockManager *man, unsigned int type, size_t nparams,
                  virLockManagerParam *params, unsigned int flags);
    void (*drvFree)(virLockManager *man);
    int (*drvAddResource)(virLockManager *man, unsigned int type, const char *name,
                          size_t nparams, virLockManagerParam *params, unsigned int flags);
    int (*drvAcquire)(virLockManager *man, const char *state, unsigned int flags, int action,
                      int *fd);
    int (*drvRelease)(virLockManager *man, char **state, unsigned int flags);
    int (*drvInquire)(virLockManager *man, char **state, unsigned int flags);
};

static void (*record_fn)(const char *);

/* Builds one line and hands it to the program (stderr if the program has no recorder). */
static void __attribute__((format(printf, 1, 2))) record(const char *fmt, ...)
{
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) < 0)
        line = NULL;
    va_end(ap);
    if (!line)
        return;
    if (!record_fn)
        record_fn = (void (*)(const char *))dlsym(RTLD_DEFAULT, "domain_diff_record");
    if (record_fn)
        record_fn(line);
    else
        fprintf(stderr, "recorddrv: %s\n", line);
    free(line);
}

/* Appends "key=value" for each parameter, typed as libvirt's param types are. */
static void params_str(char *buf, size_t len, size_t n, const virLockManagerParam *p)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < len; i++) {
        const char *k = p[i].key ? p[i].key : "(null)";
        int w = 0;
        switch (p[i].type) {
        case 0: /* STRING */
        case 1: /* CSTRING */
            w = snprintf(buf + off, len - off, " %s:%d=%s", k, p[i].type,
                         p[i].value.cstr ? p[i].value.cstr : "(null)");
            break;
        case 2:
        case 4: /* INT, UINT: libvirt fills .iv for both */
            w = snprintf(buf + off, len - off, " %s:%d=%d", k, p[i].type, p[i].value.iv);
            break;
        case 3:
        case 5:
            w = snprintf(buf + off, len - off, " %s:%d=%llu", k, p[i].type, p[i].value.ul);
            break;
        case 7: {
            char hex[33];
            for (int j = 0; j < 16; j++)
                snprintf(hex + 2 * j, 3, "%02x", p[i].value.uuid[j]);
            w = snprintf(buf + off, len - off, " %s:%d=%s", k, p[i].type, hex);
            break;
        }
        default:
            w = snprintf(buf + off, len - off, " %s:%d=?", k, p[i].type);
        }
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static int rec_init(unsigned int version, const char *configFile, unsigned int flags)
{
    const char *base = configFile ? strrchr(configFile, '/') : NULL;
    record("init version=%u config=%s flags=%u", version,
           base ? base + 1 : (configFile ? configFile : "(null)"), flags);
    return 0;
}

static int rec_deinit(void)
{
    return 0;
}

static int rec_new(virLockManager *man, unsigned int type, size_t nparams,
                   virLockManagerParam *params, unsigned int flags)
{
    char buf[2048];
    params_str(buf, sizeof(buf), nparams, params);
    record("new type=%u flags=%u%s", type, flags, buf);
    man->privateData = NULL;
    return 0;
}

static void rec_free(virLockManager *man)
{
    record("free");
}

static int rec_add(virLockManager *man, unsigned int type, const char *name, size_t nparams,
                   virLockManagerParam *params, unsigned int flags)
{
    char buf[2048];
    params_str(buf, sizeof(buf), nparams, params);
    record("add type=%u name=%s flags=%u%s", type, name ? name : "(null)", flags, buf);
    return 0;
}

static int rec_acquire(virLockManager *man, const char *state, unsigned int flags, int action,
                       int *fd)
{
    record("acquire state=%s flags=%u action=%d fd=%s", state ? state : "(null)", flags, action,
           fd ? "yes" : "no");
    if (fd)
        *fd = -1;
    return 0;
}

static int rec_release(virLockManager *man, char **state, unsigned int flags)
{
    record("release flags=%u state=%s", flags, state ? "wanted" : "no");
    if (state)
        *state = strdup("recstate");
    return 0;
}

static int rec_inquire(virLockManager *man, char **state, unsigned int flags)
{
    record("inquire flags=%u state=%s", flags, state ? "wanted" : "no");
    if (state)
        *state = strdup("recstate");
    return 0;
}

virLockDriver virLockDriverImpl = {
    .version = 1000000,
    .flags = 0,
    .drvInit = rec_init,
    .drvDeinit = rec_deinit,
    .drvNew = rec_new,
    .drvFree = rec_free,
    .drvAddResource = rec_add,
    .drvAcquire = rec_acquire,
    .drvRelease = rec_release,
    .drvInquire = rec_inquire,
};
