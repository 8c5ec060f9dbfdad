/* libvirt_lock_private.h: libvirt 9.0's internal lock-manager API, which Debian's
 * libvirt.so.0 exports (LIBVIRT_PRIVATE_9.0.0) but whose headers are not installed.
 * For programs built against libvirt instead of virtcore (bench_lockspace,
 * test_lockspace_libvirt); the types carry test-private names so that they cannot be
 * mistaken for virtcore.h's. */
#ifndef VIRTCORE_LIBVIRT_LOCK_PRIVATE_H
#define VIRTCORE_LIBVIRT_LOCK_PRIVATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <libvirt/virterror.h>

/* virLockManagerParam */
typedef struct {
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
} lvParam;
/* virLockManagerPlugin (libvirt's private struct; its driver is what
 * virLockManagerPluginGetDriver would return, which libvirt does not export) */
typedef struct lvPlugin { char *name; void *driver; void *handle; int refs; } lvPlugin;

lvPlugin *virLockManagerPluginNew(const char *name, const char *driverName,
                                  const char *configDir, unsigned int flags);
void virLockManagerPluginUnref(lvPlugin *plugin);
bool virLockManagerPluginUsesState(lvPlugin *plugin);
const char *virLockManagerPluginGetName(lvPlugin *plugin);
void *virLockManagerNew(void *driver, unsigned int type, size_t nparams, lvParam *params,
                        unsigned int flags);
int virLockManagerAddResource(void *lock, unsigned int type, const char *name,
                              size_t nparams, lvParam *params, unsigned int flags);
int virLockManagerAcquire(void *lock, const char *state, unsigned int flags, int action,
                          int *fd);
int virLockManagerRelease(void *lock, char **state, unsigned int flags);
int virLockManagerInquire(void *lock, char **state, unsigned int flags);
int virLockManagerFree(void *lock);

/* Monotonic time in microseconds, for the lock benchmarks. */
static inline double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The message of libvirt's last error, for the lock benchmarks' failure lines. */
static inline const char *lasterr(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->message ? e->message : "unknown error";
}

/* The private tree of a lockspace benchmark: mkdtemp(root) (a "...XXXXXX" template),
 * ROOT/leases (the lockspace), ROOT/qemu-lockspace.conf naming it (so ROOT is the config
 * directory for virLockManagerPluginNew) and an empty disk image whose path goes to `disk`.
 * 0 on success, -1 on failure. */
static inline int lv_bench_tree(char *root, char disk[PATH_MAX])
{
    char leases[PATH_MAX], conf[PATH_MAX];
    FILE *f;
    if (!mkdtemp(root))
        return -1;
    snprintf(leases, sizeof(leases), "%s/leases", root);
    snprintf(conf, sizeof(conf), "%s/qemu-lockspace.conf", root);
    snprintf(disk, PATH_MAX, "%s/bench.img", root);
    if (mkdir(leases, 0700) < 0 || !(f = fopen(conf, "w")))
        return -1;
    fprintf(f, "lockspace_dir = \"%s\"\n", leases);
    if (fclose(f) != 0 || !(f = fopen(disk, "w")))
        return -1;
    return fclose(f) == 0 ? 0 : -1;
}

#endif
